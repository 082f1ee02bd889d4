#include "engines/video/reframe.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace atomcut {

namespace {

double round4(double v) { return std::round(v * 10000.0) / 10000.0; }

Error bad(const char* field, const std::string& rule) {
  return Error::invalid_argument(fmt::format("reframe.{} {}", field, rule), {{"field", field}});
}

struct Sample {
  int64_t t = 0;  // source ms (effective: >= the shot's start)
  double x = 0.5;
  double y = 0.5;
};

struct Key {
  int64_t t = 0;  // source ms
  double x = 0.5;
  double y = 0.5;
  Interpolation interp = Interpolation::kLinear;
};

double median3(double a, double b, double c) {
  return std::max(std::min(a, b), std::min(std::max(a, b), c));
}

// Desired centre at source time t, linear between the shot's samples.
std::pair<double, double> desired_at(const std::vector<Sample>& s, int64_t t) {
  if (t <= s.front().t) return {s.front().x, s.front().y};
  for (size_t i = 1; i < s.size(); ++i) {
    if (t <= s[i].t) {
      const double u =
          static_cast<double>(t - s[i - 1].t) / static_cast<double>(s[i].t - s[i - 1].t);
      return {s[i - 1].x + (s[i].x - s[i - 1].x) * u, s[i - 1].y + (s[i].y - s[i - 1].y) * u};
    }
  }
  return {s.back().x, s.back().y};
}

}  // namespace

double reframe_aspect_value(ReframeAspect a) {
  switch (a) {
    case ReframeAspect::k9x16:
      return 9.0 / 16.0;
    case ReframeAspect::k16x9:
      return 16.0 / 9.0;
    case ReframeAspect::k4x5:
      return 4.0 / 5.0;
    case ReframeAspect::k1x1:
      return 1.0;
  }
  return 1.0;
}

double automation_value_at(const ParameterAutomation& a, int64_t t_ms) {
  const auto& k = a.keyframes;
  if (k.empty()) return 0;
  if (t_ms <= k.front().time_ms) return k.front().value;
  for (size_t i = 0; i + 1 < k.size(); ++i) {
    if (t_ms < k[i + 1].time_ms) {
      const double u = static_cast<double>(t_ms - k[i].time_ms) /
                       static_cast<double>(k[i + 1].time_ms - k[i].time_ms);
      switch (k[i].interpolation) {
        case Interpolation::kHold:
          return k[i].value;
        case Interpolation::kEaseInOut: {
          const double e = u * u * (3 - 2 * u);
          return k[i].value + (k[i + 1].value - k[i].value) * e;
        }
        case Interpolation::kLinear:
          return k[i].value + (k[i + 1].value - k[i].value) * u;
      }
    }
  }
  return k.back().value;
}

Result<ReframeSuggestion> suggest_reframe(const VisualMetaSummary& meta,
                                          const ReframeRequestParams& p) {
  if (p.in_ms < 0) return bad("in_ms", "must be >= 0");
  if (p.out_ms <= p.in_ms) return bad("out_ms", "must be greater than in_ms");
  if (!(p.speed > 0 && p.speed <= 100)) return bad("speed", "must be in (0, 100]");
  if (p.source_width <= 0 || p.source_height <= 0) {
    return bad("source_width", "the source's width and height must be known (> 0)");
  }
  if (!(p.dead_zone >= 0 && p.dead_zone <= 0.5)) return bad("dead_zone", "must be in [0, 0.5]");
  if (p.move_ms < 40 || p.move_ms > 10000) return bad("move_ms", "must be in [40, 10000]");

  ReframeSuggestion out;
  const double src_aspect = static_cast<double>(p.source_width) / p.source_height;
  const double tgt_aspect = reframe_aspect_value(p.aspect);
  const double cw = std::min(1.0, tgt_aspect / src_aspect);
  const double ch = std::min(1.0, src_aspect / tgt_aspect);
  out.crop_width = cw;
  out.crop_height = ch;
  out.scale = round4(1.0 / std::min(cw, ch));
  auto clamp_x = [cw](double x) { return std::clamp(x, cw / 2, 1 - cw / 2); };
  auto clamp_y = [ch](double y) { return std::clamp(y, ch / 2, 1 - ch / 2); };
  auto desired = [&](const VisualMetaFrame& f) {
    double x = std::clamp(f.primary_subject_center_x, 0.0, 1.0);
    double y = std::clamp(f.primary_subject_center_y, 0.0, 1.0);
    if (p.style == FramingStyle::kRuleOfThirds) {
      x += x < 0.5 ? cw / 6 : -cw / 6;  // subject on the nearer third line
      y += ch / 6;                      // and on the upper third line
    }
    return std::pair<double, double>{clamp_x(x), clamp_y(y)};
  };

  // Shots inside the window.
  std::vector<int64_t> starts = {p.in_ms};
  for (int64_t b : meta.shot_boundaries_ms) {
    if (b > p.in_ms && b < p.out_ms && b > starts.back()) starts.push_back(b);
  }
  out.shot_count = static_cast<int>(starts.size());
  std::vector<const VisualMetaFrame*> frames;
  for (const auto& f : meta.frames) frames.push_back(&f);
  std::sort(frames.begin(), frames.end(),
            [](auto* a, auto* b) { return a->timestamp_ms < b->timestamp_ms; });

  std::vector<Key> keys;
  for (size_t si = 0; si < starts.size(); ++si) {
    const int64_t s = starts[si];
    const int64_t e = si + 1 < starts.size() ? starts[si + 1] : p.out_ms;
    std::vector<Sample> samples;
    // The sample shown at the first shot's start (an earlier timestamp), then those inside.
    if (si == 0) {
      const VisualMetaFrame* shown = nullptr;
      for (auto* f : frames) {
        if (f->timestamp_ms <= s) shown = f;
      }
      if (shown && shown->timestamp_ms < s) {
        auto [x, y] = desired(*shown);
        samples.push_back({s, x, y});
      }
    }
    for (auto* f : frames) {
      if (f->timestamp_ms >= s && f->timestamp_ms < e) {
        auto [x, y] = desired(*f);
        samples.push_back({f->timestamp_ms, x, y});
      }
    }
    if (samples.empty()) {  // a shot shorter than the interval: the next sample, else the last
      const VisualMetaFrame* pick = nullptr;
      for (auto* f : frames) {
        if (f->timestamp_ms >= s) {
          pick = f;
          break;
        }
      }
      if (!pick && !frames.empty()) pick = frames.back();
      if (pick) {
        auto [x, y] = desired(*pick);
        samples.push_back({s, x, y});
      } else {
        samples.push_back({s, clamp_x(0.5), clamp_y(0.5)});
      }
    }
    out.sample_count += static_cast<int>(samples.size());
    if (samples.size() >= 3) {
      std::vector<Sample> m = samples;
      for (size_t i = 1; i + 1 < samples.size(); ++i) {
        m[i].x = median3(samples[i - 1].x, samples[i].x, samples[i + 1].x);
        m[i].y = median3(samples[i - 1].y, samples[i].y, samples[i + 1].y);
      }
      samples = std::move(m);
    }
    // The camera.
    double cx = samples.front().x, cy = samples.front().y;
    keys.push_back({s, cx, cy, Interpolation::kLinear});
    int64_t busy_until = s;
    for (size_t j = 1; j < samples.size(); ++j) {
      if (samples[j].t < busy_until) continue;
      const bool out_x = std::abs(samples[j].x - cx) > p.dead_zone * cw;
      const bool out_y = std::abs(samples[j].y - cy) > p.dead_zone * ch;
      if (!out_x && !out_y) continue;
      // Start the move at the previous sample (it left the dead zone in between).
      const int64_t start = std::max({samples[j - 1].t, busy_until, keys.back().t + 1});
      const int64_t end = std::min(start + p.move_ms, e - 1);
      if (end <= start) continue;
      auto [tx, ty] = desired_at(samples, end);
      if (start > keys.back().t) {
        keys.push_back({start, cx, cy, Interpolation::kEaseInOut});
      } else {
        keys.back().interp = Interpolation::kEaseInOut;
      }
      cx = tx;
      cy = ty;
      keys.push_back({end, cx, cy, Interpolation::kLinear});
      busy_until = end;
      ++out.move_count;
    }
    if (si + 1 < starts.size()) keys.back().interp = Interpolation::kHold;
  }

  // Clip-relative times, strictly increasing.
  auto rel = [&](int64_t t) {
    return static_cast<int64_t>(std::llround(static_cast<double>(t - p.in_ms) / p.speed));
  };
  const int64_t clip_end = rel(p.out_ms);
  std::vector<Keyframe> kx, ky;
  for (const Key& k : keys) {
    const int64_t t = rel(k.t);
    Keyframe fx{t, round4(k.x), k.interp}, fy{t, round4(k.y), k.interp};
    if (!kx.empty() && t <= kx.back().time_ms) {
      kx.back() = fx;
      ky.back() = fy;
    } else {
      kx.push_back(fx);
      ky.push_back(fy);
    }
  }
  if (clip_end > kx.back().time_ms) {
    kx.push_back({clip_end, kx.back().value, Interpolation::kLinear});
    ky.push_back({clip_end, ky.back().value, Interpolation::kLinear});
  }
  auto reduce = [](std::vector<Keyframe> k) {
    std::vector<Keyframe> r;
    for (size_t i = 0; i < k.size(); ++i) {
      if (i > 0 && i + 1 < k.size() && k[i].value == r.back().value &&
          k[i].value == k[i + 1].value) {
        continue;
      }
      r.push_back(k[i]);
    }
    return r;
  };
  ParameterAutomation ax{AutomationProperty::kPositionX, TargetType::kClip, p.target_id,
                         reduce(std::move(kx))};
  ParameterAutomation ay{AutomationProperty::kPositionY, TargetType::kClip, p.target_id,
                         reduce(std::move(ky))};
  std::vector<Keyframe> ks = {{0, out.scale, Interpolation::kLinear}};
  if (clip_end > 0) ks.push_back({clip_end, out.scale, Interpolation::kLinear});
  ParameterAutomation as{AutomationProperty::kScale, TargetType::kClip, p.target_id, ks};
  for (const auto* a : {&ax, &ay, &as}) ATOMCUT_TRY(validate(*a));
  out.automation = {std::move(ax), std::move(ay), std::move(as)};
  return out;
}

}  // namespace atomcut

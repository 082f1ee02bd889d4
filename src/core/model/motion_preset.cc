#include "core/model/motion_preset.h"

#include <fmt/format.h>

namespace atomcut {

nlohmann::json to_json(const MotionPreset& p) {
  nlohmann::json j;
  j["id"] = p.id;
  j["name"] = p.name;
  j["description"] = p.description ? nlohmann::json(*p.description) : nlohmann::json(nullptr);
  j["duration_ms"] = p.duration_ms;
  nlohmann::json tracks = nlohmann::json::array();
  for (const auto& t : p.tracks) tracks.push_back(to_json(t));
  j["tracks"] = std::move(tracks);
  j["tags"] = p.tags;
  j["meta"] = p.meta;
  write_record_fields(p, j);
  return j;
}

Result<MotionPreset> motion_preset_from_json(const nlohmann::json& j) {
  FieldReader r(j, "motion_preset");
  MotionPreset p;
  static_cast<TimelineRecord&>(p) = read_record_fields(r);
  p.id = r.str("id");
  p.name = r.str("name");
  p.description = r.opt_str("description");
  p.duration_ms = r.i64("duration_ms", p.duration_ms);
  r.for_each_object("tracks",
                    [&](FieldReader& tr) { p.tracks.push_back(read_parameter_automation(tr)); });
  p.tags = r.str_list("tags");
  p.meta = r.object("meta");
  if (!r.ok()) return r.take_error();
  return p;
}

Status validate(const MotionPreset& p) {
  Checker k("motion_preset");
  k.id("id", p.id, false);
  k.name("name", p.name, true);
  k.text("description", p.description);
  k.tags("tags", p.tags);
  k.check_lazy(
      p.duration_ms > 0 && p.duration_ms <= kMaxMotionPresetDurationMs, "duration_ms", [&] {
        return fmt::format("({}) must be in (0, {}]", p.duration_ms, kMaxMotionPresetDurationMs);
      });
  for (size_t i = 0; i < p.tracks.size() && k.ok(); ++i) {
    Checker sub("motion_preset", fmt::format("tracks[{}].", i));
    check_parameter_automation(p.tracks[i], sub, p.duration_ms);
    k.absorb(sub.status());
  }
  return k.status();
}

namespace {

constexpr int64_t kShakeDurationMs = 1000;
constexpr int64_t kShakeStepMs = 40;  // one keyframe per frame at 25 fps

// Jitter in [-amplitude, amplitude] from a fixed linear congruential sequence (integer maths,
// so the values are identical on every platform), rounded to 0.01 px.
std::vector<Keyframe> jitter(uint32_t seed, double amplitude) {
  std::vector<Keyframe> out;
  uint32_t state = seed;
  for (int64_t t = 0; t <= kShakeDurationMs; t += kShakeStepMs) {
    state = state * 1664525u + 1013904223u;
    const int64_t unit = static_cast<int64_t>((state >> 8) % 2001) - 1000;  // -1000..1000
    double v = (t == 0 || t == kShakeDurationMs)
                   ? 0.0
                   : static_cast<double>(static_cast<int64_t>(amplitude * unit / 10)) / 100.0;
    out.push_back({t, v, Interpolation::kLinear});
  }
  return out;
}

}  // namespace

std::vector<MotionPreset> built_in_motion_presets() {
  const double amplitudes[] = {4.0, 8.0, 16.0};
  const char* descriptions[] = {"Subtle handheld shake", "Medium camera shake",
                                "Strong impact shake"};
  std::vector<MotionPreset> out;
  for (int i = 0; i < 3; ++i) {
    MotionPreset p;
    p.id = fmt::format("shake_{}", i + 1);
    p.name = p.id;
    p.description =
        fmt::format("{} ({} px jitter on position_x/position_y)", descriptions[i], amplitudes[i]);
    p.duration_ms = kShakeDurationMs;
    ParameterAutomation x{AutomationProperty::kPositionX, TargetType::kClip, "",
                          jitter(0x5eed0001u + i, amplitudes[i])};
    ParameterAutomation y{AutomationProperty::kPositionY, TargetType::kClip, "",
                          jitter(0x5eed1001u + i, amplitudes[i])};
    p.tracks = {std::move(x), std::move(y)};
    p.tags = {"built_in"};
    p.meta = {{"amplitude_px", amplitudes[i]}};
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace atomcut

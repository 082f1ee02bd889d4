#include "engines/video/visual_meta.h"

#include "engines/video/face_detector.h"
#include "engines/video/frame_sampler.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace atomcut {

namespace {

constexpr double kMotionFull = 20.0;      // mean abs difference that is motion_score 1
constexpr int kMotionThreshold = 25;      // a pixel "changed" (motion region)
constexpr double kMotionMinFrac = 0.003;  // local change: between these fractions of the picture
constexpr double kMotionMaxFrac = 0.5;
constexpr size_t kMaxQueuedSamples = 8;  // face jobs waiting (bounded memory)

double round4(double v) { return std::round(v * 10000.0) / 10000.0; }
double clamp01(double v) { return std::clamp(v, 0.0, 1.0); }

SubjectDetection box_subject(std::string label, double conf, double x0, double y0, double x1,
                             double y1) {
  x0 = clamp01(x0);
  y0 = clamp01(y0);
  x1 = clamp01(x1);
  y1 = clamp01(y1);
  SubjectDetection s;
  s.label = std::move(label);
  s.confidence = clamp01(conf);
  s.bbox_x = x0;
  s.bbox_y = y0;
  s.bbox_width = std::max(0.0, x1 - x0);
  s.bbox_height = std::max(0.0, y1 - y0);
  return s;
}

// A local change between two gray frames of the same size: the box of the changed pixels (5th to
// 95th percentile of their coordinates), when they cover kMotionMinFrac..kMotionMaxFrac.
std::optional<SubjectDetection> motion_region(const VideoFrame& cur, const VideoFrame& prev) {
  if (cur.width != prev.width || cur.height != prev.height ||
      cur.pixels.size() != prev.pixels.size() || cur.layout != PixelLayout::kGray8 ||
      cur.width <= 0 || cur.height <= 0) {
    return std::nullopt;
  }
  const int w = cur.width, h = cur.height;
  std::vector<int> xs(static_cast<size_t>(w), 0), ys(static_cast<size_t>(h), 0);
  int64_t count = 0;
  for (int y = 0; y < h; ++y) {
    const uint8_t* a = cur.pixels.data() + static_cast<size_t>(y) * w;
    const uint8_t* b = prev.pixels.data() + static_cast<size_t>(y) * w;
    for (int x = 0; x < w; ++x) {
      if (std::abs(int(a[x]) - int(b[x])) >= kMotionThreshold) {
        ++xs[static_cast<size_t>(x)];
        ++ys[static_cast<size_t>(y)];
        ++count;
      }
    }
  }
  const double frac = static_cast<double>(count) / (static_cast<double>(w) * h);
  if (frac < kMotionMinFrac || frac > kMotionMaxFrac) return std::nullopt;
  auto pct = [count](const std::vector<int>& hist, double q) {
    const int64_t want = static_cast<int64_t>(std::ceil(q * static_cast<double>(count)));
    int64_t acc = 0;
    for (size_t i = 0; i < hist.size(); ++i) {
      acc += hist[i];
      if (acc >= std::max<int64_t>(1, want)) return static_cast<int>(i);
    }
    return static_cast<int>(hist.size()) - 1;
  };
  const double x0 = pct(xs, 0.05), x1 = pct(xs, 0.95) + 1.0;
  const double y0 = pct(ys, 0.05), y1 = pct(ys, 0.95) + 1.0;
  const double conf = 0.3 + 0.3 * std::min(1.0, frac * 10.0);
  return box_subject("motion_region", conf, x0 / w, y0 / h, x1 / w, y1 / h);
}

// Centre-surround contrast of a gray frame: |3x3 mean - (w/8)-radius mean|; the weighted centre
// and spread (1.5 standard deviations) of the pixels at >= half the peak.
std::optional<SubjectDetection> salient_region(const VideoFrame& f) {
  if (f.layout != PixelLayout::kGray8 || f.width < 8 || f.height < 8) return std::nullopt;
  const int w = f.width, h = f.height;
  std::vector<int64_t> ii(static_cast<size_t>(w + 1) * (h + 1), 0);
  for (int y = 0; y < h; ++y) {
    int64_t row = 0;
    for (int x = 0; x < w; ++x) {
      row += f.pixels[static_cast<size_t>(y) * w + x];
      ii[static_cast<size_t>(y + 1) * (w + 1) + x + 1] =
          ii[static_cast<size_t>(y) * (w + 1) + x + 1] + row;
    }
  }
  auto mean = [&](int x, int y, int r) {
    const int xa = std::max(0, x - r), xb = std::min(w, x + r + 1);
    const int ya = std::max(0, y - r), yb = std::min(h, y + r + 1);
    const int64_t s =
        ii[static_cast<size_t>(yb) * (w + 1) + xb] - ii[static_cast<size_t>(ya) * (w + 1) + xb] -
        ii[static_cast<size_t>(yb) * (w + 1) + xa] + ii[static_cast<size_t>(ya) * (w + 1) + xa];
    return static_cast<double>(s) / (static_cast<double>(xb - xa) * (yb - ya));
  };
  const int big = std::max(2, w / 8);
  std::vector<double> sal(static_cast<size_t>(w) * h);
  double peak = 0;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const double s = std::abs(mean(x, y, 1) - mean(x, y, big));
      sal[static_cast<size_t>(y) * w + x] = s;
      peak = std::max(peak, s);
    }
  }
  if (peak < 8.0) return std::nullopt;  // a flat picture: nothing stands out
  double sw = 0, sx = 0, sy = 0, sxx = 0, syy = 0;
  int64_t n = 0;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const double s = sal[static_cast<size_t>(y) * w + x];
      if (s < 0.5 * peak) continue;
      sw += s;
      sx += s * (x + 0.5);
      sy += s * (y + 0.5);
      sxx += s * (x + 0.5) * (x + 0.5);
      syy += s * (y + 0.5) * (y + 0.5);
      ++n;
    }
  }
  if (sw <= 0) return std::nullopt;
  const double cx = sx / sw, cy = sy / sw;
  const double sdx = std::sqrt(std::max(0.0, sxx / sw - cx * cx));
  const double sdy = std::sqrt(std::max(0.0, syy / sw - cy * cy));
  const double hw = std::max(1.5 * sdx, 0.025 * w), hh = std::max(1.5 * sdy, 0.025 * h);
  const double conf = std::clamp(sw / static_cast<double>(n) / 128.0, 0.05, 0.5);
  return box_subject("salient_region", conf, (cx - hw) / w, (cy - hh) / h, (cx + hw) / w,
                     (cy + hh) / h);
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

// Face detection on a worker thread, fed with (sample, picture) jobs through a bounded queue.
class FaceWorker {
 public:
  explicit FaceWorker(FaceDetector det) : det_(std::move(det)) {
    thread_ = std::thread([this] { run(); });
  }
  ~FaceWorker() { stop(); }

  void push(size_t sample, VideoFrame frame) {
    std::unique_lock lock(mu_);
    space_.wait(lock, [this] { return jobs_.size() < kMaxQueuedSamples || failed_; });
    jobs_.emplace_back(sample, std::move(frame));
    ready_.notify_one();
  }
  // Waits for the jobs and ends the thread; the results by sample.
  Result<std::map<size_t, std::vector<FaceDetection>>> finish() {
    stop();
    if (error_) return *error_;
    return std::move(results_);
  }

 private:
  void stop() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
      ready_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
  }
  void run() {
    for (;;) {
      std::pair<size_t, VideoFrame> job;
      {
        std::unique_lock lock(mu_);
        ready_.wait(lock, [this] { return !jobs_.empty() || done_; });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
        space_.notify_one();
      }
      if (failed_) continue;
      auto r = det_.detect(job.second);
      std::lock_guard lock(mu_);
      if (!r.ok()) {
        error_ = r.error();
        failed_ = true;
        space_.notify_all();
      } else {
        results_[job.first] = std::move(*r);
      }
    }
  }

  FaceDetector det_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable ready_, space_;
  std::deque<std::pair<size_t, VideoFrame>> jobs_;
  std::map<size_t, std::vector<FaceDetection>> results_;
  std::optional<Error> error_;
  bool failed_ = false;
  bool done_ = false;
};

Error bad_option(const char* field, std::string rule) {
  return Error::invalid_argument(fmt::format("visual_meta.{} {}", field, rule), {{"field", field}});
}

double primary_weight(const SubjectDetection& s) {
  return s.bbox_width * s.bbox_height * std::max(0.05, s.confidence);
}

void finish_frames(VisualMetaAnalysis& out) {
  auto& sum = out.summary;
  // shot_boundary flags and shots.
  for (size_t k = 0; k < sum.frames.size(); ++k) {
    auto& f = sum.frames[k];
    if (k == 0) {
      f.shot_boundary = true;
      continue;
    }
    const int64_t lo = sum.frames[k - 1].timestamp_ms, hi = f.timestamp_ms;
    f.shot_boundary = std::any_of(sum.shot_boundaries_ms.begin(), sum.shot_boundaries_ms.end(),
                                  [&](int64_t b) { return b > lo && b <= hi; });
  }
  sum.shots.clear();
  int64_t start = 0;
  std::string how = "start";
  for (size_t i = 0; i < sum.shot_boundaries_ms.size(); ++i) {
    const int64_t b = sum.shot_boundaries_ms[i];
    if (b > start) sum.shots.push_back({start, b, how});
    start = b;
    how = i < out.boundaries.size() && out.boundaries[i].kind == ShotBoundaryKind::kGradual
              ? "gradual"
              : "cut";
  }
  sum.shots.push_back({start, std::max(start, sum.duration_ms), how});
  // Primary subject.
  for (auto& f : sum.frames) {
    const SubjectDetection* best = nullptr;
    for (const auto& s : f.subjects) {
      const bool face = s.label == "face";
      const bool best_face = best && best->label == "face";
      if (!best || (face && !best_face) ||
          (face == best_face && primary_weight(s) > primary_weight(*best))) {
        best = &s;
      }
    }
    if (best) {
      f.primary_subject_center_x = clamp01(best->bbox_x + best->bbox_width / 2);
      f.primary_subject_center_y = clamp01(best->bbox_y + best->bbox_height / 2);
    } else {
      f.primary_subject_center_x = 0.5;
      f.primary_subject_center_y = 0.5;
    }
  }
}

}  // namespace

std::string visual_meta_backend_version(const std::string& face_backend) {
  return fmt::format(
      "{} (shots: shot_detector every frame 160x90; faces: {}; regions: motion, "
      "centre-surround)",
      kVisualMetaModel, face_backend);
}

std::string visual_meta_stub_version() { return kVisualMetaStubModel; }

Status validate(const VisualMetaOptions& o) {
  if (o.sample_interval_ms < 40 || o.sample_interval_ms > 60000) {
    return bad_option("sample_interval_ms", "must be in [40, 60000]");
  }
  if (!(o.min_confidence >= 0 && o.min_confidence <= 1)) {
    return bad_option("min_confidence", "must be in [0, 1]");
  }
  if (!(o.face_min_fraction > 0 && o.face_min_fraction <= 1)) {
    return bad_option("face_min_fraction", "must be in (0, 1]");
  }
  if (!(o.face_scale_factor > 1 && o.face_scale_factor <= 2)) {
    return bad_option("face_scale_factor", "must be in (1, 2]");
  }
  if (o.subject_max_width < 64 || o.subject_max_width > 1920) {
    return bad_option("subject_max_width", "must be in [64, 1920]");
  }
  if (o.subject_max_height < 36 || o.subject_max_height > 1080) {
    return bad_option("subject_max_height", "must be in [36, 1080]");
  }
  if (o.shot_max_width < 16 || o.shot_max_width > 640) {
    return bad_option("shot_max_width", "must be in [16, 640]");
  }
  if (o.shot_max_height < 9 || o.shot_max_height > 360) {
    return bad_option("shot_max_height", "must be in [9, 360]");
  }
  return {};
}

Result<VisualMetaAnalysis> analyze_visual_meta(const std::string& path,
                                               const VisualMetaOptions& options) {
  ATOMCUT_TRY(validate(options));
  FrameSamplerOptions low;
  low.max_width = options.shot_max_width;
  low.max_height = options.shot_max_height;
  low.layout = PixelLayout::kGray8;
  low.fast_decode = true;
  ATOMCUT_ASSIGN_OR_RETURN(auto sampler, FrameSampler::open(path, low));
  const VideoStreamInfo info = sampler->info();
  ATOMCUT_ASSIGN_OR_RETURN(auto shots, ShotDetector::create({}));

  std::optional<FaceWorker> worker;
  if (options.detect_subjects) {
    FaceDetectorOptions fo;
    fo.backend = options.face_backend;
    fo.min_confidence = options.min_confidence;
    fo.min_face_fraction = options.face_min_fraction;
    fo.scale_factor = options.face_scale_factor;
    ATOMCUT_ASSIGN_OR_RETURN(FaceDetector det, FaceDetector::create(fo));
    worker.emplace(std::move(det));
  }
  FrameSamplerOptions big;
  big.max_width = options.subject_max_width;
  big.max_height = options.subject_max_height;
  big.layout = PixelLayout::kGray8;

  const double frame_ms =
      info.fps_num > 0 && info.fps_den > 0 ? 1000.0 * info.fps_den / info.fps_num : 40.0;
  const int64_t interval = options.sample_interval_ms;

  VisualMetaAnalysis out;
  out.width = info.width;
  out.height = info.height;
  out.codec = info.codec;
  out.model_used = kVisualMetaModel;
  out.backend_version = visual_meta_backend_version(options.face_backend);
  auto& frames = out.summary.frames;

  VideoFrame cur, prev_low, prev_prev_low, cand;
  int64_t seq = 0;        // frames seen
  int64_t cand_seq = -1;  // which frame `cand` renders
  std::vector<double> window_motion;
  double last_score = 0;
  std::vector<std::optional<SubjectDetection>> regions;

  // Sample k is shown by the previous frame (sequence seq - 1, in prev_low).
  auto finalize = [&](size_t k) {
    VisualMetaFrame f;
    f.timestamp_ms = static_cast<int64_t>(k) * interval;
    if (!window_motion.empty()) {
      last_score = clamp01(median(window_motion) / kMotionFull);
      window_motion.clear();
    }
    f.motion_score = round4(last_score);
    std::optional<SubjectDetection> region;
    if (options.detect_subjects) {
      if (seq >= 2) region = motion_region(prev_low, prev_prev_low);
      if (!region) region = salient_region(prev_low);
      worker->push(k, cand_seq == seq - 1 ? cand : prev_low);
    }
    regions.push_back(region);
    frames.push_back(std::move(f));
  };

  int64_t last_pts = 0;
  for (;;) {
    ATOMCUT_ASSIGN_OR_RETURN(bool got, sampler->next(cur));
    if (!got) break;
    if (seq > 0) {
      while (cur.pts_ms > static_cast<int64_t>(frames.size()) * interval) finalize(frames.size());
    }
    ATOMCUT_ASSIGN_OR_RETURN(FrameMotion m, shots->push(cur));
    window_motion.push_back(m.motion);
    const int64_t t_next = static_cast<int64_t>(frames.size()) * interval;
    if (options.detect_subjects &&
        (seq == 0 || (cur.pts_ms <= t_next && cur.pts_ms + 2.0 * frame_ms > t_next))) {
      ATOMCUT_TRY(sampler->render_current(big, cand));
      cand_seq = seq;
    }
    for (auto& b : shots->take_boundaries()) out.boundaries.push_back(b);
    std::swap(prev_prev_low, prev_low);
    prev_low = cur;  // copies the small picture (cur's buffer is reused by next())
    last_pts = cur.pts_ms;
    ++seq;
  }
  if (seq == 0) {
    return Error::invalid_argument("the video stream has no frames",
                                   {{"field", "asset_id"}, {"reason", "corrupt"}});
  }
  shots->finish();
  for (auto& b : shots->take_boundaries()) out.boundaries.push_back(b);
  const int64_t end_ms =
      std::max<int64_t>(last_pts + static_cast<int64_t>(std::llround(frame_ms)), 1);
  out.summary.duration_ms =
      info.duration_ms > 0 ? std::max(info.duration_ms, last_pts + 1) : end_ms;
  while (static_cast<int64_t>(frames.size()) * interval < out.summary.duration_ms ||
         frames.empty()) {
    finalize(frames.size());
  }
  out.frame_count = seq;
  out.summary.frame_sample_interval_ms = interval;
  if (options.detect_shot_boundaries) {
    for (const auto& b : out.boundaries) out.summary.shot_boundaries_ms.push_back(b.time_ms);
  } else {
    out.boundaries.clear();
  }

  if (worker) {
    ATOMCUT_ASSIGN_OR_RETURN(auto faces, worker->finish());
    std::vector<FrameFaces> per_sample(frames.size());
    for (size_t k = 0; k < frames.size(); ++k) {
      per_sample[k].pts_ms = frames[k].timestamp_ms;
      if (auto it = faces.find(k); it != faces.end()) per_sample[k].faces = it->second;
    }
    FaceTrackerOptions to;
    to.min_track_samples =
        static_cast<int>(std::min<size_t>(3, std::max<size_t>(1, frames.size())));
    ATOMCUT_ASSIGN_OR_RETURN(auto tracks, track_faces(per_sample, to));
    std::map<int64_t, size_t> by_time;
    for (size_t k = 0; k < frames.size(); ++k) by_time[frames[k].timestamp_ms] = k;
    for (const auto& t : tracks) {
      for (const auto& p : t.points) {
        auto it = by_time.find(p.pts_ms);
        if (it == by_time.end()) continue;
        SubjectDetection s =
            box_subject("face", p.interpolated ? 0.5 * t.mean_confidence : p.confidence, p.box.x,
                        p.box.y, p.box.x + p.box.width, p.box.y + p.box.height);
        s.track_id = fmt::format("face_{}", t.track_id);
        frames[it->second].subjects.push_back(std::move(s));
        ++out.face_detections;
      }
    }
    out.face_track_count = static_cast<int>(tracks.size());
    for (size_t k = 0; k < frames.size(); ++k) {
      if (frames[k].subjects.empty() && regions[k]) {
        frames[k].subjects.push_back(*regions[k]);
        ++out.region_detections;
      }
    }
  }
  finish_frames(out);
  return out;
}

VisualMetaAnalysis stub_visual_meta(int64_t duration_ms, int64_t sample_interval_ms, int width,
                                    int height) {
  VisualMetaAnalysis out;
  out.width = width;
  out.height = height;
  out.model_used = kVisualMetaStubModel;
  out.backend_version = kVisualMetaStubModel;
  const int64_t interval = std::max<int64_t>(1, sample_interval_ms);
  out.summary.duration_ms = std::max<int64_t>(0, duration_ms);
  out.summary.frame_sample_interval_ms = interval;
  for (int64_t k = 0; k == 0 || k * interval < duration_ms; ++k) {
    VisualMetaFrame f;
    f.timestamp_ms = k * interval;
    const double cx = 0.5 + 0.04 * std::sin(0.9 * static_cast<double>(k));
    const double cy = 0.5 + 0.03 * std::sin(0.6 * static_cast<double>(k) + 1.0);
    SubjectDetection s =
        box_subject("frame_center", 0.1, cx - 0.05, cy - 0.05, cx + 0.05, cy + 0.05);
    s.track_id = "dummy_0";
    f.subjects.push_back(s);
    out.summary.frames.push_back(std::move(f));
  }
  finish_frames(out);
  // finish_frames takes the subject's centre; keep the wobble exact.
  for (size_t k = 0; k < out.summary.frames.size(); ++k) {
    auto& f = out.summary.frames[k];
    f.primary_subject_center_x = round4(0.5 + 0.04 * std::sin(0.9 * static_cast<double>(k)));
    f.primary_subject_center_y = round4(0.5 + 0.03 * std::sin(0.6 * static_cast<double>(k) + 1.0));
  }
  return out;
}

nlohmann::json to_json(const SubjectDetection& s) {
  nlohmann::json j = {{"label", s.label},
                      {"confidence", round4(s.confidence)},
                      {"bbox_x", round4(s.bbox_x)},
                      {"bbox_y", round4(s.bbox_y)},
                      {"bbox_width", round4(s.bbox_width)},
                      {"bbox_height", round4(s.bbox_height)}};
  j["track_id"] = s.track_id ? nlohmann::json(*s.track_id) : nlohmann::json(nullptr);
  return j;
}

nlohmann::json to_json(const VisualMetaFrame& f) {
  nlohmann::json subjects = nlohmann::json::array();
  for (const auto& s : f.subjects) subjects.push_back(to_json(s));
  return {{"timestamp_ms", f.timestamp_ms},
          {"subjects", std::move(subjects)},
          {"primary_subject_center_x", round4(f.primary_subject_center_x)},
          {"primary_subject_center_y", round4(f.primary_subject_center_y)},
          {"shot_boundary", f.shot_boundary},
          {"motion_score", round4(f.motion_score)}};
}

nlohmann::json to_json(const VisualMetaSummary& s) {
  nlohmann::json frames = nlohmann::json::array();
  for (const auto& f : s.frames) frames.push_back(to_json(f));
  nlohmann::json shots = nlohmann::json::array();
  for (const auto& sh : s.shots) {
    shots.push_back(
        {{"start_ms", sh.start_ms}, {"end_ms", sh.end_ms}, {"transition", sh.transition}});
  }
  return {{"asset_id", s.asset_id},
          {"artifact_id", s.artifact_id ? nlohmann::json(*s.artifact_id) : nlohmann::json(nullptr)},
          {"frames", std::move(frames)},
          {"duration_ms", s.duration_ms},
          {"frame_sample_interval_ms", s.frame_sample_interval_ms},
          {"shot_boundaries_ms", s.shot_boundaries_ms},
          {"shots", std::move(shots)}};
}

Result<VisualMetaSummary> visual_meta_summary_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return Error::invalid_argument("a visual_meta summary must be an object");
  auto num = [](const nlohmann::json& o, const char* k, double def) {
    return o.contains(k) && o[k].is_number() ? o[k].get<double>() : def;
  };
  auto i64 = [](const nlohmann::json& o, const char* k, int64_t def) {
    return o.contains(k) && o[k].is_number()
               ? static_cast<int64_t>(std::llround(o[k].get<double>()))
               : def;
  };
  VisualMetaSummary s;
  s.asset_id = j.value("asset_id", std::string());
  if (j.contains("artifact_id") && j["artifact_id"].is_string()) {
    s.artifact_id = j["artifact_id"].get<std::string>();
  }
  s.duration_ms = i64(j, "duration_ms", 0);
  s.frame_sample_interval_ms = i64(j, "frame_sample_interval_ms", 500);
  const nlohmann::json frames = j.value("frames", nlohmann::json::array());
  if (!frames.is_array()) return Error::invalid_argument("visual_meta frames must be an array");
  for (const auto& fj : frames) {
    if (!fj.is_object()) continue;
    VisualMetaFrame f;
    f.timestamp_ms = i64(fj, "timestamp_ms", 0);
    f.primary_subject_center_x = num(fj, "primary_subject_center_x", 0.5);
    f.primary_subject_center_y = num(fj, "primary_subject_center_y", 0.5);
    f.shot_boundary = fj.value("shot_boundary", false);
    f.motion_score = num(fj, "motion_score", 0);
    for (const auto& sj : fj.value("subjects", nlohmann::json::array())) {
      if (!sj.is_object()) continue;
      SubjectDetection d;
      if (sj.contains("track_id") && sj["track_id"].is_string()) {
        d.track_id = sj["track_id"].get<std::string>();
      }
      d.label = sj.value("label", std::string());
      d.confidence = num(sj, "confidence", 0);
      d.bbox_x = num(sj, "bbox_x", 0);
      d.bbox_y = num(sj, "bbox_y", 0);
      d.bbox_width = num(sj, "bbox_width", 0);
      d.bbox_height = num(sj, "bbox_height", 0);
      f.subjects.push_back(std::move(d));
    }
    s.frames.push_back(std::move(f));
  }
  for (const auto& b : j.value("shot_boundaries_ms", nlohmann::json::array())) {
    if (b.is_number())
      s.shot_boundaries_ms.push_back(static_cast<int64_t>(std::llround(b.get<double>())));
  }
  for (const auto& sh : j.value("shots", nlohmann::json::array())) {
    if (!sh.is_object()) continue;
    s.shots.push_back({i64(sh, "start_ms", 0), i64(sh, "end_ms", 0), sh.value("transition", "")});
  }
  return s;
}

}  // namespace atomcut

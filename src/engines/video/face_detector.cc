#include "engines/video/face_detector.h"

#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/revision.h>
#include <opencv2/core.hpp>
#include <opencv2/core/version.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <optional>
#include <utility>

namespace atomcut {
namespace {

constexpr const char* kOpenCvBackend = "opencv_face_detector";
constexpr const char* kDlibBackend = "dlib_hog";
constexpr const char* kFrontalCascade = "haarcascade_frontalface_alt2";
constexpr const char* kProfileCascade = "haarcascade_profileface";
// OpenCV's default minNeighbors: the neighbour count mapped to confidence 0.5.
constexpr double kNeighboursAtHalf = 3.0;
// dlib's HOG scanning window: the smallest face it finds without upsampling.
constexpr int kDlibWindowPx = 80;
constexpr int kMinFacePx = 20;  // the Haar cascades' window

const std::vector<std::string>& cascade_dirs() {
  static const std::vector<std::string> dirs = {
      "/usr/share/opencv4/haarcascades", "/usr/local/share/opencv4/haarcascades",
      "/usr/share/opencv/haarcascades", "/usr/local/share/opencv/haarcascades"};
  return dirs;
}

double clamp01(double v) { return std::clamp(v, 0.0, 1.0); }

FaceBox normalised_box(double x, double y, double w, double h, int frame_w, int frame_h) {
  const double x0 = clamp01(x / frame_w), y0 = clamp01(y / frame_h);
  const double x1 = clamp01((x + w) / frame_w), y1 = clamp01((y + h) / frame_h);
  return FaceBox{x0, y0, x1 - x0, y1 - y0};
}

bool box_valid(const FaceBox& b) {
  const double v[] = {b.x, b.y, b.width, b.height};
  for (double d : v) {
    if (!std::isfinite(d) || d < 0 || d > 1) return false;
  }
  return b.x + b.width <= 1 + 1e-9 && b.y + b.height <= 1 + 1e-9;
}

// Removes detections that overlap a better one (IoU >= threshold); input sorted best first.
void suppress_overlaps(std::vector<FaceDetection>& faces, double threshold) {
  std::vector<FaceDetection> kept;
  for (const auto& f : faces) {
    bool overlaps = false;
    for (const auto& k : kept) {
      if (face_box_iou(f.box, k.box) >= threshold) {
        overlaps = true;
        break;
      }
    }
    if (!overlaps) kept.push_back(f);
  }
  faces = std::move(kept);
}

void sort_by_confidence(std::vector<FaceDetection>& faces) {
  std::stable_sort(faces.begin(), faces.end(), [](const FaceDetection& a, const FaceDetection& b) {
    return a.confidence > b.confidence;
  });
}

}  // namespace

struct FaceDetector::Impl {
  FaceDetectorOptions options;
  std::string version;
  // opencv_face_detector
  cv::CascadeClassifier frontal;
  std::optional<cv::CascadeClassifier> profile;
  // dlib_hog
  std::optional<dlib::frontal_face_detector> hog;

  std::vector<FaceDetection> detect_opencv(const cv::Mat& gray);
  std::vector<FaceDetection> detect_dlib(const cv::Mat& gray);
};

// The scale at which the smallest face searched for fills the backend's window: there is no
// point in searching a larger picture (1080p is searched at about 450x250 with the defaults).
double working_scale(const cv::Mat& gray, double min_face_fraction, int window_px) {
  const double min_px = min_face_fraction * std::min(gray.cols, gray.rows);
  return std::min(1.0, window_px / std::max(min_px, 1.0));
}

cv::Mat downscale(const cv::Mat& gray, double scale) {
  if (scale >= 1) return gray;
  cv::Mat small;
  cv::resize(gray, small,
             cv::Size(std::max(1, static_cast<int>(std::lround(gray.cols * scale))),
                      std::max(1, static_cast<int>(std::lround(gray.rows * scale)))),
             0, 0, cv::INTER_AREA);
  return small;
}

std::vector<FaceDetection> FaceDetector::Impl::detect_opencv(const cv::Mat& full) {
  const cv::Mat gray = downscale(full, working_scale(full, options.min_face_fraction, kMinFacePx));
  cv::Mat equalised;
  cv::equalizeHist(gray, equalised);
  const int shorter = std::min(full.cols, full.rows);
  const double scale = static_cast<double>(gray.cols) / full.cols;
  const int min_px = std::max(
      kMinFacePx, static_cast<int>(std::lround(options.min_face_fraction * shorter * scale)));
  const cv::Size min_size(min_px, min_px);
  // The neighbour count n maps to n / (n + 3); ask OpenCV for at least the count that reaches
  // min_confidence (at least 1: 0 would return the raw, ungrouped windows).
  const double c = std::min(options.min_confidence, 0.999);
  const int min_neighbours =
      std::max(1, static_cast<int>(std::ceil(kNeighboursAtHalf * c / (1 - c) - 1e-9)));

  auto run = [&](cv::CascadeClassifier& cascade, const cv::Mat& image, bool mirrored) {
    std::vector<cv::Rect> rects;
    std::vector<int> neighbours;
    cascade.detectMultiScale(image, rects, neighbours, options.scale_factor, min_neighbours, 0,
                             min_size);
    std::vector<FaceDetection> out;
    for (size_t i = 0; i < rects.size(); ++i) {
      const cv::Rect& r = rects[i];
      const double n = neighbours[i];
      const double x = mirrored ? image.cols - r.x - r.width : r.x;
      out.push_back(FaceDetection{normalised_box(x, r.y, r.width, r.height, image.cols, image.rows),
                                  n / (n + kNeighboursAtHalf)});
    }
    return out;
  };

  std::vector<FaceDetection> faces = run(frontal, equalised, false);
  sort_by_confidence(faces);
  if (profile) {
    std::vector<FaceDetection> sides = run(*profile, equalised, false);
    cv::Mat flipped;
    cv::flip(equalised, flipped, 1);
    for (auto& f : run(*profile, flipped, true)) sides.push_back(f);
    sort_by_confidence(sides);
    // Frontal detections first: a profile box overlapping one is the same face.
    for (auto& s : sides) faces.push_back(s);
    suppress_overlaps(faces, 0.3);
    sort_by_confidence(faces);
  }
  return faces;
}

std::vector<FaceDetection> FaceDetector::Impl::detect_dlib(const cv::Mat& full) {
  const cv::Mat gray =
      downscale(full, working_scale(full, options.min_face_fraction, kDlibWindowPx));
  // dlib's score s maps to 1 / (1 + exp(-2 s)); the threshold giving min_confidence is
  // s = logit(c) / 2.
  const double c = std::clamp(options.min_confidence, 1e-6, 1 - 1e-6);
  const double threshold = 0.5 * std::log(c / (1 - c));
  dlib::array2d<unsigned char> image(gray.rows, gray.cols);
  for (int y = 0; y < gray.rows; ++y) {
    const uint8_t* row = gray.ptr<uint8_t>(y);
    for (int x = 0; x < gray.cols; ++x) image[y][x] = row[x];
  }
  std::vector<dlib::rect_detection> found;
  (*hog)(image, found, threshold);
  std::vector<FaceDetection> faces;
  for (const auto& d : found) {
    const dlib::rectangle& r = d.rect;
    faces.push_back(FaceDetection{
        normalised_box(r.left(), r.top(), r.width(), r.height(), gray.cols, gray.rows),
        1 / (1 + std::exp(-2 * d.detection_confidence))});
  }
  sort_by_confidence(faces);
  return faces;
}

FaceDetector::FaceDetector(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FaceDetector::FaceDetector(FaceDetector&&) noexcept = default;
FaceDetector& FaceDetector::operator=(FaceDetector&&) noexcept = default;
FaceDetector::~FaceDetector() = default;

Result<FaceDetector> FaceDetector::create(const FaceDetectorOptions& options) {
  if (!(options.min_confidence >= 0 && options.min_confidence <= 1)) {
    return Error::invalid_argument(
        "min_confidence (" + std::to_string(options.min_confidence) + ") must be in [0, 1]",
        {{"field", "min_confidence"}});
  }
  if (!(options.min_face_fraction > 0 && options.min_face_fraction <= 1)) {
    return Error::invalid_argument(
        "min_face_fraction (" + std::to_string(options.min_face_fraction) + ") must be in (0, 1]",
        {{"field", "min_face_fraction"}});
  }
  if (!(options.scale_factor > 1 && options.scale_factor <= 2)) {
    return Error::invalid_argument(
        "scale_factor (" + std::to_string(options.scale_factor) + ") must be in (1, 2]",
        {{"field", "scale_factor"}});
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (options.backend == kOpenCvBackend) {
    const std::vector<std::string> dirs = options.cascade_dir.empty()
                                              ? cascade_dirs()
                                              : std::vector<std::string>{options.cascade_dir};
    std::vector<std::string> names = {kFrontalCascade};
    if (options.profiles) names.push_back(kProfileCascade);
    std::vector<std::string> looked_at;
    std::vector<std::string> found;
    for (const auto& name : names) {
      std::string path;
      for (const auto& dir : dirs) {
        const std::string candidate = dir + "/" + name + ".xml";
        looked_at.push_back(candidate);
        std::error_code ec;
        if (std::filesystem::is_regular_file(candidate, ec)) {
          path = candidate;
          break;
        }
      }
      if (path.empty()) {
        std::string list;
        for (const auto& p : looked_at) list += (list.empty() ? "" : ", ") + p;
        return Error::unavailable("OpenCV face cascade " + name +
                                      ".xml not found (install opencv-data); looked at: " + list,
                                  {{"backend", options.backend}, {"looked_at", looked_at}});
      }
      found.push_back(path);
    }
    // OpenCV reports a malformed file by returning false, some versions by throwing.
    auto load = [&](cv::CascadeClassifier& cascade, const std::string& path) -> Status {
      bool loaded = false;
      try {
        loaded = cascade.load(path);
      } catch (const cv::Exception&) {
        loaded = false;
      }
      if (!loaded || cascade.empty()) {
        return Error::unavailable("OpenCV could not load the face cascade " + path,
                                  {{"backend", options.backend}, {"path", path}});
      }
      return Status::ok_status();
    };
    ATOMCUT_TRY(load(impl->frontal, found[0]));
    if (options.profiles) {
      impl->profile.emplace();
      ATOMCUT_TRY(load(*impl->profile, found[1]));
    }
    impl->version = std::string("opencv ") + CV_VERSION + " " + kFrontalCascade;
    if (options.profiles) impl->version += std::string(" ") + kProfileCascade;
  } else if (options.backend == kDlibBackend) {
    impl->hog.emplace(dlib::get_frontal_face_detector());
    impl->version = "dlib " + std::to_string(DLIB_MAJOR_VERSION) + "." +
                    std::to_string(DLIB_MINOR_VERSION) + "." + std::to_string(DLIB_PATCH_VERSION) +
                    " hog";
  } else {
    std::string known;
    for (const auto& b : face_detector_backends()) known += (known.empty() ? "" : ", ") + b;
    return Error::invalid_argument(
        "unknown face detector backend \"" + options.backend + "\"; known: " + known,
        {{"field", "backend"}, {"known", face_detector_backends()}});
  }
  return FaceDetector(std::move(impl));
}

Result<std::vector<FaceDetection>> FaceDetector::detect(const VideoFrame& frame) {
  if (frame.width <= 0 || frame.height <= 0 || frame.pixels.empty()) {
    return Error::invalid_argument("frame is empty (" + std::to_string(frame.width) + "x" +
                                       std::to_string(frame.height) + ", " +
                                       std::to_string(frame.pixels.size()) +
                                       " bytes); a face search needs a decoded picture",
                                   {{"field", "frame"}});
  }
  const size_t expected = static_cast<size_t>(frame.width) * frame.height * frame.channels();
  if (frame.pixels.size() != expected) {
    return Error::invalid_argument("frame.pixels has " + std::to_string(frame.pixels.size()) +
                                       " bytes; " + std::to_string(frame.width) + "x" +
                                       std::to_string(frame.height) + " " +
                                       (frame.layout == PixelLayout::kGray8 ? "gray8" : "rgb24") +
                                       " needs " + std::to_string(expected),
                                   {{"field", "frame.pixels"}, {"expected_bytes", expected}});
  }
  // cv::Mat headers over the caller's bytes (read only: OpenCV copies on conversion).
  auto* data = const_cast<uint8_t*>(frame.pixels.data());
  cv::Mat gray;
  if (frame.layout == PixelLayout::kGray8) {
    gray = cv::Mat(frame.height, frame.width, CV_8UC1, data);
  } else {
    cv::cvtColor(cv::Mat(frame.height, frame.width, CV_8UC3, data), gray, cv::COLOR_RGB2GRAY);
  }
  std::vector<FaceDetection> faces;
  try {
    faces = impl_->hog ? impl_->detect_dlib(gray) : impl_->detect_opencv(gray);
  } catch (const std::exception& e) {
    return Error::internal(std::string("face detection failed: ") + e.what(),
                           {{"backend", impl_->options.backend}});
  }
  std::vector<FaceDetection> kept;
  for (const auto& f : faces) {
    if (f.confidence >= impl_->options.min_confidence && f.box.width > 0 && f.box.height > 0) {
      kept.push_back(f);
    }
  }
  return kept;
}

const std::string& FaceDetector::backend() const { return impl_->options.backend; }
const std::string& FaceDetector::backend_version() const { return impl_->version; }

std::vector<std::string> face_detector_backends() { return {kOpenCvBackend, kDlibBackend}; }

double face_box_iou(const FaceBox& a, const FaceBox& b) {
  const double ix = std::min(a.x + a.width, b.x + b.width) - std::max(a.x, b.x);
  const double iy = std::min(a.y + a.height, b.y + b.height) - std::max(a.y, b.y);
  if (ix <= 0 || iy <= 0) return 0;
  const double inter = ix * iy;
  const double uni = a.width * a.height + b.width * b.height - inter;
  return uni > 0 ? inter / uni : 0;
}

// --- tracking -----------------------------------------------------------------------------------

namespace {

struct LiveTrack {
  std::vector<FaceTrackPoint> points;  // unsmoothed; interpolated gaps filled on re-detection
  std::vector<size_t> frame_of_point;  // index into frames of each point
  int misses = 0;                      // consecutive samples without a detection
  bool alive = true;

  // The box expected at frame `f` (constant velocity over the last two detections).
  FaceBox predict(size_t f) const {
    const FaceTrackPoint& last = points.back();
    if (points.size() < 2) return last.box;
    const FaceTrackPoint& prev = points[points.size() - 2];
    const double steps = static_cast<double>(frame_of_point.back() - frame_of_point.end()[-2]);
    const double ahead = static_cast<double>(f - frame_of_point.back());
    if (steps <= 0) return last.box;
    const double k = ahead / steps;
    FaceBox p = last.box;
    p.x += (last.box.x - prev.box.x) * k;
    p.y += (last.box.y - prev.box.y) * k;
    p.width = std::max(1e-6, p.width + (last.box.width - prev.box.width) * k);
    p.height = std::max(1e-6, p.height + (last.box.height - prev.box.height) * k);
    return p;
  }
};

double centre_distance(const FaceBox& a, const FaceBox& b) {
  const double dx = (a.x + a.width / 2) - (b.x + b.width / 2);
  const double dy = (a.y + a.height / 2) - (b.y + b.height / 2);
  const double size = std::sqrt((a.width * a.height + b.width * b.height) / 2);
  return size > 0 ? std::hypot(dx, dy) / size : std::numeric_limits<double>::infinity();
}

FaceBox lerp(const FaceBox& a, const FaceBox& b, double t) {
  return FaceBox{a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t, a.width + (b.width - a.width) * t,
                 a.height + (b.height - a.height) * t};
}

}  // namespace

Result<std::vector<FaceTrack>> track_faces(const std::vector<FrameFaces>& frames,
                                           const FaceTrackerOptions& options) {
  if (!(options.min_iou > 0 && options.min_iou <= 1)) {
    return Error::invalid_argument(
        "min_iou (" + std::to_string(options.min_iou) + ") must be in (0, 1]",
        {{"field", "min_iou"}});
  }
  if (!(options.max_centre_distance >= 0 && std::isfinite(options.max_centre_distance))) {
    return Error::invalid_argument("max_centre_distance must be finite and >= 0",
                                   {{"field", "max_centre_distance"}});
  }
  if (options.max_gap_samples < 0 || options.min_track_samples < 1 ||
      options.smoothing_radius < 0) {
    return Error::invalid_argument(
        "max_gap_samples (" + std::to_string(options.max_gap_samples) + ") and smoothing_radius (" +
            std::to_string(options.smoothing_radius) + ") must be >= 0, min_track_samples (" +
            std::to_string(options.min_track_samples) + ") >= 1",
        {{"field", "options"}});
  }
  for (size_t f = 0; f < frames.size(); ++f) {
    if (f > 0 && frames[f].pts_ms < frames[f - 1].pts_ms) {
      return Error::invalid_argument("frames[" + std::to_string(f) + "].pts_ms (" +
                                         std::to_string(frames[f].pts_ms) +
                                         ") must not be less than the previous frame's (" +
                                         std::to_string(frames[f - 1].pts_ms) + ")",
                                     {{"field", "frames.pts_ms"}, {"index", f}});
    }
    for (size_t i = 0; i < frames[f].faces.size(); ++i) {
      const FaceDetection& d = frames[f].faces[i];
      if (!box_valid(d.box) || !std::isfinite(d.confidence)) {
        return Error::invalid_argument("frames[" + std::to_string(f) + "].faces[" +
                                           std::to_string(i) +
                                           "] has a box outside [0, 1] or a non-finite value",
                                       {{"field", "frames.faces"}, {"index", f}});
      }
    }
  }

  std::vector<LiveTrack> tracks;
  for (size_t f = 0; f < frames.size(); ++f) {
    const auto& faces = frames[f].faces;
    // Candidate pairs (track, detection) that pass a gate, best first: IoU, then centre distance.
    struct Pair {
      size_t track;
      size_t det;
      double iou;
      double dist;
    };
    std::vector<Pair> pairs;
    for (size_t t = 0; t < tracks.size(); ++t) {
      if (!tracks[t].alive) continue;
      const FaceBox predicted = tracks[t].predict(f);
      for (size_t d = 0; d < faces.size(); ++d) {
        const double iou = face_box_iou(predicted, faces[d].box);
        const double dist = centre_distance(predicted, faces[d].box);
        const double area_a = predicted.width * predicted.height;
        const double area_b = faces[d].box.width * faces[d].box.height;
        const double ratio =
            std::sqrt(std::max(area_a, area_b) / std::max(1e-12, std::min(area_a, area_b)));
        const bool near =
            options.max_centre_distance > 0 && dist <= options.max_centre_distance && ratio <= 1.5;
        if (iou >= options.min_iou || near) pairs.push_back({t, d, iou, dist});
      }
    }
    std::sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) {
      if (a.iou != b.iou) return a.iou > b.iou;
      return a.dist < b.dist;
    });
    std::vector<bool> track_used(tracks.size(), false), det_used(faces.size(), false);
    for (const Pair& p : pairs) {
      if (track_used[p.track] || det_used[p.det]) continue;
      track_used[p.track] = det_used[p.det] = true;
      LiveTrack& track = tracks[p.track];
      const size_t last_f = track.frame_of_point.back();
      if (options.interpolate_gaps && f - last_f > 1) {
        const FaceBox from = track.points.back().box;
        for (size_t g = last_f + 1; g < f; ++g) {
          const double t = static_cast<double>(g - last_f) / static_cast<double>(f - last_f);
          track.points.push_back({frames[g].pts_ms, lerp(from, faces[p.det].box, t), 0, true});
          track.frame_of_point.push_back(g);
        }
      }
      track.points.push_back({frames[f].pts_ms, faces[p.det].box, faces[p.det].confidence, false});
      track.frame_of_point.push_back(f);
      track.misses = 0;
    }
    for (size_t t = 0; t < track_used.size(); ++t) {
      if (!tracks[t].alive || track_used[t]) continue;
      if (++tracks[t].misses > options.max_gap_samples) tracks[t].alive = false;
    }
    for (size_t d = 0; d < faces.size(); ++d) {
      if (det_used[d]) continue;
      LiveTrack track;
      track.points.push_back({frames[f].pts_ms, faces[d].box, faces[d].confidence, false});
      track.frame_of_point.push_back(f);
      tracks.push_back(std::move(track));
    }
  }

  std::vector<FaceTrack> out;
  for (const LiveTrack& live : tracks) {  // already in order of first sample
    FaceTrack track;
    double confidence_sum = 0;
    for (const auto& p : live.points) {
      if (!p.interpolated) {
        ++track.detected_samples;
        confidence_sum += p.confidence;
      }
    }
    if (track.detected_samples < options.min_track_samples) continue;
    track.track_id = static_cast<int>(out.size()) + 1;
    track.mean_confidence = confidence_sum / track.detected_samples;
    track.points = live.points;
    const int n = static_cast<int>(live.points.size());
    const int r = options.smoothing_radius;
    for (int i = 0; i < n && r > 0; ++i) {
      // Shrink the window at the ends so it stays centred (no lag, no pull towards the edge).
      const int k = std::min({r, i, n - 1 - i});
      FaceBox sum{};
      for (int j = i - k; j <= i + k; ++j) {
        sum.x += live.points[j].box.x;
        sum.y += live.points[j].box.y;
        sum.width += live.points[j].box.width;
        sum.height += live.points[j].box.height;
      }
      const double m = 2.0 * k + 1;
      track.points[i].box = FaceBox{sum.x / m, sum.y / m, sum.width / m, sum.height / m};
    }
    track.start_ms = track.points.front().pts_ms;
    track.end_ms = track.points.back().pts_ms;
    out.push_back(std::move(track));
  }
  return out;
}

}  // namespace atomcut

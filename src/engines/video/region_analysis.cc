#include "engines/video/region_analysis.h"

#include "core/sha256.h"
#include "engines/video/frame_sampler.h"

#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>

namespace atomcut {

namespace {

double round6(double v) { return std::round(v * 1e6) / 1e6; }

Error option_error(const char* field, const std::string& rule) {
  return Error::invalid_argument(fmt::format("region analysis: {} {}", field, rule),
                                 {{"field", field}});
}

}  // namespace

Result<RegionAnalysis> analyse_face_regions(const std::string& path,
                                            const RegionAnalysisOptions& options) {
  if (options.sample_interval_ms < kRegionMinIntervalMs ||
      options.sample_interval_ms > kRegionMaxIntervalMs) {
    return option_error(
        "sample_interval_ms",
        fmt::format("must lie in [{}, {}] ms", kRegionMinIntervalMs, kRegionMaxIntervalMs));
  }
  if (!(options.min_confidence >= 0 && options.min_confidence <= 1)) {
    return option_error("min_confidence", "must lie in [0, 1]");
  }
  const bool stub = options.backend == "stub";
  std::optional<FaceDetector> detector;
  RegionAnalysis out;
  out.sample_interval_ms = options.sample_interval_ms;
  out.backend = options.backend;
  out.min_confidence = options.min_confidence;
  if (stub) {
    out.backend_version = "stub_regions_v1 (no detection)";
  } else {
    FaceDetectorOptions d;
    d.backend = options.backend;
    d.min_confidence = options.min_confidence;
    ATOMCUT_ASSIGN_OR_RETURN(FaceDetector made, FaceDetector::create(d));
    detector.emplace(std::move(made));
    out.backend_version = detector->backend_version();
  }

  FrameSamplerOptions so;
  so.max_width = options.max_width;
  so.max_height = options.max_height;
  so.layout = PixelLayout::kGray8;
  so.fast_decode = true;
  // Opened once for the stream's facts (and to report a bad file before anything else).
  {
    ATOMCUT_ASSIGN_OR_RETURN(std::unique_ptr<FrameSampler> probe, FrameSampler::open(path, so));
    out.width = probe->info().width;
    out.height = probe->info().height;
    out.duration_ms = probe->info().duration_ms;
  }
  std::vector<FrameFaces> frames;
  ATOMCUT_TRY(
      sample_every(path, options.sample_interval_ms, so, [&](const VideoFrame& frame) -> Status {
        out.sample_times_ms.push_back(frame.pts_ms);
        FrameFaces f;
        f.pts_ms = frame.pts_ms;
        if (detector) {
          ATOMCUT_ASSIGN_OR_RETURN(f.faces, detector->detect(frame));
        }
        // sample_every hands out a frame shown longer than the interval
        // again: the tracker wants increasing times, so keep the first.
        if (!frames.empty() && frames.back().pts_ms >= f.pts_ms) {
          out.sample_times_ms.pop_back();
          return {};
        }
        frames.push_back(std::move(f));
        return {};
      }));
  if (out.duration_ms < 0) {
    out.duration_ms =
        out.sample_times_ms.empty() ? 0 : out.sample_times_ms.back() + options.sample_interval_ms;
  }
  ATOMCUT_ASSIGN_OR_RETURN(out.tracks, track_faces(frames, options.tracker));
  return out;
}

nlohmann::json region_summary_json(const RegionAnalysis& a, const std::string& asset_id) {
  nlohmann::json tracks = nlohmann::json::array();
  std::map<int64_t, nlohmann::json> by_time;
  for (int64_t t : a.sample_times_ms) by_time[t] = nlohmann::json::array();
  for (const FaceTrack& t : a.tracks) {
    nlohmann::json points = nlohmann::json::array();
    for (const FaceTrackPoint& p : t.points) {
      points.push_back({{"t_ms", p.pts_ms},
                        {"bbox_x", round6(p.box.x)},
                        {"bbox_y", round6(p.box.y)},
                        {"bbox_width", round6(p.box.width)},
                        {"bbox_height", round6(p.box.height)},
                        {"confidence", round6(p.confidence)},
                        {"interpolated", p.interpolated}});
      by_time[p.pts_ms].push_back({{"track_id", t.track_id},
                                   {"bbox_x", round6(p.box.x)},
                                   {"bbox_y", round6(p.box.y)},
                                   {"bbox_width", round6(p.box.width)},
                                   {"bbox_height", round6(p.box.height)},
                                   {"confidence", round6(p.confidence)}});
    }
    tracks.push_back({{"track_id", t.track_id},
                      {"label", "face"},
                      {"first_ms", t.start_ms},
                      {"last_ms", t.end_ms},
                      {"mean_confidence", round6(t.mean_confidence)},
                      {"detected_samples", t.detected_samples},
                      {"points", std::move(points)}});
  }
  nlohmann::json frames = nlohmann::json::array();
  for (auto& [t, regions] : by_time) {
    frames.push_back({{"timestamp_ms", t}, {"regions", std::move(regions)}});
  }
  return {{"schema", "video_region_summary"},
          {"version", 1},
          {"asset_id", asset_id},
          {"frame_sample_interval_ms", a.sample_interval_ms},
          {"duration_ms", a.duration_ms},
          {"width", a.width},
          {"height", a.height},
          {"backend", a.backend},
          {"backend_version", a.backend_version},
          {"min_confidence", a.min_confidence},
          {"sample_count", a.sample_times_ms.size()},
          {"face_count", a.tracks.size()},
          {"tracks", std::move(tracks)},
          {"frames", std::move(frames)}};
}

Result<std::vector<FaceTrack>> face_tracks_from_summary(const nlohmann::json& summary) {
  auto bad = [](const std::string& what) {
    return Error::invalid_argument("not a video_region_summary document: " + what,
                                   {{"reason", "bad_region_summary"}});
  };
  if (!summary.is_object() || !summary.contains("tracks") || !summary["tracks"].is_array()) {
    return bad("no tracks array");
  }
  std::vector<FaceTrack> out;
  for (const auto& t : summary["tracks"]) {
    if (!t.is_object() || !t.contains("points") || !t["points"].is_array() ||
        !t.value("track_id", nlohmann::json()).is_number_integer()) {
      return bad("a track without track_id or points");
    }
    FaceTrack track;
    track.track_id = t["track_id"].get<int>();
    track.mean_confidence = t.value("mean_confidence", 0.0);
    track.detected_samples = t.value("detected_samples", 0);
    for (const auto& p : t["points"]) {
      if (!p.is_object() || !p.value("t_ms", nlohmann::json()).is_number() ||
          !p.value("bbox_x", nlohmann::json()).is_number() ||
          !p.value("bbox_y", nlohmann::json()).is_number() ||
          !p.value("bbox_width", nlohmann::json()).is_number() ||
          !p.value("bbox_height", nlohmann::json()).is_number()) {
        return bad("a point without t_ms or bbox fields");
      }
      FaceTrackPoint q;
      q.pts_ms = p["t_ms"].get<int64_t>();
      q.box = {p["bbox_x"].get<double>(), p["bbox_y"].get<double>(), p["bbox_width"].get<double>(),
               p["bbox_height"].get<double>()};
      q.confidence = p.value("confidence", 0.0);
      q.interpolated = p.value("interpolated", false);
      track.points.push_back(q);
    }
    if (track.points.empty()) continue;
    std::sort(track.points.begin(), track.points.end(),
              [](const auto& a, const auto& b) { return a.pts_ms < b.pts_ms; });
    track.start_ms = track.points.front().pts_ms;
    track.end_ms = track.points.back().pts_ms;
    out.push_back(std::move(track));
  }
  return out;
}

std::string face_track_selection_hash(const FaceTrack& track) {
  std::string text = fmt::format("track {}\n", track.track_id);
  for (const FaceTrackPoint& p : track.points) {
    text += fmt::format("{} {:.6f} {:.6f} {:.6f} {:.6f}\n", p.pts_ms, p.box.x, p.box.y, p.box.width,
                        p.box.height);
  }
  return sha256_hex(text);
}

Status write_face_mask(const FaceTrack& track, int width, int height, int feather_radius,
                       const std::string& path) {
  if (width < 1 || width > 16384 || height < 1 || height > 16384) {
    return Error::invalid_argument(fmt::format("mask size {}x{} out of range", width, height),
                                   {{"field", "width"}});
  }
  if (feather_radius < 0 || feather_radius > kRegionMaxFeatherRadius) {
    return Error::invalid_argument(fmt::format("feather_radius {} must lie in [0, {}]",
                                               feather_radius, kRegionMaxFeatherRadius),
                                   {{"field", "feather_radius"}});
  }
  if (track.points.empty()) {
    return Error::invalid_argument("a face mask needs a track with points", {{"field", "track"}});
  }
  cv::Mat mask(height, width, CV_8UC1, cv::Scalar(0));
  for (const FaceTrackPoint& p : track.points) {
    const int x0 = std::clamp(static_cast<int>(std::floor(p.box.x * width)), 0, width);
    const int y0 = std::clamp(static_cast<int>(std::floor(p.box.y * height)), 0, height);
    const int x1 =
        std::clamp(static_cast<int>(std::ceil((p.box.x + p.box.width) * width)), 0, width);
    const int y1 =
        std::clamp(static_cast<int>(std::ceil((p.box.y + p.box.height) * height)), 0, height);
    if (x1 > x0 && y1 > y0) mask(cv::Rect(x0, y0, x1 - x0, y1 - y0)).setTo(255);
  }
  if (feather_radius > 0) {
    const int k = 2 * feather_radius + 1;
    cv::GaussianBlur(mask, mask, cv::Size(k, k), feather_radius / 2.0, feather_radius / 2.0,
                     cv::BORDER_REPLICATE);
  }
  // imencode + our own write: imwrite picks the codec from the path's extension, and a blob
  // store's staging file has none.
  std::vector<uchar> bytes;
  try {
    if (!cv::imencode(".png", mask, bytes, {cv::IMWRITE_PNG_COMPRESSION, 6})) {
      return Error::internal("could not encode the face mask PNG");
    }
  } catch (const cv::Exception& e) {
    return Error::internal(std::string("could not encode the face mask PNG: ") + e.what());
  }
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) return Error::internal("could not write the face mask PNG", {{"path", path}});
  return {};
}

}  // namespace atomcut

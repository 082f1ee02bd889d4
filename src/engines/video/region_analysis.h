// Face regions of a video (spec "Video regions, visual meta, and captions (Phase V01)"): sample
// the video (FrameSampler, one picture every sample_interval_ms, gray, at most 640x360), find the
// faces of each sample (FaceDetector), link them into tracks with stable ids (track_faces), and
// describe the result as the `video_region_summary` document. Also writes the face masks (one
// single-channel 8-bit PNG per track). Pure: files in, files and values out; no Media v2.
//
// The summary document (region_summary_json), all boxes normalised to the picture ([0, 1], top
// left origin) and all times on the video's own timeline (ms from its first frame):
//   {
//     "schema": "video_region_summary", "version": 1,
//     "asset_id", "frame_sample_interval_ms", "duration_ms", "width", "height" (display size),
//     "backend", "backend_version", "min_confidence", "sample_count", "face_count" (= tracks),
//     "tracks": [{"track_id", "label": "face", "first_ms", "last_ms", "mean_confidence",
//                 "detected_samples",
//                 "points": [{"t_ms", "bbox_x", "bbox_y", "bbox_width", "bbox_height",
//                             "confidence", "interpolated"}]}],
//     "frames": [{"timestamp_ms", "regions": [{"track_id", "bbox_x", "bbox_y", "bbox_width",
//                                              "bbox_height", "confidence"}]}]
//   }
// `frames` lists every sample (also those without faces); its regions are the tracks' (smoothed)
// points at that sample. A detection dropped by the tracker as a false positive (too short a
// track) appears nowhere.
//
// The face mask of a track (write_face_mask): the union of all the track's boxes (the whole area
// the face passes through, so one still mask covers the face at every time of the track) filled
// with 255 on 0, at the video's display size, its edge feathered by a Gaussian blur of
// feather_radius pixels (sigma = radius / 2, kernel 2 * radius + 1), written with OpenCV as an
// 8-bit grey PNG (PNG colour type 0, PIL's "L" mode).
//
// Thread safety: every function is reentrant; each call uses its own decoder and detector.
#pragma once

#include "core/error.h"
#include "engines/video/face_detector.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace atomcut {

inline constexpr int64_t kRegionDefaultIntervalMs = 200;
inline constexpr int64_t kRegionMinIntervalMs = 40;
inline constexpr int64_t kRegionMaxIntervalMs = 10000;
inline constexpr int kRegionMaxFeatherRadius = 200;

struct RegionAnalysisOptions {
  int64_t sample_interval_ms =
      kRegionDefaultIntervalMs;  // kRegionMinIntervalMs..kRegionMaxIntervalMs
  // A FaceDetector backend name, or "stub" (no detection at all: an empty summary that says so).
  std::string backend = "opencv_face_detector";
  double min_confidence = 0.5;  // 0..1
  int max_width = 640;          // analysis pictures fit this box (never upscaled)
  int max_height = 360;
  FaceTrackerOptions tracker;
};

struct RegionAnalysis {
  int64_t sample_interval_ms = 0;
  int64_t duration_ms = 0;  // of the video stream (last sample + interval when unknown)
  int width = 0;            // display size of the video
  int height = 0;
  std::string backend;
  std::string backend_version;
  double min_confidence = 0;
  std::vector<int64_t> sample_times_ms;  // pts of each analysed picture
  std::vector<FaceTrack> tracks;
};

// Analyses the video at `path`. Errors: those of FrameSampler::open (invalid_argument with
// details.reason no_video_stream / not_media / corrupt, not_found), FaceDetector::create
// (unknown backend, unavailable cascade), options out of range (invalid_argument, details.field).
Result<RegionAnalysis> analyse_face_regions(const std::string& path,
                                            const RegionAnalysisOptions& options);

// The summary document described above.
nlohmann::json region_summary_json(const RegionAnalysis& analysis, const std::string& asset_id);

// The face tracks back from a summary document (what anonymisation and the render read).
// invalid_argument when the document is not a region summary.
Result<std::vector<FaceTrack>> face_tracks_from_summary(const nlohmann::json& summary);

// sha256 (hex) of a track's selection: its id and every point's time and box (6 decimals).
std::string face_track_selection_hash(const FaceTrack& track);

// Writes the track's mask PNG (see above) of width x height pixels. invalid_argument: sizes
// outside 1..16384, feather_radius outside 0..kRegionMaxFeatherRadius, a track without points;
// internal when OpenCV cannot write the file.
Status write_face_mask(const FaceTrack& track, int width, int height, int feather_radius,
                       const std::string& path);

}  // namespace atomcut

// Visual meta engine (spec "Visual Meta Engine", "Video regions, visual meta, and captions (Phase
// V01)"): a cheap, structured "what is on screen" summary of one video file, made in ONE decode
// pass (FrameSampler, gray, fast decode):
//
//  - every frame at low resolution (<= 160x90) goes through a ShotDetector: frame-accurate hard
//    cuts and gradual transitions, listed as the exact pts of each boundary frame
//    (shot_boundaries_ms), and the per-frame motion (mean absolute luma difference);
//  - at each sample time 0, interval, 2 * interval, ... (the frame displayed at that time, as
//    FrameSampler::frame_at defines it) the same decoded frame is rendered once more, larger
//    (<= subject_max_width, gray), and searched for faces (FaceDetector, default
//    opencv_face_detector) on a worker thread while decoding goes on. The faces of all samples are
//    linked by track_faces() into tracks: SubjectDetection.track_id "face_<n>", label "face",
//    the tracker's smoothed box;
//  - a sample without a face gets one region instead: "motion_region" (the bounding box of the
//    pixels that changed since the previous frame, when the change is local: between 0.3% and
//    50% of the picture, not a camera move) or else "salient_region" (centre-surround contrast of
//    the low-resolution frame: the weighted centre and spread of its most contrasted pixels),
//    with a confidence in [0, 0.6] (they are guesses, below any face);
//  - motion_score per sample: the median frame-to-frame motion of the frames shown since the
//    previous sample, / 20, clipped to [0, 1] (0 still, 1 = fast motion or constant change);
//  - primary_subject_center_x/y: the centre of the largest face (area x confidence), else of the
//    region, else 0.5/0.5.
// VisualMetaFrame.shot_boundary is true on the first sample and on every sample whose preceding
// interval (t_prev, t] contains a boundary frame.
//
// The "stub" backend (visual_meta_stub_v1) decodes nothing beyond the stream's header: one sample
// per interval with a deterministic wobble of the centre around 0.5/0.5 and a "frame_center"
// subject, as the spec's placeholder describes.
//
// Pure: no Media v2, no HTTP. analyze_visual_meta() is thread safe (each call has its own
// decoder, detector and worker thread).
#pragma once

#include "core/error.h"
#include "engines/video/shot_detector.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace atomcut {

inline constexpr const char* kVisualMetaModel = "atomcut_visual_meta_v1";
inline constexpr const char* kVisualMetaStubModel = "visual_meta_stub_v1";

struct SubjectDetection {
  std::optional<std::string> track_id;  // "face_1", ... (faces only)
  std::string label;                    // face | motion_region | salient_region | frame_center
  double confidence = 0;                // 0..1
  double bbox_x = 0;                    // normalised [0, 1], top-left corner
  double bbox_y = 0;
  double bbox_width = 0;
  double bbox_height = 0;
};

struct VisualMetaFrame {
  int64_t timestamp_ms = 0;  // the sample time (k * interval)
  std::vector<SubjectDetection> subjects;
  double primary_subject_center_x = 0.5;
  double primary_subject_center_y = 0.5;
  bool shot_boundary = false;
  double motion_score = 0;  // 0..1
};

struct VisualMetaShot {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  std::string transition;  // how it starts: "start" | "cut" | "gradual"
};

struct VisualMetaSummary {
  std::string asset_id;
  std::optional<std::string> artifact_id;
  std::vector<VisualMetaFrame> frames;
  int64_t duration_ms = 0;
  int64_t frame_sample_interval_ms = 500;
  std::vector<int64_t> shot_boundaries_ms;  // exact pts of each boundary frame, ascending
  std::vector<VisualMetaShot> shots;
};

struct VisualMetaOptions {
  int64_t sample_interval_ms = 500;    // 40..60000
  bool detect_shot_boundaries = true;  // false: no ShotDetector boundaries (motion still measured)
  bool detect_subjects = true;         // false: no faces/regions (centre 0.5/0.5)
  std::string face_backend = "opencv_face_detector";  // FaceDetector backend
  double min_confidence = 0.5;                        // faces below are dropped, 0..1
  // FaceDetectorOptions: smallest face (fraction of the shorter side) and pyramid step. Larger
  // values are faster (the detector dominates the cost): 0.1 / 1.2 find faces of >= 27 px at
  // 480x270.
  double face_min_fraction = 0.1;  // (0, 1]
  double face_scale_factor = 1.2;  // (1, 2]
  int subject_max_width = 480;     // sample picture for faces, 64..1920
  int subject_max_height = 270;    // 36..1080
  int shot_max_width = 160;        // every-frame picture, 16..640
  int shot_max_height = 90;
};

// What analyze_visual_meta found, beyond the summary.
struct VisualMetaAnalysis {
  VisualMetaSummary summary;             // asset_id/artifact_id left empty: the caller's business
  std::vector<ShotBoundary> boundaries;  // with kind and score
  int64_t frame_count = 0;               // frames decoded
  int width = 0;                         // the stream's display size
  int height = 0;
  int face_track_count = 0;
  int64_t face_detections = 0;    // subjects labelled face over all samples
  int64_t region_detections = 0;  // motion/salient regions over all samples
  std::string codec;
  std::string model_used;
  std::string backend_version;
};

// The version string of the real backend (model, detector, shot detector parameters).
std::string visual_meta_backend_version(const std::string& face_backend = "opencv_face_detector");
std::string visual_meta_stub_version();

// invalid_argument (details.field) for options out of range.
Status validate(const VisualMetaOptions& o);

// Analyses `path` in one decode pass. Errors: those of FrameSampler::open / next (not_found,
// invalid_argument with details.reason "not_media" / "no_video_stream" / "corrupt"),
// FaceDetector::create (unavailable), ShotDetector::create.
Result<VisualMetaAnalysis> analyze_visual_meta(const std::string& path,
                                               const VisualMetaOptions& options = {});

// The stub: samples 0, interval, ... < duration_ms (at least one), wobbling centre, one
// "frame_center" subject per sample (track "dummy_0"), shot_boundary on the first sample only.
VisualMetaAnalysis stub_visual_meta(int64_t duration_ms, int64_t sample_interval_ms, int width = 0,
                                    int height = 0);

nlohmann::json to_json(const SubjectDetection& s);
nlohmann::json to_json(const VisualMetaFrame& f);
nlohmann::json to_json(const VisualMetaSummary& s);
// Lenient reading of a stored summary (missing fields take their defaults); invalid_argument
// when `j` is not an object or frames is not an array.
Result<VisualMetaSummary> visual_meta_summary_from_json(const nlohmann::json& j);

}  // namespace atomcut

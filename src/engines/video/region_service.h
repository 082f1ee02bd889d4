// RegionService: face regions and anonymisation (spec "Phase V01", "Video Quality vNext"):
// POST /video/regions (video_region_summary + L-mode PNG masks under regions/) and
// POST /video/anonymise/faces (face_blur filters on the clip's filter stack).
//
// regions(): the asset (or one of its artifacts) is analysed by region_analysis
// (analyse_face_regions) with the backend chosen from the "regions" registry
// (opencv_face_detector, the default unless VIDEO_REGION_BACKEND names another; dlib_hog; stub).
// It registers one `mask` artifact per face track (write_face_mask; meta mask_type "face", source
// "video_regions", track_id, feather_radius, selection_hash, backend_version, model_used,
// cache_key, width, height) and then the `video_region_summary` JSON artifact (meta
// backend_version, model_used, cache_key, duration_ms, frame_sample_interval_ms, face_count,
// track_count, mask_artifact_ids, min_confidence, feather_radius, source_*). Masks and summary of
// one run share the cache key (a mask finds its summary by it). Media v2 keeps both under
// tenants/{t}/{env}/media_v2/{asset_id}/regions/. An identical request (same cache key) reuses
// the summary and runs nothing.
//
// anonymise_faces(): uses the named summary or the newest one of the clip's asset; with faces,
// writes (or updates in place) the clip's face_blur filter with params strength,
// source_summary_id and backend_version; without faces, writes nothing and says so
// (reason "no_faces"); without a summary, failed_precondition (run POST /video/regions first).
// With asset_id alone nothing is written (which clips to blur is the caller's choice): the answer
// gives the summary's verdict (reason "clip_id_required").
//
// Free of HTTP types. Thread safe.
#pragma once

#include "core/error.h"
#include "core/request_context.h"
#include "engines/media/analysis_support.h"
#include "engines/media/media_service.h"
#include "engines/timeline/timeline_service.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace atomcut {

struct RegionServiceOptions {
  std::string default_backend;  // VIDEO_REGION_BACKEND; empty = opencv_face_detector
  double min_confidence = 0.5;  // VIDEO_REGIONS_MIN_CONFIDENCE
};

inline constexpr int kRegionDefaultFeatherRadius = 8;

// POST /video/regions {asset_id, artifact_id?, sample_interval_ms?, backend?, min_confidence?,
// feather_radius?}
struct RegionRequest {
  std::string asset_id;
  std::optional<std::string> artifact_id;
  std::optional<int64_t> sample_interval_ms;  // 40..10000, default 200
  std::optional<std::string> backend;
  std::optional<double> min_confidence;              // 0..1, default the service's
  int feather_radius = kRegionDefaultFeatherRadius;  // 0..200 px
};
Result<RegionRequest> region_request_from_json(const nlohmann::json& j);

struct RegionOutcome {
  DerivedArtifact summary;
  std::vector<DerivedArtifact> masks;
  bool cache_hit = false;
};

// POST /video/anonymise/faces {clip_id | asset_id, strength?: "light"|"medium"|"strong"|0.1..1,
// summary_id?}
struct AnonymiseRequest {
  std::optional<std::string> clip_id;
  std::optional<std::string> asset_id;
  std::string preset = "medium";  // the preset name, or "custom" for a number
  double strength = 0.6;
  std::optional<std::string> summary_id;
};
Result<AnonymiseRequest> anonymise_request_from_json(const nlohmann::json& j);

// Face blur strength presets (face_blur's strength, 0.1..1).
inline constexpr double kFaceBlurLight = 0.3;
inline constexpr double kFaceBlurMedium = 0.6;
inline constexpr double kFaceBlurStrong = 1.0;

struct AnonymiseOutcome {
  bool applied = false;
  bool created_stack = false;
  nlohmann::json body;  // the answer (see the route)
};

class RegionService {
 public:
  RegionService(MediaService& media, TimelineService& timeline, RegionServiceOptions options);
  ~RegionService();

  std::vector<BackendInfo> backends() const;

  // Errors: not_found (asset/artifact of another tenant or missing), invalid_argument (no video
  // stream, unreadable media, unknown backend), failed_precondition (backend unavailable).
  Result<RegionOutcome> regions(const RequestContext& ctx, const RegionRequest& request);

  // Errors: not_found (clip, asset or summary not in the caller's scope), invalid_argument
  // (clip_id and asset_id disagree), failed_precondition (no summary yet; details.reason
  // "video_regions_missing").
  Result<AnonymiseOutcome> anonymise_faces(const RequestContext& ctx,
                                           const AnonymiseRequest& request);

 private:
  MediaService& media_;
  TimelineService& timeline_;
  RegionServiceOptions options_;
  AnalysisArtifacts artifacts_;
  BackendRegistry registry_;
};

}  // namespace atomcut

// VisualMetaService: the visual meta atom (spec "Visual Meta Engine", "Phase V01") on Media v2:
// POST /video/visual-meta/analyze, GET /video/visual-meta/{artifact_id},
// GET /video/visual-meta/by-clip/{clip_id}, POST /video/visual-meta/reframe-suggestion.
//
// Backends (BackendRegistry atom "visual_meta"): "signal" (the default: engines/video/visual_meta,
// one decode pass: shot detector on every frame, faces + motion/salient regions on the samples)
// and "stub" (visual_meta_stub_v1: a deterministic wobble, meta.stub = true). The default is
// VIDEO_VISUAL_META_BACKEND when set; a request may name `backend`.
//
// Cache: meta.cache_key joins tenant, env, asset, source artifact, sample_interval_ms,
// include_labels, detect_shot_boundaries and the backend's version; an identical request returns
// the existing artifact (cache_hit) and decodes nothing.
//
// The stored document is the VisualMetaSummary (engines/video/visual_meta.h) plus source_width /
// source_height (display size); its artifact_id is the SOURCE artifact analysed (null for the
// asset itself); the visual_meta artifact's own id is returned as visual_meta_artifact_id.
//
// Free of HTTP types. Thread safe.
#pragma once

#include "core/error.h"
#include "core/request_context.h"
#include "engines/media/analysis_support.h"
#include "engines/media/media_service.h"
#include "engines/timeline/timeline_service.h"
#include "engines/video/reframe.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace atomcut {

struct VisualMetaServiceOptions {
  std::string default_backend;       // VIDEO_VISUAL_META_BACKEND; empty = the built-in default
  double min_face_confidence = 0.5;  // VIDEO_REGIONS_MIN_CONFIDENCE: faces below are not subjects
};

// POST /video/visual-meta/analyze. Unknown fields are refused (tenant_id/env/user_id are the
// request context's).
struct VisualMetaAnalyzeRequest {
  std::string asset_id;  // may be empty when artifact_id is given
  std::optional<std::string> artifact_id;
  int64_t sample_interval_ms = 500;  // 40..60000
  bool include_labels = true;        // false: subjects[] left empty (centres, motion, shots kept)
  bool detect_shot_boundaries = true;
  std::optional<std::string> backend;  // "signal" | "stub" | "default"
};

// POST /video/visual-meta/reframe-suggestion.
struct ReframeSuggestionRequest {
  std::string clip_id;
  ReframeAspect target_aspect_ratio = ReframeAspect::k9x16;  // required
  FramingStyle framing_style = FramingStyle::kCenter;
  std::optional<std::string> visual_meta_artifact_id;  // default: the newest for the clip's source
  bool analyze_if_missing = true;  // false: failed_precondition when there is no visual_meta
};

Result<VisualMetaAnalyzeRequest> visual_meta_analyze_request_from_json(const nlohmann::json& j);
Result<ReframeSuggestionRequest> reframe_suggestion_request_from_json(const nlohmann::json& j);

struct VisualMetaOutput {
  DerivedArtifact artifact;
  bool cache_hit = false;
  nlohmann::json summary = nlohmann::json::object();  // counts for the response
};

class VisualMetaService {
 public:
  VisualMetaService(MediaService& media, TimelineService& timeline,
                    VisualMetaServiceOptions options);
  ~VisualMetaService();

  Result<VisualMetaOutput> analyze(const RequestContext& ctx, const VisualMetaAnalyzeRequest& q);
  // The stored summary with visual_meta_artifact_id, uri and meta. not_found for another kind.
  Result<nlohmann::json> get(const Scope& scope, const std::string& artifact_id);
  // The summary sliced to the clip's window [in_ms, out_ms), clip-relative ms ((t - in) / speed;
  // source_timestamp_ms kept). `artifact_id` picks the visual_meta, else the newest for the
  // clip's source. not_found when the clip's asset has none.
  Result<nlohmann::json> by_clip(const Scope& scope, const std::string& clip_id,
                                 const std::optional<std::string>& artifact_id);
  // {clip_id, automation[], meta}. Uses the newest visual_meta of the clip's source, analysing it
  // first (default request) when there is none and analyze_if_missing.
  Result<nlohmann::json> reframe_suggestion(const RequestContext& ctx,
                                            const ReframeSuggestionRequest& q);

  std::vector<BackendInfo> backends() const;

 private:
  Result<DerivedArtifact> pick_meta(const Scope& scope, const ClipSource& clip,
                                    const std::optional<std::string>& artifact_id);

  MediaService& media_;
  TimelineService& timeline_;
  VisualMetaServiceOptions options_;
  AnalysisArtifacts artifacts_;
  BackendRegistry registry_;
};

}  // namespace atomcut

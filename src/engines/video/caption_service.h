// CaptionService: captions from speech (spec "Phase V01": POST /video/captions/generate,
// GET /video/captions/{artifact_id}/srt and /vtt) through the ASR atom, and auto masks
// (spec "Video Quality vNext", "Example flows / Mask generation": POST /video/masks/auto,
// GET /video/masks/{artifact_id}).
//
// Captions: generate() runs the ASR atom (AudioService::asr, which applies its own cache rule) on
// the asset, or on a clip's source, and answers with the asr_transcript artifact and the URLs of
// its subtitles; srt()/vtt() read that transcript's words and lay them out with build_captions()
// (captions.h), for the whole media or cut to a clip's window in clip-relative time.
//
// Masks: auto_mask() decodes the frame shown at timestamp_ms, cuts the prompted object out with
// segment_object() (auto_mask.h) and registers an L-mode PNG `mask` artifact of the asset with
// meta {mask_type, feather_radius, selection_hash, point/stroke counts, coverage, backend_version,
// model_used, cache_key, ...}; an identical request returns the same artifact.
//
// Free of HTTP types. Thread safe.
#pragma once

#include "core/error.h"
#include "core/request_context.h"
#include "engines/audio/audio_service.h"
#include "engines/media/analysis_support.h"
#include "engines/media/media_service.h"
#include "engines/timeline/timeline_service.h"
#include "engines/video/auto_mask.h"
#include "engines/video/captions.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace atomcut {

struct CaptionServiceOptions {
  std::string default_backend;  // VIDEO_CAPTIONS_BACKEND; empty = pocketsphinx
};

// POST /video/captions/generate: {asset_id | clip_id, language?, backend?}.
struct CaptionRequest {
  std::string asset_id;                // empty when clip_id is given
  std::optional<std::string> clip_id;  // its asset (and artifact) is the source
  std::string language = "en";         // en | en-us
  std::optional<std::string> backend;  // pocketsphinx | stub; null: the configured default
};

// Strict: wrong types, unknown backends' shapes, a missing source are invalid_argument naming the
// field. (Whether a backend exists is the service's business.)
Result<CaptionRequest> caption_request_from_json(const nlohmann::json& j);

struct CaptionResult {
  DerivedArtifact transcript;  // the asr_transcript artifact
  bool cache_hit = false;
  // {artifact_id, asset_id, clip_id?, kind, uri, meta, cue_count, word_count, srt_url, vtt_url,
  //  cache_hit}
  nlohmann::json body;
};

enum class CaptionFormat { kSrt, kVtt };

class CaptionService {
 public:
  CaptionService(MediaService& media, TimelineService& timeline, AudioService& audio,
                 CaptionServiceOptions options);
  ~CaptionService();

  // Errors: not_found (asset, clip or artifact not in the caller's scope), invalid_argument
  // (details.reason "no_audio_stream" for media without sound; unknown backend),
  // failed_precondition (backend unavailable here).
  Result<CaptionResult> generate(const RequestContext& ctx, const CaptionRequest& q);

  // The subtitles of the asr_transcript `artifact_id`: the whole media, or only what is said in the
  // window of `clip_id` (times relative to the clip's start on the timeline, speed applied).
  // not_found for a missing artifact, one of another kind or tenant; invalid_argument when the
  // clip's source is not the transcript's.
  Result<std::string> render(const Scope& scope, const std::string& artifact_id,
                             const std::optional<std::string>& clip_id, CaptionFormat format);
  Result<std::string> srt(const Scope& scope, const std::string& artifact_id,
                          const std::optional<std::string>& clip_id) {
    return render(scope, artifact_id, clip_id, CaptionFormat::kSrt);
  }
  Result<std::string> vtt(const Scope& scope, const std::string& artifact_id,
                          const std::optional<std::string>& clip_id) {
    return render(scope, artifact_id, clip_id, CaptionFormat::kVtt);
  }

  std::vector<BackendInfo> backends() const;

 private:
  // The cues of a transcript (see render()).
  Result<std::vector<CaptionCue>> cues_of(const Scope& scope, const std::string& artifact_id,
                                          const std::optional<std::string>& clip_id);

  MediaService& media_;
  TimelineService& timeline_;
  AudioService& audio_;
  CaptionServiceOptions options_;
  AnalysisArtifacts artifacts_;
  BackendRegistry registry_;
};

// POST /video/masks/auto.
struct MaskRequest {
  std::string asset_id;
  std::optional<std::string> artifact_id;  // a picture or video artifact of the asset to use
  int64_t timestamp_ms = 0;                // on the source's timeline, >= 0
  MaskPrompt prompt;
  int feather_radius = 0;              // px, 0..100
  std::string mask_type = "object";    // object | person | face | region | background | custom
  std::optional<std::string> backend;  // grabcut | stub
};

Result<MaskRequest> mask_request_from_json(const nlohmann::json& j);

struct MaskResult {
  DerivedArtifact artifact;
  bool cache_hit = false;
  nlohmann::json body;  // {artifact_id, asset_id, kind, uri, content_url, meta, cache_hit, ...}
};

class MaskService {
 public:
  explicit MaskService(MediaService& media);
  ~MaskService();

  // Errors: not_found (asset or artifact not in scope), invalid_argument (details.field: the
  // prompt, timestamp_ms past the end of the video with reason "past_end", media without
  // pictures with reason "no_video_stream"), internal (segmentation failed).
  Result<MaskResult> auto_mask(const RequestContext& ctx, const MaskRequest& q);
  // {artifact_id, asset_id, kind, uri, content_url, start_ms, meta} of a `mask` artifact;
  // not_found for other kinds and other tenants.
  Result<nlohmann::json> get(const Scope& scope, const std::string& artifact_id);

  std::vector<BackendInfo> backends() const { return registry_.all(); }

 private:
  MediaService& media_;
  AnalysisArtifacts artifacts_;
  BackendRegistry registry_;
};

}  // namespace atomcut

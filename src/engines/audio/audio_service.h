// AudioService: the audio atoms (spec "HTTP Audio Service Atom", "Audio Semantic Timeline",
// "Voice Enhance Engine") on top of Media v2. Every call resolves its input in the caller's tenant
// and env (an asset, or one of its artifacts), runs an engine of engines/audio, and registers the
// output as a derived artifact of the input's asset with the spec's kind and meta.
//
// One cache rule for every atom: each output carries meta.cache_key, a deterministic string of the
// request's fields and the backend's version; a request whose key matches an existing artifact of
// the same kind on the same asset returns that artifact with cache_hit = true and runs nothing.
//
// Backends are chosen by name through one registry per atom (backends()); "stub" is always
// available, and runs (saying so in meta.backend_type) when a real backend's dependency is
// missing and no backend was named.
//
// Free of HTTP types. Thread safe.
#pragma once

#include "core/error.h"
#include "core/model/audio_requests.h"
#include "core/request_context.h"
#include "engines/audio/asr_pocketsphinx.h"
#include "engines/media/analysis_support.h"
#include "engines/media/media_service.h"
#include "engines/timeline/timeline_service.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace atomcut {

struct AudioServiceOptions {
  std::string asr_model_dir;  // empty: pocketsphinx-en-us's default location
  int ffmpeg_timeout_ms = 3600 * 1000;
};

// One registered (or reused) output.
struct AudioOutput {
  DerivedArtifact artifact;
  bool cache_hit = false;
  nlohmann::json summary = nlohmann::json::object();  // atom-specific fields for the response
};

struct AudioOutcome {
  std::vector<AudioOutput> outputs;
  bool all_cached() const;
};

// The timed words of an asr_transcript document (segments[].words[], or a top-level words[]);
// entries without a string "word" are skipped.
std::vector<AsrWord> asr_transcript_words(const nlohmann::json& transcript);

class AudioService {
 public:
  AudioService(MediaService& media, TimelineService& timeline, AudioServiceOptions options);
  ~AudioService();

  // POST /audio/ingest: `asset` was just registered by Media v2; an asset without sound is
  // deleted again and refused (invalid_argument, reason "no_audio_stream").
  Result<MediaAsset> check_ingested(const RequestContext& ctx, const MediaAsset& asset);

  Result<AudioOutcome> preprocess(const RequestContext& ctx, const AudioPreprocessRequest& q);
  Result<AudioOutcome> segment(const RequestContext& ctx, const AudioSegmentRequest& q);
  Result<AudioOutcome> beat_features(const RequestContext& ctx, const AudioBeatRequest& q);
  Result<AudioOutcome> asr(const RequestContext& ctx, const AudioAsrRequest& q);
  Result<AudioOutcome> align(const RequestContext& ctx, const AudioAlignRequest& q);
  Result<AudioOutcome> voice_enhance(const RequestContext& ctx, const VoiceEnhanceRequest& q);
  // {artifact_id, uri, meta} of an audio_voice_enhanced artifact.
  Result<nlohmann::json> get_voice_enhance(const Scope& scope, const std::string& artifact_id);

  Result<AudioOutcome> semantic_analyze(const RequestContext& ctx, const AudioSemanticRequest& q);
  // The stored AudioSemanticTimelineSummary, with artifact_id/uri.
  Result<nlohmann::json> semantic_get(const Scope& scope, const std::string& artifact_id);
  // The summary of the clip's media sliced to the clip's window, in clip-relative ms. Uses
  // `artifact_id` when given, else the newest audio_semantic_timeline artifact of the clip's
  // source (failed_precondition when there is none).
  Result<nlohmann::json> semantic_by_clip(const Scope& scope, const std::string& clip_id,
                                          const std::optional<std::string>& artifact_id);

  // Every backend of every atom, with versions and availability.
  std::vector<BackendInfo> backends() const;

 private:
  Result<AnalysisInput> resolve_audio(const Scope& scope, const AudioSourceRef& ref);
  Result<PocketsphinxAsr*> recognizer();
  Result<AudioOutput> asr_one(const RequestContext& ctx, const AnalysisInput& in,
                              const ChosenBackend& backend, const AudioAsrRequest& q);
  Result<AudioOutput> forced_align(const RequestContext& ctx, const AudioAlignRequest& q);
  Result<AudioOutput> bars(const RequestContext& ctx, const AudioAlignRequest& q);

  MediaService& media_;
  TimelineService& timeline_;
  AudioServiceOptions options_;
  AnalysisArtifacts artifacts_;
  BackendRegistry registry_;
  std::mutex asr_mu_;
  std::unique_ptr<PocketsphinxAsr> asr_;
  std::optional<Error> asr_error_;
};

}  // namespace atomcut

// The request bodies of the audio atoms (spec "HTTP Audio Service Atom", "Audio Semantic
// Timeline", "Voice Enhance Engine"), parsed strictly: a field of the wrong type or out of range
// is invalid_argument naming it. tenant_id / env / user_id in a body are the request context's
// business (http/), not these structs'.
#pragma once

#include "core/error.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace atomcut {

// One audio input: an asset, or one of its artifacts.
struct AudioSourceRef {
  std::string asset_id;                    // may be empty when artifact_id is given
  std::optional<std::string> artifact_id;  // the artifact's parent must be asset_id when both set
};

struct AudioPreprocessRequest {
  AudioSourceRef source;
  nlohmann::json
      ffmpeg_opts;  // named options (audio_processing's PreprocessOptions); null = defaults
  std::optional<std::string> backend;
};

struct AudioSegmentRequest {
  AudioSourceRef source;
  double segment_seconds = 0;  // required
  double overlap_seconds = 0;
};

// `asset_id` (one) or `artifact_ids[]` (several) for beat-features; `asset_ids[]` and/or
// `artifact_ids[]` (or a single asset_id) for asr.
struct AudioBeatRequest {
  std::vector<AudioSourceRef> sources;
  int beats_per_bar = 4;  // 1..16
  double min_bpm = 60;    // 20..400, < max_bpm
  double max_bpm = 200;
  std::optional<std::string> backend;
};

struct AudioAsrRequest {
  std::vector<AudioSourceRef> sources;
  std::optional<std::string> model_name;  // a backend name ("pocketsphinx", "stub") or null
  std::string device = "cpu";             // cpu | auto
  std::optional<std::string> compute_type;
  std::string language = "en";  // en | en-us
};

// POST /audio/align: the spec's form (asr_artifact_ids + beat_meta -> bars) or forced alignment
// (asset_id + text -> word timings).
struct AudioAlignRequest {
  std::vector<std::string> asr_artifact_ids;
  nlohmann::json beat_meta;  // null, {"artifact_id": ...} or {"bpm", "beats_ms", "downbeats_ms"}
  std::optional<AudioSourceRef> source;  // forced alignment
  std::optional<std::string> text;       // forced alignment
  bool forced() const { return text.has_value(); }
};

struct VoiceEnhanceRequest {
  AudioSourceRef source;
  std::string mode = "default";  // default | podcast | vlog | phone_recording
  std::optional<std::string> target_speaker_id;
  double aggressiveness = 0.5;  // 0..1
  bool preserve_ambience = false;
  std::optional<std::string> backend;
};

struct AudioSemanticRequest {
  AudioSourceRef source;
  bool include_beats = true;
  bool include_speech_music = true;
  bool include_transcription = false;  // beyond the spec: pocketsphinx text on speech events
  int64_t min_silence_ms = 300;        // 0..600000
  int64_t loudness_window_ms = 1000;   // 100..600000
  std::optional<std::string> backend;
};

Result<AudioPreprocessRequest> audio_preprocess_request_from_json(const nlohmann::json& j);
Result<AudioSegmentRequest> audio_segment_request_from_json(const nlohmann::json& j);
Result<AudioBeatRequest> audio_beat_request_from_json(const nlohmann::json& j);
Result<AudioAsrRequest> audio_asr_request_from_json(const nlohmann::json& j);
Result<AudioAlignRequest> audio_align_request_from_json(const nlohmann::json& j);
Result<VoiceEnhanceRequest> voice_enhance_request_from_json(const nlohmann::json& j);
Result<AudioSemanticRequest> audio_semantic_request_from_json(const nlohmann::json& j);

}  // namespace atomcut

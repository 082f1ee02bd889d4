#include "core/model/audio_requests.h"

#include "core/model/timeline_record.h"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <string_view>

namespace atomcut {

namespace {

constexpr size_t kMaxSources = 100;
constexpr size_t kMaxTextBytes = 100000;

Status reader_status(FieldReader& r) {
  if (!r.ok()) return r.take_error();
  return {};
}

Error need_source(const char* record, std::string_view fields) {
  return field_error(record, "asset_id", fmt::format("is required (or give {})", fields));
}

// asset_id + optional artifact_id of one source.
Result<AudioSourceRef> single_source(FieldReader& r, const char* record) {
  AudioSourceRef s;
  s.asset_id = r.str("asset_id");
  s.artifact_id = r.opt_str("artifact_id");
  ATOMCUT_TRY(reader_status(r));
  if (s.asset_id.empty() && !s.artifact_id) return need_source(record, "artifact_id");
  return s;
}

Status check_ids(const char* record, const char* field, const std::vector<std::string>& ids) {
  if (ids.size() > kMaxSources) {
    return field_error(record, field, fmt::format("may list at most {} ids", kMaxSources),
                       {{"count", ids.size()}});
  }
  for (const auto& id : ids) {
    if (id.empty()) return field_error(record, field, "must not contain empty ids");
  }
  return {};
}

Status refuse_output_dir(const nlohmann::json& j, const char* record) {
  if (j.is_object() && j.contains("output_dir") && !j["output_dir"].is_null()) {
    return field_error(record, "output_dir",
                       "is not accepted: outputs are stored in the media store and returned as "
                       "artifacts (uri)");
  }
  return {};
}

std::optional<std::string> backend_field(FieldReader& r) { return r.opt_str("backend"); }

}  // namespace

Result<AudioPreprocessRequest> audio_preprocess_request_from_json(const nlohmann::json& j) {
  constexpr const char* kRec = "audio_preprocess";
  ATOMCUT_TRY(refuse_output_dir(j, kRec));
  FieldReader r(j, kRec);
  AudioPreprocessRequest q;
  ATOMCUT_ASSIGN_OR_RETURN(q.source, single_source(r, kRec));
  if (j.contains("ffmpeg_opts") && !j["ffmpeg_opts"].is_null()) {
    if (!j["ffmpeg_opts"].is_object()) {
      return field_error(kRec, "ffmpeg_opts",
                         "must be a JSON object of named options (raw ffmpeg arguments are not "
                         "accepted)");
    }
    q.ffmpeg_opts = j["ffmpeg_opts"];
  }
  q.backend = backend_field(r);
  ATOMCUT_TRY(reader_status(r));
  return q;
}

Result<AudioSegmentRequest> audio_segment_request_from_json(const nlohmann::json& j) {
  constexpr const char* kRec = "audio_segment";
  ATOMCUT_TRY(refuse_output_dir(j, kRec));
  FieldReader r(j, kRec);
  AudioSegmentRequest q;
  ATOMCUT_ASSIGN_OR_RETURN(q.source, single_source(r, kRec));
  if (!j.contains("segment_seconds") || j["segment_seconds"].is_null()) {
    return field_error(kRec, "segment_seconds", "is required");
  }
  q.segment_seconds = r.num("segment_seconds");
  q.overlap_seconds = r.num("overlap_seconds", 0);
  ATOMCUT_TRY(reader_status(r));
  return q;
}

Result<AudioBeatRequest> audio_beat_request_from_json(const nlohmann::json& j) {
  constexpr const char* kRec = "audio_beat_features";
  FieldReader r(j, kRec);
  AudioBeatRequest q;
  std::string asset_id = r.str("asset_id");
  auto artifact_id = r.opt_str("artifact_id");
  auto artifact_ids = r.str_list("artifact_ids");
  q.beats_per_bar = static_cast<int>(r.i64("beats_per_bar", 4));
  q.min_bpm = r.num("min_bpm", 60);
  q.max_bpm = r.num("max_bpm", 200);
  q.backend = backend_field(r);
  ATOMCUT_TRY(reader_status(r));
  ATOMCUT_TRY(check_ids(kRec, "artifact_ids", artifact_ids));
  if (!asset_id.empty() || artifact_id) q.sources.push_back({asset_id, artifact_id});
  for (auto& id : artifact_ids) q.sources.push_back({"", id});
  if (q.sources.empty()) return need_source(kRec, "artifact_ids[]");
  Checker c(kRec);
  c.in_range("beats_per_bar", q.beats_per_bar, 1, 16);
  c.in_range("min_bpm", q.min_bpm, 20, 400);
  c.in_range("max_bpm", q.max_bpm, 20, 400);
  c.check(q.min_bpm < q.max_bpm, "min_bpm", "must be less than max_bpm");
  ATOMCUT_TRY(c.status());
  return q;
}

Result<AudioAsrRequest> audio_asr_request_from_json(const nlohmann::json& j) {
  constexpr const char* kRec = "audio_asr";
  FieldReader r(j, kRec);
  AudioAsrRequest q;
  std::string asset_id = r.str("asset_id");
  auto asset_ids = r.str_list("asset_ids");
  auto artifact_ids = r.str_list("artifact_ids");
  q.model_name = r.opt_str("model_name");
  if (!q.model_name) q.model_name = r.opt_str("backend");
  q.device = r.str("device", "cpu");
  q.compute_type = r.opt_str("compute_type");
  q.language = r.str("language", "en");
  ATOMCUT_TRY(reader_status(r));
  ATOMCUT_TRY(check_ids(kRec, "asset_ids", asset_ids));
  ATOMCUT_TRY(check_ids(kRec, "artifact_ids", artifact_ids));
  if (!asset_id.empty()) q.sources.push_back({asset_id, std::nullopt});
  for (auto& id : asset_ids) q.sources.push_back({id, std::nullopt});
  for (auto& id : artifact_ids) q.sources.push_back({"", id});
  if (q.sources.empty()) return need_source(kRec, "asset_ids[] or artifact_ids[]");
  if (q.sources.size() > kMaxSources) {
    return field_error(kRec, "asset_ids", fmt::format("at most {} inputs per call", kMaxSources));
  }
  if (q.device != "cpu" && q.device != "auto") {
    return Error::invalid_argument(
        fmt::format("audio_asr.device '{}' is not available: this build recognises speech on the "
                    "CPU only (use \"cpu\" or \"auto\")",
                    q.device),
        {{"field", "device"}, {"available", {"cpu", "auto"}}});
  }
  static constexpr std::array<std::string_view, 8> kComputeTypes = {
      "default", "auto", "float32", "float16", "int8", "int8_float16", "int16", "int8_float32"};
  if (q.compute_type) {
    bool known = false;
    for (auto t : kComputeTypes) known = known || t == *q.compute_type;
    if (!known) {
      return field_error(kRec, "compute_type",
                         fmt::format("must be one of {}", join_names(kComputeTypes)));
    }
  }
  if (q.language != "en" && q.language != "en-us" && q.language != "en-US") {
    return Error::invalid_argument(
        fmt::format("audio_asr.language '{}' has no installed model (pocketsphinx-en-us: \"en\")",
                    q.language),
        {{"field", "language"}, {"available", {"en"}}});
  }
  q.language = "en";
  return q;
}

Result<AudioAlignRequest> audio_align_request_from_json(const nlohmann::json& j) {
  constexpr const char* kRec = "audio_align";
  FieldReader r(j, kRec);
  AudioAlignRequest q;
  q.asr_artifact_ids = r.str_list("asr_artifact_ids");
  q.text = r.opt_str("text");
  std::string asset_id = r.str("asset_id");
  auto artifact_id = r.opt_str("artifact_id");
  ATOMCUT_TRY(reader_status(r));
  ATOMCUT_TRY(check_ids(kRec, "asr_artifact_ids", q.asr_artifact_ids));
  if (j.contains("beat_meta") && !j["beat_meta"].is_null()) {
    if (!j["beat_meta"].is_object()) return field_error(kRec, "beat_meta", "must be a JSON object");
    q.beat_meta = j["beat_meta"];
  }
  if (q.text) {
    if (!q.asr_artifact_ids.empty()) {
      return field_error(kRec, "text",
                         "cannot be combined with asr_artifact_ids (give asset_id + text for "
                         "forced alignment, or asr_artifact_ids for bars)");
    }
    if (q.text->size() > kMaxTextBytes) {
      return field_error(kRec, "text", fmt::format("must be at most {} bytes", kMaxTextBytes));
    }
    if (asset_id.empty() && !artifact_id) return need_source(kRec, "artifact_id");
    q.source = AudioSourceRef{asset_id, artifact_id};
    return q;
  }
  if (q.asr_artifact_ids.empty()) {
    return field_error(kRec, "asr_artifact_ids",
                       "is required (or give asset_id and text for forced alignment)");
  }
  return q;
}

Result<VoiceEnhanceRequest> voice_enhance_request_from_json(const nlohmann::json& j) {
  constexpr const char* kRec = "voice_enhance";
  FieldReader r(j, kRec);
  VoiceEnhanceRequest q;
  ATOMCUT_ASSIGN_OR_RETURN(q.source, single_source(r, kRec));
  q.mode = r.str("mode", "default");
  q.target_speaker_id = r.opt_str("target_speaker_id");
  q.aggressiveness = r.num("aggressiveness", 0.5);
  q.preserve_ambience = r.boolean("preserve_ambience", false);
  q.backend = backend_field(r);
  ATOMCUT_TRY(reader_status(r));
  static constexpr std::array<std::string_view, 4> kModes = {"default", "podcast", "vlog",
                                                             "phone_recording"};
  bool known = false;
  for (auto m : kModes) known = known || m == q.mode;
  Checker c(kRec);
  c.check_lazy(known, "mode", [&] { return fmt::format("must be one of {}", join_names(kModes)); });
  c.in_range("aggressiveness", q.aggressiveness, 0, 1);
  if (q.target_speaker_id) c.name("target_speaker_id", *q.target_speaker_id, true);
  ATOMCUT_TRY(c.status());
  return q;
}

Result<AudioSemanticRequest> audio_semantic_request_from_json(const nlohmann::json& j) {
  constexpr const char* kRec = "audio_semantic";
  FieldReader r(j, kRec);
  AudioSemanticRequest q;
  ATOMCUT_ASSIGN_OR_RETURN(q.source, single_source(r, kRec));
  q.include_beats = r.boolean("include_beats", true);
  q.include_speech_music = r.boolean("include_speech_music", true);
  q.include_transcription = r.boolean("include_transcription", false);
  q.min_silence_ms = r.i64("min_silence_ms", 300);
  q.loudness_window_ms = r.i64("loudness_window_ms", 1000);
  q.backend = backend_field(r);
  ATOMCUT_TRY(reader_status(r));
  Checker c(kRec);
  c.in_range("min_silence_ms", static_cast<double>(q.min_silence_ms), 0, 600000);
  c.in_range("loudness_window_ms", static_cast<double>(q.loudness_window_ms), 100, 600000);
  ATOMCUT_TRY(c.status());
  return q;
}

}  // namespace atomcut

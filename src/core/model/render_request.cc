#include "core/model/render_request.h"

#include <fmt/format.h>

#include <cmath>
#include <set>
#include <string>

namespace atomcut {

namespace {

// Reads an array of records with `parse`, naming the element in errors
// ("sequence_snapshot.clips[2]").
template <typename T, typename Parse>
Status read_records(const nlohmann::json& snap, const char* field, Parse parse,
                    std::vector<T>& out) {
  auto it = snap.find(field);
  if (it == snap.end() || it->is_null()) return {};
  if (!it->is_array()) {
    return field_error("render_request", fmt::format("sequence_snapshot.{}", field),
                       "must be an array");
  }
  for (size_t i = 0; i < it->size(); ++i) {
    auto rec = parse((*it)[i]);
    if (!rec.ok()) {
      Error e = rec.take_error();
      const std::string at = fmt::format("sequence_snapshot.{}[{}]", field, i);
      e.message = at + ": " + e.message;
      e.details["field"] = at + "." + e.details.value("field", std::string());
      return e;
    }
    out.push_back(std::move(rec).value());
  }
  return {};
}

Result<SequenceSnapshot> snapshot_from_json(const nlohmann::json& j) {
  if (!j.is_object()) {
    return field_error("render_request", "sequence_snapshot", "must be a JSON object");
  }
  SequenceSnapshot s;
  auto seq = j.find("sequence");
  nlohmann::json seq_json = (seq != j.end() && seq->is_object()) ? *seq : nlohmann::json::object();
  if (seq != j.end() && !seq->is_null() && !seq->is_object()) {
    return field_error("render_request", "sequence_snapshot.sequence", "must be a JSON object");
  }
  if (!seq_json.contains("project_id")) seq_json["project_id"] = "inline";
  if (!seq_json.contains("name")) seq_json["name"] = "inline";
  if (!seq_json.contains("id")) seq_json["id"] = "seq_inline";
  auto sequence = sequence_from_json(seq_json);
  if (!sequence.ok()) return sequence.take_error();
  s.sequence = std::move(sequence).value();
  ATOMCUT_TRY(read_records(j, "tracks", track_from_json, s.tracks));
  ATOMCUT_TRY(read_records(j, "clips", clip_from_json, s.clips));
  ATOMCUT_TRY(read_records(j, "transitions", transition_from_json, s.transitions));
  ATOMCUT_TRY(read_records(j, "filter_stacks", filter_stack_from_json, s.filter_stacks));
  for (auto& t : s.tracks) {
    if (t.sequence_id.empty()) t.sequence_id = s.sequence.id;
  }
  for (auto& t : s.transitions) {
    if (t.sequence_id.empty()) t.sequence_id = s.sequence.id;
  }
  return s;
}

Status validate_snapshot(const SequenceSnapshot& s) {
  auto prefixed = [](Status st, const std::string& at) -> Status {
    if (st.ok()) return st;
    Error e = st.error();
    e.message = at + ": " + e.message;
    return e;
  };
  ATOMCUT_TRY(prefixed(validate(s.sequence), "sequence_snapshot.sequence"));
  std::set<std::string> track_ids, clip_ids;
  for (size_t i = 0; i < s.tracks.size(); ++i) {
    const std::string at = fmt::format("sequence_snapshot.tracks[{}]", i);
    ATOMCUT_TRY(prefixed(validate(s.tracks[i]), at));
    if (s.tracks[i].id.empty() || !track_ids.insert(s.tracks[i].id).second) {
      return field_error("render_request", at + ".id", "must be present and unique");
    }
  }
  for (size_t i = 0; i < s.clips.size(); ++i) {
    const std::string at = fmt::format("sequence_snapshot.clips[{}]", i);
    ATOMCUT_TRY(prefixed(validate(s.clips[i]), at));
    if (s.clips[i].id.empty() || !clip_ids.insert(s.clips[i].id).second) {
      return field_error("render_request", at + ".id", "must be present and unique");
    }
    if (!track_ids.count(s.clips[i].track_id)) {
      return field_error(
          "render_request", at + ".track_id",
          fmt::format("('{}') is not a track of the snapshot", s.clips[i].track_id.substr(0, 64)));
    }
  }
  for (size_t i = 0; i < s.transitions.size(); ++i) {
    const std::string at = fmt::format("sequence_snapshot.transitions[{}]", i);
    const Transition& t = s.transitions[i];
    ATOMCUT_TRY(prefixed(validate(t), at));
    if (!clip_ids.count(t.from_clip_id) || !clip_ids.count(t.to_clip_id)) {
      return field_error("render_request", at,
                         "must join two clips of the snapshot (from_clip_id, to_clip_id)");
    }
  }
  for (size_t i = 0; i < s.filter_stacks.size(); ++i) {
    ATOMCUT_TRY(prefixed(validate(s.filter_stacks[i]),
                         fmt::format("sequence_snapshot.filter_stacks[{}]", i)));
  }
  return {};
}

// Text a watermark may contain: letters, digits, spaces and punctuation that has no meaning in
// an ffmpeg filter graph (no quotes, backslashes, colons, commas, semicolons, brackets, %).
bool safe_watermark_char(unsigned char c) {
  if (c >= 0x80) return true;  // UTF-8 sequences (validated as JSON strings already)
  if (std::isalnum(c) || c == ' ') return true;
  return std::string_view(".-_!?@#&()+/*=~^|<>$").find(static_cast<char>(c)) !=
         std::string_view::npos;
}

}  // namespace

Result<RenderRequest> render_request_from_json(const nlohmann::json& j) {
  FieldReader r(j, "render_request");
  RenderRequest q;
  q.tenant_id = r.str("tenant_id");
  q.env = r.str("env");
  q.user_id = r.opt_str("user_id");
  q.project_id = r.opt_str("project_id");
  q.sequence_id = r.opt_str("sequence_id");
  q.render_profile = r.opt_str("render_profile");
  q.output_path = r.opt_str("output_path");
  q.storage = r.enumeration("storage", kStorageTargetNames, q.storage);
  q.audio_mixdown = r.enumeration("audio_mixdown", kAudioMixdownNames, q.audio_mixdown);
  q.normalize_audio = r.boolean("normalize_audio", q.normalize_audio);
  q.use_voice_enhanced_audio = r.boolean("use_voice_enhanced_audio", false);
  q.voice_enhance_mode = r.opt_str("voice_enhance_mode");
  q.voice_enhance_if_available_only = r.boolean("voice_enhance_if_available_only", true);
  q.target_loudness_lufs = r.num("target_loudness_lufs", q.target_loudness_lufs);
  if (j.is_object() && j.contains("start_ms") && !j["start_ms"].is_null()) {
    q.start_ms = r.i64("start_ms");
  }
  if (j.is_object() && j.contains("end_ms") && !j["end_ms"].is_null()) q.end_ms = r.i64("end_ms");
  if (j.is_object() && j.contains("timeout_ms") && !j["timeout_ms"].is_null()) {
    q.timeout_ms = r.i64("timeout_ms");
  }
  if (auto w = r.child("watermark")) {
    Watermark wm;
    wm.text = w->opt_str("text");
    wm.asset_id = w->opt_str("asset_id");
    wm.position = w->enumeration("position", kWatermarkPositionNames, wm.position);
    wm.opacity = w->num("opacity", wm.opacity);
    wm.size = w->num("size", wm.size);
    wm.margin_px = w->i64("margin_px", wm.margin_px);
    if (!w->ok()) r.absorb(w->take_error());
    q.watermark = wm;
  }
  if (!r.ok()) return r.take_error();
  if (j.contains("sequence_snapshot") && !j["sequence_snapshot"].is_null()) {
    ATOMCUT_ASSIGN_OR_RETURN(q.sequence_snapshot, snapshot_from_json(j["sequence_snapshot"]));
  }
  return q;
}

Status validate(const RenderRequest& q) {
  Checker k("render_request");
  if (q.project_id && q.sequence_snapshot) {
    k.check(false, "sequence_snapshot", "cannot be combined with project_id: send one of them");
  }
  k.check(q.project_id || q.sequence_snapshot, "project_id",
          "is required (or an inline sequence_snapshot)");
  if (q.project_id) k.id("project_id", *q.project_id, true);
  if (q.sequence_id) k.id("sequence_id", *q.sequence_id, true);
  if (q.start_ms) {
    k.check_lazy(*q.start_ms >= 0 && *q.start_ms < kMaxRenderWindowMs, "start_ms", [&] {
      return fmt::format("({}) must be in [0, {})", *q.start_ms, kMaxRenderWindowMs);
    });
  }
  if (q.end_ms) {
    k.check_lazy(*q.end_ms > 0 && *q.end_ms <= kMaxRenderWindowMs, "end_ms", [&] {
      return fmt::format("({}) must be in (0, {}]", *q.end_ms, kMaxRenderWindowMs);
    });
  }
  if (q.start_ms && q.end_ms) {
    k.check_lazy(*q.start_ms < *q.end_ms, "end_ms", [&] {
      return fmt::format("({}) must be after start_ms ({})", *q.end_ms, *q.start_ms);
    });
  }
  k.check_lazy(std::isfinite(q.target_loudness_lufs) &&
                   q.target_loudness_lufs >= kMinTargetLoudnessLufs &&
                   q.target_loudness_lufs <= kMaxTargetLoudnessLufs,
               "target_loudness_lufs", [&] {
                 return fmt::format("({}) must be in [{}, {}] LUFS", q.target_loudness_lufs,
                                    kMinTargetLoudnessLufs, kMaxTargetLoudnessLufs);
               });
  if (q.voice_enhance_mode) {
    const std::string& m = *q.voice_enhance_mode;
    k.check(m == "default" || m == "podcast" || m == "vlog" || m == "phone_recording",
            "voice_enhance_mode", "must be one of default|podcast|vlog|phone_recording");
  }
  if (q.timeout_ms) {
    k.check_lazy(*q.timeout_ms >= 1000 && *q.timeout_ms <= kMaxRenderWindowMs, "timeout_ms", [&] {
      return fmt::format("({}) must be in [1000, {}]", *q.timeout_ms, kMaxRenderWindowMs);
    });
  }
  if (q.output_path) {
    const std::string& p = *q.output_path;
    bool plain = !p.empty() && p.size() <= 200 && p != "." && p != ".." &&
                 p.find_first_of("/\\") == std::string::npos && p.find('\0') == std::string::npos;
    k.check(plain, "output_path",
            "must be a plain file name such as 'trailer.mp4' (the file is stored under the new "
            "asset's folder; paths are not accepted)");
  }
  if (q.watermark) {
    const Watermark& w = *q.watermark;
    k.check(w.text.has_value() != w.asset_id.has_value(), "watermark",
            "needs exactly one of text or asset_id");
    if (w.text) {
      bool safe = !w.text->empty() && w.text->size() <= 100;
      for (unsigned char c : *w.text) safe = safe && safe_watermark_char(c);
      k.check(safe, "watermark.text",
              "must be 1..100 characters of letters, digits, spaces and .-_!?@#&()+/*=~^|<>$ "
              "(quotes, backslashes, colons, commas, semicolons, brackets and % are refused)");
    }
    if (w.asset_id) k.id("watermark.asset_id", *w.asset_id, true);
    k.in_range("watermark.opacity", w.opacity, 0.0, 1.0);
    k.in_range("watermark.size", w.size, 0.01, 1.0);
    k.check(w.margin_px >= 0 && w.margin_px <= 1000, "watermark.margin_px", "must be in [0, 1000]");
  }
  ATOMCUT_TRY(k.status());
  if (q.sequence_snapshot) ATOMCUT_TRY(validate_snapshot(*q.sequence_snapshot));
  return {};
}

nlohmann::json to_json(const Watermark& w) {
  nlohmann::json j;
  j["text"] = w.text ? nlohmann::json(*w.text) : nlohmann::json(nullptr);
  j["asset_id"] = w.asset_id ? nlohmann::json(*w.asset_id) : nlohmann::json(nullptr);
  j["position"] = enum_name(kWatermarkPositionNames, w.position);
  j["opacity"] = w.opacity;
  j["size"] = w.size;
  j["margin_px"] = w.margin_px;
  return j;
}

nlohmann::json to_json(const SequenceSnapshot& s) {
  nlohmann::json j;
  j["sequence"] = to_json(s.sequence);
  auto list = [](const auto& v) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& x : v) a.push_back(to_json(x));
    return a;
  };
  j["tracks"] = list(s.tracks);
  j["clips"] = list(s.clips);
  j["transitions"] = list(s.transitions);
  j["filter_stacks"] = list(s.filter_stacks);
  return j;
}

}  // namespace atomcut

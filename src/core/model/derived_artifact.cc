#include "core/model/derived_artifact.h"

#include "core/time_util.h"

#include <algorithm>
#include <array>

namespace atomcut {

namespace {
constexpr std::array<std::string_view, 22> kKinds = {
    "audio_segment",
    "frame",
    "stem",
    "mask",
    "render",
    "render_segment",
    "audio_clean",
    "asr_transcript",
    "bars",
    "beat_features",
    "visual_meta",
    "video_region_summary",
    "audio_voice_enhanced",
    "audio_semantic_timeline",
    "video_proxy",
    "video_proxy_360p",
    "captions",
    "thumbnail",
    "waveform",
    "lut",
    "shot_list",
    "other",
};

template <typename T>
std::optional<T> get_opt(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  return it->get<T>();
}
}  // namespace

std::span<const std::string_view> artifact_kinds() { return kKinds; }

bool is_known_artifact_kind(std::string_view kind) {
  return std::find(kKinds.begin(), kKinds.end(), kind) != kKinds.end();
}

nlohmann::json to_json(const DerivedArtifact& a) {
  auto opt_i = [](const std::optional<int64_t>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
  };
  nlohmann::json j;
  j["id"] = a.id;
  j["artifact_id"] = a.id;
  j["parent_asset_id"] = a.parent_asset_id;
  j["tenant_id"] = a.tenant_id;
  j["env"] = a.env;
  j["user_id"] = a.user_id ? nlohmann::json(*a.user_id) : nlohmann::json(nullptr);
  j["kind"] = a.kind;
  j["uri"] = a.uri;
  j["start_ms"] = opt_i(a.start_ms);
  j["end_ms"] = opt_i(a.end_ms);
  j["track_label"] = a.track_label ? nlohmann::json(*a.track_label) : nlohmann::json(nullptr);
  j["meta"] = a.meta;
  j["created_at"] = format_rfc3339_ms(a.created_at_ms);
  j["size_bytes"] = a.size_bytes;
  j["content_type"] = a.content_type;
  return j;
}

nlohmann::json to_record_json(const DerivedArtifact& a) {
  nlohmann::json j = to_json(a);
  j["created_at_ms"] = a.created_at_ms;
  j["storage_key"] = a.storage_key;
  return j;
}

DerivedArtifact derived_artifact_from_record_json(const nlohmann::json& j) {
  DerivedArtifact a;
  a.id = j.at("id").get<std::string>();
  a.parent_asset_id = j.at("parent_asset_id").get<std::string>();
  a.tenant_id = j.at("tenant_id").get<std::string>();
  a.env = j.at("env").get<std::string>();
  a.user_id = get_opt<std::string>(j, "user_id");
  a.kind = j.value("kind", "other");
  a.uri = j.value("uri", "");
  a.start_ms = get_opt<int64_t>(j, "start_ms");
  a.end_ms = get_opt<int64_t>(j, "end_ms");
  a.track_label = get_opt<std::string>(j, "track_label");
  a.meta = j.value("meta", nlohmann::json::object());
  a.created_at_ms = j.value("created_at_ms", int64_t{0});
  a.size_bytes = j.value("size_bytes", int64_t{0});
  a.storage_key = j.value("storage_key", "");
  a.content_type = j.value("content_type", "application/octet-stream");
  return a;
}

}  // namespace atomcut

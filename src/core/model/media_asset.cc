#include "core/model/media_asset.h"

#include "core/time_util.h"

namespace atomcut {

std::string_view media_kind_name(MediaKind kind) {
  switch (kind) {
    case MediaKind::kVideo:
      return "video";
    case MediaKind::kAudio:
      return "audio";
    case MediaKind::kImage:
      return "image";
    case MediaKind::kOther:
      return "other";
  }
  return "other";
}

std::optional<MediaKind> parse_media_kind(std::string_view name) {
  if (name == "video") return MediaKind::kVideo;
  if (name == "audio") return MediaKind::kAudio;
  if (name == "image") return MediaKind::kImage;
  if (name == "other") return MediaKind::kOther;
  return std::nullopt;
}

namespace {

template <typename T>
nlohmann::json opt(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

template <typename T>
std::optional<T> get_opt(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  return it->get<T>();
}

}  // namespace

nlohmann::json to_json(const MediaAsset& a) {
  nlohmann::json j;
  j["id"] = a.id;
  j["asset_id"] = a.id;
  j["tenant_id"] = a.tenant_id;
  j["env"] = a.env;
  j["user_id"] = opt(a.user_id);
  j["kind"] = std::string(media_kind_name(a.kind));
  j["source_uri"] = a.source_uri;
  j["duration_ms"] = opt(a.duration_ms);
  j["fps"] = a.fps ? nlohmann::json(a.fps->to_double()) : nlohmann::json(nullptr);
  j["fps_rational"] = a.fps ? nlohmann::json(a.fps->to_string()) : nlohmann::json(nullptr);
  j["variable_frame_rate"] = a.variable_frame_rate;
  j["width"] = opt(a.width);
  j["height"] = opt(a.height);
  j["rotation"] = a.rotation;
  j["audio_channels"] = opt(a.audio_channels);
  j["sample_rate"] = opt(a.sample_rate);
  j["codec_info"] = a.codec_info;
  j["size_bytes"] = a.size_bytes;
  j["tags"] = a.tags;
  j["source_ref"] = opt(a.source_ref);
  j["created_at"] = format_rfc3339_ms(a.created_at_ms);
  j["meta"] = a.meta;
  return j;
}

nlohmann::json to_record_json(const MediaAsset& a) {
  nlohmann::json j = to_json(a);
  j["created_at_ms"] = a.created_at_ms;
  j["storage_key"] = a.storage_key;
  j["content_type"] = a.content_type;
  return j;
}

MediaAsset media_asset_from_record_json(const nlohmann::json& j) {
  MediaAsset a;
  a.id = j.at("id").get<std::string>();
  a.tenant_id = j.at("tenant_id").get<std::string>();
  a.env = j.at("env").get<std::string>();
  a.user_id = get_opt<std::string>(j, "user_id");
  a.kind = parse_media_kind(j.value("kind", "other")).value_or(MediaKind::kOther);
  a.source_uri = j.value("source_uri", "");
  a.duration_ms = get_opt<int64_t>(j, "duration_ms");
  if (auto fr = get_opt<std::string>(j, "fps_rational")) a.fps = parse_rational(*fr);
  a.variable_frame_rate = j.value("variable_frame_rate", false);
  a.width = get_opt<int>(j, "width");
  a.height = get_opt<int>(j, "height");
  a.rotation = j.value("rotation", 0);
  a.audio_channels = get_opt<int>(j, "audio_channels");
  a.sample_rate = get_opt<int>(j, "sample_rate");
  a.codec_info = j.value("codec_info", nlohmann::json::array());
  a.size_bytes = j.value("size_bytes", int64_t{0});
  a.tags = j.value("tags", std::vector<std::string>{});
  a.source_ref = get_opt<std::string>(j, "source_ref");
  a.created_at_ms = j.value("created_at_ms", int64_t{0});
  a.meta = j.value("meta", nlohmann::json::object());
  a.storage_key = j.value("storage_key", "");
  a.content_type = j.value("content_type", "application/octet-stream");
  return a;
}

}  // namespace atomcut

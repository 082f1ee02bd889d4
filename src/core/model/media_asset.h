// MediaAsset: one registered piece of media (spec "Asset / Media Atom v2").
#pragma once

#include "core/rational.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atomcut {

enum class MediaKind { kVideo, kAudio, kImage, kOther };

std::string_view media_kind_name(MediaKind kind);  // "video" | "audio" | "image" | "other"
std::optional<MediaKind> parse_media_kind(std::string_view name);

struct MediaAsset {
  std::string id;  // ast_...
  std::string tenant_id;
  std::string env;
  std::optional<std::string> user_id;
  MediaKind kind = MediaKind::kOther;
  std::string source_uri;  // file:// URI of the stored bytes (or of the referenced import)
  std::optional<int64_t> duration_ms;
  std::optional<Rational> fps;  // exact frame rate of the main video stream
  bool variable_frame_rate = false;
  std::optional<int> width;  // coded size of the main video stream, before rotation
  std::optional<int> height;
  int rotation = 0;  // degrees clockwise to display upright: 0, 90, 180, 270
  std::optional<int> audio_channels;
  std::optional<int> sample_rate;
  nlohmann::json codec_info = nlohmann::json::array();  // one object per stream
  int64_t size_bytes = 0;
  std::vector<std::string> tags;
  std::optional<std::string> source_ref;
  int64_t created_at_ms = 0;
  nlohmann::json meta = nlohmann::json::object();
  // Internal (not in the public JSON): blob key of the bytes, empty when the asset references a
  // file under an import root in place; MIME type served by the content endpoint.
  std::string storage_key;
  std::string content_type = "application/octet-stream";
};

// Public JSON (spec fields plus width, height, tags, source_ref; asset_id == id).
nlohmann::json to_json(const MediaAsset& asset);

// Full internal representation (public fields plus storage_key, content_type) for stores.
nlohmann::json to_record_json(const MediaAsset& asset);
MediaAsset media_asset_from_record_json(const nlohmann::json& j);

}  // namespace atomcut

// DerivedArtifact: something made from a MediaAsset (segment, frame, mask, render, transcript...).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace atomcut {

struct DerivedArtifact {
  std::string id;  // art_...
  std::string parent_asset_id;
  std::string tenant_id;
  std::string env;
  std::optional<std::string> user_id;
  std::string kind;  // one of artifact_kinds()
  std::string uri;   // file:// (later s3://) URI of the stored bytes
  std::optional<int64_t> start_ms;
  std::optional<int64_t> end_ms;
  std::optional<std::string> track_label;
  nlohmann::json meta = nlohmann::json::object();
  int64_t created_at_ms = 0;
  int64_t size_bytes = 0;
  // Internal: blob key of the bytes (always inside the tenant's prefix) and MIME type.
  std::string storage_key;
  std::string content_type = "application/octet-stream";
};

// Every artifact kind the spec names (media_v2, audio, video, render atoms).
std::span<const std::string_view> artifact_kinds();
bool is_known_artifact_kind(std::string_view kind);

// Public JSON: spec fields plus artifact_id (== id), created_at, size_bytes, content_type.
nlohmann::json to_json(const DerivedArtifact& artifact);
nlohmann::json to_record_json(const DerivedArtifact& artifact);
DerivedArtifact derived_artifact_from_record_json(const nlohmann::json& j);

}  // namespace atomcut

// MediaService: the Media Atom v2 engine. Registers media (uploads and imports), probes it, keeps
// assets and their derived artifacts (lineage), enforces the artifact rules, and resolves content
// for streaming. Free of HTTP types: the routes in http/ and the CLI both drive it.
//
// Every call takes the caller's RequestContext or Scope; records of another tenant or env are
// not_found. Thread safe.
#pragma once

#include "core/error.h"
#include "core/model/derived_artifact.h"
#include "core/model/media_asset.h"
#include "core/request_context.h"
#include "storage/blob_store.h"
#include "storage/metadata_store.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atomcut {

struct MediaServiceOptions {
  std::vector<std::string> import_roots;  // canonical absolute directories
  std::string import_mode = "copy";       // copy | reference
  int probe_timeout_ms = 15000;
};

// Optional fields of a new asset (upload form fields or JSON register body).
struct AssetFields {
  std::optional<std::string> kind_hint;  // video | audio | image | other
  std::optional<std::string> source_ref;
  std::vector<std::string> tags;
  std::optional<std::string> original_filename;
};

// Parses a comma-separated tag list; each tag is trimmed, 1..64 printable characters without
// commas; at most 64 tags; duplicates dropped (first kept).
Result<std::vector<std::string>> parse_tags(std::string_view comma_separated);
Status validate_asset_fields(const AssetFields& fields);

struct ArtifactFields {
  std::string kind;
  std::optional<std::string> uri;  // JSON registration only
  std::optional<int64_t> start_ms;
  std::optional<int64_t> end_ms;
  std::optional<std::string> track_label;
  nlohmann::json meta = nlohmann::json::object();
  std::optional<std::string> original_filename;  // multipart registration only
};

struct AssetWithArtifacts {
  MediaAsset asset;
  std::vector<DerivedArtifact> artifacts;
};

struct ArtifactWithParent {
  DerivedArtifact artifact;
  MediaAsset parent;
};

// Where to read an asset's or artifact's bytes from.
struct ContentRef {
  std::string storage_key;  // blob key, or empty when local_path is a referenced import
  std::optional<std::string> local_path;  // set for referenced imports
  uint64_t size_bytes = 0;
  std::string content_type;
};

struct DeleteReport {
  std::string asset_id;
  std::vector<std::string> artifact_ids;
  uint64_t blobs_removed = 0;
};

class MediaService {
 public:
  MediaService(MetadataStore& store, BlobStore& blobs, MediaServiceOptions options);

  // Registers uploaded bytes. `staged` holds them uncommitted; `sha256_hex` is their digest.
  // The bytes land at tenants/{t}/{e}/media_v2/{asset_id}/source{.ext}. On any error nothing is
  // left behind. invalid_argument when a media hint meets a file that is not (valid) media.
  Result<MediaAsset> create_from_upload(const RequestContext& ctx,
                                        std::unique_ptr<BlobWriter> staged,
                                        const std::string& sha256_hex, const AssetFields& fields);
  // Registers a file an engine produced (a render) as a new asset with the given id: the staged
  // bytes land at tenants/{t}/{e}/media_v2/{asset_id}/{file_name}; `meta` is merged into the
  // asset's meta. On any error nothing is left behind.
  Result<MediaAsset> create_from_output(const RequestContext& ctx, const std::string& asset_id,
                                        std::unique_ptr<BlobWriter> staged,
                                        const std::string& file_name, const std::string& sha256_hex,
                                        const AssetFields& fields, const nlohmann::json& meta);
  // Registers a file:// URI that lies inside an import root (copied into the blob store, or
  // referenced in place in import mode "reference"). permission_denied outside the roots.
  Result<MediaAsset> register_uri(const RequestContext& ctx, const std::string& source_uri,
                                  const AssetFields& fields);

  Result<AssetWithArtifacts> get_asset(const Scope& scope, std::string_view asset_id);
  // `cursor` is the opaque next_cursor of a previous page; limit 1..1000.
  Result<Page<MediaAsset>> list_assets(const Scope& scope, const AssetFilter& filter, int limit,
                                       const std::optional<std::string>& cursor);
  // Removes the asset, its artifacts and their blobs (the asset's folder, and artifact blobs
  // elsewhere in the tenant's prefix that are not inside another asset's folder).
  Result<DeleteReport> delete_asset(const Scope& scope, std::string_view asset_id);

  // Registers an artifact whose `uri` already points into the blob store under the tenant's own
  // prefix (and exists).
  Result<DerivedArtifact> register_artifact(const RequestContext& ctx, std::string_view asset_id,
                                            const ArtifactFields& fields);
  // Registers an artifact from uploaded bytes (stored under the parent asset's folder:
  // artifacts/{artifact_id}{.ext}, or regions/{artifact_id}{.ext} for region kinds).
  Result<DerivedArtifact> register_artifact_upload(const RequestContext& ctx,
                                                   std::string_view asset_id,
                                                   const ArtifactFields& fields,
                                                   std::unique_ptr<BlobWriter> staged,
                                                   const std::string& sha256_hex);
  Result<ArtifactWithParent> get_artifact(const Scope& scope, std::string_view artifact_id);

  Result<ContentRef> asset_content(const Scope& scope, std::string_view asset_id);
  Result<ContentRef> artifact_content(const Scope& scope, std::string_view artifact_id);

  BlobStore& blobs() { return blobs_; }

 private:
  Result<MediaAsset> commit_staged(const RequestContext& ctx, const std::string& asset_id,
                                   std::unique_ptr<BlobWriter> staged, const std::string& file_name,
                                   const std::string& sha256_hex, const AssetFields& fields,
                                   const nlohmann::json& meta);
  Result<MediaAsset> finish_asset(const RequestContext& ctx, MediaAsset asset,
                                  const std::string& probe_path, const AssetFields& fields);
  Status validate_artifact(const RequestContext& ctx, const MediaAsset& parent,
                           const ArtifactFields& fields, const std::string& storage_key);
  Result<std::string> resolve_import_path(const std::string& source_uri) const;

  MetadataStore& store_;
  BlobStore& blobs_;
  MediaServiceOptions options_;
};

}  // namespace atomcut

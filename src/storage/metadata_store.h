// MetadataStore: where records live. Every method that reads or writes tenant data takes a Scope
// (tenant_id, env) and filters on both: a record of another tenant or env is not_found, exactly
// like a missing one. Implementations: sqlite/ (embedded default); postgres/ later. All SQL stays
// inside storage/. tests/conformance/ holds the one suite every implementation passes.
//
// Thread safety: every method may be called concurrently from many threads.
#pragma once

#include "core/error.h"
#include "core/model/api_key.h"
#include "core/model/derived_artifact.h"
#include "core/model/media_asset.h"
#include "core/request_context.h"
#include "storage/doc_store.h"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atomcut {

struct AssetFilter {
  std::optional<MediaKind> kind;
  std::optional<std::string> tag;         // assets carrying this exact tag
  std::optional<std::string> source_ref;  // exact match
};

template <typename T>
struct Page {
  std::vector<T> items;
  // Id of the last item when more items follow; pass it back as `after_id`.
  std::optional<std::string> next_after_id;
};

class MetadataStore {
 public:
  virtual ~MetadataStore() = default;

  // --- media assets ---
  // Inserts a new asset. already_exists when the id is taken (in any scope).
  virtual Status insert_asset(const MediaAsset& asset) = 0;
  // Replaces an existing asset's fields (same id and scope). not_found otherwise.
  virtual Status update_asset(const MediaAsset& asset) = 0;
  virtual Result<MediaAsset> get_asset(const Scope& scope, std::string_view asset_id) = 0;
  // Assets in id (creation) order, after `after_id` (exclusive) when given. limit is 1..1000.
  virtual Result<Page<MediaAsset>> list_assets(const Scope& scope, const AssetFilter& filter,
                                               int limit,
                                               std::optional<std::string_view> after_id) = 0;
  // Deletes the asset and all its artifacts; returns the deleted artifacts so their blobs can
  // be removed. not_found when the asset is not in scope.
  virtual Result<std::vector<DerivedArtifact>> delete_asset(const Scope& scope,
                                                            std::string_view asset_id) = 0;

  // --- derived artifacts ---
  // Inserts an artifact. failed_precondition when its parent asset is not in the artifact's
  // scope; already_exists when the id is taken.
  virtual Status insert_artifact(const DerivedArtifact& artifact) = 0;
  virtual Result<DerivedArtifact> get_artifact(const Scope& scope,
                                               std::string_view artifact_id) = 0;
  // All artifacts of an asset in creation order (empty when the asset has none or is not in scope).
  virtual Result<std::vector<DerivedArtifact>> list_artifacts(const Scope& scope,
                                                              std::string_view asset_id) = 0;

  // --- API keys ---
  virtual Status insert_api_key(const ApiKey& key) = 0;
  // Looks a key up by the hash of its secret (revoked keys included; callers check).
  virtual Result<ApiKey> find_api_key_by_hash(std::string_view key_hash) = 0;
  // All keys, or those of one scope, in creation order.
  virtual Result<std::vector<ApiKey>> list_api_keys(const std::optional<Scope>& scope) = 0;
  // Marks a key revoked (idempotent; the first revoked_at_ms is kept). not_found for an unknown id.
  virtual Status revoke_api_key(std::string_view key_id, int64_t revoked_at_ms) = 0;

  // --- documents (doc_store.h) ---
  // Runs `body` in one write transaction scoped to `scope`: every change it makes lands, or none
  // does (when body returns an error or throws). Returns body's status.
  virtual Status transact_docs(const Scope& scope,
                               const std::function<Status(DocTransaction&)>& body) = 0;
  // Reads outside a write transaction (a consistent snapshot per call).
  virtual Result<DocRecord> get_doc(const Scope& scope, std::string_view collection,
                                    std::string_view id) = 0;
  virtual Result<DocPage> list_docs(const Scope& scope, std::string_view collection,
                                    const DocQuery& query) = 0;
  virtual Result<std::vector<DocRecord>> list_docs_by_root(const Scope& scope,
                                                           std::string_view root_id) = 0;
};

// Opens a store by URL: "sqlite:///abs/path.db" (or a plain path). Creates and migrates the
// schema. invalid_argument for an unknown scheme, unavailable when it cannot be opened.
Result<std::unique_ptr<MetadataStore>> open_metadata_store(const std::string& url);

}  // namespace atomcut

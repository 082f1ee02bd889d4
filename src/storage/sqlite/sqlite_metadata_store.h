// SQLite implementation of MetadataStore (the embedded default): WAL mode, schema migrations,
// indexes that lead with (tenant_id, env).
//
// Connections: one writer connection behind a mutex (every write is a BEGIN IMMEDIATE
// transaction) and a pool of read-only connections handed out one per call, so reads run in
// parallel with each other and with the writer (WAL). Each connection caches its prepared
// statements. Several stores (or processes, e.g. the CLI next to a running server) may open the
// same file; a write waits up to busy_timeout for another writer before failing with unavailable.
//
// Documents live in one `documents` table keyed by (collection, id). transact_docs runs its body
// on the writer connection inside one BEGIN IMMEDIATE transaction, so transactions are serialised
// and a read-modify-write inside a body cannot lose an update. A body must not start another write
// on the same store from its own thread (transact_docs or any insert/update/delete/revoke): that
// would wait for itself, so it fails with failed_precondition instead. Store reads (get_doc, ...)
// from inside a body use reader connections and do not see the body's uncommitted writes; the
// DocTransaction's own reads do.
#pragma once

#include "storage/metadata_store.h"

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace atomcut {

namespace sqlite_internal {
class Connection;  // one sqlite3 handle and its statement cache (defined in the .cc)
}

class SqliteMetadataStore : public MetadataStore {
 public:
  // Opens (creating if needed) the database file at `path` and migrates its schema.
  // invalid_argument for an empty path or ":memory:" (the pooled connections must share one
  // file); failed_precondition when the file's schema is newer than this binary knows;
  // unavailable when the file cannot be opened, is not a database or cannot switch to WAL.
  static Result<std::unique_ptr<MetadataStore>> open(const std::string& path);

  // The newest schema version this binary creates and understands.
  static int latest_schema_version();

  ~SqliteMetadataStore() override;

  Status insert_asset(const MediaAsset& asset) override;
  Status update_asset(const MediaAsset& asset) override;
  Result<MediaAsset> get_asset(const Scope& scope, std::string_view asset_id) override;
  Result<Page<MediaAsset>> list_assets(const Scope& scope, const AssetFilter& filter, int limit,
                                       std::optional<std::string_view> after_id) override;
  Result<std::vector<DerivedArtifact>> delete_asset(const Scope& scope,
                                                    std::string_view asset_id) override;

  Status insert_artifact(const DerivedArtifact& artifact) override;
  Result<DerivedArtifact> get_artifact(const Scope& scope, std::string_view artifact_id) override;
  Result<std::vector<DerivedArtifact>> list_artifacts(const Scope& scope,
                                                      std::string_view asset_id) override;

  Status insert_api_key(const ApiKey& key) override;
  Result<ApiKey> find_api_key_by_hash(std::string_view key_hash) override;
  Result<std::vector<ApiKey>> list_api_keys(const std::optional<Scope>& scope) override;
  Status revoke_api_key(std::string_view key_id, int64_t revoked_at_ms) override;

  Status transact_docs(const Scope& scope,
                       const std::function<Status(DocTransaction&)>& body) override;
  Result<DocRecord> get_doc(const Scope& scope, std::string_view collection,
                            std::string_view id) override;
  Result<DocPage> list_docs(const Scope& scope, std::string_view collection,
                            const DocQuery& query) override;
  Result<std::vector<DocRecord>> list_docs_by_root(const Scope& scope,
                                                   std::string_view root_id) override;

 private:
  class ReaderLease;

  SqliteMetadataStore(std::string path, std::unique_ptr<sqlite_internal::Connection> writer);

  // Borrows a reader connection (opening one when none is idle and fewer than the cap are open).
  Result<ReaderLease> acquire_reader();
  void release_reader(std::unique_ptr<sqlite_internal::Connection> conn);

  // Runs `body(writer)` inside BEGIN IMMEDIATE ... COMMIT under writer_mu_; rolls back when the
  // body returns an error or throws. failed_precondition (instead of a self-deadlock) when this
  // thread is already inside a write transaction of this store.
  template <typename Body>
  auto write_transaction(Body&& body);

  const std::string path_;

  std::mutex writer_mu_;
  std::unique_ptr<sqlite_internal::Connection> writer_;  // guarded by writer_mu_

  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<sqlite_internal::Connection>> idle_readers_;  // readers_mu_
  int open_readers_ = 0;                                                    // readers_mu_
};

}  // namespace atomcut

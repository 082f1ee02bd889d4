// Documents: records kept as a JSON document plus a few indexed columns, for the many small record
// kinds of the timeline and later atoms (projects, sequences, tracks, clips, transitions, filter
// stacks, presets, jobs). Part of MetadataStore (metadata_store.h); like every store method,
// everything is scoped by (tenant_id, env): a document of another scope is not_found, exactly
// like a missing one.
#pragma once

#include "core/error.h"
#include "core/request_context.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atomcut {

struct DocRecord {
  std::string collection;  // e.g. "video_projects", "video_clips"; [a-z0-9_]{1,64}
  std::string id;          // unique within the collection (in every scope)
  std::string tenant_id;
  std::string env;
  std::string parent_id;  // the owning record (a clip's track_id), "" for top-level records
  std::string root_id;    // the top-level record it belongs to (a clip's project_id), "" if none
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  nlohmann::json doc = nlohmann::json::object();  // the record itself
};

// Filters for listing one collection; all given filters combine. Results are in id order.
struct DocQuery {
  std::optional<std::string> parent_id;
  std::optional<std::string> root_id;
  int limit = 100;                      // 1..1000
  std::optional<std::string> after_id;  // exclusive, for keyset pagination
};

struct DocPage {
  std::vector<DocRecord> items;
  std::optional<std::string> next_after_id;  // set when more items follow
};

// The operations available inside one write transaction, all within the transaction's scope.
// Not thread safe; valid only during the body passed to MetadataStore::transact_docs.
// Transactions are serialisable without caller retries: a read-modify-write inside one body never
// loses an update (SQLite: one writer at a time; PostgreSQL will lock what get() reads). Inside a
// body, use only this object: other MetadataStore writes are refused (failed_precondition) and
// other MetadataStore reads do not see the body's uncommitted writes. Timestamps are stored as
// given; the caller sets them.
class DocTransaction {
 public:
  virtual ~DocTransaction() = default;
  virtual Result<DocRecord> get(std::string_view collection, std::string_view id) = 0;
  // already_exists when (collection, id) is taken in any scope; invalid_argument when the
  // record's tenant_id/env differ from the transaction's scope or a field is malformed.
  virtual Status insert(const DocRecord& record) = 0;
  // Replaces parent_id, root_id, updated_at_ms and doc of an existing record (created_at_ms is
  // kept). not_found when it is not in scope.
  virtual Status update(const DocRecord& record) = 0;
  // not_found when it is not in scope.
  virtual Status remove(std::string_view collection, std::string_view id) = 0;
  virtual Result<DocPage> list(std::string_view collection, const DocQuery& query) = 0;
  // Every record with this root_id, in every collection (collection then id order); unpaged, so
  // meant for one project's tree. An empty root_id is invalid_argument.
  virtual Result<std::vector<DocRecord>> list_by_root(std::string_view root_id) = 0;
};

}  // namespace atomcut

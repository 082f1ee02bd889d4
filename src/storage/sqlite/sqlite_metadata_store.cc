#include "storage/sqlite/sqlite_metadata_store.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <functional>
#include <iterator>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace atomcut {

namespace sqlite_internal {
namespace {

constexpr int kBusyTimeoutMs = 5000;
// Readers beyond this wait for one to be returned; each costs a few file descriptors and a page
// cache, and more than the number of cores rarely helps.
constexpr int kMaxReaders = 64;

// Numbered schema migrations, applied in order at open(), each inside the one open transaction.
// Never edit a released migration; append a new one.
struct Migration {
  int version;
  const char* description;
  const char* sql;
};

// Every index on tenant data leads with (tenant_id, env). The only others are the global
// uniqueness constraints: the record ids and api_keys.key_hash (looked up before the scope is
// known). The composite UNIQUE (tenant_id, env, id) on media_assets is the target of the scoped
// foreign keys: a tag or artifact can only point at an asset of its own tenant and env.
constexpr Migration kMigrations[] = {
    {1, "media assets, tags, artifacts, api keys", R"sql(
CREATE TABLE media_assets (
  id TEXT PRIMARY KEY NOT NULL,
  tenant_id TEXT NOT NULL,
  env TEXT NOT NULL,
  kind TEXT NOT NULL,
  source_ref TEXT,
  created_at_ms INTEGER NOT NULL,
  doc TEXT NOT NULL,
  UNIQUE (tenant_id, env, id)
);
CREATE INDEX media_assets_by_kind ON media_assets (tenant_id, env, kind, id);
CREATE INDEX media_assets_by_source_ref ON media_assets (tenant_id, env, source_ref, id);
CREATE INDEX media_assets_by_created_at ON media_assets (tenant_id, env, created_at_ms);

CREATE TABLE asset_tags (
  tenant_id TEXT NOT NULL,
  env TEXT NOT NULL,
  asset_id TEXT NOT NULL,
  tag TEXT NOT NULL,
  PRIMARY KEY (tenant_id, env, asset_id, tag),
  FOREIGN KEY (tenant_id, env, asset_id) REFERENCES media_assets (tenant_id, env, id)
) WITHOUT ROWID;
CREATE INDEX asset_tags_by_tag ON asset_tags (tenant_id, env, tag, asset_id);

CREATE TABLE media_artifacts (
  id TEXT PRIMARY KEY NOT NULL,
  tenant_id TEXT NOT NULL,
  env TEXT NOT NULL,
  parent_asset_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  doc TEXT NOT NULL,
  FOREIGN KEY (tenant_id, env, parent_asset_id) REFERENCES media_assets (tenant_id, env, id)
);
CREATE INDEX media_artifacts_by_parent ON media_artifacts (tenant_id, env, parent_asset_id, id);
CREATE INDEX media_artifacts_by_kind ON media_artifacts (tenant_id, env, kind, id);

CREATE TABLE api_keys (
  id TEXT PRIMARY KEY NOT NULL,
  tenant_id TEXT NOT NULL,
  env TEXT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE,
  key_prefix TEXT NOT NULL,
  label TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  revoked_at_ms INTEGER
);
CREATE INDEX api_keys_by_scope ON api_keys (tenant_id, env, id);
)sql"},
    // Documents (storage/doc_store.h): the indexed columns beside the record's JSON. The primary
    // key (collection, id) is the global uniqueness constraint; every lookup by scope goes
    // through an index leading with (tenant_id, env). documents_by_root serves both a listing of
    // one collection filtered by root_id (root_id, collection equal; id range) and the listing of
    // a whole root across collections (in collection, id order). parent_id and root_id are ""
    // when absent.
    {2, "documents", R"sql(
CREATE TABLE documents (
  collection TEXT NOT NULL,
  id TEXT NOT NULL,
  tenant_id TEXT NOT NULL,
  env TEXT NOT NULL,
  parent_id TEXT NOT NULL,
  root_id TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  doc TEXT NOT NULL,
  PRIMARY KEY (collection, id)
);
CREATE INDEX documents_by_scope ON documents (tenant_id, env, collection, id);
CREATE INDEX documents_by_parent ON documents (tenant_id, env, collection, parent_id, id);
CREATE INDEX documents_by_root ON documents (tenant_id, env, root_id, collection, id);
)sql"},
};

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One canonical error per SQLite result code. `what` names the operation.
Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
  const char* msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  std::string text = fmt::format("metadata store: {}: {} (sqlite code {})", what, msg, rc);
  nlohmann::json details = {{"sqlite_code", rc}};
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Error::unavailable(
          fmt::format("{}; the database stayed locked by another writer for more than {} ms", text,
                      kBusyTimeoutMs),
          details);
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) {
        return Error::already_exists(text, details);
      }
      if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) return Error::failed_precondition(text, details);
      return Error::invalid_argument(text, details);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Error::data_loss(text, details);
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_PROTOCOL:
      return Error::unavailable(text, details);
    default:
      return Error::internal(text, details);
  }
}

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// A cached prepared statement in use. Resets it (and drops the bindings) when it goes out of
// scope so the connection can hand it out again. Bound text is copied (SQLITE_TRANSIENT), so
// arguments may be temporaries.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Stmt(Stmt&& o) noexcept : db_(o.db_), stmt_(std::exchange(o.stmt_, nullptr)) {}
  Stmt& operator=(Stmt&&) = delete;
  ~Stmt() {
    if (stmt_ != nullptr) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }

  void bind(int index, std::string_view text) {
    sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  }
  void bind(int index, const std::string& text) { bind(index, std::string_view(text)); }
  void bind(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
  void bind(int index, const std::optional<std::string>& text) {
    if (text) {
      bind(index, std::string_view(*text));
    } else {
      sqlite3_bind_null(stmt_, index);
    }
  }
  void bind(int index, const std::optional<int64_t>& value) {
    if (value) {
      bind(index, *value);
    } else {
      sqlite3_bind_null(stmt_, index);
    }
  }

  // true: a row is available; false: done.
  Result<bool> step(std::string_view what) {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return sqlite_error(db_, rc, what);
  }
  // Makes the statement runnable again (bindings are kept until rebound).
  void reset() { sqlite3_reset(stmt_); }
  // Runs a statement that returns no rows.
  Status run(std::string_view what) {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) return {};
    return sqlite_error(db_, rc, what);
  }

  std::string_view text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    if (p == nullptr) return {};
    return std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
  }
  std::optional<std::string> optional_text(int col) const {
    if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
    return std::string(text(col));
  }
  int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::optional<int64_t> optional_int64(int col) const {
    if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
    return int64(col);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

}  // namespace

// One sqlite3 handle (opened in multi-thread mode: used by one thread at a time) and its cache of
// prepared statements keyed by SQL text.
class Connection {
 public:
  enum class Role { kWriter, kReader };

  static Result<std::unique_ptr<Connection>> open(const std::string& path, Role role) {
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (role == Role::kWriter) flags |= SQLITE_OPEN_CREATE;
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
    std::unique_ptr<Connection> conn(new Connection(db));  // closes db even when open failed
    if (rc != SQLITE_OK) return sqlite_error(db, rc, fmt::format("open '{}'", path));
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
    ATOMCUT_TRY(conn->exec("PRAGMA foreign_keys = ON", "enable foreign keys"));
    if (role == Role::kWriter) {
      // journal_mode is stored in the file; every later connection inherits WAL.
      ATOMCUT_ASSIGN_OR_RETURN(std::string mode,
                               conn->query_text("PRAGMA journal_mode = WAL", "enable WAL"));
      if (mode != "wal") {
        return Error::unavailable(fmt::format(
            "metadata store: '{}' cannot use WAL journal mode (got '{}'); is it on a network "
            "filesystem?",
            path, mode));
      }
      ATOMCUT_TRY(conn->exec("PRAGMA synchronous = NORMAL", "set synchronous"));
    } else {
      ATOMCUT_TRY(conn->exec("PRAGMA query_only = ON", "make reader read-only"));
    }
    return conn;
  }

  ~Connection() {
    for (auto& [sql, stmt] : stmts_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* db() const { return db_; }

  // The cached statement for `sql`, prepared on first use.
  Result<Stmt> prepare(std::string_view sql) {
    if (auto it = stmts_.find(sql); it != stmts_.end()) return Stmt(db_, it->second);
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return sqlite_error(db_, rc, fmt::format("prepare '{}'", sql));
    }
    stmts_.emplace(std::string(sql), stmt);
    return Stmt(db_, stmt);
  }

  // Runs one or more statements without results (pragmas, DDL, transaction control).
  Status exec(const char* sql, std::string_view what) {
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return sqlite_error(db_, rc, what);
    return {};
  }

  // First column of the first row of an uncached statement, as text.
  Result<std::string> query_text(const char* sql, std::string_view what) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql, -1, &raw, nullptr);
    if (rc != SQLITE_OK) return sqlite_error(db_, rc, what);
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
    rc = sqlite3_step(raw);
    if (rc == SQLITE_DONE) return std::string();
    if (rc != SQLITE_ROW) return sqlite_error(db_, rc, what);
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(raw, 0));
    return p != nullptr ? std::string(p) : std::string();
  }

  int64_t changes() const { return sqlite3_changes64(db_); }
  bool in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*, StringHash, std::equal_to<>> stmts_;
};

namespace {

// Applies the pending migrations in one BEGIN IMMEDIATE transaction, so two processes opening a
// new file at once cannot both apply them.
Status migrate(Connection& c) {
  ATOMCUT_TRY(c.exec("BEGIN IMMEDIATE", "begin migration"));
  auto body = [&]() -> Status {
    ATOMCUT_TRY(c.exec(R"sql(
CREATE TABLE IF NOT EXISTS schema_version (
  version INTEGER PRIMARY KEY NOT NULL,
  description TEXT NOT NULL,
  applied_at_ms INTEGER NOT NULL
))sql",
                       "create schema_version"));
    ATOMCUT_ASSIGN_OR_RETURN(
        std::string current_text,
        c.query_text("SELECT COALESCE(MAX(version), 0) FROM schema_version", "read version"));
    const int current = std::stoi(current_text);
    const int latest = SqliteMetadataStore::latest_schema_version();
    if (current > latest) {
      return Error::failed_precondition(fmt::format(
          "metadata store: database schema version {} is newer than this binary supports ({}); "
          "upgrade atomcut",
          current, latest));
    }
    for (const Migration& m : kMigrations) {
      if (m.version <= current) continue;
      ATOMCUT_TRY(c.exec(m.sql, fmt::format("apply migration {} ({})", m.version, m.description)));
      ATOMCUT_ASSIGN_OR_RETURN(
          Stmt st, c.prepare("INSERT INTO schema_version (version, description, applied_at_ms) "
                             "VALUES (?1, ?2, ?3)"));
      st.bind(1, int64_t{m.version});
      st.bind(2, std::string_view(m.description));
      st.bind(3, now_ms());
      ATOMCUT_TRY(st.run("record migration"));
    }
    return c.exec("COMMIT", "commit migration");
  };
  Status s = body();
  if (!s.ok() && c.in_transaction()) sqlite3_exec(c.db(), "ROLLBACK", nullptr, nullptr, nullptr);
  return s;
}

// --- record (de)serialisation ---

Result<std::string> dump_record(const nlohmann::json& j, std::string_view what,
                                std::string_view id) {
  try {
    return j.dump();
  } catch (const nlohmann::json::exception& e) {
    // dump() refuses strings that are not valid UTF-8.
    return Error::invalid_argument(fmt::format(
        "{} '{}' cannot be stored: {} (text fields must be valid UTF-8)", what, id, e.what()));
  }
}

template <typename T, typename FromJson>
Result<T> parse_record(std::string_view doc, std::string_view what, std::string_view row_id,
                       const Scope& scope, FromJson from_json) {
  nlohmann::json j = nlohmann::json::parse(doc.begin(), doc.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Error::data_loss(fmt::format(
        "metadata store: {} '{}' has a corrupt record (not a JSON object)", what, row_id));
  }
  T record;
  try {
    record = from_json(j);
  } catch (const std::exception& e) {
    return Error::data_loss(
        fmt::format("metadata store: {} '{}' has a corrupt record: {}", what, row_id, e.what()));
  }
  // The indexed columns and the document must agree; a mismatch must never leak a record into
  // another scope.
  if (record.id != row_id || record.tenant_id != scope.tenant_id || record.env != scope.env) {
    return Error::data_loss(fmt::format(
        "metadata store: {} '{}' has a record whose id/tenant_id/env ('{}', '{}', '{}') do not "
        "match its row",
        what, row_id, record.id, record.tenant_id, record.env));
  }
  return record;
}

Result<MediaAsset> parse_asset(std::string_view doc, std::string_view row_id, const Scope& scope) {
  return parse_record<MediaAsset>(doc, "asset", row_id, scope, media_asset_from_record_json);
}

Result<DerivedArtifact> parse_artifact(std::string_view doc, std::string_view row_id,
                                       const Scope& scope) {
  return parse_record<DerivedArtifact>(doc, "artifact", row_id, scope,
                                       derived_artifact_from_record_json);
}

Status require_scoped_record(std::string_view what, std::string_view id, std::string_view tenant,
                             std::string_view env) {
  if (id.empty() || tenant.empty() || env.empty()) {
    return Error::invalid_argument(fmt::format(
        "{} '{}': id, tenant_id and env must all be non-empty (tenant_id '{}', env '{}')", what, id,
        tenant, env));
  }
  return {};
}

Error asset_not_found(std::string_view id) {
  return Error::not_found(fmt::format("asset '{}' not found", id), {{"asset_id", id}});
}
Error artifact_not_found(std::string_view id) {
  return Error::not_found(fmt::format("artifact '{}' not found", id), {{"artifact_id", id}});
}

// Catches anything thrown (std::bad_alloc, a std::stoi on a damaged value ...) so no exception
// leaves the store.
template <typename F>
auto guarded(std::string_view op, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Error::internal(
        fmt::format("metadata store: {}: unexpected exception: {}", op, e.what()));
  }
}

constexpr const char* kApiKeyColumns =
    "id, tenant_id, env, key_hash, key_prefix, label, created_at_ms, revoked_at_ms";

ApiKey read_api_key(const Stmt& st) {
  ApiKey k;
  k.id = st.text(0);
  k.tenant_id = st.text(1);
  k.env = st.text(2);
  k.key_hash = st.text(3);
  k.key_prefix = st.text(4);
  k.label = st.text(5);
  k.created_at_ms = st.int64(6);
  k.revoked_at_ms = st.optional_int64(7);
  return k;
}

Status insert_tags(Connection& c, const MediaAsset& a) {
  if (a.tags.empty()) return {};
  ATOMCUT_ASSIGN_OR_RETURN(
      Stmt st, c.prepare("INSERT OR IGNORE INTO asset_tags (tenant_id, env, asset_id, tag) "
                         "VALUES (?1, ?2, ?3, ?4)"));
  for (const std::string& tag : a.tags) {
    st.bind(1, a.tenant_id);
    st.bind(2, a.env);
    st.bind(3, a.id);
    st.bind(4, tag);
    ATOMCUT_TRY(st.run("insert asset tag"));
    st.reset();
  }
  return {};
}

// --- documents ---

constexpr const char* kDocColumns =
    "collection, id, tenant_id, env, parent_id, root_id, created_at_ms, updated_at_ms, doc";

std::string doc_key(std::string_view collection, std::string_view id) {
  return fmt::format("{}/{}", collection, id);
}

Error doc_not_found(std::string_view collection, std::string_view id) {
  return Error::not_found(fmt::format("document '{}' not found", doc_key(collection, id)),
                          {{"collection", collection}, {"id", id}});
}

Status validate_collection(std::string_view collection) {
  const bool ok = !collection.empty() && collection.size() <= 64 &&
                  std::all_of(collection.begin(), collection.end(), [](char ch) {
                    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
                  });
  if (ok) return {};
  return Error::invalid_argument(
      fmt::format("document collection '{}' must match [a-z0-9_]{{1,64}}", collection),
      {{"collection", collection}});
}

Status validate_doc_key(std::string_view collection, std::string_view id) {
  ATOMCUT_TRY(validate_collection(collection));
  if (id.empty()) {
    return Error::invalid_argument(
        fmt::format("document in collection '{}': id must be non-empty", collection),
        {{"collection", collection}});
  }
  return {};
}

Status validate_scope(const Scope& scope) {
  if (scope.tenant_id.empty() || scope.env.empty()) {
    return Error::invalid_argument(fmt::format(
        "documents: tenant_id and env must both be non-empty (tenant_id '{}', env '{}')",
        scope.tenant_id, scope.env));
  }
  return {};
}

Status validate_doc_query(const DocQuery& query) {
  if (query.limit < 1 || query.limit > 1000) {
    return Error::invalid_argument(
        fmt::format("limit must be between 1 and 1000 (got {})", query.limit),
        {{"limit", query.limit}});
  }
  return {};
}

// Checks a record to be written in `scope` and returns its document as JSON text.
Result<std::string> prepare_doc_write(const DocRecord& r, const Scope& scope) {
  ATOMCUT_TRY(validate_doc_key(r.collection, r.id));
  if (r.tenant_id != scope.tenant_id || r.env != scope.env) {
    return Error::invalid_argument(
        fmt::format("document '{}': tenant_id/env ('{}', '{}') differ from the transaction's "
                    "scope ('{}', '{}')",
                    doc_key(r.collection, r.id), r.tenant_id, r.env, scope.tenant_id, scope.env),
        {{"collection", r.collection}, {"id", r.id}});
  }
  if (!r.doc.is_object()) {
    return Error::invalid_argument(fmt::format("document '{}': doc must be a JSON object (got {})",
                                               doc_key(r.collection, r.id), r.doc.type_name()),
                                   {{"collection", r.collection}, {"id", r.id}});
  }
  return dump_record(r.doc, "document", doc_key(r.collection, r.id));
}

// The row at the statement's cursor (selected with kDocColumns).
Result<DocRecord> read_doc(const Stmt& st) {
  DocRecord r;
  r.collection = st.text(0);
  r.id = st.text(1);
  r.tenant_id = st.text(2);
  r.env = st.text(3);
  r.parent_id = st.text(4);
  r.root_id = st.text(5);
  r.created_at_ms = st.int64(6);
  r.updated_at_ms = st.int64(7);
  std::string_view doc = st.text(8);
  r.doc = nlohmann::json::parse(doc.begin(), doc.end(), nullptr, false);
  if (r.doc.is_discarded() || !r.doc.is_object()) {
    return Error::data_loss(
        fmt::format("metadata store: document '{}' has a corrupt record (not a JSON object)",
                    doc_key(r.collection, r.id)));
  }
  return r;
}

// The reads, shared by the reader connections and the writer inside a transaction.
Result<DocRecord> get_doc_on(Connection& c, const Scope& scope, std::string_view collection,
                             std::string_view id) {
  ATOMCUT_TRY(validate_doc_key(collection, id));
  ATOMCUT_ASSIGN_OR_RETURN(
      Stmt st,
      c.prepare(fmt::format("SELECT {} FROM documents WHERE collection = ?1 AND id = ?2 AND "
                            "tenant_id = ?3 AND env = ?4",
                            kDocColumns)));
  st.bind(1, collection);
  st.bind(2, id);
  st.bind(3, scope.tenant_id);
  st.bind(4, scope.env);
  ATOMCUT_ASSIGN_OR_RETURN(bool found, st.step("get document"));
  if (!found) return doc_not_found(collection, id);
  return read_doc(st);
}

Result<DocPage> list_docs_on(Connection& c, const Scope& scope, std::string_view collection,
                             const DocQuery& query) {
  ATOMCUT_TRY(validate_collection(collection));
  ATOMCUT_TRY(validate_doc_query(query));
  // One cached statement per combination of filters (8); parameter numbers are fixed.
  std::string sql =
      fmt::format("SELECT {} FROM documents WHERE tenant_id = ?1 AND env = ?2 AND collection = ?3",
                  kDocColumns);
  if (query.parent_id) sql += " AND parent_id = ?4";
  if (query.root_id) sql += " AND root_id = ?5";
  if (query.after_id) sql += " AND id > ?6";
  sql += " ORDER BY id LIMIT ?7";
  ATOMCUT_ASSIGN_OR_RETURN(Stmt st, c.prepare(sql));
  st.bind(1, scope.tenant_id);
  st.bind(2, scope.env);
  st.bind(3, collection);
  if (query.parent_id) st.bind(4, *query.parent_id);
  if (query.root_id) st.bind(5, *query.root_id);
  if (query.after_id) st.bind(6, *query.after_id);
  st.bind(7, int64_t{query.limit} + 1);  // one more than asked: tells whether more follow

  DocPage page;
  page.items.reserve(static_cast<size_t>(std::min(query.limit, 100)));
  while (true) {
    ATOMCUT_ASSIGN_OR_RETURN(bool row, st.step("list documents"));
    if (!row) break;
    if (static_cast<int>(page.items.size()) == query.limit) {
      page.next_after_id = page.items.back().id;
      break;
    }
    ATOMCUT_ASSIGN_OR_RETURN(DocRecord r, read_doc(st));
    page.items.push_back(std::move(r));
  }
  return page;
}

Result<std::vector<DocRecord>> list_docs_by_root_on(Connection& c, const Scope& scope,
                                                    std::string_view root_id) {
  if (root_id.empty()) {
    return Error::invalid_argument("documents by root: root_id must be non-empty");
  }
  ATOMCUT_ASSIGN_OR_RETURN(
      Stmt st, c.prepare(fmt::format("SELECT {} FROM documents WHERE tenant_id = ?1 AND env = ?2 "
                                     "AND root_id = ?3 ORDER BY collection, id",
                                     kDocColumns)));
  st.bind(1, scope.tenant_id);
  st.bind(2, scope.env);
  st.bind(3, root_id);
  std::vector<DocRecord> records;
  while (true) {
    ATOMCUT_ASSIGN_OR_RETURN(bool row, st.step("list documents by root"));
    if (!row) break;
    ATOMCUT_ASSIGN_OR_RETURN(DocRecord r, read_doc(st));
    records.push_back(std::move(r));
  }
  return records;
}

// The DocTransaction handed to a transact_docs body: the writer connection (inside the open
// transaction) and the scope. Lives only while the body runs.
class SqliteDocTransaction final : public DocTransaction {
 public:
  SqliteDocTransaction(Connection& c, const Scope& scope) : c_(c), scope_(scope) {}

  Result<DocRecord> get(std::string_view collection, std::string_view id) override {
    return guarded("DocTransaction::get",
                   [&]() -> Result<DocRecord> { return get_doc_on(c_, scope_, collection, id); });
  }

  Status insert(const DocRecord& r) override {
    return guarded("DocTransaction::insert", [&]() -> Status {
      ATOMCUT_ASSIGN_OR_RETURN(std::string doc, prepare_doc_write(r, scope_));
      ATOMCUT_ASSIGN_OR_RETURN(Stmt st,
                               c_.prepare(fmt::format("INSERT INTO documents ({}) "
                                                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                                                      kDocColumns)));
      st.bind(1, r.collection);
      st.bind(2, r.id);
      st.bind(3, r.tenant_id);
      st.bind(4, r.env);
      st.bind(5, r.parent_id);
      st.bind(6, r.root_id);
      st.bind(7, r.created_at_ms);
      st.bind(8, r.updated_at_ms);
      st.bind(9, doc);
      if (Status s = st.run("insert document"); !s.ok()) {
        if (s.error().code == ErrorCode::kAlreadyExists) {
          return Error::already_exists(
              fmt::format("document '{}' already exists", doc_key(r.collection, r.id)),
              {{"collection", r.collection}, {"id", r.id}});
        }
        return s;
      }
      return {};
    });
  }

  Status update(const DocRecord& r) override {
    return guarded("DocTransaction::update", [&]() -> Status {
      ATOMCUT_ASSIGN_OR_RETURN(std::string doc, prepare_doc_write(r, scope_));
      ATOMCUT_ASSIGN_OR_RETURN(
          Stmt st, c_.prepare("UPDATE documents SET parent_id = ?5, root_id = ?6, "
                              "updated_at_ms = ?7, doc = ?8 "
                              "WHERE collection = ?1 AND id = ?2 AND tenant_id = ?3 AND env = ?4"));
      st.bind(1, r.collection);
      st.bind(2, r.id);
      st.bind(3, scope_.tenant_id);
      st.bind(4, scope_.env);
      st.bind(5, r.parent_id);
      st.bind(6, r.root_id);
      st.bind(7, r.updated_at_ms);
      st.bind(8, doc);
      ATOMCUT_TRY(st.run("update document"));
      if (c_.changes() == 0) return doc_not_found(r.collection, r.id);
      return {};
    });
  }

  Status remove(std::string_view collection, std::string_view id) override {
    return guarded("DocTransaction::remove", [&]() -> Status {
      ATOMCUT_TRY(validate_doc_key(collection, id));
      ATOMCUT_ASSIGN_OR_RETURN(
          Stmt st, c_.prepare("DELETE FROM documents "
                              "WHERE collection = ?1 AND id = ?2 AND tenant_id = ?3 AND env = ?4"));
      st.bind(1, collection);
      st.bind(2, id);
      st.bind(3, scope_.tenant_id);
      st.bind(4, scope_.env);
      ATOMCUT_TRY(st.run("remove document"));
      if (c_.changes() == 0) return doc_not_found(collection, id);
      return {};
    });
  }

  Result<DocPage> list(std::string_view collection, const DocQuery& query) override {
    return guarded("DocTransaction::list", [&]() -> Result<DocPage> {
      return list_docs_on(c_, scope_, collection, query);
    });
  }

  Result<std::vector<DocRecord>> list_by_root(std::string_view root_id) override {
    return guarded("DocTransaction::list_by_root", [&]() -> Result<std::vector<DocRecord>> {
      return list_docs_by_root_on(c_, scope_, root_id);
    });
  }

 private:
  Connection& c_;
  const Scope scope_;
};

// The stores whose writer this thread holds (inside a write transaction), so a nested write
// from a transact_docs body fails instead of waiting for itself.
thread_local std::vector<const void*> t_writing_stores;

class WritingMark {
 public:
  explicit WritingMark(const void* store) : store_(store) { t_writing_stores.push_back(store); }
  ~WritingMark() {
    auto it = std::find(t_writing_stores.rbegin(), t_writing_stores.rend(), store_);
    if (it != t_writing_stores.rend()) t_writing_stores.erase(std::next(it).base());
  }
  WritingMark(const WritingMark&) = delete;
  WritingMark& operator=(const WritingMark&) = delete;

  static bool held(const void* store) {
    return std::find(t_writing_stores.begin(), t_writing_stores.end(), store) !=
           t_writing_stores.end();
  }

 private:
  const void* store_;
};

}  // namespace
}  // namespace sqlite_internal

using sqlite_internal::Connection;
using sqlite_internal::Stmt;

// A reader connection borrowed from the pool; returned when the lease is destroyed. Declare the
// lease before any Stmt taken from it so the statement is reset first.
class SqliteMetadataStore::ReaderLease {
 public:
  ReaderLease(SqliteMetadataStore* store, std::unique_ptr<Connection> conn)
      : store_(store), conn_(std::move(conn)) {}
  ReaderLease(ReaderLease&& o) noexcept : store_(o.store_), conn_(std::move(o.conn_)) {}
  ReaderLease& operator=(ReaderLease&&) = delete;
  ~ReaderLease() {
    if (conn_) store_->release_reader(std::move(conn_));
  }
  Connection* operator->() const { return conn_.get(); }
  Connection& operator*() const { return *conn_; }

 private:
  SqliteMetadataStore* store_;
  std::unique_ptr<Connection> conn_;
};

namespace {

Error as_open_error(const std::string& path, Error e) {
  if (e.code == ErrorCode::kFailedPrecondition || e.code == ErrorCode::kInvalidArgument) return e;
  return Error::unavailable(fmt::format("cannot open metadata database '{}': {}", path, e.message),
                            e.details);
}

}  // namespace

int SqliteMetadataStore::latest_schema_version() {
  return sqlite_internal::kMigrations[std::size(sqlite_internal::kMigrations) - 1].version;
}

Result<std::unique_ptr<MetadataStore>> SqliteMetadataStore::open(const std::string& path) {
  return sqlite_internal::guarded("open", [&]() -> Result<std::unique_ptr<MetadataStore>> {
    if (path.empty() || path == ":memory:") {
      return Error::invalid_argument(fmt::format(
          "metadata database path '{}': a file path is required (the store pools several "
          "connections to one file, which an in-memory database cannot share)",
          path));
    }
    auto writer = Connection::open(path, Connection::Role::kWriter);
    if (!writer.ok()) return as_open_error(path, writer.take_error());
    if (Status s = sqlite_internal::migrate(**writer); !s.ok()) {
      return as_open_error(path, s.take_error());
    }
    std::unique_ptr<SqliteMetadataStore> store(
        new SqliteMetadataStore(path, std::move(writer).value()));
    {
      // Open one reader now so a file readers cannot use fails here, not on the first request.
      auto lease = store->acquire_reader();
      if (!lease.ok()) return as_open_error(path, lease.take_error());
    }
    return std::unique_ptr<MetadataStore>(std::move(store));
  });
}

SqliteMetadataStore::SqliteMetadataStore(std::string path, std::unique_ptr<Connection> writer)
    : path_(std::move(path)), writer_(std::move(writer)) {}

SqliteMetadataStore::~SqliteMetadataStore() {
  // Refreshes the planner statistics when they are stale; cheap, and failure is harmless.
  if (writer_) (void)writer_->exec("PRAGMA optimize", "optimize");
}

Result<SqliteMetadataStore::ReaderLease> SqliteMetadataStore::acquire_reader() {
  {
    std::unique_lock lock(readers_mu_);
    readers_cv_.wait(lock, [&] {
      return !idle_readers_.empty() || open_readers_ < sqlite_internal::kMaxReaders;
    });
    if (!idle_readers_.empty()) {
      std::unique_ptr<Connection> conn = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return ReaderLease(this, std::move(conn));
    }
    ++open_readers_;
  }
  // Opened outside the lock: it touches the file.
  auto conn = Connection::open(path_, Connection::Role::kReader);
  if (!conn.ok()) {
    {
      std::lock_guard lock(readers_mu_);
      --open_readers_;
    }
    readers_cv_.notify_one();
    return conn.take_error();
  }
  return ReaderLease(this, std::move(conn).value());
}

void SqliteMetadataStore::release_reader(std::unique_ptr<Connection> conn) {
  {
    std::lock_guard lock(readers_mu_);
    idle_readers_.push_back(std::move(conn));
  }
  readers_cv_.notify_one();
}

template <typename Body>
auto SqliteMetadataStore::write_transaction(Body&& body) {
  using R = decltype(body(std::declval<Connection&>()));
  if (sqlite_internal::WritingMark::held(this)) {
    return R(Error::failed_precondition(
        "metadata store: a write was started from inside a transact_docs body on the same store; "
        "use the DocTransaction, or write after the body returns"));
  }
  std::lock_guard lock(writer_mu_);
  sqlite_internal::WritingMark mark(this);
  Connection& c = *writer_;
  if (Status s = c.exec("BEGIN IMMEDIATE", "begin write transaction"); !s.ok()) {
    return R(s.take_error());
  }
  struct Rollback {
    Connection& c;
    bool armed = true;
    ~Rollback() {
      if (armed && c.in_transaction()) sqlite3_exec(c.db(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
  } rollback{c};
  R result = body(c);
  if (!result.ok()) return result;
  if (Status s = c.exec("COMMIT", "commit write transaction"); !s.ok()) return R(s.take_error());
  rollback.armed = false;
  return result;
}

// --- media assets ---

Status SqliteMetadataStore::insert_asset(const MediaAsset& a) {
  return sqlite_internal::guarded("insert_asset", [&]() -> Status {
    ATOMCUT_TRY(sqlite_internal::require_scoped_record("asset", a.id, a.tenant_id, a.env));
    ATOMCUT_ASSIGN_OR_RETURN(std::string doc,
                             sqlite_internal::dump_record(to_record_json(a), "asset", a.id));
    return write_transaction([&](Connection& c) -> Status {
      ATOMCUT_ASSIGN_OR_RETURN(
          Stmt st, c.prepare("INSERT INTO media_assets (id, tenant_id, env, kind, source_ref, "
                             "created_at_ms, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
      st.bind(1, a.id);
      st.bind(2, a.tenant_id);
      st.bind(3, a.env);
      st.bind(4, media_kind_name(a.kind));
      st.bind(5, a.source_ref);
      st.bind(6, a.created_at_ms);
      st.bind(7, doc);
      if (Status s = st.run("insert asset"); !s.ok()) {
        if (s.error().code == ErrorCode::kAlreadyExists) {
          return Error::already_exists(fmt::format("asset '{}' already exists", a.id),
                                       {{"asset_id", a.id}});
        }
        return s;
      }
      return sqlite_internal::insert_tags(c, a);
    });
  });
}

Status SqliteMetadataStore::update_asset(const MediaAsset& a) {
  return sqlite_internal::guarded("update_asset", [&]() -> Status {
    ATOMCUT_TRY(sqlite_internal::require_scoped_record("asset", a.id, a.tenant_id, a.env));
    ATOMCUT_ASSIGN_OR_RETURN(std::string doc,
                             sqlite_internal::dump_record(to_record_json(a), "asset", a.id));
    return write_transaction([&](Connection& c) -> Status {
      {
        ATOMCUT_ASSIGN_OR_RETURN(Stmt st,
                                 c.prepare("UPDATE media_assets SET kind = ?4, source_ref = ?5, "
                                           "created_at_ms = ?6, doc = ?7 "
                                           "WHERE id = ?1 AND tenant_id = ?2 AND env = ?3"));
        st.bind(1, a.id);
        st.bind(2, a.tenant_id);
        st.bind(3, a.env);
        st.bind(4, media_kind_name(a.kind));
        st.bind(5, a.source_ref);
        st.bind(6, a.created_at_ms);
        st.bind(7, doc);
        ATOMCUT_TRY(st.run("update asset"));
        if (c.changes() == 0) return sqlite_internal::asset_not_found(a.id);
      }
      {
        ATOMCUT_ASSIGN_OR_RETURN(Stmt st,
                                 c.prepare("DELETE FROM asset_tags "
                                           "WHERE tenant_id = ?1 AND env = ?2 AND asset_id = ?3"));
        st.bind(1, a.tenant_id);
        st.bind(2, a.env);
        st.bind(3, a.id);
        ATOMCUT_TRY(st.run("delete asset tags"));
      }
      return sqlite_internal::insert_tags(c, a);
    });
  });
}

Result<MediaAsset> SqliteMetadataStore::get_asset(const Scope& scope, std::string_view asset_id) {
  return sqlite_internal::guarded("get_asset", [&]() -> Result<MediaAsset> {
    ATOMCUT_ASSIGN_OR_RETURN(ReaderLease lease, acquire_reader());
    ATOMCUT_ASSIGN_OR_RETURN(Stmt st,
                             lease->prepare("SELECT doc FROM media_assets "
                                            "WHERE id = ?1 AND tenant_id = ?2 AND env = ?3"));
    st.bind(1, asset_id);
    st.bind(2, scope.tenant_id);
    st.bind(3, scope.env);
    ATOMCUT_ASSIGN_OR_RETURN(bool found, st.step("get asset"));
    if (!found) return sqlite_internal::asset_not_found(asset_id);
    return sqlite_internal::parse_asset(st.text(0), asset_id, scope);
  });
}

Result<Page<MediaAsset>> SqliteMetadataStore::list_assets(
    const Scope& scope, const AssetFilter& filter, int limit,
    std::optional<std::string_view> after_id) {
  return sqlite_internal::guarded("list_assets", [&]() -> Result<Page<MediaAsset>> {
    if (limit < 1 || limit > 1000) {
      return Error::invalid_argument(
          fmt::format("limit must be between 1 and 1000 (got {})", limit), {{"limit", limit}});
    }
    // One cached statement per combination of filters (at most 16). Parameter numbers are fixed
    // so binding does not depend on which clauses are present.
    std::string sql;
    std::string_view id_column;
    if (filter.tag) {
      // Driven by the tag index in asset_id order, so a page stops after limit + 1 rows however
      // many assets carry the tag. asset_tags' primary key lists each asset once per tag.
      sql =
          "SELECT a.id, a.doc FROM asset_tags t JOIN media_assets a "
          "ON a.tenant_id = t.tenant_id AND a.env = t.env AND a.id = t.asset_id "
          "WHERE t.tenant_id = ?1 AND t.env = ?2 AND t.tag = ?5";
      id_column = "t.asset_id";
    } else {
      sql = "SELECT a.id, a.doc FROM media_assets a WHERE a.tenant_id = ?1 AND a.env = ?2";
      id_column = "a.id";
    }
    if (filter.kind) sql += " AND a.kind = ?3";
    if (filter.source_ref) sql += " AND a.source_ref = ?4";
    if (after_id) sql += fmt::format(" AND {} > ?6", id_column);
    sql += fmt::format(" ORDER BY {} LIMIT ?7", id_column);

    ATOMCUT_ASSIGN_OR_RETURN(ReaderLease lease, acquire_reader());
    ATOMCUT_ASSIGN_OR_RETURN(Stmt st, lease->prepare(sql));
    st.bind(1, scope.tenant_id);
    st.bind(2, scope.env);
    if (filter.kind) st.bind(3, media_kind_name(*filter.kind));
    if (filter.source_ref) st.bind(4, *filter.source_ref);
    if (filter.tag) st.bind(5, *filter.tag);
    if (after_id) st.bind(6, *after_id);
    st.bind(7, int64_t{limit} + 1);  // one more than asked: tells whether more follow

    Page<MediaAsset> page;
    page.items.reserve(static_cast<size_t>(limit));
    while (true) {
      ATOMCUT_ASSIGN_OR_RETURN(bool row, st.step("list assets"));
      if (!row) break;
      if (static_cast<int>(page.items.size()) == limit) {
        page.next_after_id = page.items.back().id;
        break;
      }
      ATOMCUT_ASSIGN_OR_RETURN(MediaAsset asset,
                               sqlite_internal::parse_asset(st.text(1), st.text(0), scope));
      page.items.push_back(std::move(asset));
    }
    return page;
  });
}

Result<std::vector<DerivedArtifact>> SqliteMetadataStore::delete_asset(const Scope& scope,
                                                                       std::string_view asset_id) {
  using Artifacts = std::vector<DerivedArtifact>;
  return sqlite_internal::guarded("delete_asset", [&]() -> Result<Artifacts> {
    return write_transaction([&](Connection& c) -> Result<Artifacts> {
      {
        ATOMCUT_ASSIGN_OR_RETURN(Stmt st,
                                 c.prepare("SELECT 1 FROM media_assets "
                                           "WHERE id = ?1 AND tenant_id = ?2 AND env = ?3"));
        st.bind(1, asset_id);
        st.bind(2, scope.tenant_id);
        st.bind(3, scope.env);
        ATOMCUT_ASSIGN_OR_RETURN(bool found, st.step("find asset to delete"));
        if (!found) return sqlite_internal::asset_not_found(asset_id);
      }
      Artifacts deleted;
      {
        ATOMCUT_ASSIGN_OR_RETURN(
            Stmt st, c.prepare("SELECT id, doc FROM media_artifacts "
                               "WHERE tenant_id = ?1 AND env = ?2 AND parent_asset_id = ?3 "
                               "ORDER BY id"));
        st.bind(1, scope.tenant_id);
        st.bind(2, scope.env);
        st.bind(3, asset_id);
        while (true) {
          ATOMCUT_ASSIGN_OR_RETURN(bool row, st.step("read artifacts to delete"));
          if (!row) break;
          ATOMCUT_ASSIGN_OR_RETURN(DerivedArtifact artifact,
                                   sqlite_internal::parse_artifact(st.text(1), st.text(0), scope));
          deleted.push_back(std::move(artifact));
        }
      }
      // Children first: the foreign keys refuse to orphan them.
      static constexpr const char* kDeletes[][2] = {
          {"DELETE FROM media_artifacts WHERE tenant_id = ?1 AND env = ?2 AND parent_asset_id = ?3",
           "delete artifacts"},
          {"DELETE FROM asset_tags WHERE tenant_id = ?1 AND env = ?2 AND asset_id = ?3",
           "delete asset tags"},
          {"DELETE FROM media_assets WHERE tenant_id = ?1 AND env = ?2 AND id = ?3",
           "delete asset"},
      };
      for (const auto& [sql, what] : kDeletes) {
        ATOMCUT_ASSIGN_OR_RETURN(Stmt st, c.prepare(sql));
        st.bind(1, scope.tenant_id);
        st.bind(2, scope.env);
        st.bind(3, asset_id);
        ATOMCUT_TRY(st.run(what));
      }
      return deleted;
    });
  });
}

// --- derived artifacts ---

Status SqliteMetadataStore::insert_artifact(const DerivedArtifact& a) {
  return sqlite_internal::guarded("insert_artifact", [&]() -> Status {
    ATOMCUT_TRY(sqlite_internal::require_scoped_record("artifact", a.id, a.tenant_id, a.env));
    ATOMCUT_ASSIGN_OR_RETURN(std::string doc,
                             sqlite_internal::dump_record(to_record_json(a), "artifact", a.id));
    return write_transaction([&](Connection& c) -> Status {
      {
        ATOMCUT_ASSIGN_OR_RETURN(Stmt st,
                                 c.prepare("SELECT 1 FROM media_assets "
                                           "WHERE id = ?1 AND tenant_id = ?2 AND env = ?3"));
        st.bind(1, a.parent_asset_id);
        st.bind(2, a.tenant_id);
        st.bind(3, a.env);
        ATOMCUT_ASSIGN_OR_RETURN(bool found, st.step("find parent asset"));
        if (!found) {
          return Error::failed_precondition(
              fmt::format("artifact '{}': parent asset '{}' not found", a.id, a.parent_asset_id),
              {{"artifact_id", a.id}, {"parent_asset_id", a.parent_asset_id}});
        }
      }
      ATOMCUT_ASSIGN_OR_RETURN(
          Stmt st,
          c.prepare("INSERT INTO media_artifacts (id, tenant_id, env, parent_asset_id, kind, "
                    "created_at_ms, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
      st.bind(1, a.id);
      st.bind(2, a.tenant_id);
      st.bind(3, a.env);
      st.bind(4, a.parent_asset_id);
      st.bind(5, a.kind);
      st.bind(6, a.created_at_ms);
      st.bind(7, doc);
      if (Status s = st.run("insert artifact"); !s.ok()) {
        if (s.error().code == ErrorCode::kAlreadyExists) {
          return Error::already_exists(fmt::format("artifact '{}' already exists", a.id),
                                       {{"artifact_id", a.id}});
        }
        return s;
      }
      return {};
    });
  });
}

Result<DerivedArtifact> SqliteMetadataStore::get_artifact(const Scope& scope,
                                                          std::string_view artifact_id) {
  return sqlite_internal::guarded("get_artifact", [&]() -> Result<DerivedArtifact> {
    ATOMCUT_ASSIGN_OR_RETURN(ReaderLease lease, acquire_reader());
    ATOMCUT_ASSIGN_OR_RETURN(Stmt st,
                             lease->prepare("SELECT doc FROM media_artifacts "
                                            "WHERE id = ?1 AND tenant_id = ?2 AND env = ?3"));
    st.bind(1, artifact_id);
    st.bind(2, scope.tenant_id);
    st.bind(3, scope.env);
    ATOMCUT_ASSIGN_OR_RETURN(bool found, st.step("get artifact"));
    if (!found) return sqlite_internal::artifact_not_found(artifact_id);
    return sqlite_internal::parse_artifact(st.text(0), artifact_id, scope);
  });
}

Result<std::vector<DerivedArtifact>> SqliteMetadataStore::list_artifacts(
    const Scope& scope, std::string_view asset_id) {
  using Artifacts = std::vector<DerivedArtifact>;
  return sqlite_internal::guarded("list_artifacts", [&]() -> Result<Artifacts> {
    ATOMCUT_ASSIGN_OR_RETURN(ReaderLease lease, acquire_reader());
    ATOMCUT_ASSIGN_OR_RETURN(
        Stmt st, lease->prepare("SELECT id, doc FROM media_artifacts "
                                "WHERE tenant_id = ?1 AND env = ?2 AND parent_asset_id = ?3 "
                                "ORDER BY id"));
    st.bind(1, scope.tenant_id);
    st.bind(2, scope.env);
    st.bind(3, asset_id);
    Artifacts artifacts;
    while (true) {
      ATOMCUT_ASSIGN_OR_RETURN(bool row, st.step("list artifacts"));
      if (!row) break;
      ATOMCUT_ASSIGN_OR_RETURN(DerivedArtifact artifact,
                               sqlite_internal::parse_artifact(st.text(1), st.text(0), scope));
      artifacts.push_back(std::move(artifact));
    }
    return artifacts;
  });
}

// --- API keys ---

Status SqliteMetadataStore::insert_api_key(const ApiKey& k) {
  return sqlite_internal::guarded("insert_api_key", [&]() -> Status {
    ATOMCUT_TRY(sqlite_internal::require_scoped_record("api key", k.id, k.tenant_id, k.env));
    if (k.key_hash.empty()) {
      return Error::invalid_argument(fmt::format("api key '{}': key_hash is empty", k.id));
    }
    return write_transaction([&](Connection& c) -> Status {
      ATOMCUT_ASSIGN_OR_RETURN(Stmt st,
                               c.prepare(fmt::format("INSERT INTO api_keys ({}) "
                                                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                                                     sqlite_internal::kApiKeyColumns)));
      st.bind(1, k.id);
      st.bind(2, k.tenant_id);
      st.bind(3, k.env);
      st.bind(4, k.key_hash);
      st.bind(5, k.key_prefix);
      st.bind(6, k.label);
      st.bind(7, k.created_at_ms);
      st.bind(8, k.revoked_at_ms);
      if (Status s = st.run("insert api key"); !s.ok()) {
        if (s.error().code == ErrorCode::kAlreadyExists) {
          if (s.error().details.value("sqlite_code", 0) == SQLITE_CONSTRAINT_UNIQUE) {
            return Error::already_exists(
                fmt::format("api key '{}': another key has the same key_hash", k.id),
                {{"key_id", k.id}});
          }
          return Error::already_exists(fmt::format("api key '{}' already exists", k.id),
                                       {{"key_id", k.id}});
        }
        return s;
      }
      return {};
    });
  });
}

Result<ApiKey> SqliteMetadataStore::find_api_key_by_hash(std::string_view key_hash) {
  return sqlite_internal::guarded("find_api_key_by_hash", [&]() -> Result<ApiKey> {
    ATOMCUT_ASSIGN_OR_RETURN(ReaderLease lease, acquire_reader());
    ATOMCUT_ASSIGN_OR_RETURN(
        Stmt st, lease->prepare(fmt::format("SELECT {} FROM api_keys WHERE key_hash = ?1",
                                            sqlite_internal::kApiKeyColumns)));
    st.bind(1, key_hash);
    ATOMCUT_ASSIGN_OR_RETURN(bool found, st.step("find api key"));
    // The hash is not echoed: it identifies a credential.
    if (!found) return Error::not_found("no api key has this key_hash");
    return sqlite_internal::read_api_key(st);
  });
}

Result<std::vector<ApiKey>> SqliteMetadataStore::list_api_keys(const std::optional<Scope>& scope) {
  return sqlite_internal::guarded("list_api_keys", [&]() -> Result<std::vector<ApiKey>> {
    ATOMCUT_ASSIGN_OR_RETURN(ReaderLease lease, acquire_reader());
    ATOMCUT_ASSIGN_OR_RETURN(
        Stmt st,
        lease->prepare(scope ? fmt::format("SELECT {} FROM api_keys WHERE tenant_id = ?1 AND "
                                           "env = ?2 ORDER BY id",
                                           sqlite_internal::kApiKeyColumns)
                             : fmt::format("SELECT {} FROM api_keys ORDER BY id",
                                           sqlite_internal::kApiKeyColumns)));
    if (scope) {
      st.bind(1, scope->tenant_id);
      st.bind(2, scope->env);
    }
    std::vector<ApiKey> keys;
    while (true) {
      ATOMCUT_ASSIGN_OR_RETURN(bool row, st.step("list api keys"));
      if (!row) break;
      keys.push_back(sqlite_internal::read_api_key(st));
    }
    return keys;
  });
}

Status SqliteMetadataStore::revoke_api_key(std::string_view key_id, int64_t revoked_at_ms) {
  return sqlite_internal::guarded("revoke_api_key", [&]() -> Status {
    return write_transaction([&](Connection& c) -> Status {
      // A key revoked twice keeps its first revocation time.
      ATOMCUT_ASSIGN_OR_RETURN(
          Stmt st, c.prepare("UPDATE api_keys SET revoked_at_ms = COALESCE(revoked_at_ms, ?2) "
                             "WHERE id = ?1"));
      st.bind(1, key_id);
      st.bind(2, revoked_at_ms);
      ATOMCUT_TRY(st.run("revoke api key"));
      if (c.changes() == 0) {
        return Error::not_found(fmt::format("api key '{}' not found", key_id),
                                {{"key_id", key_id}});
      }
      return {};
    });
  });
}

// --- documents ---

Status SqliteMetadataStore::transact_docs(const Scope& scope,
                                          const std::function<Status(DocTransaction&)>& body) {
  return sqlite_internal::guarded("transact_docs", [&]() -> Status {
    ATOMCUT_TRY(sqlite_internal::validate_scope(scope));
    return write_transaction([&](Connection& c) -> Status {
      sqlite_internal::SqliteDocTransaction txn(c, scope);
      Status s;
      try {
        s = body(txn);
      } catch (const std::exception& e) {
        s = Error::internal(
            fmt::format("transact_docs: the body threw (rolled back): {}", e.what()));
      } catch (...) {
        s = Error::internal("transact_docs: the body threw a non-standard exception (rolled back)");
      }
      return s;
    });
  });
}

Result<DocRecord> SqliteMetadataStore::get_doc(const Scope& scope, std::string_view collection,
                                               std::string_view id) {
  return sqlite_internal::guarded("get_doc", [&]() -> Result<DocRecord> {
    ATOMCUT_ASSIGN_OR_RETURN(ReaderLease lease, acquire_reader());
    return sqlite_internal::get_doc_on(*lease, scope, collection, id);
  });
}

Result<DocPage> SqliteMetadataStore::list_docs(const Scope& scope, std::string_view collection,
                                               const DocQuery& query) {
  return sqlite_internal::guarded("list_docs", [&]() -> Result<DocPage> {
    ATOMCUT_TRY(sqlite_internal::validate_collection(collection));
    ATOMCUT_TRY(sqlite_internal::validate_doc_query(query));
    ATOMCUT_ASSIGN_OR_RETURN(ReaderLease lease, acquire_reader());
    return sqlite_internal::list_docs_on(*lease, scope, collection, query);
  });
}

Result<std::vector<DocRecord>> SqliteMetadataStore::list_docs_by_root(const Scope& scope,
                                                                      std::string_view root_id) {
  return sqlite_internal::guarded("list_docs_by_root", [&]() -> Result<std::vector<DocRecord>> {
    ATOMCUT_ASSIGN_OR_RETURN(ReaderLease lease, acquire_reader());
    return sqlite_internal::list_docs_by_root_on(*lease, scope, root_id);
  });
}

}  // namespace atomcut

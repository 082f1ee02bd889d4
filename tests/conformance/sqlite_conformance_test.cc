// The MetadataStore conformance suite against SQLite, plus what only SQLite has: the file on disk
// (WAL, schema_version, indexes), reopening, several stores on one file, lock contention and
// damaged records. The test inspects the file with the sqlite3 C API, as an operator would with
// the sqlite3 shell.
#include "conformance/metadata_store_conformance.h"
#include "core/ids.h"
#include "storage/sqlite/sqlite_metadata_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

namespace atomcut {
namespace {

namespace fs = std::filesystem;
using conformance::MetadataStoreConformance;
using conformance::MetadataStoreFactory;

// A fresh directory under the system temp dir, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "atomcut-sqlite-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed";
      return;
    }
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Every conformance test gets its own directory and database file. The directories live under
// one root that is removed when the test binary exits.
std::unique_ptr<MetadataStore> make_sqlite_store() {
  static TempDir root;
  static std::atomic<int> counter{0};
  fs::path dir = root.path() / ("store-" + std::to_string(counter++));
  fs::create_directories(dir);
  auto store = SqliteMetadataStore::open((dir / "atomcut.db").string());
  if (!store.ok()) {
    ADD_FAILURE() << "open: " << store.error().message;
    return nullptr;
  }
  return std::move(store).value();
}

INSTANTIATE_TEST_SUITE_P(Sqlite, MetadataStoreConformance,
                         ::testing::Values(MetadataStoreFactory{"Sqlite", make_sqlite_store}),
                         conformance::metadata_store_factory_name);

// --- direct access to the file, for inspection and for damaging it on purpose ---

class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "raw open " << path << ": " << sqlite3_errmsg(db_);
    }
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  void exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << (err ? err : "?");
    }
    sqlite3_free(err);
  }

  // Every row of a query, each column as text ("NULL" for null).
  std::vector<std::vector<std::string>> rows(const std::string& sql) {
    std::vector<std::vector<std::string>> out;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
      return out;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(st, c));
        row.push_back(text ? text : "NULL");
      }
      out.push_back(std::move(row));
    }
    sqlite3_finalize(st);
    return out;
  }

  std::string scalar(const std::string& sql) {
    auto r = rows(sql);
    return r.empty() || r[0].empty() ? std::string() : r[0][0];
  }

 private:
  sqlite3* db_ = nullptr;
};

const Scope kScope{"t_acme", "prod"};

MediaAsset make_asset(const Scope& scope = kScope) {
  MediaAsset a;
  a.id = new_id("ast");
  a.tenant_id = scope.tenant_id;
  a.env = scope.env;
  a.kind = MediaKind::kAudio;
  a.source_uri = "file:///x.wav";
  a.tags = {"t"};
  a.created_at_ms = 1'700'000'000'000;
  return a;
}

DerivedArtifact make_artifact(const MediaAsset& parent) {
  DerivedArtifact a;
  a.id = new_id("art");
  a.parent_asset_id = parent.id;
  a.tenant_id = parent.tenant_id;
  a.env = parent.env;
  a.kind = "frame";
  a.uri = "file:///f.png";
  return a;
}

ApiKey make_key(const Scope& scope = kScope) {
  ApiKey k;
  k.id = new_id("key");
  k.tenant_id = scope.tenant_id;
  k.env = scope.env;
  k.key_hash = random_hex(32);
  k.key_prefix = "ak_" + k.key_hash.substr(0, 6);
  k.label = "cli";
  k.created_at_ms = 1'700'000'000'000;
  return k;
}

class SqliteMetadataStoreTest : public ::testing::Test {
 protected:
  std::string db_path() const { return (dir_.path() / "atomcut.db").string(); }

  std::unique_ptr<MetadataStore> open_store() {
    auto store = SqliteMetadataStore::open(db_path());
    EXPECT_TRUE(store.ok()) << store.error().message;
    return store.ok() ? std::move(store).value() : nullptr;
  }

  TempDir dir_;
};

TEST_F(SqliteMetadataStoreTest, NewFileIsInWalMode) {
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  RawDb raw(db_path());
  EXPECT_EQ(raw.scalar("PRAGMA journal_mode"), "wal");
}

TEST_F(SqliteMetadataStoreTest, SchemaVersionRecordsEveryMigrationOnce) {
  ASSERT_NE(open_store(), nullptr);
  RawDb raw(db_path());
  const int latest = SqliteMetadataStore::latest_schema_version();
  ASSERT_GE(latest, 1);
  auto versions = raw.rows(
      "SELECT version, description, applied_at_ms FROM schema_version "
      "ORDER BY version");
  ASSERT_EQ(versions.size(), static_cast<size_t>(latest));
  for (int v = 1; v <= latest; ++v) {
    EXPECT_EQ(versions[v - 1][0], std::to_string(v));
    EXPECT_FALSE(versions[v - 1][1].empty());
    EXPECT_GT(std::stoll(versions[v - 1][2]), 0);
  }
  for (const char* table :
       {"media_assets", "media_artifacts", "asset_tags", "api_keys", "documents"}) {
    EXPECT_EQ(raw.scalar(std::string("SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                                     "AND name = '") +
                         table + "'"),
              "1")
        << table;
  }
}

// Every index on tenant data leads with (tenant_id, env); the only exceptions are the global
// uniqueness constraints on record ids and api key hashes.
TEST_F(SqliteMetadataStoreTest, TenantIndexesLeadWithTenantAndEnv) {
  ASSERT_NE(open_store(), nullptr);
  RawDb raw(db_path());
  auto indexes = raw.rows(
      "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND tbl_name IN "
      "('media_assets', 'media_artifacts', 'asset_tags', 'api_keys', 'documents')");
  ASSERT_FALSE(indexes.empty());
  int tenant_leading = 0;
  for (const auto& index : indexes) {
    auto cols = raw.rows("SELECT name FROM pragma_index_info('" + index[0] + "') ORDER BY seqno");
    std::vector<std::string> names;
    for (const auto& c : cols) names.push_back(c[0]);
    SCOPED_TRACE(index[1] + "." + index[0]);
    if (names.size() >= 2 && names[0] == "tenant_id" && names[1] == "env") {
      ++tenant_leading;
      continue;
    }
    const bool global_unique =
        names == std::vector<std::string>{"id"} ||
        (index[1] == "api_keys" && names == std::vector<std::string>{"key_hash"}) ||
        (index[1] == "documents" && names == std::vector<std::string>{"collection", "id"});
    EXPECT_TRUE(global_unique) << "index does not lead with (tenant_id, env)";
  }
  EXPECT_GE(tenant_leading, 8);
}

// The scoped lookups use an index, never a scan of the whole table.
TEST_F(SqliteMetadataStoreTest, ScopedQueriesUseIndexes) {
  ASSERT_NE(open_store(), nullptr);
  RawDb raw(db_path());
  for (const char* sql : {
           "SELECT id, doc FROM media_assets WHERE tenant_id = 'a' AND env = 'b' "
           "AND id > 'x' ORDER BY id LIMIT 11",
           "SELECT a.id, a.doc FROM asset_tags t JOIN media_assets a ON a.tenant_id = t.tenant_id "
           "AND a.env = t.env AND a.id = t.asset_id WHERE t.tenant_id = 'a' AND t.env = 'b' "
           "AND t.tag = 't' AND a.kind = 'video' AND t.asset_id > 'x' ORDER BY t.asset_id LIMIT 11",
           "SELECT a.id, a.doc FROM media_assets a WHERE a.tenant_id = 'a' AND a.env = 'b' "
           "AND a.kind = 'audio' AND a.id > 'x' ORDER BY a.id LIMIT 11",
           "SELECT doc FROM media_assets WHERE id = 'x' AND tenant_id = 'a' AND env = 'b'",
           "SELECT id, doc FROM media_artifacts WHERE tenant_id = 'a' AND env = 'b' "
           "AND parent_asset_id = 'p' ORDER BY id",
           "SELECT id FROM api_keys WHERE tenant_id = 'a' AND env = 'b' ORDER BY id",
       }) {
    auto plan = raw.rows(std::string("EXPLAIN QUERY PLAN ") + sql);
    EXPECT_FALSE(plan.empty()) << sql;
    for (const auto& row : plan) {
      const std::string& detail = row.back();
      EXPECT_EQ(detail.find("SCAN"), std::string::npos) << sql << "\n  plan: " << detail;
      EXPECT_EQ(detail.find("TEMP B-TREE"), std::string::npos) << sql << "\n  plan: " << detail;
    }
  }
}

// The document listings search an index by (tenant_id, env, ...) and need no sort; a lookup by
// key uses the primary key.
TEST_F(SqliteMetadataStoreTest, DocumentQueriesUseScopedIndexes) {
  ASSERT_NE(open_store(), nullptr);
  RawDb raw(db_path());
  const std::string cols =
      "collection, id, tenant_id, env, parent_id, root_id, created_at_ms, updated_at_ms, doc";
  const std::string list = "SELECT " + cols +
                           " FROM documents WHERE tenant_id = 'a' AND env = 'b' AND "
                           "collection = 'c'";
  struct Query {
    std::string sql;
    bool scoped_index;  // must search an index leading with (tenant_id, env)
  };
  for (const Query& q : std::vector<Query>{
           {list + " ORDER BY id LIMIT 11", true},
           {list + " AND id > 'x' ORDER BY id LIMIT 11", true},
           {list + " AND parent_id = 'p' ORDER BY id LIMIT 11", true},
           {list + " AND parent_id = 'p' AND id > 'x' ORDER BY id LIMIT 11", true},
           {list + " AND root_id = 'r' AND id > 'x' ORDER BY id LIMIT 11", true},
           {list + " AND parent_id = 'p' AND root_id = 'r' AND id > 'x' ORDER BY id LIMIT 11",
            true},
           {"SELECT " + cols +
                " FROM documents WHERE tenant_id = 'a' AND env = 'b' AND root_id = 'r' "
                "ORDER BY collection, id",
            true},
           {"SELECT " + cols +
                " FROM documents WHERE collection = 'c' AND id = 'x' AND tenant_id = 'a' AND "
                "env = 'b'",
            false},
       }) {
    auto plan = raw.rows("EXPLAIN QUERY PLAN " + q.sql);
    ASSERT_FALSE(plan.empty()) << q.sql;
    std::string details;
    for (const auto& row : plan) details += row.back() + "\n";
    EXPECT_EQ(details.find("SCAN"), std::string::npos) << q.sql << "\n  plan: " << details;
    EXPECT_EQ(details.find("TEMP B-TREE"), std::string::npos) << q.sql << "\n  plan: " << details;
    if (q.scoped_index) {
      EXPECT_NE(details.find("(tenant_id=? AND env=?"), std::string::npos)
          << q.sql << "\n  plan: " << details;
    }
  }
}

TEST_F(SqliteMetadataStoreTest, ReopeningKeepsDataAndDoesNotRerunMigrations) {
  MediaAsset a = make_asset();
  DerivedArtifact art = make_artifact(a);
  ApiKey k = make_key();
  {
    auto store = open_store();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->insert_asset(a).ok());
    ASSERT_TRUE(store->insert_artifact(art).ok());
    ASSERT_TRUE(store->insert_api_key(k).ok());
  }
  std::string applied_at;
  {
    RawDb raw(db_path());
    applied_at = raw.scalar("SELECT group_concat(applied_at_ms) FROM schema_version");
  }
  for (int round = 0; round < 2; ++round) {
    auto store = open_store();
    ASSERT_NE(store, nullptr);
    auto got = store->get_asset(kScope, a.id);
    ASSERT_TRUE(got.ok()) << got.error().message;
    EXPECT_EQ(got->tags, a.tags);
    auto arts = store->list_artifacts(kScope, a.id);
    ASSERT_TRUE(arts.ok());
    EXPECT_EQ(arts->size(), 1u);
    EXPECT_TRUE(store->find_api_key_by_hash(k.key_hash).ok());
    AssetFilter by_tag;
    by_tag.tag = "t";
    auto page = store->list_assets(kScope, by_tag, 10, std::nullopt);
    ASSERT_TRUE(page.ok());
    EXPECT_EQ(page->items.size(), 1u);
  }
  RawDb raw(db_path());
  EXPECT_EQ(raw.scalar("SELECT group_concat(applied_at_ms) FROM schema_version"), applied_at);
}

TEST_F(SqliteMetadataStoreTest, OpenRefusesASchemaNewerThanThisBinary) {
  ASSERT_NE(open_store(), nullptr);
  {
    RawDb raw(db_path());
    raw.exec("INSERT INTO schema_version (version, description, applied_at_ms) VALUES (" +
             std::to_string(SqliteMetadataStore::latest_schema_version() + 1) +
             ", 'from the future', 1)");
  }
  auto store = SqliteMetadataStore::open(db_path());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, ErrorCode::kFailedPrecondition) << store.error().message;
  EXPECT_NE(store.error().message.find("newer"), std::string::npos) << store.error().message;
}

TEST_F(SqliteMetadataStoreTest, OpenReportsWhatCannotBeOpened) {
  auto missing_dir = SqliteMetadataStore::open((dir_.path() / "no" / "such" / "a.db").string());
  ASSERT_FALSE(missing_dir.ok());
  EXPECT_EQ(missing_dir.error().code, ErrorCode::kUnavailable) << missing_dir.error().message;
  EXPECT_NE(missing_dir.error().message.find("a.db"), std::string::npos);

  const fs::path garbage = dir_.path() / "garbage.db";
  std::ofstream(garbage) << std::string(8192, 'x');
  auto not_a_db = SqliteMetadataStore::open(garbage.string());
  ASSERT_FALSE(not_a_db.ok());
  EXPECT_EQ(not_a_db.error().code, ErrorCode::kUnavailable) << not_a_db.error().message;

  for (const char* path : {"", ":memory:"}) {
    auto r = SqliteMetadataStore::open(path);
    ASSERT_FALSE(r.ok()) << path;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << r.error().message;
  }
}

TEST_F(SqliteMetadataStoreTest, OpenMetadataStoreAcceptsSqliteUrlsAndPlainPaths) {
  MediaAsset a = make_asset();
  {
    auto by_url = open_metadata_store("sqlite://" + db_path());
    ASSERT_TRUE(by_url.ok()) << by_url.error().message;
    ASSERT_TRUE((*by_url)->insert_asset(a).ok());
  }
  auto by_path = open_metadata_store(db_path());
  ASSERT_TRUE(by_path.ok()) << by_path.error().message;
  EXPECT_TRUE((*by_path)->get_asset(kScope, a.id).ok());

  auto unknown = open_metadata_store("mysql://localhost/atomcut");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kInvalidArgument);
}

// Like `atomcut keys create` running next to the server: two stores on one file.
TEST_F(SqliteMetadataStoreTest, TwoStoresOnOneFileSeeEachOthersWrites) {
  auto server = open_store();
  auto cli = open_store();
  ASSERT_NE(server, nullptr);
  ASSERT_NE(cli, nullptr);

  // Warm the server's readers first, so a stale cached read would show.
  EXPECT_FALSE(server->find_api_key_by_hash("x").ok());
  ApiKey k = make_key();
  ASSERT_TRUE(cli->insert_api_key(k).ok());
  auto found = server->find_api_key_by_hash(k.key_hash);
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_FALSE(found->revoked_at_ms.has_value());

  ASSERT_TRUE(cli->revoke_api_key(k.id, 42).ok());
  found = server->find_api_key_by_hash(k.key_hash);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->revoked_at_ms, std::optional<int64_t>(42));

  MediaAsset a = make_asset();
  ASSERT_TRUE(server->insert_asset(a).ok());
  EXPECT_TRUE(cli->get_asset(kScope, a.id).ok());
  ASSERT_TRUE(cli->insert_artifact(make_artifact(a)).ok());
  auto arts = server->list_artifacts(kScope, a.id);
  ASSERT_TRUE(arts.ok());
  EXPECT_EQ(arts->size(), 1u);
  auto deleted = cli->delete_asset(kScope, a.id);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->size(), 1u);
  EXPECT_EQ(server->get_asset(kScope, a.id).error().code, ErrorCode::kNotFound);
}

// 8 threads writing at once, through one store and through two stores on the same file (where
// only SQLite's file lock and busy_timeout keep them apart): no write fails with a busy error.
TEST_F(SqliteMetadataStoreTest, EightConcurrentWritersNeverFailBusy) {
  auto first = open_store();
  auto second = open_store();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 60;
  for (bool two_stores : {false, true}) {
    SCOPED_TRACE(two_stores ? "two stores" : "one store");
    std::atomic<int> failures{0};
    std::vector<std::string> errors(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      MetadataStore& store = (two_stores && t % 2 == 1) ? *second : *first;
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          MediaAsset a = make_asset();
          Status s = store.insert_asset(a);
          if (s.ok()) s = store.insert_artifact(make_artifact(a));
          if (s.ok()) s = store.insert_api_key(make_key());
          if (s.ok() && i % 3 == 0) {
            auto r = store.delete_asset(kScope, a.id);
            if (!r.ok()) s = r.take_error();
          }
          if (!s.ok()) {
            ++failures;
            errors[t] = s.error().message;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures.load(), 0);
    for (const std::string& e : errors) EXPECT_EQ(e, "");
  }
  auto keys = first->list_api_keys(std::nullopt);
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->size(), static_cast<size_t>(2 * kThreads * kPerThread));
}

// WAL: readers never wait for a writer, and a writer waits (busy_timeout) for another process's
// write transaction instead of failing.
TEST_F(SqliteMetadataStoreTest, ReadsProceedAndWritesWaitWhileAnotherProcessWrites) {
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  MediaAsset a = make_asset();
  ASSERT_TRUE(store->insert_asset(a).ok());

  RawDb other(db_path());
  other.exec("BEGIN IMMEDIATE");
  other.exec("UPDATE api_keys SET label = label");

  auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(store->get_asset(kScope, a.id).ok());
  EXPECT_TRUE(store->list_assets(kScope, {}, 10, std::nullopt).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));

  std::thread committer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    other.exec("COMMIT");
  });
  Status s = store->insert_asset(make_asset());
  committer.join();
  EXPECT_TRUE(s.ok()) << s.error().message;
}

TEST_F(SqliteMetadataStoreTest, DamagedRecordsAreDataLossNotExceptions) {
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  MediaAsset a = make_asset();
  DerivedArtifact art = make_artifact(a);
  ASSERT_TRUE(store->insert_asset(a).ok());
  ASSERT_TRUE(store->insert_artifact(art).ok());

  RawDb raw(db_path());
  for (const std::string& doc :
       {std::string("{not json"), std::string("[]"), std::string("{}"),
        std::string(R"({"id": 5, "tenant_id": "t_acme", "env": "prod"})"),
        // Parses, but claims another tenant: must not be served from this row.
        R"({"id": ")" + a.id + R"(", "tenant_id": "t_globex", "env": "prod"})"}) {
    SCOPED_TRACE(doc);
    raw.exec("UPDATE media_assets SET doc = '" + doc + "' WHERE id = '" + a.id + "'");
    raw.exec("UPDATE media_artifacts SET doc = '" + doc + "' WHERE id = '" + art.id + "'");
    EXPECT_NO_THROW({
      auto got = store->get_asset(kScope, a.id);
      ASSERT_FALSE(got.ok());
      EXPECT_EQ(got.error().code, ErrorCode::kDataLoss) << got.error().message;
      auto page = store->list_assets(kScope, {}, 10, std::nullopt);
      ASSERT_FALSE(page.ok());
      EXPECT_EQ(page.error().code, ErrorCode::kDataLoss);
      auto got_art = store->get_artifact(kScope, art.id);
      ASSERT_FALSE(got_art.ok());
      EXPECT_EQ(got_art.error().code, ErrorCode::kDataLoss) << got_art.error().message;
      auto arts = store->list_artifacts(kScope, a.id);
      ASSERT_FALSE(arts.ok());
      EXPECT_EQ(arts.error().code, ErrorCode::kDataLoss);
      // Deleting needs the artifacts' records (for their blobs): refused, nothing removed.
      auto deleted = store->delete_asset(kScope, a.id);
      ASSERT_FALSE(deleted.ok());
      EXPECT_EQ(deleted.error().code, ErrorCode::kDataLoss);
    });
    EXPECT_EQ(raw.scalar("SELECT count(*) FROM media_assets"), "1");
  }
  // Repairing the record makes it readable again.
  ASSERT_TRUE(store->update_asset(a).ok());
  EXPECT_TRUE(store->get_asset(kScope, a.id).ok());
}

// --- documents ---

DocRecord make_doc(const Scope& scope = kScope, std::string collection = "video_clips") {
  DocRecord r;
  r.collection = std::move(collection);
  r.id = new_id("doc");
  r.tenant_id = scope.tenant_id;
  r.env = scope.env;
  r.parent_id = "trk_1";
  r.root_id = "prj_1";
  r.created_at_ms = 1'700'000'000'000;
  r.updated_at_ms = 1'700'000'000'000;
  r.doc = {{"name", "clip"}};
  return r;
}

Status insert_doc(MetadataStore& store, const DocRecord& r) {
  return store.transact_docs(Scope{r.tenant_id, r.env},
                             [&](DocTransaction& txn) { return txn.insert(r); });
}

// A database written by a binary that knew only migration 1 gains the documents table on open
// and keeps its records.
TEST_F(SqliteMetadataStoreTest, OpeningAVersionOneFileAddsTheDocumentsTable) {
  MediaAsset a = make_asset();
  {
    auto store = open_store();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->insert_asset(a).ok());
  }
  {
    RawDb raw(db_path());
    raw.exec("DROP TABLE documents");
    raw.exec("DELETE FROM schema_version WHERE version > 1");
  }
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  RawDb raw(db_path());
  EXPECT_EQ(raw.scalar("SELECT max(version) FROM schema_version"),
            std::to_string(SqliteMetadataStore::latest_schema_version()));
  EXPECT_TRUE(store->get_asset(kScope, a.id).ok());
  DocRecord r = make_doc();
  ASSERT_TRUE(insert_doc(*store, r).ok());
  EXPECT_TRUE(store->get_doc(kScope, r.collection, r.id).ok());
}

// Any other write on the same store from inside a body would wait for the body's own
// transaction: it fails at once instead. Reads work (and do not see the uncommitted writes).
TEST_F(SqliteMetadataStoreTest, WritesFromInsideADocBodyAreFailedPreconditionNotADeadlock) {
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  MediaAsset a = make_asset();
  ApiKey k = make_key();
  ASSERT_TRUE(store->insert_asset(a).ok());
  ASSERT_TRUE(store->insert_api_key(k).ok());
  DocRecord r = make_doc();
  auto started = std::chrono::steady_clock::now();
  Status s = store->transact_docs(kScope, [&](DocTransaction& txn) -> Status {
    ATOMCUT_TRY(txn.insert(r));
    EXPECT_EQ(store->insert_asset(make_asset()).error().code, ErrorCode::kFailedPrecondition);
    EXPECT_EQ(store->update_asset(a).error().code, ErrorCode::kFailedPrecondition);
    EXPECT_EQ(store->delete_asset(kScope, a.id).error().code, ErrorCode::kFailedPrecondition);
    EXPECT_EQ(store->insert_artifact(make_artifact(a)).error().code,
              ErrorCode::kFailedPrecondition);
    EXPECT_EQ(store->insert_api_key(make_key()).error().code, ErrorCode::kFailedPrecondition);
    EXPECT_EQ(store->revoke_api_key(k.id, 1).error().code, ErrorCode::kFailedPrecondition);
    EXPECT_TRUE(store->get_asset(kScope, a.id).ok());
    EXPECT_EQ(store->get_doc(kScope, r.collection, r.id).error().code, ErrorCode::kNotFound);
    return {};
  });
  EXPECT_TRUE(s.ok()) << s.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  EXPECT_TRUE(store->get_doc(kScope, r.collection, r.id).ok());
  // Outside a body, writes work again.
  EXPECT_TRUE(store->insert_asset(make_asset()).ok());
}

// Two stores on one file (a CLI next to the server): their doc transactions serialise on the
// file lock, so read-modify-writes through both lose nothing.
TEST_F(SqliteMetadataStoreTest, DocTransactionsThroughTwoStoresOnOneFileLoseNoUpdates) {
  auto first = open_store();
  auto second = open_store();
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  DocRecord counter = make_doc(kScope, "counters");
  counter.doc = {{"n", 0}};
  ASSERT_TRUE(insert_doc(*first, counter).ok());
  constexpr int kThreads = 6;
  constexpr int kPerThread = 40;
  std::atomic<int> failures{0};
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    MetadataStore& store = t % 2 == 0 ? *first : *second;
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Status s = store.transact_docs(kScope, [&](DocTransaction& txn) -> Status {
          ATOMCUT_ASSIGN_OR_RETURN(DocRecord r, txn.get("counters", counter.id));
          r.doc["n"] = r.doc["n"].get<int>() + 1;
          return txn.update(r);
        });
        if (!s.ok()) {
          ++failures;
          errors[t] = s.error().message;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  for (const std::string& e : errors) EXPECT_EQ(e, "");
  auto got = second->get_doc(kScope, "counters", counter.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->doc["n"], kThreads * kPerThread);
}

TEST_F(SqliteMetadataStoreTest, DamagedDocumentsAreDataLossNotExceptions) {
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  DocRecord r = make_doc();
  ASSERT_TRUE(insert_doc(*store, r).ok());
  RawDb raw(db_path());
  for (const char* doc : {"{not json", "[]", "42", "\"text\""}) {
    SCOPED_TRACE(doc);
    raw.exec(std::string("UPDATE documents SET doc = '") + doc + "' WHERE id = '" + r.id + "'");
    EXPECT_NO_THROW({
      auto got = store->get_doc(kScope, r.collection, r.id);
      ASSERT_FALSE(got.ok());
      EXPECT_EQ(got.error().code, ErrorCode::kDataLoss) << got.error().message;
      auto page = store->list_docs(kScope, r.collection, {});
      ASSERT_FALSE(page.ok());
      EXPECT_EQ(page.error().code, ErrorCode::kDataLoss);
      auto by_root = store->list_docs_by_root(kScope, r.root_id);
      ASSERT_FALSE(by_root.ok());
      EXPECT_EQ(by_root.error().code, ErrorCode::kDataLoss);
      Status in_txn = store->transact_docs(kScope, [&](DocTransaction& txn) -> Status {
        return txn.get(r.collection, r.id).ok() ? Status() : Status(Error::data_loss("seen"));
      });
      EXPECT_EQ(in_txn.error().code, ErrorCode::kDataLoss);
    });
  }
  // Overwriting the record repairs it.
  ASSERT_TRUE(
      store->transact_docs(kScope, [&](DocTransaction& txn) { return txn.update(r); }).ok());
  auto got = store->get_doc(kScope, r.collection, r.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->doc, r.doc);
}

}  // namespace
}  // namespace atomcut

// FsBlobStore: atomic writes, ranged reads, folder removal, URI <-> key mapping and its refusals.
#include "storage/fs/fs_blob_store.h"

#include "core/sha256.h"
#include "storage/blob_store.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace atomcut {
namespace {

namespace fs = std::filesystem;

// Deterministic pseudo-random bytes (xorshift64), so failures reproduce.
std::string pseudo_random_bytes(size_t n, uint64_t seed) {
  std::string out(n, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x >> 56);
  }
  return out;
}

// Every non-directory entry below `dir`, relative to it, including the staging area.
std::set<std::string> files_under(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_directory()) out.insert(fs::relative(e.path(), dir).string());
  }
  return out;
}

class FsBlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "atomcut-fsblob-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    tmp_ = templ;
    root_ = tmp_ / "blobs";
    auto store = FsBlobStore::open(root_.string());
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(store).value();
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(tmp_, ec);
  }

  std::string read_all(const std::string& key, uint64_t offset = 0,
                       uint64_t length = std::numeric_limits<uint64_t>::max()) {
    std::string out;
    Status st = store_->read(key, offset, length, [&](const char* d, size_t n) {
      out.append(d, n);
      return true;
    });
    EXPECT_TRUE(st.ok()) << st.error().message;
    return out;
  }

  fs::path tmp_;
  fs::path root_;
  std::unique_ptr<BlobStore> store_;
};

TEST_F(FsBlobStoreTest, PutStatReadRoundTrip) {
  const std::string key = "tenants/t_a/dev/media_v2/ast_1/source.mp4";
  ASSERT_TRUE(store_->put(key, "hello blob").ok());
  auto info = store_->stat(key);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->size_bytes, 10u);
  EXPECT_EQ(read_all(key), "hello blob");
  EXPECT_TRUE(fs::is_regular_file(root_ / key));
  EXPECT_EQ(files_under(root_), std::set<std::string>{key});
}

TEST_F(FsBlobStoreTest, EmptyBlob) {
  ASSERT_TRUE(store_->put("empty", "").ok());
  auto info = store_->stat("empty");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->size_bytes, 0u);
  int calls = 0;
  EXPECT_TRUE(
      store_->read("empty", 0, 100, [&](const char*, size_t) { return ++calls, true; }).ok());
  EXPECT_EQ(calls, 0);
}

TEST_F(FsBlobStoreTest, ReadRanges) {
  ASSERT_TRUE(store_->put("k", "0123456789").ok());
  EXPECT_EQ(read_all("k", 3, 4), "3456");
  EXPECT_EQ(read_all("k", 0, 10), "0123456789");
  EXPECT_EQ(read_all("k", 7, 100), "789");  // clamped to the end
  EXPECT_EQ(read_all("k", 9, 1), "9");
  EXPECT_EQ(read_all("k", 10, 5), "");    // at the end
  EXPECT_EQ(read_all("k", 1000, 5), "");  // past the end
  EXPECT_EQ(read_all("k", 4, 0), "");     // zero length
  // offset + length overflows uint64: still clamped, not wrapped.
  EXPECT_EQ(read_all("k", 5, std::numeric_limits<uint64_t>::max()), "56789");
}

TEST_F(FsBlobStoreTest, ReadStreamsInBoundedChunksAndStopsEarly) {
  const std::string data = pseudo_random_bytes(3 * 1024 * 1024 + 17, 1);
  ASSERT_TRUE(store_->put("big", data).ok());
  std::string out;
  size_t max_chunk = 0;
  int calls = 0;
  ASSERT_TRUE(store_
                  ->read("big", 0, data.size(),
                         [&](const char* d, size_t n) {
                           out.append(d, n);
                           max_chunk = std::max(max_chunk, n);
                           ++calls;
                           return true;
                         })
                  .ok());
  EXPECT_EQ(out, data);
  EXPECT_LE(max_chunk, 256u * 1024);
  EXPECT_GT(calls, 1);

  calls = 0;
  ASSERT_TRUE(
      store_->read("big", 0, data.size(), [&](const char*, size_t) { return ++calls, false; })
          .ok());
  EXPECT_EQ(calls, 1);
}

TEST_F(FsBlobStoreTest, MissingBlobIsNotFound) {
  auto info = store_->stat("no/such/blob");
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kNotFound);
  Status st = store_->read("no/such/blob", 0, 10, [](const char*, size_t) { return true; });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kNotFound);
  // A folder is not a blob.
  ASSERT_TRUE(store_->put("dir/file", "x").ok());
  EXPECT_EQ(store_->stat("dir").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->read("dir", 0, 1, [](const char*, size_t) { return true; }).error().code,
            ErrorCode::kNotFound);
  // A blob used as a folder.
  EXPECT_EQ(store_->stat("dir/file/x").error().code, ErrorCode::kNotFound);
}

TEST_F(FsBlobStoreTest, LargeWriteMatchesSha256) {
  constexpr size_t kChunk = 64 * 1024;
  constexpr size_t kTotal = 50 * 1024 * 1024;
  const std::string pattern = pseudo_random_bytes(kChunk * 7 + 3, 2);  // not chunk-aligned
  auto writer = store_->new_writer();
  ASSERT_TRUE(writer.ok());
  Sha256 written;
  size_t pos = 0;
  for (size_t done = 0; done < kTotal; done += kChunk) {
    std::string chunk;
    while (chunk.size() < kChunk) {
      size_t take = std::min(kChunk - chunk.size(), pattern.size() - pos);
      chunk.append(pattern, pos, take);
      pos = (pos + take) % pattern.size();
    }
    written.update(chunk.data(), chunk.size());
    ASSERT_TRUE((*writer)->write(chunk.data(), chunk.size()).ok());
  }
  EXPECT_EQ((*writer)->bytes_written(), kTotal);
  ASSERT_TRUE((*writer)->commit("large/blob.bin").ok());

  auto info = store_->stat("large/blob.bin");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->size_bytes, kTotal);
  Sha256 read_back;
  ASSERT_TRUE(store_
                  ->read("large/blob.bin", 0, kTotal,
                         [&](const char* d, size_t n) {
                           read_back.update(d, n);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(read_back.hex_digest(), written.hex_digest());
  EXPECT_EQ(files_under(root_), std::set<std::string>{"large/blob.bin"});
}

TEST_F(FsBlobStoreTest, MixedWriteSizesKeepOrder) {
  // Small writes are buffered, large ones bypass the buffer; the bytes must stay in order.
  const std::string data = pseudo_random_bytes(5 * 1024 * 1024, 3);
  auto writer = store_->new_writer();
  ASSERT_TRUE(writer.ok());
  const size_t sizes[] = {1, 100, 1 << 20, 7, (1 << 20) + 1, 65536, 3 << 20};
  size_t pos = 0;
  for (size_t i = 0; pos < data.size(); ++i) {
    size_t n = std::min(sizes[i % std::size(sizes)], data.size() - pos);
    ASSERT_TRUE((*writer)->write(data.data() + pos, n).ok());
    pos += n;
  }
  ASSERT_TRUE((*writer)->commit("mixed").ok());
  EXPECT_EQ(read_all("mixed"), data);
}

TEST_F(FsBlobStoreTest, AbortLeavesNothing) {
  auto writer = store_->new_writer();
  ASSERT_TRUE(writer.ok());
  const std::string data = pseudo_random_bytes(3 * 1024 * 1024, 4);  // more than the buffer
  ASSERT_TRUE((*writer)->write(data.data(), data.size()).ok());
  EXPECT_FALSE(files_under(root_).empty());  // the staging file exists meanwhile
  (*writer)->abort();
  EXPECT_TRUE(files_under(root_).empty());
  (*writer)->abort();  // idempotent
  EXPECT_EQ((*writer)->write("x", 1).error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ((*writer)->commit("k").error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(store_->stat("k").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(files_under(root_).empty());
}

TEST_F(FsBlobStoreTest, DestroyingUncommittedWriterLeavesNothing) {
  {
    auto writer = store_->new_writer();
    ASSERT_TRUE(writer.ok());
    const std::string data = pseudo_random_bytes(2 * 1024 * 1024, 5);
    ASSERT_TRUE((*writer)->write(data.data(), data.size()).ok());
  }
  {
    auto writer = store_->new_writer();  // never written to
    ASSERT_TRUE(writer.ok());
  }
  EXPECT_TRUE(files_under(root_).empty());
}

TEST_F(FsBlobStoreTest, FailedWriteLeavesNothing) {
  // A file size limit makes write() fail with EFBIG part way through, as a full disk would.
  struct rlimit old_limit {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit limit = old_limit;
  limit.rlim_cur = 2 * 1024 * 1024;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);

  auto writer = store_->new_writer();
  ASSERT_TRUE(writer.ok());
  const std::string chunk = pseudo_random_bytes(512 * 1024, 9);
  Status st;
  for (int i = 0; i < 16 && st.ok(); ++i) st = (*writer)->write(chunk.data(), chunk.size());
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);

  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kResourceExhausted) << st.error().message;
  EXPECT_TRUE(files_under(root_).empty());  // the staging file is gone at once
  EXPECT_EQ((*writer)->commit("k").error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(store_->stat("k").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(files_under(root_).empty());
}

TEST_F(FsBlobStoreTest, CommitFinishesTheWriter) {
  auto writer = store_->new_writer();
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->write("abc", 3).ok());
  ASSERT_TRUE((*writer)->commit("k").ok());
  EXPECT_EQ((*writer)->commit("k2").error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ((*writer)->write("d", 1).error().code, ErrorCode::kFailedPrecondition);
  (*writer)->abort();  // after commit: does not remove the blob
  writer.value().reset();
  EXPECT_EQ(read_all("k"), "abc");
  EXPECT_EQ(files_under(root_), std::set<std::string>{"k"});
}

TEST_F(FsBlobStoreTest, CommitRefusesBadKeysAndKeepsTheBytes) {
  auto writer = store_->new_writer();
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->write("payload", 7).ok());
  for (const std::string& bad : std::vector<std::string>{
           "../x", "a//b", "/abs", "a/./b", "a\\b", "", "a/", ".", "..", "a/..", "sp ace", "a:b",
           std::string("nul\0x", 5), ".staging/x", ".staging", std::string(1025, 'a')}) {
    Status st = (*writer)->commit(bad);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(fs::exists(tmp_ / "x"));
  EXPECT_FALSE(fs::exists("/abs"));
  // A refused key does not finish the writer: it may still commit under a good key.
  ASSERT_TRUE((*writer)->commit("good/key.bin").ok());
  EXPECT_EQ(read_all("good/key.bin"), "payload");
  EXPECT_EQ(files_under(root_), std::set<std::string>{"good/key.bin"});
}

TEST_F(FsBlobStoreTest, CommitReplacesAtomically) {
  const std::string v1 = pseudo_random_bytes(1024 * 1024, 6);
  const std::string v2 = pseudo_random_bytes(700 * 1024, 7);
  ASSERT_TRUE(store_->put("media/a.mp4", v1).ok());
  // A read in progress keeps seeing the old bytes while the new ones are committed.
  std::string seen;
  bool replaced = false;
  ASSERT_TRUE(store_
                  ->read("media/a.mp4", 0, v1.size(),
                         [&](const char* d, size_t n) {
                           seen.append(d, n);
                           if (!replaced) replaced = store_->put("media/a.mp4", v2).ok();
                           return true;
                         })
                  .ok());
  EXPECT_TRUE(replaced);
  EXPECT_EQ(seen, v1);
  EXPECT_EQ(read_all("media/a.mp4"), v2);
  EXPECT_EQ(store_->stat("media/a.mp4")->size_bytes, v2.size());
  EXPECT_EQ(files_under(root_), std::set<std::string>{"media/a.mp4"});
}

TEST_F(FsBlobStoreTest, ConcurrentReplaceNeverShowsAMix) {
  const std::string a(300 * 1024, 'a');
  const std::string b(200 * 1024, 'b');
  ASSERT_TRUE(store_->put("k", a).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> bad_commits{0};
  std::thread writer([&] {
    for (int i = 0; i < 200; ++i) {
      if (!store_->put("k", i % 2 ? a : b).ok()) ++bad_commits;
    }
    stop = true;
  });
  int reads = 0;
  while (!stop) {
    std::string got = read_all("k");
    ASSERT_TRUE(got == a || got == b) << "size " << got.size();
    ++reads;
  }
  writer.join();
  EXPECT_EQ(bad_commits, 0);
  EXPECT_GT(reads, 0);
  EXPECT_EQ(files_under(root_), std::set<std::string>{"k"});
}

TEST_F(FsBlobStoreTest, CommitOverAFolderOrUnderABlobFailsCleanly) {
  ASSERT_TRUE(store_->put("a/b/c", "x").ok());
  Status st = store_->put("a/b", "y");  // "a/b" is a folder
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kFailedPrecondition);
  st = store_->put("a/b/c/d", "z");  // "a/b/c" is a blob
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(files_under(root_), std::set<std::string>{"a/b/c"});
  EXPECT_EQ(read_all("a/b/c"), "x");
}

TEST_F(FsBlobStoreTest, WriterMayOutliveTheStore) {
  auto writer = store_->new_writer();
  ASSERT_TRUE(writer.ok());
  store_.reset();
  ASSERT_TRUE((*writer)->write("late", 4).ok());
  ASSERT_TRUE((*writer)->commit("late/key").ok());
  std::ifstream in(root_ / "late/key");
  std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(got, "late");
}

TEST_F(FsBlobStoreTest, PutFile) {
  const std::string data = pseudo_random_bytes(2 * 1024 * 1024 + 5, 8);
  const fs::path src = tmp_ / "src.bin";
  {
    std::ofstream out(src, std::ios::binary);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
  }
  ASSERT_TRUE(store_->put_file("copied", src.string()).ok());
  EXPECT_EQ(read_all("copied"), data);
  Status st = store_->put_file("other", (tmp_ / "missing").string());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(files_under(root_), std::set<std::string>{"copied"});
}

TEST_F(FsBlobStoreTest, Remove) {
  ASSERT_TRUE(store_->put("a/b", "x").ok());
  ASSERT_TRUE(store_->remove("a/b").ok());
  EXPECT_EQ(store_->stat("a/b").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(store_->remove("a/b").ok());  // already gone
  EXPECT_TRUE(store_->remove("never/was").ok());
  ASSERT_TRUE(store_->put("dir/x", "x").ok());
  EXPECT_TRUE(store_->remove("dir").ok());  // a folder, not a blob: nothing to remove
  EXPECT_EQ(read_all("dir/x"), "x");
  for (const char* bad : {"../x", "", "/etc/passwd", "a//b", ".staging/x"}) {
    Status st = store_->remove(bad);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument) << bad;
  }
}

TEST_F(FsBlobStoreTest, RemovePrefixRemovesOnlyThatFolder) {
  const Scope scope{"t_acme", "dev"};
  const std::string a1 = asset_prefix(scope, "ast_1");
  const std::string a10 = asset_prefix(scope, "ast_10");
  const std::string a2 = asset_prefix(scope, "ast_2");
  for (const auto& p : {a1, a10, a2}) {
    ASSERT_TRUE(store_->put(p + "/source.mp4", "src").ok());
    ASSERT_TRUE(store_->put(p + "/derived/thumb.jpg", "jpg").ok());
  }
  ASSERT_TRUE(store_->put(a1 + "x", "sibling file sharing the prefix text").ok());
  ASSERT_TRUE(store_->remove_prefix(a1).ok());
  EXPECT_FALSE(fs::exists(root_ / a1));
  EXPECT_EQ(store_->stat(a1 + "/source.mp4").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(files_under(root_),
            (std::set<std::string>{a10 + "/source.mp4", a10 + "/derived/thumb.jpg",
                                   a2 + "/source.mp4", a2 + "/derived/thumb.jpg", a1 + "x"}));
  EXPECT_TRUE(store_->remove_prefix(a1).ok());  // already gone

  // A blob named exactly like the prefix is not inside the folder.
  EXPECT_TRUE(store_->remove_prefix(a1 + "x").ok());
  EXPECT_TRUE(store_->stat(a1 + "x").ok());

  // tenant_prefix() ends in "/": accepted. Empty parents are pruned, the root stays.
  ASSERT_TRUE(store_->put("other/keep", "k").ok());
  ASSERT_TRUE(store_->remove_prefix(tenant_prefix(scope)).ok());
  EXPECT_EQ(files_under(root_), std::set<std::string>{"other/keep"});
  EXPECT_FALSE(fs::exists(root_ / "tenants"));
  EXPECT_TRUE(fs::is_directory(root_));
  ASSERT_TRUE(store_->remove_prefix("other").ok());
  EXPECT_TRUE(fs::is_directory(root_));
  EXPECT_TRUE(files_under(root_).empty());  // no trash left in the staging area
}

TEST_F(FsBlobStoreTest, RemovePrefixRefusesBadPrefixes) {
  ASSERT_TRUE(store_->put("keep/me", "x").ok());
  for (const char* bad :
       {"", "/", "..", "../blobs", "keep/..", "a//b", "/keep", "keep//", ".staging", "./keep"}) {
    Status st = store_->remove_prefix(bad);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(read_all("keep/me"), "x");
  EXPECT_TRUE(fs::is_directory(root_));
}

TEST_F(FsBlobStoreTest, ConcurrentCommitsAndRemovePrefixShareParents) {
  // Threads commit into sibling folders while others remove theirs; pruning an emptied parent
  // must never make a concurrent commit fail.
  constexpr int kThreads = 8;
  constexpr int kRounds = 60;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRounds; ++r) {
        const std::string folder = "shared/deep/p" + std::to_string(t);
        if (!store_->put(folder + "/r" + std::to_string(r), "data").ok()) ++failures;
        if (!store_->stat(folder + "/r" + std::to_string(r)).ok()) ++failures;
        if (!store_->remove_prefix(folder).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures, 0);
  EXPECT_TRUE(files_under(root_).empty());
  EXPECT_FALSE(fs::exists(root_ / "shared"));
}

TEST_F(FsBlobStoreTest, UriForAndKeyForUriRoundTrip) {
  const std::string key = "tenants/t_a/dev/media_v2/ast_1/source.mp4";
  const std::string uri = store_->uri_for(key);
  EXPECT_EQ(uri, "file://" + root_.string() + "/" + key);
  EXPECT_EQ(store_->key_for_uri(uri), key);  // need not exist
  ASSERT_TRUE(store_->put(key, "x").ok());
  EXPECT_EQ(store_->key_for_uri(uri), key);
  EXPECT_EQ(store_->key_for_uri("file://localhost" + root_.string() + "/" + key), key);
  EXPECT_EQ(store_->key_for_uri("FILE://" + root_.string() + "/" + key), key);
  // Percent-escapes of ordinary characters decode.
  EXPECT_EQ(store_->key_for_uri("file://" + root_.string() + "/a%2Db%2ec"), "a-b.c");
  auto local = store_->local_path(key);
  ASSERT_TRUE(local.has_value());
  EXPECT_EQ(*local, (root_ / key).string());
  EXPECT_EQ(store_->local_path("../etc/passwd"), std::nullopt);
  EXPECT_EQ(store_->local_path(""), std::nullopt);
  EXPECT_EQ(store_->local_path(".staging/x"), std::nullopt);
}

TEST_F(FsBlobStoreTest, KeyForUriRefusesEscapes) {
  const std::string r = root_.string();
  const std::string parent = root_.parent_path().string();
  for (const std::string& uri : std::vector<std::string>{
           "file:///etc/passwd",
           "file://" + r + "/../etc/passwd",
           "file://" + r + "/../../../../etc/passwd",
           "file://" + r + "/a/../b",
           "file://" + r + "/a/../../blobs2/x",
           "file://" + r + "/./a",
           "file://" + r + "/a/.",
           "file://" + r + "//a",
           "file://" + r + "/a//b",
           "file://" + r + "/a/",
           "file://" + r + "/a\\..\\..\\etc",
           "file://" + r + "/a\\b",
           "file://" + r + "/%2e%2e/etc/passwd",
           "file://" + r + "/%2E%2E/%2E%2E/etc/passwd",
           "file://" + r + "/a/%2e",
           "file://" + r + "/..%2fetc%2fpasswd",
           "file://" + r + "/a%2Fb",
           "file://" + r + "/a%5Cb",
           "file://" + r + "/a%00b",
           std::string("file://") + r + "/a" + std::string(1, '\0') + "b",
           "file://" + r + "/a%2",
           "file://" + r + "/a%zz",
           "file://" + r + "/a%",
           "file://" + r + "/a?b",
           "file://" + r + "/a#b",
           "file://" + r + "/with space",
           "file://" + r,
           "file://" + r + "/",
           "file://" + r + "x/a",  // a sibling directory whose name starts with the root's
           "file://" + parent + "/a",
           "file://" + r + "/.staging/w-123",
           "file://otherhost" + r + "/a",
           "file:" + r + "/a",
           "file:/" + r + "/a",
           "file://a",
           "file://",
           "",
           r + "/a",
           "s3://bucket/" + r + "/a",
           "http://localhost" + r + "/a",
           "https://example.com/a",
       }) {
    EXPECT_EQ(store_->key_for_uri(uri), std::nullopt) << uri;
  }
}

TEST_F(FsBlobStoreTest, KeyForUriFollowsSymlinks) {
  const fs::path outside = tmp_ / "outside";
  fs::create_directories(outside / "sub");
  std::ofstream(outside / "secret") << "s";
  fs::create_directory_symlink(outside, root_ / "link");
  fs::create_symlink(outside / "secret", root_ / "filelink");
  const std::string r = root_.string();
  EXPECT_EQ(store_->key_for_uri("file://" + r + "/link/secret"), std::nullopt);
  EXPECT_EQ(store_->key_for_uri("file://" + r + "/filelink"), std::nullopt);
  // Not existing yet, but its existing parent already leaves the root.
  EXPECT_EQ(store_->key_for_uri("file://" + r + "/link/sub/new.bin"), std::nullopt);
  EXPECT_EQ(store_->key_for_uri("file://" + r + "/link/new.bin"), std::nullopt);

  // A symlink that stays inside the root is fine.
  ASSERT_TRUE(store_->put("real/blob", "b").ok());
  fs::create_directory_symlink(root_ / "real", root_ / "alias");
  EXPECT_EQ(store_->key_for_uri("file://" + r + "/alias/blob"), "alias/blob");
}

TEST_F(FsBlobStoreTest, RootWithSymlinkAndSpecialCharacters) {
  const fs::path odd = tmp_ / "with space%and+plus";
  auto opened = FsBlobStore::open(odd.string());
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  auto& store = *opened.value();
  const std::string uri = store.uri_for("a/b.bin");
  EXPECT_EQ(uri.find(' '), std::string::npos) << uri;
  EXPECT_NE(uri.find("with%20space%25and%2Bplus"), std::string::npos) << uri;
  EXPECT_EQ(store.key_for_uri(uri), "a/b.bin");

  // Opened through a symlink: URIs of either spelling of the root are accepted.
  fs::create_directory_symlink(root_, tmp_ / "rootlink");
  auto via_link = FsBlobStore::open((tmp_ / "rootlink").string());
  ASSERT_TRUE(via_link.ok());
  ASSERT_TRUE(via_link.value()->put("x/y", "1").ok());
  EXPECT_EQ(via_link.value()->key_for_uri(via_link.value()->uri_for("x/y")), "x/y");
  EXPECT_EQ(via_link.value()->key_for_uri("file://" + root_.string() + "/x/y"), "x/y");
  EXPECT_EQ(read_all("x/y"), "1");
}

TEST_F(FsBlobStoreTest, OpenCleansStaleStaging) {
  const fs::path staging = root_ / ".staging";
  ASSERT_TRUE(fs::is_directory(staging));
  std::ofstream(staging / "w-stale") << "old";
  std::ofstream(staging / "w-fresh") << "new";
  fs::create_directories(staging / "trash-abc/x");
  std::ofstream(staging / "trash-abc/x/f") << "t";
  struct timeval times[2];
  ::gettimeofday(&times[0], nullptr);
  times[0].tv_sec -= 2 * 3600;
  times[1] = times[0];
  ASSERT_EQ(::utimes((staging / "w-stale").c_str(), times), 0);

  auto reopened = FsBlobStore::open(root_.string());
  ASSERT_TRUE(reopened.ok());
  EXPECT_FALSE(fs::exists(staging / "w-stale"));
  EXPECT_TRUE(fs::exists(staging / "w-fresh"));  // may belong to a live writer
  EXPECT_FALSE(fs::exists(staging / "trash-abc"));
}

TEST_F(FsBlobStoreTest, OpenRefusesEmptyRootAndFiles) {
  auto empty = FsBlobStore::open("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
  std::ofstream(tmp_ / "afile") << "x";
  auto file = FsBlobStore::open((tmp_ / "afile").string());
  ASSERT_FALSE(file.ok());
  auto below_file = FsBlobStore::open((tmp_ / "afile" / "sub").string());
  ASSERT_FALSE(below_file.ok());
}

TEST_F(FsBlobStoreTest, OpenBlobStoreByUrl) {
  auto by_url = open_blob_store("file://" + (tmp_ / "viaurl").string());
  ASSERT_TRUE(by_url.ok()) << by_url.error().message;
  ASSERT_TRUE(by_url.value()->put("k", "v").ok());
  EXPECT_TRUE(fs::is_regular_file(tmp_ / "viaurl" / "k"));
  EXPECT_EQ(by_url.value()->uri_for("k"), "file://" + (tmp_ / "viaurl" / "k").string());

  auto by_path = open_blob_store((tmp_ / "viapath").string());
  ASSERT_TRUE(by_path.ok());
  EXPECT_TRUE(fs::is_directory(tmp_ / "viapath"));

  for (const char* bad : {"s3://bucket/prefix", "http://example.com/x", "ftp://x", ""}) {
    auto r = open_blob_store(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(BlobKeyTest, IsValidBlobKey) {
  for (const std::string& good :
       std::vector<std::string>{"a", "a/b", "tenants/t_a/dev/media_v2/ast_1/source.mp4", "a.b-c_d",
                                "...", ".hidden", "a/.x/b", "A/Z/0/9", std::string(1024, 'a')}) {
    EXPECT_TRUE(is_valid_blob_key(good)) << good;
  }
  for (const std::string& bad : std::vector<std::string>{
           "", "/", "/a", "a/", "a//b", ".", "..", "../a", "a/..", "a/./b", "a/../b", "a\\b", "a b",
           "a:b", "a%2eb", "é", std::string("a\0b", 3), std::string(1025, 'a'), "a/b/"}) {
    EXPECT_FALSE(is_valid_blob_key(bad)) << bad;
  }
}

TEST(BlobKeyTest, Prefixes) {
  const Scope scope{"t_acme", "prod"};
  EXPECT_EQ(tenant_prefix(scope), "tenants/t_acme/prod/");
  EXPECT_EQ(asset_prefix(scope, "ast_01h"), "tenants/t_acme/prod/media_v2/ast_01h");
  EXPECT_TRUE(is_valid_blob_key(asset_prefix(scope, "ast_01h")));
  EXPECT_EQ(asset_prefix(scope, "ast_01h").rfind(tenant_prefix(scope), 0), 0u);
}

}  // namespace
}  // namespace atomcut

// BlobStore: where media bytes live. Keys are relative paths such as
// "tenants/{tenant_id}/{env}/media_v2/{asset_id}/source.mp4"; URIs are "file:///abs/path" (fs/)
// and later "s3://bucket/key". Writes are atomic: bytes go to a staging area and appear under their
// key only on commit; a failed or abandoned write leaves nothing behind.
//
// Thread safety: a BlobStore may be used from many threads; a BlobWriter from one at a time.
#pragma once

#include "core/error.h"
#include "core/request_context.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace atomcut {

class BlobWriter {
 public:
  // Destroying an uncommitted writer discards its bytes.
  virtual ~BlobWriter() = default;
  virtual Status write(const char* data, size_t len) = 0;
  // Makes the bytes durable (fsync) and visible under `key`, replacing any previous blob.
  // The key may be chosen late (after the bytes are written). The writer is finished afterwards.
  virtual Status commit(const std::string& key) = 0;
  // Discards the bytes. Idempotent.
  virtual void abort() = 0;
  virtual uint64_t bytes_written() const = 0;
  // A local file a producer (ffmpeg) may write the blob's bytes to directly instead of calling
  // write(), or nullopt when the store has none (remote stores: write a temporary file and copy).
  // After this call bytes_written() reports the file's size; commit() publishes the file.
  virtual std::optional<std::string> local_staging_path() { return std::nullopt; }
};

struct BlobInfo {
  uint64_t size_bytes = 0;
};

// Receives chunks of a read; return false to stop early.
using BlobSink = std::function<bool(const char* data, size_t len)>;

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  virtual Result<std::unique_ptr<BlobWriter>> new_writer() = 0;
  // Writes a whole blob (convenience over new_writer()).
  Status put(const std::string& key, std::string_view data);
  // Copies a local file into the store under `key`.
  Status put_file(const std::string& key, const std::string& local_path);

  // not_found when there is no blob under `key`.
  virtual Result<BlobInfo> stat(const std::string& key) = 0;
  // Streams bytes [offset, offset + length) (clamped to the blob's end) to `sink`.
  virtual Status read(const std::string& key, uint64_t offset, uint64_t length,
                      const BlobSink& sink) = 0;
  // Removes one blob; ok when it did not exist.
  virtual Status remove(const std::string& key) = 0;
  // Removes every blob whose key starts with `prefix` + "/" (a folder). ok when none exist.
  virtual Status remove_prefix(const std::string& prefix) = 0;

  virtual std::string uri_for(const std::string& key) const = 0;
  // The key a URI of this store names, or nullopt when the URI is not inside this store or is not
  // a clean key (".." segments, "//", backslashes, NUL, percent-escapes that decode to those).
  virtual std::optional<std::string> key_for_uri(std::string_view uri) const = 0;
  // A local filesystem path for reading the blob in place (fs/), or nullopt (remote stores).
  virtual std::optional<std::string> local_path(const std::string& key) const = 0;
};

// True when `key` is a clean relative key: non-empty segments of [A-Za-z0-9._-], no "." or ".."
// segment, no leading or trailing "/".
bool is_valid_blob_key(std::string_view key);

// "tenants/{tenant_id}/{env}/"
std::string tenant_prefix(const Scope& scope);
// "tenants/{tenant_id}/{env}/media_v2/{asset_id}"
std::string asset_prefix(const Scope& scope, std::string_view asset_id);

// Opens a store by URL: "file:///abs/dir" (or a plain path). Creates the directory.
Result<std::unique_ptr<BlobStore>> open_blob_store(const std::string& url);

}  // namespace atomcut

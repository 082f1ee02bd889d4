// Local-filesystem BlobStore: blob `key` lives at `{root}/{key}`; writes stage in
// `{root}/.staging/` (same filesystem), are fsynced and renamed into place on commit, and the
// parent directory is fsynced so the rename survives a crash. Stale staging files (older than an
// hour) and unfinished remove_prefix() trash are removed at open().
//
// The first key segment ".staging" is reserved: keys, prefixes and URIs naming it are refused.
//
// Thread safety: every method may be called from many threads; a writer from one at a time. A
// writer may outlive its store.
#pragma once

#include "storage/blob_store.h"

#include <memory>
#include <string>

namespace atomcut {

// The store's immutable paths and directory lock, shared with writers (which may outlive it).
struct FsBlobStoreState;

class FsBlobStore : public BlobStore {
 public:
  // Opens the store rooted at `root`, creating the directory (and its parents). A relative root is
  // made absolute against the current directory. invalid_argument for an empty root,
  // failed_precondition when it exists and is not a directory, else the mapped errno of a failed
  // mkdir (permission_denied, resource_exhausted, internal).
  static Result<std::unique_ptr<BlobStore>> open(const std::string& root);

  ~FsBlobStore() override;

  // The absolute, lexically normal root directory (no trailing "/").
  const std::string& root() const;

  Result<std::unique_ptr<BlobWriter>> new_writer() override;
  Result<BlobInfo> stat(const std::string& key) override;
  Status read(const std::string& key, uint64_t offset, uint64_t length,
              const BlobSink& sink) override;
  Status remove(const std::string& key) override;
  // Also accepts one trailing "/" (as tenant_prefix() returns). Empty parent directories left
  // behind are removed, up to but never including the root.
  Status remove_prefix(const std::string& prefix) override;

  // "file://" + the root (percent-encoded where needed) + "/" + key. Does not validate `key`.
  // key_for_uri() also accepts "file://localhost/...", the scheme in any case, percent-escapes of
  // ordinary characters, and the root spelled with its symlinks resolved.
  std::string uri_for(const std::string& key) const override;
  std::optional<std::string> key_for_uri(std::string_view uri) const override;
  std::optional<std::string> local_path(const std::string& key) const override;

 private:
  explicit FsBlobStore(std::shared_ptr<FsBlobStoreState> state);

  std::shared_ptr<FsBlobStoreState> state_;
};

}  // namespace atomcut

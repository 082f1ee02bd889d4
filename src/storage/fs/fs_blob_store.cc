#include "storage/fs/fs_blob_store.h"

#include "core/ids.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <mutex>
#include <shared_mutex>
#include <system_error>
#include <vector>

#include <fmt/format.h>

namespace atomcut {

struct FsBlobStoreState {
  std::string root;       // absolute, lexically normal, no trailing "/"
  std::string root_real;  // realpath(root): symlinks resolved
  std::string staging;    // root + "/.staging"
  // Commits hold it shared while they create parent directories and rename into them;
  // remove_prefix() holds it exclusively while it moves a folder away and prunes empty parents,
  // so a commit never loses its parent directory to a concurrent prune.
  std::shared_mutex dirs_mu;
};

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kStagingDir = ".staging";
constexpr std::string_view kTrashPrefix = "trash-";
constexpr size_t kWriteBufferBytes = 1 << 20;
constexpr size_t kReadChunkBytes = 256 << 10;
constexpr auto kStaleStagingAge = std::chrono::hours(1);

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

// Maps an errno to the canonical code; `what` says which operation on which blob failed.
Error errno_error(std::string_view what, int err) {
  std::string msg = fmt::format("{}: {}", what, errno_text(err));
  nlohmann::json details = {{"errno", err}};
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return Error::not_found(std::move(msg), std::move(details));
    case EACCES:
    case EPERM:
    case EROFS:
      return Error::permission_denied(std::move(msg), std::move(details));
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE:
    case EFBIG:
      return Error::resource_exhausted(std::move(msg), std::move(details));
    case EIO:
      return Error::data_loss(std::move(msg), std::move(details));
    default:
      return Error::internal(std::move(msg), std::move(details));
  }
}

std::string_view first_segment(std::string_view key) { return key.substr(0, key.find('/')); }

// A valid blob key that does not name the staging area.
bool is_usable_key(std::string_view key) {
  return is_valid_blob_key(key) && first_segment(key) != kStagingDir;
}

Error bad_key(std::string_view what, std::string_view key) {
  return Error::invalid_argument(
      fmt::format("{} '{}' must be a relative path of non-empty segments of [A-Za-z0-9._-] "
                  "without '.' or '..' segments, at most 1024 characters, not under '{}'",
                  what, std::string(key.substr(0, 200)), kStagingDir),
      {{"field", "key"}});
}

std::string join(const std::string& root, std::string_view rel) {
  return root == "/" ? "/" + std::string(rel) : root + "/" + std::string(rel);
}

// True when `path` is `dir` or lies below it (both absolute and normal).
bool is_within(std::string_view path, std::string_view dir) {
  if (dir == "/") return !path.empty() && path.front() == '/';
  return path == dir ||
         (path.size() > dir.size() && path.substr(0, dir.size()) == dir && path[dir.size()] == '/');
}

// Closes the descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Makes a directory's entries (a rename, a new file or subdirectory) durable. A directory that is
// already gone (a concurrent remove_prefix) has nothing left to make durable.
Status fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return {};
    return errno_error(fmt::format("open directory '{}' for fsync", dir), errno);
  }
  Fd guard(fd);
  if (::fsync(fd) != 0) return errno_error(fmt::format("fsync directory '{}'", dir), errno);
  return {};
}

Status write_all(int fd, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = ::write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("write to blob staging file", errno);
    }
    if (n == 0) return errno_error("write to blob staging file", EIO);
    data += n;
    len -= static_cast<size_t>(n);
  }
  return {};
}

Result<std::string> random_name(std::string_view prefix) {
  try {
    return std::string(prefix) + random_hex(16);
  } catch (const std::exception& e) {
    return Error::internal(fmt::format("cannot draw a random staging name: {}", e.what()));
  }
}

// Removes staging files older than kStaleStagingAge (left by a crash) and all remove_prefix()
// trash (its contents were already invisible). Best effort: errors are ignored.
void clean_staging(const std::string& staging) {
  std::error_code ec;
  const auto now = fs::file_time_type::clock::now();
  std::vector<fs::path> doomed;
  for (fs::directory_iterator it(staging, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(kTrashPrefix, 0) == 0) {
      doomed.push_back(it->path());
      continue;
    }
    std::error_code tec;
    auto mtime = fs::last_write_time(it->path(), tec);
    if (!tec && now - mtime > kStaleStagingAge) doomed.push_back(it->path());
  }
  for (const auto& p : doomed) fs::remove_all(p, ec);
}

class FsBlobWriter : public BlobWriter {
 public:
  FsBlobWriter(std::shared_ptr<FsBlobStoreState> state, int fd, std::string staging_path)
      : state_(std::move(state)), fd_(fd), staging_path_(std::move(staging_path)) {}
  ~FsBlobWriter() override { discard(); }
  FsBlobWriter(const FsBlobWriter&) = delete;
  FsBlobWriter& operator=(const FsBlobWriter&) = delete;

  Status write(const char* data, size_t len) override {
    if (finished_) return finished_error();
    if (len == 0) return {};
    Status st;
    if (buf_.size() + len <= kWriteBufferBytes) {
      if (buf_.capacity() < kWriteBufferBytes) buf_.reserve(kWriteBufferBytes);
      buf_.insert(buf_.end(), data, data + len);
    } else {
      st = flush();
      if (st.ok() && len >= kWriteBufferBytes) {
        st = write_all(fd_, data, len);
      } else if (st.ok()) {
        buf_.insert(buf_.end(), data, data + len);
      }
    }
    if (!st.ok()) {
      // A failed write leaves nothing behind: the writer cannot be committed any more.
      discard();
      return st;
    }
    bytes_written_ += len;
    return {};
  }

  Status commit(const std::string& key) override {
    if (finished_) return finished_error();
    // A bad key changes nothing: the caller may still commit under a good key or abort.
    if (!is_usable_key(key)) return bad_key("blob key", key);
    Status st = commit_impl(key);
    if (!st.ok()) discard();
    return st;
  }

  void abort() override { discard(); }

  uint64_t bytes_written() const override {
    if (!external_ || fd_ < 0) return bytes_written_;
    struct stat st {};
    return ::fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  }

  std::optional<std::string> local_staging_path() override {
    if (finished_) return std::nullopt;
    if (!flush().ok()) return std::nullopt;
    external_ = true;
    return staging_path_;
  }

 private:
  static Error finished_error() {
    return Error::failed_precondition("blob writer is already committed, aborted or failed");
  }

  Status flush() {
    if (buf_.empty()) return {};
    Status st = write_all(fd_, buf_.data(), buf_.size());
    buf_.clear();
    return st;
  }

  Status commit_impl(const std::string& key) {
    ATOMCUT_TRY(flush());
    if (::fsync(fd_) != 0) return errno_error(fmt::format("fsync blob '{}'", key), errno);
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return errno_error(fmt::format("close blob '{}'", key), errno);

    const std::string target = join(state_->root, key);
    // Directories to fsync once the blob is in place: the parent of each created directory and
    // the blob's own parent.
    std::vector<std::string> sync_dirs;
    {
      std::shared_lock lock(state_->dirs_mu);
      std::string dir = state_->root;
      size_t start = 0;
      for (size_t slash = key.find('/'); slash != std::string::npos; slash = key.find('/', start)) {
        const std::string parent = dir;
        dir = join(state_->root, std::string_view(key).substr(0, slash));
        start = slash + 1;
        if (::mkdir(dir.c_str(), 0755) == 0) {
          sync_dirs.push_back(parent);
        } else if (errno != EEXIST) {
          return errno_error(fmt::format("create directory for blob '{}'", key), errno);
        }
      }
      sync_dirs.push_back(dir);
      if (::rename(staging_path_.c_str(), target.c_str()) != 0) {
        const int err = errno;
        if (err == EISDIR || err == ENOTEMPTY || err == EEXIST) {
          return Error::failed_precondition(
              fmt::format("cannot commit blob '{}': a folder of blobs already has that key", key),
              {{"key", key}});
        }
        if (err == ENOTDIR) {
          return Error::failed_precondition(
              fmt::format("cannot commit blob '{}': a parent of that key is a blob", key),
              {{"key", key}});
        }
        return errno_error(fmt::format("rename blob '{}' into place", key), err);
      }
    }
    finished_ = true;
    // The blob is visible now; an error below means its durability is not confirmed.
    std::reverse(sync_dirs.begin(), sync_dirs.end());
    for (const auto& d : sync_dirs) ATOMCUT_TRY(fsync_dir(d));
    return {};
  }

  void discard() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
    if (!finished_) ::unlink(staging_path_.c_str());
    finished_ = true;
    buf_.clear();
    buf_.shrink_to_fit();
  }

  std::shared_ptr<FsBlobStoreState> state_;
  int fd_;
  std::string staging_path_;
  std::vector<char> buf_;
  uint64_t bytes_written_ = 0;
  bool finished_ = false;
  bool external_ = false;  // bytes written by another process through local_staging_path()
};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool iequals_ascii(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

// Percent-decodes the path of a file URI. nullopt for a malformed escape, a raw or encoded
// backslash or NUL, an encoded "/" (it would change the path's structure), and a query or
// fragment (file URIs of this store have none).
std::optional<std::string> decode_uri_path(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '\\' || c == '\0' || c == '?' || c == '#') return std::nullopt;
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      if (c == '\\' || c == '\0' || c == '/') return std::nullopt;
      i += 2;
    }
    out.push_back(c);
  }
  return out;
}

// True for an absolute path with no empty, "." or ".." segment and no trailing "/".
bool is_clean_absolute_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return false;
  if (path == "/") return true;
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view seg = path.substr(start, end - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    start = end + 1;
  }
  return true;
}

// realpath() of `path`, or of its nearest existing ancestor when it does not exist yet.
std::optional<std::string> real_path_of_existing_part(std::string path) {
  while (true) {
    char buf[PATH_MAX];
    if (::realpath(path.c_str(), buf) != nullptr) return std::string(buf);
    if (errno != ENOENT && errno != ENOTDIR) return std::nullopt;
    const size_t slash = path.rfind('/');
    if (slash == std::string::npos || path == "/") return std::nullopt;
    path = slash == 0 ? "/" : path.substr(0, slash);
  }
}

}  // namespace

Result<std::unique_ptr<BlobStore>> FsBlobStore::open(const std::string& root) {
  if (root.empty()) return Error::invalid_argument("blob store root directory must not be empty");
  std::error_code ec;
  fs::path abs = fs::absolute(root, ec);
  if (ec) {
    return Error::invalid_argument(
        fmt::format("blob store root '{}' cannot be made absolute: {}", root, ec.message()));
  }
  std::string norm = abs.lexically_normal().string();
  while (norm.size() > 1 && norm.back() == '/') norm.pop_back();

  auto state = std::make_shared<FsBlobStoreState>();
  state->root = norm;
  state->staging = join(norm, kStagingDir);
  fs::create_directories(norm, ec);
  if (ec) return errno_error(fmt::format("create blob store root '{}'", norm), ec.value());
  if (!fs::is_directory(norm, ec)) {
    return Error::failed_precondition(
        fmt::format("blob store root '{}' exists and is not a directory", norm));
  }
  if (::mkdir(state->staging.c_str(), 0755) != 0 && errno != EEXIST) {
    return errno_error(fmt::format("create blob staging directory '{}'", state->staging), errno);
  }
  char buf[PATH_MAX];
  if (::realpath(norm.c_str(), buf) == nullptr) {
    return errno_error(fmt::format("resolve blob store root '{}'", norm), errno);
  }
  state->root_real = buf;
  clean_staging(state->staging);
  return std::unique_ptr<BlobStore>(new FsBlobStore(std::move(state)));
}

FsBlobStore::FsBlobStore(std::shared_ptr<FsBlobStoreState> state) : state_(std::move(state)) {}

FsBlobStore::~FsBlobStore() = default;

const std::string& FsBlobStore::root() const { return state_->root; }

Result<std::unique_ptr<BlobWriter>> FsBlobStore::new_writer() {
  for (int attempt = 0;; ++attempt) {
    ATOMCUT_ASSIGN_OR_RETURN(std::string name, random_name("w-"));
    std::string path = state_->staging + "/" + name;
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) return std::unique_ptr<BlobWriter>(new FsBlobWriter(state_, fd, std::move(path)));
    const int err = errno;
    // The staging directory was removed under us: recreate it once.
    if (err == ENOENT && attempt == 0 && ::mkdir(state_->staging.c_str(), 0755) == 0) continue;
    if (err == EEXIST && attempt < 3) continue;
    return errno_error("create blob staging file", err);
  }
}

Result<BlobInfo> FsBlobStore::stat(const std::string& key) {
  if (!is_usable_key(key)) return bad_key("blob key", key);
  struct stat st {};
  if (::stat(join(state_->root, key).c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      return Error::not_found(fmt::format("no blob under key '{}'", key), {{"key", key}});
    }
    return errno_error(fmt::format("stat blob '{}'", key), err);
  }
  if (!S_ISREG(st.st_mode)) {
    return Error::not_found(fmt::format("no blob under key '{}' (it is a folder)", key),
                            {{"key", key}});
  }
  return BlobInfo{static_cast<uint64_t>(st.st_size)};
}

Status FsBlobStore::read(const std::string& key, uint64_t offset, uint64_t length,
                         const BlobSink& sink) {
  if (!is_usable_key(key)) return bad_key("blob key", key);
  Fd fd(::open(join(state_->root, key).c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      return Error::not_found(fmt::format("no blob under key '{}'", key), {{"key", key}});
    }
    return errno_error(fmt::format("open blob '{}'", key), err);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error(fmt::format("stat blob '{}'", key), errno);
  if (!S_ISREG(st.st_mode)) {
    return Error::not_found(fmt::format("no blob under key '{}' (it is a folder)", key),
                            {{"key", key}});
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (offset >= size || length == 0) return {};
  const uint64_t end = offset + std::min(length, size - offset);
  std::vector<char> buf(static_cast<size_t>(std::min<uint64_t>(kReadChunkBytes, end - offset)));
  uint64_t pos = offset;
  while (pos < end) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), end - pos));
    ssize_t n = ::pread(fd.get(), buf.data(), want, static_cast<off_t>(pos));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(fmt::format("read blob '{}'", key), errno);
    }
    if (n == 0) {
      return Error::data_loss(
          fmt::format("blob '{}' ended at byte {} although its size is {}", key, pos, size),
          {{"key", key}});
    }
    pos += static_cast<uint64_t>(n);
    if (!sink(buf.data(), static_cast<size_t>(n))) return {};
  }
  return {};
}

Status FsBlobStore::remove(const std::string& key) {
  if (!is_usable_key(key)) return bad_key("blob key", key);
  if (::unlink(join(state_->root, key).c_str()) != 0) {
    const int err = errno;
    // Missing, or a folder rather than a blob: either way there is no blob under `key`.
    if (err == ENOENT || err == ENOTDIR || err == EISDIR) return {};
    return errno_error(fmt::format("remove blob '{}'", key), err);
  }
  return {};
}

Status FsBlobStore::remove_prefix(const std::string& prefix_in) {
  std::string_view prefix = prefix_in;
  if (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  if (!is_usable_key(prefix)) return bad_key("blob prefix", prefix_in);
  const std::string dir = join(state_->root, prefix);

  ATOMCUT_ASSIGN_OR_RETURN(std::string trash_name, random_name(kTrashPrefix));
  const std::string trash = state_->staging + "/" + trash_name;
  {
    std::unique_lock lock(state_->dirs_mu);
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return {};
      return errno_error(fmt::format("stat blob folder '{}'", prefix), errno);
    }
    // A blob named exactly `prefix` is not inside the folder `prefix/`.
    if (!S_ISDIR(st.st_mode)) return {};
    // Moving the folder away first makes every blob in it disappear at once.
    if (::rename(dir.c_str(), trash.c_str()) != 0) {
      return errno_error(fmt::format("remove blob folder '{}'", prefix), errno);
    }
    // Prune parents that are now empty, never the root itself.
    std::string_view rel = prefix;
    std::string surviving = state_->root;
    for (size_t slash = rel.rfind('/'); slash != std::string_view::npos; slash = rel.rfind('/')) {
      rel = rel.substr(0, slash);
      const std::string parent = join(state_->root, rel);
      if (::rmdir(parent.c_str()) != 0) {
        surviving = parent;
        break;
      }
    }
    // Best effort: the removal is complete from every reader's point of view already.
    (void)fsync_dir(surviving);
  }
  // Outside the lock: deleting a large folder must not hold up commits. What is left after an
  // error here is invisible and is deleted at the next open().
  std::error_code ec;
  fs::remove_all(trash, ec);
  return {};
}

std::string FsBlobStore::uri_for(const std::string& key) const {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "file://";
  for (unsigned char c : state_->root) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '/' || c == '-' || c == '.' || c == '_' || c == '~';
    if (plain) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  if (state_->root != "/") out.push_back('/');
  out += key;
  return out;
}

std::optional<std::string> FsBlobStore::key_for_uri(std::string_view uri) const {
  constexpr std::string_view kScheme = "file://";
  constexpr std::string_view kLocalhost = "localhost";
  if (uri.size() < kScheme.size() || !iequals_ascii(uri.substr(0, kScheme.size()), kScheme)) {
    return std::nullopt;
  }
  std::string_view rest = uri.substr(kScheme.size());
  if (rest.size() > kLocalhost.size() &&
      iequals_ascii(rest.substr(0, kLocalhost.size()), kLocalhost)) {
    rest.remove_prefix(kLocalhost.size());
  }
  if (rest.empty() || rest.front() != '/') return std::nullopt;
  std::optional<std::string> path = decode_uri_path(rest);
  if (!path || !is_clean_absolute_path(*path)) return std::nullopt;

  std::optional<std::string> key;
  for (const std::string* base : {&state_->root, &state_->root_real}) {
    if (*path != *base && is_within(*path, *base)) {
      key = path->substr(*base == "/" ? 1 : base->size() + 1);
      break;
    }
  }
  if (!key || !is_usable_key(*key)) return std::nullopt;

  // Symlinks inside the root must not lead out of it.
  std::optional<std::string> real = real_path_of_existing_part(*path);
  if (!real || !is_within(*real, state_->root_real)) return std::nullopt;
  return key;
}

std::optional<std::string> FsBlobStore::local_path(const std::string& key) const {
  if (!is_usable_key(key)) return std::nullopt;
  return join(state_->root, key);
}

}  // namespace atomcut

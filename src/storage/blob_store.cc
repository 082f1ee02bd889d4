#include "storage/blob_store.h"

#include "storage/fs/fs_blob_store.h"

#include <fstream>
#include <vector>

#include <fmt/format.h>

namespace atomcut {

Status BlobStore::put(const std::string& key, std::string_view data) {
  ATOMCUT_ASSIGN_OR_RETURN(auto writer, new_writer());
  ATOMCUT_TRY(writer->write(data.data(), data.size()));
  return writer->commit(key);
}

Status BlobStore::put_file(const std::string& key, const std::string& local_path) {
  std::ifstream in(local_path, std::ios::binary);
  if (!in) return Error::not_found(fmt::format("cannot open '{}' for reading", local_path));
  ATOMCUT_ASSIGN_OR_RETURN(auto writer, new_writer());
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    auto n = in.gcount();
    if (n > 0) ATOMCUT_TRY(writer->write(buf.data(), static_cast<size_t>(n)));
  }
  if (in.bad()) return Error::data_loss(fmt::format("read error on '{}'", local_path));
  return writer->commit(key);
}

bool is_valid_blob_key(std::string_view key) {
  if (key.empty() || key.size() > 1024 || key.front() == '/' || key.back() == '/') return false;
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = key.find('/', start);
    if (end == std::string_view::npos) end = key.size();
    std::string_view seg = key.substr(start, end - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    for (char c : seg) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-';
      if (!ok) return false;
    }
    start = end + 1;
  }
  return true;
}

std::string tenant_prefix(const Scope& scope) {
  return fmt::format("tenants/{}/{}/", scope.tenant_id, scope.env);
}

std::string asset_prefix(const Scope& scope, std::string_view asset_id) {
  return fmt::format("tenants/{}/{}/media_v2/{}", scope.tenant_id, scope.env, asset_id);
}

Result<std::unique_ptr<BlobStore>> open_blob_store(const std::string& url) {
  constexpr std::string_view kFile = "file://";
  if (url.rfind(kFile, 0) == 0) return FsBlobStore::open(url.substr(kFile.size()));
  if (!url.empty() && url.find("://") == std::string::npos) return FsBlobStore::open(url);
  return Error::invalid_argument(
      fmt::format("blob store url '{}': unsupported scheme (supported: file:///DIR)", url));
}

}  // namespace atomcut

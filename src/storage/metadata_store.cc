#include "storage/metadata_store.h"

#include "storage/sqlite/sqlite_metadata_store.h"

#include <fmt/format.h>

namespace atomcut {

Result<std::unique_ptr<MetadataStore>> open_metadata_store(const std::string& url) {
  constexpr std::string_view kSqlite = "sqlite://";
  if (url.rfind(kSqlite, 0) == 0) return SqliteMetadataStore::open(url.substr(kSqlite.size()));
  if (!url.empty() && url.find("://") == std::string::npos) return SqliteMetadataStore::open(url);
  return Error::invalid_argument(
      fmt::format("database url '{}': unsupported scheme (supported: sqlite://PATH)", url));
}

}  // namespace atomcut

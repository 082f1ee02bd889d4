// ApiKey: a bearer credential bound to one tenant and env. Only the SHA-256 of the secret is kept.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace atomcut {

struct ApiKey {
  std::string id;  // key_...
  std::string tenant_id;
  std::string env;
  std::string key_hash;    // hex SHA-256 of the full secret
  std::string key_prefix;  // first characters of the secret, for telling keys apart
  std::string label;
  int64_t created_at_ms = 0;
  std::optional<int64_t> revoked_at_ms;
};

// Public JSON (never the hash).
nlohmann::json to_json(const ApiKey& key);

}  // namespace atomcut

// API keys: create (returns the secret once), authenticate a bearer secret, list, revoke.
// Only the SHA-256 of a secret is stored. Thread safe.
#pragma once

#include "core/error.h"
#include "core/model/api_key.h"
#include "core/request_context.h"
#include "storage/metadata_store.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atomcut {

class ApiKeyService {
 public:
  explicit ApiKeyService(MetadataStore& store) : store_(store) {}

  struct Created {
    ApiKey key;
    std::string secret;  // "ak_" + 48 hex characters; shown once, never stored
  };
  Result<Created> create(const Scope& scope, std::string label);
  // unauthenticated for an unknown, malformed or revoked secret.
  Result<ApiKey> authenticate(std::string_view secret);
  Result<std::vector<ApiKey>> list(const std::optional<Scope>& scope);
  Status revoke(std::string_view key_id);

 private:
  MetadataStore& store_;
};

}  // namespace atomcut

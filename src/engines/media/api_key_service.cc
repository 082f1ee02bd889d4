#include "engines/media/api_key_service.h"

#include "core/ids.h"
#include "core/sha256.h"
#include "core/time_util.h"

namespace atomcut {

Result<ApiKeyService::Created> ApiKeyService::create(const Scope& scope, std::string label) {
  ATOMCUT_TRY(validate_tenant_id(scope.tenant_id));
  ATOMCUT_TRY(validate_env(scope.env));
  if (label.size() > 200) return Error::invalid_argument("label must be at most 200 characters");
  Created c;
  c.secret = "ak_" + random_hex(24);
  c.key.id = new_id("key");
  c.key.tenant_id = scope.tenant_id;
  c.key.env = scope.env;
  c.key.key_hash = sha256_hex(c.secret);
  c.key.key_prefix = c.secret.substr(0, 11);
  c.key.label = std::move(label);
  c.key.created_at_ms = now_ms();
  ATOMCUT_TRY(store_.insert_api_key(c.key));
  return c;
}

Result<ApiKey> ApiKeyService::authenticate(std::string_view secret) {
  if (secret.size() != 51 || secret.substr(0, 3) != "ak_") {
    return Error::unauthenticated("API key is malformed (expected 'Authorization: Bearer ak_...')");
  }
  auto found = store_.find_api_key_by_hash(sha256_hex(secret));
  if (!found.ok()) {
    if (found.error().code == ErrorCode::kNotFound) {
      return Error::unauthenticated("API key is not valid");
    }
    return found.take_error();
  }
  if (found->revoked_at_ms) return Error::unauthenticated("API key has been revoked");
  return std::move(found).value();
}

Result<std::vector<ApiKey>> ApiKeyService::list(const std::optional<Scope>& scope) {
  return store_.list_api_keys(scope);
}

Status ApiKeyService::revoke(std::string_view key_id) {
  return store_.revoke_api_key(key_id, now_ms());
}

}  // namespace atomcut

#include "core/model/api_key.h"

#include "core/time_util.h"

namespace atomcut {

nlohmann::json to_json(const ApiKey& k) {
  return nlohmann::json{
      {"id", k.id},
      {"tenant_id", k.tenant_id},
      {"env", k.env},
      {"key_prefix", k.key_prefix},
      {"label", k.label},
      {"created_at", format_rfc3339_ms(k.created_at_ms)},
      {"revoked_at", k.revoked_at_ms ? nlohmann::json(format_rfc3339_ms(*k.revoked_at_ms))
                                     : nlohmann::json(nullptr)},
  };
}

}  // namespace atomcut

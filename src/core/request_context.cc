#include "core/request_context.h"

#include <fmt/format.h>

namespace atomcut {

Status validate_tenant_id(std::string_view t) {
  bool ok = t.size() > 2 && t.size() <= 64 && t[0] == 't' && t[1] == '_';
  for (size_t i = 2; ok && i < t.size(); ++i) {
    char c = t[i];
    ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  }
  if (!ok) {
    return Error::invalid_argument(
        fmt::format("tenant_id '{}' must match ^t_[a-z0-9_-]+$ (at most 64 characters)",
                    std::string(t.substr(0, 80))),
        {{"field", "tenant_id"}, {"pattern", "^t_[a-z0-9_-]+$"}});
  }
  return {};
}

Status validate_env(std::string_view env) {
  if (env == "dev" || env == "stage" || env == "prod") return {};
  return Error::invalid_argument(
      fmt::format("env '{}' must be one of dev, stage, prod", std::string(env.substr(0, 80))),
      {{"field", "env"}, {"allowed", {"dev", "stage", "prod"}}});
}

Status validate_user_id(std::string_view user_id) {
  bool ok = !user_id.empty() && user_id.size() <= 128;
  for (char c : user_id) ok = ok && c >= 0x20 && c < 0x7f;
  if (!ok) {
    return Error::invalid_argument("user_id must be 1 to 128 printable ASCII characters",
                                   {{"field", "user_id"}});
  }
  return {};
}

namespace {

// Picks the value of one field across sources, or reports a disagreement.
Result<std::optional<std::string>> merge_field(const std::vector<ContextSource>& sources,
                                               const char* field,
                                               std::optional<std::string> ContextSource::*member) {
  std::optional<std::string> value;
  std::string first_source;
  for (const auto& s : sources) {
    const auto& v = s.*member;
    if (!v) continue;
    if (!value) {
      value = *v;
      first_source = s.name;
    } else if (*value != *v) {
      return Error::invalid_argument(fmt::format("{} differs between {} ('{}') and {} ('{}')",
                                                 field, first_source, *value, s.name, *v),
                                     {{"field", field}, {"sources", {first_source, s.name}}});
    }
  }
  return value;
}

}  // namespace

Result<RequestContext> resolve_request_context(const std::vector<ContextSource>& sources) {
  ATOMCUT_ASSIGN_OR_RETURN(auto tenant,
                           merge_field(sources, "tenant_id", &ContextSource::tenant_id));
  ATOMCUT_ASSIGN_OR_RETURN(auto env, merge_field(sources, "env", &ContextSource::env));
  ATOMCUT_ASSIGN_OR_RETURN(auto user, merge_field(sources, "user_id", &ContextSource::user_id));
  if (!tenant) {
    return Error::invalid_argument(
        "tenant_id is required (header X-Tenant-Id, query parameter or body field tenant_id)",
        {{"field", "tenant_id"}});
  }
  if (!env) {
    return Error::invalid_argument(
        "env is required (header X-Env, query parameter or body field env): dev, stage or prod",
        {{"field", "env"}});
  }
  ATOMCUT_TRY(validate_tenant_id(*tenant));
  ATOMCUT_TRY(validate_env(*env));
  if (user) ATOMCUT_TRY(validate_user_id(*user));
  return RequestContext{*tenant, *env, user};
}

}  // namespace atomcut

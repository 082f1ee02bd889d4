// RequestContext: who a request acts for. Every record and storage path carries tenant_id and env.
#pragma once

#include "core/error.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atomcut {

struct RequestContext {
  std::string tenant_id;  // ^t_[a-z0-9_-]+$
  std::string env;        // dev | stage | prod
  std::optional<std::string> user_id;
};

// The (tenant_id, env) pair that scopes every stored record and query.
struct Scope {
  std::string tenant_id;
  std::string env;
  bool operator==(const Scope&) const = default;
};

inline Scope scope_of(const RequestContext& ctx) { return Scope{ctx.tenant_id, ctx.env}; }

Status validate_tenant_id(std::string_view tenant_id);
Status validate_env(std::string_view env);
// user_id is free text but bounded: 1..128 printable ASCII characters.
Status validate_user_id(std::string_view user_id);

// One place a request may state its context (a header set, the query string, the body).
struct ContextSource {
  std::string name;  // "header", "query", "body", "form": used in error messages
  std::optional<std::string> tenant_id;
  std::optional<std::string> env;
  std::optional<std::string> user_id;
};

// Merges the sources. Each field must be stated at least once (user_id is optional) and every
// source that states a field must state the same value; otherwise invalid_argument naming the
// field and the disagreeing sources. No defaults.
Result<RequestContext> resolve_request_context(const std::vector<ContextSource>& sources);

}  // namespace atomcut

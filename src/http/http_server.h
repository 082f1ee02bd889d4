// HttpServer: cpp-httplib with atomcut's middleware. Every request passes through one pipeline:
// request id -> route match (404/405) -> API key (401/403) -> body (JSON limit 413, type 415,
// parse 400) -> RequestContext from headers, query and body (400 on disagreement) -> handler ->
// error mapping -> one JSON access-log line. Exceptions never escape a handler (500 + log).
#pragma once

#include "core/config.h"
#include "core/error.h"
#include "core/model/api_key.h"
#include "core/request_context.h"
#include "engines/media/api_key_service.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace atomcut::http {

enum class BodyMode {
  kNone,    // no body expected (GET, DELETE)
  kJson,    // a JSON object body, read and parsed before the handler (limit max_json_bytes)
  kStream,  // the handler reads the body itself through ApiRequest::reader (uploads)
};

struct RouteOptions {
  bool auth = true;     // require an API key (unless the server runs with --no-auth)
  bool context = true;  // resolve a RequestContext before the handler (kNone/kJson)
  BodyMode body = BodyMode::kNone;
};

struct ApiRequest {
  const httplib::Request& raw;
  const httplib::ContentReader* reader = nullptr;  // kStream routes only
  std::map<std::string, std::string> params;       // path parameters
  std::string request_id;
  std::optional<ApiKey> api_key;
  nlohmann::json body = nlohmann::json::object();  // kJson routes
  std::optional<RequestContext> ctx;
  uint64_t max_json_bytes = 0;

  const std::string& param(const std::string& name) const { return params.at(name); }
  std::optional<std::string> query(const std::string& name) const;
  const RequestContext& context() const { return *ctx; }
  Scope scope() const { return scope_of(*ctx); }
  // Resolves ctx from headers, query and `extra` sources (e.g. multipart form fields) and checks
  // it against the API key (403 when the key belongs to another tenant or env).
  Status resolve_context(const std::vector<ContextSource>& extra);
  // Reads and parses a JSON object body through `reader` (kStream routes that accept JSON).
  Status read_json_body();
};

// `limit` (1..1000, default 50) and `cursor` of a list request (the one pagination convention).
struct PageParams {
  int limit = 50;
  std::optional<std::string> cursor;  // absent when empty
};
Result<PageParams> page_params(const ApiRequest& req);

using Handler = std::function<Status(ApiRequest& req, httplib::Response& res)>;

class HttpServer {
 public:
  // `keys` may be null only when config.no_auth is set.
  HttpServer(const Config& config, ApiKeyService* keys);
  ~HttpServer();

  // Patterns are literal segments and {name} parameters: "/media-v2/assets/{asset_id}".
  void add_route(const std::string& method, const std::string& pattern, RouteOptions options,
                 Handler handler);

  // Binds the configured listen address; returns the bound port (useful with port 0).
  Result<int> bind();
  // Serves until stop(). Call after bind().
  void serve();
  void stop();

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    RouteOptions options;
    Handler handler;
  };
  void dispatch(const httplib::Request& raw, httplib::Response& res,
                const httplib::ContentReader* reader);
  Status run_pipeline(ApiRequest& req, httplib::Response& res, const std::string& method);
  void log_access(const ApiRequest& req, const httplib::Response& res, double duration_ms) const;

  Config config_;
  ApiKeyService* keys_;
  std::vector<Route> routes_;
  std::unique_ptr<httplib::Server> server_;
  std::string host_;
  int port_ = 0;
  int listen_fd_ = -1;
};

}  // namespace atomcut::http

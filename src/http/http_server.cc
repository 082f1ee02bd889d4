#include "http/http_server.h"

#include "core/ids.h"
#include "core/json_fields.h"
#include "http/error_mapping.h"

#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include <sys/socket.h>

#include <chrono>
#include <exception>

namespace atomcut::http {
namespace {

constexpr int kListenBacklog = 1024;

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 1;
  if (path.empty() || path[0] != '/') return out;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  if (!out.empty() && out.back().empty()) out.pop_back();  // tolerate one trailing slash
  return out;
}

bool is_param(const std::string& seg) {
  return seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
}

bool sane_request_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      return false;
  }
  return true;
}

std::optional<std::string> header(const httplib::Request& req, const char* name) {
  if (!req.has_header(name)) return std::nullopt;
  return req.get_header_value(name);
}

// The header and query-string context sources (one source per query value, so duplicates that
// disagree are caught).
std::vector<ContextSource> header_and_query_sources(const httplib::Request& raw) {
  std::vector<ContextSource> out;
  out.push_back(ContextSource{"header", header(raw, "X-Tenant-Id"), header(raw, "X-Env"),
                              header(raw, "X-User-Id")});
  for (const char* field : {"tenant_id", "env", "user_id"}) {
    auto range = raw.params.equal_range(field);
    for (auto it = range.first; it != range.second; ++it) {
      ContextSource s{"query", std::nullopt, std::nullopt, std::nullopt};
      if (std::string_view(field) == "tenant_id") s.tenant_id = it->second;
      if (std::string_view(field) == "env") s.env = it->second;
      if (std::string_view(field) == "user_id") s.user_id = it->second;
      out.push_back(std::move(s));
    }
  }
  return out;
}

Result<ContextSource> body_source(const nlohmann::json& body) {
  ContextSource s{"body", std::nullopt, std::nullopt, std::nullopt};
  for (const char* field : {"tenant_id", "env", "user_id"}) {
    auto it = body.find(field);
    if (it == body.end() || it->is_null()) continue;
    if (!it->is_string()) {
      return Error::invalid_argument(fmt::format("{} must be a string", field), {{"field", field}});
    }
    std::string v = it->get<std::string>();
    if (std::string_view(field) == "tenant_id") s.tenant_id = v;
    if (std::string_view(field) == "env") s.env = v;
    if (std::string_view(field) == "user_id") s.user_id = v;
  }
  return s;
}

}  // namespace

std::optional<std::string> ApiRequest::query(const std::string& name) const {
  if (!raw.has_param(name.c_str())) return std::nullopt;
  return raw.get_param_value(name.c_str());
}

Status ApiRequest::resolve_context(const std::vector<ContextSource>& extra) {
  auto sources = header_and_query_sources(raw);
  sources.insert(sources.end(), extra.begin(), extra.end());
  ATOMCUT_ASSIGN_OR_RETURN(RequestContext resolved, resolve_request_context(sources));
  if (api_key && (api_key->tenant_id != resolved.tenant_id || api_key->env != resolved.env)) {
    return Error::permission_denied(
        fmt::format("this API key belongs to tenant {} env {}, not tenant {} env {}",
                    api_key->tenant_id, api_key->env, resolved.tenant_id, resolved.env),
        {{"field", "tenant_id"}});
  }
  ctx = std::move(resolved);
  return {};
}

Result<PageParams> page_params(const ApiRequest& req) {
  PageParams p;
  if (auto l = req.query("limit")) {
    ATOMCUT_ASSIGN_OR_RETURN(int64_t n, parse_int_field(*l, "limit", 1, 1000));
    p.limit = static_cast<int>(n);
  }
  p.cursor = req.query("cursor");
  if (p.cursor && p.cursor->empty()) p.cursor.reset();
  return p;
}

Status ApiRequest::read_json_body() {
  const std::string content_type = raw.get_header_value("Content-Type");
  if (!reader) return {};
  std::string text;
  bool too_large = false;
  (*reader)([&](const char* data, size_t len) {
    if (text.size() + len > max_json_bytes) {
      too_large = true;
      return false;
    }
    text.append(data, len);
    return true;
  });
  if (too_large) {
    return Error::resource_exhausted(
        fmt::format("JSON body is larger than the limit of {} bytes", max_json_bytes),
        {{"limit_bytes", max_json_bytes}});
  }
  if (text.empty()) {
    body = nlohmann::json::object();
    return {};
  }
  if (!content_type.empty() && content_type.rfind("application/json", 0) != 0 &&
      content_type.rfind("application/merge-patch+json", 0) != 0) {
    return Error::invalid_argument(
        fmt::format("Content-Type must be application/json (or application/merge-patch+json for "
                    "PATCH), not '{}'",
                    content_type),
        {{"header", "Content-Type"}});
  }
  auto parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    // Re-parse with exceptions for the position of the error.
    std::string where;
    try {
      auto unused = nlohmann::json::parse(text);
      (void)unused;
    } catch (const nlohmann::json::parse_error& e) {
      where = e.what();
    }
    return Error::invalid_argument("request body is not valid JSON", {{"parse_error", where}});
  }
  if (!parsed.is_object()) {
    return Error::invalid_argument(
        fmt::format("request body must be a JSON object, not {}", parsed.type_name()));
  }
  body = std::move(parsed);
  return {};
}

HttpServer::HttpServer(const Config& config, ApiKeyService* keys)
    : config_(config), keys_(keys), server_(std::make_unique<httplib::Server>()) {
  auto& s = *server_;
  const int threads = config_.http_threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  s.set_tcp_nodelay(true);
  s.set_keep_alive_max_count(100000);
  s.set_keep_alive_timeout(5);
  s.set_read_timeout(config_.read_timeout_s, 0);
  s.set_write_timeout(config_.write_timeout_s, 0);
  s.set_payload_max_length(config_.max_upload_bytes);
  // cpp-httplib 0.11 listens with a backlog of 5, so a burst of new connections (64 clients
  // connecting at once) loses SYNs and waits a second for the retransmit. Keep the listening
  // socket to raise its backlog after bind (listen() again on Linux updates it).
  s.set_socket_options([this](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_fd_ = sock;
  });
  auto get = [this](const httplib::Request& req, httplib::Response& res) {
    dispatch(req, res, nullptr);
  };
  auto with_body = [this](const httplib::Request& req, httplib::Response& res,
                          const httplib::ContentReader& reader) { dispatch(req, res, &reader); };
  s.Get(".*", get);
  s.Post(".*", with_body);
  s.Put(".*", with_body);
  s.Patch(".*", with_body);
  s.Delete(".*", with_body);
  // Errors cpp-httplib produces itself (malformed request line, oversize payload, bad range)
  // still get the JSON error body.
  s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    ErrorCode code = ErrorCode::kInvalidArgument;
    std::string msg = fmt::format("HTTP {}", res.status);
    if (res.status == 413) {
      code = ErrorCode::kResourceExhausted;
      msg = "request body is larger than the server's limit";
    } else if (res.status == 416) {
      msg = "the requested range is not satisfiable";
    } else if (res.status == 414) {
      msg = "request URI is too long";
    } else if (res.status >= 500) {
      code = ErrorCode::kInternal;
    }
    reply_error(res, res.status, Error{code, msg, nlohmann::json::object()});
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    reply_error(res, Error::internal("internal error"));
  });
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::add_route(const std::string& method, const std::string& pattern,
                           RouteOptions options, Handler handler) {
  routes_.push_back(Route{method, split_path(pattern), options, std::move(handler)});
}

Result<int> HttpServer::bind() {
  ATOMCUT_ASSIGN_OR_RETURN(auto hp, config_.listen_host_port());
  host_ = hp.first;
  if (hp.second == 0) {
    port_ = server_->bind_to_any_port(host_);
    if (port_ <= 0) return Error::unavailable(fmt::format("cannot bind {}:0", host_));
  } else {
    if (!server_->bind_to_port(host_, hp.second)) {
      return Error::unavailable(
          fmt::format("cannot bind {}:{} (address in use or not permitted)", host_, hp.second));
    }
    port_ = hp.second;
  }
  if (listen_fd_ >= 0) ::listen(listen_fd_, kListenBacklog);
  return port_;
}

void HttpServer::serve() { server_->listen_after_bind(); }

void HttpServer::stop() {
  if (server_ && server_->is_running()) server_->stop();
}

void HttpServer::dispatch(const httplib::Request& raw, httplib::Response& res,
                          const httplib::ContentReader* reader) {
  const auto start = std::chrono::steady_clock::now();
  // cpp-httplib would apply Range to every response itself (JSON errors included) and gets
  // unsatisfiable and multi-part ranges wrong; routes that serve ranges do it (byte_range.h).
  // The Request object is httplib's own non-const local, so clearing it is well-defined.
  const_cast<httplib::Request&>(raw).ranges.clear();
  ApiRequest req{.raw = raw,
                 .reader = reader,
                 .params = {},
                 .request_id = {},
                 .api_key = {},
                 .body = nlohmann::json::object(),
                 .ctx = {},
                 .max_json_bytes = 0};
  req.max_json_bytes = config_.max_json_bytes;
  const std::string rid = raw.get_header_value("X-Request-Id");
  req.request_id = sane_request_id(rid) ? rid : new_id("req");
  res.set_header("X-Request-Id", req.request_id);
  const std::string method = raw.method == "HEAD" ? "GET" : raw.method;
  try {
    Status st = run_pipeline(req, res, method);
    if (!st.ok()) {
      const Error& e = st.error();
      if (e.code == ErrorCode::kResourceExhausted && e.details.contains("limit_bytes")) {
        reply_error(res, 413, e);  // body over a size limit
      } else if (e.details.contains("header") && e.details["header"] == "Content-Type") {
        reply_error(res, 415, e);
      } else {
        reply_error(res, e);
      }
      if (e.code == ErrorCode::kInternal) {
        spdlog::error("request {} {} {} failed: {}", req.request_id, raw.method, raw.path,
                      e.message);
      }
    }
  } catch (const std::exception& ex) {
    spdlog::error("request {} {} {} threw: {}", req.request_id, raw.method, raw.path, ex.what());
    reply_error(res,
                Error::internal(fmt::format("internal error (request id {})", req.request_id)));
  }
  // A request whose body was not read must not leave bytes for the next request on this
  // connection.
  if (reader && res.status >= 400) res.set_header("Connection", "close");
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  log_access(req, res, ms);
}

Status HttpServer::run_pipeline(ApiRequest& req, httplib::Response& res,
                                const std::string& method) {
  const auto segments = split_path(req.raw.path);
  const Route* route = nullptr;
  std::vector<std::string> allowed;
  for (const auto& r : routes_) {
    if (r.segments.size() != segments.size()) continue;
    std::map<std::string, std::string> params;
    bool match = true;
    for (size_t i = 0; i < segments.size() && match; ++i) {
      if (is_param(r.segments[i])) {
        if (segments[i].empty())
          match = false;
        else
          params[r.segments[i].substr(1, r.segments[i].size() - 2)] = segments[i];
      } else {
        match = r.segments[i] == segments[i];
      }
    }
    if (!match) continue;
    if (r.method != method) {
      allowed.push_back(r.method);
      continue;
    }
    route = &r;
    req.params = std::move(params);
    break;
  }
  if (!route) {
    if (!allowed.empty()) {
      std::string allow;
      for (const auto& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
      res.set_header("Allow", allow);
      reply_error(
          res, 405,
          Error::invalid_argument(fmt::format("method {} is not allowed on {} (allowed: {})",
                                              req.raw.method, req.raw.path, allow),
                                  {{"allowed", allowed}}));
      return {};
    }
    return Error::not_found(fmt::format("no route for {} {}", req.raw.method, req.raw.path));
  }

  const RouteOptions& opt = route->options;
  if (opt.auth && !config_.no_auth) {
    const std::string auth = req.raw.get_header_value("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (auth.empty()) {
      return Error::unauthenticated("missing API key: send 'Authorization: Bearer <key>'");
    }
    if (auth.rfind(kBearer, 0) != 0) {
      return Error::unauthenticated("Authorization must be 'Bearer <key>'");
    }
    if (!keys_) return Error::internal("no key service configured");
    ATOMCUT_ASSIGN_OR_RETURN(ApiKey key, keys_->authenticate(auth.substr(kBearer.size())));
    req.api_key = std::move(key);
  }

  if (opt.body == BodyMode::kJson) {
    if (req.raw.has_header("Content-Length")) {
      const std::string len = req.raw.get_header_value("Content-Length");
      auto n = parse_int_field(len, "Content-Length", 0);
      if (!n.ok() || static_cast<uint64_t>(*n) > config_.max_json_bytes) {
        return Error::resource_exhausted(
            fmt::format("JSON body is larger than the limit of {} bytes", config_.max_json_bytes),
            {{"limit_bytes", config_.max_json_bytes}});
      }
    }
    ATOMCUT_TRY(req.read_json_body());
  }
  if (opt.body == BodyMode::kStream && req.raw.has_header("Content-Length")) {
    auto n = parse_int_field(req.raw.get_header_value("Content-Length"), "Content-Length", 0);
    if (!n.ok() || static_cast<uint64_t>(*n) > config_.max_upload_bytes) {
      return Error::resource_exhausted(
          fmt::format("request body is larger than the limit of {} bytes",
                      config_.max_upload_bytes),
          {{"limit_bytes", config_.max_upload_bytes}});
    }
  }
  if (opt.context) {
    if (opt.body == BodyMode::kJson) {
      ATOMCUT_ASSIGN_OR_RETURN(ContextSource body, body_source(req.body));
      ATOMCUT_TRY(req.resolve_context({body}));
    } else if (opt.body == BodyMode::kNone) {
      ATOMCUT_TRY(req.resolve_context({}));
    } else if (req.api_key) {
      // Streamed bodies: check what the headers and query already say before reading the body.
      auto early = resolve_request_context(header_and_query_sources(req.raw));
      if (early.ok() &&
          (early->tenant_id != req.api_key->tenant_id || early->env != req.api_key->env)) {
        return Error::permission_denied(
            fmt::format("this API key belongs to tenant {} env {}, not tenant {} env {}",
                        req.api_key->tenant_id, req.api_key->env, early->tenant_id, early->env),
            {{"field", "tenant_id"}});
      }
    }
  }
  return route->handler(req, res);
}

void HttpServer::log_access(const ApiRequest& req, const httplib::Response& res,
                            double duration_ms) const {
  static const auto logger = spdlog::get("access");
  if (!logger || !logger->should_log(spdlog::level::info)) return;
  nlohmann::json line = {
      {"ts_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count()},
      {"request_id", req.request_id},
      {"method", req.raw.method},
      {"path", req.raw.path},
      {"status", res.status == -1 ? 200 : res.status},
      {"duration_ms", static_cast<double>(static_cast<int64_t>(duration_ms * 1000)) / 1000.0},
      {"remote_addr", req.raw.remote_addr},
      {"bytes_out", res.body.size()},
  };
  if (req.ctx) {
    line["tenant_id"] = req.ctx->tenant_id;
    line["env"] = req.ctx->env;
  }
  logger->info(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace atomcut::http

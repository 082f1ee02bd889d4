#include "http/error_mapping.h"
#include "http/routes/routes.h"

namespace atomcut::http {

void register_system_routes(HttpServer& server, SystemInfo info) {
  RouteOptions open{.auth = false, .context = false, .body = BodyMode::kNone};
  server.add_route("GET", "/healthz", open, [](ApiRequest&, httplib::Response& res) {
    reply_json(res, 200, {{"status", "ok"}});
    return Status();
  });
  server.add_route("GET", "/version", open, [info](ApiRequest&, httplib::Response& res) {
    reply_json(res, 200,
               {{"name", "atomcut"},
                {"version", info.version},
                {"libav", info.libav_version},
                {"database", info.database_url},
                {"blob_store", info.blob_url}});
    return Status();
  });
}

}  // namespace atomcut::http

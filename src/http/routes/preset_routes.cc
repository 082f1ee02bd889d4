// Filter and motion preset routes: /video/presets/filters and /video/presets/motion, each with
// POST and GET (list) on the collection and GET/DELETE on "/{id}".
#include "core/json_fields.h"
#include "http/error_mapping.h"
#include "http/routes/routes.h"

namespace atomcut::http {
namespace {

void register_kind(HttpServer& s, PresetService& presets, PresetKind kind,
                   const std::string& collection) {
  const RouteOptions json_opts{.auth = true, .context = true, .body = BodyMode::kJson};
  const RouteOptions no_body{.auth = true, .context = true, .body = BodyMode::kNone};
  const std::string item = collection + "/{id}";

  s.add_route("POST", collection, json_opts,
              [&presets, kind](ApiRequest& req, httplib::Response& res) -> Status {
                ATOMCUT_ASSIGN_OR_RETURN(auto out, presets.create(req.context(), kind, req.body));
                reply_json(res, 201, out);
                return {};
              });
  s.add_route("GET", collection, no_body,
              [&presets, kind](ApiRequest& req, httplib::Response& res) -> Status {
                ATOMCUT_ASSIGN_OR_RETURN(PageParams pg, page_params(req));
                auto tag = req.query("tag");
                ATOMCUT_ASSIGN_OR_RETURN(auto page,
                                         presets.list(req.scope(), kind, pg.limit, pg.cursor, tag));
                reply_json(res, 200,
                           {{"items", page.items},
                            {"next_cursor", page.next_cursor ? nlohmann::json(*page.next_cursor)
                                                             : nlohmann::json(nullptr)}});
                return {};
              });
  s.add_route("GET", item, no_body,
              [&presets, kind](ApiRequest& req, httplib::Response& res) -> Status {
                ATOMCUT_ASSIGN_OR_RETURN(auto out, presets.get(req.scope(), kind, req.param("id")));
                reply_json(res, 200, out);
                return {};
              });
  s.add_route("DELETE", item, no_body,
              [&presets, kind](ApiRequest& req, httplib::Response& res) -> Status {
                const std::string& id = req.param("id");
                ATOMCUT_TRY(presets.remove(req.context(), kind, id));
                nlohmann::json deleted;
                deleted[std::string(preset_kind_name(kind))] = {id};
                reply_json(res, 200, {{"deleted", deleted}});
                return {};
              });
}

}  // namespace

void register_preset_routes(HttpServer& server, PresetService& presets) {
  register_kind(server, presets, PresetKind::kFilter, "/video/presets/filters");
  register_kind(server, presets, PresetKind::kMotion, "/video/presets/motion");
}

}  // namespace atomcut::http

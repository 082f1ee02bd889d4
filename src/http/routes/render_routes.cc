// Render atom routes: POST /video/render/dry-run, POST /video/render, GET /video/render/profiles.
#include "core/model/render_profiles.h"
#include "http/error_mapping.h"
#include "http/routes/routes.h"

namespace atomcut::http {

void register_render_routes(HttpServer& s, RenderService& render) {
  const RouteOptions json_opts{.auth = true, .context = true, .body = BodyMode::kJson};
  const RouteOptions no_body{.auth = true, .context = true, .body = BodyMode::kNone};

  s.add_route("POST", "/video/render/dry-run", json_opts,
              [&render](ApiRequest& req, httplib::Response& res) -> Status {
                ATOMCUT_ASSIGN_OR_RETURN(RenderRequest q, render_request_from_json(req.body));
                ATOMCUT_ASSIGN_OR_RETURN(auto out, render.dry_run(req.context(), q));
                reply_json(res, 200, out);
                return {};
              });
  s.add_route("POST", "/video/render", json_opts,
              [&render](ApiRequest& req, httplib::Response& res) -> Status {
                ATOMCUT_ASSIGN_OR_RETURN(RenderRequest q, render_request_from_json(req.body));
                ATOMCUT_ASSIGN_OR_RETURN(RenderOutcome out, render.render(req.context(), q));
                reply_json(res, 201,
                           {{"asset_id", out.asset_id},
                            {"artifact_id", out.artifact_id},
                            {"uri", out.uri},
                            {"profile", out.profile},
                            {"plan_preview", out.plan_preview}});
                return {};
              });
  s.add_route("GET", "/video/render/profiles", no_body,
              [](ApiRequest&, httplib::Response& res) -> Status {
                nlohmann::json items = nlohmann::json::array();
                for (const auto& p : render_profiles()) items.push_back(to_json(p));
                reply_json(res, 200, {{"items", items}});
                return {};
              });
}

}  // namespace atomcut::http

// The visual meta atom's routes (spec "Visual Meta Engine"): a new artifact answers 201, a cache
// hit 200.
#include "http/error_mapping.h"
#include "http/routes/routes.h"

namespace atomcut::http {

void register_visual_meta_routes(HttpServer& s, VisualMetaService& visual_meta) {
  const RouteOptions json_opts{.auth = true, .context = true, .body = BodyMode::kJson};
  const RouteOptions no_body{.auth = true, .context = true, .body = BodyMode::kNone};
  auto* v = &visual_meta;

  s.add_route("POST", "/video/visual-meta/analyze", json_opts,
              [v](ApiRequest& req, httplib::Response& res) -> Status {
                ATOMCUT_ASSIGN_OR_RETURN(VisualMetaAnalyzeRequest q,
                                         visual_meta_analyze_request_from_json(req.body));
                ATOMCUT_ASSIGN_OR_RETURN(VisualMetaOutput o, v->analyze(req.context(), q));
                nlohmann::json meta = o.artifact.meta;
                meta["cache_hit"] = o.cache_hit;
                nlohmann::json body = {{"visual_meta_artifact_id", o.artifact.id},
                                       {"artifact_id", o.artifact.id},
                                       {"asset_id", o.artifact.parent_asset_id},
                                       {"kind", o.artifact.kind},
                                       {"uri", o.artifact.uri},
                                       {"cache_hit", o.cache_hit},
                                       {"meta", meta}};
                for (const auto& [k, val] : o.summary.items()) {
                  if (!body.contains(k)) body[k] = val;
                }
                reply_json(res, o.cache_hit ? 200 : 201, body);
                return {};
              });
  s.add_route("POST", "/video/visual-meta/reframe-suggestion", json_opts,
              [v](ApiRequest& req, httplib::Response& res) -> Status {
                ATOMCUT_ASSIGN_OR_RETURN(ReframeSuggestionRequest q,
                                         reframe_suggestion_request_from_json(req.body));
                ATOMCUT_ASSIGN_OR_RETURN(nlohmann::json j, v->reframe_suggestion(req.context(), q));
                reply_json(res, 200, j);
                return {};
              });
  s.add_route("GET", "/video/visual-meta/by-clip/{clip_id}", no_body,
              [v](ApiRequest& req, httplib::Response& res) -> Status {
                ATOMCUT_ASSIGN_OR_RETURN(
                    nlohmann::json j,
                    v->by_clip(req.scope(), req.param("clip_id"), req.query("artifact_id")));
                reply_json(res, 200, j);
                return {};
              });
  s.add_route("GET", "/video/visual-meta/{artifact_id}", no_body,
              [v](ApiRequest& req, httplib::Response& res) -> Status {
                ATOMCUT_ASSIGN_OR_RETURN(nlohmann::json j,
                                         v->get(req.scope(), req.param("artifact_id")));
                reply_json(res, 200, j);
                return {};
              });
}

}  // namespace atomcut::http

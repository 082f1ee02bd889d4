// Captions and masks (spec "Phase V01", "Video Quality vNext", "Example flows / Mask
// generation"). New outputs answer 201; a request served from the cache answers 200.
#include "http/error_mapping.h"
#include "http/routes/routes.h"

namespace atomcut::http {

void register_caption_routes(HttpServer& s, CaptionService& captions, MaskService& masks) {
  const RouteOptions json_opts{.auth = true, .context = true, .body = BodyMode::kJson};
  const RouteOptions no_body{.auth = true, .context = true, .body = BodyMode::kNone};
  auto* c = &captions;
  auto* m = &masks;

  s.add_route("POST", "/video/captions/generate", json_opts,
              [c](ApiRequest& req, httplib::Response& res) -> Status {
                ATOMCUT_ASSIGN_OR_RETURN(CaptionRequest q, caption_request_from_json(req.body));
                ATOMCUT_ASSIGN_OR_RETURN(CaptionResult out, c->generate(req.context(), q));
                reply_json(res, out.cache_hit ? 200 : 201, out.body);
                return {};
              });
  s.add_route("GET", "/video/captions/{artifact_id}/srt", no_body,
              [c](ApiRequest& req, httplib::Response& res) -> Status {
                ATOMCUT_ASSIGN_OR_RETURN(
                    std::string text,
                    c->srt(req.scope(), req.param("artifact_id"), req.query("clip_id")));
                res.status = 200;
                res.set_content(text, "application/x-subrip; charset=utf-8");
                return {};
              });
  s.add_route("GET", "/video/captions/{artifact_id}/vtt", no_body,
              [c](ApiRequest& req, httplib::Response& res) -> Status {
                ATOMCUT_ASSIGN_OR_RETURN(
                    std::string text,
                    c->vtt(req.scope(), req.param("artifact_id"), req.query("clip_id")));
                res.status = 200;
                res.set_content(text, "text/vtt; charset=utf-8");
                return {};
              });

  s.add_route("POST", "/video/masks/auto", json_opts,
              [m](ApiRequest& req, httplib::Response& res) -> Status {
                ATOMCUT_ASSIGN_OR_RETURN(MaskRequest q, mask_request_from_json(req.body));
                ATOMCUT_ASSIGN_OR_RETURN(MaskResult out, m->auto_mask(req.context(), q));
                reply_json(res, out.cache_hit ? 200 : 201, out.body);
                return {};
              });
  s.add_route("GET", "/video/masks/{artifact_id}", no_body,
              [m](ApiRequest& req, httplib::Response& res) -> Status {
                ATOMCUT_ASSIGN_OR_RETURN(nlohmann::json j,
                                         m->get(req.scope(), req.param("artifact_id")));
                reply_json(res, 200, j);
                return {};
              });
}

}  // namespace atomcut::http

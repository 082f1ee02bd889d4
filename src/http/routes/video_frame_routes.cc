// The frame grab atom's route. New stills answer 201; a request served entirely from the cache
// answers 200.
#include "http/error_mapping.h"
#include "http/routes/routes.h"

namespace atomcut::http {

void register_frame_routes(HttpServer& s, FrameGrabService& frames) {
  const RouteOptions json_opts{.auth = true, .context = true, .body = BodyMode::kJson};
  s.add_route("POST", "/video/frames/grab", json_opts,
              [&frames](ApiRequest& req, httplib::Response& res) -> Status {
                ATOMCUT_ASSIGN_OR_RETURN(FrameGrabRequest q,
                                         frame_grab_request_from_json(req.body));
                ATOMCUT_ASSIGN_OR_RETURN(FrameGrabOutcome out, frames.grab(req.context(), q));
                nlohmann::json items = nlohmann::json::array();
                for (const auto& f : out.frames) {
                  const auto& a = f.artifact;
                  items.push_back({{"artifact_id", a.id},
                                   {"asset_id", a.parent_asset_id},
                                   {"kind", a.kind},
                                   {"uri", a.uri},
                                   {"timestamp_ms", a.meta.value("timestamp_ms", int64_t{0})},
                                   {"frame_pts_ms", a.meta.value("frame_pts_ms", int64_t{0})},
                                   {"width", a.meta.value("width", 0)},
                                   {"height", a.meta.value("height", 0)},
                                   {"cache_hit", f.cache_hit},
                                   {"meta", a.meta}});
                }
                reply_json(res, out.all_cached() ? 200 : 201,
                           {{"asset_id", out.frames.front().artifact.parent_asset_id},
                            {"frame_count", items.size()},
                            {"frames", items},
                            {"skipped_timestamps_ms", out.skipped_ms},
                            {"cache_hit", out.all_cached()}});
                return {};
              });
}

void register_video_backend_routes(HttpServer& s, VisualMetaService& visual_meta,
                                   RegionService& regions, CaptionService& captions,
                                   MaskService& masks) {
  const RouteOptions no_body{.auth = true, .context = true, .body = BodyMode::kNone};
  s.add_route("GET", "/video/backends", no_body,
              [&](ApiRequest&, httplib::Response& res) -> Status {
                std::vector<BackendInfo> all = visual_meta.backends();
                for (auto more : {regions.backends(), captions.backends(), masks.backends()}) {
                  all.insert(all.end(), more.begin(), more.end());
                }
                reply_json(res, 200, backends_json(all));
                return {};
              });
}

}  // namespace atomcut::http

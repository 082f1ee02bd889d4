// The face regions and anonymisation routes (spec "Video regions, visual meta, and captions
// (Phase V01)"). POST /video/regions answers 201 with a new summary, 200 from the cache.
// POST /video/anonymise/faces answers 201 when it created the clip's filter stack, else 200
// (filter updated, or nothing to do: applied false with a reason).
#include "http/error_mapping.h"
#include "http/routes/routes.h"

namespace atomcut::http {

namespace {

nlohmann::json artifact_brief(const DerivedArtifact& a) {
  return {{"artifact_id", a.id},
          {"asset_id", a.parent_asset_id},
          {"kind", a.kind},
          {"uri", a.uri},
          {"start_ms", a.start_ms ? nlohmann::json(*a.start_ms) : nullptr},
          {"end_ms", a.end_ms ? nlohmann::json(*a.end_ms) : nullptr},
          {"meta", a.meta}};
}

}  // namespace

void register_region_routes(HttpServer& s, RegionService& regions) {
  const RouteOptions json_opts{.auth = true, .context = true, .body = BodyMode::kJson};
  s.add_route("POST", "/video/regions", json_opts,
              [&regions](ApiRequest& req, httplib::Response& res) -> Status {
                ATOMCUT_ASSIGN_OR_RETURN(RegionRequest q, region_request_from_json(req.body));
                ATOMCUT_ASSIGN_OR_RETURN(RegionOutcome out, regions.regions(req.context(), q));
                nlohmann::json masks = nlohmann::json::array();
                nlohmann::json mask_ids = nlohmann::json::array();
                for (const auto& m : out.masks) {
                  nlohmann::json j = artifact_brief(m);
                  j["track_id"] = m.meta.value("track_id", 0);
                  masks.push_back(std::move(j));
                  mask_ids.push_back(m.id);
                }
                const auto& a = out.summary;
                nlohmann::json body = artifact_brief(a);
                body["summary_id"] = a.id;
                body["face_count"] = a.meta.value("face_count", 0);
                body["track_count"] = a.meta.value("track_count", 0);
                body["backend"] = a.meta.value("backend", std::string());
                body["backend_version"] = a.meta.value("backend_version", std::string());
                body["cache_key"] = a.meta.value("cache_key", std::string());
                body["mask_artifact_ids"] = mask_ids;
                body["masks"] = masks;
                body["cache_hit"] = out.cache_hit;
                reply_json(res, out.cache_hit ? 200 : 201, body);
                return {};
              });
  s.add_route("POST", "/video/anonymise/faces", json_opts,
              [&regions](ApiRequest& req, httplib::Response& res) -> Status {
                ATOMCUT_ASSIGN_OR_RETURN(AnonymiseRequest q, anonymise_request_from_json(req.body));
                ATOMCUT_ASSIGN_OR_RETURN(AnonymiseOutcome out,
                                         regions.anonymise_faces(req.context(), q));
                reply_json(res, out.created_stack ? 201 : 200, out.body);
                return {};
              });
}

}  // namespace atomcut::http

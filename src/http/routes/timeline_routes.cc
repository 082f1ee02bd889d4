// Timeline / Project atom routes. Every resource has its collection path (create, list, and the
// spec's PATCH/DELETE with the record's "id" in the body) and its item path (get, PATCH, DELETE).
#include "core/json_fields.h"
#include "http/error_mapping.h"
#include "http/routes/routes.h"

#include <fmt/format.h>

namespace atomcut::http {
namespace {

struct KindRoutes {
  TimelineKind kind;
  std::string collection;    // "/video/tracks/{parent_id}/clips"
  std::string item;          // "/video/clips/{id}"
  std::string parent_field;  // "track_id" (empty for projects)
};

nlohmann::json page_json(const TimelinePage& page) {
  return {{"items", page.items},
          {"next_cursor",
           page.next_cursor ? nlohmann::json(*page.next_cursor) : nlohmann::json(nullptr)}};
}

nlohmann::json delete_json(const TimelineDeleteReport& r) {
  nlohmann::json removed = nlohmann::json::object();
  for (const auto& [kind, ids] : r.removed) removed[kind] = ids;
  return {{"deleted", removed}};
}

// For PATCH/DELETE on a collection path: the record named by body "id", which must belong to the
// path's parent.
Result<std::string> id_under_parent(TimelineService& tl, const ApiRequest& req,
                                    const KindRoutes& k) {
  ATOMCUT_ASSIGN_OR_RETURN(std::string id, json_require_string(req.body, "id"));
  ATOMCUT_ASSIGN_OR_RETURN(nlohmann::json current, tl.get(req.scope(), k.kind, id));
  if (!k.parent_field.empty() && current.value(k.parent_field, "") != req.param("parent_id")) {
    return Error::not_found(fmt::format("{} {} is not under {} {}", timeline_kind_name(k.kind), id,
                                        k.parent_field, req.param("parent_id")));
  }
  return id;
}

void register_kind(HttpServer& s, TimelineService& tl, const KindRoutes& k) {
  const RouteOptions json_opts{.auth = true, .context = true, .body = BodyMode::kJson};
  const RouteOptions get_opts{.auth = true, .context = true, .body = BodyMode::kNone};
  auto parent_of = [](const ApiRequest& req) -> std::string {
    auto it = req.params.find("parent_id");
    return it == req.params.end() ? std::string() : it->second;
  };

  s.add_route("POST", k.collection, json_opts,
              [&tl, k, parent_of](ApiRequest& req, httplib::Response& res) -> Status {
                ATOMCUT_ASSIGN_OR_RETURN(
                    auto out, tl.create(req.context(), k.kind, parent_of(req), req.body));
                reply_json(res, 201, out);
                return {};
              });
  s.add_route("GET", k.collection, get_opts,
              [&tl, k, parent_of](ApiRequest& req, httplib::Response& res) -> Status {
                ATOMCUT_ASSIGN_OR_RETURN(PageParams pg, page_params(req));
                ATOMCUT_ASSIGN_OR_RETURN(
                    auto page, tl.list(req.scope(), k.kind, parent_of(req), pg.limit, pg.cursor));
                reply_json(res, 200, page_json(page));
                return {};
              });
  s.add_route("PATCH", k.collection, json_opts,
              [&tl, k](ApiRequest& req, httplib::Response& res) -> Status {
                ATOMCUT_ASSIGN_OR_RETURN(std::string id, id_under_parent(tl, req, k));
                ATOMCUT_ASSIGN_OR_RETURN(auto out, tl.patch(req.context(), k.kind, id, req.body));
                reply_json(res, 200, out);
                return {};
              });
  if (k.kind == TimelineKind::kClip || k.kind == TimelineKind::kTransition) {
    s.add_route("DELETE", k.collection, json_opts,
                [&tl, k](ApiRequest& req, httplib::Response& res) -> Status {
                  ATOMCUT_ASSIGN_OR_RETURN(std::string id, id_under_parent(tl, req, k));
                  ATOMCUT_ASSIGN_OR_RETURN(auto report, tl.remove(req.context(), k.kind, id));
                  reply_json(res, 200, delete_json(report));
                  return {};
                });
  }
  s.add_route("GET", k.item, get_opts, [&tl, k](ApiRequest& req, httplib::Response& res) -> Status {
    if (k.kind == TimelineKind::kProject) {
      if (auto expand = req.query("expand")) {
        if (*expand != "all") {
          return Error::invalid_argument(
              fmt::format("expand '{}' is not supported (use expand=all)", *expand),
              {{"field", "expand"}});
        }
        ATOMCUT_ASSIGN_OR_RETURN(auto tree, tl.expand_project(req.scope(), req.param("id")));
        reply_json(res, 200, tree);
        return {};
      }
    }
    ATOMCUT_ASSIGN_OR_RETURN(auto out, tl.get(req.scope(), k.kind, req.param("id")));
    reply_json(res, 200, out);
    return {};
  });
  s.add_route("PATCH", k.item, json_opts,
              [&tl, k](ApiRequest& req, httplib::Response& res) -> Status {
                ATOMCUT_ASSIGN_OR_RETURN(
                    auto out, tl.patch(req.context(), k.kind, req.param("id"), req.body));
                reply_json(res, 200, out);
                return {};
              });
  s.add_route(
      "DELETE", k.item, json_opts, [&tl, k](ApiRequest& req, httplib::Response& res) -> Status {
        ATOMCUT_ASSIGN_OR_RETURN(auto report, tl.remove(req.context(), k.kind, req.param("id")));
        reply_json(res, 200, delete_json(report));
        return {};
      });
}

}  // namespace

void register_timeline_routes(HttpServer& server, TimelineService& tl) {
  const std::vector<KindRoutes> kinds = {
      {TimelineKind::kProject, "/video/projects", "/video/projects/{id}", ""},
      {TimelineKind::kSequence, "/video/projects/{parent_id}/sequences", "/video/sequences/{id}",
       "project_id"},
      {TimelineKind::kTrack, "/video/sequences/{parent_id}/tracks", "/video/tracks/{id}",
       "sequence_id"},
      {TimelineKind::kClip, "/video/tracks/{parent_id}/clips", "/video/clips/{id}", "track_id"},
      {TimelineKind::kTransition, "/video/sequences/{parent_id}/transitions",
       "/video/transitions/{id}", "sequence_id"},
  };
  for (const auto& k : kinds) register_kind(server, tl, k);

  const RouteOptions json_opts{.auth = true, .context = true, .body = BodyMode::kJson};
  const RouteOptions get_opts{.auth = true, .context = true, .body = BodyMode::kNone};
  server.add_route("GET", "/video/sequences/{id}/otio", get_opts,
                   [&tl](ApiRequest& req, httplib::Response& res) -> Status {
                     ATOMCUT_ASSIGN_OR_RETURN(auto otio,
                                              tl.export_otio(req.scope(), req.param("id")));
                     reply_json(res, 200, otio);
                     return {};
                   });
  // The body is the OTIO Timeline itself; the tenant comes from headers or the query string.
  server.add_route("POST", "/video/projects/import/otio", json_opts,
                   [&tl](ApiRequest& req, httplib::Response& res) -> Status {
                     nlohmann::json otio = req.body;
                     for (const char* f : {"tenant_id", "env", "user_id"}) otio.erase(f);
                     ATOMCUT_ASSIGN_OR_RETURN(auto out, tl.import_otio(req.context(), otio));
                     reply_json(res, 201, out);
                     return {};
                   });

  const std::string stack = "/video/filter-stacks/{target_type}/{target_id}";
  server.add_route("POST", stack, json_opts,
                   [&tl](ApiRequest& req, httplib::Response& res) -> Status {
                     ATOMCUT_ASSIGN_OR_RETURN(
                         auto out, tl.create_filter_stack(req.context(), req.param("target_type"),
                                                          req.param("target_id"), req.body));
                     reply_json(res, 201, out);
                     return {};
                   });
  server.add_route(
      "GET", stack, get_opts, [&tl](ApiRequest& req, httplib::Response& res) -> Status {
        ATOMCUT_ASSIGN_OR_RETURN(
            auto out,
            tl.get_filter_stack(req.scope(), req.param("target_type"), req.param("target_id")));
        reply_json(res, 200, out);
        return {};
      });
  server.add_route("PATCH", stack, json_opts,
                   [&tl](ApiRequest& req, httplib::Response& res) -> Status {
                     ATOMCUT_ASSIGN_OR_RETURN(
                         auto out, tl.patch_filter_stack(req.context(), req.param("target_type"),
                                                         req.param("target_id"), req.body));
                     reply_json(res, 200, out);
                     return {};
                   });
  server.add_route(
      "DELETE", stack, json_opts, [&tl](ApiRequest& req, httplib::Response& res) -> Status {
        ATOMCUT_ASSIGN_OR_RETURN(auto report,
                                 tl.remove_filter_stack(req.context(), req.param("target_type"),
                                                        req.param("target_id")));
        reply_json(res, 200, delete_json(report));
        return {};
      });
}

}  // namespace atomcut::http

// Media Atom v2 routes. Uploads stream to the blob store with bounded memory: the multipart
// parser hands the `file` part to a BlobWriter chunk by chunk while SHA-256 is computed.
#include "core/json_fields.h"
#include "core/sha256.h"
#include "http/byte_range.h"
#include "http/error_mapping.h"
#include "http/routes/routes.h"

#include <fmt/format.h>

#include <map>

namespace atomcut::http {
namespace {

constexpr size_t kMaxFormFieldBytes = 64 * 1024;
constexpr size_t kMaxFormFields = 32;

bool is_multipart(const httplib::Request& raw) {
  return raw.get_header_value("Content-Type").rfind("multipart/form-data", 0) == 0;
}

// A multipart body read in one pass: text fields in memory (bounded), the `file` part streamed
// into a staged blob.
struct MultipartUpload {
  std::map<std::string, std::string> fields;
  std::unique_ptr<BlobWriter> file;
  std::string filename;
  std::string sha256;
};

Result<MultipartUpload> read_multipart(ApiRequest& req, BlobStore& blobs) {
  MultipartUpload up;
  Sha256 hash;
  std::optional<Error> failure;
  std::string current;
  bool in_file = false;
  bool ok = (*req.reader)(
      [&](const httplib::MultipartFormData& part) {
        current = part.name;
        in_file = false;
        if (part.name == "file") {
          if (up.file) {
            failure =
                Error::invalid_argument("only one 'file' part is allowed", {{"field", "file"}});
            return false;
          }
          auto writer = blobs.new_writer();
          if (!writer.ok()) {
            failure = writer.take_error();
            return false;
          }
          up.file = std::move(writer).value();
          up.filename = part.filename;
          in_file = true;
          return true;
        }
        if (!part.filename.empty()) {
          failure = Error::invalid_argument(
              fmt::format("unexpected file part '{}': send the file as part 'file'", part.name),
              {{"field", part.name}});
          return false;
        }
        if (up.fields.count(part.name)) {
          failure = Error::invalid_argument(fmt::format("form field '{}' is repeated", part.name),
                                            {{"field", part.name}});
          return false;
        }
        if (up.fields.size() >= kMaxFormFields) {
          failure = Error::invalid_argument("too many form fields");
          return false;
        }
        up.fields[part.name] = "";
        return true;
      },
      [&](const char* data, size_t len) {
        if (in_file) {
          Status st = up.file->write(data, len);
          if (!st.ok()) {
            failure = st.take_error();
            return false;
          }
          hash.update(data, len);
          return true;
        }
        auto& v = up.fields[current];
        if (v.size() + len > kMaxFormFieldBytes) {
          failure = Error::invalid_argument(
              fmt::format("form field '{}' is longer than {} bytes", current, kMaxFormFieldBytes),
              {{"field", current}});
          return false;
        }
        v.append(data, len);
        return true;
      });
  if (failure) return *failure;
  if (!ok) {
    return Error::invalid_argument(
        "the multipart body could not be read (malformed, truncated or interrupted)");
  }
  if (up.file) up.sha256 = hash.hex_digest();
  return up;
}

std::optional<std::string> field(const MultipartUpload& up, const char* name) {
  auto it = up.fields.find(name);
  if (it == up.fields.end()) return std::nullopt;
  return it->second;
}

ContextSource form_source(const MultipartUpload& up) {
  return ContextSource{"form", field(up, "tenant_id"), field(up, "env"), field(up, "user_id")};
}

Result<std::vector<std::string>> tags_from_json(const nlohmann::json& body) {
  auto it = body.find("tags");
  if (it == body.end() || it->is_null()) return std::vector<std::string>{};
  if (it->is_string()) return parse_tags(it->get<std::string>());
  if (!it->is_array()) {
    return Error::invalid_argument("tags must be an array of strings or a comma-separated string",
                                   {{"field", "tags"}});
  }
  std::string joined;
  for (const auto& t : *it) {
    if (!t.is_string()) {
      return Error::invalid_argument("tags must be an array of strings", {{"field", "tags"}});
    }
    if (t.get<std::string>().find(',') != std::string::npos) {
      return Error::invalid_argument("a tag must not contain a comma", {{"field", "tags"}});
    }
    joined += t.get<std::string>() + ",";
  }
  return parse_tags(joined);
}

}  // namespace

Result<MediaAsset> create_asset_from_request(MediaService& media, ApiRequest& req) {
  Result<MediaAsset> created = Error::internal("unreachable");
  if (is_multipart(req.raw)) {
    ATOMCUT_ASSIGN_OR_RETURN(MultipartUpload up, read_multipart(req, media.blobs()));
    ATOMCUT_TRY(req.resolve_context({form_source(up)}));
    if (!up.file) {
      return Error::invalid_argument("multipart upload needs a part named 'file'",
                                     {{"field", "file"}});
    }
    AssetFields fields;
    fields.kind_hint = field(up, "kind");
    if (fields.kind_hint && fields.kind_hint->empty()) fields.kind_hint.reset();
    fields.source_ref = field(up, "source_ref");
    if (fields.source_ref && fields.source_ref->empty()) fields.source_ref.reset();
    if (auto tags = field(up, "tags")) {
      ATOMCUT_ASSIGN_OR_RETURN(fields.tags, parse_tags(*tags));
    }
    if (!up.filename.empty()) fields.original_filename = up.filename;
    created = media.create_from_upload(req.context(), std::move(up.file), up.sha256, fields);
  } else {
    ATOMCUT_TRY(req.read_json_body());
    ContextSource body{"body", std::nullopt, std::nullopt, std::nullopt};
    ATOMCUT_ASSIGN_OR_RETURN(body.tenant_id, json_opt_string(req.body, "tenant_id"));
    ATOMCUT_ASSIGN_OR_RETURN(body.env, json_opt_string(req.body, "env"));
    ATOMCUT_ASSIGN_OR_RETURN(body.user_id, json_opt_string(req.body, "user_id"));
    ATOMCUT_TRY(req.resolve_context({body}));
    if (req.body.empty()) {
      return Error::invalid_argument(
          "send multipart/form-data with a 'file' part, or JSON with source_uri",
          {{"field", "source_uri"}});
    }
    ATOMCUT_ASSIGN_OR_RETURN(std::string uri, json_require_string(req.body, "source_uri"));
    AssetFields fields;
    ATOMCUT_ASSIGN_OR_RETURN(fields.kind_hint, json_opt_string(req.body, "kind"));
    ATOMCUT_ASSIGN_OR_RETURN(fields.source_ref, json_opt_string(req.body, "source_ref"));
    ATOMCUT_ASSIGN_OR_RETURN(fields.tags, tags_from_json(req.body));
    created = media.register_uri(req.context(), uri, fields);
  }
  return created;
}

namespace {

Status create_asset(MediaService& media, ApiRequest& req, httplib::Response& res) {
  ATOMCUT_ASSIGN_OR_RETURN(MediaAsset created, create_asset_from_request(media, req));
  reply_json(res, 201, to_json(created));
  return {};
}

Result<ArtifactFields> artifact_fields_from_json(const nlohmann::json& body) {
  ArtifactFields f;
  ATOMCUT_ASSIGN_OR_RETURN(f.kind, json_require_string(body, "kind"));
  ATOMCUT_ASSIGN_OR_RETURN(f.uri, json_opt_string(body, "uri"));
  ATOMCUT_ASSIGN_OR_RETURN(f.start_ms, json_opt_int(body, "start_ms"));
  ATOMCUT_ASSIGN_OR_RETURN(f.end_ms, json_opt_int(body, "end_ms"));
  ATOMCUT_ASSIGN_OR_RETURN(f.track_label, json_opt_string(body, "track_label"));
  ATOMCUT_ASSIGN_OR_RETURN(auto meta, json_opt_object(body, "meta"));
  if (meta) f.meta = *meta;
  return f;
}

Result<ArtifactFields> artifact_fields_from_form(const MultipartUpload& up) {
  nlohmann::json body = nlohmann::json::object();
  for (const char* name : {"kind", "track_label"}) {
    if (auto v = field(up, name)) body[name] = *v;
  }
  ArtifactFields f;
  ATOMCUT_ASSIGN_OR_RETURN(f.kind, json_require_string(body, "kind"));
  ATOMCUT_ASSIGN_OR_RETURN(f.track_label, json_opt_string(body, "track_label"));
  for (const char* name : {"start_ms", "end_ms"}) {
    auto v = field(up, name);
    if (!v || v->empty()) continue;
    ATOMCUT_ASSIGN_OR_RETURN(int64_t n, parse_int_field(*v, name));
    (std::string_view(name) == "start_ms" ? f.start_ms : f.end_ms) = n;
  }
  if (auto meta = field(up, "meta"); meta && !meta->empty()) {
    auto parsed = nlohmann::json::parse(*meta, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
      return Error::invalid_argument("form field meta must be a JSON object", {{"field", "meta"}});
    }
    f.meta = std::move(parsed);
  }
  if (field(up, "uri")) {
    return Error::invalid_argument("give either a uri (JSON) or a file part, not both",
                                   {{"field", "uri"}});
  }
  f.original_filename = up.filename;
  return f;
}

Status create_artifact(MediaService& media, ApiRequest& req, httplib::Response& res) {
  const std::string& asset_id = req.param("asset_id");
  Result<DerivedArtifact> created = Error::internal("unreachable");
  if (is_multipart(req.raw)) {
    ATOMCUT_ASSIGN_OR_RETURN(MultipartUpload up, read_multipart(req, media.blobs()));
    ATOMCUT_TRY(req.resolve_context({form_source(up)}));
    if (!up.file) {
      return Error::invalid_argument("multipart registration needs a part named 'file'",
                                     {{"field", "file"}});
    }
    ATOMCUT_ASSIGN_OR_RETURN(ArtifactFields f, artifact_fields_from_form(up));
    created =
        media.register_artifact_upload(req.context(), asset_id, f, std::move(up.file), up.sha256);
  } else {
    ATOMCUT_TRY(req.read_json_body());
    ContextSource body{"body", std::nullopt, std::nullopt, std::nullopt};
    ATOMCUT_ASSIGN_OR_RETURN(body.tenant_id, json_opt_string(req.body, "tenant_id"));
    ATOMCUT_ASSIGN_OR_RETURN(body.env, json_opt_string(req.body, "env"));
    ATOMCUT_ASSIGN_OR_RETURN(body.user_id, json_opt_string(req.body, "user_id"));
    ATOMCUT_TRY(req.resolve_context({body}));
    ATOMCUT_ASSIGN_OR_RETURN(ArtifactFields f, artifact_fields_from_json(req.body));
    created = media.register_artifact(req.context(), asset_id, f);
  }
  if (!created.ok()) return created.take_error();
  reply_json(res, 201, to_json(created.value()));
  return {};
}

// Streams content, honouring a single-range Range header (206 / 416).
void stream_content(MediaService& media, const ContentRef& ref, const httplib::Request& raw,
                    httplib::Response& res) {
  res.set_header("Accept-Ranges", "bytes");
  uint64_t offset = 0;
  uint64_t length = ref.size_bytes;
  res.status = 200;
  if (raw.has_header("Range")) {
    RangeRequest rr = parse_range_header(raw.get_header_value("Range"), ref.size_bytes);
    if (rr.kind == RangeKind::kUnsatisfiable) {
      res.set_header("Content-Range", fmt::format("bytes */{}", ref.size_bytes));
      reply_error(
          res, 416,
          Error::invalid_argument(fmt::format("range '{}' is outside the {} bytes of this content",
                                              raw.get_header_value("Range"), ref.size_bytes),
                                  {{"header", "Range"}, {"size_bytes", ref.size_bytes}}));
      return;
    }
    if (rr.kind == RangeKind::kSatisfiable) {
      offset = rr.range.offset;
      length = rr.range.length;
      res.status = 206;
      res.set_header("Content-Range",
                     fmt::format("bytes {}-{}/{}", offset, offset + length - 1, ref.size_bytes));
    }
  }
  if (length == 0) {
    res.set_content("", ref.content_type);
    return;
  }
  if (ref.local_path) {
    std::string path = *ref.local_path;
    res.set_content_provider(
        length, ref.content_type, [path, offset](size_t pos, size_t len, httplib::DataSink& sink) {
          FILE* f = std::fopen(path.c_str(), "rb");
          if (!f) return false;
          std::vector<char> buf(256 * 1024);
          bool ok = std::fseek(f, static_cast<long>(offset + pos), SEEK_SET) == 0;
          while (ok && len > 0) {
            size_t n = std::fread(buf.data(), 1, std::min(buf.size(), len), f);
            if (n == 0) break;
            ok = sink.write(buf.data(), n);
            len -= n;
          }
          std::fclose(f);
          return ok;
        });
    return;
  }
  BlobStore* blobs = &media.blobs();
  std::string key = ref.storage_key;
  res.set_content_provider(length, ref.content_type,
                           [blobs, key, offset](size_t pos, size_t len, httplib::DataSink& sink) {
                             Status st = blobs->read(
                                 key, offset + pos, len,
                                 [&sink](const char* d, size_t n) { return sink.write(d, n); });
                             return st.ok();
                           });
}

}  // namespace

void register_media_routes(HttpServer& server, MediaService& media) {
  const RouteOptions get_opts{.auth = true, .context = true, .body = BodyMode::kNone};
  const RouteOptions stream_opts{.auth = true, .context = true, .body = BodyMode::kStream};

  server.add_route(
      "POST", "/media-v2/assets", stream_opts,
      [&media](ApiRequest& req, httplib::Response& res) { return create_asset(media, req, res); });

  server.add_route("GET", "/media-v2/assets", get_opts,
                   [&media](ApiRequest& req, httplib::Response& res) -> Status {
                     AssetFilter filter;
                     if (auto k = req.query("kind")) {
                       filter.kind = parse_media_kind(*k);
                       if (!filter.kind) {
                         return Error::invalid_argument(
                             fmt::format("kind '{}' must be one of video, audio, image, other", *k),
                             {{"field", "kind"}});
                       }
                     }
                     filter.tag = req.query("tag");
                     filter.source_ref = req.query("source_ref");
                     ATOMCUT_ASSIGN_OR_RETURN(PageParams pg, page_params(req));
                     ATOMCUT_ASSIGN_OR_RETURN(
                         auto page, media.list_assets(req.scope(), filter, pg.limit, pg.cursor));
                     nlohmann::json items = nlohmann::json::array();
                     for (const auto& a : page.items) items.push_back(to_json(a));
                     reply_json(
                         res, 200,
                         {{"items", items},
                          {"next_cursor", page.next_after_id ? nlohmann::json(*page.next_after_id)
                                                             : nlohmann::json(nullptr)}});
                     return {};
                   });

  server.add_route("GET", "/media-v2/assets/{asset_id}", get_opts,
                   [&media](ApiRequest& req, httplib::Response& res) -> Status {
                     ATOMCUT_ASSIGN_OR_RETURN(auto found,
                                              media.get_asset(req.scope(), req.param("asset_id")));
                     nlohmann::json j = to_json(found.asset);
                     j["artifacts"] = nlohmann::json::array();
                     for (const auto& a : found.artifacts) j["artifacts"].push_back(to_json(a));
                     reply_json(res, 200, j);
                     return {};
                   });

  server.add_route("DELETE", "/media-v2/assets/{asset_id}", get_opts,
                   [&media](ApiRequest& req, httplib::Response& res) -> Status {
                     ATOMCUT_ASSIGN_OR_RETURN(
                         auto report, media.delete_asset(req.scope(), req.param("asset_id")));
                     reply_json(res, 200,
                                {{"deleted",
                                  {{"asset_id", report.asset_id},
                                   {"artifact_ids", report.artifact_ids},
                                   {"blobs_removed", report.blobs_removed}}}});
                     return {};
                   });

  server.add_route("GET", "/media-v2/assets/{asset_id}/content", get_opts,
                   [&media](ApiRequest& req, httplib::Response& res) -> Status {
                     ATOMCUT_ASSIGN_OR_RETURN(
                         auto ref, media.asset_content(req.scope(), req.param("asset_id")));
                     stream_content(media, ref, req.raw, res);
                     return {};
                   });

  server.add_route("POST", "/media-v2/assets/{asset_id}/artifacts", stream_opts,
                   [&media](ApiRequest& req, httplib::Response& res) {
                     return create_artifact(media, req, res);
                   });

  server.add_route("GET", "/media-v2/artifacts/{artifact_id}", get_opts,
                   [&media](ApiRequest& req, httplib::Response& res) -> Status {
                     ATOMCUT_ASSIGN_OR_RETURN(
                         auto found, media.get_artifact(req.scope(), req.param("artifact_id")));
                     nlohmann::json j = to_json(found.artifact);
                     j["parent_asset"] = to_json(found.parent);
                     reply_json(res, 200, j);
                     return {};
                   });

  server.add_route("GET", "/media-v2/artifacts/{artifact_id}/content", get_opts,
                   [&media](ApiRequest& req, httplib::Response& res) -> Status {
                     ATOMCUT_ASSIGN_OR_RETURN(
                         auto ref, media.artifact_content(req.scope(), req.param("artifact_id")));
                     stream_content(media, ref, req.raw, res);
                     return {};
                   });
}

}  // namespace atomcut::http

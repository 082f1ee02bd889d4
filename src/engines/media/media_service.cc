#include "engines/media/media_service.h"

#include "core/ids.h"
#include "core/sha256.h"
#include "core/time_util.h"
#include "engines/media/media_probe.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>

namespace atomcut {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxTags = 64;
constexpr size_t kMaxTagLen = 64;
constexpr size_t kMaxSourceRefLen = 256;

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '\n'))
    --e;
  return std::string(s.substr(b, e - b));
}

// ".mp4" from "Clip 01.MP4"; "" when there is no usable extension.
std::string extension_of(std::string_view filename) {
  auto slash = filename.find_last_of("/\\");
  if (slash != std::string_view::npos) filename = filename.substr(slash + 1);
  auto dot = filename.rfind('.');
  if (dot == std::string_view::npos || dot + 1 >= filename.size()) return "";
  std::string ext;
  for (char c : filename.substr(dot + 1)) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return "";
    ext.push_back(c);
  }
  if (ext.empty() || ext.size() > 8) return "";
  return "." + ext;
}

std::string content_type_for_extension(std::string_view ext) {
  static const std::array<std::pair<std::string_view, std::string_view>, 22> kTypes = {{
      {".json", "application/json"},
      {".txt", "text/plain; charset=utf-8"},
      {".srt", "application/x-subrip"},
      {".vtt", "text/vtt"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".webp", "image/webp"},
      {".gif", "image/gif"},
      {".mp4", "video/mp4"},
      {".mov", "video/quicktime"},
      {".mkv", "video/x-matroska"},
      {".webm", "video/webm"},
      {".wav", "audio/wav"},
      {".mp3", "audio/mpeg"},
      {".flac", "audio/flac"},
      {".ogg", "audio/ogg"},
      {".m4a", "audio/mp4"},
      {".aac", "audio/aac"},
      {".cube", "text/plain; charset=utf-8"},
      {".csv", "text/csv"},
      {".avi", "video/x-msvideo"},
  }};
  for (const auto& [e, t] : kTypes) {
    if (e == ext) return std::string(t);
  }
  return "application/octet-stream";
}

std::string percent_decode(std::string_view s, bool* ok) {
  std::string out;
  *ok = true;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      *ok = false;
      return "";
    }
    out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
    i += 2;
  }
  return out;
}

bool is_region_kind(const ArtifactFields& f) {
  if (f.kind == "video_region_summary") return true;
  if (f.kind != "mask") return false;
  std::string mask_type =
      f.meta.is_object() && f.meta.contains("mask_type") && f.meta["mask_type"].is_string()
          ? f.meta["mask_type"].get<std::string>()
          : "";
  bool from_regions = f.meta.is_object() && f.meta.value("source", "") == "video_regions";
  return from_regions || mask_type == "face" || mask_type == "face_region" || mask_type == "region";
}

bool is_media_kind(std::string_view k) { return k == "video" || k == "audio" || k == "image"; }

}  // namespace

Result<std::vector<std::string>> parse_tags(std::string_view csv) {
  std::vector<std::string> tags;
  size_t start = 0;
  while (start <= csv.size()) {
    size_t end = csv.find(',', start);
    if (end == std::string_view::npos) end = csv.size();
    std::string tag = trim(csv.substr(start, end - start));
    start = end + 1;
    if (tag.empty()) continue;
    if (tag.size() > kMaxTagLen) {
      return Error::invalid_argument(
          fmt::format("tag '{}...' is longer than {} characters", tag.substr(0, 20), kMaxTagLen),
          {{"field", "tags"}});
    }
    for (unsigned char c : tag) {
      if (c < 0x20 || c == 0x7f) {
        return Error::invalid_argument("tags must not contain control characters",
                                       {{"field", "tags"}});
      }
    }
    if (std::find(tags.begin(), tags.end(), tag) == tags.end()) tags.push_back(std::move(tag));
  }
  if (tags.size() > kMaxTags) {
    return Error::invalid_argument(fmt::format("at most {} tags are allowed", kMaxTags),
                                   {{"field", "tags"}, {"count", tags.size()}});
  }
  return tags;
}

Status validate_asset_fields(const AssetFields& f) {
  if (f.kind_hint && !parse_media_kind(*f.kind_hint)) {
    return Error::invalid_argument(
        fmt::format("kind '{}' must be one of video, audio, image, other", *f.kind_hint),
        {{"field", "kind"}, {"allowed", {"video", "audio", "image", "other"}}});
  }
  if (f.source_ref && (f.source_ref->empty() || f.source_ref->size() > kMaxSourceRefLen)) {
    return Error::invalid_argument(
        fmt::format("source_ref must be 1 to {} characters", kMaxSourceRefLen),
        {{"field", "source_ref"}});
  }
  if (f.tags.size() > kMaxTags) {
    return Error::invalid_argument(fmt::format("at most {} tags are allowed", kMaxTags),
                                   {{"field", "tags"}});
  }
  for (const auto& t : f.tags) {
    if (t.empty() || t.size() > kMaxTagLen || t.find(',') != std::string::npos) {
      return Error::invalid_argument(
          fmt::format("each tag must be 1 to {} characters without commas", kMaxTagLen),
          {{"field", "tags"}});
    }
  }
  return {};
}

MediaService::MediaService(MetadataStore& store, BlobStore& blobs, MediaServiceOptions options)
    : store_(store), blobs_(blobs), options_(std::move(options)) {}

Result<MediaAsset> MediaService::finish_asset(const RequestContext& ctx, MediaAsset asset,
                                              const std::string& probe_path,
                                              const AssetFields& fields) {
  asset.tenant_id = ctx.tenant_id;
  asset.env = ctx.env;
  asset.user_id = ctx.user_id;
  asset.tags = fields.tags;
  asset.source_ref = fields.source_ref;
  asset.created_at_ms = now_ms();
  if (fields.original_filename) asset.meta["original_filename"] = *fields.original_filename;

  auto probe = probe_media(probe_path, ProbeOptions{options_.probe_timeout_ms});
  if (probe.ok()) {
    const ProbeResult& p = probe.value();
    asset.kind = p.kind;
    asset.duration_ms = p.duration_ms;
    asset.fps = p.fps;
    asset.variable_frame_rate = p.variable_frame_rate;
    asset.width = p.width;
    asset.height = p.height;
    asset.rotation = p.rotation;
    asset.audio_channels = p.audio_channels;
    asset.sample_rate = p.sample_rate;
    asset.codec_info = p.streams;
    asset.content_type = p.content_type.empty() ? asset.content_type : p.content_type;
    asset.meta["probe"] = {{"format_name", p.format_name},
                           {"bit_rate", p.bit_rate ? nlohmann::json(*p.bit_rate) : nullptr}};
    if (fields.kind_hint) {
      asset.meta["kind_hint"] = *fields.kind_hint;
      if (*fields.kind_hint != media_kind_name(p.kind)) {
        asset.meta["kind_hint_mismatch"] =
            fmt::format("kind hint '{}' contradicts the probe, which found {}", *fields.kind_hint,
                        media_kind_name(p.kind));
      }
    }
  } else {
    const Error& e = probe.error();
    if (e.code == ErrorCode::kNotFound) {
      return Error::internal(fmt::format("stored file vanished before probing: {}", e.message));
    }
    std::string reason = e.details.value("reason", std::string(error_code_name(e.code)));
    if (fields.kind_hint && is_media_kind(*fields.kind_hint)) {
      return Error::invalid_argument(
          fmt::format("the file is not readable {} media: {}", *fields.kind_hint, e.message),
          {{"field", "file"}, {"reason", reason}, {"kind_hint", *fields.kind_hint}});
    }
    asset.kind = MediaKind::kOther;
    asset.meta["probe_error"] = {
        {"code", std::string(error_code_name(e.code))}, {"reason", reason}, {"message", e.message}};
    if (fields.kind_hint) asset.meta["kind_hint"] = *fields.kind_hint;
    std::string ext = extension_of(fields.original_filename.value_or(probe_path));
    asset.content_type = content_type_for_extension(ext);
  }
  ATOMCUT_TRY(store_.insert_asset(asset));
  return asset;
}

Result<MediaAsset> MediaService::create_from_upload(const RequestContext& ctx,
                                                    std::unique_ptr<BlobWriter> staged,
                                                    const std::string& sha256_hex,
                                                    const AssetFields& fields) {
  ATOMCUT_TRY(validate_asset_fields(fields));
  if (!staged) return Error::invalid_argument("no file part in the upload", {{"field", "file"}});
  if (staged->bytes_written() == 0) {
    staged->abort();
    return Error::invalid_argument("the uploaded file is empty (0 bytes)",
                                   {{"field", "file"}, {"reason", "empty"}});
  }
  const std::string name = "source" + extension_of(fields.original_filename.value_or(""));
  return commit_staged(ctx, new_id("ast"), std::move(staged), name, sha256_hex, fields,
                       {{"ingest", "upload"}});
}

Result<MediaAsset> MediaService::create_from_output(
    const RequestContext& ctx, const std::string& asset_id, std::unique_ptr<BlobWriter> staged,
    const std::string& file_name, const std::string& sha256_hex, const AssetFields& fields,
    const nlohmann::json& meta) {
  ATOMCUT_TRY(validate_asset_fields(fields));
  if (!staged || staged->bytes_written() == 0) {
    if (staged) staged->abort();
    return Error::internal("the produced file is empty (0 bytes)");
  }
  return commit_staged(ctx, asset_id, std::move(staged), file_name, sha256_hex, fields, meta);
}

Result<MediaAsset> MediaService::commit_staged(
    const RequestContext& ctx, const std::string& asset_id, std::unique_ptr<BlobWriter> staged,
    const std::string& file_name, const std::string& sha256_hex, const AssetFields& fields,
    const nlohmann::json& meta) {
  MediaAsset asset;
  asset.id = asset_id;
  const Scope scope = scope_of(ctx);
  const std::string folder = asset_prefix(scope, asset.id);
  const std::string key = folder + "/" + file_name;
  asset.size_bytes = static_cast<int64_t>(staged->bytes_written());
  ATOMCUT_TRY(staged->commit(key));
  asset.storage_key = key;
  asset.source_uri = blobs_.uri_for(key);
  asset.meta["sha256"] = sha256_hex;
  for (auto it = meta.begin(); it != meta.end(); ++it) asset.meta[it.key()] = it.value();
  auto path = blobs_.local_path(key);
  if (!path) {
    (void)blobs_.remove_prefix(folder);
    return Error::unimplemented("probing requires a local blob store");
  }
  auto result = finish_asset(ctx, std::move(asset), *path, fields);
  if (!result.ok()) (void)blobs_.remove_prefix(folder);
  return result;
}

Result<std::string> MediaService::resolve_import_path(const std::string& source_uri) const {
  constexpr std::string_view kFile = "file://";
  if (source_uri.rfind(kFile, 0) != 0) {
    return Error::invalid_argument(
        fmt::format("source_uri '{}' is not supported: use a file:// URI inside an import root",
                    source_uri.substr(0, 200)),
        {{"field", "source_uri"}, {"supported_schemes", {"file"}}});
  }
  bool ok = true;
  std::string path = percent_decode(std::string_view(source_uri).substr(kFile.size()), &ok);
  if (!ok || path.empty() || path[0] != '/' || path.find('\0') != std::string::npos) {
    return Error::invalid_argument("source_uri must be file:// followed by an absolute path",
                                   {{"field", "source_uri"}});
  }
  fs::path p(path);
  for (const auto& part : p) {
    if (part == ".." || part == ".") {
      return Error::invalid_argument("source_uri must not contain '.' or '..' segments",
                                     {{"field", "source_uri"}});
    }
  }
  if (options_.import_roots.empty()) {
    return Error::failed_precondition(
        "no import roots are configured, so file:// registration is disabled (set "
        "--import-root or ATOMCUT_IMPORT_ROOTS)",
        {{"field", "source_uri"}});
  }
  std::error_code ec;
  fs::path canon = fs::weakly_canonical(p, ec);
  bool inside = false;
  if (!ec) {
    const std::string c = canon.string();
    for (const auto& root : options_.import_roots) {
      if (c.size() > root.size() && c.compare(0, root.size(), root) == 0 &&
          (root.back() == '/' || c[root.size()] == '/')) {
        inside = true;
      }
    }
  }
  if (!inside) {
    return Error::permission_denied("source_uri is outside the configured import roots",
                                    {{"field", "source_uri"}});
  }
  if (!fs::exists(canon, ec)) {
    return Error::not_found(fmt::format("source_uri file '{}' does not exist", path),
                            {{"field", "source_uri"}});
  }
  if (!fs::is_regular_file(canon, ec)) {
    return Error::invalid_argument(fmt::format("source_uri '{}' is not a regular file", path),
                                   {{"field", "source_uri"}});
  }
  return canon.string();
}

Result<MediaAsset> MediaService::register_uri(const RequestContext& ctx,
                                              const std::string& source_uri,
                                              const AssetFields& fields_in) {
  ATOMCUT_TRY(validate_asset_fields(fields_in));
  ATOMCUT_ASSIGN_OR_RETURN(std::string path, resolve_import_path(source_uri));
  AssetFields fields = fields_in;
  if (!fields.original_filename) fields.original_filename = fs::path(path).filename().string();

  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::permission_denied(fmt::format("cannot read '{}'", path));
  MediaAsset asset;
  asset.id = new_id("ast");
  const Scope scope = scope_of(ctx);
  const bool copy = options_.import_mode == "copy";
  std::unique_ptr<BlobWriter> writer;
  if (copy) {
    ATOMCUT_ASSIGN_OR_RETURN(writer, blobs_.new_writer());
  }
  Sha256 hash;
  std::vector<char> buf(1 << 20);
  uint64_t total = 0;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    auto n = static_cast<size_t>(in.gcount());
    if (n == 0) break;
    hash.update(buf.data(), n);
    total += n;
    if (writer) ATOMCUT_TRY(writer->write(buf.data(), n));
  }
  if (in.bad()) return Error::data_loss(fmt::format("read error on '{}'", path));
  if (total == 0) {
    return Error::invalid_argument("the source file is empty (0 bytes)",
                                   {{"field", "source_uri"}, {"reason", "empty"}});
  }
  asset.size_bytes = static_cast<int64_t>(total);
  asset.meta["sha256"] = hash.hex_digest();
  asset.meta["imported_from"] = "file://" + path;
  asset.meta["ingest"] = copy ? "import_copy" : "import_reference";
  std::string probe_path = path;
  if (copy) {
    const std::string key = asset_prefix(scope, asset.id) + "/source" + extension_of(path);
    ATOMCUT_TRY(writer->commit(key));
    asset.storage_key = key;
    asset.source_uri = blobs_.uri_for(key);
    if (auto local = blobs_.local_path(key)) probe_path = *local;
  } else {
    asset.source_uri = "file://" + path;
  }
  const std::string folder = asset_prefix(scope, asset.id);
  auto result = finish_asset(ctx, std::move(asset), probe_path, fields);
  if (!result.ok() && copy) (void)blobs_.remove_prefix(folder);
  return result;
}

Result<AssetWithArtifacts> MediaService::get_asset(const Scope& scope, std::string_view asset_id) {
  ATOMCUT_ASSIGN_OR_RETURN(MediaAsset asset, store_.get_asset(scope, asset_id));
  ATOMCUT_ASSIGN_OR_RETURN(auto artifacts, store_.list_artifacts(scope, asset_id));
  return AssetWithArtifacts{std::move(asset), std::move(artifacts)};
}

Result<Page<MediaAsset>> MediaService::list_assets(const Scope& scope, const AssetFilter& filter,
                                                   int limit,
                                                   const std::optional<std::string>& cursor) {
  if (limit < 1 || limit > 1000) {
    return Error::invalid_argument(fmt::format("limit {} must be between 1 and 1000", limit),
                                   {{"field", "limit"}});
  }
  if (cursor && !is_valid_id(*cursor, "ast")) {
    return Error::invalid_argument("cursor is not a next_cursor returned by this endpoint",
                                   {{"field", "cursor"}});
  }
  std::optional<std::string_view> after;
  if (cursor) after = *cursor;
  return store_.list_assets(scope, filter, limit, after);
}

Result<DeleteReport> MediaService::delete_asset(const Scope& scope, std::string_view asset_id) {
  ATOMCUT_ASSIGN_OR_RETURN(MediaAsset asset, store_.get_asset(scope, asset_id));
  ATOMCUT_ASSIGN_OR_RETURN(auto artifacts, store_.delete_asset(scope, asset_id));
  DeleteReport report;
  report.asset_id = std::string(asset_id);
  const std::string folder = asset_prefix(scope, asset_id);
  const std::string media_root = tenant_prefix(scope) + "media_v2/";
  if (!asset.storage_key.empty()) ++report.blobs_removed;
  for (const auto& a : artifacts) {
    report.artifact_ids.push_back(a.id);
    if (a.storage_key.empty()) continue;
    if (a.storage_key.rfind(folder + "/", 0) == 0) {
      ++report.blobs_removed;
    } else if (a.storage_key.rfind(media_root, 0) != 0) {
      // Outside every asset folder: this asset's artifact alone owns it.
      if (blobs_.remove(a.storage_key).ok()) ++report.blobs_removed;
    }
  }
  ATOMCUT_TRY(blobs_.remove_prefix(folder));
  return report;
}

Status MediaService::validate_artifact(const RequestContext& ctx, const MediaAsset& parent,
                                       const ArtifactFields& f, const std::string& storage_key) {
  if (!is_known_artifact_kind(f.kind)) {
    nlohmann::json allowed = nlohmann::json::array();
    for (auto k : artifact_kinds()) allowed.push_back(std::string(k));
    return Error::invalid_argument(fmt::format("artifact kind '{}' is not known", f.kind),
                                   {{"field", "kind"}, {"allowed", allowed}});
  }
  if (parent.tenant_id != ctx.tenant_id || parent.env != ctx.env) {
    return Error::permission_denied("the artifact's tenant_id/env must equal its parent's");
  }
  if (f.start_ms && *f.start_ms < 0) {
    return Error::invalid_argument(fmt::format("start_ms ({}) must be >= 0", *f.start_ms),
                                   {{"field", "start_ms"}});
  }
  if (f.end_ms && *f.end_ms < 0) {
    return Error::invalid_argument(fmt::format("end_ms ({}) must be >= 0", *f.end_ms),
                                   {{"field", "end_ms"}});
  }
  if (f.start_ms && f.end_ms && *f.start_ms > *f.end_ms) {
    return Error::invalid_argument(
        fmt::format("start_ms ({}) must be <= end_ms ({})", *f.start_ms, *f.end_ms),
        {{"field", "start_ms"}});
  }
  if (f.track_label && f.track_label->size() > 256) {
    return Error::invalid_argument("track_label must be at most 256 characters",
                                   {{"field", "track_label"}});
  }
  if (!f.meta.is_object()) {
    return Error::invalid_argument("meta must be a JSON object", {{"field", "meta"}});
  }
  if (f.kind == "video_region_summary" || f.kind == "visual_meta" || f.kind == "asr_transcript") {
    std::vector<std::pair<const char*, bool>> required = {{"backend_version", false},
                                                          {"model_used", false},
                                                          {"cache_key", false},
                                                          {"duration_ms", true}};
    if (f.kind == "visual_meta") required.emplace_back("frame_sample_interval_ms", true);
    for (const auto& [name, numeric] : required) {
      auto it = f.meta.find(name);
      bool ok = it != f.meta.end() &&
                (numeric ? it->is_number() : (it->is_string() && !it->get<std::string>().empty()));
      if (!ok) {
        return Error::invalid_argument(
            fmt::format("{} artifacts must carry meta.{} ({})", f.kind, name,
                        numeric ? "a number" : "a non-empty string"),
            {{"field", std::string("meta.") + name}});
      }
    }
  }
  const Scope scope = scope_of(ctx);
  if (storage_key.rfind(tenant_prefix(scope), 0) != 0) {
    return Error::permission_denied(
        "uri must point into the blob store under the tenant's prefix " + tenant_prefix(scope),
        {{"field", "uri"}});
  }
  if (is_region_kind(f)) {
    const std::string regions = asset_prefix(scope, parent.id) + "/regions/";
    if (storage_key.rfind(regions, 0) != 0) {
      return Error::invalid_argument(fmt::format("{} artifacts must lie under {}", f.kind, regions),
                                     {{"field", "uri"}});
    }
    std::vector<std::string> mask_uris;
    if (f.meta.contains("mask_uris") && f.meta["mask_uris"].is_array()) {
      for (const auto& u : f.meta["mask_uris"]) {
        if (u.is_string()) mask_uris.push_back(u.get<std::string>());
      }
    }
    for (const auto& u : mask_uris) {
      auto key = blobs_.key_for_uri(u);
      if (!key || key->rfind(regions, 0) != 0) {
        return Error::invalid_argument(
            fmt::format("region mask '{}' must lie under {}", u.substr(0, 200), regions),
            {{"field", "meta.mask_uris"}});
      }
    }
  }
  return {};
}

Result<DerivedArtifact> MediaService::register_artifact(const RequestContext& ctx,
                                                        std::string_view asset_id,
                                                        const ArtifactFields& f) {
  const Scope scope = scope_of(ctx);
  ATOMCUT_ASSIGN_OR_RETURN(MediaAsset parent, store_.get_asset(scope, asset_id));
  if (!f.uri || f.uri->empty()) {
    return Error::invalid_argument("uri is required (or upload the bytes as multipart part 'file')",
                                   {{"field", "uri"}});
  }
  auto key = blobs_.key_for_uri(*f.uri);
  if (!key) {
    return Error::permission_denied(
        fmt::format("uri '{}' does not point into the blob store under the tenant's prefix {}",
                    f.uri->substr(0, 200), tenant_prefix(scope)),
        {{"field", "uri"}});
  }
  ATOMCUT_TRY(validate_artifact(ctx, parent, f, *key));
  auto info = blobs_.stat(*key);
  if (!info.ok()) {
    return Error::invalid_argument(fmt::format("uri '{}' does not exist in the blob store", *f.uri),
                                   {{"field", "uri"}});
  }
  DerivedArtifact a;
  a.id = new_id("art");
  a.parent_asset_id = parent.id;
  a.tenant_id = ctx.tenant_id;
  a.env = ctx.env;
  a.user_id = ctx.user_id;
  a.kind = f.kind;
  a.uri = blobs_.uri_for(*key);
  a.start_ms = f.start_ms;
  a.end_ms = f.end_ms;
  a.track_label = f.track_label;
  a.meta = f.meta;
  a.created_at_ms = now_ms();
  a.size_bytes = static_cast<int64_t>(info->size_bytes);
  a.storage_key = *key;
  a.content_type = content_type_for_extension(extension_of(*key));
  ATOMCUT_TRY(store_.insert_artifact(a));
  return a;
}

Result<DerivedArtifact> MediaService::register_artifact_upload(const RequestContext& ctx,
                                                               std::string_view asset_id,
                                                               const ArtifactFields& f,
                                                               std::unique_ptr<BlobWriter> staged,
                                                               const std::string& sha256_hex) {
  const Scope scope = scope_of(ctx);
  ATOMCUT_ASSIGN_OR_RETURN(MediaAsset parent, store_.get_asset(scope, asset_id));
  if (!staged) return Error::invalid_argument("no file part in the upload", {{"field", "file"}});
  if (f.uri) {
    return Error::invalid_argument("give either a uri or a file part, not both",
                                   {{"field", "uri"}});
  }
  DerivedArtifact a;
  a.id = new_id("art");
  const std::string ext = extension_of(f.original_filename.value_or(""));
  const std::string folder = is_region_kind(f) ? "/regions/" : "/artifacts/";
  const std::string key = asset_prefix(scope, parent.id) + folder + a.id + ext;
  ATOMCUT_TRY(validate_artifact(ctx, parent, f, key));
  a.parent_asset_id = parent.id;
  a.tenant_id = ctx.tenant_id;
  a.env = ctx.env;
  a.user_id = ctx.user_id;
  a.kind = f.kind;
  a.start_ms = f.start_ms;
  a.end_ms = f.end_ms;
  a.track_label = f.track_label;
  a.meta = f.meta;
  a.meta["sha256"] = sha256_hex;
  a.created_at_ms = now_ms();
  a.size_bytes = static_cast<int64_t>(staged->bytes_written());
  ATOMCUT_TRY(staged->commit(key));
  a.storage_key = key;
  a.uri = blobs_.uri_for(key);
  a.content_type = content_type_for_extension(ext);
  Status inserted = store_.insert_artifact(a);
  if (!inserted.ok()) {
    (void)blobs_.remove(key);
    return inserted.take_error();
  }
  return a;
}

Result<ArtifactWithParent> MediaService::get_artifact(const Scope& scope,
                                                      std::string_view artifact_id) {
  ATOMCUT_ASSIGN_OR_RETURN(DerivedArtifact artifact, store_.get_artifact(scope, artifact_id));
  ATOMCUT_ASSIGN_OR_RETURN(MediaAsset parent, store_.get_asset(scope, artifact.parent_asset_id));
  return ArtifactWithParent{std::move(artifact), std::move(parent)};
}

Result<ContentRef> MediaService::asset_content(const Scope& scope, std::string_view asset_id) {
  ATOMCUT_ASSIGN_OR_RETURN(MediaAsset asset, store_.get_asset(scope, asset_id));
  ContentRef ref;
  ref.content_type = asset.content_type;
  if (!asset.storage_key.empty()) {
    ATOMCUT_ASSIGN_OR_RETURN(BlobInfo info, blobs_.stat(asset.storage_key));
    ref.storage_key = asset.storage_key;
    ref.size_bytes = info.size_bytes;
    return ref;
  }
  // Referenced import: the file stays where it was registered from.
  std::string path = asset.source_uri.rfind("file://", 0) == 0 ? asset.source_uri.substr(7) : "";
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (path.empty() || ec) {
    return Error::not_found(fmt::format("the referenced file of asset {} is gone", asset.id));
  }
  ref.local_path = path;
  ref.size_bytes = size;
  return ref;
}

Result<ContentRef> MediaService::artifact_content(const Scope& scope,
                                                  std::string_view artifact_id) {
  ATOMCUT_ASSIGN_OR_RETURN(DerivedArtifact a, store_.get_artifact(scope, artifact_id));
  if (a.storage_key.rfind(tenant_prefix(scope), 0) != 0) {
    return Error::not_found(fmt::format("artifact {} has no content in this tenant", a.id));
  }
  ATOMCUT_ASSIGN_OR_RETURN(BlobInfo info, blobs_.stat(a.storage_key));
  return ContentRef{a.storage_key, std::nullopt, info.size_bytes, a.content_type};
}

}  // namespace atomcut

#include "engines/media/analysis_support.h"

#include "core/ids.h"
#include "core/sha256.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>

namespace atomcut {

namespace fs = std::filesystem;

namespace {

// A temporary file removed when it goes out of scope.
struct TempPath {
  std::string path;
  explicit TempPath(const std::string& suffix) {
    path = (fs::temp_directory_path() / fmt::format("atomcut-out-{}{}", new_id("tmp"), suffix))
               .string();
  }
  ~TempPath() {
    std::error_code ec;
    fs::remove(path, ec);
  }
};

}  // namespace

std::string join_cache_key(std::initializer_list<std::string> parts) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += '|';
    out += p;
  }
  return out;
}

nlohmann::json source_meta(const AnalysisInput& in) {
  nlohmann::json m = {{"source_asset_id", in.asset.id}};
  m["source_artifact_id"] = in.artifact ? nlohmann::json(in.artifact->id) : nlohmann::json(nullptr);
  if (in.artifact) m["source_artifact_kind"] = in.artifact->kind;
  return m;
}

// ---- backends

void BackendRegistry::add(BackendInfo b) { backends_.push_back(std::move(b)); }

Result<ChosenBackend> BackendRegistry::choose(const std::string& atom,
                                              const std::optional<std::string>& requested) const {
  std::vector<const BackendInfo*> mine;
  for (const auto& b : backends_) {
    if (b.atom == atom) mine.push_back(&b);
  }
  if (requested && !requested->empty() && *requested != "default") {
    for (const auto* b : mine) {
      if (b->name != *requested) continue;
      if (!b->available) {
        return Error::failed_precondition(
            fmt::format("backend '{}' of {} is not available here: {}", b->name, atom, b->detail),
            {{"field", "backend"}, {"backend", b->name}});
      }
      return ChosenBackend{*b, *requested, std::nullopt};
    }
    nlohmann::json names = nlohmann::json::array();
    for (const auto* b : mine) names.push_back(b->name);
    return Error::invalid_argument(
        fmt::format("unknown {} backend '{}' (available: {})", atom, *requested, names.dump()),
        {{"field", "backend"}, {"available", names}});
  }
  const BackendInfo* stub = nullptr;
  for (const auto* b : mine) {
    if (b->is_default && b->available) return ChosenBackend{*b, "default", std::nullopt};
    if (b->name == "stub") stub = b;
  }
  for (const auto* b : mine) {
    if (b->is_default && stub) return ChosenBackend{*stub, "default", b->detail};
  }
  return Error::failed_precondition(fmt::format("no {} backend is available here", atom));
}

// ---- inputs and outputs

Result<AnalysisInput> AnalysisArtifacts::resolve(const Scope& scope, const std::string& asset_id,
                                                 const std::optional<std::string>& artifact_id,
                                                 NeedStream need) {
  AnalysisInput in;
  std::optional<std::string> local;
  if (artifact_id) {
    ATOMCUT_ASSIGN_OR_RETURN(ArtifactWithParent a, media_.get_artifact(scope, *artifact_id));
    if (!asset_id.empty() && a.parent.id != asset_id) {
      return Error::not_found(
          fmt::format("artifact {} is not an artifact of asset {}", *artifact_id, asset_id),
          {{"field", "artifact_id"}});
    }
    ATOMCUT_ASSIGN_OR_RETURN(ContentRef c, media_.artifact_content(scope, *artifact_id));
    local = c.local_path ? c.local_path : media_.blobs().local_path(c.storage_key);
    in.asset = std::move(a.parent);
    in.artifact = std::move(a.artifact);
  } else {
    ATOMCUT_ASSIGN_OR_RETURN(AssetWithArtifacts a, media_.get_asset(scope, asset_id));
    if (a.asset.kind == MediaKind::kOther) {
      return Error::invalid_argument(
          fmt::format("asset {} is not readable media (it failed to probe when registered)",
                      asset_id),
          {{"asset_id", asset_id}, {"reason", "not_media"}});
    }
    if (need == NeedStream::kAudio && a.asset.audio_channels.value_or(0) <= 0) {
      return Error::invalid_argument(
          fmt::format("asset {} has no audio stream ({})", asset_id, media_kind_name(a.asset.kind)),
          {{"asset_id", asset_id}, {"reason", "no_audio_stream"}});
    }
    if (need == NeedStream::kVideo && a.asset.kind != MediaKind::kVideo) {
      return Error::invalid_argument(
          fmt::format("asset {} has no video stream ({})", asset_id, media_kind_name(a.asset.kind)),
          {{"asset_id", asset_id}, {"reason", "no_video_stream"}});
    }
    ATOMCUT_ASSIGN_OR_RETURN(ContentRef c, media_.asset_content(scope, asset_id));
    local = c.local_path ? c.local_path : media_.blobs().local_path(c.storage_key);
    in.asset = std::move(a.asset);
  }
  if (!local) return Error::unimplemented("the analysis atoms need media in a local blob store");
  in.path = *local;
  return in;
}

std::optional<DerivedArtifact> AnalysisArtifacts::find_cached(const Scope& scope,
                                                              const std::string& asset_id,
                                                              const std::string& kind,
                                                              const std::string& key) {
  return newest(scope, asset_id, kind, [&key](const DerivedArtifact& a) {
    return a.meta.value("cache_key", std::string()) == key;
  });
}

std::map<std::string, DerivedArtifact> AnalysisArtifacts::cached_by_key(const Scope& scope,
                                                                        const std::string& asset_id,
                                                                        const std::string& kind) {
  std::map<std::string, DerivedArtifact> out;
  auto a = media_.get_asset(scope, asset_id);
  if (!a.ok()) return out;
  // Artifacts come in creation order: a later one with the same key replaces an earlier one.
  for (auto& art : a->artifacts) {
    if (art.kind != kind) continue;
    std::string key = art.meta.value("cache_key", std::string());
    if (!key.empty()) out.insert_or_assign(std::move(key), std::move(art));
  }
  return out;
}

std::optional<DerivedArtifact> AnalysisArtifacts::newest(
    const Scope& scope, const std::string& asset_id, const std::string& kind,
    const std::function<bool(const DerivedArtifact&)>& accept) {
  auto a = media_.get_asset(scope, asset_id);
  if (!a.ok()) return std::nullopt;
  // Artifacts come in creation order (ids are time-sortable).
  for (auto it = a->artifacts.rbegin(); it != a->artifacts.rend(); ++it) {
    if (it->kind == kind && (!accept || accept(*it))) return *it;
  }
  return std::nullopt;
}

Result<DerivedArtifact> AnalysisArtifacts::store_file(
    const RequestContext& ctx, const std::string& asset_id, const std::string& kind,
    const std::string& file_name,
    const std::function<Result<nlohmann::json>(const std::string&)>& produce, nlohmann::json meta,
    std::optional<int64_t> start_ms, std::optional<int64_t> end_ms) {
  ATOMCUT_ASSIGN_OR_RETURN(std::unique_ptr<BlobWriter> writer, media_.blobs().new_writer());
  std::string sha;
  nlohmann::json made;
  if (auto staging = writer->local_staging_path()) {
    auto r = produce(*staging);
    if (!r.ok()) {
      writer->abort();
      return r.take_error();
    }
    made = std::move(r).value();
    ATOMCUT_ASSIGN_OR_RETURN(sha, sha256_file(*staging));
  } else {
    TempPath tmp(fs::path(file_name).extension().string());
    ATOMCUT_ASSIGN_OR_RETURN(made, produce(tmp.path));
    ATOMCUT_ASSIGN_OR_RETURN(sha, sha256_file(tmp.path));
    std::ifstream f(tmp.path, std::ios::binary);
    std::vector<char> buf(1 << 20);
    while (f) {
      f.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      if (f.gcount() > 0) ATOMCUT_TRY(writer->write(buf.data(), static_cast<size_t>(f.gcount())));
    }
  }
  if (made.is_object()) meta.update(made);
  if (!end_ms && meta.contains("duration_ms") && meta["duration_ms"].is_number_integer()) {
    end_ms = start_ms.value_or(0) + meta["duration_ms"].get<int64_t>();
  }
  ArtifactFields fields;
  fields.kind = kind;
  fields.start_ms = start_ms;
  fields.end_ms = end_ms;
  fields.meta = std::move(meta);
  fields.original_filename = file_name;
  return media_.register_artifact_upload(ctx, asset_id, fields, std::move(writer), sha);
}

Result<DerivedArtifact> AnalysisArtifacts::store_json(
    const RequestContext& ctx, const std::string& asset_id, const std::string& kind,
    const nlohmann::json& doc, nlohmann::json meta, std::optional<int64_t> start_ms,
    std::optional<int64_t> end_ms) {
  const std::string bytes = doc.dump();
  ATOMCUT_ASSIGN_OR_RETURN(std::unique_ptr<BlobWriter> writer, media_.blobs().new_writer());
  ATOMCUT_TRY(writer->write(bytes.data(), bytes.size()));
  ArtifactFields fields;
  fields.kind = kind;
  fields.start_ms = start_ms;
  fields.end_ms = end_ms;
  fields.meta = std::move(meta);
  fields.original_filename = kind + ".json";
  return media_.register_artifact_upload(ctx, asset_id, fields, std::move(writer),
                                         sha256_hex(bytes));
}

Result<ArtifactWithParent> AnalysisArtifacts::artifact_of_kind(const Scope& scope,
                                                               const std::string& artifact_id,
                                                               const std::string& kind) {
  ATOMCUT_ASSIGN_OR_RETURN(ArtifactWithParent a, media_.get_artifact(scope, artifact_id));
  if (a.artifact.kind != kind) {
    return Error::not_found(
        fmt::format("artifact {} is a {} artifact, not {}", artifact_id, a.artifact.kind, kind));
  }
  return a;
}

Result<nlohmann::json> AnalysisArtifacts::read_json(const Scope& scope, const DerivedArtifact& a) {
  ATOMCUT_ASSIGN_OR_RETURN(ContentRef ref, media_.artifact_content(scope, a.id));
  if (ref.size_bytes > (uint64_t{256} << 20)) {
    return Error::invalid_argument(fmt::format("artifact {} is too large to read as JSON", a.id));
  }
  std::string bytes;
  ATOMCUT_TRY(
      media_.blobs().read(ref.storage_key, 0, ref.size_bytes, [&bytes](const char* d, size_t n) {
        bytes.append(d, n);
        return true;
      }));
  auto doc = nlohmann::json::parse(bytes, nullptr, false);
  if (doc.is_discarded()) {
    return Error::invalid_argument(fmt::format("artifact {} does not hold JSON", a.id),
                                   {{"artifact_id", a.id}});
  }
  return doc;
}

Result<std::string> AnalysisArtifacts::local_path(const Scope& scope, const DerivedArtifact& a) {
  ATOMCUT_ASSIGN_OR_RETURN(ContentRef c, media_.artifact_content(scope, a.id));
  std::optional<std::string> local =
      c.local_path ? c.local_path : media_.blobs().local_path(c.storage_key);
  if (!local) return Error::unimplemented("the analysis atoms need media in a local blob store");
  return *local;
}

}  // namespace atomcut

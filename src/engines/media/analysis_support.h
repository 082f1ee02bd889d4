// What every analysis atom (audio and video) does around its engine, in one place:
//   - resolve its input (an asset, or one of its artifacts) in the caller's tenant and env to a
//     local file;
//   - choose a backend by name from the atom's registry ("stub" stands in when the default's
//     dependency is missing and no backend was named);
//   - the one cache rule: an output carries meta.cache_key; a request whose key matches an
//     artifact of the same kind on the same asset reuses it and runs nothing;
//   - register the output (a JSON document or a produced file) as a derived artifact of the
//     input's asset through Media v2, and read JSON artifacts back.
//
// Free of HTTP types. Thread safe (state lives in MediaService).
#pragma once

#include "core/error.h"
#include "core/request_context.h"
#include "engines/media/media_service.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace atomcut {

// The cache key convention: parts joined with '|'.
std::string join_cache_key(std::initializer_list<std::string> parts);

// Which stream an atom needs from its input; a missing one is invalid_argument with
// details.reason "no_audio_stream" / "no_video_stream".
enum class NeedStream { kAny, kAudio, kVideo };

struct AnalysisInput {
  MediaAsset asset;
  std::optional<DerivedArtifact> artifact;
  std::string path;  // local file to read
  std::string artifact_key() const { return artifact ? artifact->id : ""; }
  // Where this input starts on its asset's timeline (an artifact's start_ms, else 0).
  int64_t offset_ms() const { return artifact && artifact->start_ms ? *artifact->start_ms : 0; }
};

// {source_asset_id, source_artifact_id (null when none), source_artifact_kind?}
nlohmann::json source_meta(const AnalysisInput& in);

struct BackendInfo {
  std::string atom;     // e.g. asr, semantic_timeline, visual_meta, regions, captions
  std::string name;     // what a request names ("pocketsphinx", "stub", ...)
  std::string version;  // backend_version written into meta
  bool available = true;
  bool is_default = false;
  std::string detail;  // what it is, or why it is unavailable
};

struct ChosenBackend {
  BackendInfo info;
  std::string requested;  // the name asked for, or "default"
  std::optional<std::string> fallback_reason;
  bool stub() const { return info.name == "stub"; }
};

class BackendRegistry {
 public:
  void add(BackendInfo b);
  const std::vector<BackendInfo>& all() const { return backends_; }
  // `requested` names a backend (invalid_argument when unknown, failed_precondition when
  // unavailable); empty or "default" takes the atom's available default, else its stub (with
  // fallback_reason), else failed_precondition.
  Result<ChosenBackend> choose(const std::string& atom,
                               const std::optional<std::string>& requested) const;

 private:
  std::vector<BackendInfo> backends_;
};

class AnalysisArtifacts {
 public:
  explicit AnalysisArtifacts(MediaService& media) : media_(media) {}

  MediaService& media() { return media_; }

  // The asset (artifact_id empty) or the artifact (which must belong to asset_id when that is
  // non-empty) in the caller's scope, as a local file. not_found across tenants.
  Result<AnalysisInput> resolve(const Scope& scope, const std::string& asset_id,
                                const std::optional<std::string>& artifact_id, NeedStream need);

  // The newest artifact of `kind` on the asset whose meta.cache_key equals `key`.
  std::optional<DerivedArtifact> find_cached(const Scope& scope, const std::string& asset_id,
                                             const std::string& kind, const std::string& key);
  // Every artifact of `kind` on the asset by meta.cache_key (the newest per key): one read for
  // an atom that checks many keys at once.
  std::map<std::string, DerivedArtifact> cached_by_key(const Scope& scope,
                                                       const std::string& asset_id,
                                                       const std::string& kind);
  // The newest artifact of `kind` on the asset (optionally only those `accept` takes).
  std::optional<DerivedArtifact> newest(
      const Scope& scope, const std::string& asset_id, const std::string& kind,
      const std::function<bool(const DerivedArtifact&)>& accept = {});

  // Registers `doc` as a JSON artifact of the input's asset.
  Result<DerivedArtifact> store_json(const RequestContext& ctx, const std::string& asset_id,
                                     const std::string& kind, const nlohmann::json& doc,
                                     nlohmann::json meta, std::optional<int64_t> start_ms,
                                     std::optional<int64_t> end_ms);
  // `produce` writes the file at the path it is given and returns meta to merge into `meta`
  // (its "duration_ms", when present and end_ms is not given, sets end_ms = start_ms + it).
  // `file_name`'s extension becomes the blob's. Nothing is left behind when `produce` fails.
  Result<DerivedArtifact> store_file(
      const RequestContext& ctx, const std::string& asset_id, const std::string& kind,
      const std::string& file_name,
      const std::function<Result<nlohmann::json>(const std::string&)>& produce, nlohmann::json meta,
      std::optional<int64_t> start_ms, std::optional<int64_t> end_ms);

  // not_found for a missing artifact or one of another kind.
  Result<ArtifactWithParent> artifact_of_kind(const Scope& scope, const std::string& artifact_id,
                                              const std::string& kind);
  Result<nlohmann::json> read_json(const Scope& scope, const DerivedArtifact& a);
  // The local file of an artifact's bytes.
  Result<std::string> local_path(const Scope& scope, const DerivedArtifact& a);

 private:
  MediaService& media_;
};

}  // namespace atomcut

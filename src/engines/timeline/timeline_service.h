// TimelineService: the Timeline / Project atom. CRUD for projects, sequences, tracks, clips,
// transitions and filter stacks, with the field rules of core/model and the cross-record rules
// here (referenced assets and clips exist in the caller's tenant and env, transitions join
// overlapping neighbours, filter targets exist). Every change runs in one store transaction and
// bumps the project's revision. JSON in, JSON out (the spec's field names); free of HTTP types.
//
// Records of another tenant or env are not_found. Thread safe.
#pragma once

#include "core/error.h"
#include "core/model/timeline_tree.h"
#include "core/request_context.h"
#include "storage/metadata_store.h"

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atomcut {

enum class TimelineKind { kProject, kSequence, kTrack, kClip, kTransition, kFilterStack };

// "project", "sequence", ... (used in messages and delete reports).
std::string_view timeline_kind_name(TimelineKind kind);

struct TimelinePage {
  std::vector<nlohmann::json> items;
  std::optional<std::string> next_cursor;
};

struct TimelineDeleteReport {
  // kind name ("sequence", "clip", ...) -> removed ids, the requested record included.
  std::map<std::string, std::vector<std::string>> removed;
};

// What a clip plays, for the analysis atoms' per-clip views: its media (asset, or one of its
// artifacts) and its window [in_ms, out_ms) on that media, played at `speed`.
struct ClipSource {
  std::string clip_id;
  std::string asset_id;
  std::optional<std::string> artifact_id;
  int64_t in_ms = 0;
  int64_t out_ms = 0;
  double speed = 1.0;  // > 0 (a stored clip's speed; 1 if the record had none)
  // A time on the source -> the same moment on the clip's own timeline, (t - in_ms) / speed.
  int64_t clip_ms(int64_t source_ms) const;
};

class TimelineService {
 public:
  explicit TimelineService(MetadataStore& store) : store_(store) {}

  // Creates a top-level project (kind kProject, parent ignored) or a child of `parent_id`:
  // sequence of a project, track of a sequence, clip of a track, transition of a sequence.
  // Returns the stored record's JSON.
  Result<nlohmann::json> create(const RequestContext& ctx, TimelineKind kind,
                                std::string_view parent_id, const nlohmann::json& body);
  Result<nlohmann::json> get(const Scope& scope, TimelineKind kind, std::string_view id);
  // The clip's source and window; not_found like get().
  Result<ClipSource> clip_source(const Scope& scope, std::string_view clip_id);
  // Projects (parent_id empty) or the children of `parent_id`, in creation order; limit 1..1000.
  Result<TimelinePage> list(const Scope& scope, TimelineKind kind, std::string_view parent_id,
                            int limit, const std::optional<std::string>& cursor);
  // Applies an RFC 7396 merge patch. Identity and ownership fields are read-only.
  Result<nlohmann::json> patch(const RequestContext& ctx, TimelineKind kind, std::string_view id,
                               const nlohmann::json& merge_patch);
  // Deletes the record and everything inside it or pointing at it (a track's clips, their
  // transitions and filter stacks, ...).
  Result<TimelineDeleteReport> remove(const RequestContext& ctx, TimelineKind kind,
                                      std::string_view id);

  // Filter stacks are addressed by their target ("clip"|"track"|"sequence", id): at most one
  // stack per target. Filters are validated against the catalog and clamped; the response's
  // "clamped" lists what was changed.
  Result<nlohmann::json> create_filter_stack(const RequestContext& ctx,
                                             std::string_view target_type,
                                             std::string_view target_id,
                                             const nlohmann::json& body);
  Result<nlohmann::json> get_filter_stack(const Scope& scope, std::string_view target_type,
                                          std::string_view target_id);
  Result<nlohmann::json> patch_filter_stack(const RequestContext& ctx, std::string_view target_type,
                                            std::string_view target_id,
                                            const nlohmann::json& merge_patch);
  Result<TimelineDeleteReport> remove_filter_stack(const RequestContext& ctx,
                                                   std::string_view target_type,
                                                   std::string_view target_id);

  // The whole project in one document: the project with "sequences" expanded to sequence
  // objects, each with "tracks" (with "clips" in timeline order), "transitions" and
  // "filter_stacks", plus "warnings" (overlapping clips without a transition, transitions that no
  // longer fit their clips).
  Result<nlohmann::json> expand_project(const Scope& scope, std::string_view project_id);
  Result<TimelineTree> load_tree(const Scope& scope, std::string_view project_id);
  // Stores an imported tree (new ids, as import_otio makes them) as a new project.
  Result<nlohmann::json> insert_tree(const RequestContext& ctx, const TimelineTree& tree);

  // OpenTimelineIO (otio/otio_interchange.h): one sequence as an OTIO Timeline, with the media of
  // its clips as ExternalReferences to their assets' URIs.
  Result<nlohmann::json> export_otio(const Scope& scope, std::string_view sequence_id);
  // Imports an OTIO Timeline as a new project. Media are matched to the caller's assets by
  // metadata.atomcut.asset_id, else by target_url equal to an asset's source_uri or the file it
  // was imported from. Returns {"project": <expanded tree>, "warnings": [...]}: unmatched media and
  // unsupported items are listed, never silently dropped.
  Result<nlohmann::json> import_otio(const RequestContext& ctx, const nlohmann::json& otio);

 private:
  MetadataStore& store_;
};

}  // namespace atomcut

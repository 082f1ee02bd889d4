#include "engines/timeline/timeline_service.h"

#include "core/ids.h"
#include "core/json_merge_patch.h"
#include "core/time_util.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace atomcut {
namespace {

constexpr std::string_view kProjects = "video_projects";
constexpr std::string_view kSequences = "video_sequences";
constexpr std::string_view kTracks = "video_tracks";
constexpr std::string_view kClips = "video_clips";
constexpr std::string_view kTransitions = "video_transitions";
constexpr std::string_view kFilterStacks = "video_filter_stacks";

std::string_view collection_of(TimelineKind kind) {
  switch (kind) {
    case TimelineKind::kProject:
      return kProjects;
    case TimelineKind::kSequence:
      return kSequences;
    case TimelineKind::kTrack:
      return kTracks;
    case TimelineKind::kClip:
      return kClips;
    case TimelineKind::kTransition:
      return kTransitions;
    case TimelineKind::kFilterStack:
      return kFilterStacks;
  }
  return kProjects;
}

std::string_view id_prefix(TimelineKind kind) {
  switch (kind) {
    case TimelineKind::kProject:
      return "prj";
    case TimelineKind::kSequence:
      return "seq";
    case TimelineKind::kTrack:
      return "trk";
    case TimelineKind::kClip:
      return "clp";
    case TimelineKind::kTransition:
      return "trn";
    case TimelineKind::kFilterStack:
      return "fst";
  }
  return "rec";
}

// The kind a child of `kind` has ("sequence" under a project...), for list/create.
std::optional<TimelineKind> parent_kind(TimelineKind kind) {
  switch (kind) {
    case TimelineKind::kProject:
      return std::nullopt;
    case TimelineKind::kSequence:
      return TimelineKind::kProject;
    case TimelineKind::kTrack:
      return TimelineKind::kSequence;
    case TimelineKind::kClip:
      return TimelineKind::kTrack;
    case TimelineKind::kTransition:
      return TimelineKind::kSequence;
    case TimelineKind::kFilterStack:
      return std::nullopt;
  }
  return std::nullopt;
}

Error not_found(TimelineKind kind, std::string_view id) {
  return Error::not_found(fmt::format("{} {} not found", timeline_kind_name(kind), id),
                          {{"kind", std::string(timeline_kind_name(kind))}, {"id", id}});
}

// Fields a merge patch may not change (beyond id, tenant_id, env, user_id and timestamps).
std::vector<std::string_view> read_only_fields(TimelineKind kind) {
  std::vector<std::string_view> f = {"id", "tenant_id", "env", "created_at", "updated_at"};
  switch (kind) {
    case TimelineKind::kProject:
      f.insert(f.end(), {"revision", "sequences"});
      break;
    case TimelineKind::kSequence:
      f.insert(f.end(), {"project_id", "tracks", "duration_ms"});
      break;
    case TimelineKind::kTrack:
      f.push_back("sequence_id");
      break;
    case TimelineKind::kClip:
      f.push_back("track_id");
      break;
    case TimelineKind::kTransition:
      f.push_back("sequence_id");
      break;
    case TimelineKind::kFilterStack:
      f.insert(f.end(), {"target_type", "target_id"});
      break;
  }
  return f;
}

template <typename T>
const T* find_by_id(const std::vector<T>& v, std::string_view id) {
  for (const auto& x : v) {
    if (x.id == id) return &x;
  }
  return nullptr;
}
template <typename T>
T* find_by_id(std::vector<T>& v, std::string_view id) {
  for (auto& x : v) {
    if (x.id == id) return &x;
  }
  return nullptr;
}

int64_t clip_end_ms(const Clip& c) {
  return c.start_ms_on_timeline + static_cast<int64_t>(std::ceil(clip_timeline_duration_ms(c)));
}

// Records of one project, with what a change touched.
struct Working {
  TimelineTree tree;
  std::set<std::pair<TimelineKind, std::string>> dirty;    // to upsert
  std::set<std::pair<TimelineKind, std::string>> removed;  // to delete
  std::set<std::pair<TimelineKind, std::string>> created;  // new (insert, not update)
  std::vector<std::string> changed_clip_ids;               // for asset checks
  void touch(TimelineKind k, const std::string& id) { dirty.insert({k, id}); }
};

Result<Working> load_working(DocTransaction& txn, std::string_view project_id) {
  ATOMCUT_ASSIGN_OR_RETURN(auto records, txn.list_by_root(project_id));
  Working w;
  bool have_project = false;
  for (const auto& r : records) {
    auto bad = [&](const Error& e) {
      return Error::data_loss(
          fmt::format("stored {} {} does not parse: {}", r.collection, r.id, e.message));
    };
    if (r.collection == kProjects) {
      auto p = video_project_from_json(r.doc);
      if (!p.ok()) return bad(p.error());
      w.tree.project = std::move(p).value();
      have_project = true;
    } else if (r.collection == kSequences) {
      auto s = sequence_from_json(r.doc);
      if (!s.ok()) return bad(s.error());
      w.tree.sequences.push_back(std::move(s).value());
    } else if (r.collection == kTracks) {
      auto t = track_from_json(r.doc);
      if (!t.ok()) return bad(t.error());
      w.tree.tracks.push_back(std::move(t).value());
    } else if (r.collection == kClips) {
      auto c = clip_from_json(r.doc);
      if (!c.ok()) return bad(c.error());
      w.tree.clips.push_back(std::move(c).value());
    } else if (r.collection == kTransitions) {
      auto t = transition_from_json(r.doc);
      if (!t.ok()) return bad(t.error());
      w.tree.transitions.push_back(std::move(t).value());
    } else if (r.collection == kFilterStacks) {
      auto f = filter_stack_from_json(r.doc);
      if (!f.ok()) return bad(f.error());
      w.tree.filter_stacks.push_back(std::move(f).value());
    }
  }
  if (!have_project) return not_found(TimelineKind::kProject, project_id);
  return w;
}

// Sequence of a track / clip / transition within the tree.
const Sequence* sequence_of_track(const TimelineTree& t, std::string_view track_id) {
  const Track* tr = find_by_id(t.tracks, track_id);
  return tr ? find_by_id(t.sequences, tr->sequence_id) : nullptr;
}

// Recomputes a sequence's duration (end of its last clip); marks it dirty when it changed.
void refresh_duration(Working& w, std::string_view sequence_id) {
  Sequence* s = find_by_id(w.tree.sequences, sequence_id);
  if (!s) return;
  int64_t end = 0;
  for (const auto& c : w.tree.clips) {
    const Track* tr = find_by_id(w.tree.tracks, c.track_id);
    if (tr && tr->sequence_id == sequence_id) end = std::max(end, clip_end_ms(c));
  }
  if (s->duration_ms != end) {
    s->duration_ms = end;
    w.touch(TimelineKind::kSequence, s->id);
  }
}

// The transition rules: both clips on one track of the transition's sequence, neighbours in time
// order, overlapping by at least duration_ms.
Status check_transition(const TimelineTree& t, const Transition& x) {
  const Clip* from = find_by_id(t.clips, x.from_clip_id);
  const Clip* to = find_by_id(t.clips, x.to_clip_id);
  if (!from) {
    return Error::invalid_argument(
        fmt::format("transition.from_clip_id: clip {} is not in this project", x.from_clip_id),
        {{"field", "from_clip_id"}});
  }
  if (!to) {
    return Error::invalid_argument(
        fmt::format("transition.to_clip_id: clip {} is not in this project", x.to_clip_id),
        {{"field", "to_clip_id"}});
  }
  if (from->track_id != to->track_id) {
    return Error::invalid_argument(
        fmt::format("transition clips must be on one track (from_clip is on {}, to_clip on {})",
                    from->track_id, to->track_id),
        {{"field", "to_clip_id"}});
  }
  const Sequence* seq = sequence_of_track(t, from->track_id);
  if (!seq || seq->id != x.sequence_id) {
    return Error::invalid_argument(
        fmt::format("transition clips must belong to sequence {}", x.sequence_id),
        {{"field", "from_clip_id"}});
  }
  std::vector<const Clip*> on_track;
  for (const auto& c : t.clips) {
    if (c.track_id == from->track_id) on_track.push_back(&c);
  }
  std::sort(on_track.begin(), on_track.end(), [](const Clip* a, const Clip* b) {
    return std::tie(a->start_ms_on_timeline, a->id) < std::tie(b->start_ms_on_timeline, b->id);
  });
  auto it = std::find(on_track.begin(), on_track.end(), from);
  if (it == on_track.end() || std::next(it) == on_track.end() || *std::next(it) != to) {
    return Error::invalid_argument(
        "transition clips must be neighbours on their track: to_clip must be the next clip "
        "after from_clip in timeline order",
        {{"field", "to_clip_id"}});
  }
  const int64_t overlap = clip_end_ms(*from) - to->start_ms_on_timeline;
  if (overlap <= 0) {
    return Error::invalid_argument(
        fmt::format("the clips do not overlap (to_clip starts {} ms after from_clip ends): a "
                    "transition needs to_clip to start duration_ms before from_clip ends",
                    -overlap),
        {{"field", "duration_ms"}, {"overlap_ms", overlap}});
  }
  if (x.duration_ms > overlap) {
    return Error::invalid_argument(
        fmt::format("transition.duration_ms ({}) is longer than the clips' overlap ({} ms)",
                    x.duration_ms, overlap),
        {{"field", "duration_ms"}, {"overlap_ms", overlap}});
  }
  return {};
}

DocRecord to_record(TimelineKind kind, const nlohmann::json& doc, const TimelineRecord& meta,
                    std::string id, std::string parent_id, std::string root_id) {
  DocRecord r;
  r.collection = std::string(collection_of(kind));
  r.id = std::move(id);
  r.tenant_id = meta.tenant_id;
  r.env = meta.env;
  r.parent_id = std::move(parent_id);
  r.root_id = std::move(root_id);
  r.created_at_ms = meta.created_at_ms;
  r.updated_at_ms = meta.updated_at_ms;
  r.doc = doc;
  return r;
}

// The stored form of one record of the tree.
std::optional<DocRecord> record_of(const TimelineTree& t, TimelineKind kind,
                                   const std::string& id) {
  const std::string root = t.project.id;
  switch (kind) {
    case TimelineKind::kProject:
      return to_record(kind, to_json(t.project), t.project, id, "", root);
    case TimelineKind::kSequence:
      if (auto* s = find_by_id(t.sequences, id)) {
        return to_record(kind, to_json(*s), *s, id, s->project_id, root);
      }
      break;
    case TimelineKind::kTrack:
      if (auto* x = find_by_id(t.tracks, id)) {
        return to_record(kind, to_json(*x), *x, id, x->sequence_id, root);
      }
      break;
    case TimelineKind::kClip:
      if (auto* x = find_by_id(t.clips, id)) {
        return to_record(kind, to_json(*x), *x, id, x->track_id, root);
      }
      break;
    case TimelineKind::kTransition:
      if (auto* x = find_by_id(t.transitions, id)) {
        return to_record(kind, to_json(*x), *x, id, x->sequence_id, root);
      }
      break;
    case TimelineKind::kFilterStack:
      if (auto* x = find_by_id(t.filter_stacks, id)) {
        return to_record(kind, to_json(*x), *x, id, x->target_id, root);
      }
      break;
  }
  return std::nullopt;
}

// Writes what changed, bumping the project's revision (unless the project itself is removed).
Status commit_working(DocTransaction& txn, Working& w, int64_t now) {
  const bool project_removed = w.removed.count({TimelineKind::kProject, w.tree.project.id}) > 0;
  if (!project_removed) {
    w.tree.project.revision += 1;
    // Strictly later than the previous change, so updated_at orders changes like revision does.
    w.tree.project.updated_at_ms = std::max(now, w.tree.project.updated_at_ms + 1);
    w.touch(TimelineKind::kProject, w.tree.project.id);
  }
  for (const auto& [kind, id] : w.removed) {
    ATOMCUT_TRY(txn.remove(collection_of(kind), id));
  }
  for (const auto& key : w.dirty) {
    if (w.removed.count(key)) continue;
    auto rec = record_of(w.tree, key.first, key.second);
    if (!rec) continue;
    if (w.created.count(key)) {
      ATOMCUT_TRY(txn.insert(*rec));
    } else {
      ATOMCUT_TRY(txn.update(*rec));
    }
  }
  return {};
}

// Everything to remove with a record, added to w.removed (and dropped from the tree's lists).
void collect_cascade(Working& w, TimelineKind kind, const std::string& id) {
  auto& t = w.tree;
  std::set<std::string> clips, tracks, sequences;
  if (kind == TimelineKind::kProject) {
    for (const auto& s : t.sequences) sequences.insert(s.id);
  }
  if (kind == TimelineKind::kSequence) sequences.insert(id);
  for (const auto& tr : t.tracks) {
    if (sequences.count(tr.sequence_id) || (kind == TimelineKind::kTrack && tr.id == id)) {
      tracks.insert(tr.id);
    }
  }
  for (const auto& c : t.clips) {
    if (tracks.count(c.track_id) || (kind == TimelineKind::kClip && c.id == id)) clips.insert(c.id);
  }
  w.removed.insert({kind, id});
  for (const auto& s : sequences) w.removed.insert({TimelineKind::kSequence, s});
  for (const auto& tr : tracks) w.removed.insert({TimelineKind::kTrack, tr});
  for (const auto& c : clips) w.removed.insert({TimelineKind::kClip, c});
  for (const auto& x : t.transitions) {
    if (sequences.count(x.sequence_id) || clips.count(x.from_clip_id) ||
        clips.count(x.to_clip_id)) {
      w.removed.insert({TimelineKind::kTransition, x.id});
    }
  }
  for (const auto& f : t.filter_stacks) {
    if (sequences.count(f.target_id) || tracks.count(f.target_id) || clips.count(f.target_id)) {
      w.removed.insert({TimelineKind::kFilterStack, f.id});
    }
  }
  auto gone = [&](TimelineKind k, const std::string& i) { return w.removed.count({k, i}) > 0; };
  std::erase_if(t.sequences,
                [&](const Sequence& s) { return gone(TimelineKind::kSequence, s.id); });
  std::erase_if(t.tracks, [&](const Track& x) { return gone(TimelineKind::kTrack, x.id); });
  std::erase_if(t.clips, [&](const Clip& x) { return gone(TimelineKind::kClip, x.id); });
  std::erase_if(t.transitions,
                [&](const Transition& x) { return gone(TimelineKind::kTransition, x.id); });
  std::erase_if(t.filter_stacks,
                [&](const FilterStack& x) { return gone(TimelineKind::kFilterStack, x.id); });
  // Id lists of the survivors.
  auto& seq_ids = t.project.sequences;
  std::erase_if(seq_ids, [&](const std::string& s) { return gone(TimelineKind::kSequence, s); });
  for (auto& s : t.sequences) {
    const size_t before = s.tracks.size();
    std::erase_if(s.tracks, [&](const std::string& x) { return gone(TimelineKind::kTrack, x); });
    if (s.tracks.size() != before) w.touch(TimelineKind::kSequence, s.id);
  }
}

TimelineDeleteReport report_of(const Working& w) {
  TimelineDeleteReport r;
  for (const auto& [kind, id] : w.removed) {
    r.removed[std::string(timeline_kind_name(kind))].push_back(id);
  }
  return r;
}

bool merge_conflicts_read_only(const nlohmann::json& current, const nlohmann::json& patch,
                               TimelineKind kind, std::string* field) {
  for (auto name : read_only_fields(kind)) {
    auto it = patch.find(name);
    if (it == patch.end()) continue;
    auto cur = current.find(name);
    if (cur == current.end() || *cur != *it) {
      *field = std::string(name);
      return true;
    }
  }
  return false;
}

}  // namespace

std::string_view timeline_kind_name(TimelineKind kind) {
  switch (kind) {
    case TimelineKind::kProject:
      return "project";
    case TimelineKind::kSequence:
      return "sequence";
    case TimelineKind::kTrack:
      return "track";
    case TimelineKind::kClip:
      return "clip";
    case TimelineKind::kTransition:
      return "transition";
    case TimelineKind::kFilterStack:
      return "filter_stack";
  }
  return "record";
}

namespace {

// Checks a clip against the media registry: asset (and artifact, mask) in the same tenant and
// env, the artifact belonging to the asset, out_ms within the media when its duration is known.
Status check_clip_media(MetadataStore& store, const Scope& scope, const Clip& c) {
  auto asset = store.get_asset(scope, c.asset_id);
  if (!asset.ok()) {
    if (asset.error().code != ErrorCode::kNotFound) return asset.take_error();
    return Error::invalid_argument(
        fmt::format("clip.asset_id: asset {} does not exist in this tenant and env", c.asset_id),
        {{"field", "asset_id"}});
  }
  int64_t media_end = asset->duration_ms.value_or(-1);
  if (c.artifact_id) {
    auto art = store.get_artifact(scope, *c.artifact_id);
    if (!art.ok() || art->parent_asset_id != c.asset_id) {
      return Error::invalid_argument(
          fmt::format("clip.artifact_id: artifact {} is not an artifact of asset {}",
                      *c.artifact_id, c.asset_id),
          {{"field", "artifact_id"}});
    }
    if (art->start_ms && art->end_ms) media_end = *art->end_ms - *art->start_ms;
  }
  if (c.mask_artifact_id) {
    auto mask = store.get_artifact(scope, *c.mask_artifact_id);
    if (!mask.ok()) {
      return Error::invalid_argument(
          fmt::format("clip.mask_artifact_id: artifact {} does not exist in this tenant and env",
                      *c.mask_artifact_id),
          {{"field", "mask_artifact_id"}});
    }
  }
  if (media_end >= 0 && c.out_ms > media_end) {
    return Error::invalid_argument(
        fmt::format("clip.out_ms ({}) must be within the media's duration ({} ms)", c.out_ms,
                    media_end),
        {{"field", "out_ms"}, {"media_duration_ms", media_end}});
  }
  return {};
}

Result<TimelineKind> filter_target_kind(std::string_view target_type) {
  if (target_type == "clip") return TimelineKind::kClip;
  if (target_type == "track") return TimelineKind::kTrack;
  if (target_type == "sequence") return TimelineKind::kSequence;
  return Error::invalid_argument(
      fmt::format("target_type '{}' must be clip, track or sequence", target_type),
      {{"field", "target_type"}, {"allowed", {"clip", "track", "sequence"}}});
}

}  // namespace

Result<nlohmann::json> TimelineService::create(const RequestContext& ctx, TimelineKind kind,
                                               std::string_view parent_id,
                                               const nlohmann::json& body_in) {
  if (kind == TimelineKind::kFilterStack) {
    return Error::invalid_argument("filter stacks are created by target");
  }
  const Scope scope = scope_of(ctx);
  const int64_t now = now_ms();
  nlohmann::json body = body_in;
  for (const char* f : {"tenant_id", "env", "user_id"}) body.erase(f);
  TimelineRecord who{ctx.tenant_id, ctx.env, ctx.user_id, now, now};
  const std::string id = new_id(id_prefix(kind));

  if (kind == TimelineKind::kProject) {
    ATOMCUT_ASSIGN_OR_RETURN(VideoProject p, video_project_from_json(body));
    static_cast<TimelineRecord&>(p) = who;
    p.id = id;
    p.sequences.clear();
    p.revision = 1;
    ATOMCUT_TRY(validate(p));
    nlohmann::json out = to_json(p);
    ATOMCUT_TRY(store_.transact_docs(scope, [&](DocTransaction& txn) {
      return txn.insert(to_record(kind, out, p, id, "", id));
    }));
    return out;
  }

  // Children: find the project through the parent, then work on the whole tree. A parent in
  // another tenant is not_found before anything in the body is looked at.
  const TimelineKind pk = *parent_kind(kind);
  if (auto parent = store_.get_doc(scope, collection_of(pk), parent_id); !parent.ok()) {
    if (parent.error().code == ErrorCode::kNotFound) return not_found(pk, parent_id);
    return parent.take_error();
  }
  // Clip media checks read the registry outside the transaction.
  std::optional<Clip> new_clip;
  if (kind == TimelineKind::kClip) {
    nlohmann::json cb = body;
    cb["track_id"] = std::string(parent_id);
    if (!cb.contains("out_ms") && cb.contains("asset_id") && cb["asset_id"].is_string()) {
      // Default the out point to the end of the media.
      auto asset = store_.get_asset(scope, cb["asset_id"].get<std::string>());
      if (asset.ok() && asset->duration_ms) cb["out_ms"] = *asset->duration_ms;
    }
    ATOMCUT_ASSIGN_OR_RETURN(Clip c, clip_from_json(cb));
    static_cast<TimelineRecord&>(c) = who;
    c.id = id;
    c.track_id = std::string(parent_id);
    ATOMCUT_TRY(validate(c));
    ATOMCUT_TRY(check_clip_media(store_, scope, c));
    new_clip = std::move(c);
  }

  nlohmann::json out;
  ATOMCUT_TRY(store_.transact_docs(scope, [&](DocTransaction& txn) -> Status {
    auto parent = txn.get(collection_of(pk), parent_id);
    if (!parent.ok()) {
      if (parent.error().code == ErrorCode::kNotFound) return not_found(pk, parent_id);
      return parent.take_error();
    }
    ATOMCUT_ASSIGN_OR_RETURN(Working w, load_working(txn, parent->root_id));
    auto& t = w.tree;
    switch (kind) {
      case TimelineKind::kSequence: {
        nlohmann::json b = body;
        b["project_id"] = std::string(parent_id);
        b.erase("tracks");
        b.erase("duration_ms");
        ATOMCUT_ASSIGN_OR_RETURN(Sequence s, sequence_from_json(b));
        static_cast<TimelineRecord&>(s) = who;
        s.id = id;
        s.project_id = std::string(parent_id);
        s.tracks.clear();
        s.duration_ms = 0;
        ATOMCUT_TRY(validate(s));
        t.sequences.push_back(s);
        t.project.sequences.push_back(id);
        out = to_json(s);
        break;
      }
      case TimelineKind::kTrack: {
        nlohmann::json b = body;
        b["sequence_id"] = std::string(parent_id);
        ATOMCUT_ASSIGN_OR_RETURN(Track tr, track_from_json(b));
        static_cast<TimelineRecord&>(tr) = who;
        tr.id = id;
        tr.sequence_id = std::string(parent_id);
        if (!body.contains("order") || body["order"].is_null()) {
          int64_t next = 0;
          for (const auto& x : t.tracks) {
            if (x.sequence_id == parent_id) next = std::max(next, x.order + 1);
          }
          tr.order = next;
        }
        ATOMCUT_TRY(validate(tr));
        t.tracks.push_back(tr);
        Sequence* s = find_by_id(t.sequences, parent_id);
        if (s) {
          s->tracks.push_back(id);
          w.touch(TimelineKind::kSequence, s->id);
        }
        out = to_json(tr);
        break;
      }
      case TimelineKind::kClip: {
        t.clips.push_back(*new_clip);
        if (const Sequence* s = sequence_of_track(t, parent_id)) refresh_duration(w, s->id);
        out = to_json(*new_clip);
        break;
      }
      case TimelineKind::kTransition: {
        nlohmann::json b = body;
        b["sequence_id"] = std::string(parent_id);
        ATOMCUT_ASSIGN_OR_RETURN(Transition x, transition_from_json(b));
        static_cast<TimelineRecord&>(x) = who;
        x.id = id;
        x.sequence_id = std::string(parent_id);
        ATOMCUT_TRY(validate(x));
        ATOMCUT_TRY(check_transition(t, x));
        for (const auto& other : t.transitions) {
          if (other.from_clip_id == x.from_clip_id && other.to_clip_id == x.to_clip_id) {
            return Error::already_exists(
                fmt::format("transition {} already joins these clips", other.id),
                {{"field", "from_clip_id"}, {"transition_id", other.id}});
          }
        }
        t.transitions.push_back(x);
        out = to_json(x);
        break;
      }
      default:
        return Error::internal("unreachable");
    }
    w.touch(kind, id);
    w.created.insert({kind, id});
    return commit_working(txn, w, now);
  }));
  return out;
}

Result<nlohmann::json> TimelineService::get(const Scope& scope, TimelineKind kind,
                                            std::string_view id) {
  auto rec = store_.get_doc(scope, collection_of(kind), id);
  if (!rec.ok()) {
    if (rec.error().code == ErrorCode::kNotFound) return not_found(kind, id);
    return rec.take_error();
  }
  return rec->doc;
}

int64_t ClipSource::clip_ms(int64_t source_ms) const {
  return static_cast<int64_t>(std::llround(static_cast<double>(source_ms - in_ms) / speed));
}

Result<ClipSource> TimelineService::clip_source(const Scope& scope, std::string_view clip_id) {
  ATOMCUT_ASSIGN_OR_RETURN(nlohmann::json clip, get(scope, TimelineKind::kClip, clip_id));
  ClipSource c;
  c.clip_id = std::string(clip_id);
  c.asset_id = clip.value("asset_id", std::string());
  if (clip.contains("artifact_id") && clip["artifact_id"].is_string()) {
    c.artifact_id = clip["artifact_id"].get<std::string>();
  }
  c.in_ms = clip.value("in_ms", int64_t{0});
  c.out_ms = clip.value("out_ms", int64_t{0});
  c.speed = clip.value("speed", 1.0);
  if (!(c.speed > 0)) c.speed = 1.0;
  return c;
}

Result<TimelinePage> TimelineService::list(const Scope& scope, TimelineKind kind,
                                           std::string_view parent_id, int limit,
                                           const std::optional<std::string>& cursor) {
  if (limit < 1 || limit > 1000) {
    return Error::invalid_argument(fmt::format("limit {} must be between 1 and 1000", limit),
                                   {{"field", "limit"}});
  }
  if (cursor && !is_valid_id(*cursor, id_prefix(kind))) {
    return Error::invalid_argument("cursor is not a next_cursor returned by this endpoint",
                                   {{"field", "cursor"}});
  }
  if (auto pk = parent_kind(kind)) {
    auto parent = store_.get_doc(scope, collection_of(*pk), parent_id);
    if (!parent.ok()) {
      if (parent.error().code == ErrorCode::kNotFound) return not_found(*pk, parent_id);
      return parent.take_error();
    }
  }
  DocQuery q;
  q.parent_id = std::string(parent_id);
  q.limit = limit;
  q.after_id = cursor;
  ATOMCUT_ASSIGN_OR_RETURN(DocPage page, store_.list_docs(scope, collection_of(kind), q));
  TimelinePage out;
  for (auto& r : page.items) out.items.push_back(std::move(r.doc));
  out.next_cursor = page.next_after_id;
  return out;
}

Result<nlohmann::json> TimelineService::patch(const RequestContext& ctx, TimelineKind kind,
                                              std::string_view id, const nlohmann::json& merge) {
  if (!merge.is_object()) {
    return Error::invalid_argument("a merge patch must be a JSON object");
  }
  const Scope scope = scope_of(ctx);
  const int64_t now = now_ms();
  nlohmann::json patch = merge;
  for (const char* f : {"tenant_id", "env", "user_id"}) {
    if (patch.contains(f)) patch.erase(f);  // context fields travel with the request
  }
  // A clip's media checks read the registry: validate the patched clip before the transaction
  // when the patch touches media fields; the transaction re-reads and re-validates the rest.
  nlohmann::json out;
  std::optional<Clip> checked_clip;
  if (kind == TimelineKind::kClip) {
    ATOMCUT_ASSIGN_OR_RETURN(nlohmann::json current, get(scope, kind, id));
    std::string field;
    if (merge_conflicts_read_only(current, patch, kind, &field)) {
      return Error::invalid_argument(fmt::format("clip.{} is read-only", field),
                                     {{"field", field}});
    }
    ATOMCUT_ASSIGN_OR_RETURN(Clip c, clip_from_json(merge_patch(current, patch)));
    ATOMCUT_TRY(validate(c));
    ATOMCUT_TRY(check_clip_media(store_, scope, c));
  }
  ATOMCUT_TRY(store_.transact_docs(scope, [&](DocTransaction& txn) -> Status {
    auto rec = txn.get(collection_of(kind), id);
    if (!rec.ok()) {
      if (rec.error().code == ErrorCode::kNotFound) return not_found(kind, id);
      return rec.take_error();
    }
    std::string field;
    if (merge_conflicts_read_only(rec->doc, patch, kind, &field)) {
      return Error::invalid_argument(
          fmt::format("{}.{} is read-only", timeline_kind_name(kind), field), {{"field", field}});
    }
    nlohmann::json merged = merge_patch(rec->doc, patch);
    merged["updated_at"] = format_rfc3339_ms(now);
    ATOMCUT_ASSIGN_OR_RETURN(Working w, load_working(txn, rec->root_id));
    auto& t = w.tree;
    switch (kind) {
      case TimelineKind::kProject: {
        ATOMCUT_ASSIGN_OR_RETURN(VideoProject p, video_project_from_json(merged));
        ATOMCUT_TRY(validate(p));
        p.revision = t.project.revision;
        t.project = p;
        break;
      }
      case TimelineKind::kSequence: {
        ATOMCUT_ASSIGN_OR_RETURN(Sequence s, sequence_from_json(merged));
        ATOMCUT_TRY(validate(s));
        *find_by_id(t.sequences, id) = s;
        break;
      }
      case TimelineKind::kTrack: {
        ATOMCUT_ASSIGN_OR_RETURN(Track tr, track_from_json(merged));
        ATOMCUT_TRY(validate(tr));
        *find_by_id(t.tracks, id) = tr;
        break;
      }
      case TimelineKind::kClip: {
        ATOMCUT_ASSIGN_OR_RETURN(Clip c, clip_from_json(merged));
        ATOMCUT_TRY(validate(c));
        *find_by_id(t.clips, id) = c;
        if (const Sequence* s = sequence_of_track(t, c.track_id)) refresh_duration(w, s->id);
        break;
      }
      case TimelineKind::kTransition: {
        ATOMCUT_ASSIGN_OR_RETURN(Transition x, transition_from_json(merged));
        ATOMCUT_TRY(validate(x));
        ATOMCUT_TRY(check_transition(t, x));
        *find_by_id(t.transitions, id) = x;
        break;
      }
      case TimelineKind::kFilterStack: {
        ATOMCUT_ASSIGN_OR_RETURN(FilterStack f, filter_stack_from_json(merged));
        ATOMCUT_ASSIGN_OR_RETURN(ClampedFilters clamped, clamp_filters(f.filters));
        f.filters = clamped.filters;
        ATOMCUT_TRY(validate(f));
        *find_by_id(t.filter_stacks, id) = f;
        out = to_json(f);
        out["clamped"] = clamped.report;
        break;
      }
    }
    w.touch(kind, std::string(id));
    ATOMCUT_TRY(commit_working(txn, w, now));
    if (kind == TimelineKind::kProject) {
      out = to_json(w.tree.project);
    } else if (kind != TimelineKind::kFilterStack) {
      out = record_of(w.tree, kind, std::string(id))->doc;
    }
    return {};
  }));
  return out;
}

Result<TimelineDeleteReport> TimelineService::remove(const RequestContext& ctx, TimelineKind kind,
                                                     std::string_view id) {
  const Scope scope = scope_of(ctx);
  const int64_t now = now_ms();
  TimelineDeleteReport report;
  ATOMCUT_TRY(store_.transact_docs(scope, [&](DocTransaction& txn) -> Status {
    auto rec = txn.get(collection_of(kind), id);
    if (!rec.ok()) {
      if (rec.error().code == ErrorCode::kNotFound) return not_found(kind, id);
      return rec.take_error();
    }
    ATOMCUT_ASSIGN_OR_RETURN(Working w, load_working(txn, rec->root_id));
    std::string sequence_id;
    if (kind == TimelineKind::kClip) {
      if (const Clip* c = find_by_id(w.tree.clips, id)) {
        if (const Sequence* s = sequence_of_track(w.tree, c->track_id)) sequence_id = s->id;
      }
    } else if (kind == TimelineKind::kTrack) {
      if (const Track* tr = find_by_id(w.tree.tracks, id)) sequence_id = tr->sequence_id;
    }
    collect_cascade(w, kind, std::string(id));
    if (kind == TimelineKind::kSequence) w.touch(TimelineKind::kProject, w.tree.project.id);
    if (!sequence_id.empty()) refresh_duration(w, sequence_id);
    report = report_of(w);
    return commit_working(txn, w, now);
  }));
  return report;
}

Result<nlohmann::json> TimelineService::create_filter_stack(const RequestContext& ctx,
                                                            std::string_view target_type,
                                                            std::string_view target_id,
                                                            const nlohmann::json& body_in) {
  ATOMCUT_ASSIGN_OR_RETURN(TimelineKind target_kind, filter_target_kind(target_type));
  const Scope scope = scope_of(ctx);
  const int64_t now = now_ms();
  nlohmann::json body = body_in;
  for (const char* f : {"tenant_id", "env", "user_id", "id"}) body.erase(f);
  body["target_type"] = std::string(target_type);
  body["target_id"] = std::string(target_id);
  ATOMCUT_ASSIGN_OR_RETURN(FilterStack f, filter_stack_from_json(body));
  ATOMCUT_ASSIGN_OR_RETURN(ClampedFilters clamped, clamp_filters(f.filters));
  f.filters = clamped.filters;
  static_cast<TimelineRecord&>(f) = TimelineRecord{ctx.tenant_id, ctx.env, ctx.user_id, now, now};
  f.id = new_id("fst");
  ATOMCUT_TRY(validate(f));
  nlohmann::json out;
  ATOMCUT_TRY(store_.transact_docs(scope, [&](DocTransaction& txn) -> Status {
    auto target = txn.get(collection_of(target_kind), target_id);
    if (!target.ok()) {
      if (target.error().code == ErrorCode::kNotFound) return not_found(target_kind, target_id);
      return target.take_error();
    }
    ATOMCUT_ASSIGN_OR_RETURN(Working w, load_working(txn, target->root_id));
    for (const auto& existing : w.tree.filter_stacks) {
      if (existing.target_id == target_id) {
        return Error::already_exists(
            fmt::format("{} {} already has filter stack {}; PATCH it instead", target_type,
                        target_id, existing.id),
            {{"filter_stack_id", existing.id}});
      }
    }
    w.tree.filter_stacks.push_back(f);
    w.touch(TimelineKind::kFilterStack, f.id);
    w.created.insert({TimelineKind::kFilterStack, f.id});
    return commit_working(txn, w, now);
  }));
  out = to_json(f);
  out["clamped"] = clamped.report;
  return out;
}

namespace {

Result<DocRecord> find_stack(MetadataStore& store, const Scope& scope, std::string_view target_type,
                             std::string_view target_id) {
  ATOMCUT_ASSIGN_OR_RETURN(TimelineKind target_kind, filter_target_kind(target_type));
  DocQuery q;
  q.parent_id = std::string(target_id);
  q.limit = 10;
  ATOMCUT_ASSIGN_OR_RETURN(DocPage page, store.list_docs(scope, kFilterStacks, q));
  for (auto& r : page.items) {
    if (r.doc.value("target_type", "") == target_type) return std::move(r);
  }
  (void)target_kind;
  return Error::not_found(fmt::format("{} {} has no filter stack", target_type, target_id),
                          {{"target_type", target_type}, {"target_id", target_id}});
}

}  // namespace

Result<nlohmann::json> TimelineService::get_filter_stack(const Scope& scope,
                                                         std::string_view target_type,
                                                         std::string_view target_id) {
  ATOMCUT_ASSIGN_OR_RETURN(DocRecord r, find_stack(store_, scope, target_type, target_id));
  return r.doc;
}

Result<nlohmann::json> TimelineService::patch_filter_stack(const RequestContext& ctx,
                                                           std::string_view target_type,
                                                           std::string_view target_id,
                                                           const nlohmann::json& merge) {
  ATOMCUT_ASSIGN_OR_RETURN(DocRecord r, find_stack(store_, scope_of(ctx), target_type, target_id));
  return patch(ctx, TimelineKind::kFilterStack, r.id, merge);
}

Result<TimelineDeleteReport> TimelineService::remove_filter_stack(const RequestContext& ctx,
                                                                  std::string_view target_type,
                                                                  std::string_view target_id) {
  ATOMCUT_ASSIGN_OR_RETURN(DocRecord r, find_stack(store_, scope_of(ctx), target_type, target_id));
  return remove(ctx, TimelineKind::kFilterStack, r.id);
}

Result<TimelineTree> TimelineService::load_tree(const Scope& scope, std::string_view project_id) {
  auto project = store_.get_doc(scope, kProjects, project_id);
  if (!project.ok()) {
    if (project.error().code == ErrorCode::kNotFound) {
      return not_found(TimelineKind::kProject, project_id);
    }
    return project.take_error();
  }
  TimelineTree tree;
  Result<Working> w = Error::internal("unreachable");
  Status st = store_.transact_docs(scope, [&](DocTransaction& txn) -> Status {
    w = load_working(txn, project_id);
    return w.ok() ? Status() : Status(w.error());
  });
  if (!st.ok()) return st.take_error();
  return std::move(w.value().tree);
}

Result<nlohmann::json> TimelineService::expand_project(const Scope& scope,
                                                       std::string_view project_id) {
  ATOMCUT_ASSIGN_OR_RETURN(TimelineTree t, load_tree(scope, project_id));
  auto stack_for = [&](std::string_view target_type, const std::string& id) -> nlohmann::json {
    for (const auto& f : t.filter_stacks) {
      if (f.target_id == id && to_json(f).value("target_type", "") == target_type) {
        return to_json(f);
      }
    }
    return nullptr;
  };
  nlohmann::json out = to_json(t.project);
  out["sequences"] = nlohmann::json::array();
  nlohmann::json warnings = nlohmann::json::array();
  for (const auto& seq_id : t.project.sequences) {
    const Sequence* s = find_by_id(t.sequences, seq_id);
    if (!s) continue;
    nlohmann::json sj = to_json(*s);
    sj["filter_stack"] = stack_for("sequence", s->id);
    sj["tracks"] = nlohmann::json::array();
    for (const auto& tr_id : s->tracks) {
      const Track* tr = find_by_id(t.tracks, tr_id);
      if (!tr) continue;
      nlohmann::json tj = to_json(*tr);
      tj["filter_stack"] = stack_for("track", tr->id);
      std::vector<const Clip*> clips;
      for (const auto& c : t.clips) {
        if (c.track_id == tr->id) clips.push_back(&c);
      }
      std::sort(clips.begin(), clips.end(), [](const Clip* a, const Clip* b) {
        return std::tie(a->start_ms_on_timeline, a->id) < std::tie(b->start_ms_on_timeline, b->id);
      });
      tj["clips"] = nlohmann::json::array();
      for (size_t i = 0; i < clips.size(); ++i) {
        nlohmann::json cj = to_json(*clips[i]);
        cj["filter_stack"] = stack_for("clip", clips[i]->id);
        cj["end_ms_on_timeline"] = clip_end_ms(*clips[i]);
        tj["clips"].push_back(std::move(cj));
        if (i + 1 < clips.size()) {
          const int64_t overlap = clip_end_ms(*clips[i]) - clips[i + 1]->start_ms_on_timeline;
          bool joined = false;
          for (const auto& x : t.transitions) {
            joined |= x.from_clip_id == clips[i]->id && x.to_clip_id == clips[i + 1]->id;
          }
          if (overlap > 0 && !joined) {
            warnings.push_back({{"code", "overlap"},
                                {"track_id", tr->id},
                                {"clip_ids", {clips[i]->id, clips[i + 1]->id}},
                                {"overlap_ms", overlap},
                                {"message",
                                 "clips overlap without a transition: the later clip "
                                 "covers the earlier one"}});
          }
        }
      }
      sj["tracks"].push_back(std::move(tj));
    }
    sj["transitions"] = nlohmann::json::array();
    for (const auto& x : t.transitions) {
      if (x.sequence_id != s->id) continue;
      sj["transitions"].push_back(to_json(x));
      if (Status st = check_transition(t, x); !st.ok()) {
        warnings.push_back({{"code", "transition_does_not_fit"},
                            {"transition_id", x.id},
                            {"message", st.error().message}});
      }
    }
    out["sequences"].push_back(std::move(sj));
  }
  out["warnings"] = std::move(warnings);
  return out;
}

Result<nlohmann::json> TimelineService::insert_tree(const RequestContext& ctx,
                                                    const TimelineTree& in) {
  const Scope scope = scope_of(ctx);
  const int64_t now = now_ms();
  Working w;
  w.tree = in;
  auto& t = w.tree;
  TimelineRecord who{ctx.tenant_id, ctx.env, ctx.user_id, now, now};
  static_cast<TimelineRecord&>(t.project) = who;
  t.project.revision = 0;  // commit_working makes it 1
  ATOMCUT_TRY(validate(t.project));
  auto mark = [&](TimelineKind k, TimelineRecord& r, const std::string& id) {
    r = who;
    w.touch(k, id);
    w.created.insert({k, id});
  };
  for (auto& s : t.sequences) {
    mark(TimelineKind::kSequence, s, s.id);
    ATOMCUT_TRY(validate(s));
  }
  for (auto& x : t.tracks) {
    mark(TimelineKind::kTrack, x, x.id);
    ATOMCUT_TRY(validate(x));
  }
  for (auto& c : t.clips) {
    mark(TimelineKind::kClip, c, c.id);
    ATOMCUT_TRY(validate(c));
    ATOMCUT_TRY(check_clip_media(store_, scope, c));
  }
  for (auto& x : t.transitions) {
    mark(TimelineKind::kTransition, x, x.id);
    ATOMCUT_TRY(validate(x));
    ATOMCUT_TRY(check_transition(t, x));
  }
  for (auto& f : t.filter_stacks) {
    mark(TimelineKind::kFilterStack, f, f.id);
    ATOMCUT_ASSIGN_OR_RETURN(ClampedFilters clamped, clamp_filters(f.filters));
    f.filters = clamped.filters;
    ATOMCUT_TRY(validate(f));
  }
  for (const auto& s : t.sequences) refresh_duration(w, s.id);
  w.created.insert({TimelineKind::kProject, t.project.id});
  ATOMCUT_TRY(store_.transact_docs(
      scope, [&](DocTransaction& txn) { return commit_working(txn, w, now); }));
  return expand_project(scope, t.project.id);
}

}  // namespace atomcut

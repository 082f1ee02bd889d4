#include "engines/timeline/otio/otio_interchange.h"

#include "core/ids.h"
#include "core/model/fx_catalog.h"
#include "core/time_util.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <set>

namespace atomcut {

namespace {

using nlohmann::json;

constexpr std::string_view kDissolve = "SMPTE_Dissolve";
constexpr std::string_view kCustomTransition = "Custom_Transition";
constexpr std::string_view kDefaultProjectTitle = "Imported timeline";

// ---------------------------------------------------------------------------------------------
// Shared helpers

json without(json j, std::initializer_list<const char*> keys) {
  for (const char* k : keys) j.erase(k);
  return j;
}

json filters_json(const std::vector<Filter>& filters) {
  json a = json::array();
  for (const auto& f : filters) a.push_back(to_json(f));
  return a;
}

const FilterStack* stack_for(const TimelineTree& t, TargetType type, const std::string& id) {
  for (const auto& s : t.filter_stacks) {
    if (s.target_type == type && s.target_id == id) return &s;
  }
  return nullptr;
}

int64_t clip_end_ms(const Clip& c) {
  return c.start_ms_on_timeline + static_cast<int64_t>(std::ceil(clip_timeline_duration_ms(c)));
}

// ---------------------------------------------------------------------------------------------
// Export

struct Timebase {
  Rational tb;
  // Nearest frame to `ms` (half away from zero), exact for whole ms.
  int64_t frames(int64_t ms) const {
    const __int128 n = static_cast<__int128>(ms) * tb.num;
    const __int128 d = static_cast<__int128>(tb.den) * 1000;
    return static_cast<int64_t>(n >= 0 ? (2 * n + d) / (2 * d) : -((-2 * n + d) / (2 * d)));
  }
  int64_t frames(double ms) const {
    return std::llround(ms * static_cast<double>(tb.num) / (1000.0 * static_cast<double>(tb.den)));
  }
  json time(int64_t value) const {
    return {{"OTIO_SCHEMA", "RationalTime.1"},
            {"rate", tb.to_double()},
            {"value", static_cast<double>(value)}};
  }
  json range(int64_t start, int64_t duration) const {
    return {
        {"OTIO_SCHEMA", "TimeRange.1"}, {"start_time", time(start)}, {"duration", time(duration)}};
  }
};

json clip_metadata(const TimelineTree& t, const Clip& c) {
  json m =
      without(to_json(c), {"id", "track_id", "in_ms", "out_ms", "start_ms_on_timeline", "speed",
                           "tenant_id", "env", "user_id", "created_at", "updated_at"});
  m["clip_id"] = c.id;
  if (const FilterStack* s = stack_for(t, TargetType::kClip, c.id)) {
    m["filters"] = filters_json(s->filters);
  }
  return m;
}

json track_metadata(const TimelineTree& t, const Track& tr) {
  json m = without(to_json(tr), {"id", "sequence_id", "kind", "tenant_id", "env", "user_id",
                                 "created_at", "updated_at"});
  m["track_id"] = tr.id;
  if (const FilterStack* s = stack_for(t, TargetType::kTrack, tr.id)) {
    m["filters"] = filters_json(s->filters);
  }
  return m;
}

json timeline_metadata(const TimelineTree& t, const Sequence& seq) {
  const VideoProject& p = t.project;
  json m;
  m["project_id"] = p.id;
  m["title"] = p.title;
  m["description"] = p.description ? json(*p.description) : json(nullptr);
  m["tags"] = p.tags;
  m["render_profile"] = p.render_profile;
  m["project_meta"] = p.meta;
  m["sequence_id"] = seq.id;
  m["sequence_name"] = seq.name;
  m["timebase"] = seq.timebase.to_string();
  m["sequence_meta"] = seq.meta;
  if (const FilterStack* s = stack_for(t, TargetType::kSequence, seq.id)) {
    m["sequence_filters"] = filters_json(s->filters);
  }
  return m;
}

json media_reference(const std::optional<OtioAssetInfo>& asset, const Timebase& tb) {
  if (!asset) {
    return {{"OTIO_SCHEMA", "MissingReference.1"},
            {"name", ""},
            {"available_range", nullptr},
            {"metadata", json::object()}};
  }
  json r = {{"OTIO_SCHEMA", "ExternalReference.1"},
            {"name", asset->name},
            {"target_url", asset->source_uri},
            {"available_range", nullptr},
            {"metadata", json::object()}};
  if (asset->duration_ms) r["available_range"] = tb.range(0, tb.frames(*asset->duration_ms));
  return r;
}

Result<json> export_track(const TimelineTree& t, const Track& tr, const Timebase& tb,
                          const std::vector<const Transition*>& transitions,
                          std::set<const Transition*>& used, const AssetLookup& assets,
                          int kind_index) {
  std::vector<const Clip*> clips;
  for (const auto& c : t.clips) {
    if (c.track_id == tr.id) clips.push_back(&c);
  }
  std::sort(clips.begin(), clips.end(), [](const Clip* a, const Clip* b) {
    return std::tie(a->start_ms_on_timeline, a->id) < std::tie(b->start_ms_on_timeline, b->id);
  });
  auto transition_between = [&](const Clip* a, const Clip* b) -> const Transition* {
    for (const Transition* x : transitions) {
      if (x->from_clip_id == a->id && x->to_clip_id == b->id) return x;
    }
    return nullptr;
  };

  json children = json::array();
  int64_t cursor = 0;  // frames
  for (size_t i = 0; i < clips.size(); ++i) {
    const Clip& c = *clips[i];
    const Clip* next = i + 1 < clips.size() ? clips[i + 1] : nullptr;
    const Transition* x = next ? transition_between(&c, next) : nullptr;
    const int64_t start = tb.frames(c.start_ms_on_timeline);
    const int64_t full_end = tb.frames(c.start_ms_on_timeline + clip_timeline_duration_ms(c));
    int64_t end = full_end;
    if (x) {
      end = tb.frames(next->start_ms_on_timeline);
      if (end <= start || end >= full_end) {
        return Error::failed_precondition(
            fmt::format("transition {}: clip {} must start inside clip {} (on track {})", x->id,
                        next->id, c.id, tr.id),
            {{"transition_id", x->id}});
      }
    } else if (next && tb.frames(next->start_ms_on_timeline) < full_end) {
      return Error::failed_precondition(
          fmt::format("clips {} and {} overlap on track {} without a transition; OTIO tracks "
                      "cannot hold overlapping clips",
                      c.id, next->id, tr.id),
          {{"clip_id", next->id}});
    }
    if (end - start <= 0) {
      return Error::failed_precondition(
          fmt::format("clip {} is shorter than one frame at {} fps", c.id, tb.tb.to_string()),
          {{"clip_id", c.id}});
    }
    if (start > cursor) {
      children.push_back({{"OTIO_SCHEMA", "Gap.1"},
                          {"name", ""},
                          {"source_range", tb.range(0, start - cursor)},
                          {"effects", json::array()},
                          {"markers", json::array()},
                          {"enabled", true},
                          {"metadata", json::object()}});
    }
    const auto asset = assets ? assets(c.asset_id) : std::nullopt;
    json meta = clip_metadata(t, c);
    if (x) meta["untrimmed_out_ms"] = c.out_ms;
    json effects = json::array();
    if (c.speed != 1.0) {
      effects.push_back({{"OTIO_SCHEMA", "LinearTimeWarp.1"},
                         {"name", ""},
                         {"effect_name", "LinearTimeWarp"},
                         {"time_scalar", c.speed},
                         {"metadata", json::object()}});
    }
    children.push_back({{"OTIO_SCHEMA", "Clip.1"},
                        {"name", asset && !asset->name.empty() ? asset->name : c.id},
                        {"source_range", tb.range(tb.frames(c.in_ms), end - start)},
                        {"media_reference", media_reference(asset, tb)},
                        {"effects", std::move(effects)},
                        {"markers", json::array()},
                        {"enabled", true},
                        {"metadata", {{"atomcut", std::move(meta)}}}});
    if (x) {
      used.insert(x);
      children.push_back(
          {{"OTIO_SCHEMA", "Transition.1"},
           {"name", x->type},
           {"transition_type", std::string(x->type == "crossfade" ? kDissolve : kCustomTransition)},
           {"in_offset", tb.time(0)},
           {"out_offset", tb.time(full_end - end)},
           {"metadata",
            {{"atomcut",
              {{"transition_id", x->id},
               {"type", x->type},
               {"duration_ms", x->duration_ms},
               {"meta", x->meta}}}}}});
    }
    cursor = end;
  }
  const bool video = tr.kind == TrackKind::kVideo;
  return json{{"OTIO_SCHEMA", "Track.1"},
              {"name", fmt::format("{}{}", video ? "V" : "A", kind_index)},
              {"kind", video ? "Video" : "Audio"},
              {"children", std::move(children)},
              {"source_range", nullptr},
              {"effects", json::array()},
              {"markers", json::array()},
              {"enabled", !(video ? tr.hidden : tr.muted)},
              {"metadata", {{"atomcut", track_metadata(t, tr)}}}};
}

}  // namespace

Result<json> export_otio(const TimelineTree& tree, std::string_view sequence_id,
                         const AssetLookup& assets) {
  const Sequence* seq = nullptr;
  for (const auto& s : tree.sequences) {
    if (s.id == sequence_id) seq = &s;
  }
  if (!seq) {
    return Error::not_found(
        fmt::format("sequence {} is not in project {}", sequence_id, tree.project.id),
        {{"sequence_id", std::string(sequence_id)}});
  }
  if (seq->timebase.num <= 0 || seq->timebase.den <= 0) {
    return Error::failed_precondition(
        fmt::format("sequence {} has an invalid timebase {}", seq->id, seq->timebase.to_string()));
  }
  const Timebase tb{seq->timebase};

  std::vector<const Track*> tracks;
  for (const auto& tr : tree.tracks) {
    if (tr.sequence_id == seq->id) tracks.push_back(&tr);
  }
  // Ties keep the sequence's own bottom-to-top list order.
  auto list_index = [&](const Track* tr) {
    auto it = std::find(seq->tracks.begin(), seq->tracks.end(), tr->id);
    return it - seq->tracks.begin();
  };
  std::stable_sort(tracks.begin(), tracks.end(), [&](const Track* a, const Track* b) {
    return std::make_tuple(a->order, list_index(a)) < std::make_tuple(b->order, list_index(b));
  });
  std::vector<const Transition*> transitions;
  for (const auto& x : tree.transitions) {
    if (x.sequence_id == seq->id) transitions.push_back(&x);
  }

  std::set<const Transition*> used;
  json stack_children = json::array();
  int videos = 0;
  int audios = 0;
  for (const Track* tr : tracks) {
    const int index = tr->kind == TrackKind::kVideo ? ++videos : ++audios;
    ATOMCUT_ASSIGN_OR_RETURN(json track,
                             export_track(tree, *tr, tb, transitions, used, assets, index));
    stack_children.push_back(std::move(track));
  }
  for (const Transition* x : transitions) {
    if (!used.count(x)) {
      return Error::failed_precondition(
          fmt::format("transition {}: clips {} and {} are not neighbours on one track of "
                      "sequence {}",
                      x->id, x->from_clip_id, x->to_clip_id, seq->id),
          {{"transition_id", x->id}});
    }
  }
  return json{{"OTIO_SCHEMA", "Timeline.1"},
              {"name", tree.project.title},
              {"global_start_time", nullptr},
              {"metadata", {{"atomcut", timeline_metadata(tree, *seq)}}},
              {"tracks",
               {{"OTIO_SCHEMA", "Stack.1"},
                {"name", "tracks"},
                {"children", std::move(stack_children)},
                {"source_range", nullptr},
                {"effects", json::array()},
                {"markers", json::array()},
                {"enabled", true},
                {"metadata", json::object()}}}};
}

// ---------------------------------------------------------------------------------------------
// Import

namespace {

// The schema's name without its version ("Clip" for "Clip.1"), "" when absent.
std::string schema_name(const json& j) {
  if (!j.is_object()) return "";
  auto it = j.find("OTIO_SCHEMA");
  if (it == j.end() || !it->is_string()) return "";
  const std::string& s = it->get_ref<const std::string&>();
  return s.substr(0, s.find('.'));
}

std::string schema_full(const json& j) {
  if (!j.is_object()) return "";
  auto it = j.find("OTIO_SCHEMA");
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

Error bad(const std::string& path, std::string_view rule) {
  return Error::invalid_argument(fmt::format("otio {} {}", path, rule), {{"path", path}});
}

struct Time {
  double value = 0;
  double rate = 0;
};

struct Range {
  Time start;
  Time duration;
};

Result<Time> read_time(const json& j, const std::string& path) {
  if (schema_name(j) != "RationalTime") return bad(path, "must be a RationalTime.1 object");
  const auto rate = j.find("rate");
  const auto value = j.find("value");
  if (rate == j.end() || !rate->is_number() || !std::isfinite(rate->get<double>()) ||
      rate->get<double>() <= 0) {
    return bad(path + ".rate", "must be a positive number");
  }
  if (value == j.end() || !value->is_number() || !std::isfinite(value->get<double>())) {
    return bad(path + ".value", "must be a finite number");
  }
  return Time{value->get<double>(), rate->get<double>()};
}

// A TimeRange.1 member `key` of `obj`; nullopt when missing or null.
Result<std::optional<Range>> read_range(const json& obj, const char* key, const std::string& at) {
  const std::string path = at + "." + key;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<Range>();
  if (schema_name(*it) != "TimeRange") return bad(path, "must be a TimeRange.1 object or null");
  const json& r = *it;
  if (!r.contains("start_time")) return bad(path + ".start_time", "is required");
  if (!r.contains("duration")) return bad(path + ".duration", "is required");
  ATOMCUT_ASSIGN_OR_RETURN(Time start, read_time(r["start_time"], path + ".start_time"));
  ATOMCUT_ASSIGN_OR_RETURN(Time duration, read_time(r["duration"], path + ".duration"));
  if (duration.value < 0) {
    return bad(path + ".duration", fmt::format("must not be negative (value {})", duration.value));
  }
  return std::optional<Range>(Range{start, duration});
}

Result<std::string> read_string(const json& obj, const char* key, const std::string& at) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::string();
  if (!it->is_string()) return bad(at + "." + key, "must be a string");
  return it->get<std::string>();
}

Result<const json*> read_array(const json& obj, const char* key, const std::string& at) {
  static const json kEmpty = json::array();
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return &kEmpty;
  if (!it->is_array()) return bad(at + "." + key, "must be an array");
  return &*it;
}

Result<json> read_atomcut_metadata(const json& obj, const std::string& at) {
  auto it = obj.find("metadata");
  if (it == obj.end() || it->is_null()) return json::object();
  if (!it->is_object()) return bad(at + ".metadata", "must be an object");
  auto a = it->find("atomcut");
  if (a == it->end() || a->is_null()) return json::object();
  if (!a->is_object()) return bad(at + ".metadata.atomcut", "must be an object");
  return *a;
}

bool read_enabled(const json& obj) {
  auto it = obj.find("enabled");
  return it == obj.end() || !it->is_boolean() || it->get<bool>();
}

// The first RationalTime rate in document order of tracks and items.
std::optional<double> first_rate(const json& j) {
  if (!j.is_object()) return std::nullopt;
  if (schema_name(j) == "RationalTime") {
    auto r = j.find("rate");
    if (r != j.end() && r->is_number() && r->get<double>() > 0) return r->get<double>();
    return std::nullopt;
  }
  // Ranges and offsets before children; start_time before duration.
  for (const char* key : {"source_range", "available_range", "media_reference", "start_time",
                          "duration", "in_offset", "out_offset", "tracks"}) {
    auto it = j.find(key);
    if (it != j.end()) {
      if (auto r = first_rate(*it)) return r;
    }
  }
  auto ch = j.find("children");
  if (ch != j.end() && ch->is_array()) {
    for (const auto& c : *ch) {
      if (auto r = first_rate(c)) return r;
    }
  }
  return std::nullopt;
}

Rational rate_to_rational(double rate) {
  if (auto r = parse_rational(fmt::format("{}", rate))) return *r;
  return Rational{static_cast<int64_t>(std::llround(rate * 1000)), 1000}.reduced();
}

class Importer {
 public:
  Importer(const ImportContext& ctx, ImportedTimeline& out) : ctx_(ctx), out_(out) {}

  Status run(const json& otio);

 private:
  // Milliseconds of `t` (unrounded), exact when t.rate is the sequence timebase.
  long double ms(const Time& t) const {
    if (std::fabs(t.rate - tb_.to_double()) < 1e-9 * tb_.to_double()) {
      return static_cast<long double>(t.value) * 1000.0L * tb_.den / tb_.num;
    }
    return static_cast<long double>(t.value) * 1000.0L / t.rate;
  }
  static int64_t round_ms(long double v) { return static_cast<int64_t>(std::llround(v)); }

  void warn(std::string code, std::string path, std::string message, json extra = json::object()) {
    json w = {
        {"code", std::move(code)}, {"path", std::move(path)}, {"message", std::move(message)}};
    w.update(extra);
    out_.warnings.push_back(std::move(w));
  }
  void warn_unsupported(const std::string& path, const json& item, std::string message) {
    warn("unsupported_item", path, std::move(message), {{"schema", schema_full(item)}});
  }
  // Markers and effects other than LinearTimeWarp on `item`; returns the time scalar.
  Result<double> item_extras(const json& item, const std::string& at, bool allow_warp);
  // Duration in ms of an item that is not imported (nested stacks, unknown schemas).
  Result<long double> skipped_duration(const json& item, const std::string& at);
  void stamp(TimelineRecord& r) const {
    r.tenant_id = ctx_.tenant_id;
    r.env = ctx_.env;
    r.user_id = ctx_.user_id;
    r.created_at_ms = now_;
    r.updated_at_ms = now_;
  }
  Status add_filters(const json& meta, const char* key, TargetType type, const std::string& id,
                     const std::string& at);
  Status import_track(const json& track, size_t index, const std::string& at);

  const ImportContext& ctx_;
  ImportedTimeline& out_;
  Rational tb_{30, 1};
  int64_t now_ = 0;
};

Status Importer::add_filters(const json& meta, const char* key, TargetType type,
                             const std::string& id, const std::string& at) {
  auto it = meta.find(key);
  if (it == meta.end() || it->is_null()) return {};
  const std::string path = at + ".metadata.atomcut." + key;
  json j = {{"id", new_id("fst")},
            {"target_type", enum_name(kTargetTypeNames, type)},
            {"target_id", id},
            {"filters", *it}};
  auto stack = filter_stack_from_json(j);
  if (!stack.ok()) return bad(path, stack.error().message);
  stamp(*stack);
  if (Status s = validate(*stack); !s.ok()) return bad(path, s.error().message);
  out_.tree.filter_stacks.push_back(std::move(stack).value());
  return {};
}

Result<double> Importer::item_extras(const json& item, const std::string& at, bool allow_warp) {
  ATOMCUT_ASSIGN_OR_RETURN(const json* markers, read_array(item, "markers", at));
  for (size_t k = 0; k < markers->size(); ++k) {
    warn_unsupported(fmt::format("{}.markers[{}]", at, k), (*markers)[k],
                     "markers are not imported");
  }
  ATOMCUT_ASSIGN_OR_RETURN(const json* effects, read_array(item, "effects", at));
  double scalar = 1.0;
  for (size_t k = 0; k < effects->size(); ++k) {
    const json& e = (*effects)[k];
    const std::string path = fmt::format("{}.effects[{}]", at, k);
    if (allow_warp && schema_name(e) == "LinearTimeWarp") {
      auto ts = e.find("time_scalar");
      if (ts == e.end() || !ts->is_number()) return bad(path + ".time_scalar", "must be a number");
      const double v = ts->get<double>();
      if (std::isfinite(v) && v > 0 && v <= kMaxClipSpeed) {
        scalar *= v;
        continue;
      }
      warn_unsupported(path, e,
                       fmt::format("time_scalar {} is outside (0, {}]; clip imported at speed 1", v,
                                   kMaxClipSpeed));
      continue;
    }
    warn_unsupported(path, e, "effect not imported");
  }
  return scalar;
}

Result<long double> Importer::skipped_duration(const json& item, const std::string& at) {
  ATOMCUT_ASSIGN_OR_RETURN(auto range, read_range(item, "source_range", at));
  if (range) return ms(range->duration);
  const std::string s = schema_name(item);
  if (s != "Stack" && s != "Track") return 0.0L;
  ATOMCUT_ASSIGN_OR_RETURN(const json* children, read_array(item, "children", at));
  long double total = 0;
  for (size_t i = 0; i < children->size(); ++i) {
    const json& c = (*children)[i];
    if (schema_name(c) == "Transition") continue;
    ATOMCUT_ASSIGN_OR_RETURN(long double d,
                             skipped_duration(c, fmt::format("{}.children[{}]", at, i)));
    total = s == "Stack" ? std::max(total, d) : total + d;
  }
  return total;
}

Status Importer::import_track(const json& track, size_t index, const std::string& at) {
  const std::string& sequence_id = out_.tree.sequences.front().id;
  ATOMCUT_ASSIGN_OR_RETURN(json meta, read_atomcut_metadata(track, at));
  ATOMCUT_ASSIGN_OR_RETURN(std::string kind, read_string(track, "kind", at));
  if (kind != "Video" && kind != "Audio") {
    warn_unsupported(
        at, track, fmt::format("track kind \"{}\" is not Video or Audio; imported as video", kind));
  }
  ATOMCUT_ASSIGN_OR_RETURN(auto track_range, read_range(track, "source_range", at));
  if (track_range) warn_unsupported(at + ".source_range", track, "track source_range ignored");
  ATOMCUT_ASSIGN_OR_RETURN(double unused_scalar, item_extras(track, at, false));
  (void)unused_scalar;

  // The model's parser restores the metadata fields; OTIO's own fields win for kind.
  json tj = without(meta, {"track_id", "filters", "id", "sequence_id", "tenant_id", "env",
                           "user_id", "created_at", "updated_at"});
  const bool audio = kind == "Audio";
  tj["id"] = new_id("trk");
  tj["sequence_id"] = sequence_id;
  tj["kind"] = audio ? "audio" : "video";
  if (!tj.contains("order")) tj["order"] = static_cast<int64_t>(index);
  const bool enabled = read_enabled(track);
  if (!tj.contains("muted")) tj["muted"] = audio && !enabled;
  if (!tj.contains("hidden")) tj["hidden"] = !audio && !enabled;
  auto tr = track_from_json(tj);
  if (!tr.ok()) return bad(at + ".metadata.atomcut", tr.error().message);
  stamp(*tr);
  if (Status s = validate(*tr); !s.ok()) return bad(at, s.error().message);
  const std::string track_id = tr->id;
  out_.tree.tracks.push_back(std::move(tr).value());
  out_.tree.sequences.front().tracks.push_back(track_id);
  ATOMCUT_TRY(add_filters(meta, "filters", TargetType::kTrack, track_id, at));

  ATOMCUT_ASSIGN_OR_RETURN(const json* children, read_array(track, "children", at));
  // The clip before the current item, while nothing else came between.
  struct Prev {
    std::optional<size_t> clip;  // index in tree.clips; nullopt when the clip was skipped
    long double duration_ms = 0;
  };
  struct Pending {
    const json* item;
    std::string path;
    long double overlap_ms;
    json meta;
    std::string type;  // transition_type
  };
  Prev prev;
  bool has_prev = false;
  std::optional<Pending> pending;
  long double pos = 0;  // ms
  auto drop_pending = [&](std::string why) {
    if (pending) warn_unsupported(pending->path, *pending->item, std::move(why));
    pending.reset();
  };

  for (size_t i = 0; i < children->size(); ++i) {
    const json& item = (*children)[i];
    const std::string path = fmt::format("{}.children[{}]", at, i);
    if (!item.is_object()) return bad(path, "must be an OTIO object");
    const std::string schema = schema_name(item);

    if (schema == "Transition") {
      if (!item.contains("in_offset")) return bad(path + ".in_offset", "is required");
      if (!item.contains("out_offset")) return bad(path + ".out_offset", "is required");
      ATOMCUT_ASSIGN_OR_RETURN(Time in, read_time(item["in_offset"], path + ".in_offset"));
      ATOMCUT_ASSIGN_OR_RETURN(Time out, read_time(item["out_offset"], path + ".out_offset"));
      if (in.value < 0) return bad(path + ".in_offset", "must not be negative");
      if (out.value < 0) return bad(path + ".out_offset", "must not be negative");
      ATOMCUT_ASSIGN_OR_RETURN(json tmeta, read_atomcut_metadata(item, path));
      ATOMCUT_ASSIGN_OR_RETURN(std::string type, read_string(item, "transition_type", path));
      drop_pending("transition not followed by a clip; not imported");
      if (!has_prev) {
        warn_unsupported(path, item, "transition not preceded by a clip; not imported");
        continue;
      }
      pending = Pending{&item, path, ms(in) + ms(out), std::move(tmeta), std::move(type)};
      continue;
    }

    if (schema == "Gap") {
      ATOMCUT_ASSIGN_OR_RETURN(auto range, read_range(item, "source_range", path));
      if (!range) return bad(path + ".source_range", "is required on a Gap");
      ATOMCUT_ASSIGN_OR_RETURN(double unused, item_extras(item, path, false));
      (void)unused;
      drop_pending("transition next to a gap; not imported");
      pos += ms(range->duration);
      has_prev = false;
      continue;
    }

    if (schema != "Clip") {
      drop_pending("transition next to an item that is not a clip; not imported");
      ATOMCUT_ASSIGN_OR_RETURN(long double d, skipped_duration(item, path));
      warn_unsupported(path, item,
                       schema == "Stack" ? "nested stacks are not imported; their time is left "
                                           "empty"
                                         : "item not imported; its time is left empty");
      pos += d;
      has_prev = false;
      continue;
    }

    // Clip.1 (or Clip.2 with media_references).
    ATOMCUT_ASSIGN_OR_RETURN(json cmeta, read_atomcut_metadata(item, path));
    ATOMCUT_ASSIGN_OR_RETURN(std::string name, read_string(item, "name", path));
    const json* media = nullptr;
    std::string media_path = path + ".media_reference";
    if (auto refs = item.find("media_references"); refs != item.end() && refs->is_object()) {
      ATOMCUT_ASSIGN_OR_RETURN(std::string key,
                               read_string(item, "active_media_reference_key", path));
      auto r = refs->find(key.empty() ? "DEFAULT_MEDIA" : key);
      if (r != refs->end()) {
        media = &*r;
        media_path = fmt::format("{}.media_references.{}", path, r.key());
      }
    } else if (auto r = item.find("media_reference"); r != item.end() && !r->is_null()) {
      media = &*r;
    }
    if (media && !media->is_object()) return bad(media_path, "must be an object or null");
    std::string target_url;
    std::optional<Range> available;
    if (media) {
      const std::string ms_schema = schema_name(*media);
      ATOMCUT_ASSIGN_OR_RETURN(target_url, read_string(*media, "target_url", media_path));
      ATOMCUT_ASSIGN_OR_RETURN(available, read_range(*media, "available_range", media_path));
      if (ms_schema != "ExternalReference" && ms_schema != "MissingReference") {
        warn_unsupported(media_path, *media,
                         "only ExternalReference media is imported; matched by target_url and "
                         "clip name");
      }
    }
    ATOMCUT_ASSIGN_OR_RETURN(auto source, read_range(item, "source_range", path));
    ATOMCUT_ASSIGN_OR_RETURN(double speed, item_extras(item, path, true));

    OtioMediaQuery query;
    if (auto a = cmeta.find("asset_id"); a != cmeta.end() && a->is_string()) {
      query.asset_id = a->get<std::string>();
    }
    query.target_url = target_url;
    query.clip_name = name;
    const auto asset = ctx_.match_asset ? ctx_.match_asset(query) : std::nullopt;

    long double in_ms = 0;
    long double duration = 0;  // on the timeline
    if (source || available) {
      const Range& r = source ? *source : *available;
      in_ms = ms(r.start);
      duration = ms(r.duration);
    } else if (asset && asset->duration_ms) {
      duration = static_cast<long double>(*asset->duration_ms) / speed;
    } else {
      drop_pending("transition next to a clip without a range; not imported");
      warn_unsupported(path, item, "clip has neither source_range nor available_range; skipped");
      has_prev = false;
      continue;
    }
    if (!read_enabled(item)) {
      drop_pending("transition next to a disabled clip; not imported");
      warn_unsupported(path, item, "disabled clip imported as empty time");
      pos += duration;
      has_prev = false;
      continue;
    }

    long double start = pos;
    std::optional<Transition> transition;
    if (pending) {
      const long double d = pending->overlap_ms;
      const int64_t d_ms = round_ms(d);
      if (d_ms <= 0 || d_ms > kMaxTransitionDurationMs || d > prev.duration_ms || d > duration) {
        drop_pending(
            fmt::format("transition overlap of {} ms must be in (0, {}] and no longer "
                        "than either clip; not imported",
                        d_ms, kMaxTransitionDurationMs));
      } else {
        start = pos - d;
        Transition x;
        x.id = new_id("trn");
        x.sequence_id = sequence_id;
        x.duration_ms = d_ms;
        if (auto dm = pending->meta.find("duration_ms");
            dm != pending->meta.end() && dm->is_number_integer() && dm->get<int64_t>() > 0 &&
            dm->get<int64_t>() <= d_ms) {
          x.duration_ms = dm->get<int64_t>();
        }
        std::string meta_type;
        if (auto mt = pending->meta.find("type"); mt != pending->meta.end() && mt->is_string()) {
          meta_type = mt->get<std::string>();
        }
        const TransitionSpec* spec = find_transition(meta_type);
        if (spec && spec->type == meta_type) {
          x.type = meta_type;
        } else if (pending->type == kDissolve) {
          x.type = "crossfade";
        } else {
          x.type = "crossfade";
          warn("approximated_transition", pending->path,
               fmt::format("transition_type \"{}\" has no atomcut equivalent; imported as "
                           "crossfade",
                           pending->type),
               {{"transition_type", pending->type}});
        }
        if (auto m = pending->meta.find("meta"); m != pending->meta.end() && m->is_object()) {
          x.meta = *m;
        }
        if (prev.clip) x.from_clip_id = out_.tree.clips[*prev.clip].id;
        transition = std::move(x);
      }
    }

    // Files written by export_otio: give the clip back the tail a following transition took.
    long double end = start + duration;
    std::optional<int64_t> untrimmed;
    if (auto u = cmeta.find("untrimmed_out_ms"); u != cmeta.end() && u->is_number_integer() &&
                                                 i + 1 < children->size() &&
                                                 schema_name((*children)[i + 1]) == "Transition") {
      untrimmed = u->get<int64_t>();
    }

    if (!asset) {
      warn("unmatched_media", path,
           fmt::format("no asset matches the media of clip \"{}\"; clip skipped", name),
           {{"target_url", target_url}, {"clip_name", name}});
      if (transition) {
        warn("dropped_transition", pending->path,
             "transition not imported because its to clip was skipped");
      }
      if (untrimmed) {
        const long double otio_out = in_ms + duration * speed;
        end += (static_cast<long double>(*untrimmed) - otio_out) / speed;
      }
      pending.reset();
      has_prev = true;
      prev = Prev{std::nullopt, end - start};
      pos = end;
      continue;
    }

    json cj = without(cmeta, {"clip_id", "filters", "untrimmed_out_ms", "id", "track_id", "in_ms",
                              "out_ms", "start_ms_on_timeline", "speed", "asset_id", "tenant_id",
                              "env", "user_id", "created_at", "updated_at"});
    if (query.asset_id != asset->asset_id) cj.erase("artifact_id");
    cj["id"] = new_id("clp");
    cj["track_id"] = track_id;
    cj["asset_id"] = asset->asset_id;
    cj["in_ms"] = round_ms(in_ms);
    cj["out_ms"] = untrimmed ? *untrimmed : round_ms(in_ms + duration * speed);
    cj["start_ms_on_timeline"] = round_ms(start);
    cj["speed"] = speed;
    auto clip = clip_from_json(cj);
    if (!clip.ok()) return bad(path + ".metadata.atomcut", clip.error().message);
    stamp(*clip);
    if (Status s = validate(*clip); !s.ok()) return bad(path, s.error().message);
    if (untrimmed) {
      end = static_cast<long double>(round_ms(start)) + clip_timeline_duration_ms(*clip);
    }
    const std::string clip_id = clip->id;
    out_.tree.clips.push_back(std::move(clip).value());
    ATOMCUT_TRY(add_filters(cmeta, "filters", TargetType::kClip, clip_id, path));

    if (transition) {
      if (transition->from_clip_id.empty()) {
        warn("dropped_transition", pending->path,
             "transition not imported because its from clip was skipped");
      } else {
        transition->to_clip_id = clip_id;
        stamp(*transition);
        if (Status s = validate(*transition); !s.ok()) {
          return bad(pending->path, s.error().message);
        }
        out_.tree.transitions.push_back(std::move(*transition));
      }
    }
    pending.reset();
    has_prev = true;
    prev = Prev{out_.tree.clips.size() - 1, end - start};
    pos = end;
  }
  drop_pending("transition at the end of the track; not imported");
  return {};
}

Status Importer::run(const json& otio) {
  if (schema_name(otio) != "Timeline") {
    return bad("(root)", fmt::format("must be a Timeline.1 object (OTIO_SCHEMA is \"{}\")",
                                     schema_full(otio)));
  }
  now_ = now_ms();
  ATOMCUT_ASSIGN_OR_RETURN(json meta, read_atomcut_metadata(otio, "timeline"));
  ATOMCUT_ASSIGN_OR_RETURN(std::string name, read_string(otio, "name", "timeline"));
  auto stack_it = otio.find("tracks");
  if (stack_it == otio.end() || schema_name(*stack_it) != "Stack") {
    return bad("tracks", "must be a Stack.1 object");
  }
  const json& stack = *stack_it;

  // Timebase: the first rate of the document, exact via its decimal text; the exported rational
  // when it is that rate.
  if (auto rate = first_rate(otio)) {
    tb_ = rate_to_rational(*rate);
    if (auto t = meta.find("timebase"); t != meta.end() && t->is_string()) {
      auto exact = parse_rational(t->get<std::string>());
      if (exact && exact->num > 0 && std::fabs(exact->to_double() - *rate) < 1e-9 * *rate) {
        tb_ = *exact;
      }
    }
  }
  if (auto g = otio.find("global_start_time"); g != otio.end() && !g->is_null()) {
    warn_unsupported("global_start_time", *g,
                     "global_start_time ignored; the sequence starts at 0");
  }

  VideoProject& p = out_.tree.project;
  json pj = {
      {"title", name.empty() ? std::string(kDefaultProjectTitle) : name.substr(0, kMaxNameLength)}};
  for (const char* k : {"title", "description", "tags", "render_profile"}) {
    if (meta.contains(k)) pj[k] = meta[k];
  }
  if (meta.contains("project_meta")) pj["meta"] = meta["project_meta"];
  auto project = video_project_from_json(pj);
  if (!project.ok()) return bad("metadata.atomcut", project.error().message);
  p = std::move(project).value();
  p.id = new_id("prj");
  stamp(p);

  Sequence seq;
  seq.id = new_id("seq");
  seq.project_id = p.id;
  seq.name = p.title;
  if (auto n = meta.find("sequence_name"); n != meta.end() && n->is_string()) {
    seq.name = n->get<std::string>();
  }
  if (auto m = meta.find("sequence_meta"); m != meta.end() && m->is_object()) seq.meta = *m;
  seq.timebase = tb_;
  stamp(seq);
  p.sequences.push_back(seq.id);
  out_.tree.sequences.push_back(std::move(seq));
  ATOMCUT_TRY(add_filters(meta, "sequence_filters", TargetType::kSequence,
                          out_.tree.sequences.front().id, "timeline"));

  ATOMCUT_ASSIGN_OR_RETURN(json unused_stack_meta, read_atomcut_metadata(stack, "tracks"));
  (void)unused_stack_meta;
  ATOMCUT_ASSIGN_OR_RETURN(auto stack_range, read_range(stack, "source_range", "tracks"));
  if (stack_range) warn_unsupported("tracks.source_range", stack, "stack source_range ignored");
  ATOMCUT_ASSIGN_OR_RETURN(double unused_scalar, item_extras(stack, "tracks", false));
  (void)unused_scalar;
  ATOMCUT_ASSIGN_OR_RETURN(const json* tracks, read_array(stack, "children", "tracks"));
  size_t index = 0;
  for (size_t i = 0; i < tracks->size(); ++i) {
    const json& t = (*tracks)[i];
    const std::string path = fmt::format("tracks[{}]", i);
    if (!t.is_object()) return bad(path, "must be an OTIO object");
    if (schema_name(t) != "Track") {
      warn_unsupported(path, t, "only Track.1 children of the top stack are imported");
      continue;
    }
    ATOMCUT_TRY(import_track(t, index++, path));
  }

  Sequence& s = out_.tree.sequences.front();
  for (const auto& c : out_.tree.clips) s.duration_ms = std::max(s.duration_ms, clip_end_ms(c));
  if (Status st = validate(p); !st.ok()) return bad("timeline", st.error().message);
  if (Status st = validate(s); !st.ok()) return bad("timeline", st.error().message);
  return {};
}

}  // namespace

Result<ImportedTimeline> import_otio(const nlohmann::json& otio, const ImportContext& ctx) {
  ImportedTimeline out;
  Importer importer(ctx, out);
  ATOMCUT_TRY(importer.run(otio));
  return out;
}

}  // namespace atomcut

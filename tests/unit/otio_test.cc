// OTIO interchange: import of the OpenTimelineIO project's sample files (timings computed by hand
// from their RationalTimes), export -> import round trips, rounding, malformed input.
#include "engines/timeline/otio/otio_interchange.h"

#include "core/ids.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

namespace atomcut {
namespace {

using nlohmann::json;

const std::string kSampleDir = ATOMCUT_SOURCE_DIR "/../shared/interop/otio/";

std::optional<json> load_sample(const std::string& name) {
  std::ifstream in(kSampleDir + name);
  if (!in) return std::nullopt;
  return json::parse(in);
}

#define LOAD_SAMPLE_OR_SKIP(var, name)                                                \
  auto var##_opt = load_sample(name);                                                 \
  if (!var##_opt) GTEST_SKIP() << "OTIO sample " << kSampleDir << name << " missing"; \
  const json& var = *var##_opt

// Matches by metadata asset_id, then by target_url or clip name, refusing the names in `refuse`.
AssetMatcher matcher(std::set<std::string> refuse = {}) {
  return [refuse](const OtioMediaQuery& q) -> std::optional<MatchedAsset> {
    if (q.asset_id) return MatchedAsset{*q.asset_id, std::nullopt};
    const std::string key = q.target_url.empty() ? q.clip_name : q.target_url;
    if (refuse.count(key)) return std::nullopt;
    return MatchedAsset{"ast_" + std::to_string(std::hash<std::string>{}(key) % 100000),
                        std::nullopt};
  };
}

ImportContext context(AssetMatcher m) {
  return ImportContext{"ten_1", "test", std::string("usr_1"), std::move(m)};
}

std::vector<const Clip*> clips_of(const TimelineTree& t, const Track& tr) {
  std::vector<const Clip*> out;
  for (const auto& c : t.clips) {
    if (c.track_id == tr.id) out.push_back(&c);
  }
  std::sort(out.begin(), out.end(), [](const Clip* a, const Clip* b) {
    return a->start_ms_on_timeline < b->start_ms_on_timeline;
  });
  return out;
}

std::vector<const Track*> tracks_by_order(const TimelineTree& t) {
  std::vector<const Track*> out;
  for (const auto& tr : t.tracks) out.push_back(&tr);
  std::sort(out.begin(), out.end(),
            [](const Track* a, const Track* b) { return a->order < b->order; });
  return out;
}

struct Timing {
  int64_t start, in, out;
  bool operator==(const Timing&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Timing& t) {
  return os << "{start " << t.start << ", in " << t.in << ", out " << t.out << "}";
}
std::vector<Timing> timings(const std::vector<const Clip*>& clips) {
  std::vector<Timing> out;
  for (const Clip* c : clips) out.push_back({c->start_ms_on_timeline, c->in_ms, c->out_ms});
  return out;
}

std::vector<std::string> warning_codes(const ImportedTimeline& t) {
  std::vector<std::string> out;
  for (const auto& w : t.warnings) out.push_back(w["code"].get<std::string>());
  return out;
}

void expect_valid_tree(const TimelineTree& t) {
  EXPECT_TRUE(is_valid_id(t.project.id, "prj")) << t.project.id;
  ASSERT_EQ(t.sequences.size(), 1u);
  EXPECT_EQ(t.project.sequences, std::vector<std::string>{t.sequences[0].id});
  EXPECT_EQ(t.sequences[0].project_id, t.project.id);
  EXPECT_EQ(t.sequences[0].tracks.size(), t.tracks.size());
  EXPECT_EQ(t.project.tenant_id, "ten_1");
  EXPECT_GT(t.project.created_at_ms, 0);
  for (const auto& tr : t.tracks) EXPECT_TRUE(is_valid_id(tr.id, "trk")) << tr.id;
  for (const auto& c : t.clips) {
    EXPECT_TRUE(is_valid_id(c.id, "clp")) << c.id;
    EXPECT_TRUE(validate(c).ok());
    EXPECT_EQ(c.env, "test");
  }
  for (const auto& x : t.transitions) EXPECT_TRUE(is_valid_id(x.id, "trn")) << x.id;
}

// ---------------------------------------------------------------------------------------------
// Samples

TEST(OtioImport, SimpleCut) {
  LOAD_SAMPLE_OR_SKIP(otio, "simple_cut.otio");
  auto r = import_otio(otio, context(matcher({"file:///folder/wind-up.mov"})));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const TimelineTree& t = r->tree;
  expect_valid_tree(t);
  EXPECT_EQ(t.project.title, "Figure 1 - Simple Cut List");
  EXPECT_EQ(t.sequences[0].timebase, (Rational{24, 1}));
  ASSERT_EQ(t.tracks.size(), 1u);
  EXPECT_EQ(t.tracks[0].kind, TrackKind::kVideo);
  // 24 fps: Clip-001 [3,+3] at 0; Clip-002 (6 frames) skipped but keeps its time; Clip-003 [0,+4]
  // at frame 9 (375 ms); Clip-004 has no source_range: its available_range [100,+6] at frame 13
  // (541.67 ms).
  EXPECT_EQ(timings(clips_of(t, t.tracks[0])),
            (std::vector<Timing>{{0, 125, 250}, {375, 0, 167}, {542, 4167, 4417}}));
  EXPECT_EQ(t.sequences[0].duration_ms, 542 + 250);
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_EQ(r->warnings[0]["code"], "unmatched_media");
  EXPECT_EQ(r->warnings[0]["target_url"], "file:///folder/wind-up.mov");
  EXPECT_EQ(r->warnings[0]["clip_name"], "Clip-002");
  EXPECT_EQ(r->warnings[0]["path"], "tracks[0].children[1]");
  EXPECT_NE(r->warnings[0]["message"].get<std::string>().find("skipped"), std::string::npos);
}

TEST(OtioImport, Multitrack) {
  LOAD_SAMPLE_OR_SKIP(otio, "multitrack.otio");
  // MissingReference media: matched by clip name.
  auto r = import_otio(otio, context(matcher({"out-b (loop)-HD.mp4"})));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const TimelineTree& t = r->tree;
  expect_valid_tree(t);
  EXPECT_EQ(t.project.title, "OTIO TEST - multitrack.Exported.01");
  ASSERT_EQ(t.tracks.size(), 3u);
  auto tracks = tracks_by_order(t);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(tracks[i]->order, static_cast<int64_t>(i));
  // Track 0: 720 frames, gap 83, (722 skipped), gap 432, then 720 frames at frame 1957.
  EXPECT_EQ(timings(clips_of(t, *tracks[0])),
            (std::vector<Timing>{{0, 0, 30000}, {81542, 0, 30000}}));
  // Track 1: gap 482, 480 frames.  Track 2: gap 1198, 640 frames.
  EXPECT_EQ(timings(clips_of(t, *tracks[1])), (std::vector<Timing>{{20083, 0, 20000}}));
  EXPECT_EQ(timings(clips_of(t, *tracks[2])), (std::vector<Timing>{{49917, 0, 26667}}));
  EXPECT_EQ(warning_codes(*r), std::vector<std::string>{"unmatched_media"});
  EXPECT_EQ(r->warnings[0]["clip_name"], "out-b (loop)-HD.mp4");
  EXPECT_EQ(r->warnings[0]["target_url"], "");
}

TEST(OtioImport, TransitionTest) {
  LOAD_SAMPLE_OR_SKIP(otio, "transition_test.otio");
  auto r = import_otio(otio, context(matcher()));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const TimelineTree& t = r->tree;
  expect_valid_tree(t);
  ASSERT_EQ(t.tracks.size(), 1u);
  // A [0,+50] at 0; t1 (10+10 frames) pulls B 20 frames back: B at frame 30; C at frame 80.
  auto clips = clips_of(t, t.tracks[0]);
  EXPECT_EQ(timings(clips), (std::vector<Timing>{{0, 0, 2083}, {1250, 0, 2083}, {3333, 0, 2083}}));
  ASSERT_EQ(t.transitions.size(), 1u);
  EXPECT_EQ(t.transitions[0].type, "crossfade");
  EXPECT_EQ(t.transitions[0].duration_ms, 833);
  EXPECT_EQ(t.transitions[0].from_clip_id, clips[0]->id);
  EXPECT_EQ(t.transitions[0].to_clip_id, clips[1]->id);
  EXPECT_EQ(t.transitions[0].sequence_id, t.sequences[0].id);
  EXPECT_TRUE(validate(t.transitions[0]).ok());
  // t0 opens the track, t3 closes it: neither joins two clips.
  ASSERT_EQ(r->warnings.size(), 2u);
  for (const auto& w : r->warnings) {
    EXPECT_EQ(w["code"], "unsupported_item");
    EXPECT_EQ(w["schema"], "Transition.1");
  }
  EXPECT_EQ(r->warnings[0]["path"], "tracks[0].children[0]");
  EXPECT_EQ(r->warnings[1]["path"], "tracks[0].children[5]");
}

TEST(OtioImport, TransitionDroppedWithUnmatchedClip) {
  LOAD_SAMPLE_OR_SKIP(otio, "transition_test.otio");
  auto r = import_otio(otio, context(matcher({"B"})));
  ASSERT_TRUE(r.ok()) << r.error().message;
  // C keeps its place although B was skipped.
  EXPECT_EQ(timings(clips_of(r->tree, r->tree.tracks[0])),
            (std::vector<Timing>{{0, 0, 2083}, {3333, 0, 2083}}));
  EXPECT_TRUE(r->tree.transitions.empty());
  auto codes = warning_codes(*r);
  EXPECT_EQ(std::count(codes.begin(), codes.end(), "unmatched_media"), 1);
  EXPECT_EQ(std::count(codes.begin(), codes.end(), "dropped_transition"), 1);
}

TEST(OtioImport, ClipExample) {
  LOAD_SAMPLE_OR_SKIP(otio, "clip_example.otio");
  auto r = import_otio(otio, context(matcher()));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const TimelineTree& t = r->tree;
  expect_valid_tree(t);
  // Gap A (8 frames), Clip-001 [3,+3] at frame 8; the Dissolve is followed by Gap B.
  EXPECT_EQ(timings(clips_of(t, t.tracks[0])), (std::vector<Timing>{{333, 125, 250}}));
  EXPECT_TRUE(t.transitions.empty());
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_EQ(r->warnings[0]["code"], "unsupported_item");
  EXPECT_EQ(r->warnings[0]["path"], "tracks[0].children[2]");
}

TEST(OtioImport, UnsupportedItemsAreListed) {
  LOAD_SAMPLE_OR_SKIP(sample, "simple_cut.otio");
  json otio = sample;
  json& items = otio["tracks"]["children"][0]["children"];
  items[0]["markers"].push_back({{"OTIO_SCHEMA", "Marker.2"}, {"name", "m"}});
  items[0]["effects"].push_back({{"OTIO_SCHEMA", "Effect.1"}, {"effect_name", "Blur"}});
  // A nested stack of 10 frames and an unknown item of 2 frames.
  json nested = {{"OTIO_SCHEMA", "Stack.1"},
                 {"children", json::array({{{"OTIO_SCHEMA", "Track.1"},
                                            {"kind", "Video"},
                                            {"children", json::array({items[1]})}}})}};
  nested["children"][0]["children"][0]["source_range"]["duration"]["value"] = 10;
  items.insert(items.begin() + 1, nested);
  json unknown = {{"OTIO_SCHEMA", "Generator.1"}, {"source_range", items[0]["source_range"]}};
  unknown["source_range"]["duration"]["value"] = 2;
  items.insert(items.begin() + 2, unknown);
  items[3]["effects"].push_back({{"OTIO_SCHEMA", "LinearTimeWarp.1"}, {"time_scalar", 2.0}});

  auto r = import_otio(otio, context(matcher({"file:///folder/wind-up.mov"})));
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::map<std::string, std::string> by_path;
  for (const auto& w : r->warnings) by_path[w["path"]] = w["code"];
  EXPECT_EQ(by_path["tracks[0].children[0].markers[0]"], "unsupported_item");
  EXPECT_EQ(by_path["tracks[0].children[0].effects[0]"], "unsupported_item");
  EXPECT_EQ(by_path["tracks[0].children[1]"], "unsupported_item");
  EXPECT_EQ(by_path["tracks[0].children[2]"], "unsupported_item");
  EXPECT_EQ(by_path["tracks[0].children[3]"], "unmatched_media");
  EXPECT_EQ(r->warnings.size(), 5u);
  // Clip-001 (3 frames), stack (10), generator (2), Clip-002 (6 frames at speed 2, skipped):
  // Clip-003 starts at frame 21.
  auto clips = clips_of(r->tree, r->tree.tracks[0]);
  ASSERT_EQ(clips.size(), 3u);
  EXPECT_EQ(clips[1]->start_ms_on_timeline, 875);
}

TEST(OtioImport, SpeedFromLinearTimeWarp) {
  LOAD_SAMPLE_OR_SKIP(sample, "simple_cut.otio");
  json otio = sample;
  json& clip = otio["tracks"]["children"][0]["children"][1];  // [2,+6] frames
  clip["effects"].push_back({{"OTIO_SCHEMA", "LinearTimeWarp.1"}, {"time_scalar", 0.5}});
  auto r = import_otio(otio, context(matcher()));
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto clips = clips_of(r->tree, r->tree.tracks[0]);
  ASSERT_EQ(clips.size(), 4u);
  // 6 frames on the timeline at half speed consume 3 frames of media.
  EXPECT_EQ(clips[1]->speed, 0.5);
  EXPECT_EQ(clips[1]->in_ms, 83);
  EXPECT_EQ(clips[1]->out_ms, 208);
  EXPECT_EQ(clips[2]->start_ms_on_timeline, 375);
}

// ---------------------------------------------------------------------------------------------
// Round trip of a hand-built tree

template <typename T>
void stamp(T& r) {
  r.tenant_id = "ten_1";
  r.env = "test";
  r.user_id = "usr_1";
  r.created_at_ms = 1'700'000'000'000;
  r.updated_at_ms = 1'700'000'000'000;
}

// `u` is a whole number of ms that is also a whole number of frames (1001 at 30000/1001, 1000
// at 25).
TimelineTree build_tree(Rational timebase, int64_t u) {
  TimelineTree t;
  stamp(t.project);
  t.project.id = new_id("prj");
  t.project.title = "Round trip";
  t.project.description = "hand built";
  t.project.tags = {"otio", "test"};
  t.project.render_profile = "preview_720p_fast";
  t.project.meta = {{"client", "acme"}};
  Sequence s;
  stamp(s);
  s.id = new_id("seq");
  s.project_id = t.project.id;
  s.name = "Main";
  s.timebase = timebase;
  s.duration_ms = 12 * u;
  s.meta = {{"note", 1}};
  t.project.sequences = {s.id};

  auto track = [&](TrackKind kind, int64_t order) {
    Track tr;
    stamp(tr);
    tr.id = new_id("trk");
    tr.sequence_id = s.id;
    tr.kind = kind;
    tr.order = order;
    s.tracks.push_back(tr.id);
    t.tracks.push_back(tr);
    return tr.id;
  };
  const std::string v1 = track(TrackKind::kVideo, 0);
  const std::string v2 = track(TrackKind::kVideo, 1);
  const std::string a1 = track(TrackKind::kAudio, 2);
  t.tracks[1].hidden = true;
  t.tracks[1].meta = {{"label", "overlay"}};
  t.tracks[2].muted = true;
  t.tracks[2].audio_role = AudioRole::kMusic;

  auto clip = [&](const std::string& track_id, const std::string& asset, int64_t start, int64_t in,
                  int64_t out) -> Clip& {
    Clip c;
    stamp(c);
    c.id = new_id("clp");
    c.track_id = track_id;
    c.asset_id = asset;
    c.start_ms_on_timeline = start;
    c.in_ms = in;
    c.out_ms = out;
    t.clips.push_back(c);
    return t.clips.back();
  };
  clip(v1, "ast_a", 0, 0, 4 * u).artifact_id = "art_seg1";
  clip(v1, "ast_b", 3 * u, u, 5 * u);  // overlaps the first by u: crossfade
  {
    Clip& c = clip(v1, "ast_c", 10 * u, 0, 4 * u);  // after a gap, speed 2: ends at 12u
    c.speed = 2.0;
    c.slowmo_quality = SlowmoQuality::kMedium;
  }
  {
    Clip& c = clip(v2, "ast_d", u, 2 * u, 6 * u);
    c.opacity = 0.5;
    c.scale_mode = ScaleMode::kFill;
    c.position = {12.5, -40};
    c.crop = {0.1, 0.05, 0.1, 0};
    c.blend_mode = BlendMode::kScreen;
    c.mask_artifact_id = "art_mask";
    c.stabilise = Stabilise{20, 5.0, StabiliseCrop::kBlack, true};
    ParameterAutomation a;
    a.property = AutomationProperty::kOpacity;
    a.keyframes = {{0, 0.0, Interpolation::kLinear}, {500, 1.0, Interpolation::kEaseInOut}};
    c.automation.push_back(a);
    c.meta = {{"k", "v"}};
  }
  {
    Clip& c = clip(v2, "ast_e", 4 * u, 0, 3 * u);  // overlaps d by u: wipe of 500 ms
    c.speed = 0.5;
    c.optical_flow = true;
    c.in_ms = 0;
    c.out_ms = 2 * u;  // 4u on the timeline at half speed
  }
  {
    Clip& c = clip(a1, "ast_f", 0, 0, 8 * u);
    c.volume_db = -6.5;
    c.fade_in_ms = 200;
    c.fade_out_ms = 300;
  }
  auto transition = [&](const std::string& type, int64_t duration, size_t from, size_t to) {
    Transition x;
    stamp(x);
    x.id = new_id("trn");
    x.sequence_id = s.id;
    x.type = type;
    x.duration_ms = duration;
    x.from_clip_id = t.clips[from].id;
    x.to_clip_id = t.clips[to].id;
    t.transitions.push_back(x);
  };
  transition("crossfade", u, 0, 1);
  transition("wipe_left", 500, 3, 4);
  t.transitions.back().meta = {{"softness", 0.2}};

  auto stack = [&](TargetType type, const std::string& id, std::vector<Filter> filters) {
    FilterStack f;
    stamp(f);
    f.id = new_id("fst");
    f.target_type = type;
    f.target_id = id;
    f.filters = std::move(filters);
    t.filter_stacks.push_back(f);
  };
  stack(TargetType::kClip, t.clips[3].id,
        {{"exposure", {{"exposure", 0.5}}, true}, {"gamma", {{"gamma", 1.2}}, false}});
  stack(TargetType::kTrack, v2, {{"contrast", {{"contrast", 1.5}}, true}});
  stack(TargetType::kSequence, s.id, {{"saturation", {{"saturation", 0.8}}, true}});
  t.sequences.push_back(s);
  return t;
}

AssetLookup lookup() {
  return [](std::string_view id) -> std::optional<OtioAssetInfo> {
    if (id == "ast_f") return std::nullopt;  // MissingReference
    return OtioAssetInfo{"file:///media/" + std::string(id) + ".mov", 20'000, Rational{25, 1},
                         std::string(id)};
  };
}

json strip(json j, std::initializer_list<const char*> keys) {
  for (const char* k : {"id", "created_at", "updated_at"}) j.erase(k);
  for (const char* k : keys) j.erase(k);
  return j;
}

// Every field except ids, links by id and timestamps; records matched by track order and time.
void expect_same_tree(const TimelineTree& a, const TimelineTree& b) {
  EXPECT_EQ(strip(to_json(a.project), {"sequences"}), strip(to_json(b.project), {"sequences"}));
  ASSERT_EQ(a.sequences.size(), 1u);
  ASSERT_EQ(b.sequences.size(), 1u);
  EXPECT_EQ(strip(to_json(a.sequences[0]), {"project_id", "tracks"}),
            strip(to_json(b.sequences[0]), {"project_id", "tracks"}));
  auto ta = tracks_by_order(a);
  auto tb = tracks_by_order(b);
  ASSERT_EQ(ta.size(), tb.size());
  std::map<std::string, std::string> clip_map;  // a id -> b id
  std::map<std::string, std::string> target_map = {{a.sequences[0].id, b.sequences[0].id}};
  for (size_t i = 0; i < ta.size(); ++i) {
    EXPECT_EQ(strip(to_json(*ta[i]), {"sequence_id"}), strip(to_json(*tb[i]), {"sequence_id"}));
    target_map[ta[i]->id] = tb[i]->id;
    auto ca = clips_of(a, *ta[i]);
    auto cb = clips_of(b, *tb[i]);
    ASSERT_EQ(ca.size(), cb.size()) << "track " << i;
    for (size_t k = 0; k < ca.size(); ++k) {
      EXPECT_EQ(strip(to_json(*ca[k]), {"track_id"}), strip(to_json(*cb[k]), {"track_id"}))
          << "track " << i << " clip " << k;
      clip_map[ca[k]->id] = cb[k]->id;
      target_map[ca[k]->id] = cb[k]->id;
    }
  }
  ASSERT_EQ(a.transitions.size(), b.transitions.size());
  for (const auto& x : a.transitions) {
    auto it = std::find_if(b.transitions.begin(), b.transitions.end(), [&](const Transition& y) {
      return y.from_clip_id == clip_map[x.from_clip_id];
    });
    ASSERT_NE(it, b.transitions.end()) << x.id;
    EXPECT_EQ(it->to_clip_id, clip_map[x.to_clip_id]);
    const auto keys = {"sequence_id", "from_clip_id", "to_clip_id"};
    EXPECT_EQ(strip(to_json(x), keys), strip(to_json(*it), keys));
  }
  ASSERT_EQ(a.filter_stacks.size(), b.filter_stacks.size());
  for (const auto& f : a.filter_stacks) {
    auto it =
        std::find_if(b.filter_stacks.begin(), b.filter_stacks.end(),
                     [&](const FilterStack& g) { return g.target_id == target_map[f.target_id]; });
    ASSERT_NE(it, b.filter_stacks.end()) << f.target_id;
    EXPECT_EQ(strip(to_json(f), {"target_id"}), strip(to_json(*it), {"target_id"}));
  }
}

class OtioRoundTrip : public ::testing::TestWithParam<std::pair<Rational, int64_t>> {};

TEST_P(OtioRoundTrip, ExportThenImportGivesTheSameTimeline) {
  const auto [timebase, u] = GetParam();
  const TimelineTree original = build_tree(timebase, u);
  auto exported = export_otio(original, original.sequences[0].id, lookup());
  ASSERT_TRUE(exported.ok()) << exported.error().message;
  const json& otio = *exported;

  // The OTIO shape.
  EXPECT_EQ(otio["OTIO_SCHEMA"], "Timeline.1");
  const json& tracks = otio["tracks"]["children"];
  ASSERT_EQ(tracks.size(), 3u);
  EXPECT_EQ(tracks[0]["kind"], "Video");
  EXPECT_EQ(tracks[1]["enabled"], false);
  EXPECT_EQ(tracks[2]["kind"], "Audio");
  const json& v1 = tracks[0]["children"];
  ASSERT_EQ(v1.size(), 5u);  // clip, transition, clip, gap, clip
  EXPECT_EQ(v1[0]["OTIO_SCHEMA"], "Clip.1");
  EXPECT_EQ(v1[1]["OTIO_SCHEMA"], "Transition.1");
  EXPECT_EQ(v1[1]["transition_type"], "SMPTE_Dissolve");
  EXPECT_EQ(v1[3]["OTIO_SCHEMA"], "Gap.1");
  const double rate = timebase.to_double();
  const double frames_per_u = u * rate / 1000.0;
  EXPECT_DOUBLE_EQ(v1[0]["source_range"]["duration"]["rate"].get<double>(), rate);
  EXPECT_NEAR(v1[0]["source_range"]["duration"]["value"].get<double>(), 3 * frames_per_u, 1e-9);
  EXPECT_EQ(v1[1]["in_offset"]["value"], 0.0);
  EXPECT_NEAR(v1[1]["out_offset"]["value"].get<double>(), frames_per_u, 1e-9);
  EXPECT_NEAR(v1[3]["source_range"]["duration"]["value"].get<double>(), 3 * frames_per_u, 1e-9);
  EXPECT_EQ(v1[4]["effects"][0]["OTIO_SCHEMA"], "LinearTimeWarp.1");
  EXPECT_EQ(v1[4]["effects"][0]["time_scalar"], 2.0);
  EXPECT_NEAR(v1[4]["source_range"]["duration"]["value"].get<double>(), 2 * frames_per_u, 1e-9);
  EXPECT_EQ(v1[0]["media_reference"]["OTIO_SCHEMA"], "ExternalReference.1");
  EXPECT_EQ(v1[0]["media_reference"]["target_url"], "file:///media/ast_a.mov");
  EXPECT_EQ(v1[0]["metadata"]["atomcut"]["untrimmed_out_ms"], 4 * u);
  EXPECT_EQ(tracks[1]["children"][2]["transition_type"], "Custom_Transition");
  EXPECT_EQ(tracks[1]["children"][2]["metadata"]["atomcut"]["type"], "wipe_left");
  EXPECT_EQ(tracks[2]["children"][0]["media_reference"]["OTIO_SCHEMA"], "MissingReference.1");

  // Back again, resolving assets by the metadata asset_id.
  auto imported = import_otio(otio, context(matcher()));
  ASSERT_TRUE(imported.ok()) << imported.error().message;
  EXPECT_TRUE(imported->warnings.empty()) << json(imported->warnings).dump();
  expect_valid_tree(imported->tree);
  expect_same_tree(original, imported->tree);

  // And once more: export -> import is stable.
  const TimelineTree& once = imported->tree;
  auto again = export_otio(once, once.sequences[0].id, lookup());
  ASSERT_TRUE(again.ok()) << again.error().message;
  auto twice = import_otio(*again, context(matcher()));
  ASSERT_TRUE(twice.ok()) << twice.error().message;
  expect_same_tree(once, twice->tree);
}

INSTANTIATE_TEST_SUITE_P(Timebases, OtioRoundTrip,
                         ::testing::Values(std::make_pair(Rational{30000, 1001}, int64_t{1001}),
                                           std::make_pair(Rational{25, 1}, int64_t{1000})));

TEST(OtioExport, RoundsToTheNearestFrame) {
  TimelineTree t = build_tree(Rational{25, 1}, 1000);
  // Keep one clip, not frame aligned: start 1010 ms (frame 25.25), in 15 (0.375), timeline end
  // 2025 ms (frame 50.625).
  t.transitions.clear();
  t.filter_stacks.clear();
  Clip c = t.clips[0];
  c.start_ms_on_timeline = 1010;
  c.in_ms = 15;
  c.out_ms = 1030;
  t.clips = {c};
  auto otio = export_otio(t, t.sequences[0].id, lookup());
  ASSERT_TRUE(otio.ok()) << otio.error().message;
  const json& items = (*otio)["tracks"]["children"][0]["children"];
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0]["source_range"]["duration"]["value"], 25.0);
  EXPECT_EQ(items[1]["source_range"]["start_time"]["value"], 0.0);
  EXPECT_EQ(items[1]["source_range"]["duration"]["value"], 26.0);  // frames 25..51
  auto back = import_otio(*otio, context(matcher()));
  ASSERT_TRUE(back.ok()) << back.error().message;
  ASSERT_EQ(back->tree.clips.size(), 1u);
  EXPECT_EQ((Timing{back->tree.clips[0].start_ms_on_timeline, back->tree.clips[0].in_ms,
                    back->tree.clips[0].out_ms}),
            (Timing{1000, 0, 1040}));
}

TEST(OtioExport, RefusesWhatOtioCannotHold) {
  TimelineTree t = build_tree(Rational{25, 1}, 1000);
  EXPECT_EQ(export_otio(t, "seq_missing", lookup()).error().code, ErrorCode::kNotFound);
  TimelineTree overlap = t;
  overlap.transitions.erase(overlap.transitions.begin());  // clips 0 and 1 still overlap
  auto r = export_otio(overlap, overlap.sequences[0].id, lookup());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message.find("overlap"), std::string::npos) << r.error().message;
}

// ---------------------------------------------------------------------------------------------
// Sample -> import -> export -> import is stable

class OtioSampleStability : public ::testing::TestWithParam<const char*> {};

TEST_P(OtioSampleStability, ReimportOfTheExportIsTheSame) {
  LOAD_SAMPLE_OR_SKIP(otio, GetParam());
  auto first = import_otio(otio, context(matcher()));
  ASSERT_TRUE(first.ok()) << first.error().message;
  const TimelineTree& t = first->tree;
  auto exported = export_otio(t, t.sequences[0].id, [](std::string_view id) {
    return std::optional<OtioAssetInfo>(
        OtioAssetInfo{"file:///x/" + std::string(id), std::nullopt, std::nullopt, ""});
  });
  ASSERT_TRUE(exported.ok()) << exported.error().message;
  auto second = import_otio(*exported, context(matcher()));
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_TRUE(second->warnings.empty()) << json(second->warnings).dump();
  expect_same_tree(t, second->tree);
}

INSTANTIATE_TEST_SUITE_P(Samples, OtioSampleStability,
                         ::testing::Values("simple_cut.otio", "multitrack.otio",
                                           "transition_test.otio", "clip_example.otio"));

// ---------------------------------------------------------------------------------------------
// Malformed input

Error import_error(const json& j) {
  auto r = import_otio(j, context(matcher()));
  EXPECT_FALSE(r.ok());
  return r.ok() ? Error{} : r.error();
}

TEST(OtioImport, MalformedInput) {
  EXPECT_EQ(import_error(json::array()).code, ErrorCode::kInvalidArgument);
  Error e = import_error({{"OTIO_SCHEMA", "Clip.1"}});
  EXPECT_NE(e.message.find("Timeline.1"), std::string::npos) << e.message;
  e = import_error({{"OTIO_SCHEMA", "Timeline.1"}, {"tracks", 3}});
  EXPECT_EQ(e.details["path"], "tracks");

  LOAD_SAMPLE_OR_SKIP(sample, "multitrack.otio");
  json neg = sample;
  neg["tracks"]["children"][0]["children"][1]["source_range"]["duration"]["value"] = -5;
  e = import_error(neg);
  EXPECT_EQ(e.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(e.details["path"], "tracks[0].children[1].source_range.duration");
  EXPECT_NE(e.message.find("negative"), std::string::npos) << e.message;

  json bad_rate = sample;
  bad_rate["tracks"]["children"][1]["children"][1]["source_range"]["start_time"]["rate"] = "24";
  e = import_error(bad_rate);
  EXPECT_EQ(e.details["path"], "tracks[1].children[1].source_range.start_time.rate");

  json bad_children = sample;
  bad_children["tracks"]["children"][2]["children"] = "none";
  e = import_error(bad_children);
  EXPECT_EQ(e.details["path"], "tracks[2].children");

  json bad_meta = sample;
  bad_meta["tracks"]["children"][0]["children"][0]["metadata"]["atomcut"] = {{"opacity", 7}};
  e = import_error(bad_meta);
  EXPECT_EQ(e.details["path"], "tracks[0].children[0]");
  EXPECT_NE(e.message.find("opacity"), std::string::npos) << e.message;
}

}  // namespace
}  // namespace atomcut

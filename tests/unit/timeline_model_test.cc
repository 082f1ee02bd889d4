// Unit tests for the Timeline atom's value types (src/core/model): JSON round trips, strict
// parsing, field validation, timebase parsing, and JSON Merge Patch (RFC 7396).
#include "core/json_merge_patch.h"
#include "core/model/clip.h"
#include "core/model/filter_preset.h"
#include "core/model/filter_stack.h"
#include "core/model/motion_preset.h"
#include "core/model/parameter_automation.h"
#include "core/model/sequence.h"
#include "core/model/timeline_record.h"
#include "core/model/track.h"
#include "core/model/transition.h"
#include "core/model/video_project.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

namespace atomcut {
namespace {

using nlohmann::json;

// The error is invalid_argument, names `field` in details and in the message.
void expect_field_error(const Error& e, const std::string& field) {
  EXPECT_EQ(e.code, ErrorCode::kInvalidArgument) << e.message;
  EXPECT_EQ(e.details.value("field", std::string("<none>")), field) << e.message;
  EXPECT_NE(e.message.find(field), std::string::npos) << e.message;
}

void expect_invalid(const Status& s, const std::string& field) {
  ASSERT_FALSE(s.ok()) << "expected a failure on " << field;
  expect_field_error(s.error(), field);
}

template <typename T>
void expect_invalid(const Result<T>& r, const std::string& field) {
  ASSERT_FALSE(r.ok()) << "expected a failure on " << field;
  expect_field_error(r.error(), field);
}

void expect_ok(const Status& s) { EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message); }

constexpr int64_t kT0 = 1767225600123;  // 2026-01-01T00:00:00.123Z

// ---------------------------------------------------------------------------------------------
// Shared record fields

TEST(TimelineRecordTest, Rfc3339RoundTrip) {
  EXPECT_EQ(parse_rfc3339_ms("2026-01-01T00:00:00.123Z"), kT0);
  EXPECT_EQ(parse_rfc3339_ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339_ms("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_EQ(parse_rfc3339_ms("2000-02-29T12:34:56.7Z"), 951827696700);
  EXPECT_FALSE(parse_rfc3339_ms("2026-01-01"));
  EXPECT_FALSE(parse_rfc3339_ms("2026-13-01T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339_ms("2026-01-01T00:00:00"));
  EXPECT_FALSE(parse_rfc3339_ms("2026-01-01T00:00:00.Z"));
  EXPECT_FALSE(parse_rfc3339_ms("2026-01-01T00:00:00Zjunk"));
}

TEST(TimelineRecordTest, BadTimestampNamesField) {
  expect_invalid(track_from_json({{"kind", "video"}, {"created_at", "yesterday"}}), "created_at");
  expect_invalid(track_from_json({{"kind", "video"}, {"updated_at", 5}}), "updated_at");
}

TEST(TimelineRecordTest, NonObjectIsRejected) {
  auto r = clip_from_json(json::array());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(video_project_from_json("x").ok());
}

// ---------------------------------------------------------------------------------------------
// Clip

Clip valid_clip() {
  Clip c;
  c.id = "clp_1";
  c.tenant_id = "t_test";
  c.env = "dev";
  c.user_id = "u_1";
  c.created_at_ms = kT0;
  c.updated_at_ms = kT0 + 5;
  c.track_id = "trk_1";
  c.asset_id = "ast_1";
  c.in_ms = 1000;
  c.out_ms = 5000;
  c.start_ms_on_timeline = 250;
  return c;
}

TEST(ClipTest, ValidDefaults) { expect_ok(validate(valid_clip())); }

TEST(ClipTest, JsonFieldNames) {
  Clip c = valid_clip();
  json j = to_json(c);
  for (const char* f : {"id",
                        "track_id",
                        "asset_id",
                        "artifact_id",
                        "in_ms",
                        "out_ms",
                        "start_ms_on_timeline",
                        "speed",
                        "volume_db",
                        "opacity",
                        "meta",
                        "scale_mode",
                        "position",
                        "crop",
                        "mask_artifact_id",
                        "blend_mode",
                        "fade_in_ms",
                        "fade_out_ms",
                        "slowmo_quality",
                        "optical_flow",
                        "stabilise",
                        "automation",
                        "tenant_id",
                        "env",
                        "user_id",
                        "created_at",
                        "updated_at"}) {
    EXPECT_TRUE(j.contains(f)) << f;
  }
  EXPECT_EQ(j["created_at"], "2026-01-01T00:00:00.123Z");
  EXPECT_EQ(j["scale_mode"], "fit");
  EXPECT_EQ(j["blend_mode"], "normal");
  EXPECT_TRUE(j["slowmo_quality"].is_null());
  EXPECT_TRUE(j["artifact_id"].is_null());
  EXPECT_EQ(j["position"], json({{"x", 0.0}, {"y", 0.0}}));
}

TEST(ClipTest, RoundTripFull) {
  Clip c = valid_clip();
  c.artifact_id = "art_seg";
  c.speed = 2.0;
  c.volume_db = -6.5;
  c.opacity = 0.75;
  c.meta = {{"label", "A-roll"}};
  c.scale_mode = ScaleMode::kFill;
  c.position = {12.5, -40};
  c.crop = {0.1, 0.05, 0.2, 0.0};
  c.mask_artifact_id = "art_mask";
  c.blend_mode = BlendMode::kScreen;
  c.fade_in_ms = 300;
  c.fade_out_ms = 500;
  c.slowmo_quality = SlowmoQuality::kMedium;
  c.optical_flow = true;
  c.stabilise = Stabilise{20, 5.0, StabiliseCrop::kBlack, true};
  c.automation.push_back({AutomationProperty::kOpacity,
                          TargetType::kClip,
                          "",
                          {{0, 0.0, Interpolation::kLinear}, {500, 1.0, Interpolation::kHold}}});
  expect_ok(validate(c));
  json j = to_json(c);
  auto back = clip_from_json(j);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(to_json(*back), j);
  EXPECT_EQ(back->user_id, "u_1");
  EXPECT_EQ(back->created_at_ms, kT0);
  EXPECT_EQ(back->updated_at_ms, kT0 + 5);
  ASSERT_TRUE(back->stabilise);
  EXPECT_EQ(back->stabilise->crop, StabiliseCrop::kBlack);
  EXPECT_EQ(back->slowmo_quality, SlowmoQuality::kMedium);
}

TEST(ClipTest, MinimalJsonTakesDefaults) {
  auto c = clip_from_json(
      {{"track_id", "trk_1"}, {"asset_id", "ast_1"}, {"in_ms", 0}, {"out_ms", 1000}});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->speed, 1.0);
  EXPECT_EQ(c->opacity, 1.0);
  EXPECT_EQ(c->volume_db, 0.0);
  EXPECT_EQ(c->blend_mode, BlendMode::kNormal);
  EXPECT_EQ(c->scale_mode, ScaleMode::kFit);
  EXPECT_FALSE(c->stabilise);
  EXPECT_FALSE(c->slowmo_quality);
  expect_ok(validate(*c));
}

TEST(ClipTest, UnknownFieldsIgnored) {
  json j = to_json(valid_clip());
  j["something_new"] = {1, 2};
  EXPECT_TRUE(clip_from_json(j).ok());
}

TEST(ClipTest, WrongTypesNameTheField) {
  const std::pair<const char*, json> cases[] = {
      {"in_ms", "10"},
      {"out_ms", 10.5},
      {"start_ms_on_timeline", true},
      {"speed", "fast"},
      {"volume_db", json()},  // null is fine: skipped below
      {"opacity", json::array()},
      {"meta", "x"},
      {"scale_mode", "zoom"},
      {"blend_mode", "darken"},
      {"slowmo_quality", "ultra"},
      {"optical_flow", 1},
      {"fade_in_ms", "1"},
      {"track_id", 7},
      {"artifact_id", 7},
      {"mask_artifact_id", false},
      {"automation", json::object()},
      {"user_id", 3},
  };
  for (const auto& [field, value] : cases) {
    if (value.is_null()) continue;
    json j = to_json(valid_clip());
    j[field] = value;
    SCOPED_TRACE(field);
    expect_invalid(clip_from_json(j), field);
  }
}

TEST(ClipTest, NestedWrongTypesNameThePath) {
  json j = to_json(valid_clip());
  j["position"] = {{"x", "left"}, {"y", 0}};
  expect_invalid(clip_from_json(j), "position.x");
  j = to_json(valid_clip());
  j["position"] = 5;
  expect_invalid(clip_from_json(j), "position");
  j = to_json(valid_clip());
  j["crop"] = {{"bottom", "a"}};
  expect_invalid(clip_from_json(j), "crop.bottom");
  j = to_json(valid_clip());
  j["stabilise"] = {{"smoothing", 1.5}};
  expect_invalid(clip_from_json(j), "stabilise.smoothing");
  j["stabilise"] = {{"crop", "fill"}};
  expect_invalid(clip_from_json(j), "stabilise.crop");
  j["stabilise"] = {{"tripod", "yes"}};
  expect_invalid(clip_from_json(j), "stabilise.tripod");
  j = to_json(valid_clip());
  j["automation"] = {{{"property", "opacity"}, {"keyframes", {{{"time_ms", 0}, {"value", "x"}}}}}};
  expect_invalid(clip_from_json(j), "automation[0].keyframes[0].value");
  j["automation"] = {{{"property", "rotation"}}};
  expect_invalid(clip_from_json(j), "automation[0].property");
  j["automation"] = {5};
  expect_invalid(clip_from_json(j), "automation[0]");
}

TEST(ClipTest, WholeFloatMillisecondsAccepted) {
  json j = to_json(valid_clip());
  j["out_ms"] = 6000.0;
  auto c = clip_from_json(j);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->out_ms, 6000);
}

struct ClipCase {
  const char* name;
  std::function<void(Clip&)> edit;
  const char* field;  // nullptr: must be accepted
};

TEST(ClipTest, ValidationRules) {
  const ClipCase cases[] = {
      {"in_ms zero", [](Clip& c) { c.in_ms = 0; }, nullptr},
      {"in_ms negative", [](Clip& c) { c.in_ms = -1; }, "in_ms"},
      {"out equals in", [](Clip& c) { c.out_ms = c.in_ms; }, "out_ms"},
      {"out before in", [](Clip& c) { c.out_ms = 500; }, "out_ms"},
      {"start zero", [](Clip& c) { c.start_ms_on_timeline = 0; }, nullptr},
      {"start negative", [](Clip& c) { c.start_ms_on_timeline = -5; }, "start_ms_on_timeline"},
      {"speed max", [](Clip& c) { c.speed = 100; }, nullptr},
      {"speed tiny", [](Clip& c) { c.speed = 0.01; }, nullptr},
      {"speed zero", [](Clip& c) { c.speed = 0; }, "speed"},
      {"speed negative", [](Clip& c) { c.speed = -1; }, "speed"},
      {"speed too high", [](Clip& c) { c.speed = 100.5; }, "speed"},
      {"opacity 0", [](Clip& c) { c.opacity = 0; }, nullptr},
      {"opacity 1", [](Clip& c) { c.opacity = 1; }, nullptr},
      {"opacity above", [](Clip& c) { c.opacity = 1.01; }, "opacity"},
      {"opacity below", [](Clip& c) { c.opacity = -0.1; }, "opacity"},
      {"volume min", [](Clip& c) { c.volume_db = -100; }, nullptr},
      {"volume max", [](Clip& c) { c.volume_db = 24; }, nullptr},
      {"volume low", [](Clip& c) { c.volume_db = -101; }, "volume_db"},
      {"volume high", [](Clip& c) { c.volume_db = 24.5; }, "volume_db"},
      {"fade in negative", [](Clip& c) { c.fade_in_ms = -1; }, "fade_in_ms"},
      {"fade out negative", [](Clip& c) { c.fade_out_ms = -1; }, "fade_out_ms"},
      {"fades fill clip", [](Clip& c) { c.fade_in_ms = c.fade_out_ms = 2000; }, nullptr},
      {"fades exceed clip",
       [](Clip& c) {
         c.fade_in_ms = 2000;
         c.fade_out_ms = 2001;
       },
       "fade_out_ms"},
      {"fades vs speed ok",  // 4000 ms at 2x = 2000 ms on the timeline
       [](Clip& c) {
         c.speed = 2;
         c.fade_in_ms = c.fade_out_ms = 1000;
       },
       nullptr},
      {"fades vs speed too long",
       [](Clip& c) {
         c.speed = 2;
         c.fade_in_ms = 1500;
         c.fade_out_ms = 600;
       },
       "fade_out_ms"},
      {"crop ok",
       [](Clip& c) {
         c.crop = {0.25, 0.1, 0.7, 0.8};
       },
       nullptr},
      {"crop left 1", [](Clip& c) { c.crop.left = 1.0; }, "crop.left"},
      {"crop top negative", [](Clip& c) { c.crop.top = -0.1; }, "crop.top"},
      {"crop right nan", [](Clip& c) { c.crop.right = std::nan(""); }, "crop.right"},
      {"crop bottom", [](Clip& c) { c.crop.bottom = 1.5; }, "crop.bottom"},
      {"crop left+right",
       [](Clip& c) {
         c.crop = {0.5, 0, 0.5, 0};
       },
       "crop.right"},
      {"crop top+bottom",
       [](Clip& c) {
         c.crop = {0, 0.6, 0, 0.4};
       },
       "crop.bottom"},
      {"position inf", [](Clip& c) { c.position.x = INFINITY; }, "position.x"},
      {"position nan", [](Clip& c) { c.position.y = std::nan(""); }, "position.y"},
      {"position far",
       [](Clip& c) {
         c.position = {-5000, 5000};
       },
       nullptr},
      {"track id empty", [](Clip& c) { c.track_id.clear(); }, "track_id"},
      {"asset id empty", [](Clip& c) { c.asset_id.clear(); }, "asset_id"},
      {"artifact id empty", [](Clip& c) { c.artifact_id = ""; }, "artifact_id"},
      {"mask id empty", [](Clip& c) { c.mask_artifact_id = ""; }, "mask_artifact_id"},
      {"id too long", [](Clip& c) { c.id = std::string(200, 'x'); }, "id"},
      {"stabilise ok", [](Clip& c) { c.stabilise = Stabilise{}; }, nullptr},
      {"stabilise smoothing",
       [](Clip& c) {
         c.stabilise = Stabilise{-1, 0, StabiliseCrop::kKeep, false};
       },
       "stabilise.smoothing"},
      {"stabilise smoothing high",
       [](Clip& c) {
         c.stabilise = Stabilise{501, 0, StabiliseCrop::kKeep, false};
       },
       "stabilise.smoothing"},
      {"stabilise zoom",
       [](Clip& c) {
         c.stabilise = Stabilise{10, 150, StabiliseCrop::kKeep, false};
       },
       "stabilise.zoom"},
      {"automation bad keyframe",
       [](Clip& c) {
         c.automation.push_back({AutomationProperty::kOpacity,
                                 TargetType::kClip,
                                 "",
                                 {{0, 2.0, Interpolation::kLinear}}});
       },
       "automation[0].keyframes[0].value"},
      {"automation other target type",
       [](Clip& c) {
         c.automation.push_back({AutomationProperty::kScale, TargetType::kTrack, "", {}});
       },
       "automation[0].target_type"},
      {"automation other clip",
       [](Clip& c) {
         c.automation.push_back({AutomationProperty::kScale, TargetType::kClip, "clp_other", {}});
       },
       "automation[0].target_id"},
      {"automation own clip",
       [](Clip& c) {
         c.automation.push_back({AutomationProperty::kScale, TargetType::kClip, "clp_1", {}});
       },
       nullptr},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    Clip c = valid_clip();
    tc.edit(c);
    if (tc.field) {
      expect_invalid(validate(c), tc.field);
    } else {
      expect_ok(validate(c));
    }
  }
}

TEST(ClipTest, MessageSaysWhatIsRight) {
  Clip c = valid_clip();
  c.in_ms = 1500;
  c.out_ms = 1200;
  Status s = validate(c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "clip.out_ms (1200) must be greater than in_ms (1500)");
}

TEST(ClipTest, TimelineDuration) {
  Clip c = valid_clip();
  EXPECT_DOUBLE_EQ(clip_timeline_duration_ms(c), 4000);
  c.speed = 0.5;
  EXPECT_DOUBLE_EQ(clip_timeline_duration_ms(c), 8000);
}

// ---------------------------------------------------------------------------------------------
// ParameterAutomation

ParameterAutomation automation(AutomationProperty p, std::vector<Keyframe> k) {
  return {p, TargetType::kClip, "clp_1", std::move(k)};
}

TEST(ParameterAutomationTest, RoundTrip) {
  auto a = automation(AutomationProperty::kVolumeDb, {{0, -20, Interpolation::kEaseInOut},
                                                      {250, 0, Interpolation::kHold},
                                                      {900, 6, Interpolation::kLinear}});
  expect_ok(validate(a));
  json j = to_json(a);
  EXPECT_EQ(j["property"], "volume_db");
  EXPECT_EQ(j["target_type"], "clip");
  EXPECT_EQ(j["keyframes"][0]["interpolation"], "ease_in_out");
  auto back = parameter_automation_from_json(j);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(to_json(*back), j);
}

TEST(ParameterAutomationTest, ParseDefaultsAndErrors) {
  auto a = parameter_automation_from_json(
      {{"property", "position_x"}, {"keyframes", {{{"time_ms", 0}, {"value", 3}}}}});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->target_type, TargetType::kClip);
  EXPECT_EQ(a->keyframes[0].interpolation, Interpolation::kLinear);
  expect_invalid(parameter_automation_from_json({{"keyframes", json::array()}}), "property");
  expect_invalid(parameter_automation_from_json({{"property", "opacity"}, {"target_type", "x"}}),
                 "target_type");
  expect_invalid(
      parameter_automation_from_json(
          {{"property", "opacity"}, {"keyframes", {{{"time_ms", 0}, {"interpolation", "cubic"}}}}}),
      "keyframes[0].interpolation");
  expect_invalid(parameter_automation_from_json(
                     {{"property", "opacity"}, {"keyframes", {{{"time_ms", "0"}}}}}),
                 "keyframes[0].time_ms");
  expect_invalid(parameter_automation_from_json({{"property", "opacity"}, {"keyframes", 1}}),
                 "keyframes");
}

TEST(ParameterAutomationTest, ValidationRules) {
  using P = AutomationProperty;
  const Interpolation L = Interpolation::kLinear;
  expect_ok(validate(automation(P::kOpacity, {})));
  expect_ok(validate(automation(P::kOpacity, {{0, 0, L}, {100, 1, L}})));
  expect_invalid(validate(automation(P::kOpacity, {{0, 0, L}, {100, 1.5, L}})),
                 "keyframes[1].value");
  expect_invalid(validate(automation(P::kOpacity, {{0, -0.1, L}})), "keyframes[0].value");
  expect_invalid(validate(automation(P::kOpacity, {{-1, 0, L}})), "keyframes[0].time_ms");
  expect_invalid(validate(automation(P::kOpacity, {{100, 0, L}, {50, 1, L}})),
                 "keyframes[1].time_ms");
  expect_invalid(validate(automation(P::kOpacity, {{100, 0, L}, {100, 1, L}})),
                 "keyframes[1].time_ms");
  expect_invalid(validate(automation(P::kPositionX, {{0, std::nan(""), L}})), "keyframes[0].value");
  expect_ok(validate(automation(P::kPositionY, {{0, -3000, L}, {10, 3000, L}})));
  expect_ok(validate(automation(P::kVolumeDb, {{0, -100, L}, {10, 24, L}})));
  expect_invalid(validate(automation(P::kVolumeDb, {{0, 30, L}})), "keyframes[0].value");
  expect_ok(validate(automation(P::kScale, {{0, 0.5, L}, {10, 2, L}})));
  expect_invalid(validate(automation(P::kScale, {{0, 0, L}})), "keyframes[0].value");
}

// ---------------------------------------------------------------------------------------------
// Track

TEST(TrackTest, RoundTripAndDefaults) {
  Track t;
  t.id = "trk_1";
  t.tenant_id = "t_test";
  t.env = "dev";
  t.sequence_id = "seq_1";
  t.kind = TrackKind::kAudio;
  t.order = 3;
  t.muted = true;
  t.hidden = true;
  t.meta = {{"color", "red"}};
  t.audio_role = AudioRole::kDialogue;
  expect_ok(validate(t));
  json j = to_json(t);
  EXPECT_EQ(j["kind"], "audio");
  EXPECT_EQ(j["audio_role"], "dialogue");
  EXPECT_TRUE(j["user_id"].is_null());
  auto back = track_from_json(j);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(to_json(*back), j);

  auto minimal = track_from_json({{"sequence_id", "seq_1"}, {"kind", "video"}});
  ASSERT_TRUE(minimal.ok());
  EXPECT_EQ(minimal->audio_role, AudioRole::kGeneric);
  EXPECT_EQ(minimal->order, 0);
  EXPECT_FALSE(minimal->muted);
}

TEST(TrackTest, Rules) {
  expect_invalid(track_from_json({{"sequence_id", "seq_1"}}), "kind");
  expect_invalid(track_from_json({{"kind", "subtitle"}}), "kind");
  expect_invalid(track_from_json({{"kind", "audio"}, {"audio_role", "voice"}}), "audio_role");
  expect_invalid(track_from_json({{"kind", "audio"}, {"muted", "no"}}), "muted");
  expect_invalid(track_from_json({{"kind", "audio"}, {"order", 1.5}}), "order");
  Track t;
  t.sequence_id = "seq_1";
  expect_ok(validate(t));
  t.order = -1;
  expect_invalid(validate(t), "order");
  t.order = 1001;
  expect_invalid(validate(t), "order");
  t.order = 1000;
  expect_ok(validate(t));
  t.sequence_id = "";
  expect_invalid(validate(t), "sequence_id");
  for (auto role : kAudioRoleNames) {
    EXPECT_TRUE(track_from_json({{"kind", "audio"}, {"audio_role", role}}).ok()) << role;
  }
}

// ---------------------------------------------------------------------------------------------
// Sequence and timebase

TEST(SequenceTest, TimebaseParsing) {
  struct Case {
    json in;
    Rational want;
  };
  const Case cases[] = {
      {30, {30, 1}},
      {29.97, {30000, 1001}},
      {"30000/1001", {30000, 1001}},
      {25, {25, 1}},
      {25.0, {25, 1}},
      {"25", {25, 1}},
      {23.976, {24000, 1001}},
      {59.94, {60000, 1001}},
      {"60/2", {30, 1}},
      {"29.97", {30000, 1001}},
      {12.5, {25, 2}},
  };
  for (const auto& c : cases) {
    auto r = parse_timebase(c.in);
    ASSERT_TRUE(r.ok()) << c.in.dump() << ": " << r.error().message;
    EXPECT_EQ(r->num, c.want.num) << c.in.dump();
    EXPECT_EQ(r->den, c.want.den) << c.in.dump();
  }
  for (const json& bad :
       {json(0), json(-30), json("0/1"), json("30/0"), json("30/-1"), json("abc"), json(""),
        json("30fps"), json(true), json::array(), json(-29.97), json("1/2/3")}) {
    SCOPED_TRACE(bad.dump());
    expect_invalid(parse_timebase(bad), "timebase");
  }
}

Sequence valid_sequence() {
  Sequence s;
  s.id = "seq_1";
  s.tenant_id = "t_test";
  s.env = "dev";
  s.project_id = "prj_1";
  s.name = "Main";
  s.duration_ms = 60000;
  s.timebase = {30000, 1001};
  s.tracks = {"trk_1", "trk_2"};
  return s;
}

TEST(SequenceTest, RoundTripSerialisesRationalAndFps) {
  Sequence s = valid_sequence();
  expect_ok(validate(s));
  json j = to_json(s);
  EXPECT_EQ(j["timebase"], "30000/1001");
  EXPECT_NEAR(j["timebase_fps"].get<double>(), 29.97, 1e-3);
  auto back = sequence_from_json(j);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->timebase.num, 30000);
  EXPECT_EQ(back->timebase.den, 1001);
  EXPECT_EQ(to_json(*back), j);
}

TEST(SequenceTest, FromJsonTimebaseForms) {
  auto s = sequence_from_json({{"project_id", "p"}, {"name", "n"}, {"timebase", 29.97}});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->timebase.to_string(), "30000/1001");
  s = sequence_from_json({{"project_id", "p"}, {"name", "n"}});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->timebase.to_string(), "30/1");
  expect_invalid(sequence_from_json({{"name", "n"}, {"timebase", "fast"}}), "timebase");
  expect_invalid(sequence_from_json({{"name", "n"}, {"timebase", {{"num", 30}}}}), "timebase");
  expect_invalid(sequence_from_json({{"tracks", {"a", 1}}}), "tracks[1]");
  expect_invalid(sequence_from_json({{"tracks", "a"}}), "tracks");
  expect_invalid(sequence_from_json({{"duration_ms", "1"}}), "duration_ms");
}

TEST(SequenceTest, Rules) {
  Sequence s = valid_sequence();
  s.name = "";
  expect_invalid(validate(s), "name");
  s = valid_sequence();
  s.name = std::string(201, 'n');
  expect_invalid(validate(s), "name");
  s.name = std::string(200, 'n');
  expect_ok(validate(s));
  s = valid_sequence();
  s.project_id = "";
  expect_invalid(validate(s), "project_id");
  s = valid_sequence();
  s.duration_ms = -1;
  expect_invalid(validate(s), "duration_ms");
  s = valid_sequence();
  s.timebase = {1001, 1};
  expect_invalid(validate(s), "timebase");
  s.timebase = {0, 1};
  expect_invalid(validate(s), "timebase");
  s = valid_sequence();
  s.tracks.push_back("");
  expect_invalid(validate(s), "tracks[2]");
}

// ---------------------------------------------------------------------------------------------
// VideoProject

VideoProject valid_project() {
  VideoProject p;
  p.id = "prj_1";
  p.tenant_id = "t_test";
  p.env = "dev";
  p.user_id = "u_1";
  p.created_at_ms = kT0;
  p.updated_at_ms = kT0 + 1000;
  p.title = "Holiday";
  p.description = "Two clips";
  p.tags = {"travel", "2026"};
  p.sequences = {"seq_1"};
  p.meta = {{"k", {1, 2}}};
  p.revision = 4;
  return p;
}

TEST(VideoProjectTest, RoundTrip) {
  VideoProject p = valid_project();
  expect_ok(validate(p));
  json j = to_json(p);
  EXPECT_EQ(j["render_profile"], "social_1080p_h264");
  EXPECT_EQ(j["updated_at"], "2026-01-01T00:00:01.123Z");
  auto back = video_project_from_json(j);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(to_json(*back), j);
  EXPECT_EQ(back->revision, 4);
}

TEST(VideoProjectTest, Rules) {
  VideoProject p = valid_project();
  p.title = "";
  expect_invalid(validate(p), "title");
  p = valid_project();
  p.title = std::string(201, 't');
  expect_invalid(validate(p), "title");
  p = valid_project();
  p.description = std::string(5001, 'd');
  expect_invalid(validate(p), "description");
  p = valid_project();
  p.tags = {"ok", ""};
  expect_invalid(validate(p), "tags[1]");
  p.tags = {std::string(65, 'x')};
  expect_invalid(validate(p), "tags[0]");
  p.tags = std::vector<std::string>(65, "t");
  expect_invalid(validate(p), "tags");
  p = valid_project();
  p.render_profile = "vhs_240p";
  Status s = validate(p);
  expect_invalid(s, "render_profile");
  EXPECT_EQ(s.error().details["allowed"].size(), 5u);
  EXPECT_NE(s.error().message.find("master_4k_prores"), std::string::npos);
  p.render_profile = "draft_480p_fast";
  expect_ok(validate(p));
  p.sequences = {""};
  expect_invalid(validate(p), "sequences[0]");
  p = valid_project();
  p.revision = -1;
  expect_invalid(validate(p), "revision");
  expect_invalid(video_project_from_json({{"title", 5}}), "title");
  expect_invalid(video_project_from_json({{"tags", "a"}}), "tags");
  expect_invalid(video_project_from_json({{"revision", "1"}}), "revision");
  expect_invalid(video_project_from_json({{"description", 1}}), "description");
}

// ---------------------------------------------------------------------------------------------
// Transition

Transition valid_transition() {
  Transition t;
  t.id = "trn_1";
  t.sequence_id = "seq_1";
  t.type = "dip_to_black";
  t.duration_ms = 500;
  t.from_clip_id = "clp_a";
  t.to_clip_id = "clp_b";
  return t;
}

TEST(TransitionTest, RoundTrip) {
  Transition t = valid_transition();
  t.meta = {{"note", "x"}};
  expect_ok(validate(t));
  json j = to_json(t);
  auto back = transition_from_json(j);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(to_json(*back), j);
  EXPECT_EQ(j["type"], "dip_to_black");
}

TEST(TransitionTest, Rules) {
  Transition t = valid_transition();
  t.duration_ms = 0;
  expect_invalid(validate(t), "duration_ms");
  t.duration_ms = -5;
  expect_invalid(validate(t), "duration_ms");
  t.duration_ms = 1;
  expect_ok(validate(t));
  t = valid_transition();
  t.type = "wipe";
  Status s = validate(t);
  expect_invalid(s, "type");
  EXPECT_EQ(s.error().details["allowed"].size(), 9u);
  t.type = "fade";  // the ffmpeg alias, not the model name
  s = validate(t);
  expect_invalid(s, "type");
  EXPECT_NE(s.error().message.find("crossfade"), std::string::npos);
  for (const char* type : {"crossfade", "dip_to_black", "dip_to_white", "wipe_left", "wipe_right",
                           "push_left", "push_right", "slide_up", "slide_down"}) {
    t.type = type;
    expect_ok(validate(t));
  }
  t = valid_transition();
  t.from_clip_id = "";
  expect_invalid(validate(t), "from_clip_id");
  t = valid_transition();
  t.to_clip_id = "";
  expect_invalid(validate(t), "to_clip_id");
  t = valid_transition();
  t.to_clip_id = t.from_clip_id;
  expect_invalid(validate(t), "to_clip_id");
  t = valid_transition();
  t.sequence_id = "";
  expect_invalid(validate(t), "sequence_id");
  expect_invalid(transition_from_json({{"duration_ms", "500"}}), "duration_ms");
  expect_invalid(transition_from_json({{"type", 3}}), "type");
}

// ---------------------------------------------------------------------------------------------
// FilterStack

FilterStack valid_stack() {
  FilterStack s;
  s.id = "fst_1";
  s.tenant_id = "t_test";
  s.env = "dev";
  s.target_type = TargetType::kTrack;
  s.target_id = "trk_1";
  s.filters = {{"vignette", {{"angle", 0.4}}, true},
               {"lut", {{"lut_artifact_id", "art_lut"}}, false},
               {"exposure", json::object(), true}};
  return s;
}

TEST(FilterStackTest, RoundTripKeepsOrder) {
  FilterStack s = valid_stack();
  expect_ok(validate(s));
  json j = to_json(s);
  EXPECT_EQ(j["target_type"], "track");
  EXPECT_EQ(j["filters"][1]["type"], "lut");
  EXPECT_EQ(j["filters"][1]["enabled"], false);
  auto back = filter_stack_from_json(j);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(to_json(*back), j);
}

TEST(FilterStackTest, ParseErrors) {
  expect_invalid(filter_stack_from_json({{"target_id", "x"}}), "target_type");
  expect_invalid(filter_stack_from_json({{"target_type", "project"}}), "target_type");
  expect_invalid(filter_stack_from_json({{"target_type", "clip"}, {"filters", {{{"params", 1}}}}}),
                 "filters[0].type");
  expect_invalid(filter_stack_from_json(
                     {{"target_type", "clip"}, {"filters", {{{"type", "gamma"}, {"params", 1}}}}}),
                 "filters[0].params");
  expect_invalid(filter_stack_from_json({{"target_type", "clip"},
                                         {"filters", {{{"type", "gamma"}, {"enabled", "yes"}}}}}),
                 "filters[0].enabled");
  auto s = filter_stack_from_json(
      {{"target_type", "sequence"}, {"target_id", "seq_1"}, {"filters", {{{"type", "gamma"}}}}});
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->filters[0].enabled);
  EXPECT_EQ(s->filters[0].params, json::object());
}

TEST(FilterStackTest, Rules) {
  FilterStack s = valid_stack();
  s.target_id = "";
  expect_invalid(validate(s), "target_id");
  s = valid_stack();
  s.filters.push_back({"posterize", json::object(), true});
  expect_invalid(validate(s), "filters[3].type");
  s = valid_stack();
  s.filters[0].params["radius"] = 3;
  expect_invalid(validate(s), "filters[0].params.radius");
  s = valid_stack();
  s.filters[0].params["angle"] = "wide";
  expect_invalid(validate(s), "filters[0].params.angle");
  s = valid_stack();
  s.filters[1].params = json::object();
  expect_invalid(validate(s), "filters[1].params");
  s = valid_stack();
  s.filters[0].params["angle"] = 7;  // out of range: clamped by the service, not an error
  expect_ok(validate(s));
  s.filters = std::vector<Filter>(65, Filter{"gamma", json::object(), true});
  expect_invalid(validate(s), "filters");
}

TEST(FilterStackTest, ClampFiltersReports) {
  std::vector<Filter> filters = {{"gamma", {{"gamma", 9}}, true},
                                 {"exposure", {{"exposure", 1}}, true},
                                 {"bloom", {{"radius", 1}, {"intensity", 2}}, false}};
  auto r = clamp_filters(filters);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->filters[0].params["gamma"], 6.0);
  EXPECT_EQ(r->filters[1].params["exposure"], 1);
  EXPECT_EQ(r->filters[2].params["radius"], 2.0);
  EXPECT_FALSE(r->filters[2].enabled);
  ASSERT_EQ(r->report.size(), 2u);
  EXPECT_EQ(r->report[0]["index"], 0);
  EXPECT_EQ(r->report[1]["index"], 2);
  EXPECT_EQ(r->report[1]["clamped"][0]["param"], "intensity");  // catalog order
  EXPECT_EQ(r->report[1]["clamped"][1]["param"], "radius");
}

// ---------------------------------------------------------------------------------------------
// Presets (model rules; the built-ins are in timeline_catalog_test.cc)

TEST(FilterPresetTest, RoundTripAndRules) {
  FilterPreset p;
  p.id = "fpr_1";
  p.tenant_id = "t_test";
  p.env = "dev";
  p.name = "Warm";
  p.description = "Warm look";
  p.filters = {{"temperature", {{"temperature", 5200}}, true}};
  p.tags = {"look"};
  p.meta = {{"author", "me"}};
  expect_ok(validate(p));
  json j = to_json(p);
  auto back = filter_preset_from_json(j);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(to_json(*back), j);

  FilterPreset bad = p;
  bad.name = "";
  expect_invalid(validate(bad), "name");
  bad = p;
  bad.filters.push_back({"nope", json::object(), true});
  expect_invalid(validate(bad), "filters[1].type");
  bad = p;
  bad.description = std::string(5001, 'x');
  expect_invalid(validate(bad), "description");
  expect_invalid(filter_preset_from_json({{"filters", "x"}}), "filters");
  expect_invalid(filter_preset_from_json({{"meta", 1}}), "meta");
}

TEST(MotionPresetTest, RoundTripAndRules) {
  MotionPreset p;
  p.id = "mpr_1";
  p.tenant_id = "t_test";
  p.env = "dev";
  p.name = "Drift";
  p.duration_ms = 2000;
  p.tracks = {{AutomationProperty::kScale,
               TargetType::kClip,
               "",
               {{0, 1, Interpolation::kLinear}, {2000, 1.2, Interpolation::kEaseInOut}}}};
  p.tags = {"zoom"};
  expect_ok(validate(p));
  json j = to_json(p);
  auto back = motion_preset_from_json(j);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(to_json(*back), j);

  MotionPreset bad = p;
  bad.duration_ms = 0;
  expect_invalid(validate(bad), "duration_ms");
  bad = p;
  bad.tracks[0].keyframes[1].time_ms = 2001;
  expect_invalid(validate(bad), "tracks[0].keyframes[1].time_ms");
  bad = p;
  bad.tracks[0].keyframes[0].value = 0;
  expect_invalid(validate(bad), "tracks[0].keyframes[0].value");
  bad = p;
  bad.name = std::string(201, 'n');
  expect_invalid(validate(bad), "name");
  expect_invalid(motion_preset_from_json({{"tracks", {{{"property", "blur"}}}}}),
                 "tracks[0].property");
}

// ---------------------------------------------------------------------------------------------
// JSON Merge Patch: RFC 7396 Appendix A, every example.

TEST(JsonMergePatchTest, Rfc7396AppendixA) {
  struct Case {
    const char* target;
    const char* patch;
    const char* result;
  };
  const Case cases[] = {
      {R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
      {R"({"a":"b"})", R"({"a":null})", R"({})"},
      {R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
      {R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
      {R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})", R"({"a":{"b":"d"}})"},
      {R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
      {R"(["a","b"])", R"(["c","d"])", R"(["c","d"])"},
      {R"({"a":"b"})", R"(["c"])", R"(["c"])"},
      {R"({"a":"foo"})", R"(null)", R"(null)"},
      {R"({"a":"foo"})", R"("bar")", R"("bar")"},
      {R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
      {R"([1,2])", R"({"a":"b","c":null})", R"({"a":"b"})"},
      {R"({})", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.target) + " + " + c.patch);
    EXPECT_EQ(merge_patch(json::parse(c.target), json::parse(c.patch)), json::parse(c.result));
  }
}

TEST(JsonMergePatchTest, Rfc7396Section3Example) {
  json target = json::parse(R"({
    "title": "Goodbye!",
    "author": {"givenName": "John", "familyName": "Doe"},
    "tags": ["example", "sample"],
    "content": "This will be unchanged"})");
  json patch = json::parse(R"({
    "title": "Hello!", "phoneNumber": "+01-123-456-7890",
    "author": {"familyName": null}, "tags": ["example"]})");
  json want = json::parse(R"({
    "title": "Hello!",
    "author": {"givenName": "John"},
    "tags": ["example"],
    "content": "This will be unchanged",
    "phoneNumber": "+01-123-456-7890"})");
  EXPECT_EQ(merge_patch(target, patch), want);
  EXPECT_EQ(target["title"], "Goodbye!");  // inputs untouched
}

TEST(JsonMergePatchTest, PatchThenParseUpdatesAClip) {
  json stored = to_json(valid_clip());
  json patched = merge_patch(stored, {{"out_ms", 9000},
                                      {"position", {{"x", 10}}},
                                      {"artifact_id", nullptr},
                                      {"stabilise", {{"tripod", true}}}});
  auto c = clip_from_json(patched);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->out_ms, 9000);
  EXPECT_EQ(c->position.x, 10);
  EXPECT_EQ(c->position.y, 0);
  ASSERT_TRUE(c->stabilise);
  EXPECT_TRUE(c->stabilise->tripod);
  EXPECT_EQ(c->stabilise->smoothing, 10);
  EXPECT_EQ(c->created_at_ms, kT0);
  expect_ok(validate(*c));
}

}  // namespace
}  // namespace atomcut

// Unit tests for the Timeline atom's data tables: the filter and transition catalogs
// (validate_and_clamp_filter), render profiles, and the built-in filter and motion presets.
#include "core/model/filter_preset.h"
#include "core/model/fx_catalog.h"
#include "core/model/motion_preset.h"
#include "core/model/render_profiles.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>

namespace atomcut {
namespace {

using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Filter catalog

TEST(FilterCatalogTest, ListsTheSpecFilters) {
  std::set<std::string> types;
  for (const auto& f : filter_catalog()) types.insert(std::string(f.type));
  const std::set<std::string> want = {
      "exposure", "contrast",     "saturation",  "temperature", "tint",     "lut",
      "sharpen",  "vignette",     "hue_shift",   "film_grain",  "gamma",    "bloom",
      "levels",   "teeth_whiten", "skin_smooth", "eye_enhance", "face_blur"};
  EXPECT_EQ(types, want);
}

TEST(FilterCatalogTest, SpecRangesAndMaskFlags) {
  struct Range {
    const char* type;
    const char* param;
    double min, max;
  };
  const Range ranges[] = {
      {"sharpen", "luma_x", 1, 20},
      {"sharpen", "luma_y", 1, 20},
      {"sharpen", "luma_amount", 0, 5},
      {"vignette", "angle", 0, 1},
      {"vignette", "softness", 0.1, 1},
      {"vignette", "strength", 0.1, 1},
      {"hue_shift", "shift", -180, 180},
      {"film_grain", "strength", 0, 50},
      {"gamma", "gamma", 0.1, 6},
      {"bloom", "intensity", 0, 1},
      {"bloom", "radius", 2, 60},
      {"levels", "black", 0, 0.5},
      {"levels", "white", 0.5, 1},
      {"levels", "gamma", 0.1, 6},
      {"face_blur", "strength", 0.1, 1},
      {"teeth_whiten", "strength", 0, 1},
      {"skin_smooth", "strength", 0, 1},
      {"eye_enhance", "strength", 0, 1},
      {"exposure", "exposure", -5, 5},
      {"contrast", "contrast", 0, 4},
      {"saturation", "saturation", 0, 3},
      {"temperature", "temperature", 2000, 12000},
      {"tint", "tint", -1, 1},
  };
  for (const auto& r : ranges) {
    SCOPED_TRACE(std::string(r.type) + "." + r.param);
    const FilterSpec* f = find_filter(r.type);
    ASSERT_NE(f, nullptr);
    const FilterParamSpec* p = find_filter_param(*f, r.param);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->min, r.min);
    EXPECT_EQ(p->max, r.max);
    EXPECT_GE(p->default_value, p->min);
    EXPECT_LE(p->default_value, p->max);
  }
  for (const char* t : {"teeth_whiten", "skin_smooth", "eye_enhance", "face_blur"}) {
    EXPECT_EQ(find_filter(t)->mask_aware, MaskAware::kYes) << t;
  }
  EXPECT_EQ(find_filter("lut")->mask_aware, MaskAware::kOptional);
  for (const char* t :
       {"sharpen", "vignette", "hue_shift", "film_grain", "gamma", "bloom", "levels", "exposure"}) {
    EXPECT_EQ(find_filter(t)->mask_aware, MaskAware::kNo) << t;
  }
  EXPECT_EQ(find_filter("posterize"), nullptr);
}

TEST(FilterCatalogTest, EveryDefaultIsInRangeAndCatalogJson) {
  for (const auto& f : filter_catalog()) {
    json j = to_json(f);
    EXPECT_EQ(j["type"], f.type);
    EXPECT_TRUE(j.contains("mask_aware"));
    EXPECT_EQ(j["params"].size(), f.params.size());
    for (const auto& p : f.params) {
      if (p.kind == FilterParamKind::kNumber) {
        EXPECT_LT(p.min, p.max) << f.type << "." << p.name;
      }
    }
  }
  EXPECT_EQ(to_json(*find_filter("lut"))["requires_one_of"], json({"lut_path", "lut_artifact_id"}));
}

TEST(ValidateAndClampFilterTest, InRangeIsUntouched) {
  auto r = validate_and_clamp_filter(
      {{"type", "sharpen"}, {"params", {{"luma_x", 5}, {"luma_amount", 1.5}}}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->clamped.empty());
  EXPECT_EQ(r->filter, json({{"type", "sharpen"},
                             {"params", {{"luma_x", 5}, {"luma_amount", 1.5}}},
                             {"enabled", true}}));
}

TEST(ValidateAndClampFilterTest, ClampsAndReports) {
  auto r = validate_and_clamp_filter({{"type", "levels"},
                                      {"params", {{"white", 0.2}, {"black", 0.7}, {"gamma", 3}}},
                                      {"enabled", false}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->clamped.size(), 2u);
  EXPECT_EQ(r->clamped[0].param, "black");  // catalog order, not key order
  EXPECT_DOUBLE_EQ(r->clamped[0].from, 0.7);
  EXPECT_DOUBLE_EQ(r->clamped[0].to, 0.5);
  EXPECT_EQ(r->clamped[1].param, "white");
  EXPECT_DOUBLE_EQ(r->clamped[1].from, 0.2);
  EXPECT_DOUBLE_EQ(r->clamped[1].to, 0.5);
  EXPECT_EQ(r->filter["params"]["gamma"], 3);
  EXPECT_EQ(r->filter["params"]["black"], 0.5);
  EXPECT_EQ(r->filter["enabled"], false);
  EXPECT_EQ(to_json(r->clamped)[0], json({{"param", "black"}, {"from", 0.7}, {"to", 0.5}}));

  struct Case {
    const char* type;
    const char* param;
    double in, out;
  };
  const Case cases[] = {
      {"hue_shift", "shift", 270, 180},     {"hue_shift", "shift", -400, -180},
      {"film_grain", "strength", 80, 50},   {"gamma", "gamma", 0, 0.1},
      {"bloom", "radius", 100, 60},         {"vignette", "softness", 0, 0.1},
      {"face_blur", "strength", 0.01, 0.1}, {"sharpen", "luma_y", 25, 20},
      {"exposure", "exposure", -9, -5},     {"temperature", "temperature", 100, 2000},
      {"eye_enhance", "strength", 1.5, 1},  {"tint", "tint", 2, 1},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.type) + "." + c.param);
    auto cr = validate_and_clamp_filter({{"type", c.type}, {"params", {{c.param, c.in}}}});
    ASSERT_TRUE(cr.ok()) << cr.error().message;
    ASSERT_EQ(cr->clamped.size(), 1u);
    EXPECT_EQ(cr->clamped[0].to, c.out);
    EXPECT_EQ(cr->filter["params"][c.param], c.out);
  }
}

TEST(ValidateAndClampFilterTest, Rejections) {
  auto r = validate_and_clamp_filter({{"type", "posterize"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().details["field"], "type");
  EXPECT_EQ(r.error().details["allowed"].size(), filter_catalog().size());
  EXPECT_NE(r.error().message.find("vignette"), std::string::npos);

  r = validate_and_clamp_filter({{"type", "gamma"}, {"params", {{"radius", 3}}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().details["field"], "params.radius");
  EXPECT_EQ(r.error().details["allowed"], json({"gamma"}));

  r = validate_and_clamp_filter({{"type", "gamma"}, {"params", {{"gamma", "2"}}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().details["field"], "params.gamma");
  r = validate_and_clamp_filter({{"type", "gamma"}, {"params", {{"gamma", true}}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().details["field"], "params.gamma");

  r = validate_and_clamp_filter({{"params", {{"gamma", 2}}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().details["field"], "type");
  r = validate_and_clamp_filter({{"type", "gamma"}, {"params", json::array()}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().details["field"], "params");
  r = validate_and_clamp_filter({{"type", "gamma"}, {"enabled", 1}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().details["field"], "enabled");
  r = validate_and_clamp_filter(json("gamma"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);

  // Prefix naming as used by filter stacks.
  r = validate_and_clamp_filter({{"type", "x"}}, "filter_stack", "filters[3].");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().details["field"], "filters[3].type");
  EXPECT_EQ(r.error().message.rfind("filter_stack.filters[3].type", 0), 0u) << r.error().message;
}

TEST(ValidateAndClampFilterTest, LutNeedsASource) {
  auto r = validate_and_clamp_filter({{"type", "lut"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().details["field"], "params");
  EXPECT_NE(r.error().message.find("lut_path"), std::string::npos);
  r = validate_and_clamp_filter({{"type", "lut"}, {"params", {{"lut_path", ""}}}});
  EXPECT_FALSE(r.ok());
  r = validate_and_clamp_filter({{"type", "lut"}, {"params", {{"lut_path", 3}}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().details["field"], "params.lut_path");
  EXPECT_TRUE(
      validate_and_clamp_filter({{"type", "lut"}, {"params", {{"lut_path", "/luts/a.cube"}}}})
          .ok());
  EXPECT_TRUE(
      validate_and_clamp_filter({{"type", "lut"}, {"params", {{"lut_artifact_id", "art_1"}}}})
          .ok());
}

TEST(ValidateAndClampFilterTest, NullParamMeansDefault) {
  auto r = validate_and_clamp_filter({{"type", "gamma"}, {"params", {{"gamma", nullptr}}}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->filter["params"], json::object());
}

// ---------------------------------------------------------------------------------------------
// Transition catalog

TEST(TransitionCatalogTest, NineTypesWithAliases) {
  const std::pair<const char*, const char*> want[] = {
      {"crossfade", "fade"},        {"dip_to_black", "fadeblack"}, {"dip_to_white", "fadewhite"},
      {"wipe_left", "wipeleft"},    {"wipe_right", "wiperight"},   {"push_left", "slideleft"},
      {"push_right", "slideright"}, {"slide_up", "slideup"},       {"slide_down", "slidedown"},
  };
  ASSERT_EQ(transition_catalog().size(), std::size(want));
  for (size_t i = 0; i < std::size(want); ++i) {
    const auto& t = transition_catalog()[i];
    EXPECT_EQ(t.type, want[i].first);
    EXPECT_EQ(t.video_alias, want[i].second);
    EXPECT_EQ(t.audio_alias, "acrossfade");
    EXPECT_EQ(find_transition(want[i].first), &t);
    EXPECT_EQ(find_transition(want[i].second), &t);
  }
  EXPECT_EQ(find_transition("wipe"), nullptr);
  EXPECT_EQ(find_transition("acrossfade"), nullptr);
  EXPECT_EQ(to_json(*find_transition("fade")), json({{"type", "crossfade"},
                                                     {"video_alias", "fade"},
                                                     {"audio_alias", "acrossfade"},
                                                     {"description", "Standard dissolve."}}));
}

// ---------------------------------------------------------------------------------------------
// Render profiles

TEST(RenderProfilesTest, SpecTable) {
  struct Want {
    const char* name;
    int w, h, fps;
    const char* vcodec;
    const char* acodec;
    const char* abitrate;
  };
  const Want want[] = {
      {"draft_480p_fast", 854, 480, 24, "libx264", "aac", "96k"},
      {"preview_720p_fast", 1280, 720, 30, "libx264", "aac", "128k"},
      {"social_1080p_h264", 1920, 1080, 30, "libx264", "aac", "192k"},
      {"youtube_4k_h264", 3840, 2160, 30, "libx264", "aac", "320k"},
      {"master_4k_prores", 3840, 2160, 30, "prores_ks", "pcm_s16le", ""},
  };
  ASSERT_EQ(render_profiles().size(), std::size(want));
  for (const auto& w : want) {
    SCOPED_TRACE(w.name);
    auto p = find_render_profile(w.name);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ((*p)->width, w.w);
    EXPECT_EQ((*p)->height, w.h);
    EXPECT_EQ((*p)->fps, w.fps);
    EXPECT_EQ((*p)->video_codec, w.vcodec);
    EXPECT_EQ((*p)->audio_codec, w.acodec);
    EXPECT_EQ((*p)->audio_bitrate, w.abitrate);
    EXPECT_FALSE((*p)->pix_fmt.empty());
    EXPECT_FALSE((*p)->preset.empty());
    EXPECT_FALSE((*p)->description.empty());
    EXPECT_GE((*p)->threads, 0);
    EXPECT_EQ((*p)->audio_sample_rate, 48000);
    EXPECT_EQ((*p)->audio_channels, 2);
    json j = to_json(**p);
    for (const char* f : {"render_profile", "width", "height", "fps", "video_codec", "pix_fmt",
                          "bitrate", "preset", "threads", "audio_codec", "audio_bitrate",
                          "audio_sample_rate", "audio_channels", "render_profile_description"}) {
      EXPECT_TRUE(j.contains(f)) << f;
    }
  }
  EXPECT_EQ((*find_render_profile("social_1080p_h264"))->description,
            "1080p H.264 for social delivery with balanced quality");
}

TEST(RenderProfilesTest, UnknownListsValidOnes) {
  auto r = find_render_profile("vhs");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().details["field"], "render_profile");
  EXPECT_EQ(r.error().details["allowed"].size(), 5u);
  EXPECT_NE(r.error().message.find("preview_720p_fast"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Built-in presets

TEST(BuiltInPresetsTest, ShakePresets) {
  auto presets = built_in_motion_presets();
  ASSERT_EQ(presets.size(), 3u);
  double prev_peak = 0;
  for (size_t i = 0; i < presets.size(); ++i) {
    const MotionPreset& p = presets[i];
    SCOPED_TRACE(p.name);
    EXPECT_EQ(p.name, "shake_" + std::to_string(i + 1));
    EXPECT_EQ(p.tags, std::vector<std::string>{"built_in"});
    EXPECT_TRUE(validate(p).ok()) << validate(p).error().message;
    ASSERT_EQ(p.tracks.size(), 2u);
    EXPECT_EQ(p.tracks[0].property, AutomationProperty::kPositionX);
    EXPECT_EQ(p.tracks[1].property, AutomationProperty::kPositionY);
    double peak = 0;
    for (const auto& t : p.tracks) {
      ASSERT_GE(t.keyframes.size(), 3u);
      EXPECT_EQ(t.keyframes.front().value, 0);  // starts and ends at rest
      EXPECT_EQ(t.keyframes.back().value, 0);
      EXPECT_EQ(t.keyframes.back().time_ms, p.duration_ms);
      for (const auto& k : t.keyframes) peak = std::max(peak, std::fabs(k.value));
    }
    EXPECT_GT(peak, prev_peak);  // increasing amplitude
    EXPECT_LE(peak, p.meta["amplitude_px"].get<double>());
    prev_peak = peak;
    auto back = motion_preset_from_json(to_json(p));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(to_json(*back), to_json(p));
  }
  // Deterministic: the same data on every call.
  auto again = built_in_motion_presets();
  for (size_t i = 0; i < presets.size(); ++i) EXPECT_EQ(to_json(again[i]), to_json(presets[i]));
}

TEST(BuiltInPresetsTest, ProfileDefaultFilterPresets) {
  auto presets = built_in_filter_presets();
  ASSERT_EQ(presets.size(), render_profiles().size());
  for (size_t i = 0; i < presets.size(); ++i) {
    const auto& profile = render_profiles()[i];
    const FilterPreset& p = presets[i];
    SCOPED_TRACE(p.name);
    EXPECT_EQ(p.name, "profile_default_" + std::string(profile.name));
    EXPECT_EQ(p.meta["render_profiles"], json({profile.name}));
    EXPECT_NE(std::find(p.tags.begin(), p.tags.end(), "built_in"), p.tags.end());
    EXPECT_FALSE(p.filters.empty());
    EXPECT_TRUE(validate(p).ok()) << validate(p).error().message;
    // Built-in grades sit inside the catalog ranges: nothing gets clamped.
    auto clamped = clamp_filters(p.filters);
    ASSERT_TRUE(clamped.ok());
    EXPECT_TRUE(clamped->report.empty()) << clamped->report.dump();
  }
  EXPECT_EQ(presets[2].meta["render_profile_description"],
            "1080p H.264 for social delivery with balanced quality");
}

}  // namespace
}  // namespace atomcut

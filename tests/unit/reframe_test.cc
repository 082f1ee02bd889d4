// Tests of the reframe suggestion: synthetic visual meta (static, moving and cut subjects: the
// camera path's rules, ranges and validity) and the real panned astronaut clip analysed by the
// visual meta engine: the face (its true box centre) stays inside the 9:16 crop in >= 95% of the
// frames.
#include "engines/video/reframe.h"

#include "engines/video/face_detector.h"
#include "engines/video/visual_meta.h"

#include "support/pan_clips.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace atomcut {
namespace {

using testing::kAstronautPng;

// The panned astronaut clip of visual_meta_test.cc (support/pan_clips.h): 640x360, 25 fps, 4 s.
const testing::PanClip kAstronautPan = testing::astronaut_pan(100, "ultrafast");
constexpr int kFps = 25;
constexpr int kPanFrames = 100;

VisualMetaSummary summary_of(const std::vector<std::pair<double, double>>& centres,
                             int64_t interval = 500, std::vector<int64_t> boundaries = {}) {
  VisualMetaSummary s;
  s.frame_sample_interval_ms = interval;
  for (size_t k = 0; k < centres.size(); ++k) {
    VisualMetaFrame f;
    f.timestamp_ms = static_cast<int64_t>(k) * interval;
    f.primary_subject_center_x = centres[k].first;
    f.primary_subject_center_y = centres[k].second;
    s.frames.push_back(f);
  }
  s.duration_ms = static_cast<int64_t>(centres.size()) * interval;
  s.shot_boundaries_ms = std::move(boundaries);
  return s;
}

ReframeRequestParams params(int64_t in, int64_t out, ReframeAspect a = ReframeAspect::k9x16,
                            FramingStyle st = FramingStyle::kCenter, int w = 1920, int h = 1080) {
  ReframeRequestParams p;
  p.in_ms = in;
  p.out_ms = out;
  p.source_width = w;
  p.source_height = h;
  p.aspect = a;
  p.style = st;
  p.target_id = "clip1";
  return p;
}

const ParameterAutomation& track(const ReframeSuggestion& r, AutomationProperty prop) {
  for (const auto& a : r.automation) {
    if (a.property == prop) return a;
  }
  static ParameterAutomation none;
  ADD_FAILURE() << "no track";
  return none;
}

TEST(ReframeTest, StaticSubjectGivesConstantKeyframes) {
  std::vector<std::pair<double, double>> c;
  for (int k = 0; k < 21; ++k) c.push_back({0.7 + 0.005 * ((k * 7) % 3 - 1), 0.4});
  auto r = suggest_reframe(summary_of(c), params(0, 10000));
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->automation.size(), 3u);
  const auto& x = track(*r, AutomationProperty::kPositionX);
  EXPECT_EQ(x.target_type, TargetType::kClip);
  EXPECT_EQ(x.target_id, "clip1");
  ASSERT_EQ(x.keyframes.size(), 2u);
  EXPECT_EQ(x.keyframes[0].time_ms, 0);
  EXPECT_EQ(x.keyframes[1].time_ms, 10000);
  EXPECT_EQ(x.keyframes[0].value, x.keyframes[1].value);
  EXPECT_NEAR(x.keyframes[0].value, 0.7, 0.006);
  EXPECT_EQ(r->move_count, 0);
  const double cw = (9.0 / 16) / (16.0 / 9);
  EXPECT_NEAR(r->crop_width, cw, 1e-9);
  EXPECT_EQ(r->crop_height, 1.0);
  const auto& s = track(*r, AutomationProperty::kScale);
  for (const auto& k : s.keyframes) EXPECT_NEAR(k.value, 1 / cw, 1e-3);
  // The crop's height is the whole picture: y is centred.
  for (const auto& k : track(*r, AutomationProperty::kPositionY).keyframes) {
    EXPECT_DOUBLE_EQ(k.value, 0.5);
  }
  for (const auto& a : r->automation) EXPECT_TRUE(validate(a).ok());
}

TEST(ReframeTest, MovingSubjectStaysInsideWithASmoothMonotonePath) {
  std::vector<std::pair<double, double>> c;
  for (int k = 0; k <= 40; ++k) c.push_back({0.2 + 0.6 * k / 40.0, 0.5});  // 20 s, 0.2 -> 0.8
  auto r = suggest_reframe(summary_of(c), params(0, 20000));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& x = track(*r, AutomationProperty::kPositionX);
  EXPECT_GT(r->move_count, 0);
  double prev = 0;
  int inside = 0, n = 0;
  for (int64_t t = 0; t < 20000; t += 40, ++n) {
    const double v = automation_value_at(x, t);
    EXPECT_GE(v, prev - 1e-9) << t;  // never goes back: no jitter
    prev = v;
    const double subject = 0.2 + 0.6 * static_cast<double>(t) / 20000.0;
    inside += std::abs(subject - v) <= r->crop_width / 2;
  }
  EXPECT_EQ(inside, n);
  for (size_t i = 1; i < x.keyframes.size(); ++i) {
    EXPECT_GT(x.keyframes[i].time_ms, x.keyframes[i - 1].time_ms);
  }
}

TEST(ReframeTest, JumpsAtShotBoundariesAndUsesClipRelativeTime) {
  std::vector<std::pair<double, double>> c;
  for (int k = 0; k < 12; ++k) c.push_back({k < 6 ? 0.25 : 0.75, 0.5});
  auto r = suggest_reframe(summary_of(c, 500, {3000}), params(1000, 5000));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->shot_count, 2);
  EXPECT_EQ(r->move_count, 0);
  const auto& x = track(*r, AutomationProperty::kPositionX);
  EXPECT_NEAR(automation_value_at(x, 0), 0.25, 1e-9);
  EXPECT_NEAR(automation_value_at(x, 1999), 0.25, 1e-9);  // holds up to the cut...
  EXPECT_NEAR(automation_value_at(x, 2000), 0.75, 1e-9);  // ...and jumps on it
  EXPECT_NEAR(automation_value_at(x, 4000), 0.75, 1e-9);
  EXPECT_EQ(x.keyframes.back().time_ms, 4000);
  bool hold = false;
  for (const auto& k : x.keyframes) hold |= k.interpolation == Interpolation::kHold;
  EXPECT_TRUE(hold);

  // Speed 2: the same path in half the time.
  auto p = params(1000, 5000);
  p.speed = 2;
  auto f = suggest_reframe(summary_of(c, 500, {3000}), p);
  ASSERT_TRUE(f.ok());
  const auto& fx = track(*f, AutomationProperty::kPositionX);
  EXPECT_NEAR(automation_value_at(fx, 999), 0.25, 1e-9);
  EXPECT_NEAR(automation_value_at(fx, 1000), 0.75, 1e-9);
  EXPECT_EQ(fx.keyframes.back().time_ms, 2000);
}

TEST(ReframeTest, RangesAspectsAndRuleOfThirds) {
  const std::vector<std::pair<double, double>> edge(8, {0.02, 0.97});
  auto r = suggest_reframe(summary_of(edge), params(0, 4000, ReframeAspect::k1x1));
  ASSERT_TRUE(r.ok());
  const double cw = 0.5625;  // 1:1 from 16:9
  EXPECT_NEAR(track(*r, AutomationProperty::kPositionX).keyframes[0].value, cw / 2, 1e-4);
  EXPECT_NEAR(track(*r, AutomationProperty::kScale).keyframes[0].value, 1 / cw, 1e-3);

  // Same aspect: the whole picture, scale 1, centred.
  auto same = suggest_reframe(summary_of(edge), params(0, 4000, ReframeAspect::k16x9));
  ASSERT_TRUE(same.ok());
  for (const auto& a : same->automation) {
    for (const auto& k : a.keyframes) {
      EXPECT_DOUBLE_EQ(k.value, a.property == AutomationProperty::kScale ? 1.0 : 0.5);
    }
  }
  // A portrait source to 16:9: the crop is full width, moves vertically only.
  auto portrait = suggest_reframe(
      summary_of(edge), params(0, 4000, ReframeAspect::k16x9, FramingStyle::kCenter, 1080, 1920));
  ASSERT_TRUE(portrait.ok());
  const double ch = (9.0 / 16) / (16.0 / 9);
  EXPECT_NEAR(portrait->crop_height, ch, 1e-9);
  EXPECT_NEAR(track(*portrait, AutomationProperty::kPositionY).keyframes[0].value, 1 - ch / 2,
              1e-4);
  EXPECT_DOUBLE_EQ(track(*portrait, AutomationProperty::kPositionX).keyframes[0].value, 0.5);
  // 4:5.
  auto f45 = suggest_reframe(summary_of(edge), params(0, 4000, ReframeAspect::k4x5));
  ASSERT_TRUE(f45.ok());
  EXPECT_NEAR(f45->crop_width, 0.8 / (16.0 / 9), 1e-9);

  // Rule of thirds: the subject on the nearer third line of the crop.
  const std::vector<std::pair<double, double>> left(8, {0.35, 0.5});
  auto t = suggest_reframe(summary_of(left),
                           params(0, 4000, ReframeAspect::k9x16, FramingStyle::kRuleOfThirds));
  ASSERT_TRUE(t.ok());
  const double c9 = (9.0 / 16) / (16.0 / 9);
  const double px = track(*t, AutomationProperty::kPositionX).keyframes[0].value;
  EXPECT_NEAR(0.35 - (px - c9 / 2), c9 / 3, 1e-3);  // one third into the crop
}

TEST(ReframeTest, EmptyMetaCentresAndBadParamsAreRefused) {
  auto r = suggest_reframe(VisualMetaSummary{}, params(0, 1000));
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(track(*r, AutomationProperty::kPositionX).keyframes[0].value, 0.5);
  auto expect_field = [](ReframeRequestParams p, const char* field) {
    auto e = suggest_reframe(VisualMetaSummary{}, p);
    ASSERT_FALSE(e.ok()) << field;
    EXPECT_EQ(e.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(e.error().details.value("field", ""), field);
  };
  expect_field(params(-1, 1000), "in_ms");
  expect_field(params(1000, 1000), "out_ms");
  auto p = params(0, 1000);
  p.speed = 0;
  expect_field(p, "speed");
  expect_field(params(0, 1000, ReframeAspect::k9x16, FramingStyle::kCenter, 0, 0), "source_width");
  p = params(0, 1000);
  p.dead_zone = 0.9;
  expect_field(p, "dead_zone");
  p = params(0, 1000);
  p.move_ms = 0;
  expect_field(p, "move_ms");
}

TEST(ReframeTest, PannedAstronautFaceStaysInsideThe916Crop) {
  if (!std::filesystem::exists(kAstronautPng)) GTEST_SKIP() << "astronaut.png is not installed";
  const std::string path = testing::pan_clip(kAstronautPan);
  ASSERT_FALSE(path.empty());
  auto meta = analyze_visual_meta(path, {});  // 500 ms samples
  ASSERT_TRUE(meta.ok()) << meta.error().message;
  auto r = suggest_reframe(meta->summary,
                           params(0, 4000, ReframeAspect::k9x16, FramingStyle::kCenter, 640, 360));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& x = track(*r, AutomationProperty::kPositionX);
  int inside = 0;
  for (int on = 0; on < kPanFrames; ++on) {
    const FaceBox f = testing::pan_true_face(kAstronautPan, on);
    const double cx = f.x + f.width / 2;
    const double px = automation_value_at(x, on * 1000 / kFps);
    inside += std::abs(cx - px) <= r->crop_width / 2;
  }
  std::printf(
      "[ figures  ] reframe 9:16 on the astronaut pan: face centre inside the crop in "
      "%d/%d frames, %zu position_x keyframes, %d moves\n",
      inside, kPanFrames, x.keyframes.size(), r->move_count);
  EXPECT_GE(inside, 95);
}

}  // namespace
}  // namespace atomcut

// Tests of the render planner's face blur stage (PlannerInput::face_blur): the plan blurs each
// face box, following it over time on the source's timeline (clip in_ms and speed applied), and
// nothing else; plans are rendered with the real ffmpeg CLI and judged on the pixels.
//
// The source is a 4 px black-and-white checkerboard (320x180, 25 fps, 4 s): a blurred patch of it
// is flat grey, an untouched one keeps its contrast, so "blurred here, not there" is a measure of
// local contrast (standard deviation of the luma in a small square).
#include "engines/render/render_planner.h"

#include "core/model/clip.h"
#include "core/model/filter_stack.h"
#include "core/model/render_profiles.h"
#include "core/model/render_request.h"
#include "core/model/sequence.h"
#include "core/model/track.h"
#include "support/media_checks.h"
#include "support/subprocess.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace atomcut {
namespace {

namespace fs = std::filesystem;
using testing::frame_rgb24;
using testing::run_command;

constexpr int kW = 854, kH = 480;  // draft_480p_fast
constexpr int kSrcW = 320, kSrcH = 180;

std::string temp_dir() {
  static std::string dir = [] {
    std::string pattern = (fs::temp_directory_path() / "face_blur_plan_test.XXXXXX");
    char* made = mkdtemp(pattern.data());
    return made ? std::string(made) : std::string();
  }();
  return dir;
}

RenderSource checker_source() {
  static RenderSource s = [] {
    RenderSource r;
    r.asset_id = "ast_checker";
    r.path = temp_dir() + "/checker.mp4";
    auto c = run_command(
        {"ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
         fmt::format("color=c=black:s={}x{}:r=25:d=4,format=gray,"
                     "geq=lum='if(mod(floor(X/4)+floor(Y/4),2),235,16)',format=yuv420p",
                     kSrcW, kSrcH),
         "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p", r.path});
    EXPECT_EQ(c.exit_code, 0) << c.err;
    r.kind = MediaKind::kVideo;
    r.has_video = true;
    r.width = kSrcW;
    r.height = kSrcH;
    r.duration_ms = 4000;
    return r;
  }();
  return s;
}

// A face moving right at 0.2 of the width per second: x = 0.05 + 0.2 s, y 0.4, 0.12 x 0.2.
FaceBlurTrack moving_face(int points_per_s = 2) {
  FaceBlurTrack t;
  t.track_id = 1;
  for (int k = 0; k <= 4 * points_per_s; ++k) {
    const double s = static_cast<double>(k) / points_per_s;
    t.points.push_back(
        {static_cast<int64_t>(std::lround(s * 1000)), 0.05 + 0.2 * s, 0.4, 0.12, 0.2});
  }
  return t;
}

// Where the face's centre lands in the output (scale_mode fit: 320x180 -> 854x480) at source
// time s.
int face_x_out(double s) { return static_cast<int>((0.05 + 0.2 * s + 0.06) * kW); }
int face_y_out() { return static_cast<int>(0.5 * kH); }

SequenceSnapshot snapshot(int64_t in_ms, int64_t out_ms, double speed, bool with_filter,
                          bool enabled = true) {
  SequenceSnapshot s;
  s.sequence.id = "seq_t";
  s.sequence.project_id = "prj_t";
  s.sequence.name = "t";
  Track t;
  t.id = "trk_v";
  t.sequence_id = "seq_t";
  t.kind = TrackKind::kVideo;
  s.sequence.tracks.push_back(t.id);
  s.tracks.push_back(t);
  Clip c;
  c.id = "clp_face";
  c.track_id = "trk_v";
  c.asset_id = "ast_checker";
  c.in_ms = in_ms;
  c.out_ms = out_ms;
  c.speed = speed;
  s.clips.push_back(c);
  if (with_filter) {
    FilterStack fs;
    fs.id = "fst_1";
    fs.target_type = TargetType::kClip;
    fs.target_id = "clp_face";
    fs.filters.push_back(Filter{"face_blur", {{"strength", 0.8}}, enabled});
    s.filter_stacks.push_back(fs);
  }
  return s;
}

const RenderProfile& draft() { return **find_render_profile("draft_480p_fast"); }

Result<RenderPlan> plan(const SequenceSnapshot& snap,
                        const std::map<std::string, FaceBlurSpec>* fb) {
  static const std::map<std::string, RenderSource> sources = {{"ast_checker", checker_source()}};
  static const RenderRequest req;
  PlannerInput in;
  in.request = &req;
  in.profile = &draft();
  in.snapshot = &snap;
  in.sources = &sources;
  in.face_blur = fb;
  return plan_render(in);
}

std::string render(const RenderPlan& p, const std::string& name) {
  const std::string out = temp_dir() + "/" + name + ".mp4";
  auto r = run_command(p.argv(out, false));
  EXPECT_EQ(r.exit_code, 0) << r.err << "\n" << p.filter_graph();
  return out;
}

// Standard deviation of the luma-ish mean of RGB in the square of side 2*half centred on (x, y).
double contrast(const std::vector<uint8_t>& rgb, int x, int y, int half = 12) {
  double sum = 0, sum2 = 0;
  int n = 0;
  for (int j = y - half; j < y + half; ++j) {
    for (int i = x - half; i < x + half; ++i) {
      if (i < 0 || j < 0 || i >= kW || j >= kH) continue;
      const uint8_t* p = &rgb[(static_cast<size_t>(j) * kW + i) * 3];
      const double v = (p[0] + p[1] + p[2]) / 3.0;
      sum += v;
      sum2 += v * v;
      ++n;
    }
  }
  if (n == 0) return 0;
  const double m = sum / n;
  return std::sqrt(std::max(0.0, sum2 / n - m * m));
}

bool has_blur(const RenderPlan& p) { return p.filter_graph().find("boxblur") != std::string::npos; }

class FaceBlurPlanTest : public ::testing::Test {
 protected:
  static void TearDownTestSuite() {
    std::error_code ec;
    if (!temp_dir().empty()) fs::remove_all(temp_dir(), ec);
  }
};

TEST_F(FaceBlurPlanTest, BlursTheMovingBoxAtTheRightSourceTime) {
  // The clip shows source 1.0 .. 3.0 s: output t is source 1 + t.
  const SequenceSnapshot snap = snapshot(1000, 3000, 1.0, true);
  std::map<std::string, FaceBlurSpec> fb = {
      {"clp_face", FaceBlurSpec{"art_sum", "opencv test", 0.8, 500, {moving_face()}}}};
  auto p = plan(snap, &fb);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_TRUE(has_blur(*p));
  EXPECT_NE(p->filter_graph().find("enable='between(t,"), std::string::npos);
  ASSERT_TRUE(p->meta.contains("face_blur"));
  EXPECT_EQ(p->meta["face_blur"][0]["summary_id"], "art_sum");
  EXPECT_EQ(p->meta["face_blur"][0]["source_offset_s"], "1");
  for (const auto& w : p->meta["warnings"]) {
    EXPECT_NE(w.value("code", ""), "not_rendered_yet") << w.dump();
    EXPECT_NE(w.value("code", ""), "video_regions_missing") << w.dump();
  }
  const std::string out = render(*p, "moving");
  for (double t : {0.3, 1.0, 1.6}) {
    int w = 0, h = 0;
    const auto frame = frame_rgb24(out, t, &w, &h);
    ASSERT_EQ(w, kW);
    const double s = 1.0 + t;
    const double at_face = contrast(frame, face_x_out(s), face_y_out());
    // Where the box would be had the clip's in_ms been ignored (0.8 s earlier: 171 px left).
    const double at_wrong = contrast(frame, face_x_out(t), face_y_out());
    const double far = contrast(frame, 40, 40);
    std::printf("[ figures  ] t %.1f: contrast at face %.1f, at the un-offset box %.1f, far %.1f\n",
                t, at_face, at_wrong, far);
    EXPECT_LT(at_face, 15) << "blurred inside the face box at t " << t;
    const testing::Rgb grey = testing::mean_rgb(frame, w, h, face_x_out(s), face_y_out(), 16);
    EXPECT_TRUE(testing::rgb_near(grey, testing::Rgb{126, 126, 126}, 30))
        << grey << ": the checkerboard averaged, not a blank patch";
    EXPECT_GT(at_wrong, 60) << "sharp where the face is not at t " << t;
    EXPECT_GT(far, 60) << "sharp far from the face at t " << t;
  }
}

TEST_F(FaceBlurPlanTest, SpeedMapsOutputTimeToSourceTime) {
  // Speed 2 over source 1.0 .. 3.0 s: output t is source 1 + 2t.
  const SequenceSnapshot snap = snapshot(1000, 3000, 2.0, true);
  std::map<std::string, FaceBlurSpec> fb = {
      {"clp_face", FaceBlurSpec{"art_sum", "v", 0.8, 500, {moving_face()}}}};
  auto p = plan(snap, &fb);
  ASSERT_TRUE(p.ok()) << p.error().message;
  const std::string out = render(*p, "speed");
  const double t = 0.5;  // source 2.0
  int w = 0, h = 0;
  const auto frame = frame_rgb24(out, t, &w, &h);
  ASSERT_EQ(w, kW);
  EXPECT_LT(contrast(frame, face_x_out(2.0), face_y_out()), 15);
  EXPECT_GT(contrast(frame, face_x_out(1.0) - 60, face_y_out()), 60)
      << "speed ignored would put the box at source 1.5";
}

TEST_F(FaceBlurPlanTest, NoTracksOrNoSummaryMeansNoBlur) {
  const SequenceSnapshot snap = snapshot(0, 2000, 1.0, true);
  // A summary with no faces: nothing to blur, no warning.
  std::map<std::string, FaceBlurSpec> none = {
      {"clp_face", FaceBlurSpec{"art_sum", "v", 0.5, 200, {}}}};
  auto p = plan(snap, &none);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(has_blur(*p));
  EXPECT_TRUE(p->meta["warnings"].empty()) << p->meta["warnings"].dump();
  // No summary at all: rendered unblurred, with the warning naming the asset.
  p = plan(snap, nullptr);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(has_blur(*p));
  ASSERT_EQ(p->meta["warnings"].size(), 1u) << p->meta["warnings"].dump();
  EXPECT_EQ(p->meta["warnings"][0]["code"], "video_regions_missing");
  EXPECT_NE(p->meta["warnings"][0]["message"].get<std::string>().find(
                "video_regions missing for asset ast_checker"),
            std::string::npos);
  // A disabled face_blur, or none: no blur and no warning even with tracks at hand.
  std::map<std::string, FaceBlurSpec> fb = {
      {"clp_face", FaceBlurSpec{"art_sum", "v", 0.8, 500, {moving_face()}}}};
  for (const SequenceSnapshot& s :
       {snapshot(0, 2000, 1.0, true, false), snapshot(0, 2000, 1.0, false)}) {
    p = plan(s, &fb);
    ASSERT_TRUE(p.ok());
    EXPECT_FALSE(has_blur(*p));
    EXPECT_TRUE(p->meta["warnings"].empty()) << p->meta["warnings"].dump();
  }
  // Other filters still say they are not rendered.
  SequenceSnapshot other = snapshot(0, 2000, 1.0, true);
  other.filter_stacks[0].filters.push_back(Filter{"gamma", {{"gamma", 1.2}}, true});
  p = plan(other, &fb);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(has_blur(*p));
  ASSERT_EQ(p->meta["warnings"].size(), 1u);
  EXPECT_EQ(p->meta["warnings"][0]["code"], "not_rendered_yet");
  EXPECT_EQ(p->meta["warnings"][0]["filters"], nlohmann::json::array({"gamma"}));
}

TEST_F(FaceBlurPlanTest, LongTracksKeepTheExpressionBounded) {
  const SequenceSnapshot snap = snapshot(0, 4000, 1.0, true);
  FaceBlurTrack wiggle;
  wiggle.track_id = 3;
  for (int k = 0; k <= 400; ++k) {  // every 10 ms, a zig-zag the reduction cannot flatten
    wiggle.points.push_back({k * 10, 0.3 + 0.05 * ((k / 7) % 2), 0.3, 0.1, 0.15});
  }
  std::map<std::string, FaceBlurSpec> fb = {
      {"clp_face", FaceBlurSpec{"art_sum", "v", 0.5, 10, {wiggle, moving_face(50)}}}};
  auto p = plan(snap, &fb);
  ASSERT_TRUE(p.ok());
  const auto& tracks = p->meta["face_blur"][0]["tracks"];
  ASSERT_EQ(tracks.size(), 2u);
  for (const auto& t : tracks) {
    EXPECT_LE(t["points_used"].get<int>(), static_cast<int>(kFaceBlurMaxPoints)) << t.dump();
  }
  // A straight path needs only its two ends.
  EXPECT_EQ(tracks[1]["points_used"], 2);
  EXPECT_LT(p->filter_graph().size(), 20000u);
  // And ffmpeg accepts it.
  render(*p, "bounded");
}

}  // namespace
}  // namespace atomcut

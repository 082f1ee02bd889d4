// Tests of the visual meta engine on real footage made with the ffmpeg CLI:
//  - shot boundaries: clips of MEDIA.md's videos (opencv-doc, forensics-samples) cut together at
//    known frames (640x360, 25 fps): every cut is in shot_boundaries_ms within +-1 frame and the
//    sample after it is flagged;
//  - subjects: the astronaut photograph panned and zoomed (zoompan, the face box known in every
//    frame, as in face_detector_test.cc): the face is found with IoU >= 0.5 on >= 90% of the
//    samples, under one track id, and is the primary subject;
//  - regions, motion, stub, errors.
// Lines starting "[ figures  ]" are the report.
#include "engines/video/visual_meta.h"

#include "engines/video/face_detector.h"
#include "support/pan_clips.h"
#include "support/subprocess.h"

#include <fmt/format.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>
#include <string>
#include <vector>

namespace atomcut {
namespace {

namespace fs = std::filesystem;
using testing::kAstronautPng;
using testing::pan_clip;
using testing::pan_true_face;
using testing::run_command;
using testing::scratch_dir;

constexpr int kFps = 25;
// The panned astronaut clip of face_detector_test.cc (support/pan_clips.h), 640x360, 25 fps, 4 s;
// reframe_test.cc (same binary) uses the same clip.
const testing::PanClip kAstronautPan = testing::astronaut_pan(100, "ultrafast");

constexpr const char* kVtest = "/usr/share/doc/opencv-doc/examples/data/vtest.avi";
constexpr const char* kTree = "/usr/share/doc/opencv-doc/examples/data/tree.avi";
constexpr const char* kHello = "/usr/share/forensics-samples/original-files/movie2/movie-hello.mp4";

using Segment = testing::FootageSegment;

// Segments at 640x360, 25 fps, joined by hard cuts; truth = first frame of each new shot.
std::string make_cuts(const std::string& name, const std::vector<Segment>& segs,
                      std::vector<int64_t>& truth) {
  return join_footage(scratch_dir() + "/" + name, segs, false, kFps, truth);
}

TEST(VisualMetaTest, ShotBoundariesOnRealFootageAreFrameAccurate) {
  for (const char* p : {kVtest, kTree, kHello}) {
    if (!fs::exists(p)) GTEST_SKIP() << p << " is not installed (opencv-doc, forensics-samples)";
  }
  std::vector<int64_t> truth;
  // Includes a cut between two parts of the same static-camera video.
  const std::string path = make_cuts(
      "cuts.mp4",
      {{kVtest, 0, 47}, {kTree, 0, 38}, {kHello, 1, 55}, {kVtest, 40, 33}, {kTree, 3, 30}}, truth);
  ASSERT_FALSE(path.empty());
  VisualMetaOptions o;
  o.sample_interval_ms = 500;
  auto r = analyze_visual_meta(path, o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& s = r->summary;
  std::string found;
  for (int64_t b : s.shot_boundaries_ms) found += fmt::format("{} ", b);
  std::printf("[ figures  ] cuts at frames %s; found (ms): %s\n",
              fmt::format("{}", fmt::join(truth, ",")).c_str(), found.c_str());
  for (int64_t f : truth) {
    const int64_t t = f * 1000 / kFps;
    const bool hit = std::any_of(s.shot_boundaries_ms.begin(), s.shot_boundaries_ms.end(),
                                 [&](int64_t b) { return std::llabs(b - t) <= 1000 / kFps; });
    EXPECT_TRUE(hit) << "cut at frame " << f << " (" << t << " ms) not found";
    // The first sample at or after the cut is flagged.
    const int64_t k = (t + s.frame_sample_interval_ms - 1) / s.frame_sample_interval_ms;
    if (k < static_cast<int64_t>(s.frames.size())) {
      EXPECT_TRUE(s.frames[static_cast<size_t>(k)].shot_boundary) << "sample " << k;
    }
  }
  EXPECT_LE(s.shot_boundaries_ms.size(), truth.size() + 1);  // at most one false boundary
  EXPECT_EQ(s.shots.size(), s.shot_boundaries_ms.size() + 1);
  EXPECT_TRUE(s.frames.front().shot_boundary);
  EXPECT_EQ(s.frame_sample_interval_ms, 500);
  const int64_t total = 47 + 38 + 55 + 33 + 30;
  EXPECT_NEAR(static_cast<double>(s.duration_ms), total * 40.0, 80.0);
  EXPECT_EQ(r->frame_count, total);
  EXPECT_EQ(s.frames.size(), static_cast<size_t>((total * 40 + 499) / 500));
  for (size_t k = 0; k < s.frames.size(); ++k) {
    EXPECT_EQ(s.frames[k].timestamp_ms, static_cast<int64_t>(k) * 500);
    EXPECT_GE(s.frames[k].motion_score, 0.0);
    EXPECT_LE(s.frames[k].motion_score, 1.0);
  }

  // Without shot detection: only the first sample is flagged.
  o.detect_shot_boundaries = false;
  o.detect_subjects = false;
  auto n = analyze_visual_meta(path, o);
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(n->summary.shot_boundaries_ms.empty());
  for (size_t k = 1; k < n->summary.frames.size(); ++k) {
    EXPECT_FALSE(n->summary.frames[k].shot_boundary);
  }
}

TEST(VisualMetaTest, PannedAstronautFaceIsTrackedAsPrimarySubject) {
  if (!fs::exists(kAstronautPng)) GTEST_SKIP() << "skimage's astronaut.png is not installed";
  const std::string path = pan_clip(kAstronautPan);
  ASSERT_FALSE(path.empty());
  VisualMetaOptions o;
  o.sample_interval_ms = 120;  // every third frame: 34 samples over 4 s
  auto r = analyze_visual_meta(path, o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& frames = r->summary.frames;
  ASSERT_EQ(frames.size(), 34u);
  int good = 0, primary_ok = 0;
  std::set<std::string> ids;
  for (const auto& f : frames) {
    const int on = static_cast<int>(f.timestamp_ms * kFps / 1000);
    const FaceBox truth = pan_true_face(kAstronautPan, on);
    double best = 0;
    for (const auto& s : f.subjects) {
      if (s.label != "face") continue;
      ASSERT_TRUE(s.track_id.has_value());
      ids.insert(*s.track_id);
      best = std::max(best, face_box_iou(truth, {s.bbox_x, s.bbox_y, s.bbox_width, s.bbox_height}));
    }
    good += best >= 0.5;
    const double tx = truth.x + truth.width / 2, ty = truth.y + truth.height / 2;
    primary_ok += std::abs(f.primary_subject_center_x - tx) < truth.width / 2 &&
                  std::abs(f.primary_subject_center_y - ty) < truth.height / 2;
  }
  std::printf(
      "[ figures  ] astronaut pan: face IoU>=0.5 on %d/%zu samples, %zu track id(s), "
      "primary centre inside the true box on %d\n",
      good, frames.size(), ids.size(), primary_ok);
  EXPECT_GE(good, static_cast<int>(std::ceil(0.9 * frames.size())));
  EXPECT_GE(primary_ok, static_cast<int>(std::ceil(0.9 * frames.size())));
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(r->face_track_count, 1);
  // zoompan moves its window in whole input pixels: every few frames the picture jumps (mean
  // difference ~9 against ~3), which the shot detector may take for cuts; reported only.
  std::printf("[ figures  ] astronaut pan: %zu shot boundaries (synthetic zoompan jumps)\n",
              r->summary.shot_boundaries_ms.size());
  EXPECT_GT(frames[5].motion_score, 0.0);  // the camera pans and zooms
}

TEST(VisualMetaTest, StillPictureHasNoMotionAndASalientRegion) {
  // A bright square on a dark picture, still for 2 s: no faces, a salient region on the square.
  const std::string path = scratch_dir() + "/still.mp4";
  auto r = run_command({"ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                        "color=c=0x202020:s=320x180:r=25:d=2", "-vf",
                        "drawbox=x=220:y=40:w=60:h=60:color=white:t=fill", "-c:v", "libx264",
                        "-preset", "ultrafast", "-pix_fmt", "yuv420p", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto a = analyze_visual_meta(path, {});
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_EQ(a->summary.frames.size(), 4u);
  for (const auto& f : a->summary.frames) {
    EXPECT_LT(f.motion_score, 0.02);
    ASSERT_EQ(f.subjects.size(), 1u);
    EXPECT_EQ(f.subjects[0].label, "salient_region");
    EXPECT_FALSE(f.subjects[0].track_id.has_value());
    EXPECT_GT(f.subjects[0].confidence, 0.0);
    EXPECT_LE(f.subjects[0].confidence, 0.6);
    // The square's centre: (250/320, 70/180).
    EXPECT_NEAR(f.primary_subject_center_x, 250.0 / 320, 0.06);
    EXPECT_NEAR(f.primary_subject_center_y, 70.0 / 180, 0.08);
  }
  EXPECT_TRUE(a->summary.shot_boundaries_ms.empty());
}

TEST(VisualMetaTest, MovingSquareIsAMotionRegion) {
  const std::string path = scratch_dir() + "/moving.mp4";
  auto r = run_command({"ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                        "color=c=0x202020:s=320x180:r=25:d=2[bg];color=c=white:s=40x40:r=25[fg];"
                        "[bg][fg]overlay=x='20+t*100':y=60:shortest=1",
                        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto a = analyze_visual_meta(path, {});
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_EQ(a->summary.frames.size(), 4u);
  for (size_t k = 1; k < a->summary.frames.size(); ++k) {
    const auto& f = a->summary.frames[k];
    ASSERT_EQ(f.subjects.size(), 1u);
    EXPECT_EQ(f.subjects[0].label, "motion_region") << k;
    const double t = static_cast<double>(f.timestamp_ms) / 1000;
    EXPECT_NEAR(f.primary_subject_center_x, (40 + t * 100) / 320, 0.08) << k;
    EXPECT_NEAR(f.primary_subject_center_y, 80.0 / 180, 0.1) << k;
    EXPECT_GT(f.motion_score, 0.0);
  }
}

TEST(VisualMetaTest, StubWobblesDeterministically) {
  auto a = stub_visual_meta(5000, 500, 640, 360);
  auto b = stub_visual_meta(5000, 500, 640, 360);
  EXPECT_EQ(a.model_used, "visual_meta_stub_v1");
  ASSERT_EQ(a.summary.frames.size(), 10u);
  EXPECT_EQ(to_json(a.summary), to_json(b.summary));
  EXPECT_TRUE(a.summary.frames[0].shot_boundary);
  bool moved = false;
  for (size_t k = 0; k < a.summary.frames.size(); ++k) {
    const auto& f = a.summary.frames[k];
    EXPECT_EQ(f.timestamp_ms, static_cast<int64_t>(k) * 500);
    EXPECT_NEAR(f.primary_subject_center_x, 0.5, 0.05);
    EXPECT_NEAR(f.primary_subject_center_y, 0.5, 0.05);
    moved |= std::abs(f.primary_subject_center_x - 0.5) > 0.01;
    ASSERT_EQ(f.subjects.size(), 1u);
    EXPECT_EQ(f.subjects[0].label, "frame_center");
    EXPECT_EQ(f.subjects[0].track_id.value_or(""), "dummy_0");
    if (k > 0) EXPECT_FALSE(f.shot_boundary);
  }
  EXPECT_TRUE(moved);
  EXPECT_EQ(stub_visual_meta(0, 500).summary.frames.size(), 1u);
}

TEST(VisualMetaTest, JsonRoundTrip) {
  auto a = stub_visual_meta(2000, 400);
  a.summary.asset_id = "a1";
  a.summary.artifact_id = "x1";
  a.summary.shot_boundaries_ms = {800};
  const nlohmann::json j = to_json(a.summary);
  EXPECT_EQ(j["frames"][0]["subjects"][0]["track_id"], "dummy_0");
  for (const char* k : {"asset_id", "artifact_id", "frames", "duration_ms",
                        "frame_sample_interval_ms", "shot_boundaries_ms", "shots"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
  auto back = visual_meta_summary_from_json(j);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(to_json(*back), j);
  EXPECT_FALSE(visual_meta_summary_from_json(nlohmann::json::array()).ok());
}

TEST(VisualMetaTest, BadInputsAreClearErrors) {
  auto missing = analyze_visual_meta("/nonexistent/video.mp4");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);

  const std::string corrupt = scratch_dir() + "/corrupt.mp4";
  {
    std::ofstream f(corrupt, std::ios::binary);
    f << "this is not a video at all, just text pretending to be an mp4 file";
  }
  auto c = analyze_visual_meta(corrupt);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);

  const std::string audio = scratch_dir() + "/tone.wav";
  auto r = run_command({"ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                        "sine=frequency=440:duration=1", audio});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto a = analyze_visual_meta(audio);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(a.error().details.value("reason", ""), "no_video_stream");

  VisualMetaOptions o;
  o.sample_interval_ms = 10;
  auto bad = analyze_visual_meta(audio, o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().details.value("field", ""), "sample_interval_ms");
  o = {};
  o.min_confidence = 2;
  EXPECT_FALSE(validate(o).ok());
  o = {};
  o.face_backend = "nope";
  const std::string still = scratch_dir() + "/still.mp4";
  if (fs::exists(still)) {
    auto nb = analyze_visual_meta(still, o);
    ASSERT_FALSE(nb.ok());
    EXPECT_EQ(nb.error().code, ErrorCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace atomcut

// Tests of the face region engine: analysis of a real panned and zoomed face video (the
// astronaut photograph of MEDIA.md through ffmpeg's zoompan, true face box known in every frame),
// the summary document, and the L-mode face masks.
#include "engines/video/region_analysis.h"

#include "support/pan_clips.h"
#include "support/subprocess.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace atomcut {
namespace {

using atomcut::testing::run_command;
using atomcut::testing::scratch_dir;

constexpr int kWidth = 640;
constexpr int kHeight = 360;
constexpr int kFps = 25;
constexpr int kFrames = 75;  // 3 s

// The astronaut clip of face_detector_test.cc (support/pan_clips.h), 3 s: zoom 1 -> 1.8, the face
// centre moving from 30% to 70% of the window's width.
const atomcut::testing::PanClip kAstronautPan = atomcut::testing::astronaut_pan(kFrames);

FaceBox true_face(int on) { return atomcut::testing::pan_true_face(kAstronautPan, on); }

const std::string& astronaut_video() {
  static std::string path = atomcut::testing::pan_clip(kAstronautPan);
  return path;
}

const RegionAnalysis& astronaut_analysis() {
  static RegionAnalysis a = [] {
    auto r = analyse_face_regions(astronaut_video(), RegionAnalysisOptions{});
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? std::move(r).value() : RegionAnalysis{};
  }();
  return a;
}

// The clip and scratch files are removed at exit (support/pan_clips.h).
class RegionAnalysisTest : public ::testing::Test {};

TEST_F(RegionAnalysisTest, PannedZoomedFaceRecallAndOneStableTrack) {
  const RegionAnalysis& a = astronaut_analysis();
  EXPECT_EQ(a.width, kWidth);
  EXPECT_EQ(a.height, kHeight);
  EXPECT_EQ(a.backend, "opencv_face_detector");
  EXPECT_EQ(a.backend_version, "opencv 4.6.0 haarcascade_frontalface_alt2");
  EXPECT_NEAR(a.duration_ms, 3000, 50);
  ASSERT_EQ(a.sample_times_ms.size(), 15u);  // 0, 200, ... 2800
  ASSERT_FALSE(a.tracks.empty());
  // Recall at IoU 0.5: samples where some track's box matches the true face.
  int found = 0;
  int by_first_track = 0;
  for (int64_t t : a.sample_times_ms) {
    const FaceBox truth = true_face(static_cast<int>(t * kFps / 1000));
    bool hit = false;
    for (const FaceTrack& track : a.tracks) {
      for (const FaceTrackPoint& p : track.points) {
        if (p.pts_ms == t && face_box_iou(p.box, truth) >= 0.5) {
          hit = true;
          if (track.track_id == 1) ++by_first_track;
        }
      }
    }
    found += hit;
  }
  const double recall = static_cast<double>(found) / a.sample_times_ms.size();
  std::printf("[ figures  ] region recall@IoU0.5 %.3f (%d/%zu), tracks %zu, track 1 covers %d\n",
              recall, found, a.sample_times_ms.size(), a.tracks.size(), by_first_track);
  EXPECT_GE(recall, 0.9);
  EXPECT_EQ(a.tracks.front().track_id, 1);
  EXPECT_GE(by_first_track, 0.9 * a.sample_times_ms.size()) << "one stable id for the face";
  EXPECT_LE(a.tracks.size(), 2u);
}

TEST_F(RegionAnalysisTest, SummaryDocumentAndRoundTrip) {
  const RegionAnalysis& a = astronaut_analysis();
  const nlohmann::json doc = region_summary_json(a, "ast_x");
  EXPECT_EQ(doc["asset_id"], "ast_x");
  EXPECT_EQ(doc["frame_sample_interval_ms"], kRegionDefaultIntervalMs);
  EXPECT_EQ(doc["face_count"], a.tracks.size());
  EXPECT_EQ(doc["width"], kWidth);
  EXPECT_EQ(doc["frames"].size(), a.sample_times_ms.size());
  ASSERT_FALSE(doc["tracks"].empty());
  const auto& t = doc["tracks"][0];
  EXPECT_EQ(t["label"], "face");
  EXPECT_EQ(t["track_id"], 1);
  EXPECT_LE(t["first_ms"].get<int64_t>(), t["last_ms"].get<int64_t>());
  for (const char* f :
       {"t_ms", "bbox_x", "bbox_y", "bbox_width", "bbox_height", "confidence", "interpolated"}) {
    EXPECT_TRUE(t["points"][0].contains(f)) << f;
  }
  int regions = 0;
  for (const auto& f : doc["frames"]) regions += static_cast<int>(f["regions"].size());
  size_t points = 0;
  for (const auto& tr : a.tracks) points += tr.points.size();
  EXPECT_EQ(static_cast<size_t>(regions), points);

  auto back = face_tracks_from_summary(doc);
  ASSERT_TRUE(back.ok()) << back.error().message;
  ASSERT_EQ(back->size(), a.tracks.size());
  EXPECT_EQ((*back)[0].points.size(), a.tracks[0].points.size());
  EXPECT_NEAR((*back)[0].points[3].box.x, a.tracks[0].points[3].box.x, 1e-6);
  EXPECT_EQ(face_track_selection_hash((*back)[0]).size(), 64u);
  EXPECT_FALSE(face_tracks_from_summary(nlohmann::json{{"tracks", 3}}).ok());
  EXPECT_FALSE(face_tracks_from_summary(nlohmann::json::array()).ok());
}

// The mask as raw gray pixels (decoded by the ffmpeg CLI) and the PNG header.
struct DecodedMask {
  std::vector<uint8_t> pixels;
  int color_type = -1;
  int bit_depth = -1;
  std::string pix_fmt;
};

DecodedMask decode_mask(const std::string& path) {
  DecodedMask m;
  std::ifstream f(path, std::ios::binary);
  std::vector<char> head(33);
  f.read(head.data(), 33);
  // Signature (8) + IHDR length (4) + "IHDR" (4) + width (4) + height (4) + depth + colour type.
  if (f.gcount() == 33 && std::string(head.data() + 12, 4) == "IHDR") {
    m.bit_depth = static_cast<uint8_t>(head[24]);
    m.color_type = static_cast<uint8_t>(head[25]);
  }
  auto r =
      run_command({"ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "gray", "-"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  m.pixels.assign(r.out.begin(), r.out.end());
  auto p = run_command({"ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                        "stream=pix_fmt", "-of", "default=nw=1:nk=1", path});
  m.pix_fmt = p.out.substr(0, p.out.find('\n'));
  return m;
}

TEST_F(RegionAnalysisTest, MaskIsLModePngWithFeatheredEdge) {
  FaceTrack track;
  track.track_id = 1;
  track.points.push_back({0, FaceBox{0.25, 0.25, 0.25, 0.5}, 0.9, false});
  track.points.push_back({200, FaceBox{0.30, 0.25, 0.25, 0.5}, 0.9, false});
  const int w = 160, h = 90;
  const std::string sharp = scratch_dir() + "/sharp.png";
  const std::string soft = scratch_dir() + "/soft.png";
  ASSERT_TRUE(write_face_mask(track, w, h, 0, sharp).ok());
  ASSERT_TRUE(write_face_mask(track, w, h, 6, soft).ok());
  const DecodedMask a = decode_mask(sharp);
  const DecodedMask b = decode_mask(soft);
  EXPECT_EQ(a.color_type, 0) << "PNG colour type 0: greyscale (L mode)";
  EXPECT_EQ(a.bit_depth, 8);
  EXPECT_EQ(b.color_type, 0);
  EXPECT_EQ(a.pix_fmt, "gray");
  ASSERT_EQ(a.pixels.size(), static_cast<size_t>(w * h));
  ASSERT_EQ(b.pixels.size(), static_cast<size_t>(w * h));
  auto at = [w](const DecodedMask& m, int x, int y) { return m.pixels[y * w + x]; };
  // The union of the two boxes: x 40..88, y 22..68 (pixels).
  EXPECT_EQ(at(a, 64, 45), 255);
  EXPECT_EQ(at(a, 86, 45), 255);  // only in the second box
  EXPECT_EQ(at(a, 10, 10), 0);
  EXPECT_EQ(at(a, 150, 80), 0);
  EXPECT_EQ(at(b, 64, 45), 255);
  EXPECT_EQ(at(b, 10, 10), 0);
  int soft_sharp = 0, soft_soft = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) {
    soft_sharp += a.pixels[i] != 0 && a.pixels[i] != 255;
    soft_soft += b.pixels[i] != 0 && b.pixels[i] != 255;
  }
  EXPECT_EQ(soft_sharp, 0) << "no feather: a hard edge";
  EXPECT_GE(soft_soft, 300) << "the feather makes a ramp along the whole edge";
  // Across the left edge (x = 40) the feathered mask ramps up.
  EXPECT_GT(at(b, 40, 45), 40);
  EXPECT_LT(at(b, 40, 45), 215);
  EXPECT_LT(at(b, 36, 45), at(b, 40, 45));
  EXPECT_LT(at(b, 40, 45), at(b, 44, 45));

  EXPECT_FALSE(write_face_mask(track, 0, h, 0, sharp).ok());
  EXPECT_FALSE(write_face_mask(track, w, h, -1, sharp).ok());
  EXPECT_FALSE(write_face_mask(FaceTrack{}, w, h, 0, sharp).ok());
}

TEST_F(RegionAnalysisTest, StubBackendFindsNothingAndSaysSo) {
  RegionAnalysisOptions o;
  o.backend = "stub";
  auto r = analyse_face_regions(astronaut_video(), o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->tracks.empty());
  EXPECT_NE(r->backend_version.find("stub"), std::string::npos);
  EXPECT_EQ(r->sample_times_ms.size(), 15u);
  EXPECT_EQ(region_summary_json(*r, "a")["face_count"], 0);
}

TEST_F(RegionAnalysisTest, NoFacesInTestPattern) {
  const std::string path = scratch_dir() + "/testsrc2.mp4";
  auto c = run_command({"ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc2=s=320x180:r=25:d=2", "-c:v", "libx264", "-preset", "veryfast",
                        "-pix_fmt", "yuv420p", path});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  auto r = analyse_face_regions(path, RegionAnalysisOptions{});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->tracks.empty());
  EXPECT_EQ(r->width, 320);
}

TEST_F(RegionAnalysisTest, BadInputs) {
  RegionAnalysisOptions o;
  o.sample_interval_ms = 5;
  auto r = analyse_face_regions(astronaut_video(), o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().details["field"], "sample_interval_ms");
  o = {};
  o.min_confidence = 2;
  EXPECT_EQ(analyse_face_regions(astronaut_video(), o).error().details["field"], "min_confidence");
  o = {};
  o.backend = "yolo";
  r = analyse_face_regions(astronaut_video(), o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);

  const std::string wav = scratch_dir() + "/tone.wav";
  ASSERT_EQ(run_command({"ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                         "sine=frequency=440:duration=1", wav})
                .exit_code,
            0);
  r = analyse_face_regions(wav, RegionAnalysisOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().details["reason"], "no_video_stream");

  const std::string junk = scratch_dir() + "/junk.mp4";
  std::ofstream(junk) << "this is not a video at all";
  r = analyse_face_regions(junk, RegionAnalysisOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace atomcut

// The shot detector on synthetic frames (static pictures, cuts, linear dissolves, fades, flashes)
// and on videos cut together with the ffmpeg CLI from the real footage in MEDIA.md at known frames
// (hard cuts, some between two parts of the same static-camera video, and 1 s dissolves):
// precision, recall and F1 at 0 and +-1 frame, printed beside ffmpeg's scdet filter on the same
// files.
#include "engines/video/shot_detector.h"

#include "support/media_fixtures.h"
#include "support/pan_clips.h"
#include "support/subprocess.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace atomcut {
namespace {

namespace fs = std::filesystem;
using testing::run_command;

constexpr int kFps = 25;
constexpr const char* kVtest = "/usr/share/doc/opencv-doc/examples/data/vtest.avi";
constexpr const char* kTree = "/usr/share/doc/opencv-doc/examples/data/tree.avi";
constexpr const char* kHello = "/usr/share/forensics-samples/original-files/movie2/movie-hello.mp4";
constexpr const char* kPhone =
    "/usr/share/forensics-samples/original-files/movie1/VID_20191220_170832.mp4";

// ---- synthetic frames ----

VideoFrame gray_frame(int64_t index, int w, int h, const std::vector<uint8_t>& pixels) {
  VideoFrame f;
  f.index = index;
  f.pts_ms = index * 40;
  f.width = w;
  f.height = h;
  f.layout = PixelLayout::kGray8;
  f.pixels = pixels;
  return f;
}

// A textured picture (seeded), different per seed.
std::vector<uint8_t> texture(int w, int h, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> p(static_cast<size_t>(w) * h);
  // Smooth blobs, so that a small shift is small motion.
  std::vector<double> cx(6), cy(6), amp(6);
  for (int i = 0; i < 6; ++i) {
    cx[i] = rng() % w;
    cy[i] = rng() % h;
    amp[i] = 40.0 + rng() % 80;
  }
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      double v = 60;
      for (int i = 0; i < 6; ++i) {
        const double d2 = (x - cx[i]) * (x - cx[i]) + (y - cy[i]) * (y - cy[i]);
        v += amp[i] * std::exp(-d2 / (2.0 * 25.0 * 25.0));
      }
      p[static_cast<size_t>(y) * w + x] = static_cast<uint8_t>(std::clamp(v, 0.0, 255.0));
    }
  }
  return p;
}

std::vector<uint8_t> shifted(const std::vector<uint8_t>& p, int w, int h, int dx) {
  std::vector<uint8_t> out(p.size());
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      out[static_cast<size_t>(y) * w + x] =
          p[static_cast<size_t>(y) * w + std::clamp(x - dx, 0, w - 1)];
    }
  }
  return out;
}

std::vector<uint8_t> blend(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, double t) {
  std::vector<uint8_t> out(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    out[i] = static_cast<uint8_t>(std::lround(a[i] * (1 - t) + b[i] * t));
  }
  return out;
}

std::vector<ShotBoundary> run(const std::vector<VideoFrame>& frames, ShotDetectorOptions o = {}) {
  auto d = ShotDetector::create(o);
  EXPECT_TRUE(d.ok());
  std::vector<ShotBoundary> out;
  for (const VideoFrame& f : frames) {
    auto m = (*d)->push(f);
    EXPECT_TRUE(m.ok()) << m.error().message;
    for (auto& b : (*d)->take_boundaries()) out.push_back(b);
  }
  (*d)->finish();
  for (auto& b : (*d)->take_boundaries()) out.push_back(b);
  return out;
}

TEST(ShotDetectorTest, StaticVideoHasNoBoundaries) {
  const int w = 160, h = 90;
  const auto pic = texture(w, h, 1);
  std::vector<VideoFrame> frames;
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) {
    auto p = pic;
    for (auto& v : p) v = static_cast<uint8_t>(std::clamp(int(v) + int(rng() % 5) - 2, 0, 255));
    frames.push_back(gray_frame(i, w, h, p));
  }
  EXPECT_TRUE(run(frames).empty());
}

TEST(ShotDetectorTest, SyntheticCutsDissolvesAndMotion) {
  const int w = 128, h = 72;
  std::vector<std::vector<uint8_t>> pics;
  for (uint32_t s = 0; s < 4; ++s) pics.push_back(texture(w, h, 100 + s));
  std::vector<VideoFrame> frames;
  int64_t n = 0;
  auto add = [&](const std::vector<uint8_t>& p) { frames.push_back(gray_frame(n++, w, h, p)); };
  // Shot 0 with panning (motion), a cut at 50, shot 1, a 25-frame dissolve 100..124 into shot 2,
  // a cut at 200 into shot 3.
  for (int i = 0; i < 50; ++i) add(shifted(pics[0], w, h, i / 2));
  for (int i = 0; i < 50; ++i) add(pics[1]);
  for (int i = 0; i < 25; ++i) add(blend(pics[1], pics[2], (i + 1) / 26.0));
  for (int i = 0; i < 75; ++i) add(pics[2]);
  for (int i = 0; i < 50; ++i) add(pics[3]);
  const auto b = run(frames);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].kind, ShotBoundaryKind::kCut);
  EXPECT_EQ(b[0].frame_index, 50);
  EXPECT_EQ(b[0].time_ms, 2000);
  EXPECT_EQ(b[1].kind, ShotBoundaryKind::kGradual);
  EXPECT_NEAR(static_cast<double>(b[1].frame_index), 112, 2);
  EXPECT_LE(b[1].transition_start_index, 105);
  EXPECT_GE(b[1].transition_end_index, 120);
  EXPECT_EQ(b[2].kind, ShotBoundaryKind::kCut);
  EXPECT_EQ(b[2].frame_index, 200);
}

TEST(ShotDetectorTest, FadeToBlackAndBackIsNotAFlood) {
  const int w = 128, h = 72;
  const auto a = texture(w, h, 5);
  const auto b = texture(w, h, 6);
  const std::vector<uint8_t> black(a.size(), 16);
  std::vector<VideoFrame> frames;
  int64_t n = 0;
  auto add = [&](const std::vector<uint8_t>& p) { frames.push_back(gray_frame(n++, w, h, p)); };
  for (int i = 0; i < 50; ++i) add(a);
  for (int i = 0; i < 25; ++i) add(blend(a, black, (i + 1) / 25.0));
  for (int i = 0; i < 5; ++i) add(black);
  for (int i = 0; i < 25; ++i) add(blend(black, b, (i + 1) / 25.0));
  for (int i = 0; i < 50; ++i) add(b);
  const auto found = run(frames);
  EXPECT_GE(found.size(), 1u);
  EXPECT_LE(found.size(), 2u);
  for (const auto& x : found) EXPECT_EQ(x.kind, ShotBoundaryKind::kGradual);
}

TEST(ShotDetectorTest, FlashIsNotACut) {
  const int w = 128, h = 72;
  const auto a = texture(w, h, 9);
  std::vector<uint8_t> flash(a.size(), 250);
  std::vector<VideoFrame> frames;
  for (int i = 0; i < 100; ++i) frames.push_back(gray_frame(i, w, h, i == 50 ? flash : a));
  EXPECT_TRUE(run(frames).empty());
}

TEST(ShotDetectorTest, MotionScoreIsMeanAbsoluteDifference) {
  auto d = ShotDetector::create({});
  ASSERT_TRUE(d.ok());
  const int w = 64, h = 36;
  auto m0 = (*d)->push(gray_frame(0, w, h, std::vector<uint8_t>(w * h, 100)));
  ASSERT_TRUE(m0.ok());
  EXPECT_EQ(m0->motion, 0.0);
  auto m1 = (*d)->push(gray_frame(1, w, h, std::vector<uint8_t>(w * h, 110)));
  ASSERT_TRUE(m1.ok());
  EXPECT_NEAR(m1->motion, 10.0, 1e-6);
  EXPECT_EQ(m1->frame_index, 1);
  EXPECT_EQ(m1->pts_ms, 40);
  // rgb24 frames of another size work too (luma of the grid).
  VideoFrame rgb;
  rgb.index = 2;
  rgb.pts_ms = 80;
  rgb.width = 320;
  rgb.height = 180;
  rgb.layout = PixelLayout::kRgb24;
  rgb.pixels.assign(320 * 180 * 3, 110);
  auto m2 = (*d)->push(rgb);
  ASSERT_TRUE(m2.ok());
  EXPECT_NEAR(m2->motion, 0.0, 0.01);
}

TEST(ShotDetectorTest, InvalidArguments) {
  ShotDetectorOptions o;
  o.grid_width = 2;
  auto bad = ShotDetector::create(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().details.value("field", ""), "grid_width");
  o = {};
  o.gradual_coherence = 1.5;
  EXPECT_FALSE(ShotDetector::create(o).ok());
  auto d = ShotDetector::create({});
  ASSERT_TRUE(d.ok());
  VideoFrame empty;
  EXPECT_FALSE((*d)->push(empty).ok());
  VideoFrame wrong = gray_frame(0, 10, 10, std::vector<uint8_t>(99));
  auto r = (*d)->push(wrong);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().details.value("field", ""), "frame.pixels");
  ASSERT_TRUE((*d)->push(gray_frame(5, 10, 10, std::vector<uint8_t>(100))).ok());
  auto back = (*d)->push(gray_frame(4, 10, 10, std::vector<uint8_t>(100)));
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.error().details.value("field", ""), "frame.pts_ms");
  auto missing = detect_shots("/nonexistent/video.mp4");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

// ---- real footage cut together at known frames ----

using Segment = testing::FootageSegment;  // frames at kFps

struct Prf {
  int tp = 0, fp = 0, fn = 0;
  double p() const { return tp + fp ? double(tp) / (tp + fp) : 1.0; }
  double r() const { return tp + fn ? double(tp) / (tp + fn) : 1.0; }
  double f1() const { return p() + r() > 0 ? 2 * p() * r() / (p() + r()) : 0.0; }
  void add(const Prf& o) {
    tp += o.tp;
    fp += o.fp;
    fn += o.fn;
  }
};

// Greedy one-to-one matching of detections to truths within +-tol frames.
Prf score(const std::vector<int64_t>& truth, std::vector<int64_t> found, int tol) {
  Prf s;
  std::sort(found.begin(), found.end());
  std::vector<bool> used(found.size(), false);
  for (int64_t t : truth) {
    int best = -1;
    for (size_t i = 0; i < found.size(); ++i) {
      if (used[i] || std::llabs(found[i] - t) > tol) continue;
      if (best < 0 || std::llabs(found[i] - t) < std::llabs(found[best] - t)) best = int(i);
    }
    if (best >= 0) {
      used[best] = true;
      ++s.tp;
    } else {
      ++s.fn;
    }
  }
  for (bool u : used) s.fp += u ? 0 : 1;
  return s;
}

// Frames ffmpeg's scdet (threshold 10) marks as scene changes.
std::vector<int64_t> scdet_frames(const std::string& path) {
  auto r = run_command({"ffmpeg", "-nostdin", "-hide_banner", "-i", path, "-vf",
                        "scdet=threshold=10", "-f", "null", "-"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<int64_t> out;
  const std::string key = "lavfi.scd.time: ";
  for (size_t p = r.err.find(key); p != std::string::npos; p = r.err.find(key, p + 1)) {
    out.push_back(std::llround(std::atof(r.err.c_str() + p + key.size()) * kFps));
  }
  return out;
}

class ShotDetectorRealFootageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string tmpl = (fs::temp_directory_path() / "atomcut-shot-detector-test-XXXXXX").string();
    if (mkdtemp(tmpl.data())) dir_ = tmpl;
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    if (!dir_.empty() && !std::getenv("ATOMCUT_KEEP_TEST_DATA")) fs::remove_all(dir_, ec);
  }
  void SetUp() override {
    for (const char* p : {kVtest, kTree, kHello, kPhone}) {
      if (!fs::exists(p)) GTEST_SKIP() << p << " is not installed (opencv-doc, forensics-samples)";
    }
    ASSERT_FALSE(dir_.empty());
  }

  // The segments scaled to 640x360 at 25 fps, each exactly `frames` long; joined by hard cuts, or
  // by 1 s dissolves (xfade fade) when `dissolve`. Returns the path, and the truth: the first
  // frame of each new shot (cuts) or each dissolve's middle frame.
  static std::string make(const std::string& name, const std::vector<Segment>& segs, bool dissolve,
                          std::vector<int64_t>& truth) {
    return join_footage(dir_ + "/" + name, segs, dissolve, kFps, truth);
  }

  static std::string dir_;
};

std::string ShotDetectorRealFootageTest::dir_;

TEST_F(ShotDetectorRealFootageTest, CutsAndDissolvesBesideScdet) {
  // Cross-source cuts, and same-camera cuts (vtest at different times, tree at different times).
  const std::vector<Segment> mixed = {
      {kVtest, 10, 50}, {kVtest, 42, 50}, {kTree, 2, 50},   {kVtest, 25, 45}, {kVtest, 60, 50},
      {kHello, 1, 50},  {kVtest, 12, 40}, {kVtest, 45, 40}, {kPhone, 0, 30},  {kTree, 10, 50},
      {kVtest, 70, 50}, {kHello, 5, 40},  {kTree, 16, 45},
  };
  const std::vector<Segment> same_camera = {
      {kVtest, 5, 40},  {kVtest, 30, 40}, {kVtest, 50, 40}, {kVtest, 75, 40},
      {kVtest, 20, 40}, {kTree, 3, 40},   {kTree, 12, 40},  {kTree, 1, 40},
  };
  const std::vector<Segment> dissolves = {
      {kVtest, 10, 75}, {kTree, 2, 75},   {kHello, 1, 75},
      {kVtest, 40, 75}, {kVtest, 65, 75}, {kTree, 12, 75},
  };
  struct File {
    std::string name;
    std::vector<int64_t> truth;
    bool dissolve;
    std::string path;
  };
  std::vector<File> files = {{"cuts_mixed.mp4", {}, false, ""},
                             {"cuts_same_camera.mp4", {}, false, ""},
                             {"dissolves.mp4", {}, true, ""}};
  files[0].path = make(files[0].name, mixed, false, files[0].truth);
  files[1].path = make(files[1].name, same_camera, false, files[1].truth);
  files[2].path = make(files[2].name, dissolves, true, files[2].truth);
  for (const File& f : files) ASSERT_FALSE(f.path.empty()) << f.name;

  std::map<std::string, Prf> ours, theirs;  // key: "cut/0", "cut/1", "dissolve/0", ...
  for (const File& f : files) {
    auto r = detect_shots(f.path);
    ASSERT_TRUE(r.ok()) << r.error().message;
    std::vector<int64_t> found;
    std::string listing;
    for (const auto& b : r->boundaries) {
      found.push_back(b.frame_index);
      listing += fmt::format(" {}{}", b.frame_index, b.kind == ShotBoundaryKind::kCut ? "c" : "g");
    }
    const std::vector<int64_t> sc = scdet_frames(f.path);
    std::string truth_listing;
    for (int64_t t : f.truth) truth_listing += fmt::format(" {}", t);
    std::string sc_listing;
    for (int64_t t : sc) sc_listing += fmt::format(" {}", t);
    std::cout << f.name << " (" << r->frame_count << " frames)\n  truth:" << truth_listing
              << "\n  ours: " << listing << "\n  scdet:" << sc_listing << "\n";
    const std::string kind = f.dissolve ? "dissolve" : "cut";
    for (int tol : {0, 1}) {
      ours[fmt::format("{}/{}", kind, tol)].add(score(f.truth, found, tol));
      theirs[fmt::format("{}/{}", kind, tol)].add(score(f.truth, sc, tol));
    }
    if (f.dissolve) {  // anywhere inside the 1 s transition
      ours["dissolve/in"].add(score(f.truth, found, kFps / 2));
      theirs["dissolve/in"].add(score(f.truth, sc, kFps / 2));
    }
  }
  std::cout << fmt::format("{:<22} {:>24} {:>24}\n", "", "ours P / R / F1", "scdet=10 P / R / F1");
  for (const auto& [key, o] : ours) {
    const Prf& t = theirs[key];
    std::cout << fmt::format("{:<22} {:>6.3f} {:>6.3f} {:>6.3f}     {:>6.3f} {:>6.3f} {:>6.3f}\n",
                             key == "dissolve/in" ? "dissolve/in transition"
                             : key.back() == '0'  ? key.substr(0, key.find('/')) + " exact"
                                                  : key.substr(0, key.find('/')) + " +-1 frame",
                             o.p(), o.r(), o.f1(), t.p(), t.r(), t.f1());
  }
  EXPECT_GE(ours["cut/1"].f1(), 0.95);
}

TEST_F(ShotDetectorRealFootageTest, UneditedFootageHasAlmostNoBoundaries) {
  // Each recording is one shot. vtest.avi has one discontinuity of its own at 40.4 s (a jump,
  // after which its frames barely change), which counts as a cut: at most one per file.
  for (const char* path : {kVtest, kTree, kHello, kPhone}) {
    auto r = detect_shots(path);
    ASSERT_TRUE(r.ok()) << r.error().message;
    std::string listing;
    for (const auto& b : r->boundaries)
      listing += fmt::format(" {}@{}ms", b.frame_index, b.time_ms);
    std::cout << path << ": " << r->frame_count << " frames, boundaries:" << listing << "\n";
    EXPECT_LE(r->boundaries.size(), 1u) << path << listing;
    EXPECT_EQ(static_cast<int64_t>(r->motion.size()), r->frame_count);
  }
}

}  // namespace
}  // namespace atomcut

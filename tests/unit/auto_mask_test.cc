// Auto masks (GrabCut) on pictures made here with exact ground truth: a textured coloured object on
// a textured background, cut out from a box (IoU >= 0.9) and from points (IoU >= 0.8); negative
// points remove a region; large pictures run at the working size and come back full size;
// feathering softens only the edge; the PNG is single-channel (ffprobe: gray) and lossless. A real
// photograph (skimage's coffee.png) is checked against a loose known outline. Bad prompts are
// refused.
#include "engines/video/auto_mask.h"
#include "engines/video/frame_sampler.h"
#include "support/subprocess.h"
#include "support/test_server.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <random>

namespace atomcut {
namespace {

using testing::run_command;
using testing::TempDir;

constexpr const char* kCoffeePng = "/usr/lib/python3/dist-packages/skimage/data/coffee.png";

struct Scene {
  VideoFrame picture;
  std::vector<uint8_t> truth;  // 255 on the object
};

uint8_t clamp8(double v) { return static_cast<uint8_t>(std::clamp(v, 0.0, 255.0)); }

// A picture w x h: a background of green-grey-blue blotches with fine noise, and objects painted by
// `paint` (returns the colour of the object at (x, y), or nullopt) with their own grain.
Scene make_scene(int w, int h, uint32_t seed,
                 const std::function<std::optional<std::array<double, 3>>(double, double)>& paint) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> grain(0, 14);
  std::uniform_real_distribution<double> phase(0, 6.283);
  const double p1 = phase(rng), p2 = phase(rng), p3 = phase(rng);
  Scene s;
  s.picture.width = w;
  s.picture.height = h;
  s.picture.layout = PixelLayout::kRgb24;
  s.picture.pixels.resize(static_cast<size_t>(w) * h * 3);
  s.truth.assign(static_cast<size_t>(w) * h, 0);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const double u = static_cast<double>(x) / w;
      const double v = static_cast<double>(y) / h;
      std::array<double, 3> c;
      if (auto o = paint(u, v)) {
        c = *o;
        s.truth[static_cast<size_t>(y) * w + x] = 255;
      } else {
        const double b1 = std::sin(u * 23 + p1) * std::cos(v * 17 + p2);
        const double b2 = std::sin((u + v) * 31 + p3);
        c = {115 + 60 * b1 + 20 * b2, 115 + 40 * b2 - 20 * b1, 95 + 50 * b1 * b2};
      }
      uint8_t* px = &s.picture.pixels[(static_cast<size_t>(y) * w + x) * 3];
      for (int k = 0; k < 3; ++k) px[k] = clamp8(c[static_cast<size_t>(k)] + grain(rng));
    }
  }
  return s;
}

// An orange-red blob (an ellipse and a rectangle overlapping) centred near (0.55, 0.5).
std::optional<std::array<double, 3>> blob(double u, double v) {
  const double ex = (u - 0.52) / 0.2, ey = (v - 0.5) / 0.28;
  const bool ellipse = ex * ex + ey * ey <= 1;
  const bool rect = u >= 0.6 && u <= 0.78 && v >= 0.55 && v <= 0.8;
  if (!ellipse && !rect) return std::nullopt;
  return std::array<double, 3>{215 + 20 * std::sin(v * 40), 80 + 15 * std::sin(u * 50), 40};
}

// A red square with a blue square attached on its right.
std::optional<std::array<double, 3>> red_and_blue(double u, double v) {
  if (v < 0.3 || v > 0.7) return std::nullopt;
  if (u >= 0.2 && u < 0.5) return std::array<double, 3>{210, 50, 45};
  if (u >= 0.5 && u <= 0.75) return std::array<double, 3>{40, 60, 220};
  return std::nullopt;
}

double coverage_where(const AutoMask& m, const std::function<bool(double, double)>& region) {
  size_t in = 0, total = 0;
  for (int y = 0; y < m.height; ++y) {
    for (int x = 0; x < m.width; ++x) {
      if (!region((x + 0.5) / m.width, (y + 0.5) / m.height)) continue;
      ++total;
      in += m.alpha[static_cast<size_t>(y) * m.width + x] >= 128;
    }
  }
  return total ? static_cast<double>(in) / total : 0;
}

TEST(AutoMaskTest, BoxPromptCutsOutTheObject) {
  Scene s = make_scene(480, 360, 1, blob);
  MaskPrompt q;
  q.box = MaskBox{0.28, 0.18, 0.54, 0.66};  // the blob spans x 0.32..0.78, y 0.22..0.8
  auto m = segment_object(s.picture, q);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->width, 480);
  EXPECT_EQ(m->height, 360);
  const double iou = mask_iou(m->alpha, s.truth);
  std::printf("[ figure ] box prompt IoU %.3f (coverage %.3f)\n", iou, m->coverage);
  EXPECT_GE(iou, 0.9);
  // Binary without feathering.
  for (uint8_t a : m->alpha) ASSERT_TRUE(a == 0 || a == 255);
}

TEST(AutoMaskTest, PointPromptsCutOutTheObject) {
  Scene s = make_scene(480, 360, 2, blob);
  MaskPrompt q;
  q.points = {{0.5, 0.45, true}, {0.68, 0.7, true}, {0.45, 0.65, true}};
  auto m = segment_object(s.picture, q);
  ASSERT_TRUE(m.ok()) << m.error().message;
  const double iou = mask_iou(m->alpha, s.truth);
  std::printf("[ figure ] three positive points IoU %.3f\n", iou);
  EXPECT_GE(iou, 0.8);

  MaskPrompt one;
  one.points = {{0.5, 0.5, true}};
  auto m1 = segment_object(s.picture, one);
  ASSERT_TRUE(m1.ok()) << m1.error().message;
  const double iou1 = mask_iou(m1->alpha, s.truth);
  std::printf("[ figure ] one positive point IoU %.3f\n", iou1);
  EXPECT_GE(iou1, 0.8);

  // A stroke along the object works like points.
  MaskPrompt stroke;
  stroke.strokes = {{{{0.42, 0.4, true}, {0.55, 0.55, true}, {0.7, 0.72, true}}, true, 0.01}};
  auto ms = segment_object(s.picture, stroke);
  ASSERT_TRUE(ms.ok()) << ms.error().message;
  EXPECT_GE(mask_iou(ms->alpha, s.truth), 0.8);
}

// A known limit, measured: a striped disc whose stripes alternate between orange and a colour the
// background is full of. GrabCut's colour models cannot tell those stripes from the background, so
// the mask keeps mostly the orange half (box IoU about 0.5, points about 0.6). The floors guard
// the figures from getting worse; they are not a claim of quality.
std::optional<std::array<double, 3>> striped_disc(double u, double v) {
  const double dx = (u - 0.45) / 0.22, dy = (v - 0.5) / 0.3;
  if (dx * dx + dy * dy > 1) return std::nullopt;
  if (std::fmod(u * 20, 1.0) < 0.5) return std::array<double, 3>{225, 140, 30};
  return std::array<double, 3>{115, 120, 100};
}

TEST(AutoMaskTest, ObjectSharingColoursWithTheBackgroundIsAKnownLimit) {
  Scene s = make_scene(480, 360, 7, striped_disc);
  MaskPrompt q;
  q.box = MaskBox{0.2, 0.17, 0.5, 0.66};
  auto m = segment_object(s.picture, q);
  ASSERT_TRUE(m.ok()) << m.error().message;
  const double box_iou = mask_iou(m->alpha, s.truth);
  MaskPrompt p;
  p.points = {{0.43, 0.5, true}, {0.475, 0.4, true}, {0.525, 0.62, true}, {0.9, 0.5, false}};
  auto mp = segment_object(s.picture, p);
  ASSERT_TRUE(mp.ok()) << mp.error().message;
  const double pts_iou = mask_iou(mp->alpha, s.truth);
  std::printf(
      "[ figure ] striped object sharing the background's colour: box IoU %.3f, points "
      "IoU %.3f\n",
      box_iou, pts_iou);
  EXPECT_GE(box_iou, 0.45);
  EXPECT_GE(pts_iou, 0.55);
  // The same picture and prompt give the same mask, whatever ran before on this thread.
  auto again = segment_object(s.picture, q);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->alpha, m->alpha);
}

TEST(AutoMaskTest, NegativePointsRemoveARegion) {
  Scene s = make_scene(480, 360, 3, red_and_blue);
  auto red = [](double u, double v) { return u >= 0.2 && u < 0.5 && v >= 0.3 && v <= 0.7; };
  auto blue = [](double u, double v) { return u >= 0.5 && u <= 0.75 && v >= 0.3 && v <= 0.7; };
  MaskPrompt q;
  q.box = MaskBox{0.15, 0.25, 0.65, 0.5};
  q.points = {{0.35, 0.5, true}};
  auto both = segment_object(s.picture, q);
  ASSERT_TRUE(both.ok()) << both.error().message;
  EXPECT_GE(coverage_where(*both, red), 0.9);
  EXPECT_GE(coverage_where(*both, blue), 0.9);

  q.points.push_back({0.62, 0.5, false});
  auto red_only = segment_object(s.picture, q);
  ASSERT_TRUE(red_only.ok()) << red_only.error().message;
  std::printf("[ figure ] with a negative point: red %.3f, blue %.3f covered\n",
              coverage_where(*red_only, red), coverage_where(*red_only, blue));
  EXPECT_GE(coverage_where(*red_only, red), 0.9);
  EXPECT_LE(coverage_where(*red_only, blue), 0.05);
}

TEST(AutoMaskTest, LargePicturesRunAtTheWorkingSizeAndComeBackFullSize) {
  Scene s = make_scene(1280, 720, 4, blob);
  MaskPrompt q;
  q.box = MaskBox{0.28, 0.18, 0.54, 0.66};
  auto m = segment_object(s.picture, q);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->working_width, 640);
  EXPECT_EQ(m->working_height, 360);
  ASSERT_EQ(m->alpha.size(), 1280u * 720u);
  const double iou = mask_iou(m->alpha, s.truth);
  std::printf("[ figure ] 1280x720 box prompt IoU %.3f\n", iou);
  EXPECT_GE(iou, 0.9);
}

TEST(AutoMaskTest, FeatherSoftensOnlyTheEdgeAndThePngIsGrayAndLossless) {
  Scene s = make_scene(320, 240, 5, blob);
  MaskPrompt q;
  q.box = MaskBox{0.28, 0.18, 0.54, 0.66};
  AutoMaskOptions o;
  o.feather_radius_px = 6;
  auto m = segment_object(s.picture, q, o);
  ASSERT_TRUE(m.ok()) << m.error().message;
  size_t soft = 0;
  for (uint8_t a : m->alpha) soft += a > 0 && a < 255;
  EXPECT_GT(soft, 300u);
  // Deep inside and far outside are untouched.
  EXPECT_EQ(m->alpha[static_cast<size_t>(120) * 320 + 166], 255);  // (0.52, 0.5)
  EXPECT_EQ(m->alpha[static_cast<size_t>(20) * 320 + 20], 0);
  EXPECT_GE(mask_iou(m->alpha, s.truth), 0.88);

  TempDir dir;
  const std::string png = dir.path() + "/mask.png";
  ASSERT_TRUE(write_mask_png(*m, png).ok());
  auto probe = run_command({"ffprobe", "-v", "error", "-show_entries",
                            "stream=pix_fmt,width,height", "-of", "csv=p=0", png});
  EXPECT_EQ(probe.out, "320,240,gray\n");
  auto sampler = FrameSampler::open(png, {0, 0, PixelLayout::kGray8});
  ASSERT_TRUE(sampler.ok()) << sampler.error().message;
  VideoFrame back;
  ASSERT_TRUE((*sampler)->next(back).ok());
  EXPECT_EQ(back.pixels, m->alpha);
}

TEST(AutoMaskTest, RealPhotographMatchesALooseKnownOutline) {
  if (!std::filesystem::exists(kCoffeePng)) GTEST_SKIP() << "python3-skimage is not installed";
  auto sampler = FrameSampler::open(kCoffeePng);
  ASSERT_TRUE(sampler.ok()) << sampler.error().message;
  VideoFrame photo;
  ASSERT_TRUE((*sampler)->next(photo).ok());
  ASSERT_EQ(photo.width, 600);
  ASSERT_EQ(photo.height, 400);
  // The cup and its saucer, outlined by hand once: the saucer an ellipse centred (278, 228) px with
  // half-axes 203 x 162, the cup's rim an ellipse centred (290, 110) with half-axes 118 x 92.
  std::vector<uint8_t> outline(600u * 400u, 0);
  for (int y = 0; y < 400; ++y) {
    for (int x = 0; x < 600; ++x) {
      const double sx = (x - 278) / 203.0, sy = (y - 228) / 162.0;
      const double cx = (x - 290) / 118.0, cy = (y - 110) / 92.0;
      if (sx * sx + sy * sy <= 1 || cx * cx + cy * cy <= 1) outline[y * 600u + x] = 255;
    }
  }
  MaskPrompt q;
  q.box = MaskBox{60.0 / 600, 8.0 / 400, 440.0 / 600, 390.0 / 400};
  auto m = segment_object(photo, q);
  ASSERT_TRUE(m.ok()) << m.error().message;
  const double iou = mask_iou(m->alpha, outline);
  std::printf("[ figure ] coffee.png box prompt IoU %.3f against the hand outline\n", iou);
  EXPECT_GE(iou, 0.8);
}

TEST(AutoMaskTest, BadPromptsAndPicturesAreRefused) {
  Scene s = make_scene(64, 48, 6, blob);
  auto field_of = [&](const MaskPrompt& q) -> std::string {
    auto r = segment_object(s.picture, q);
    if (r.ok()) return "<ok>";
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    return r.error().details.value("field", "");
  };
  EXPECT_EQ(field_of(MaskPrompt{}), "box");
  MaskPrompt q;
  q.box = MaskBox{0.5, 0.5, 0.6, 0.2};
  EXPECT_EQ(field_of(q), "box");
  q.box = MaskBox{0.1, 0.1, 0, 0.2};
  EXPECT_EQ(field_of(q), "box");
  q.box = MaskBox{-0.1, 0.1, 0.2, 0.2};
  EXPECT_EQ(field_of(q), "box");
  q.box = MaskBox{std::nan(""), 0.1, 0.2, 0.2};
  EXPECT_EQ(field_of(q), "box");
  MaskPrompt p;
  p.points = {{0.5, 0.5, true}, {1.5, 0.5, true}};
  EXPECT_EQ(field_of(p), "points[1]");
  p.points = {{0.5, 0.5, false}};
  EXPECT_EQ(field_of(p), "points");
  MaskPrompt st;
  st.strokes = {{{}, true, 0.01}};
  EXPECT_EQ(field_of(st), "strokes[0].points");
  st.strokes = {{{{0.1, 0.1, true}}, true, 0.9}};
  EXPECT_EQ(field_of(st), "strokes[0].radius");
  MaskPrompt ok;
  ok.box = MaskBox{0.2, 0.2, 0.5, 0.5};
  AutoMaskOptions o;
  o.feather_radius_px = 101;
  auto r = segment_object(s.picture, ok, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().details.value("field", ""), "feather_radius");
  VideoFrame empty;
  EXPECT_FALSE(segment_object(empty, ok).ok());
}

}  // namespace
}  // namespace atomcut

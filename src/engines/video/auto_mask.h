// Object masks from a prompt (spec "Video Quality vNext" masks, "Example flows / Mask generation":
// the engine behind POST /video/masks/auto). Pure functions over a picture; OpenCV stays in the
// .cc.
//
// A prompt is a box and/or points (positive: on the object, negative: not on it) and/or strokes
// (painted lines, positive or negative), all in normalised picture coordinates (0..1, origin top
// left). The object is cut out with OpenCV's GrabCut at a working size of at most 640 px on the
// long side:
//   - a box alone: GC_INIT_WITH_RECT (outside the box is background);
//   - points and strokes are certain seeds (discs of GC_FGD / GC_BGD) in an initial mask run with
//     GC_INIT_WITH_MASK; with a box, outside it is background and inside probably object; without
//     one, a rectangle around the positive seeds (expanded by their spread and a sixth of the
//     picture) is probably object, a ring as wide again around it probably background (the object
//     may grow into it) and the rest background;
//   - a negative point also marks the area of like colour around it (a flood fill) as background,
//     so it removes the region it is on, not only a disc;
//   - afterwards only the connected parts holding a positive seed are kept (with a box alone:
//     parts at least a fifth the size of the largest).
// The working-size mask is scaled up to the picture's size (smooth edges, then a hard threshold)
// and optionally feathered: its edge blurred over feather_radius_px pixels. A mask depends only on
// the picture, the prompt and the options (OpenCV's generator is reseeded on each call).
//
// Thread safe (no shared state; OpenCV's generator is per thread).
#pragma once

#include "core/error.h"
#include "engines/video/video_frame.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace atomcut {

struct MaskBox {
  double x = 0;  // left, 0..1
  double y = 0;  // top, 0..1
  double width = 0;
  double height = 0;
};

struct MaskPoint {
  double x = 0;
  double y = 0;
  bool positive = true;
};

struct MaskStroke {
  std::vector<MaskPoint> points;  // the polyline; each point's `positive` is ignored
  bool positive = true;
  double radius = 0.01;  // half the brush width, as a fraction of the picture's shorter side
};

struct MaskPrompt {
  std::optional<MaskBox> box;
  std::vector<MaskPoint> points;
  std::vector<MaskStroke> strokes;
  size_t positive_points() const;
  size_t negative_points() const;
};

// invalid_argument (details.field "box" / "points[i]" / "strokes[i]..." ) when the prompt is empty,
// has no positive part (no box, no positive point or stroke), or a coordinate is outside 0..1, a
// box has no area or leaves the picture.
Status validate_mask_prompt(const MaskPrompt& prompt);

struct AutoMaskOptions {
  int working_max_side = 640;  // 64..4096
  int iterations = 5;          // GrabCut iterations, 1..20
  int feather_radius_px = 0;   // 0..100, at the picture's size
};

struct AutoMask {
  int width = 0;  // the picture's size
  int height = 0;
  std::vector<uint8_t> alpha;  // width * height, 0 (not the object) .. 255 (the object)
  double coverage = 0;         // share of pixels with alpha >= 128
  int working_width = 0;       // where GrabCut ran
  int working_height = 0;
};

// The object `prompt` points at in `picture` (rgb24 or gray8). invalid_argument for a bad prompt or
// options, or an empty picture; internal when OpenCV fails.
Result<AutoMask> segment_object(const VideoFrame& picture, const MaskPrompt& prompt,
                                const AutoMaskOptions& options = {});

// Writes `mask` as a single-channel 8-bit (L mode) PNG. internal when it cannot be written.
Status write_mask_png(const AutoMask& mask, const std::string& path);

// Intersection over union of two same-sized masks, each pixel "in" when >= 128. 0 when both are
// empty or the sizes differ.
double mask_iou(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b);

// The package's version tag for meta.backend_version, e.g. "grabcut_opencv_4.6.0_v1".
std::string auto_mask_backend_version();

}  // namespace atomcut

// A decoded, upright (display-rotation applied) picture handed between the video engines: frame
// sampler -> shot detector, face detector, visual meta. Pixels are tightly packed rows.
#pragma once

#include <cstdint>
#include <vector>

namespace atomcut {

enum class PixelLayout { kGray8, kRgb24 };

struct VideoFrame {
  int64_t pts_ms = 0;   // presentation time on the container's timeline (first frame ~0)
  int64_t index = -1;   // frame number in presentation order from the start, -1 unknown
  int width = 0;        // of this (possibly downscaled) picture
  int height = 0;
  PixelLayout layout = PixelLayout::kRgb24;
  std::vector<uint8_t> pixels;  // width * height * (1 or 3) bytes, rows top to bottom
  int channels() const { return layout == PixelLayout::kGray8 ? 1 : 3; }
};

}  // namespace atomcut

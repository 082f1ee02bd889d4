#include "engines/video/auto_mask.h"

#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>

namespace atomcut {

namespace {

constexpr double kEps = 1e-6;
constexpr double kNegativeFillTolerance = 24;  // per channel, 0..255

bool unit(double v) { return std::isfinite(v) && v >= 0 && v <= 1; }

Status check_point(const MaskPoint& p, const std::string& field) {
  if (!unit(p.x) || !unit(p.y)) {
    return Error::invalid_argument(
        fmt::format("{} ({}, {}) must lie inside the picture: x and y in 0..1", field, p.x, p.y),
        {{"field", field}});
  }
  return {};
}

// Disc radius of a point seed at the working size: big enough to sample the object's colours,
// small enough to stay inside a thin one.
int seed_radius(const cv::Size& s) {
  return std::max(2, static_cast<int>(std::lround(std::min(s.width, s.height) * 0.012)));
}

cv::Point to_px(double x, double y, const cv::Size& s) {
  return {std::clamp(static_cast<int>(std::lround(x * s.width)), 0, s.width - 1),
          std::clamp(static_cast<int>(std::lround(y * s.height)), 0, s.height - 1)};
}

cv::Rect box_rect(const MaskBox& b, const cv::Size& s) {
  int x0 = static_cast<int>(std::floor(b.x * s.width));
  int y0 = static_cast<int>(std::floor(b.y * s.height));
  int x1 = static_cast<int>(std::ceil((b.x + b.width) * s.width));
  int y1 = static_cast<int>(std::ceil((b.y + b.height) * s.height));
  x0 = std::clamp(x0, 0, s.width - 1);
  y0 = std::clamp(y0, 0, s.height - 1);
  x1 = std::clamp(x1, x0 + 1, s.width);
  y1 = std::clamp(y1, y0 + 1, s.height);
  return {x0, y0, x1 - x0, y1 - y0};
}

// GrabCut needs some background to model: a rectangle covering the whole picture keeps a 2 px
// frame outside it.
cv::Rect leave_border(cv::Rect r, const cv::Size& s) {
  const int m = 2;
  if (r.x == 0 && r.y == 0 && r.width >= s.width && r.height >= s.height && s.width > 2 * m + 2 &&
      s.height > 2 * m + 2) {
    r = {m, m, s.width - 2 * m, s.height - 2 * m};
  }
  return r;
}

}  // namespace

size_t MaskPrompt::positive_points() const {
  return static_cast<size_t>(
      std::count_if(points.begin(), points.end(), [](const auto& p) { return p.positive; }));
}

size_t MaskPrompt::negative_points() const { return points.size() - positive_points(); }

Status validate_mask_prompt(const MaskPrompt& q) {
  if (!q.box && q.points.empty() && q.strokes.empty()) {
    return Error::invalid_argument("a mask prompt needs a box, points or strokes",
                                   {{"field", "box"}});
  }
  if (q.box) {
    const MaskBox& b = *q.box;
    if (!unit(b.x) || !unit(b.y) || !unit(b.width) || !unit(b.height)) {
      return Error::invalid_argument(
          fmt::format("box ({}, {}, {} x {}) must be normalised: x, y, width, height in 0..1", b.x,
                      b.y, b.width, b.height),
          {{"field", "box"}});
    }
    if (b.width <= 0 || b.height <= 0) {
      return Error::invalid_argument(
          fmt::format("box width ({}) and height ({}) must be greater than 0", b.width, b.height),
          {{"field", "box"}});
    }
    if (b.x + b.width > 1 + kEps || b.y + b.height > 1 + kEps) {
      return Error::invalid_argument(
          fmt::format("box must lie inside the picture: x + width ({}) and y + height ({}) must "
                      "be at most 1",
                      b.x + b.width, b.y + b.height),
          {{"field", "box"}});
    }
  }
  for (size_t i = 0; i < q.points.size(); ++i) {
    ATOMCUT_TRY(check_point(q.points[i], fmt::format("points[{}]", i)));
  }
  bool positive_stroke = false;
  for (size_t i = 0; i < q.strokes.size(); ++i) {
    const MaskStroke& s = q.strokes[i];
    if (s.points.empty()) {
      return Error::invalid_argument(fmt::format("strokes[{}] needs at least one point", i),
                                     {{"field", fmt::format("strokes[{}].points", i)}});
    }
    if (!std::isfinite(s.radius) || s.radius <= 0 || s.radius > 0.25) {
      return Error::invalid_argument(
          fmt::format("strokes[{}].radius ({}) must be in (0, 0.25] (a fraction of the shorter "
                      "side)",
                      i, s.radius),
          {{"field", fmt::format("strokes[{}].radius", i)}});
    }
    for (size_t k = 0; k < s.points.size(); ++k) {
      ATOMCUT_TRY(check_point(s.points[k], fmt::format("strokes[{}].points[{}]", i, k)));
    }
    positive_stroke = positive_stroke || s.positive;
  }
  if (!q.box && q.positive_points() == 0 && !positive_stroke) {
    return Error::invalid_argument(
        "a mask prompt needs something on the object: a box, a positive point or a positive "
        "stroke (negative points alone select nothing)",
        {{"field", "points"}});
  }
  return {};
}

Result<AutoMask> segment_object(const VideoFrame& picture, const MaskPrompt& prompt,
                                const AutoMaskOptions& o) {
  ATOMCUT_TRY(validate_mask_prompt(prompt));
  if (o.working_max_side < 64 || o.working_max_side > 4096) {
    return Error::invalid_argument("working_max_side must be in 64..4096",
                                   {{"field", "working_max_side"}});
  }
  if (o.iterations < 1 || o.iterations > 20) {
    return Error::invalid_argument("iterations must be in 1..20", {{"field", "iterations"}});
  }
  if (o.feather_radius_px < 0 || o.feather_radius_px > 100) {
    return Error::invalid_argument(
        fmt::format("feather_radius ({}) must be in 0..100 px", o.feather_radius_px),
        {{"field", "feather_radius"}});
  }
  const int w = picture.width;
  const int h = picture.height;
  if (w < 8 || h < 8 || picture.pixels.size() != static_cast<size_t>(w) * h * picture.channels()) {
    return Error::invalid_argument(
        fmt::format("the picture ({}x{}) is empty, smaller than 8x8 or its pixels do not match "
                    "its size",
                    w, h),
        {{"field", "picture"}});
  }
  try {
    cv::Mat src;
    if (picture.layout == PixelLayout::kRgb24) {
      src = cv::Mat(h, w, CV_8UC3, const_cast<uint8_t*>(picture.pixels.data()));
    } else {
      cv::Mat gray(h, w, CV_8UC1, const_cast<uint8_t*>(picture.pixels.data()));
      cv::cvtColor(gray, src, cv::COLOR_GRAY2BGR);
    }
    // GrabCut seeds its colour models with k-means from OpenCV's thread-local generator: a fixed
    // seed makes a mask depend on its picture and prompt only, not on what the thread ran before.
    cv::theRNG().state = 0x5eed5eedULL;
    const double scale = std::min(1.0, static_cast<double>(o.working_max_side) / std::max(w, h));
    cv::Mat work;
    if (scale < 1) {
      cv::resize(src, work,
                 cv::Size(std::max(8, static_cast<int>(std::lround(w * scale))),
                          std::max(8, static_cast<int>(std::lround(h * scale)))),
                 0, 0, cv::INTER_AREA);
    } else {
      work = src.clone();
    }
    const cv::Size ws = work.size();

    cv::Mat mask(ws, CV_8UC1, cv::Scalar(cv::GC_BGD));
    cv::Mat seeds(ws, CV_8UC1, cv::Scalar(0));  // 1 positive, 2 negative
    const int r = seed_radius(ws);
    for (const auto& p : prompt.points) {
      cv::circle(seeds, to_px(p.x, p.y, ws), r, cv::Scalar(p.positive ? 1 : 2), cv::FILLED);
    }
    for (const auto& s : prompt.strokes) {
      const int thick =
          std::max(1, static_cast<int>(std::lround(2 * s.radius * std::min(ws.width, ws.height))));
      const cv::Scalar v(s.positive ? 1 : 2);
      for (size_t k = 0; k < s.points.size(); ++k) {
        const cv::Point a = to_px(s.points[k].x, s.points[k].y, ws);
        const cv::Point b =
            k + 1 < s.points.size() ? to_px(s.points[k + 1].x, s.points[k + 1].y, ws) : a;
        cv::line(seeds, a, b, v, thick, cv::LINE_8);
        cv::circle(seeds, a, thick / 2, v, cv::FILLED);
      }
    }
    // A negative point removes the region it is on, not only its disc: the area of like colour
    // around it (a fixed-range flood fill on a lightly blurred copy) is background too; otherwise
    // a disc is too small a sample to outweigh the colour model of the box.
    if (prompt.negative_points() > 0) {
      cv::Mat smooth;
      cv::GaussianBlur(work, smooth, cv::Size(5, 5), 0);
      const cv::Rect limit = prompt.box ? box_rect(*prompt.box, ws) : cv::Rect({0, 0}, ws);
      for (const auto& p : prompt.points) {
        if (p.positive) continue;
        const cv::Point at = to_px(p.x, p.y, ws);
        if (!limit.contains(at)) continue;
        cv::Mat region(ws.height + 2, ws.width + 2, CV_8UC1, cv::Scalar(0));
        cv::Mat roi = smooth(limit).clone();
        cv::Mat roi_region = region(cv::Rect(limit.x, limit.y, limit.width + 2, limit.height + 2));
        cv::floodFill(roi, roi_region, at - limit.tl(), cv::Scalar(), nullptr,
                      cv::Scalar::all(kNegativeFillTolerance),
                      cv::Scalar::all(kNegativeFillTolerance),
                      8 | cv::FLOODFILL_FIXED_RANGE | cv::FLOODFILL_MASK_ONLY | (2 << 8));
        seeds.setTo(2, region(cv::Rect(1, 1, ws.width, ws.height)) == 2);
      }
    }
    const bool has_seeds = cv::countNonZero(seeds) > 0;
    cv::Mat positive_seeds = seeds == 1;
    const bool has_positive = cv::countNonZero(positive_seeds) > 0;

    cv::Mat bgd, fgd;
    if (prompt.box && !has_seeds) {
      const cv::Rect rect = leave_border(box_rect(*prompt.box, ws), ws);
      cv::grabCut(work, mask, rect, bgd, fgd, o.iterations, cv::GC_INIT_WITH_RECT);
    } else {
      cv::Rect rect;
      if (prompt.box) {
        rect = leave_border(box_rect(*prompt.box, ws), ws);
        mask.setTo(cv::GC_BGD);
      } else {
        // A guess at the object's extent around the positive seeds (probably object), a ring
        // around it as wide again (probably background: the object may grow into it), and beyond
        // that background for certain, which gives the background model clean samples.
        const cv::Rect all(0, 0, ws.width, ws.height);
        const cv::Rect b = cv::boundingRect(positive_seeds);
        const int mx = b.width / 2 + ws.width / 6;
        const int my = b.height / 2 + ws.height / 6;
        rect = cv::Rect(b.x - mx, b.y - my, b.width + 2 * mx, b.height + 2 * my) & all;
        rect = leave_border(rect, ws);
        const cv::Rect ring = cv::Rect(rect.x - ws.width / 6, rect.y - ws.height / 6,
                                       rect.width + ws.width / 3, rect.height + ws.height / 3) &
                              all;
        mask.setTo(cv::GC_BGD);
        mask(ring).setTo(cv::GC_PR_BGD);
      }
      mask(rect).setTo(cv::GC_PR_FGD);
      mask.setTo(cv::GC_FGD, positive_seeds);
      mask.setTo(cv::GC_BGD, seeds == 2);
      // GrabCut needs samples of both.
      const bool any_bg = cv::countNonZero((mask == cv::GC_BGD) | (mask == cv::GC_PR_BGD)) > 0;
      const bool any_fg = cv::countNonZero((mask == cv::GC_FGD) | (mask == cv::GC_PR_FGD)) > 0;
      if (!any_bg || !any_fg) {
        return Error::invalid_argument(
            "the prompt leaves nothing to tell object from background: add a smaller box or "
            "negative points",
            {{"field", any_fg ? "box" : "points"}});
      }
      cv::grabCut(work, mask, rect, bgd, fgd, o.iterations, cv::GC_INIT_WITH_MASK);
    }
    cv::Mat fg = (mask == cv::GC_FGD) | (mask == cv::GC_PR_FGD);

    // Keep the connected parts the prompt points at.
    cv::Mat labels, stats, centroids;
    const int count = cv::connectedComponentsWithStats(fg, labels, stats, centroids, 8, CV_32S);
    if (count > 1) {
      std::vector<uint8_t> keep(static_cast<size_t>(count), 0);
      if (has_positive) {
        for (int y = 0; y < ws.height; ++y) {
          const uint8_t* s = positive_seeds.ptr<uint8_t>(y);
          const int* l = labels.ptr<int>(y);
          for (int x = 0; x < ws.width; ++x) {
            if (s[x] && l[x] > 0) keep[static_cast<size_t>(l[x])] = 1;
          }
        }
      } else {
        int largest = 0;
        for (int c = 1; c < count; ++c)
          largest = std::max(largest, stats.at<int>(c, cv::CC_STAT_AREA));
        for (int c = 1; c < count; ++c) {
          keep[static_cast<size_t>(c)] = stats.at<int>(c, cv::CC_STAT_AREA) * 5 >= largest;
        }
      }
      for (int y = 0; y < ws.height; ++y) {
        const int* l = labels.ptr<int>(y);
        uint8_t* f = fg.ptr<uint8_t>(y);
        for (int x = 0; x < ws.width; ++x) f[x] = keep[static_cast<size_t>(l[x])] ? 255 : 0;
      }
    }

    cv::Mat full;
    if (ws != cv::Size(w, h)) {
      cv::resize(fg, full, cv::Size(w, h), 0, 0, cv::INTER_LINEAR);
      cv::threshold(full, full, 127, 255, cv::THRESH_BINARY);
    } else {
      full = fg;
    }
    AutoMask out;
    out.width = w;
    out.height = h;
    out.working_width = ws.width;
    out.working_height = ws.height;
    out.coverage = static_cast<double>(cv::countNonZero(full)) / (static_cast<double>(w) * h);
    if (o.feather_radius_px > 0) {
      const int k = 2 * o.feather_radius_px + 1;
      cv::GaussianBlur(full, full, cv::Size(k, k), o.feather_radius_px / 2.0);
    }
    out.alpha.assign(full.data, full.data + static_cast<size_t>(w) * h);
    if (!full.isContinuous()) {
      for (int y = 0; y < h; ++y) {
        std::copy(full.ptr<uint8_t>(y), full.ptr<uint8_t>(y) + w,
                  out.alpha.begin() + static_cast<std::ptrdiff_t>(y) * w);
      }
    }
    return out;
  } catch (const cv::Exception& e) {
    return Error::internal(fmt::format("GrabCut failed: {}", e.what()));
  }
}

Status write_mask_png(const AutoMask& mask, const std::string& path) {
  if (mask.width <= 0 || mask.height <= 0 ||
      mask.alpha.size() != static_cast<size_t>(mask.width) * mask.height) {
    return Error::internal("write_mask_png: the mask's pixels do not match its size");
  }
  // Encoded in memory: the path may have no extension (a blob store's staging file), which
  // imwrite would refuse.
  std::vector<uint8_t> png;
  try {
    const cv::Mat m(mask.height, mask.width, CV_8UC1, const_cast<uint8_t*>(mask.alpha.data()));
    if (!cv::imencode(".png", m, png, {cv::IMWRITE_PNG_COMPRESSION, 6})) {
      return Error::internal("could not encode the mask as PNG");
    }
  } catch (const cv::Exception& e) {
    return Error::internal(fmt::format("could not encode the mask as PNG: {}", e.what()));
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
  out.close();
  if (!out) return Error::internal(fmt::format("could not write the mask PNG {}", path));
  return {};
}

double mask_iou(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  if (a.size() != b.size()) return 0;
  size_t inter = 0;
  size_t uni = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const bool x = a[i] >= 128;
    const bool y = b[i] >= 128;
    inter += x && y;
    uni += x || y;
  }
  return uni ? static_cast<double>(inter) / static_cast<double>(uni) : 0.0;
}

std::string auto_mask_backend_version() { return fmt::format("grabcut_opencv_{}_v1", CV_VERSION); }

}  // namespace atomcut

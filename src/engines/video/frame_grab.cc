#include "engines/video/frame_grab.h"

#include "engines/video/frame_sampler.h"

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace atomcut {

std::optional<StillFormat> parse_still_format(const std::string& name) {
  if (name == "png") return StillFormat::kPng;
  if (name == "jpeg" || name == "jpg") return StillFormat::kJpeg;
  return std::nullopt;
}

const char* still_format_extension(StillFormat f) {
  return f == StillFormat::kPng ? ".png" : ".jpg";
}

Status write_still(const VideoFrame& frame, const std::string& path, StillFormat format,
                   int jpeg_quality) {
  if (frame.width <= 0 || frame.height <= 0 ||
      frame.pixels.size() < static_cast<size_t>(frame.width) * static_cast<size_t>(frame.height) *
                                static_cast<size_t>(frame.channels())) {
    return Error::invalid_argument("write_still: the frame has no pixels");
  }
  const int type = frame.layout == PixelLayout::kGray8 ? CV_8UC1 : CV_8UC3;
  cv::Mat view(frame.height, frame.width, type, const_cast<uint8_t*>(frame.pixels.data()));
  cv::Mat out;
  if (frame.layout == PixelLayout::kRgb24) {
    cv::cvtColor(view, out, cv::COLOR_RGB2BGR);
  } else {
    out = view;
  }
  std::vector<int> params;
  if (format == StillFormat::kJpeg) {
    params = {cv::IMWRITE_JPEG_QUALITY, std::clamp(jpeg_quality, 1, 100)};
  } else {
    params = {cv::IMWRITE_PNG_COMPRESSION, 3};
  }
  std::vector<uint8_t> bytes;
  // imencode + our own write: imwrite picks the codec from the path's extension, and staging
  // files have none.
  if (!cv::imencode(still_format_extension(format), out, bytes, params)) {
    return Error::internal(
        fmt::format("could not encode a {}x{} still", frame.width, frame.height));
  }
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return Error::internal(fmt::format("cannot write {}", path));
  const size_t n = std::fwrite(bytes.data(), 1, bytes.size(), f);
  const bool ok = n == bytes.size() && std::fclose(f) == 0;
  if (!ok) return Error::internal(fmt::format("short write to {}", path));
  return {};
}

std::vector<int64_t> auto_grab_times(int64_t duration_ms, int count) {
  std::vector<int64_t> out;
  if (duration_ms <= 0 || count <= 0) return {0};
  for (int i = 0; i < count; ++i) {
    out.push_back(duration_ms * (2 * i + 1) / (2 * static_cast<int64_t>(count)));
  }
  return out;
}

Status grab_stills(const std::string& video_path, const std::vector<int64_t>& times_ms,
                   int max_width, int max_height,
                   const std::function<Status(const VideoFrame&, const GrabbedStill&)>& write) {
  FrameSamplerOptions opts;
  opts.max_width = max_width;
  opts.max_height = max_height;
  opts.layout = PixelLayout::kRgb24;
  ATOMCUT_ASSIGN_OR_RETURN(std::unique_ptr<FrameSampler> sampler,
                           FrameSampler::open(video_path, opts));
  VideoFrame frame;
  for (int64_t t : times_ms) {
    ATOMCUT_ASSIGN_OR_RETURN(bool got, sampler->frame_at(t, frame));
    if (!got) continue;
    GrabbedStill g{t, frame.pts_ms, frame.index, frame.width, frame.height};
    ATOMCUT_TRY(write(frame, g));
  }
  return {};
}

}  // namespace atomcut

// Frame grab (spec "Recap": engines/video/frame_grab): stills of a video at an interval or at
// given times, decoded in-process (FrameSampler: exact frame selection, display rotation applied)
// and written as PNG or JPEG. Pure: files in, files out; no Media v2.
#pragma once

#include "core/error.h"
#include "engines/video/video_frame.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace atomcut {

enum class StillFormat { kPng, kJpeg };

// "png" | "jpeg" | "jpg" (case-sensitive); nullopt otherwise.
std::optional<StillFormat> parse_still_format(const std::string& name);
const char* still_format_extension(StillFormat f);  // ".png" | ".jpg"

// Writes an rgb24 or gray8 frame. JPEG quality 1..100.
Status write_still(const VideoFrame& frame, const std::string& path, StillFormat format,
                   int jpeg_quality = 92);

// The times of an automatic grab: `count` evenly spread frames, each in the middle of its share
// of [0, duration_ms) (so neither the first black frame nor the last is taken).
std::vector<int64_t> auto_grab_times(int64_t duration_ms, int count);

struct GrabbedStill {
  int64_t requested_ms = 0;  // the time asked for
  int64_t frame_pts_ms = 0;  // presentation time of the frame shown then
  int64_t frame_index = -1;
  int width = 0;
  int height = 0;
};

// For each of `times_ms` (ascending is cheapest) the frame displayed then, scaled down to fit
// max_width x max_height (0 = no bound), handed to `write` with the frame; times past the end
// are skipped (the caller compares what came back). Errors as FrameSampler::open.
Status grab_stills(const std::string& video_path, const std::vector<int64_t>& times_ms,
                   int max_width, int max_height,
                   const std::function<Status(const VideoFrame&, const GrabbedStill&)>& write);

}  // namespace atomcut

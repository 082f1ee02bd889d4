// In-process media probe (libavformat/libavcodec; never spawns ffprobe).
//
// Thread safe: each call opens its own demuxer. Never crashes or hangs on corrupt or truncated
// input: the probe is bounded by `timeout_ms` (libav interrupt callback) and probe sizes.
#pragma once

#include "core/error.h"
#include "core/model/media_asset.h"
#include "core/rational.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace atomcut {

struct ProbeOptions {
  int timeout_ms = 15000;
};

struct ProbeResult {
  MediaKind kind = MediaKind::kOther;  // video | audio | image (never other: see errors below)
  std::string format_name;             // libav demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
  std::optional<int64_t> duration_ms;  // container duration, else longest stream
  std::optional<int64_t> bit_rate;
  std::optional<Rational>
      fps;  // exact rate of the main video stream (avg_frame_rate, else r_frame_rate)
  bool variable_frame_rate = false;  // frame durations of the main video stream differ
  std::optional<int> width;          // main video stream, coded (before rotation)
  std::optional<int> height;
  int rotation = 0;                   // display rotation in degrees clockwise: 0, 90, 180 or 270
  std::optional<int> audio_channels;  // main audio stream
  std::optional<int> sample_rate;
  // One object per stream: index, codec_type, codec_name, codec_long_name, profile, bit_rate,
  // duration_ms, and per type width/height/pix_fmt/fps/avg_frame_rate/r_frame_rate/rotation or
  // sample_rate/channels/channel_layout/sample_fmt.
  nlohmann::json streams = nlohmann::json::array();
  int64_t size_bytes = 0;
  std::string content_type;  // MIME type guessed from the container and kind, e.g. "video/mp4"
};

// Probes a local file.
// Errors: not_found (no such file), invalid_argument with details.reason "not_media" (libav cannot
// read it, or it has no audio/video stream), "corrupt" (recognised container that fails to
// decode its headers), deadline_exceeded (timeout).
Result<ProbeResult> probe_media(const std::string& path, const ProbeOptions& options = {});

nlohmann::json to_json(const ProbeResult& probe);

}  // namespace atomcut

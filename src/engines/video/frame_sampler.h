// In-process video decoder for the video analysis engines (libavformat/libavcodec/libswscale;
// never spawns ffmpeg): any file with a video stream becomes a stream of small, upright pictures
// (VideoFrame) for analysis: every frame in order, or the frames displayed at given times.
//
// Pictures: scaled down (never up) to fit max_width x max_height keeping the display aspect (the
// sample aspect ratio is applied), in gray8 or rgb24, with the stream's display rotation applied (a
// phone video recorded on its side comes out upright, as ffmpeg's autorotate shows it).
//
// Timeline: VideoFrame::pts_ms is the frame's presentation time minus the container's start time
// (the timeline ffmpeg's -ss counts on), rounded to the nearest ms. Selection by time is done on
// exact timestamps: the frame displayed at t is the last frame whose exact pts is <= t (so at
// 30000/1001 fps the frame at 500 ms is frame 14, pts 467.13 ms, not frame 15 at 500.5 ms); before
// the first frame, the first frame. VideoFrame::index counts frames in presentation (output)
// order from the start of the stream (VideoFrame's comment says decode order; for the frames a
// decoder outputs the two are the same count). Exact when the frames up to it were decoded; after a
// seek, known from a keyframe seen before, else derived from the pts on constant-rate streams, else
// -1 (a forward seek on a variable-rate stream).
//
// Streaming with bounded memory: the frame returned last and one decoded ahead are held (plus one
// small index entry per keyframe); nothing else accumulates.
//
// Thread safety: a FrameSampler is used by one thread at a time; separate instances are
// independent. Decoding uses libav's frame/slice threads (thread_count auto).
#pragma once

#include "core/error.h"
#include "engines/video/video_frame.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace atomcut {

struct FrameSamplerOptions {
  // Bounds of the output picture, upright; 0 = no bound. The picture is scaled down to fit both,
  // keeping aspect; it is never scaled up. Each 0..16384.
  int max_width = 0;
  int max_height = 0;
  PixelLayout layout = PixelLayout::kRgb24;
  // Skip the codec's in-loop deblocking filter (H.264/HEVC): about 20% faster decoding of 1080p
  // H.264 with slightly blockier pictures, harmless for analysis at low resolution. Off = the
  // decode ffmpeg makes.
  bool fast_decode = false;
};

// What the container says about the video stream (all sizes upright, before scaling).
struct VideoStreamInfo {
  int width = 0;         // display width (rotation and sample aspect ratio applied)
  int height = 0;        // display height
  int output_width = 0;  // of the pictures this sampler returns
  int output_height = 0;
  int rotation = 0;  // display rotation applied, degrees clockwise: 0, 90, 180, 270
  int fps_num = 0;   // frame rate (r_frame_rate, else avg_frame_rate); 0/0 unknown
  int fps_den = 0;
  bool constant_rate = false;     // r_frame_rate == avg_frame_rate (indexes after seeks are exact)
  int64_t duration_ms = -1;       // of the stream, else the container; -1 unknown
  int64_t estimated_frames = -1;  // nb_frames, else duration * fps; -1 unknown
  std::string codec;              // libav's codec name: "h264", "vp9", "mpeg4", ...
};

class FrameSampler {
 public:
  // Opens `path`, picks its main video stream (libav's best video stream; cover art is not video)
  // and decodes its first frame to check that it decodes.
  // Errors (invalid_argument unless said otherwise, details.reason in quotes): not_found (no such
  // file), permission_denied, bad `opts` (details.field), "not_media" (libav does not recognise
  // the file, or it is empty / not a regular file), "no_video_stream" (media without video: audio
  // only), "corrupt" (a recognised file whose headers or video do not decode).
  static Result<std::unique_ptr<FrameSampler>> open(const std::string& path,
                                                    FrameSamplerOptions opts = {});

  // The next frame in presentation order into `out` (its pixel buffer is reused); false at the end.
  // After frame_at(), continues with the frame after the one returned. Damaged packets are
  // skipped as ffmpeg does; "corrupt" when the video stops decoding altogether.
  Result<bool> next(VideoFrame& out);

  // The frame displayed at `t_ms` on the container timeline (the last frame with pts <= t; the
  // first frame when t is before it); false when t is after the end of the stream (after the last
  // frame's display duration). Cheapest with nondecreasing times: decodes forward, and seeks (to
  // the keyframe before t) only when t is far ahead or behind. t_ms >= 0 (invalid_argument).
  Result<bool> frame_at(int64_t t_ms, VideoFrame& out);

  // The frame returned last by next() or frame_at() once more, at another size and layout
  // (size.max_width, size.max_height, size.layout; fast_decode is ignored), without decoding
  // again: one pass can feed tiny gray frames to a shot detector and larger colour samples to
  // other analyses. failed_precondition before the first frame; invalid_argument for bad sizes.
  Status render_current(const FrameSamplerOptions& size, VideoFrame& out);

  const VideoStreamInfo& info() const;

  ~FrameSampler();
  FrameSampler(const FrameSampler&) = delete;
  FrameSampler& operator=(const FrameSampler&) = delete;

 private:
  struct Impl;
  explicit FrameSampler(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Called for each frame; a non-ok Status stops the iteration and is returned. The frame is valid
// only during the call (copy it to keep it).
using FrameCallback = std::function<Status(const VideoFrame&)>;

// Every frame of `path` in order.
Status for_each_frame(const std::string& path, const FrameSamplerOptions& opts,
                      const FrameCallback& on_frame);

// The frames displayed at 0, interval_ms, 2 * interval_ms, ... up to the end of the stream (one
// call per sample time, so a frame shown longer than the interval is handed out again with the
// same index). interval_ms >= 1.
Status sample_every(const std::string& path, int64_t interval_ms, const FrameSamplerOptions& opts,
                    const FrameCallback& on_frame);

// The frames displayed at each of `times_ms` (each >= 0), called in the given order (ascending is
// cheapest: earlier times cost a seek); times after the end are skipped.
Status sample_at(const std::string& path, const std::vector<int64_t>& times_ms,
                 const FrameSamplerOptions& opts, const FrameCallback& on_frame);

}  // namespace atomcut

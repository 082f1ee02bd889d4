// Frame-accurate shot boundary detection over a stream of frames (pure: no file I/O; the frames
// come from the caller, e.g. FrameSampler). Every frame is reduced to a small gray grid (default
// 64x36, area average; any input size and layout) and compared with the frames before it:
//
//  - motion: the mean absolute difference (0..255) of the grid with the previous frame's, reported
//    for every frame (visual meta's motion score);
//  - hard cuts: a frame whose difference with the previous one is large in absolute terms and
//    stands out (ratio) against the differences of the frames around it, so steady motion, camera
//    flashes (two adjacent peaks) and noise do not count;
//  - gradual transitions (dissolves, fades, wipes): the difference across a window of frames
//    (gradual_window) is large and coherent, i.e. it is nearly the sum of the frame-to-frame
//    differences inside the window (pixels change steadily in one direction, as in a blend), which
//    object and camera motion are not. A fade out and back in counts as at most two transitions.
//
// Boundaries are reported as the index and time of the first frame of the new shot; for a gradual
// transition, the middle frame of the transition (with its first and last frame).
//
// Decisions need a few frames of look-ahead (max(cut_context, gradual_window) frames), so
// boundaries arrive with that delay; finish() settles the end. Memory is bounded by the window.
//
// Thread safety: one thread at a time per instance.
#pragma once

#include "core/error.h"
#include "engines/video/video_frame.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace atomcut {

struct ShotDetectorOptions {
  int grid_width = 64;  // the analysis grid, 8..256
  int grid_height = 36;
  // Hard cut: difference with the previous frame (mean absolute, 0..255) at least this ...
  double cut_min_diff = 2.0;
  // ... and at least this many times the largest difference among the cut_context frames on each
  // side of it.
  double cut_ratio = 2.5;
  int cut_context = 4;  // 1..30
  // Gradual transition: over gradual_window frames the difference is at least gradual_min_diff
  // and at least gradual_coherence times the sum of the frame-to-frame differences inside.
  int gradual_window = 12;  // 4..120
  double gradual_min_diff = 14.0;
  double gradual_coherence = 0.7;
  // Frames of a new shot before another boundary may be reported (suppresses floods).
  int min_shot_frames = 6;
  bool detect_gradual = true;
};

enum class ShotBoundaryKind { kCut, kGradual };

struct ShotBoundary {
  int64_t frame_index = 0;  // first frame of the new shot (middle of a gradual transition)
  int64_t time_ms = 0;      // that frame's pts_ms
  ShotBoundaryKind kind = ShotBoundaryKind::kCut;
  double score = 0;  // the difference that decided it (0..255)
  // The transition's first and last frames (both frame_index for a cut).
  int64_t transition_start_index = 0;
  int64_t transition_end_index = 0;
};

// Per-frame measures, returned by push() for the frame pushed.
struct FrameMotion {
  int64_t frame_index = 0;
  int64_t pts_ms = 0;
  double motion = 0;  // mean absolute difference with the previous frame, 0..255 (0 for the first)
};

class ShotDetector {
 public:
  // invalid_argument (details.field) for options out of range.
  static Result<std::unique_ptr<ShotDetector>> create(ShotDetectorOptions opts = {});

  // Analyses the next frame (frames in presentation order). Frames with index -1 are numbered by
  // arrival. invalid_argument for an empty frame or pixels that do not match width x height x
  // channels, and for a pts_ms going backwards.
  Result<FrameMotion> push(const VideoFrame& frame);

  // Declares the end of the stream: settles the last frames' decisions.
  void finish();

  // The boundaries decided since the last call (ascending), handed over once.
  std::vector<ShotBoundary> take_boundaries();

  int64_t frames_seen() const;

  ~ShotDetector();
  ShotDetector(const ShotDetector&) = delete;
  ShotDetector& operator=(const ShotDetector&) = delete;

 private:
  struct Impl;
  explicit ShotDetector(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct ShotDetection {
  std::vector<ShotBoundary> boundaries;
  std::vector<FrameMotion> motion;  // one per frame (about 24 bytes a frame)
  int64_t frame_count = 0;
  int64_t duration_ms = -1;  // of the video stream as the sampler reports it
};

// Convenience: every frame of `path` through a FrameSampler (gray, fast decode, scaled to fit the
// grid) and a ShotDetector. The errors of FrameSampler::open/next and ShotDetector::create.
Result<ShotDetection> detect_shots(const std::string& path, ShotDetectorOptions opts = {});

}  // namespace atomcut

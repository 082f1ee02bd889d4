// Panned and zoomed clips of a still photograph, made with the ffmpeg CLI (crop to 16:9, then
// zoompan), with the true face box known in every output frame: the zoompan window is replicated
// here exactly (vf_zoompan.c truncates the window's size and position to whole input pixels).
// Shared by the face detector, region analysis, visual meta and reframe tests.
#pragma once

#include "engines/video/face_detector.h"  // FaceBox only (a plain struct; no OpenCV needed)

#include <cstdint>
#include <string>
#include <vector>

namespace atomcut::testing {

// skimage's astronaut photograph (512x512, python3-skimage-lib; see MEDIA.md).
inline constexpr const char* kAstronautPng =
    "/usr/lib/python3/dist-packages/skimage/data/astronaut.png";

// A box in a photograph's pixels.
struct PixelBox {
  double x, y, w, h;
};

// astronaut.png (512x512): the face from the hairline to the chin, cheek to cheek. Worked out once
// from the detectors on the still photo (Haar alt2 178,69 92x92; Haar default 177,67 93x93;
// dlib HOG 179,83 88x88, which sits lower: it spans eyebrows to chin) and checked by eye on an
// enlarged crop; IoU with each of those boxes is about 0.85.
inline constexpr PixelBox kAstronautFace{178, 76, 90, 90};

// A panned and zoomed clip of one photograph: first cropped to 16:9 (pre_*), then zoompan with
// the zoom going linearly from zoom0 to zoom1 over the clip and the window placed so that the
// face centre sits at fraction fx0 -> fx1 of the window's width and fy of its height (clipped to
// the picture). Encoded with libx264 (crf 18, yuv420p) at `x264_preset`.
struct PanClip {
  std::string photo;
  PixelBox face;                      // in the photograph's pixels
  int pre_x, pre_y, pre_w, pre_h;     // the 16:9 crop before zoompan
  double zoom0, zoom1, fx0, fx1, fy;  // zoom and face position in the window over time
  int width = 640, height = 360, fps = 25, frames = 100;
  std::string x264_preset = "veryfast";
};

// The astronaut's face moves from 0.3 to 0.7 of the frame's width while the camera zooms in
// 1.0 -> 1.8 (640x360, 25 fps); `frames` output frames.
PanClip astronaut_pan(int frames = 100, const std::string& x264_preset = "veryfast");

// zoompan's window for output frame `on` (from 0), in pre-cropped input pixels, as vf_zoompan.c
// computes it: w = (int)(iw / zoom), x = (int)clip(x_expr, 0, iw - iw / zoom) (rgb24 input: no
// chroma alignment).
struct PanWindow {
  double x, y, w, h;
};
PanWindow pan_window(const PanClip& c, int on);

// The true face box in output frame `on` (clamped to the clip's frames), normalised.
FaceBox pan_true_face(const PanClip& c, int on);

// The ffmpeg filter of the clip: the crop and zoompan expressions of the same window.
std::string pan_filter(const PanClip& c);

// The clip's file (H.264 mp4), made on first use into a per-process temporary directory and
// reused afterwards (clips with the same recipe are made once). Thread safe. On failure it
// records a test failure (ADD_FAILURE) and returns "".
std::string pan_clip(const PanClip& c);

// A per-process temporary directory for a test's own files (mkdtemp under /tmp, removed at
// exit); "" if it cannot be made. The clips of pan_clip() are in it too.
const std::string& scratch_dir();

// A piece of real footage: from `start_s`, `frames` frames at the joined video's rate.
struct FootageSegment {
  const char* path;
  double start_s;
  int frames;
};
// The segments scaled to 640x360 at `fps`, each exactly `frames` long, joined by hard cuts, or by
// 1 s dissolves (xfade fade) when `dissolve`, written to `out_path` (x264 ultrafast CRF 18).
// Returns the path ("" plus a failure on error); `truth` gets the first frame of each new shot
// (cuts) or each dissolve's middle frame.
std::string join_footage(const std::string& out_path, const std::vector<FootageSegment>& segs,
                         bool dissolve, int fps, std::vector<int64_t>& truth);

}  // namespace atomcut::testing

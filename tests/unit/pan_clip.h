// The panned astronaut clip shared by visual_meta_test.cc (which defines these) and
// reframe_test.cc: one test binary.
#pragma once

#include "engines/video/face_detector.h"

#include <string>

// Shared with reframe_test.cc (same binary; defined in visual_meta_test.cc): the panned astronaut
// clip of face_detector_test.cc, 640x360, 25 fps, 100 frames, with its true face box per frame.
namespace atomcut::vmtest {
constexpr int kFps = 25;
constexpr int kPanFrames = 100;
constexpr const char* kAstronautPng = "/usr/lib/python3/dist-packages/skimage/data/astronaut.png";
struct PanClip {
  double face_x, face_y, face_w, face_h;  // in the 512x512 photograph
  int pre_x, pre_y, pre_w, pre_h;         // 16:9 crop before zoompan
  double zoom0, zoom1, fx0, fx1, fy;      // zoom and face position in the window over time
};
struct Window {
  double x, y, w, h;
};
// The face moves from 0.3 to 0.7 of the frame's width while the camera zooms in 1.0 -> 1.8.
constexpr PanClip kAstronautPan{178, 76, 90, 90, 0, 16, 512, 288, 1.0, 1.8, 0.3, 0.7, 0.45};
std::string temp_dir();
FaceBox true_face(const PanClip& c, int on);  // normalised, output frame `on`
std::string make_astronaut_clip(const std::string& name, const PanClip& c);
}  // namespace atomcut::vmtest

// Faces in video frames: a per-frame face detector with two backends, and a tracker that links
// the detections of sampled frames into tracks with stable ids.
//
// FaceDetector (one backend, chosen by name; OpenCV and dlib stay inside face_detector.cc):
//  - "opencv_face_detector" (the default): OpenCV's Haar cascade haarcascade_frontalface_alt2.xml
//    from Debian's opencv-data on the histogram-equalised grey picture, optionally (profiles)
//    with haarcascade_profileface.xml too, run on the picture and on its mirror image (the
//    cascade knows one profile direction only); a profile box overlapping a frontal one (IoU >=
//    0.3) is the same face. A detection's confidence comes from its neighbour count n (the
//    number of overlapping raw windows the cascade merged into it): n / (n + 3), so OpenCV's
//    own default (minNeighbors 3) is confidence 0.5. The cascade files are looked up at
//    construction under /usr/share/opencv4/haarcascades (and a few other installation
//    prefixes, or FaceDetectorOptions::cascade_dir); missing files are an `unavailable` error
//    that lists the paths looked at.
//  - "dlib_hog": dlib's get_frontal_face_detector() (HOG + linear SVM, five poses from frontal to
//    half profile, no model file). Confidence is the logistic of twice the SVM score,
//    1 / (1 + exp(-2 score)), so dlib's own threshold (score 0) is confidence 0.5. It finds
//    faces of about 80 x 80 pixels and larger only (the frame is never upsampled).
// Boxes are normalised to the frame ([0, 1] on each axis, clipped), so they survive any
// downscaling of the picture. min_confidence (VIDEO_REGIONS_MIN_CONFIDENCE in the service
// configuration) filters both backends on the same scale.
//
// track_faces() is a pure function over per-frame detections in time order: greedy association
// on IoU (or on centre distance for fast-moving boxes) against each live track's box predicted
// at constant velocity, gaps of up to max_gap_samples missed samples bridged under the same id
// (optionally with linearly interpolated boxes), tracks seen in fewer than min_track_samples
// samples dropped as false positives, and each track's boxes smoothed with a centred moving
// average. Track ids are 1, 2, ... in the order of the tracks' first samples.
//
// Thread safety: a FaceDetector is not thread safe (the backends keep scratch state); use one per
// thread. track_faces() and face_box_iou() are. Speed at 640x360 on a loaded 2-core machine
// (OpenCV uses its own thread pool): 12 to 19 frames/s for the default, 3 to 4 with profiles,
// 35 to 58 for dlib_hog; tests/unit/face_detector_test.cc prints the figures.
#pragma once

#include "core/error.h"
#include "engines/video/video_frame.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace atomcut {

// A box normalised to the frame: x, y of the top-left corner, width and height, all in [0, 1].
struct FaceBox {
  double x = 0;
  double y = 0;
  double width = 0;
  double height = 0;
};

struct FaceDetection {
  FaceBox box;
  double confidence = 0;  // 0..1, see the backend notes above
};

struct FaceDetectorOptions {
  std::string backend = "opencv_face_detector";  // or "dlib_hog"
  double min_confidence = 0.5;  // 0..1; detections below are dropped (VIDEO_REGIONS_MIN_CONFIDENCE)
  // The smallest face searched for, as a fraction of the frame's shorter side (0 < f <= 1). The
  // picture is searched downscaled so that this size fills the backend's window (Haar 20 px,
  // dlib 80 px): larger frames cost little more than small ones. dlib finds no face under 80 px
  // of the frame as given (it does not upsample).
  double min_face_fraction = 0.08;
  double scale_factor = 1.15;  // opencv_face_detector: the image pyramid's step, in (1, 2]
  // opencv_face_detector: also run the profile cascade (both directions). Finds turned heads, at
  // about four times the cost (see the speed note above).
  bool profiles = false;
  std::string cascade_dir;  // opencv_face_detector: look for the cascades only here when set
};

class FaceDetector {
 public:
  // Loads the backend. invalid_argument: unknown backend name (the message lists the known ones)
  // or an option out of range; unavailable: a cascade file was not found (details.looked_at).
  static Result<FaceDetector> create(const FaceDetectorOptions& options = {});

  FaceDetector(FaceDetector&&) noexcept;
  FaceDetector& operator=(FaceDetector&&) noexcept;
  FaceDetector(const FaceDetector&) = delete;
  FaceDetector& operator=(const FaceDetector&) = delete;
  ~FaceDetector();

  // The faces in `frame` (gray8 or rgb24), highest confidence first. invalid_argument: an empty
  // frame (width or height <= 0, no pixels) or pixels.size() != width * height * channels().
  Result<std::vector<FaceDetection>> detect(const VideoFrame& frame);

  const std::string& backend() const;
  // "opencv 4.6.0 haarcascade_frontalface_alt2 haarcascade_profileface" or "dlib 19.24.0 hog".
  const std::string& backend_version() const;

 private:
  struct Impl;
  explicit FaceDetector(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The backend names FaceDetectorOptions::backend accepts, the default first.
std::vector<std::string> face_detector_backends();

// Intersection over union of two boxes (0 when either is empty).
double face_box_iou(const FaceBox& a, const FaceBox& b);

// The detections of one sampled frame.
struct FrameFaces {
  int64_t pts_ms = 0;
  std::vector<FaceDetection> faces;
};

struct FaceTrackerOptions {
  double min_iou = 0.3;  // a detection continues a track when IoU with its prediction >= this...
  // ...or when the centres are within this many box sizes (sqrt of the mean area) and the sizes
  // within a factor of 1.5 (fast pans; 0 turns it off). IoU matches are preferred.
  double max_centre_distance = 1.0;
  int max_gap_samples = 5;       // missed samples a track survives (0: none)
  int min_track_samples = 3;     // tracks detected in fewer samples are dropped (>= 1)
  bool interpolate_gaps = true;  // fill bridged gaps with linearly interpolated boxes
  int smoothing_radius = 2;      // centred moving average over 2r + 1 samples (0: none)
};

struct FaceTrackPoint {
  int64_t pts_ms = 0;
  FaceBox box;            // smoothed
  double confidence = 0;  // the detection's; 0 for an interpolated point
  bool interpolated = false;
};

struct FaceTrack {
  int track_id = 0;  // 1, 2, ... in order of first appearance
  int64_t start_ms = 0;
  int64_t end_ms = 0;                  // pts of the last point
  int detected_samples = 0;            // points that are detections (not interpolated)
  double mean_confidence = 0;          // over the detected points
  std::vector<FaceTrackPoint> points;  // ascending pts
};

// Links the detections of `frames` (ascending pts_ms) into tracks. invalid_argument: pts_ms
// decreasing, a box with a non-finite value or outside [0, 1], options out of range.
Result<std::vector<FaceTrack>> track_faces(const std::vector<FrameFaces>& frames,
                                           const FaceTrackerOptions& options = {});

}  // namespace atomcut

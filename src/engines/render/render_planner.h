// The render planner: a pure function from a sequence snapshot, the media it uses and a request
// to a RenderPlan (spec "Render Atom", "V02 FX & transition catalog", "Chunked Rendering &
// Loudness"). No I/O: the caller (RenderService) resolves the media and measures loudness.
//
// How a timeline becomes a graph (all times on the output's frame grid, so video and audio agree
// to the sample and nothing drifts over many clips):
//   1. layout    each track's clips placed at frame(start_ms_on_timeline), cut where a later clip
//                or an outgoing transition takes over; transitions clamped to what fits; clips
//                joined by transitions form a group
//   2. clip      per clip: seek the source (-ss/-t), speed (setpts / atempo), fps, crop, scale per
//                scale_mode, opacity, exact length (tpad + trim); the effects stage of a later
//                issue slots in between speed and transform
//   3. group     xfade + acrossfade along each group
//   4. composite the lowest track as the base (concat with black gaps) when it is opaque, else a
//                black canvas; higher tracks overlaid in order; audio groups delayed and summed
//                (amix normalize=0: no gain drop)
//   5. master    window trim, watermark, loudnorm, mixdown, output format
#pragma once

#include "core/error.h"
#include "core/model/media_asset.h"
#include "core/model/render_profiles.h"
#include "core/model/render_request.h"
#include "engines/render/render_plan.h"

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace atomcut {

// What the planner knows about one clip's media (the asset, or the artifact the clip names).
struct RenderSource {
  std::string asset_id;
  std::optional<std::string> artifact_id;
  std::string path;  // local file ffmpeg reads
  MediaKind kind = MediaKind::kVideo;
  bool has_video = false;
  bool has_audio = false;
  int width = 0;  // display size (rotation applied: ffmpeg auto-rotates when decoding)
  int height = 0;
  std::optional<int64_t> duration_ms;
};

// An audio_voice_enhanced artifact standing in for a source's sound (same timeline, from 0).
struct EnhancedAudio {
  std::string artifact_id;
  std::string path;
  std::string mode;
};

// Which video encoder the render uses and why (plan meta "hardware_encoder").
struct EncoderChoice {
  std::string encoder;
  bool hardware = false;
  std::string reason;
};

// First-pass loudness of the mixed audio (loudnorm's print_format=json fields).
struct LoudnessMeasurement {
  double input_i = 0;
  double input_tp = 0;
  double input_lra = 0;
  double input_thresh = 0;
  double target_offset = 0;
  // What loudnorm predicts it would output in one dynamic pass (NaN when not reported).
  double output_i = std::numeric_limits<double>::quiet_NaN();
};

// loudnorm applies a linear gain only when the measured input allows it (ffmpeg's rule): the
// gain must not push the true peak over the target and the loudness range must fit.
bool loudnorm_can_be_linear(const LoudnessMeasurement& m, double target_i, double target_tp,
                            double target_lra);

inline constexpr double kLoudnormTruePeak = -1.5;
// Lossy audio encoders (AAC) overshoot sample peaks by up to ~1 dB; loudnorm aims this much lower
// for them so the encoded file still meets kLoudnormTruePeak. PCM needs none.
inline constexpr double kLossyEncoderHeadroomDb = 1.0;
inline constexpr double kLoudnormRange = 11.0;

// One face track of a clip's source, for the face_blur filter: boxes normalised to the source
// picture ([0, 1], top-left origin) at times on the source's own timeline (ms from its first
// frame, the timeline -ss counts on), ascending.
struct FaceBlurPoint {
  int64_t t_ms = 0;
  double x = 0;
  double y = 0;
  double width = 0;
  double height = 0;
};

struct FaceBlurTrack {
  int track_id = 0;
  std::vector<FaceBlurPoint> points;
};

// What a clip's enabled face_blur filter blurs: the tracks of one video_region_summary.
struct FaceBlurSpec {
  std::string summary_id;
  std::string backend_version;
  double strength = 0.5;             // face_blur's strength, 0.1..1
  int64_t sample_interval_ms = 200;  // of the summary: a face is blurred half of it beyond its
                                     // first and last points
  std::vector<FaceBlurTrack> tracks;
};

// The face blur stage (in each clip's chain right after the seek, before speed, fps, crop and
// scale, so the boxes' source times hold): per track, a copy of the picture is cropped to a box
// of fixed size (the track's largest box plus a margin of kFaceBlurMargin of its size on each
// side, even pixels) whose position follows the track (piecewise linear in t between the
// track's points, reduced to at most kFaceBlurMaxPoints by Douglas-Peucker on the box centre),
// blurred (boxblur, radius and passes growing with strength) and overlaid back at the same
// position while the track lasts (enable=between(t, first, last)). Plan meta "face_blur" lists,
// per clip piece, the summary, strength, source offset and each blurred track (box size, points
// used, window, blur radius).
inline constexpr double kFaceBlurMargin = 0.15;
inline constexpr size_t kFaceBlurMaxPoints = 32;

// True when the filter stacks of `snapshot` have an enabled face_blur filter on `clip_id`.
bool clip_wants_face_blur(const SequenceSnapshot& snapshot, const std::string& clip_id,
                          double* strength = nullptr, std::string* summary_id = nullptr);

struct PlannerInput {
  const RenderRequest* request = nullptr;
  const RenderProfile* profile = nullptr;
  const SequenceSnapshot* snapshot = nullptr;
  std::string project_id;  // empty for inline snapshots
  // Media by clip source key: the clip's artifact_id when set, else its asset_id. A clip whose
  // key is missing renders as a gap and is listed in warnings ("missing_asset").
  const std::map<std::string, RenderSource>* sources = nullptr;
  // Voice-enhanced sound by clip source key (request.use_voice_enhanced_audio): used for the
  // clips of dialogue and generic tracks; the choice per clip is plan meta
  // audio_voice_enhance_selection.
  const std::map<std::string, EnhancedAudio>* enhanced_audio = nullptr;
  const RenderSource* watermark_image = nullptr;  // for watermark.asset_id
  std::string watermark_font;                     // font file for watermark.text
  EncoderChoice encoder;
  // Face tracks by clip id for the clips whose face_blur filter is enabled (see FaceBlurSpec). A
  // clip asking for face_blur without an entry renders unblurred and is listed in warnings
  // ("video_regions_missing").
  const std::map<std::string, FaceBlurSpec>* face_blur = nullptr;
  // Set for the second pass of loudness normalisation.
  std::optional<LoudnessMeasurement> loudness;
};

// The key of `clip` in PlannerInput::sources.
std::string render_source_key(const Clip& clip);

// Builds the plan. invalid_argument when there is nothing to render (a zero-length sequence or a
// window past its end; details carry preview_warnings for preview profiles).
Result<RenderPlan> plan_render(const PlannerInput& input);

// The loudness measurement pass of `plan`: the same inputs and audio graph, with the master
// loudnorm replaced by a measuring one (print_format=json) writing to the null muxer.
std::vector<std::string> loudness_measure_argv(const RenderPlan& plan);
// Reads loudnorm's JSON block from ffmpeg's stderr. invalid_argument when absent or malformed.
Result<LoudnessMeasurement> parse_loudnorm_json(const std::string& stderr_text);

}  // namespace atomcut

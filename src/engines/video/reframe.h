// Reframe suggestion (spec "Visual Meta Engine", POST /video/visual-meta/reframe-suggestion): a
// smoothed virtual-camera path that keeps a visual_meta summary's primary subject inside a crop
// of another aspect ratio, as ParameterAutomation keyframes on a clip. Pure function.
//
// Meaning of the three properties (target_type "clip", time_ms relative to the clip's start on
// the timeline, i.e. (source time - in_ms) / speed):
//  - position_x, position_y: the CENTRE of the crop window in normalised SOURCE coordinates
//    (0 = left/top edge of the source picture, 1 = right/bottom edge). The crop has the target
//    aspect ratio and is as large as the source allows (full source height when the target is
//    narrower than the source, full width otherwise), so its normalised size is
//    crop_w = min(1, target_aspect / source_aspect), crop_h = min(1, source_aspect / target_aspect)
//    and the centre always lies in [crop_w / 2, 1 - crop_w / 2] x [crop_h / 2, 1 - crop_h / 2]:
//    the crop never leaves the picture.
//  - scale: the zoom applied to the source relative to fitting the whole source inside the
//    output frame (letterboxed, "contain"), so that the crop fills the output exactly:
//    scale = 1 / min(crop_w, crop_h) (1.0 when the aspects match; 3.16 for 16:9 -> 9:16). It is
//    constant over the clip.
// Output size (pixels): scale the source by scale * min(out_w / src_w, out_h / src_h), then take
// the out_w x out_h window centred on (position_x * scaled_w, position_y * scaled_h).
//
// The camera path (per shot of the clip window, shots split at the summary's shot_boundaries_ms):
//  - desired centre per sample: the primary subject centre ("center"), or the subject on the
//    nearer vertical third line and the upper horizontal third line ("rule_of_thirds"), clamped
//    to the valid range, median-filtered over 3 samples inside the shot (detection noise);
//  - the camera starts each shot on the desired centre of its first sample and HOLDS while the
//    desired centre stays inside a dead zone (dead_zone x crop size around the camera);
//  - when it leaves, the camera eases (interpolation ease_in_out) to the desired centre of the
//    sample at the end of the move (look-ahead: the move ends on the subject, not behind it) over
//    move_ms (shortened so that it ends inside the shot); no new move starts before one ends;
//  - at a shot boundary the camera jumps: the shot's last keyframe has interpolation "hold" and
//    the next shot's first keyframe sits exactly at the boundary;
//  - redundant keyframes (a value equal to both neighbours) are dropped, so a static subject in a
//    shot yields constant keyframes; a keyframe at 0 and at the clip's end are always present.
// Keyframes are strictly increasing in time (the model's rule) and pass validate().
#pragma once

#include "core/error.h"
#include "core/model/parameter_automation.h"
#include "engines/video/visual_meta.h"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace atomcut {

enum class ReframeAspect { k9x16, k16x9, k4x5, k1x1 };
inline constexpr std::array<std::string_view, 4> kReframeAspectNames = {"9:16", "16:9", "4:5",
                                                                        "1:1"};
enum class FramingStyle { kCenter, kRuleOfThirds };
inline constexpr std::array<std::string_view, 2> kFramingStyleNames = {"center", "rule_of_thirds"};

double reframe_aspect_value(ReframeAspect a);  // width / height

struct ReframeRequestParams {
  int64_t in_ms = 0;  // the clip's source window [in_ms, out_ms)
  int64_t out_ms = 0;
  double speed = 1.0;    // the clip's speed (> 0): keyframe times are (t - in_ms) / speed
  int source_width = 0;  // the source's display size (> 0)
  int source_height = 0;
  ReframeAspect aspect = ReframeAspect::k9x16;
  FramingStyle style = FramingStyle::kCenter;
  std::string target_id;    // the clip id written into each automation
  double dead_zone = 0.12;  // fraction of the crop size (each axis) the subject may drift, 0..0.5
  int64_t move_ms = 600;    // duration of one easing move (source ms), 40..10000
};

struct ReframeSuggestion {
  std::vector<ParameterAutomation> automation;  // position_x, position_y, scale
  double crop_width = 1;                        // normalised crop size
  double crop_height = 1;
  double scale = 1;
  int shot_count = 0;    // shots inside the window
  int move_count = 0;    // easing moves
  int sample_count = 0;  // summary frames used
};

// invalid_argument (details.field) for a bad window, size, speed, dead_zone or move_ms.
Result<ReframeSuggestion> suggest_reframe(const VisualMetaSummary& meta,
                                          const ReframeRequestParams& p);

// The value of an automation at time t (ms, relative to the clip): before the first keyframe its
// value, after the last the last value; between k and k+1 per k's interpolation: linear, hold
// (k's value), ease_in_out (smoothstep 3u^2 - 2u^3). 0 when there are no keyframes.
double automation_value_at(const ParameterAutomation& a, int64_t t_ms);

}  // namespace atomcut

// ParameterAutomation and Keyframe: animating one clip property over time (spec "Video Quality
// vNext": position_x/position_y/scale/opacity/volume_db).
#pragma once

#include "core/error.h"
#include "core/model/timeline_record.h"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atomcut {

enum class AutomationProperty { kPositionX, kPositionY, kScale, kOpacity, kVolumeDb };
inline constexpr std::array<std::string_view, 5> kAutomationPropertyNames = {
    "position_x", "position_y", "scale", "opacity", "volume_db"};

enum class Interpolation { kLinear, kHold, kEaseInOut };
inline constexpr std::array<std::string_view, 3> kInterpolationNames = {"linear", "hold",
                                                                        "ease_in_out"};

// Range of volume_db on clips and in automation (dB; -100 is treated as silence).
inline constexpr double kMinVolumeDb = -100.0;
inline constexpr double kMaxVolumeDb = 24.0;
// Range of the scale property (1.0 = original size).
inline constexpr double kMinScale = 0.0;  // exclusive
inline constexpr double kMaxScale = 100.0;

struct Keyframe {
  int64_t time_ms = 0;  // relative to the start of the target (clip) on the timeline
  double value = 0.0;
  Interpolation interpolation = Interpolation::kLinear;  // towards the next keyframe
};

struct ParameterAutomation {
  AutomationProperty property = AutomationProperty::kOpacity;
  TargetType target_type = TargetType::kClip;
  // Empty when the automation is embedded in its target (Clip.automation, MotionPreset.tracks).
  std::string target_id;
  std::vector<Keyframe> keyframes;  // sorted by strictly increasing time_ms
};

nlohmann::json to_json(const Keyframe& k);
nlohmann::json to_json(const ParameterAutomation& a);

// Strict parse: wrong types or unknown enum names -> invalid_argument naming the field.
// `property` is required; target_type defaults to "clip", interpolation to "linear".
Result<ParameterAutomation> parameter_automation_from_json(const nlohmann::json& j);
// The same, reading from a reader positioned on the automation object (used by Clip and
// MotionPreset so that errors name "automation[1].keyframes[0].value").
ParameterAutomation read_parameter_automation(FieldReader& r);

// Rules: keyframes sorted by strictly increasing time_ms, time_ms >= 0, finite values;
// opacity values in [0,1], volume_db in [kMinVolumeDb, kMaxVolumeDb], scale in (0, kMaxScale].
Status validate(const ParameterAutomation& a);
// validate() with fields named under `checker`'s record and prefix, plus time_ms <= max_time_ms
// when given (MotionPreset duration).
void check_parameter_automation(const ParameterAutomation& a, Checker& checker,
                                std::optional<int64_t> max_time_ms = std::nullopt);

}  // namespace atomcut

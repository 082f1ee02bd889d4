// MotionPreset: reusable automation tracks (e.g. camera shake) that consumers copy onto clips
// (spec "7) Video Effects & Presets"), plus the built-in shake_1/2/3.
#pragma once

#include "core/error.h"
#include "core/model/parameter_automation.h"
#include "core/model/timeline_record.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace atomcut {

inline constexpr int64_t kMaxMotionPresetDurationMs = 600'000;

struct MotionPreset : TimelineRecord {
  std::string id;  // mpr_... (built-ins use their name)
  std::string name;
  std::optional<std::string> description;
  int64_t duration_ms = 0;
  std::vector<ParameterAutomation> tracks;  // keyframe times relative to the preset start
  std::vector<std::string> tags;
  nlohmann::json meta = nlohmann::json::object();
};

nlohmann::json to_json(const MotionPreset& preset);
Result<MotionPreset> motion_preset_from_json(const nlohmann::json& j);
// Rules: name 1..200 characters, description, tags, 0 < duration_ms <= 600000, each track valid
// (see ParameterAutomation) with keyframes inside [0, duration_ms].
Status validate(const MotionPreset& preset);

// shake_1, shake_2, shake_3: 1 s of deterministic jitter on position_x and position_y
// (amplitude 4, 8 and 16 px), starting and ending at rest, tagged "built_in". tenant_id and env
// are empty (global).
std::vector<MotionPreset> built_in_motion_presets();

}  // namespace atomcut

// Transition: a blend between two clips of a Sequence (spec "Timeline / Project Atom", "V02 FX &
// transition catalog"). `type` is one of the canonical names of transition_catalog().
#pragma once

#include "core/error.h"
#include "core/model/timeline_record.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace atomcut {

inline constexpr int64_t kMaxTransitionDurationMs = 60'000;

struct Transition : TimelineRecord {
  std::string id;  // trn_...
  std::string sequence_id;
  std::string type = "crossfade";
  int64_t duration_ms = 0;
  std::string from_clip_id;
  std::string to_clip_id;
  nlohmann::json meta = nlohmann::json::object();
};

nlohmann::json to_json(const Transition& transition);
// Strict parse; type defaults to "crossfade".
Result<Transition> transition_from_json(const nlohmann::json& j);
// Rules: sequence_id, from_clip_id, to_clip_id required and distinct clips, type a canonical
// catalog name (an ffmpeg alias such as "fade" is refused with the canonical name in the message),
// 0 < duration_ms <= 60000.
Status validate(const Transition& transition);

}  // namespace atomcut

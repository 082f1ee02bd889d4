// Sequence: one timeline of a VideoProject, with an exact frame rate and its ordered tracks (spec
// "Timeline / Project Atom").
#pragma once

#include "core/error.h"
#include "core/model/timeline_record.h"
#include "core/rational.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace atomcut {

inline constexpr double kMaxTimebaseFps = 1000.0;

struct Sequence : TimelineRecord {
  std::string id;  // seq_...
  std::string project_id;
  std::string name;
  int64_t duration_ms = 0;
  Rational timebase{30, 1};         // frames per second, exact (30000/1001, never 29.97)
  std::vector<std::string> tracks;  // track ids, bottom to top
  nlohmann::json meta = nlohmann::json::object();
};

// Reads a timebase given as a JSON number (30, 29.97 -> 30000/1001, 25) or a rational string
// ("30000/1001", "25"). invalid_argument naming `field` when malformed, zero or negative.
Result<Rational> parse_timebase(const nlohmann::json& v, std::string_view field = "timebase");

// Public JSON: "timebase" is the rational string ("30000/1001") and "timebase_fps" its value.
nlohmann::json to_json(const Sequence& sequence);
// Strict parse; timebase defaults to 30/1.
Result<Sequence> sequence_from_json(const nlohmann::json& j);
// Rules: project_id required, name 1..200 characters, duration_ms >= 0, timebase in (0, 1000]
// fps, track ids non-empty.
Status validate(const Sequence& sequence);

}  // namespace atomcut

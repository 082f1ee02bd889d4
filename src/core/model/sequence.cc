#include "core/model/sequence.h"

#include <cmath>

#include <fmt/format.h>

namespace atomcut {

Result<Rational> parse_timebase(const nlohmann::json& v, std::string_view field) {
  std::optional<Rational> r;
  std::string shown;
  if (v.is_number_integer()) {
    shown = v.dump();
    if (!v.is_number_unsigned() || v.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX)) {
      r = parse_rational(shown);
    }
  } else if (v.is_number_float()) {
    const double d = v.get<double>();
    // Shortest round-trip text ("29.97", "25"), so 29.97 maps to 30000/1001 like the string.
    shown = fmt::format("{}", d);
    if (std::isfinite(d)) r = parse_rational(shown);
  } else if (v.is_string()) {
    shown = v.get<std::string>().substr(0, 40);
    r = parse_rational(v.get<std::string>());
  } else {
    return field_error("sequence", field,
                       fmt::format("must be a frame rate number or a rational string like "
                                   "\"30000/1001\", not {}",
                                   v.type_name()));
  }
  if (!r || r->num <= 0 || r->den <= 0) {
    return field_error("sequence", field,
                       fmt::format("('{}') must be a positive frame rate: a number (30, 29.97) "
                                   "or a rational string (\"30000/1001\")",
                                   shown));
  }
  return r->reduced();
}

nlohmann::json to_json(const Sequence& s) {
  nlohmann::json j;
  j["id"] = s.id;
  j["project_id"] = s.project_id;
  j["name"] = s.name;
  j["duration_ms"] = s.duration_ms;
  j["timebase"] = s.timebase.to_string();
  j["timebase_fps"] = s.timebase.to_double();
  j["tracks"] = s.tracks;
  j["meta"] = s.meta;
  write_record_fields(s, j);
  return j;
}

Result<Sequence> sequence_from_json(const nlohmann::json& j) {
  FieldReader r(j, "sequence");
  Sequence s;
  static_cast<TimelineRecord&>(s) = read_record_fields(r);
  s.id = r.str("id");
  s.project_id = r.str("project_id");
  s.name = r.str("name");
  s.duration_ms = r.i64("duration_ms", s.duration_ms);
  s.tracks = r.str_list("tracks");
  s.meta = r.object("meta");
  if (!r.ok()) return r.take_error();
  if (auto it = j.find("timebase"); it != j.end() && !it->is_null()) {
    ATOMCUT_ASSIGN_OR_RETURN(s.timebase, parse_timebase(*it));
  }
  return s;
}

Status validate(const Sequence& s) {
  Checker k("sequence");
  k.id("id", s.id, false);
  k.id("project_id", s.project_id, true);
  k.name("name", s.name, true);
  k.check_lazy(s.duration_ms >= 0, "duration_ms",
               [&] { return fmt::format("({}) must be >= 0", s.duration_ms); });
  k.check_lazy(
      s.timebase.den > 0 && s.timebase.num > 0 && s.timebase.to_double() <= kMaxTimebaseFps,
      "timebase", [&] {
        return fmt::format("({}) must be a frame rate in (0, {}] fps", s.timebase.to_string(),
                           kMaxTimebaseFps);
      });
  for (size_t i = 0; i < s.tracks.size() && k.ok(); ++i) {
    k.id(fmt::format("tracks[{}]", i), s.tracks[i], true);
  }
  return k.status();
}

}  // namespace atomcut

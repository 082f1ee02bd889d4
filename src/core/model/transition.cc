#include "core/model/transition.h"

#include "core/model/fx_catalog.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>
#include <vector>

namespace atomcut {

nlohmann::json to_json(const Transition& t) {
  nlohmann::json j;
  j["id"] = t.id;
  j["sequence_id"] = t.sequence_id;
  j["type"] = t.type;
  j["duration_ms"] = t.duration_ms;
  j["from_clip_id"] = t.from_clip_id;
  j["to_clip_id"] = t.to_clip_id;
  j["meta"] = t.meta;
  write_record_fields(t, j);
  return j;
}

Result<Transition> transition_from_json(const nlohmann::json& j) {
  FieldReader r(j, "transition");
  Transition t;
  static_cast<TimelineRecord&>(t) = read_record_fields(r);
  t.id = r.str("id");
  t.sequence_id = r.str("sequence_id");
  t.type = r.str("type", t.type);
  t.duration_ms = r.i64("duration_ms", t.duration_ms);
  t.from_clip_id = r.str("from_clip_id");
  t.to_clip_id = r.str("to_clip_id");
  t.meta = r.object("meta");
  if (!r.ok()) return r.take_error();
  return t;
}

Status validate(const Transition& t) {
  Checker k("transition");
  k.id("id", t.id, false);
  k.id("sequence_id", t.sequence_id, true);
  const TransitionSpec* spec = find_transition(t.type);
  if (!spec || spec->type != t.type) {
    std::vector<std::string> allowed;
    for (const auto& s : transition_catalog()) allowed.push_back(std::string(s.type));
    std::string rule =
        fmt::format("('{}') must be one of {}", t.type.substr(0, 40), fmt::join(allowed, "|"));
    if (spec) rule += fmt::format(" ('{}' is the ffmpeg alias of '{}')", t.type, spec->type);
    k.check(false, "type", rule, {{"allowed", allowed}});
  }
  k.check_lazy(t.duration_ms > 0 && t.duration_ms <= kMaxTransitionDurationMs, "duration_ms", [&] {
    return fmt::format("({}) must be in (0, {}]", t.duration_ms, kMaxTransitionDurationMs);
  });
  k.id("from_clip_id", t.from_clip_id, true);
  k.id("to_clip_id", t.to_clip_id, true);
  k.check_lazy(t.from_clip_id != t.to_clip_id, "to_clip_id",
               [&] { return fmt::format("('{}') must differ from from_clip_id", t.to_clip_id); });
  return k.status();
}

}  // namespace atomcut

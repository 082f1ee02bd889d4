#include "core/model/track.h"

#include <fmt/format.h>

namespace atomcut {

nlohmann::json to_json(const Track& t) {
  nlohmann::json j;
  j["id"] = t.id;
  j["sequence_id"] = t.sequence_id;
  j["kind"] = enum_name(kTrackKindNames, t.kind);
  j["order"] = t.order;
  j["muted"] = t.muted;
  j["hidden"] = t.hidden;
  j["meta"] = t.meta;
  j["audio_role"] = enum_name(kAudioRoleNames, t.audio_role);
  write_record_fields(t, j);
  return j;
}

Result<Track> track_from_json(const nlohmann::json& j) {
  FieldReader r(j, "track");
  Track t;
  static_cast<TimelineRecord&>(t) = read_record_fields(r);
  t.id = r.str("id");
  t.sequence_id = r.str("sequence_id");
  if (!r.opt_str("kind") && r.ok()) r.fail("kind", "is required (video|audio)");
  t.kind = r.enumeration("kind", kTrackKindNames, t.kind);
  t.order = r.i64("order", t.order);
  t.muted = r.boolean("muted", t.muted);
  t.hidden = r.boolean("hidden", t.hidden);
  t.meta = r.object("meta");
  t.audio_role = r.enumeration("audio_role", kAudioRoleNames, t.audio_role);
  if (!r.ok()) return r.take_error();
  return t;
}

Status validate(const Track& t) {
  Checker k("track");
  k.id("id", t.id, false);
  k.id("sequence_id", t.sequence_id, true);
  k.check_lazy(t.order >= 0 && t.order <= kMaxTrackOrder, "order", [&] {
    return fmt::format("({}) must be between 0 and {}", t.order, kMaxTrackOrder);
  });
  return k.status();
}

}  // namespace atomcut

#include "core/model/clip.h"

#include <cmath>

#include <fmt/format.h>

namespace atomcut {

namespace {

nlohmann::json opt_str(const std::optional<std::string>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

// Absorbs floating-point noise in (out-in)/speed.
constexpr double kDurationEpsilonMs = 1e-6;

}  // namespace

double clip_timeline_duration_ms(const Clip& c) {
  return c.speed > 0 ? static_cast<double>(c.out_ms - c.in_ms) / c.speed : 0.0;
}

nlohmann::json to_json(const Clip& c) {
  nlohmann::json j;
  j["id"] = c.id;
  j["track_id"] = c.track_id;
  j["asset_id"] = c.asset_id;
  j["artifact_id"] = opt_str(c.artifact_id);
  j["in_ms"] = c.in_ms;
  j["out_ms"] = c.out_ms;
  j["start_ms_on_timeline"] = c.start_ms_on_timeline;
  j["speed"] = c.speed;
  j["volume_db"] = c.volume_db;
  j["opacity"] = c.opacity;
  j["meta"] = c.meta;
  j["scale_mode"] = enum_name(kScaleModeNames, c.scale_mode);
  j["position"] = {{"x", c.position.x}, {"y", c.position.y}};
  j["crop"] = {{"left", c.crop.left},
               {"top", c.crop.top},
               {"right", c.crop.right},
               {"bottom", c.crop.bottom}};
  j["mask_artifact_id"] = opt_str(c.mask_artifact_id);
  j["blend_mode"] = enum_name(kBlendModeNames, c.blend_mode);
  j["fade_in_ms"] = c.fade_in_ms;
  j["fade_out_ms"] = c.fade_out_ms;
  j["slowmo_quality"] = c.slowmo_quality
                            ? nlohmann::json(enum_name(kSlowmoQualityNames, *c.slowmo_quality))
                            : nlohmann::json(nullptr);
  j["optical_flow"] = c.optical_flow;
  if (c.stabilise) {
    j["stabilise"] = {{"smoothing", c.stabilise->smoothing},
                      {"zoom", c.stabilise->zoom},
                      {"crop", enum_name(kStabiliseCropNames, c.stabilise->crop)},
                      {"tripod", c.stabilise->tripod}};
  } else {
    j["stabilise"] = nullptr;
  }
  nlohmann::json automation = nlohmann::json::array();
  for (const auto& a : c.automation) automation.push_back(to_json(a));
  j["automation"] = std::move(automation);
  write_record_fields(c, j);
  return j;
}

Result<Clip> clip_from_json(const nlohmann::json& j) {
  FieldReader r(j, "clip");
  Clip c;
  static_cast<TimelineRecord&>(c) = read_record_fields(r);
  c.id = r.str("id");
  c.track_id = r.str("track_id");
  c.asset_id = r.str("asset_id");
  c.artifact_id = r.opt_str("artifact_id");
  c.in_ms = r.i64("in_ms", c.in_ms);
  c.out_ms = r.i64("out_ms", c.out_ms);
  c.start_ms_on_timeline = r.i64("start_ms_on_timeline", c.start_ms_on_timeline);
  c.speed = r.num("speed", c.speed);
  c.volume_db = r.num("volume_db", c.volume_db);
  c.opacity = r.num("opacity", c.opacity);
  c.meta = r.object("meta");
  c.scale_mode = r.enumeration("scale_mode", kScaleModeNames, c.scale_mode);
  if (auto p = r.child("position")) {
    c.position.x = p->num("x");
    c.position.y = p->num("y");
    if (!p->ok()) r.absorb(p->take_error());
  }
  if (auto cr = r.child("crop")) {
    c.crop.left = cr->num("left");
    c.crop.top = cr->num("top");
    c.crop.right = cr->num("right");
    c.crop.bottom = cr->num("bottom");
    if (!cr->ok()) r.absorb(cr->take_error());
  }
  c.mask_artifact_id = r.opt_str("mask_artifact_id");
  c.blend_mode = r.enumeration("blend_mode", kBlendModeNames, c.blend_mode);
  c.fade_in_ms = r.i64("fade_in_ms", c.fade_in_ms);
  c.fade_out_ms = r.i64("fade_out_ms", c.fade_out_ms);
  if (r.opt_str("slowmo_quality")) {
    c.slowmo_quality = r.enumeration("slowmo_quality", kSlowmoQualityNames, SlowmoQuality::kHigh);
  }
  c.optical_flow = r.boolean("optical_flow", c.optical_flow);
  if (auto s = r.child("stabilise")) {
    Stabilise st;
    st.smoothing = s->i64("smoothing", st.smoothing);
    st.zoom = s->num("zoom", st.zoom);
    st.crop = s->enumeration("crop", kStabiliseCropNames, st.crop);
    st.tripod = s->boolean("tripod", st.tripod);
    if (!s->ok()) r.absorb(s->take_error());
    c.stabilise = st;
  }
  r.for_each_object("automation", [&](FieldReader& ar) {
    c.automation.push_back(read_parameter_automation(ar));
  });
  if (!r.ok()) return r.take_error();
  return c;
}

Status validate(const Clip& c) {
  Checker k("clip");
  k.id("id", c.id, false);
  k.id("track_id", c.track_id, true);
  k.id("asset_id", c.asset_id, true);
  if (c.artifact_id) k.id("artifact_id", *c.artifact_id, true);
  if (c.mask_artifact_id) k.id("mask_artifact_id", *c.mask_artifact_id, true);
  k.check_lazy(c.in_ms >= 0, "in_ms", [&] { return fmt::format("({}) must be >= 0", c.in_ms); });
  k.check_lazy(c.in_ms < c.out_ms, "out_ms", [&] {
    return fmt::format("({}) must be greater than in_ms ({})", c.out_ms, c.in_ms);
  });
  k.check_lazy(c.start_ms_on_timeline >= 0, "start_ms_on_timeline",
               [&] { return fmt::format("({}) must be >= 0", c.start_ms_on_timeline); });
  k.check_lazy(std::isfinite(c.speed) && c.speed > 0 && c.speed <= kMaxClipSpeed, "speed",
               [&] { return fmt::format("({}) must be in (0, {}]", c.speed, kMaxClipSpeed); });
  k.in_range("opacity", c.opacity, 0.0, 1.0);
  k.in_range("volume_db", c.volume_db, kMinVolumeDb, kMaxVolumeDb);
  k.check_lazy(c.fade_in_ms >= 0, "fade_in_ms",
               [&] { return fmt::format("({}) must be >= 0", c.fade_in_ms); });
  k.check_lazy(c.fade_out_ms >= 0, "fade_out_ms",
               [&] { return fmt::format("({}) must be >= 0", c.fade_out_ms); });
  if (k.ok()) {
    const double duration = clip_timeline_duration_ms(c);
    k.check_lazy(static_cast<double>(c.fade_in_ms + c.fade_out_ms) <= duration + kDurationEpsilonMs,
                 "fade_out_ms", [&] {
                   return fmt::format(
                       "plus fade_in_ms ({} + {}) must not exceed the clip's timeline duration "
                       "((out_ms - in_ms) / speed = {})",
                       c.fade_out_ms, c.fade_in_ms, duration);
                 });
  }
  k.finite("position.x", c.position.x);
  k.finite("position.y", c.position.y);
  const std::pair<const char*, double> edges[] = {{"crop.left", c.crop.left},
                                                  {"crop.top", c.crop.top},
                                                  {"crop.right", c.crop.right},
                                                  {"crop.bottom", c.crop.bottom}};
  for (const auto& [field, v] : edges) {
    k.check_lazy(std::isfinite(v) && v >= 0.0 && v < 1.0, field,
                 [&] { return fmt::format("({}) must be in [0, 1)", v); });
  }
  k.check_lazy(c.crop.left + c.crop.right < 1.0, "crop.right", [&] {
    return fmt::format("plus crop.left ({} + {}) must be less than 1", c.crop.right, c.crop.left);
  });
  k.check_lazy(c.crop.top + c.crop.bottom < 1.0, "crop.bottom", [&] {
    return fmt::format("plus crop.top ({} + {}) must be less than 1", c.crop.bottom, c.crop.top);
  });
  if (c.stabilise) {
    k.check_lazy(c.stabilise->smoothing >= 0 && c.stabilise->smoothing <= kMaxStabiliseSmoothing,
                 "stabilise.smoothing", [&] {
                   return fmt::format("({}) must be between 0 and {}", c.stabilise->smoothing,
                                      kMaxStabiliseSmoothing);
                 });
    k.in_range("stabilise.zoom", c.stabilise->zoom, -kMaxStabiliseZoom, kMaxStabiliseZoom);
  }
  for (size_t i = 0; i < c.automation.size() && k.ok(); ++i) {
    const ParameterAutomation& a = c.automation[i];
    Checker sub("clip", fmt::format("automation[{}].", i));
    // Automation stored on a clip animates that clip.
    sub.check(a.target_type == TargetType::kClip, "target_type", "must be 'clip' on a clip");
    sub.check_lazy(a.target_id.empty() || a.target_id == c.id, "target_id", [&] {
      return fmt::format("('{}') must be empty or this clip's id ('{}')", a.target_id, c.id);
    });
    check_parameter_automation(a, sub);
    k.absorb(sub.status());
  }
  return k.status();
}

}  // namespace atomcut

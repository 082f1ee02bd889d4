#include "core/model/parameter_automation.h"

#include <cmath>

#include <fmt/format.h>

namespace atomcut {

nlohmann::json to_json(const Keyframe& k) {
  return {{"time_ms", k.time_ms},
          {"value", k.value},
          {"interpolation", enum_name(kInterpolationNames, k.interpolation)}};
}

nlohmann::json to_json(const ParameterAutomation& a) {
  nlohmann::json keyframes = nlohmann::json::array();
  for (const auto& k : a.keyframes) keyframes.push_back(to_json(k));
  return {{"property", enum_name(kAutomationPropertyNames, a.property)},
          {"target_type", enum_name(kTargetTypeNames, a.target_type)},
          {"target_id", a.target_id},
          {"keyframes", std::move(keyframes)}};
}

ParameterAutomation read_parameter_automation(FieldReader& r) {
  ParameterAutomation a;
  if (!r.opt_str("property") && r.ok()) {
    r.fail("property", "is required (one of " + join_names(kAutomationPropertyNames) + ")");
  }
  a.property = r.enumeration("property", kAutomationPropertyNames, a.property);
  a.target_type = r.enumeration("target_type", kTargetTypeNames, a.target_type);
  a.target_id = r.str("target_id");
  r.for_each_object("keyframes", [&](FieldReader& kr) {
    Keyframe k;
    k.time_ms = kr.i64("time_ms");
    k.value = kr.num("value");
    k.interpolation = kr.enumeration("interpolation", kInterpolationNames, k.interpolation);
    a.keyframes.push_back(k);
  });
  return a;
}

Result<ParameterAutomation> parameter_automation_from_json(const nlohmann::json& j) {
  FieldReader r(j, "parameter_automation");
  ParameterAutomation a = read_parameter_automation(r);
  if (!r.ok()) return r.take_error();
  return a;
}

void check_parameter_automation(const ParameterAutomation& a, Checker& c,
                                std::optional<int64_t> max_time_ms) {
  c.id("target_id", a.target_id, false);
  for (size_t i = 0; i < a.keyframes.size() && c.ok(); ++i) {
    const Keyframe& k = a.keyframes[i];
    const std::string at = fmt::format("keyframes[{}].", i);
    c.check_lazy(k.time_ms >= 0, at + "time_ms",
                 [&] { return fmt::format("({}) must be >= 0", k.time_ms); });
    if (max_time_ms) {
      c.check_lazy(k.time_ms <= *max_time_ms, at + "time_ms", [&] {
        return fmt::format("({}) must be <= duration_ms ({})", k.time_ms, *max_time_ms);
      });
    }
    if (i > 0) {
      c.check_lazy(k.time_ms > a.keyframes[i - 1].time_ms, at + "time_ms", [&] {
        return fmt::format(
            "({}) must be greater than the previous keyframe's time_ms ({}); "
            "keyframes are sorted by time",
            k.time_ms, a.keyframes[i - 1].time_ms);
      });
    }
    c.finite(at + "value", k.value);
    switch (a.property) {
      case AutomationProperty::kOpacity:
        c.in_range(at + "value", k.value, 0.0, 1.0);
        break;
      case AutomationProperty::kVolumeDb:
        c.in_range(at + "value", k.value, kMinVolumeDb, kMaxVolumeDb);
        break;
      case AutomationProperty::kScale:
        c.check_lazy(k.value > kMinScale && k.value <= kMaxScale, at + "value", [&] {
          return fmt::format("({}) must be a scale in (0, {}]", k.value, kMaxScale);
        });
        break;
      case AutomationProperty::kPositionX:
      case AutomationProperty::kPositionY:
        break;
    }
  }
}

Status validate(const ParameterAutomation& a) {
  Checker c("parameter_automation");
  check_parameter_automation(a, c);
  return c.status();
}

}  // namespace atomcut

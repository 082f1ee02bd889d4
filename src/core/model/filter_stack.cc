#include "core/model/filter_stack.h"

#include "core/model/fx_catalog.h"

#include <fmt/format.h>

namespace atomcut {

nlohmann::json to_json(const Filter& f) {
  return {{"type", f.type}, {"params", f.params}, {"enabled", f.enabled}};
}

nlohmann::json to_json(const FilterStack& s) {
  nlohmann::json j;
  j["id"] = s.id;
  j["target_type"] = enum_name(kTargetTypeNames, s.target_type);
  j["target_id"] = s.target_id;
  nlohmann::json filters = nlohmann::json::array();
  for (const auto& f : s.filters) filters.push_back(to_json(f));
  j["filters"] = std::move(filters);
  write_record_fields(s, j);
  return j;
}

Filter read_filter(FieldReader& r) {
  Filter f;
  f.type = r.str("type");
  if (f.type.empty() && r.ok()) r.fail("type", "is required (a filter type)");
  f.params = r.object("params");
  f.enabled = r.boolean("enabled", f.enabled);
  return f;
}

Result<FilterStack> filter_stack_from_json(const nlohmann::json& j) {
  FieldReader r(j, "filter_stack");
  FilterStack s;
  static_cast<TimelineRecord&>(s) = read_record_fields(r);
  s.id = r.str("id");
  if (!r.opt_str("target_type") && r.ok()) {
    r.fail("target_type", "is required (" + join_names(kTargetTypeNames) + ")");
  }
  s.target_type = r.enumeration("target_type", kTargetTypeNames, s.target_type);
  s.target_id = r.str("target_id");
  r.for_each_object("filters", [&](FieldReader& fr) { s.filters.push_back(read_filter(fr)); });
  if (!r.ok()) return r.take_error();
  return s;
}

Result<ClampedFilters> clamp_filters(const std::vector<Filter>& filters, std::string_view record) {
  if (filters.size() > kMaxFiltersPerStack) {
    return field_error(record, "filters",
                       fmt::format("has {} entries; at most {} filters are allowed", filters.size(),
                                   kMaxFiltersPerStack));
  }
  ClampedFilters out;
  for (size_t i = 0; i < filters.size(); ++i) {
    ATOMCUT_ASSIGN_OR_RETURN(
        ClampedFilter c,
        validate_and_clamp_filter(to_json(filters[i]), record, fmt::format("filters[{}].", i)));
    out.filters.push_back(
        {filters[i].type, c.filter.at("params"), c.filter.at("enabled").get<bool>()});
    if (!c.clamped.empty()) {
      out.report.push_back(
          {{"index", i}, {"type", filters[i].type}, {"clamped", to_json(c.clamped)}});
    }
  }
  return out;
}

void check_filters(const std::vector<Filter>& filters, Checker& k) {
  if (!k.ok()) return;
  auto r = clamp_filters(filters, k.record());
  if (!r.ok()) k.absorb(Status(r.error()));
}

Status validate(const FilterStack& s) {
  Checker k("filter_stack");
  k.id("id", s.id, false);
  k.id("target_id", s.target_id, true);
  check_filters(s.filters, k);
  return k.status();
}

}  // namespace atomcut

// FilterStack: the ordered filters applied to one clip, track or sequence (spec "Timeline /
// Project Atom"); Filter is also the shape FilterPreset reuses.
#pragma once

#include "core/error.h"
#include "core/model/timeline_record.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace atomcut {

inline constexpr size_t kMaxFiltersPerStack = 64;

struct Filter {
  std::string type;                                  // a filter_catalog() type
  nlohmann::json params = nlohmann::json::object();  // param name -> number or string
  bool enabled = true;
};

struct FilterStack : TimelineRecord {
  std::string id;  // fst_...
  TargetType target_type = TargetType::kClip;
  std::string target_id;
  std::vector<Filter> filters;  // applied in order
};

nlohmann::json to_json(const Filter& filter);
nlohmann::json to_json(const FilterStack& stack);
// Reads one filter object (type required, params default {}, enabled default true).
Filter read_filter(FieldReader& r);
// Strict parse; target_type is required.
Result<FilterStack> filter_stack_from_json(const nlohmann::json& j);
// Rules: target_id required, at most 64 filters, each accepted by validate_and_clamp_filter
// (known type and params, numeric values). Out-of-range numbers are not errors: the service stores
// the clamped filters (see clamp_filters).
Status validate(const FilterStack& stack);
// Checks `filters` against the catalog, naming fields "<record>.filters[i]...".
void check_filters(const std::vector<Filter>& filters, Checker& checker);
// The filters with numeric params clamped into range, plus what was clamped per filter
// ([{"index": 0, "type": "gamma", "clamped": [{"param", "from", "to"}]}], only filters with
// clamps). Fails like validate().
struct ClampedFilters {
  std::vector<Filter> filters;
  nlohmann::json report = nlohmann::json::array();
};
Result<ClampedFilters> clamp_filters(const std::vector<Filter>& filters,
                                     std::string_view record = "filter_stack");

}  // namespace atomcut

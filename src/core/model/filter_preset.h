// FilterPreset: a named, reusable list of filters a tenant copies into filter stacks (spec "7)
// Video Effects & Presets"), plus the built-in profile_default_<render_profile> presets.
#pragma once

#include "core/error.h"
#include "core/model/filter_stack.h"
#include "core/model/timeline_record.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace atomcut {

struct FilterPreset : TimelineRecord {
  std::string id;  // fpr_... (built-ins use their name)
  std::string name;
  std::optional<std::string> description;
  std::vector<Filter> filters;
  std::vector<std::string> tags;
  nlohmann::json meta = nlohmann::json::object();
};

nlohmann::json to_json(const FilterPreset& preset);
Result<FilterPreset> filter_preset_from_json(const nlohmann::json& j);
// Rules: name 1..200 characters, description <= 5000, tags, filters as in FilterStack.
Status validate(const FilterPreset& preset);

// One "profile_default_<profile>" preset per render profile, tagged "built_in" and
// "profile_default", with meta.render_profiles = [<profile>] and meta.render_profile_description.
// tenant_id and env are empty (global); the returned list is in render_profiles() order.
std::vector<FilterPreset> built_in_filter_presets();

}  // namespace atomcut

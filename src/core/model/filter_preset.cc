#include "core/model/filter_preset.h"

#include "core/model/render_profiles.h"

#include <string>

namespace atomcut {

nlohmann::json to_json(const FilterPreset& p) {
  nlohmann::json j;
  j["id"] = p.id;
  j["name"] = p.name;
  j["description"] = p.description ? nlohmann::json(*p.description) : nlohmann::json(nullptr);
  nlohmann::json filters = nlohmann::json::array();
  for (const auto& f : p.filters) filters.push_back(to_json(f));
  j["filters"] = std::move(filters);
  j["tags"] = p.tags;
  j["meta"] = p.meta;
  write_record_fields(p, j);
  return j;
}

Result<FilterPreset> filter_preset_from_json(const nlohmann::json& j) {
  FieldReader r(j, "filter_preset");
  FilterPreset p;
  static_cast<TimelineRecord&>(p) = read_record_fields(r);
  p.id = r.str("id");
  p.name = r.str("name");
  p.description = r.opt_str("description");
  r.for_each_object("filters", [&](FieldReader& fr) { p.filters.push_back(read_filter(fr)); });
  p.tags = r.str_list("tags");
  p.meta = r.object("meta");
  if (!r.ok()) return r.take_error();
  return p;
}

Status validate(const FilterPreset& p) {
  Checker k("filter_preset");
  k.id("id", p.id, false);
  k.name("name", p.name, true);
  k.text("description", p.description);
  k.tags("tags", p.tags);
  check_filters(p.filters, k);
  return k.status();
}

namespace {

// A light grade per delivery target: neutral for the draft and the master (grading happens
// downstream of a master), a touch of contrast/saturation and sharpening for compressed
// delivery, where encoders soften detail.
std::vector<Filter> default_filters_for(std::string_view profile) {
  auto f = [](const char* type, nlohmann::json params) { return Filter{type, std::move(params)}; };
  if (profile == "preview_720p_fast") {
    return {f("contrast", {{"contrast", 1.02}}), f("saturation", {{"saturation", 1.05}})};
  }
  if (profile == "social_1080p_h264") {
    return {f("contrast", {{"contrast", 1.05}}), f("saturation", {{"saturation", 1.1}}),
            f("sharpen", {{"luma_x", 5}, {"luma_y", 5}, {"luma_amount", 0.4}})};
  }
  if (profile == "youtube_4k_h264") {
    return {f("contrast", {{"contrast", 1.03}}), f("saturation", {{"saturation", 1.05}}),
            f("sharpen", {{"luma_x", 5}, {"luma_y", 5}, {"luma_amount", 0.25}})};
  }
  // draft_480p_fast, master_4k_prores: neutral.
  return {f("exposure", {{"exposure", 0}}), f("contrast", {{"contrast", 1}})};
}

}  // namespace

std::vector<FilterPreset> built_in_filter_presets() {
  std::vector<FilterPreset> out;
  for (const auto& profile : render_profiles()) {
    FilterPreset p;
    p.id = "profile_default_" + std::string(profile.name);
    p.name = p.id;
    p.description = "Default grade for " + std::string(profile.name) + " (" +
                    std::string(profile.description) + ")";
    p.filters = default_filters_for(profile.name);
    p.tags = {"built_in", "profile_default"};
    p.meta = {{"render_profiles", {std::string(profile.name)}},
              {"render_profile_description", profile.description}};
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace atomcut

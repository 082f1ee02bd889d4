#include "core/model/fx_catalog.h"

#include "core/model/timeline_record.h"

#include <algorithm>
#include <array>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace atomcut {

namespace {

using K = FilterParamKind;

constexpr FilterParamSpec num(std::string_view name, double lo, double hi, double def) {
  return {name, K::kNumber, lo, hi, def};
}
constexpr FilterParamSpec str(std::string_view name) { return {name, K::kString, 0, 0, 0}; }

constexpr std::array kExposure = {num("exposure", -5, 5, 0)};
constexpr std::array kContrast = {num("contrast", 0, 4, 1)};
constexpr std::array kSaturation = {num("saturation", 0, 3, 1)};
constexpr std::array kTemperature = {num("temperature", 2000, 12000, 6500)};
constexpr std::array kTint = {num("tint", -1, 1, 0)};
constexpr std::array kLut = {str("lut_path"), str("lut_artifact_id")};
constexpr std::array<std::string_view, 2> kLutSources = {"lut_path", "lut_artifact_id"};
constexpr std::array kSharpen = {num("luma_x", 1, 20, 5), num("luma_y", 1, 20, 5),
                                 num("luma_amount", 0, 5, 1)};
constexpr std::array kVignette = {num("angle", 0, 1, 0.5), num("softness", 0.1, 1, 0.5),
                                  num("strength", 0.1, 1, 0.5)};
constexpr std::array kHueShift = {num("shift", -180, 180, 0)};
constexpr std::array kFilmGrain = {num("strength", 0, 50, 10)};
constexpr std::array kGamma = {num("gamma", 0.1, 6, 1)};
constexpr std::array kBloom = {num("intensity", 0, 1, 0.3), num("radius", 2, 60, 10)};
constexpr std::array kLevels = {num("black", 0, 0.5, 0), num("white", 0.5, 1, 1),
                                num("gamma", 0.1, 6, 1)};
constexpr std::array kRegionStrength = {num("strength", 0, 1, 0.5)};
constexpr std::array kFaceBlur = {num("strength", 0.1, 1, 0.5), str("source_summary_id"),
                                  str("backend_version")};

const std::array<FilterSpec, 17> kFilters = {{
    {"exposure", "Exposure in EV stops.", kExposure, MaskAware::kNo, {}},
    {"contrast", "Contrast (1 = unchanged).", kContrast, MaskAware::kNo, {}},
    {"saturation", "Colour saturation (1 = unchanged, 0 = grey).", kSaturation, MaskAware::kNo, {}},
    {"temperature", "White balance in kelvin.", kTemperature, MaskAware::kNo, {}},
    {"tint", "Green (-1) to magenta (+1) tint.", kTint, MaskAware::kNo, {}},
    {"lut", "3D LUT via path or artifact id.", kLut, MaskAware::kOptional, kLutSources},
    {"sharpen", "Detail boost via unsharp.", kSharpen, MaskAware::kNo, {}},
    {"vignette", "Corner falloff.", kVignette, MaskAware::kNo, {}},
    {"hue_shift", "Hue rotation in degrees.", kHueShift, MaskAware::kNo, {}},
    {"film_grain", "Add noise.", kFilmGrain, MaskAware::kNo, {}},
    {"gamma", "Gamma correction.", kGamma, MaskAware::kNo, {}},
    {"bloom", "Glow via boxblur.", kBloom, MaskAware::kNo, {}},
    {"levels", "Brightness/contrast/gamma blend.", kLevels, MaskAware::kNo, {}},
    {"teeth_whiten", "Region-aware brightening of teeth.", kRegionStrength, MaskAware::kYes, {}},
    {"skin_smooth", "Region-aware blur of skin.", kRegionStrength, MaskAware::kYes, {}},
    {"eye_enhance", "Region-aware contrast on eyes.", kRegionStrength, MaskAware::kYes, {}},
    {"face_blur", "Region-aware face anonymisation blur.", kFaceBlur, MaskAware::kYes, {}},
}};

const std::array<TransitionSpec, 9> kTransitions = {{
    {"crossfade", "fade", "acrossfade", "Standard dissolve."},
    {"dip_to_black", "fadeblack", "acrossfade", "Fade in/out through black."},
    {"dip_to_white", "fadewhite", "acrossfade", "Fade in/out through white."},
    {"wipe_left", "wipeleft", "acrossfade", "Leftwards horizontal wipe."},
    {"wipe_right", "wiperight", "acrossfade", "Rightwards wipe."},
    {"push_left", "slideleft", "acrossfade", "Slide new clip from right."},
    {"push_right", "slideright", "acrossfade", "Slide new clip from left."},
    {"slide_up", "slideup", "acrossfade", "Vertical upward slide."},
    {"slide_down", "slidedown", "acrossfade", "Vertical downward slide."},
}};

std::string shorten(const std::string& s) { return s.substr(0, 40); }

}  // namespace

std::span<const FilterSpec> filter_catalog() { return kFilters; }

const FilterSpec* find_filter(std::string_view type) {
  for (const auto& f : kFilters) {
    if (f.type == type) return &f;
  }
  return nullptr;
}

const FilterParamSpec* find_filter_param(const FilterSpec& spec, std::string_view name) {
  for (const auto& p : spec.params) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

nlohmann::json to_json(const std::vector<ParamClamp>& clamped) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : clamped) out.push_back({{"param", c.param}, {"from", c.from}, {"to", c.to}});
  return out;
}

nlohmann::json to_json(const FilterSpec& spec) {
  nlohmann::json params = nlohmann::json::array();
  for (const auto& p : spec.params) {
    if (p.kind == K::kString) {
      params.push_back({{"name", p.name}, {"kind", "string"}});
    } else {
      params.push_back({{"name", p.name},
                        {"kind", "number"},
                        {"min", p.min},
                        {"max", p.max},
                        {"default", p.default_value}});
    }
  }
  nlohmann::json j = {{"type", spec.type},
                      {"description", spec.description},
                      {"params", std::move(params)},
                      {"mask_aware", enum_name(kMaskAwareNames, spec.mask_aware)}};
  if (!spec.requires_one_of.empty()) {
    nlohmann::json req = nlohmann::json::array();
    for (auto r : spec.requires_one_of) req.push_back(r);
    j["requires_one_of"] = std::move(req);
  }
  return j;
}

Result<ClampedFilter> validate_and_clamp_filter(const nlohmann::json& filter,
                                                std::string_view record, std::string_view prefix) {
  const std::string pre(prefix);
  auto err = [&](const std::string& field, const std::string& rule,
                 nlohmann::json extra = nlohmann::json::object()) {
    return field_error(record, pre + field, rule, std::move(extra));
  };
  if (!filter.is_object()) {
    const std::string where = pre.empty() ? std::string() : pre.substr(0, pre.size() - 1);
    return Error::invalid_argument(fmt::format("{}{}{} must be a JSON object, not {}", record,
                                               where.empty() ? "" : ".", where, filter.type_name()),
                                   {{"field", where}});
  }
  auto type_it = filter.find("type");
  if (type_it == filter.end() || !type_it->is_string()) {
    return err("type", "is required (a filter type string)");
  }
  const std::string type = type_it->get<std::string>();
  const FilterSpec* spec = find_filter(type);
  if (!spec) {
    std::vector<std::string> allowed;
    for (const auto& f : kFilters) allowed.push_back(std::string(f.type));
    return err("type",
               fmt::format("('{}') is not a known filter; valid types: {}", shorten(type),
                           fmt::join(allowed, ", ")),
               {{"allowed", allowed}});
  }

  bool enabled = true;
  if (auto it = filter.find("enabled"); it != filter.end() && !it->is_null()) {
    if (!it->is_boolean()) {
      return err("enabled", fmt::format("must be true or false, not {}", it->type_name()));
    }
    enabled = it->get<bool>();
  }

  nlohmann::json params = nlohmann::json::object();
  if (auto it = filter.find("params"); it != filter.end() && !it->is_null()) {
    if (!it->is_object()) {
      return err("params", fmt::format("must be a JSON object, not {}", it->type_name()));
    }
    params = *it;
  }

  ClampedFilter out;
  nlohmann::json clean = nlohmann::json::object();
  for (const auto& [name, value] : params.items()) {
    const FilterParamSpec* p = find_filter_param(*spec, name);
    if (!p) {
      std::vector<std::string> allowed;
      for (const auto& q : spec->params) allowed.push_back(std::string(q.name));
      return err("params." + name,
                 fmt::format("is not a parameter of filter '{}'; valid parameters: {}", type,
                             fmt::join(allowed, ", ")),
                 {{"allowed", allowed}});
    }
    if (value.is_null()) continue;  // same as absent: the default applies
    if (p->kind == K::kString) {
      if (!value.is_string()) {
        return err("params." + name, fmt::format("must be a string, not {}", value.type_name()));
      }
      clean[name] = value;
      continue;
    }
    if (!value.is_number() || !std::isfinite(value.get<double>())) {
      return err("params." + name,
                 fmt::format("must be a number between {} and {}, not {}", p->min, p->max,
                             value.is_number() ? "a non-finite number" : value.type_name()));
    }
    const double v = value.get<double>();
    const double c = std::clamp(v, p->min, p->max);
    if (c != v) {
      out.clamped.push_back({name, v, c});
      clean[name] = c;
    } else {
      clean[name] = value;  // keep integers as integers
    }
  }
  if (!spec->requires_one_of.empty()) {
    bool found = false;
    for (auto r : spec->requires_one_of) {
      auto it = clean.find(std::string(r));
      if (it != clean.end() && it->is_string() && !it->get<std::string>().empty()) found = true;
    }
    if (!found) {
      std::vector<std::string> req(spec->requires_one_of.begin(), spec->requires_one_of.end());
      return err("params",
                 fmt::format("of filter '{}' must set one of {}", type, fmt::join(req, " or ")),
                 {{"requires_one_of", req}});
    }
  }
  // Report clamps in catalog order so the output does not depend on JSON key order.
  std::stable_sort(out.clamped.begin(), out.clamped.end(),
                   [&](const ParamClamp& a, const ParamClamp& b) {
                     return find_filter_param(*spec, a.param) < find_filter_param(*spec, b.param);
                   });
  out.filter = {{"type", type}, {"params", std::move(clean)}, {"enabled", enabled}};
  return out;
}

std::span<const TransitionSpec> transition_catalog() { return kTransitions; }

const TransitionSpec* find_transition(std::string_view name) {
  for (const auto& t : kTransitions) {
    if (t.type == name || t.video_alias == name) return &t;
  }
  return nullptr;
}

nlohmann::json to_json(const TransitionSpec& spec) {
  return {{"type", spec.type},
          {"video_alias", spec.video_alias},
          {"audio_alias", spec.audio_alias},
          {"description", spec.description}};
}

}  // namespace atomcut

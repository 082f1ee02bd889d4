// The FX catalogs as data (spec "V02 FX & transition catalog", "Video Quality vNext"): every
// filter type a FilterStack may hold, with its parameters' ranges and defaults, and every
// transition type with its ffmpeg xfade/acrossfade aliases. Like MLT's filter .yml files, the
// tables are the single description renderers, validators and docs read.
//
// Ranges the spec leaves open (documented here, used for clamping):
//   exposure.exposure     -5..5 EV, default 0        (ffmpeg `exposure`)
//   contrast.contrast      0..4,    default 1        (ffmpeg `eq` contrast, 1 = unchanged)
//   saturation.saturation  0..3,    default 1        (ffmpeg `eq` saturation range)
//   temperature.temperature 2000..12000 K, default 6500 (ffmpeg `colortemperature`)
//   tint.tint             -1..1,    default 0        (green -1 .. magenta +1)
//   teeth_whiten/skin_smooth/eye_enhance.strength 0..1, default 0.5 (maps to brightness / blur /
//   contrast of the masked region)
#pragma once

#include "core/error.h"

#include <nlohmann/json.hpp>

#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace atomcut {

enum class FilterParamKind { kNumber, kString };

struct FilterParamSpec {
  std::string_view name;
  FilterParamKind kind = FilterParamKind::kNumber;
  double min = 0.0;  // numbers only
  double max = 0.0;
  double default_value = 0.0;
};

// Whether a filter can be confined to a clip mask or a region summary.
enum class MaskAware { kNo, kYes, kOptional };
inline constexpr std::array<std::string_view, 3> kMaskAwareNames = {"no", "yes", "optional"};

struct FilterSpec {
  std::string_view type;
  std::string_view description;
  std::span<const FilterParamSpec> params;
  MaskAware mask_aware = MaskAware::kNo;
  // Names of string params of which at least one must be non-empty (lut: lut_path or
  // lut_artifact_id).
  std::span<const std::string_view> requires_one_of;
};

// Every filter type, in catalog order.
std::span<const FilterSpec> filter_catalog();
// nullptr when `type` is not a catalog filter.
const FilterSpec* find_filter(std::string_view type);
const FilterParamSpec* find_filter_param(const FilterSpec& spec, std::string_view name);

struct ParamClamp {
  std::string param;
  double from = 0.0;
  double to = 0.0;
};

struct ClampedFilter {
  // {"type", "params", "enabled"} with numeric params clamped into range; params that were not
  // given stay absent (renderers use FilterParamSpec::default_value).
  nlohmann::json filter;
  std::vector<ParamClamp> clamped;  // params moved into range, in catalog order
};

// [{"param": "gamma", "from": 9, "to": 6}, ...]
nlohmann::json to_json(const std::vector<ParamClamp>& clamped);
nlohmann::json to_json(const FilterSpec& spec);  // the catalog entry, for GET endpoints

// Checks one filter object {type, params?, enabled?} against the catalog: unknown type
// (details.allowed lists the valid ones), unknown params (details.allowed lists that filter's),
// non-numeric numbers, non-string strings, a missing lut source, a non-boolean enabled are
// invalid_argument naming the field; out-of-range numbers are clamped and reported.
// `record` and `prefix` name the fields in errors: "<record>.<prefix>params.gamma".
Result<ClampedFilter> validate_and_clamp_filter(const nlohmann::json& filter,
                                                std::string_view record = "filter",
                                                std::string_view prefix = "");

struct TransitionSpec {
  std::string_view type;         // canonical model name ("crossfade")
  std::string_view video_alias;  // ffmpeg xfade transition ("fade")
  std::string_view audio_alias;  // ffmpeg audio filter ("acrossfade")
  std::string_view description;
};

// The nine transition types, in catalog order.
std::span<const TransitionSpec> transition_catalog();
// Looks up a canonical name or a video alias ("fade" -> crossfade); nullptr when unknown.
const TransitionSpec* find_transition(std::string_view name);
nlohmann::json to_json(const TransitionSpec& spec);

}  // namespace atomcut

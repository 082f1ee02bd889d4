// PresetService: filter presets and motion presets of the Timeline atom (spec "7) Video Effects &
// Presets"). Two kinds of preset live side by side:
//   - built-ins (core/model: profile_default_<render_profile> filter presets, shake_1/2/3 motion
//     presets): read-only, the same for every tenant and env, id == name, tenant_id/env "";
//   - tenant presets (ids fpr_... / mpr_...): stored as documents ("video_filter_presets",
//     "video_motion_presets"; parent_id "", root_id = the preset id), private to their (tenant_id,
//     env). Another scope's preset is not_found, exactly like a missing one.
// Rules on top of the model's validate():
//   - a tenant preset may not take a built-in's name or id (compared case-insensitively):
//     already_exists, details {"field", "built_in_id"};
//   - the id is assigned here: a body "id" is invalid_argument (already_exists for a built-in id);
//   - the "built_in" tag is reserved for built-ins: invalid_argument on field "tags";
//   - filter preset filters are checked against the FX catalog and clamped like filter stacks;
//     create's response carries "clamped" (see clamp_filters), which is not stored;
//   - deleting a built-in is permission_denied.
// JSON in, JSON out (the spec's field names); free of HTTP types. Thread safe.
#pragma once

#include "core/error.h"
#include "core/request_context.h"
#include "storage/metadata_store.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atomcut {

enum class PresetKind { kFilter, kMotion };

// "filter_preset" / "motion_preset" (messages, delete reports).
std::string_view preset_kind_name(PresetKind kind);

struct PresetPage {
  std::vector<nlohmann::json> items;
  // The id of the last item when more items follow; pass it back as `cursor`.
  std::optional<std::string> next_cursor;
};

class PresetService {
 public:
  // `store` must outlive the service.
  explicit PresetService(MetadataStore& store);

  // Creates a tenant preset from the body (FilterPreset / MotionPreset JSON without id; context
  // fields come from ctx). Returns the stored preset's JSON, plus "clamped" for filter presets.
  Result<nlohmann::json> create(const RequestContext& ctx, PresetKind kind,
                                const nlohmann::json& body);
  // A built-in (by its id) or a preset of the caller's scope; not_found otherwise.
  Result<nlohmann::json> get(const Scope& scope, PresetKind kind, std::string_view id);
  // One page of: every built-in (in model order), then the scope's presets in creation order.
  // The cursor is the id of the last item of the previous page (built-in or tenant), so a page may
  // mix both and the walk neither repeats nor skips. `tag`, when given, keeps presets carrying
  // that exact tag ("built_in" selects the built-ins). limit is 1..1000; a cursor that is neither
  // a built-in id nor a preset id is invalid_argument.
  Result<PresetPage> list(const Scope& scope, PresetKind kind, int limit,
                          const std::optional<std::string>& cursor,
                          const std::optional<std::string>& tag);
  // Deletes a tenant preset. permission_denied for a built-in, not_found when not in scope.
  Status remove(const RequestContext& ctx, PresetKind kind, std::string_view id);

  // The built-ins' JSON, as served to every tenant.
  const std::vector<nlohmann::json>& built_ins(PresetKind kind) const;

 private:
  const nlohmann::json* find_built_in(PresetKind kind, std::string_view id_or_name) const;

  MetadataStore& store_;
  std::vector<nlohmann::json> built_in_filters_;
  std::vector<nlohmann::json> built_in_motion_;
};

}  // namespace atomcut

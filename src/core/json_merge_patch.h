// JSON Merge Patch (RFC 7396): how PATCH bodies update stored records.
#pragma once

#include <nlohmann/json.hpp>

namespace atomcut {

// Applies `patch` to `target` exactly as RFC 7396 section 2 describes: a non-object patch
// replaces the target; an object patch turns a non-object target into {}, removes members whose
// patch value is null, and merges the others recursively (arrays replace, never merge).
// Pure; neither argument is modified.
nlohmann::json merge_patch(const nlohmann::json& target, const nlohmann::json& patch);

}  // namespace atomcut

#include "core/json_merge_patch.h"

namespace atomcut {

nlohmann::json merge_patch(const nlohmann::json& target, const nlohmann::json& patch) {
  if (!patch.is_object()) return patch;
  nlohmann::json result = target.is_object() ? target : nlohmann::json::object();
  for (const auto& [key, value] : patch.items()) {
    if (value.is_null()) {
      result.erase(key);
    } else {
      auto it = result.find(key);
      result[key] = merge_patch(it != result.end() ? *it : nlohmann::json(nullptr), value);
    }
  }
  return result;
}

}  // namespace atomcut

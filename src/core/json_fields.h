// Typed, validating access to fields of a JSON request object. Each getter returns
// invalid_argument naming the field and the expected type when the value has the wrong type;
// a missing or null field is nullopt (or an error for the require_* forms).
#pragma once

#include "core/error.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace atomcut {

Result<std::optional<std::string>> json_opt_string(const nlohmann::json& obj, const char* field);
Result<std::string> json_require_string(const nlohmann::json& obj, const char* field);
// Whole numbers only (1.5 and "15" are refused); range-checked.
Result<std::optional<int64_t>> json_opt_int(const nlohmann::json& obj, const char* field,
                                            int64_t min_value = INT64_MIN,
                                            int64_t max_value = INT64_MAX);
Result<std::optional<bool>> json_opt_bool(const nlohmann::json& obj, const char* field);
Result<std::optional<nlohmann::json>> json_opt_object(const nlohmann::json& obj, const char* field);

// Parses a decimal integer from text (form fields, query parameters), naming `field` on error.
Result<int64_t> parse_int_field(std::string_view text, const char* field,
                                int64_t min_value = INT64_MIN, int64_t max_value = INT64_MAX);

}  // namespace atomcut

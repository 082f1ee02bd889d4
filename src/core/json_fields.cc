#include "core/json_fields.h"

#include <charconv>

#include <fmt/format.h>

namespace atomcut {
namespace {

const nlohmann::json* find_field(const nlohmann::json& obj, const char* field) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

Error wrong_type(const char* field, const char* expected, const nlohmann::json& v) {
  return Error::invalid_argument(
      fmt::format("{} must be {}, not {}", field, expected, v.type_name()),
      {{"field", field}, {"expected", expected}});
}

Error out_of_range(const char* field, int64_t v, int64_t lo, int64_t hi) {
  std::string range;
  if (lo != INT64_MIN && hi != INT64_MAX) {
    range = fmt::format("between {} and {}", lo, hi);
  } else if (lo != INT64_MIN) {
    range = fmt::format(">= {}", lo);
  } else {
    range = fmt::format("<= {}", hi);
  }
  return Error::invalid_argument(fmt::format("{} ({}) must be {}", field, v, range),
                                 {{"field", field}, {"min", lo}, {"max", hi}});
}

}  // namespace

Result<std::optional<std::string>> json_opt_string(const nlohmann::json& obj, const char* field) {
  const auto* v = find_field(obj, field);
  if (!v) return std::optional<std::string>();
  if (!v->is_string()) return wrong_type(field, "a string", *v);
  return std::optional<std::string>(v->get<std::string>());
}

Result<std::string> json_require_string(const nlohmann::json& obj, const char* field) {
  ATOMCUT_ASSIGN_OR_RETURN(auto v, json_opt_string(obj, field));
  if (!v || v->empty()) {
    return Error::invalid_argument(fmt::format("{} is required", field), {{"field", field}});
  }
  return *v;
}

Result<std::optional<int64_t>> json_opt_int(const nlohmann::json& obj, const char* field,
                                            int64_t min_value, int64_t max_value) {
  const auto* v = find_field(obj, field);
  if (!v) return std::optional<int64_t>();
  int64_t value = 0;
  if (v->is_number_integer()) {
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      return out_of_range(field, INT64_MAX, min_value, max_value);
    }
    value = v->get<int64_t>();
  } else if (v->is_number_float()) {
    double d = v->get<double>();
    if (d != static_cast<double>(static_cast<int64_t>(d)) || d > 9e18 || d < -9e18) {
      return wrong_type(field, "a whole number", *v);
    }
    value = static_cast<int64_t>(d);
  } else {
    return wrong_type(field, "a whole number", *v);
  }
  if (value < min_value || value > max_value)
    return out_of_range(field, value, min_value, max_value);
  return std::optional<int64_t>(value);
}

Result<std::optional<bool>> json_opt_bool(const nlohmann::json& obj, const char* field) {
  const auto* v = find_field(obj, field);
  if (!v) return std::optional<bool>();
  if (!v->is_boolean()) return wrong_type(field, "true or false", *v);
  return std::optional<bool>(v->get<bool>());
}

Result<std::optional<nlohmann::json>> json_opt_object(const nlohmann::json& obj,
                                                      const char* field) {
  const auto* v = find_field(obj, field);
  if (!v) return std::optional<nlohmann::json>();
  if (!v->is_object()) return wrong_type(field, "a JSON object", *v);
  return std::optional<nlohmann::json>(*v);
}

Result<int64_t> parse_int_field(std::string_view text, const char* field, int64_t min_value,
                                int64_t max_value) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size()) {
    return Error::invalid_argument(
        fmt::format("{} must be a whole number, not '{}'", field, std::string(text.substr(0, 40))),
        {{"field", field}});
  }
  if (v < min_value || v > max_value) return out_of_range(field, v, min_value, max_value);
  return v;
}

}  // namespace atomcut

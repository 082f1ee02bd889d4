// Shared pieces of the Timeline atom's value types (VideoProject, Sequence, Track, Clip, ...):
// the ownership/timestamp fields every record carries, small enum name tables, and the strict
// JSON reader and field checker that name the offending field in every error.
//
// Errors are Error::invalid_argument with message "<record>.<field> <rule>" and details
// {"field": "<field>"} where <field> is the path inside the record's JSON ("position.x",
// "automation[0].keyframes[2].time_ms").
#pragma once

#include "core/error.h"

#include <nlohmann/json.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace atomcut {

// Fields present on every timeline record. Times are milliseconds since the Unix epoch (UTC);
// the public JSON shows them as RFC 3339 ("created_at", "updated_at").
struct TimelineRecord {
  std::string tenant_id;
  std::string env;
  std::optional<std::string> user_id;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

// What a FilterStack or a ParameterAutomation applies to.
enum class TargetType { kClip, kTrack, kSequence };
inline constexpr std::array<std::string_view, 3> kTargetTypeNames = {"clip", "track", "sequence"};

// Limits shared by the model types (characters / entries).
inline constexpr size_t kMaxIdLength = 128;
inline constexpr size_t kMaxNameLength = 200;
inline constexpr size_t kMaxDescriptionLength = 5000;
inline constexpr size_t kMaxTags = 64;
inline constexpr size_t kMaxTagLength = 64;

// Name of an enum value from its table (the enum's underlying values are the indices).
template <typename E, size_t N>
std::string_view enum_name(const std::array<std::string_view, N>& names, E value) {
  const auto i = static_cast<size_t>(value);
  return i < N ? names[i] : std::string_view();
}

template <typename E, size_t N>
std::optional<E> parse_enum(const std::array<std::string_view, N>& names, std::string_view s) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == s) return static_cast<E>(i);
  }
  return std::nullopt;
}

// "a|b|c"
std::string join_names(const std::string_view* names, size_t n, std::string_view sep = "|");
template <size_t N>
std::string join_names(const std::array<std::string_view, N>& names, std::string_view sep = "|") {
  return join_names(names.data(), N, sep);
}

// Parses the RFC 3339 text format_rfc3339_ms produces ("2026-11-24T08:01:34.123Z"; fraction
// optional, "Z" or "+hh:mm" offset). nullopt when malformed.
std::optional<int64_t> parse_rfc3339_ms(std::string_view text);

// The invalid_argument error for `record`.`field`: message "<record>.<field> <rule>",
// details {"field": field} merged with `extra`.
Error field_error(std::string_view record, std::string_view field, std::string_view rule,
                  nlohmann::json extra = nlohmann::json::object());

// Reads fields of one JSON object strictly. Missing or null fields yield the given default;
// a present field of the wrong type records an error (the first one wins) and yields the default.
// Unknown fields are ignored. Check ok() / take_error() after reading.
class FieldReader {
 public:
  // `obj` must outlive the reader. A non-object `obj` records an error at once.
  FieldReader(const nlohmann::json& obj, std::string record, std::string prefix = "");

  std::string str(const char* field, std::string def = "");
  std::optional<std::string> opt_str(const char* field);
  int64_t i64(const char* field, int64_t def = 0);  // whole numbers only
  double num(const char* field, double def = 0.0);  // any finite JSON number
  bool boolean(const char* field, bool def = false);
  nlohmann::json object(const char* field);  // default {}
  std::vector<std::string> str_list(const char* field);
  // RFC 3339 string (see parse_rfc3339_ms); default 0.
  int64_t timestamp_ms(const char* field);

  template <typename E, size_t N>
  E enumeration(const char* field, const std::array<std::string_view, N>& names, E def) {
    auto s = opt_str(field);
    if (!s) return def;
    if (auto e = parse_enum<E>(names, *s)) return *e;
    fail_enum(field, *s, names.data(), N);
    return def;
  }

  // Calls fn(FieldReader&) for each element of the array `field` (each must be an object),
  // with the element's path as prefix ("automation[2].").
  template <typename Fn>
  void for_each_object(const char* field, Fn&& fn) {
    const nlohmann::json* arr = find(field);
    if (!arr) return;
    if (!arr->is_array()) return wrong_type(field, "an array", *arr);
    for (size_t i = 0; i < arr->size(); ++i) {
      const std::string at = path(field) + "[" + std::to_string(i) + "]";
      if (!(*arr)[i].is_object()) return fail_path(at, "must be a JSON object");
      FieldReader elem((*arr)[i], record_, at + ".");
      fn(elem);
      if (!elem.ok()) return absorb(elem.take_error());
      if (!ok()) return;
    }
  }

  // A reader for the nested object `field`, or nullopt when it is missing/null (or has the wrong
  // type, which records an error).
  std::optional<FieldReader> child(const char* field);

  // Records an error found by the caller (e.g. a nested reader's).
  void absorb(Error e);
  void fail(const char* field, std::string_view rule,
            nlohmann::json extra = nlohmann::json::object());

  bool ok() const { return !error_.has_value(); }
  Error take_error() { return std::move(*error_); }
  const std::string& record() const { return record_; }
  const std::string& prefix() const { return prefix_; }

 private:
  const nlohmann::json* find(const char* field) const;
  std::string path(const char* field) const { return prefix_ + field; }
  void wrong_type(const char* field, const char* expected, const nlohmann::json& v);
  void fail_path(const std::string& path, std::string_view rule);
  void fail_enum(const char* field, const std::string& value, const std::string_view* names,
                 size_t n);

  const nlohmann::json& obj_;
  std::string record_;
  std::string prefix_;
  std::optional<Error> error_;
};

// Collects the first failed rule of a validate() call.
class Checker {
 public:
  explicit Checker(std::string record, std::string prefix = "")
      : record_(std::move(record)), prefix_(std::move(prefix)) {}

  // Records "<record>.<prefix><field> <rule>" unless `cond` holds or an error is already kept.
  // Returns cond.
  bool check(bool cond, std::string_view field, std::string_view rule,
             nlohmann::json extra = nlohmann::json::object());
  // Same, building the rule text only on failure.
  template <typename RuleFn>
  bool check_lazy(bool cond, std::string_view field, RuleFn&& rule) {
    if (cond || error_) return cond;
    check(false, field, rule());
    return false;
  }
  void absorb(const Status& s) {
    if (!error_ && !s.ok()) error_ = s.error();
  }

  // Common rules.
  void id(std::string_view field, const std::string& value, bool required);
  void name(std::string_view field, const std::string& value, bool required,
            size_t max_len = kMaxNameLength);
  void text(std::string_view field, const std::optional<std::string>& value,
            size_t max_len = kMaxDescriptionLength);
  void tags(std::string_view field, const std::vector<std::string>& tags);
  void in_range(std::string_view field, double value, double lo, double hi);
  void finite(std::string_view field, double value);

  const std::string& record() const { return record_; }
  const std::string& prefix() const { return prefix_; }
  bool ok() const { return !error_.has_value(); }
  Status status() const { return error_ ? Status(*error_) : Status(); }

 private:
  std::string record_;
  std::string prefix_;
  std::optional<Error> error_;
};

// Writes tenant_id, env, user_id, created_at, updated_at into `j`.
void write_record_fields(const TimelineRecord& r, nlohmann::json& j);
// Reads the same fields (timestamps from the RFC 3339 strings).
TimelineRecord read_record_fields(FieldReader& r);

}  // namespace atomcut

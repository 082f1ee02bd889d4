#include "core/model/timeline_record.h"

#include "core/time_util.h"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

namespace atomcut {

std::string join_names(const std::string_view* names, size_t n, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    if (i) out += sep;
    out += names[i];
  }
  return out;
}

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool read_digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  auto [p, ec] = std::from_chars(s.data() + pos, s.data() + pos + n, out);
  return ec == std::errc() && p == s.data() + pos + n;
}

std::string truncate(std::string_view s, size_t n = 40) { return std::string(s.substr(0, n)); }

}  // namespace

std::optional<int64_t> parse_rfc3339_ms(std::string_view s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!read_digits(s, 0, 4, y) || s.size() < 19 || s[4] != '-' || !read_digits(s, 5, 2, mo) ||
      s[7] != '-' || !read_digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't') ||
      !read_digits(s, 11, 2, h) || s[13] != ':' || !read_digits(s, 14, 2, mi) || s[16] != ':' ||
      !read_digits(s, 17, 2, sec)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  size_t pos = 19;
  int64_t ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t digits = 0;
    int64_t scale = 100;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 3) ms += (s[pos] - '0') * scale;
      scale /= 10;
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
  }
  int64_t offset_min = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh = 0, om = 0;
    if (!read_digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !read_digits(s, pos + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_min = (s[pos] == '-' ? -1 : 1) * (oh * 60 + om);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  const int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_min * 60;
  return secs * 1000 + ms;
}

Error field_error(std::string_view record, std::string_view field, std::string_view rule,
                  nlohmann::json extra) {
  nlohmann::json details = {{"field", field}};
  if (extra.is_object()) details.update(extra);
  return Error::invalid_argument(fmt::format("{}.{} {}", record, field, rule), std::move(details));
}

// ---------------------------------------------------------------------------------------------
// FieldReader

FieldReader::FieldReader(const nlohmann::json& obj, std::string record, std::string prefix)
    : obj_(obj), record_(std::move(record)), prefix_(std::move(prefix)) {
  if (!obj_.is_object()) {
    std::string where = prefix_.empty() ? record_ : record_ + "." + prefix_;
    if (!where.empty() && where.back() == '.') where.pop_back();
    error_ = Error::invalid_argument(
        fmt::format("{} must be a JSON object, not {}", where, obj_.type_name()),
        {{"field", prefix_.empty() ? std::string() : prefix_.substr(0, prefix_.size() - 1)}});
  }
}

const nlohmann::json* FieldReader::find(const char* field) const {
  if (error_ || !obj_.is_object()) return nullptr;
  auto it = obj_.find(field);
  if (it == obj_.end() || it->is_null()) return nullptr;
  return &*it;
}

void FieldReader::absorb(Error e) {
  if (!error_) error_ = std::move(e);
}

void FieldReader::fail(const char* field, std::string_view rule, nlohmann::json extra) {
  if (!error_) error_ = field_error(record_, path(field), rule, std::move(extra));
}

void FieldReader::fail_path(const std::string& p, std::string_view rule) {
  if (!error_) error_ = field_error(record_, p, rule);
}

void FieldReader::fail_enum(const char* field, const std::string& value,
                            const std::string_view* names, size_t n) {
  nlohmann::json allowed = nlohmann::json::array();
  for (size_t i = 0; i < n; ++i) allowed.push_back(std::string(names[i]));
  fail(field, fmt::format("('{}') must be one of {}", truncate(value), join_names(names, n)),
       {{"allowed", allowed}});
}

void FieldReader::wrong_type(const char* field, const char* expected, const nlohmann::json& v) {
  fail(field, fmt::format("must be {}, not {}", expected, v.type_name()), {{"expected", expected}});
}

std::string FieldReader::str(const char* field, std::string def) {
  const auto* v = find(field);
  if (!v) return def;
  if (!v->is_string()) {
    wrong_type(field, "a string", *v);
    return def;
  }
  return v->get<std::string>();
}

std::optional<std::string> FieldReader::opt_str(const char* field) {
  const auto* v = find(field);
  if (!v) return std::nullopt;
  if (!v->is_string()) {
    wrong_type(field, "a string", *v);
    return std::nullopt;
  }
  return v->get<std::string>();
}

int64_t FieldReader::i64(const char* field, int64_t def) {
  const auto* v = find(field);
  if (!v) return def;
  if (v->is_number_unsigned()) {
    if (v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      fail(field, "is too large");
      return def;
    }
    return static_cast<int64_t>(v->get<uint64_t>());
  }
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_float()) {
    // 1000.0 is accepted as 1000; 1000.5 is not a whole number of milliseconds.
    const double d = v->get<double>();
    if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9e18) {
      return static_cast<int64_t>(d);
    }
  }
  wrong_type(field, "a whole number", *v);
  return def;
}

double FieldReader::num(const char* field, double def) {
  const auto* v = find(field);
  if (!v) return def;
  if (!v->is_number()) {
    wrong_type(field, "a number", *v);
    return def;
  }
  const double d = v->get<double>();
  if (!std::isfinite(d)) {
    wrong_type(field, "a finite number", *v);
    return def;
  }
  return d;
}

bool FieldReader::boolean(const char* field, bool def) {
  const auto* v = find(field);
  if (!v) return def;
  if (!v->is_boolean()) {
    wrong_type(field, "true or false", *v);
    return def;
  }
  return v->get<bool>();
}

nlohmann::json FieldReader::object(const char* field) {
  const auto* v = find(field);
  if (!v) return nlohmann::json::object();
  if (!v->is_object()) {
    wrong_type(field, "a JSON object", *v);
    return nlohmann::json::object();
  }
  return *v;
}

std::vector<std::string> FieldReader::str_list(const char* field) {
  std::vector<std::string> out;
  const auto* v = find(field);
  if (!v) return out;
  if (!v->is_array()) {
    wrong_type(field, "an array of strings", *v);
    return out;
  }
  for (size_t i = 0; i < v->size(); ++i) {
    if (!(*v)[i].is_string()) {
      fail_path(fmt::format("{}[{}]", path(field), i),
                fmt::format("must be a string, not {}", (*v)[i].type_name()));
      return {};
    }
    out.push_back((*v)[i].get<std::string>());
  }
  return out;
}

int64_t FieldReader::timestamp_ms(const char* field) {
  auto s = opt_str(field);
  if (!s) return 0;
  auto ms = parse_rfc3339_ms(*s);
  if (!ms) {
    fail(field, fmt::format("('{}') must be an RFC 3339 timestamp like 2026-01-02T03:04:05.678Z",
                            truncate(*s)));
    return 0;
  }
  return *ms;
}

std::optional<FieldReader> FieldReader::child(const char* field) {
  const auto* v = find(field);
  if (!v) return std::nullopt;
  if (!v->is_object()) {
    wrong_type(field, "a JSON object", *v);
    return std::nullopt;
  }
  return FieldReader(*v, record_, path(field) + ".");
}

// ---------------------------------------------------------------------------------------------
// Checker

bool Checker::check(bool cond, std::string_view field, std::string_view rule,
                    nlohmann::json extra) {
  if (cond || error_) return cond;
  error_ = field_error(record_, prefix_ + std::string(field), rule, std::move(extra));
  return false;
}

void Checker::id(std::string_view field, const std::string& value, bool required) {
  if (required) check(!value.empty(), field, "is required (a non-empty id)");
  check_lazy(value.size() <= kMaxIdLength, field, [&] {
    return fmt::format("is {} characters long; ids are at most {}", value.size(), kMaxIdLength);
  });
}

void Checker::name(std::string_view field, const std::string& value, bool required,
                   size_t max_len) {
  if (required) check(!value.empty(), field, "is required (a non-empty string)");
  check_lazy(value.size() <= max_len, field, [&] {
    return fmt::format("is {} characters long; the limit is {}", value.size(), max_len);
  });
}

void Checker::text(std::string_view field, const std::optional<std::string>& value,
                   size_t max_len) {
  if (value) name(field, *value, false, max_len);
}

void Checker::tags(std::string_view field, const std::vector<std::string>& tags) {
  check_lazy(tags.size() <= kMaxTags, field, [&] {
    return fmt::format("has {} entries; at most {} tags are allowed", tags.size(), kMaxTags);
  });
  for (size_t i = 0; i < tags.size() && ok(); ++i) {
    const std::string at = fmt::format("{}[{}]", field, i);
    check(!tags[i].empty(), at, "must be a non-empty string");
    check_lazy(tags[i].size() <= kMaxTagLength, at, [&] {
      return fmt::format("is {} characters long; tags are at most {}", tags[i].size(),
                         kMaxTagLength);
    });
  }
}

void Checker::in_range(std::string_view field, double value, double lo, double hi) {
  check_lazy(std::isfinite(value) && value >= lo && value <= hi, field,
             [&] { return fmt::format("({}) must be between {} and {}", value, lo, hi); });
}

void Checker::finite(std::string_view field, double value) {
  check_lazy(std::isfinite(value), field, [&] { return std::string("must be a finite number"); });
}

// ---------------------------------------------------------------------------------------------

void write_record_fields(const TimelineRecord& r, nlohmann::json& j) {
  j["tenant_id"] = r.tenant_id;
  j["env"] = r.env;
  j["user_id"] = r.user_id ? nlohmann::json(*r.user_id) : nlohmann::json(nullptr);
  j["created_at"] = format_rfc3339_ms(r.created_at_ms);
  j["updated_at"] = format_rfc3339_ms(r.updated_at_ms);
}

TimelineRecord read_record_fields(FieldReader& r) {
  TimelineRecord t;
  t.tenant_id = r.str("tenant_id");
  t.env = r.str("env");
  t.user_id = r.opt_str("user_id");
  t.created_at_ms = r.timestamp_ms("created_at");
  t.updated_at_ms = r.timestamp_ms("updated_at");
  return t;
}

}  // namespace atomcut

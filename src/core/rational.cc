#include "core/rational.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <numeric>

#include <fmt/format.h>

namespace atomcut {

std::string Rational::to_string() const { return fmt::format("{}/{}", num, den); }

Rational Rational::reduced() const {
  if (den == 0) return *this;
  int64_t g = std::gcd(num < 0 ? -num : num, den < 0 ? -den : den);
  if (g == 0) g = 1;
  Rational r{num / g, den / g};
  if (r.den < 0) {
    r.num = -r.num;
    r.den = -r.den;
  }
  return r;
}

namespace {

std::optional<int64_t> parse_int(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  // The minimum has no positive counterpart: reduced() could not negate it.
  if (v == std::numeric_limits<int64_t>::min()) return std::nullopt;
  return v;
}

// "-?[0-9]+.[0-9]+": strtod alone would also take leading spaces, "+", hex, exponents and "nan".
bool is_plain_decimal(std::string_view s) {
  if (!s.empty() && s.front() == '-') s.remove_prefix(1);
  const size_t dot = s.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == s.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i != dot && (s[i] < '0' || s[i] > '9')) return false;
  }
  return true;
}

}  // namespace

std::optional<Rational> parse_rational(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    auto n = parse_int(text.substr(0, slash));
    auto d = parse_int(text.substr(slash + 1));
    if (!n || !d || *d <= 0) return std::nullopt;
    return Rational{*n, *d}.reduced();
  }
  if (auto n = parse_int(text)) return Rational{*n, 1};
  if (!is_plain_decimal(text)) return std::nullopt;
  std::string copy(text);
  char* end = nullptr;
  double v = std::strtod(copy.c_str(), &end);
  // Beyond 1e12 the micro-unit numerator below would not fit in int64.
  if (end != copy.c_str() + copy.size() || !std::isfinite(v) || std::fabs(v) > 1e12) {
    return std::nullopt;
  }
  // NTSC-style rates: 23.976, 29.97, 59.94, 119.88 -> n*1000/1001.
  double ntsc = std::round(v * 1.001);
  if (ntsc > 0 && std::fabs(v - ntsc / 1.001) < 0.01 && std::fabs(v - std::round(v)) > 0.001) {
    return Rational{static_cast<int64_t>(ntsc) * 1000, 1001};
  }
  return Rational{static_cast<int64_t>(std::llround(v * 1000000)), 1000000}.reduced();
}

}  // namespace atomcut

// Exact rational numbers for frame rates and time bases (30000/1001, never 29.97 in the model).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace atomcut {

struct Rational {
  int64_t num = 0;
  int64_t den = 1;

  double to_double() const { return den == 0 ? 0.0 : static_cast<double>(num) / den; }
  // "30000/1001"; whole numbers still print their denominator ("30/1").
  std::string to_string() const;
  // Reduced by the greatest common divisor, denominator positive.
  Rational reduced() const;
  // Cross-multiplied in 128 bits so large terms cannot overflow.
  bool operator==(const Rational& o) const {
    return static_cast<__int128>(num) * o.den == static_cast<__int128>(o.num) * den;
  }
};

// Parses "30000/1001", "30" or "29.97" (a decimal becomes the nearest NTSC rational when within
// 0.01 of one, else an exact decimal fraction). Returns nullopt for malformed text, zero or
// negative denominators.
std::optional<Rational> parse_rational(std::string_view text);

}  // namespace atomcut

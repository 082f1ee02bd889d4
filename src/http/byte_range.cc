#include "http/byte_range.h"

#include <charconv>

namespace atomcut::http {
namespace {

std::optional<uint64_t> parse_u64(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

RangeRequest parse_range_header(std::string_view header, uint64_t size) {
  constexpr std::string_view kBytes = "bytes=";
  if (header.substr(0, kBytes.size()) != kBytes) return {};
  std::string_view spec = header.substr(kBytes.size());
  while (!spec.empty() && spec.front() == ' ') spec.remove_prefix(1);
  while (!spec.empty() && spec.back() == ' ') spec.remove_suffix(1);
  if (spec.find(',') != std::string_view::npos) return {};  // several ranges: serve it all
  const auto dash = spec.find('-');
  if (dash == std::string_view::npos) return {};
  const std::string_view first = spec.substr(0, dash);
  const std::string_view last = spec.substr(dash + 1);
  RangeRequest out;
  if (first.empty()) {  // suffix range: the last N bytes
    auto n = parse_u64(last);
    if (!n) return {};
    if (*n == 0 || size == 0) return {RangeKind::kUnsatisfiable, {}};
    const uint64_t len = *n < size ? *n : size;
    return {RangeKind::kSatisfiable, {size - len, len}};
  }
  auto start = parse_u64(first);
  if (!start) return {};
  uint64_t end = size == 0 ? 0 : size - 1;
  if (!last.empty()) {
    auto e = parse_u64(last);
    if (!e || *e < *start) return {};
    if (*e < end) end = *e;
  }
  if (*start >= size) return {RangeKind::kUnsatisfiable, {}};
  out.kind = RangeKind::kSatisfiable;
  out.range = {*start, end - *start + 1};
  return out;
}

}  // namespace atomcut::http

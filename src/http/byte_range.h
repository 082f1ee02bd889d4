// HTTP Range (RFC 9110 section 14) for one byte range. cpp-httplib 0.11 mishandles unsatisfiable
// and multi-part ranges, so atomcut parses Range itself and serves single ranges.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace atomcut::http {

struct ByteRange {
  uint64_t offset = 0;
  uint64_t length = 0;
};

enum class RangeKind {
  kNone,           // no Range header, a syntax we ignore, or several ranges: serve everything (200)
  kSatisfiable,    // serve `range` (206)
  kUnsatisfiable,  // 416 with Content-Range: bytes */size
};

struct RangeRequest {
  RangeKind kind = RangeKind::kNone;
  ByteRange range;
};

// Interprets a Range header value against a representation of `size` bytes.
RangeRequest parse_range_header(std::string_view header, uint64_t size);

}  // namespace atomcut::http

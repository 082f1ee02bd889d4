// Wall-clock helpers. Records store times as integer milliseconds since the Unix epoch (UTC) and
// present them as RFC 3339 strings with millisecond precision ("2026-11-24T08:01:34.123Z").
#pragma once

#include <cstdint>
#include <string>

namespace atomcut {

int64_t now_ms();
std::string format_rfc3339_ms(int64_t epoch_ms);

}  // namespace atomcut

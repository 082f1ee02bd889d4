// Record identifiers: "<prefix>_<26 chars>", time-sortable (48-bit ms timestamp) then 80 random
// bits, Crockford base32 (lower case). Lexicographic order of ids of one prefix is creation order
// to the millisecond. Thread safe.
#pragma once

#include <string>
#include <string_view>

namespace atomcut {

// Known prefixes: ast (MediaAsset), art (DerivedArtifact), key (ApiKey), req (request).
std::string new_id(std::string_view prefix);

// True when `id` is "<prefix>_" followed by 26 base32 characters.
bool is_valid_id(std::string_view id, std::string_view prefix);

// Random bytes from the OS CSPRNG, lower-case hex encoded (2 chars per byte).
std::string random_hex(size_t bytes);

}  // namespace atomcut

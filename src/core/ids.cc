#include "core/ids.h"

#include <openssl/rand.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <random>
#include <stdexcept>

namespace atomcut {
namespace {

constexpr char kAlphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";  // Crockford, lower case
constexpr size_t kBodyLen = 26;

void fill_random(unsigned char* out, size_t n) {
  if (RAND_bytes(out, static_cast<int>(n)) != 1) throw std::runtime_error("RAND_bytes failed");
}

// Id randomness only has to make collisions improbable (ids are not secrets: every record is
// checked against the caller's tenant), so each thread draws from its own generator, seeded
// from the OS CSPRNG; RAND_bytes per id cost 4% of a GET request's CPU.
void fill_id_random(unsigned char* out, size_t n) {
  thread_local std::mt19937_64 gen = [] {
    std::array<unsigned char, 32> seed_bytes{};
    fill_random(seed_bytes.data(), seed_bytes.size());
    std::array<uint32_t, 8> words{};
    std::memcpy(words.data(), seed_bytes.data(), seed_bytes.size());
    std::seed_seq seq(words.begin(), words.end());
    return std::mt19937_64(seq);
  }();
  for (size_t i = 0; i < n; i += 8) {
    const uint64_t v = gen();
    for (size_t b = 0; b < 8 && i + b < n; ++b)
      out[i + b] = static_cast<unsigned char>(v >> (8 * b));
  }
}

}  // namespace

std::string new_id(std::string_view prefix) {
  const uint64_t ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count());
  unsigned char rnd[10];
  fill_id_random(rnd, sizeof rnd);
  // 128 bits: 48 bits of time, 80 bits of randomness; 26 base32 chars cover 130 bits.
  unsigned char bytes[16];
  for (int i = 0; i < 6; ++i) bytes[i] = static_cast<unsigned char>(ms >> (8 * (5 - i)));
  for (int i = 0; i < 10; ++i) bytes[6 + i] = rnd[i];
  std::string out(prefix);
  out.push_back('_');
  // Encode 130 bits (two leading zero bits) as 26 characters, most significant first.
  for (size_t c = 0; c < kBodyLen; ++c) {
    const int bit = static_cast<int>(c) * 5 - 2;  // position of the char's first bit in 128 bits
    unsigned v = 0;
    for (int b = 0; b < 5; ++b) {
      const int pos = bit + b;
      unsigned bitval = 0;
      if (pos >= 0) bitval = (bytes[pos / 8] >> (7 - pos % 8)) & 1u;
      v = (v << 1) | bitval;
    }
    out.push_back(kAlphabet[v]);
  }
  return out;
}

bool is_valid_id(std::string_view id, std::string_view prefix) {
  if (id.size() != prefix.size() + 1 + kBodyLen) return false;
  if (id.substr(0, prefix.size()) != prefix || id[prefix.size()] != '_') return false;
  for (char ch : id.substr(prefix.size() + 1)) {
    bool found = false;
    for (const char* a = kAlphabet; *a; ++a) found |= (*a == ch);
    if (!found) return false;
  }
  return true;
}

std::string random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  fill_random(reinterpret_cast<unsigned char*>(raw.data()), bytes);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char ch : raw) {
    out.push_back(kHex[ch >> 4]);
    out.push_back(kHex[ch & 15]);
  }
  return out;
}

}  // namespace atomcut

// Incremental SHA-256 (OpenSSL EVP) for hashing uploads while they stream, and API keys.
#pragma once

#include "core/error.h"

#include <memory>
#include <string>
#include <string_view>

namespace atomcut {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t len);
  // Lower-case hex digest. The object may not be updated afterwards.
  std::string hex_digest();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string sha256_hex(std::string_view data);

// The digest of a whole file. internal when it cannot be opened, data_loss on a read error.
Result<std::string> sha256_file(const std::string& path);

}  // namespace atomcut

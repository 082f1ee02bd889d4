// Helpers shared by the HTTP integration tests.
#pragma once

#include "support/media_fixtures.h"
#include "support/test_server.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <string>

namespace atomcut::testing {

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline httplib::Headers auth_headers(const std::string& key, const std::string& tenant,
                                     const std::string& env) {
  httplib::Headers h;
  if (!key.empty()) h.emplace("Authorization", "Bearer " + key);
  if (!tenant.empty()) h.emplace("X-Tenant-Id", tenant);
  if (!env.empty()) h.emplace("X-Env", env);
  return h;
}

inline nlohmann::json body_json(const httplib::Result& r) {
  if (!r) return nlohmann::json();
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  return j.is_discarded() ? nlohmann::json() : j;
}

// Asserts the uniform error body and returns its code.
inline std::string error_code_of(const httplib::Result& r) {
  if (!r) return "<no response>";
  auto j = body_json(r);
  EXPECT_TRUE(j.is_object() && j.contains("error")) << r->body;
  if (!j.is_object() || !j.contains("error")) return "<no error body>";
  const auto& e = j["error"];
  EXPECT_TRUE(e.contains("code") && e.contains("message") && e.contains("details")) << r->body;
  EXPECT_TRUE(e["details"].is_object()) << r->body;
  return e.value("code", "");
}

inline httplib::Result upload(httplib::Client& c, const httplib::Headers& h,
                              const std::string& path, const std::string& filename,
                              std::vector<std::pair<std::string, std::string>> fields = {}) {
  httplib::MultipartFormDataItems items;
  items.push_back({"file", slurp(path), filename, "application/octet-stream"});
  for (auto& [k, v] : fields) items.push_back({k, v, "", ""});
  return c.Post("/media-v2/assets", h, items);
}

// Files (not directories) below `dir`, recursively.
inline std::vector<std::string> files_under(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return out;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file()) out.push_back(e.path().string());
  }
  return out;
}

}  // namespace atomcut::testing

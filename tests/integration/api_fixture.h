// A test suite base for the HTTP integration tests of the atoms: one real server per suite with
// two tenants (A and B, same env), a temporary directory, and the calls every suite makes (JSON
// POST expecting a status or the uniform error body, GET, upload, artifact download).
#pragma once

#include "integration/api_test_util.h"
#include "support/subprocess.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

namespace atomcut::testing {

// Runs a command (no shell); expects exit 0.
inline bool run_ok(const std::vector<std::string>& argv, int timeout_ms = 120000) {
  auto r = run_command(argv, timeout_ms);
  EXPECT_EQ(r.exit_code, 0) << argv[0] << ": " << r.err.substr(0, 2000);
  return r.exit_code == 0;
}

// `ffmpeg -nostdin -v error -y ARGS OUT`; returns OUT, or "" on failure.
inline std::string ffmpeg_make(const std::string& out, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"ffmpeg", "-nostdin", "-v", "error", "-y"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(out);
  return run_ok(argv) ? out : "";
}

class ApiSuite : public ::testing::Test {
 public:
  static constexpr const char* kTenantA = "t_va";
  static constexpr const char* kTenantB = "t_vb";
  static constexpr const char* kEnv = "dev";

  static void SetUpTestSuite() {
    server_ = new TestServer();
    key_a_ = server_->create_key(kTenantA, kEnv);
    key_b_ = server_->create_key(kTenantB, kEnv);
    tmp_ = new TempDir();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete tmp_;
    tmp_ = nullptr;
  }

 protected:
  void SetUp() override {
    ASSERT_TRUE(server_->started());
    c_ = server_->client();
    c_->set_read_timeout(300);
  }

  static std::string tmp(const std::string& name) { return tmp_->path() + "/" + name; }
  httplib::Headers a() const { return auth_headers(key_a_, kTenantA, kEnv); }
  httplib::Headers b() const { return auth_headers(key_b_, kTenantB, kEnv); }

  httplib::Result post(const std::string& path, const nlohmann::json& body,
                       const httplib::Headers* h = nullptr) {
    return c_->Post(path, h ? *h : a(), body.dump(), "application/json");
  }
  nlohmann::json post_expect(const std::string& path, const nlohmann::json& body, int status,
                             const httplib::Headers* h = nullptr) {
    auto r = post(path, body, h);
    EXPECT_TRUE(r) << path << ": no response";
    if (!r) return {};
    EXPECT_EQ(r->status, status) << path << " " << body.dump() << " -> " << r->body.substr(0, 3000);
    return body_json(r);
  }
  // POST expecting a 4xx with the uniform error body; returns the error object.
  nlohmann::json post_error(const std::string& path, const nlohmann::json& body, int status,
                            const httplib::Headers* h = nullptr) {
    auto r = post(path, body, h);
    EXPECT_TRUE(r) << path;
    if (!r) return {};
    EXPECT_EQ(r->status, status) << path << " " << body.dump() << " -> " << r->body;
    error_code_of(r);
    auto j = body_json(r);
    return j.contains("error") ? j["error"] : nlohmann::json();
  }
  nlohmann::json get_ok(const std::string& path, const httplib::Headers* h = nullptr) {
    auto r = c_->Get(path, h ? *h : a());
    EXPECT_TRUE(r) << path;
    if (!r) return {};
    EXPECT_EQ(r->status, 200) << path << " -> " << r->body.substr(0, 2000);
    return body_json(r);
  }
  int get_status(const std::string& path, const httplib::Headers& h) {
    auto r = c_->Get(path, h);
    return r ? r->status : -1;
  }
  // Uploads through POST /media-v2/assets; returns the asset id ("" on failure).
  std::string upload_asset(const std::string& path, const std::string& name,
                           const httplib::Headers* h = nullptr) {
    auto r = upload(*c_, h ? *h : a(), path, name);
    EXPECT_TRUE(r);
    if (!r) return "";
    EXPECT_EQ(r->status, 201) << r->body;
    return body_json(r).value("asset_id", "");
  }
  // Downloads an artifact's bytes to a temp file and returns its path.
  std::string fetch(const std::string& artifact_id, const std::string& ext) {
    auto r = c_->Get("/media-v2/artifacts/" + artifact_id + "/content", a());
    EXPECT_TRUE(r && r->status == 200) << artifact_id;
    const std::string p = tmp(artifact_id + ext);
    std::ofstream(p, std::ios::binary) << (r ? r->body : "");
    return p;
  }
  nlohmann::json fetch_json(const std::string& artifact_id) {
    auto r = c_->Get("/media-v2/artifacts/" + artifact_id + "/content", a());
    EXPECT_TRUE(r && r->status == 200) << artifact_id;
    return r ? nlohmann::json::parse(r->body, nullptr, false) : nlohmann::json();
  }

  static TestServer* server_;
  static std::string key_a_, key_b_;
  static TempDir* tmp_;
  std::unique_ptr<httplib::Client> c_;
};

inline TestServer* ApiSuite::server_ = nullptr;
inline std::string ApiSuite::key_a_;
inline std::string ApiSuite::key_b_;
inline TempDir* ApiSuite::tmp_ = nullptr;

}  // namespace atomcut::testing

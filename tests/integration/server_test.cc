// The HTTP server's own behaviour: health, version, routing errors, request ids, access log,
// API keys, body limits and --no-auth.
#include "integration/api_test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <thread>

namespace atomcut::testing {
namespace {

TEST(ServerTest, HealthVersionAndRoutingErrors) {
  TestServer srv;
  ASSERT_TRUE(srv.started());
  auto c = srv.client();
  auto h = c->Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(body_json(h)["status"], "ok");
  auto v = body_json(c->Get("/version"));
  EXPECT_EQ(v["name"], "atomcut");
  EXPECT_FALSE(v["version"].get<std::string>().empty());
  EXPECT_NE(v["libav"].get<std::string>().find("libavformat"), std::string::npos);

  auto missing = c->Get("/no/such/route");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(error_code_of(missing), "not_found");

  auto wrong_method = c->Put("/media-v2/assets", "{}", "application/json");
  ASSERT_TRUE(wrong_method);
  EXPECT_EQ(wrong_method->status, 405);
  EXPECT_NE(wrong_method->get_header_value("Allow").find("GET"), std::string::npos);
  error_code_of(wrong_method);
}

TEST(ServerTest, RequestIdsAndAccessLog) {
  TestServer srv;
  ASSERT_TRUE(srv.started());
  auto c = srv.client();
  auto r = c->Get("/healthz", httplib::Headers{{"X-Request-Id", "client-id-123"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("X-Request-Id"), "client-id-123");
  auto r2 = c->Get("/healthz");
  ASSERT_TRUE(r2);
  const std::string generated = r2->get_header_value("X-Request-Id");
  EXPECT_EQ(generated.rfind("req_", 0), 0u) << generated;
  // One JSON line per request, carrying the request id.
  std::istringstream lines(srv.output());
  std::string line;
  int found = 0;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("request_id")) continue;
    if (j["request_id"] == "client-id-123" || j["request_id"] == generated) {
      ++found;
      EXPECT_EQ(j["path"], "/healthz");
      EXPECT_EQ(j["status"], 200);
      EXPECT_TRUE(j.contains("duration_ms"));
    }
  }
  EXPECT_EQ(found, 2) << srv.output();
}

TEST(ServerTest, ApiKeysAreRequiredAndScoped) {
  TestServer srv;
  ASSERT_TRUE(srv.started());
  auto c = srv.client();
  const std::string key = srv.create_key("t_keys", "dev");
  ASSERT_EQ(key.rfind("ak_", 0), 0u) << key;

  auto none = c->Get("/media-v2/assets", auth_headers("", "t_keys", "dev"));
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(error_code_of(none), "unauthenticated");

  auto bogus =
      c->Get("/media-v2/assets", auth_headers("ak_" + std::string(48, '0'), "t_keys", "dev"));
  ASSERT_TRUE(bogus);
  EXPECT_EQ(bogus->status, 401);

  httplib::Headers basic = {
      {"Authorization", "Basic Zm9vOmJhcg=="}, {"X-Tenant-Id", "t_keys"}, {"X-Env", "dev"}};
  auto wrong_scheme = c->Get("/media-v2/assets", basic);
  ASSERT_TRUE(wrong_scheme);
  EXPECT_EQ(wrong_scheme->status, 401);

  auto ok = c->Get("/media-v2/assets", auth_headers(key, "t_keys", "dev"));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;

  auto other_env = c->Get("/media-v2/assets", auth_headers(key, "t_keys", "prod"));
  ASSERT_TRUE(other_env);
  EXPECT_EQ(other_env->status, 403);
  EXPECT_EQ(error_code_of(other_env), "permission_denied");

  // Revoking through the CLI while the server runs takes effect at once.
  auto list = run_atomcut({"keys", "list", "--json", "--data-dir", srv.data_dir() + "/data"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto keys = nlohmann::json::parse(list.out);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_FALSE(keys[0].contains("key_hash"));
  auto revoke = run_atomcut(
      {"keys", "revoke", keys[0]["id"].get<std::string>(), "--data-dir", srv.data_dir() + "/data"});
  ASSERT_EQ(revoke.exit_code, 0) << revoke.err;
  auto revoked = c->Get("/media-v2/assets", auth_headers(key, "t_keys", "dev"));
  ASSERT_TRUE(revoked);
  EXPECT_EQ(revoked->status, 401);
  EXPECT_NE(body_json(revoked)["error"]["message"].get<std::string>().find("revoked"),
            std::string::npos);
}

TEST(ServerTest, BodyLimitsAreEnforced) {
  TestServer srv(ServerOptions{{"--max-json-bytes", "1024", "--max-upload-bytes", "200000"}, {}});
  ASSERT_TRUE(srv.started());
  auto c = srv.client();
  const std::string key = srv.create_key("t_lim", "dev");
  nlohmann::json big = {{"source_uri", "file:///x"}, {"pad", std::string(4096, 'x')}};
  auto r = c->Post("/media-v2/assets", auth_headers(key, "t_lim", "dev"), big.dump(),
                   "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413) << r->body;
  EXPECT_EQ(error_code_of(r), "resource_exhausted");

  httplib::MultipartFormDataItems items = {
      {"file", std::string(300000, 'z'), "big.bin", "application/octet-stream"}};
  auto up = c->Post("/media-v2/assets", auth_headers(key, "t_lim", "dev"), items);
  ASSERT_TRUE(up);
  EXPECT_EQ(up->status, 413) << up->body;
  // Nothing of the refused upload is left behind, and the server still serves.
  EXPECT_TRUE(files_under(srv.data_dir() + "/data/blobs/tenants").empty());
  auto h = srv.client()->Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
}

// Sends the start of a multipart upload over a raw socket and hangs up half way.
void send_partial_upload(int port, const std::string& key) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string part_head =
      "--BOUNDARY\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n"
      "Content-Type: application/octet-stream\r\n\r\n";
  const size_t declared = part_head.size() + 4 * 1024 * 1024 + 16;
  std::string req =
      "POST /media-v2/assets HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Authorization: Bearer " +
      key +
      "\r\nX-Tenant-Id: t_cut\r\nX-Env: dev\r\n"
      "Content-Type: multipart/form-data; boundary=BOUNDARY\r\n"
      "Content-Length: " +
      std::to_string(declared) + "\r\n\r\n" + part_head;
  req += std::string(512 * 1024, 'x');  // an eighth of the declared file, then hang up
  ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ::close(fd);
}

TEST(ServerTest, InterruptedUploadLeavesNothingBehind) {
  TestServer srv;
  ASSERT_TRUE(srv.started());
  const std::string key = srv.create_key("t_cut", "dev");
  send_partial_upload(srv.port(), key);
  // The server notices the hang-up, drops the staged bytes and keeps serving.
  const std::string blobs = srv.data_dir() + "/data/blobs";
  bool clean = false;
  for (int i = 0; i < 100 && !clean; ++i) {
    clean = files_under(blobs).empty();
    if (!clean) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(clean) << "left behind: "
                     << (files_under(blobs).empty() ? "" : files_under(blobs)[0]);
  auto list = srv.client()->Get("/media-v2/assets", auth_headers(key, "t_cut", "dev"));
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 200);
  EXPECT_TRUE(body_json(list)["items"].empty());
}

TEST(ServerTest, NoAuthModeServesWithoutKeysButStillNeedsATenant) {
  TestServer srv(ServerOptions{{}, {}, /*no_auth=*/true});
  ASSERT_TRUE(srv.started());
  auto c = srv.client();
  auto r = c->Get("/media-v2/assets", auth_headers("", "t_local", "dev"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  auto no_tenant = c->Get("/media-v2/assets");
  ASSERT_TRUE(no_tenant);
  EXPECT_EQ(no_tenant->status, 400);
}

TEST(ServerTest, StopsCleanlyOnSigterm) {
  TestServer srv;
  ASSERT_TRUE(srv.started());
  EXPECT_EQ(srv.stop(), 0) << srv.output();
}

}  // namespace
}  // namespace atomcut::testing

// The atomcut command line: help, probe, keys, and refusing unsafe serve flags.
#include "integration/api_test_util.h"

namespace atomcut::testing {
namespace {

TEST(CliTest, HelpDocumentsEverySubcommand) {
  auto r = run_atomcut({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* sub : {"serve", "probe", "keys"}) {
    EXPECT_NE(r.out.find(sub), std::string::npos) << sub << "\n" << r.out;
  }
  auto serve = run_atomcut({"serve", "--help"});
  EXPECT_EQ(serve.exit_code, 0);
  for (const char* flag :
       {"--listen", "--data-dir", "--no-auth", "--import-root", "--database-url", "--blob-url",
        "--http-threads", "--max-upload-bytes", "ATOMCUT_DATA_DIR"}) {
    EXPECT_NE(serve.out.find(flag), std::string::npos) << flag;
  }
  auto keys = run_atomcut({"keys", "--help"});
  EXPECT_EQ(keys.exit_code, 0);
  for (const char* sub : {"create", "list", "revoke"}) {
    EXPECT_NE(keys.out.find(sub), std::string::npos) << sub;
  }
}

TEST(CliTest, ProbePrintsJsonMatchingFfprobe) {
  const std::string path = fixture("video_h264_aac.mp4");
  auto r = run_atomcut({"probe", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  auto ff = ffprobe_json(path);
  EXPECT_EQ(j["kind"], "video");
  EXPECT_EQ(j["width"], ff["streams"][0]["width"]);
  EXPECT_EQ(j["streams"].size(), ff["streams"].size());
}

TEST(CliTest, ProbeOfNonMediaFailsWithAMessage) {
  auto r = run_atomcut({"probe", fixture("not_media.txt")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("invalid_argument"), std::string::npos) << r.err;
  auto missing = run_atomcut({"probe", "/nonexistent/file.mp4"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("not_found"), std::string::npos) << missing.err;
}

TEST(CliTest, KeysCreateListRevoke) {
  TempDir dir;
  auto created = run_atomcut({"keys", "create", "--tenant", "t_cli", "--env", "stage", "--label",
                              "ci", "--data-dir", dir.path()});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  std::istringstream words(created.out);
  std::string w, last;
  while (words >> w) last = w;
  EXPECT_EQ(last.rfind("ak_", 0), 0u) << created.out;
  EXPECT_EQ(last.size(), 51u);

  auto list = run_atomcut(
      {"keys", "list", "--json", "--tenant", "t_cli", "--env", "stage", "--data-dir", dir.path()});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto keys = nlohmann::json::parse(list.out);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0]["label"], "ci");
  EXPECT_EQ(last.rfind(keys[0]["key_prefix"].get<std::string>(), 0), 0u);
  EXPECT_EQ(list.out.find(last), std::string::npos) << "the secret must never be listed";

  auto revoke =
      run_atomcut({"keys", "revoke", keys[0]["id"].get<std::string>(), "--data-dir", dir.path()});
  EXPECT_EQ(revoke.exit_code, 0) << revoke.err;
  auto unknown = run_atomcut({"keys", "revoke", "key_nope", "--data-dir", dir.path()});
  EXPECT_NE(unknown.exit_code, 0);

  auto bad_tenant =
      run_atomcut({"keys", "create", "--tenant", "Acme", "--env", "dev", "--data-dir", dir.path()});
  EXPECT_NE(bad_tenant.exit_code, 0);
  EXPECT_NE(bad_tenant.err.find("tenant_id"), std::string::npos) << bad_tenant.err;
}

TEST(CliTest, NoAuthIsRefusedOffLoopback) {
  TempDir dir;
  auto r = run_atomcut({"serve", "--no-auth", "--listen", "0.0.0.0:0", "--data-dir", dir.path()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("loopback"), std::string::npos) << r.err;
}

TEST(CliTest, BadConfigurationIsReported) {
  TempDir dir;
  auto r = run_atomcut({"serve", "--listen", "127.0.0.1:99999", "--data-dir", dir.path()});
  EXPECT_NE(r.exit_code, 0);
  auto rel = run_atomcut({"serve", "--import-root", "relative/dir", "--data-dir", dir.path()});
  EXPECT_NE(rel.exit_code, 0);
  EXPECT_NE(rel.err.find("absolute"), std::string::npos) << rel.err;
  auto env = run_atomcut({"serve", "--data-dir", dir.path()}, {"ATOMCUT_HTTP_THREADS=zero"});
  EXPECT_NE(env.exit_code, 0);
  EXPECT_NE(env.err.find("ATOMCUT_HTTP_THREADS"), std::string::npos) << env.err;
}

}  // namespace
}  // namespace atomcut::testing

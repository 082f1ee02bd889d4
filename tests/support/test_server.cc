#include "support/test_server.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace atomcut::testing {
namespace fs = std::filesystem;

namespace {
std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "atomcut-test-XXXXXX").string();
  char* p = mkdtemp(tmpl.data());
  if (!p) throw std::runtime_error("mkdtemp failed");
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

CommandResult run_atomcut(const std::vector<std::string>& args,
                          const std::vector<std::string>& extra_env) {
  std::vector<std::string> argv;
  if (!extra_env.empty()) {
    argv.push_back("env");
    argv.insert(argv.end(), extra_env.begin(), extra_env.end());
  }
  argv.push_back(ATOMCUT_BINARY);
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv);
}

TestServer::TestServer(ServerOptions options) {
  std::string tmpl = (fs::temp_directory_path() / "atomcut-server-XXXXXX").string();
  char* p = mkdtemp(tmpl.data());
  if (!p) {
    ADD_FAILURE() << "mkdtemp failed";
    return;
  }
  data_dir_ = p;
  log_out_ = data_dir_ + "/server.out";
  log_err_ = data_dir_ + "/server.err";
  const std::string port_file = data_dir_ + "/port";
  std::vector<std::string> argv = {
      ATOMCUT_BINARY,      "serve",       "--listen", "127.0.0.1:0",    "--data-dir",
      data_dir_ + "/data", "--port-file", port_file,  "--http-threads", "16"};
  if (options.no_auth) argv.push_back("--no-auth");
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  child_ = std::make_unique<ChildProcess>(
      ChildProcess::start(argv, options.extra_env, log_out_, log_err_));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!child_->running()) break;
    std::ifstream in(port_file);
    int port = 0;
    if (in >> port && port > 0) {
      httplib::Client c("127.0.0.1", port);
      c.set_connection_timeout(2);
      if (auto r = c.Get("/healthz"); r && r->status == 200) {
        port_ = port;
        return;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "atomcut serve did not start:\n" << output();
}

TestServer::~TestServer() {
  stop();
  std::error_code ec;
  if (!data_dir_.empty() && !std::getenv("ATOMCUT_KEEP_TEST_DATA")) fs::remove_all(data_dir_, ec);
}

int TestServer::stop() {
  if (!child_) return 0;
  int status = child_->terminate(10000);
  child_.reset();
  return status;
}

std::string TestServer::base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::unique_ptr<httplib::Client> TestServer::client() const {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
  c->set_connection_timeout(5);
  c->set_read_timeout(120);
  c->set_write_timeout(120);
  return c;
}

std::string TestServer::create_key(const std::string& tenant, const std::string& env) {
  auto r = run_atomcut(
      {"keys", "create", "--tenant", tenant, "--env", env, "--data-dir", data_dir_ + "/data"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  std::istringstream words(r.out);
  std::string w, last;
  while (words >> w) last = w;
  return last;
}

std::string TestServer::output() const { return read_file(log_out_) + read_file(log_err_); }

}  // namespace atomcut::testing

// Starts the real `atomcut serve` binary on an ephemeral loopback port with a fresh data dir, for
// integration tests that speak HTTP to it.
#pragma once

#include "support/subprocess.h"

#include <httplib.h>

#include <memory>
#include <string>
#include <vector>

namespace atomcut::testing {

struct ServerOptions {
  std::vector<std::string> extra_args;  // appended to `atomcut serve ...`
  std::vector<std::string> extra_env;   // "NAME=value"
  bool no_auth = false;
};

class TestServer {
 public:
  // Starts the server and waits until /healthz answers (fails the test otherwise).
  explicit TestServer(ServerOptions options = {});
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  bool started() const { return port_ > 0; }
  int port() const { return port_; }
  const std::string& data_dir() const { return data_dir_; }
  std::string base_url() const;
  std::unique_ptr<httplib::Client> client() const;
  // `atomcut keys create` on this server's data dir, while it runs. Returns the secret.
  std::string create_key(const std::string& tenant, const std::string& env);
  // What the server printed so far (stdout then stderr).
  std::string output() const;
  // Sends SIGTERM and waits; returns the exit status.
  int stop();

 private:
  std::string data_dir_;
  std::string log_out_, log_err_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> child_;
};

// Runs the atomcut binary with `args` (no shell).
CommandResult run_atomcut(const std::vector<std::string>& args,
                          const std::vector<std::string>& extra_env = {});

// A fresh temporary directory, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace atomcut::testing

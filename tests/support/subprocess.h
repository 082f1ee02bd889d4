// Running child processes from tests without a shell: one-shot commands with captured output
// (ffmpeg, ffprobe, the atomcut CLI) and long-running children (the server).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace atomcut::testing {

struct CommandResult {
  int exit_code = -1;  // the exit status; 128 + signal when killed; -1 if it could not run
  std::string out;     // everything written to stdout
  std::string err;     // everything written to stderr (plus a note when it could not run)
};

// Runs argv[0] (looked up in PATH) with argv, no shell, stdin from /dev/null, and waits for it.
// Kills it with SIGKILL after `timeout_ms` (exit_code 128 + 9, err says so). Thread safe.
CommandResult run_command(const std::vector<std::string>& argv, int timeout_ms = 120000);

// A child process running in the background; killed (SIGKILL) by the destructor if still running.
class ChildProcess {
 public:
  // Starts argv (PATH lookup, no shell) with the current environment plus `extra_env`
  // ("NAME=value", overriding), stdin from /dev/null and stdout/stderr truncated into the files.
  // When it cannot start, pid() is -1 and running() is false.
  static ChildProcess start(const std::vector<std::string>& argv,
                            const std::vector<std::string>& extra_env,
                            const std::string& stdout_path, const std::string& stderr_path);

  ChildProcess() = default;
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  // Whether it has not exited yet (reaps it when it has).
  bool running();
  // SIGTERM, then SIGKILL if it is still running after `timeout_ms`. Returns the exit status
  // (128 + signal when killed by one; -1 when it never started).
  int terminate(int timeout_ms = 5000);

 private:
  void kill_now();
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = -1;
};

}  // namespace atomcut::testing

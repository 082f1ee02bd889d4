#include "engines/ffmpeg/ffmpeg_runner.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>

extern char** environ;

namespace atomcut {
namespace {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

// Timeout and cancellation are checked at least this often.
constexpr int kPollSliceMs = 100;
// How long the pipes may stay open after the child exited (only a descendant that escaped the
// process group can hold them); then the run ends without their remaining output.
constexpr int kDrainAfterExitMs = 1000;
// -progress lines are short; anything longer is not progress and is dropped.
constexpr size_t kMaxProgressLineBytes = 4096;
constexpr size_t kReadChunkBytes = 65536;
constexpr size_t kMaxErrorLineChars = 300;
constexpr int kVersionTimeoutMs = 10000;
constexpr size_t kVersionOutputBytes = 4096;

// ---------------------------------------------------------------------------------------------
// Small helpers.

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n";
  size_t begin = s.find_first_not_of(ws);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(ws) - begin + 1);
}

std::optional<int64_t> parse_int64(std::string_view s) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// "1.23x" -> 1.23; "N/A" -> nullopt.
std::optional<double> parse_speed(std::string_view s) {
  if (!s.empty() && s.back() == 'x') s.remove_suffix(1);
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

int decode_wait_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

int64_t millis_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration_cast<Millis>(to - from).count();
}

// Owns a file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// ---------------------------------------------------------------------------------------------
// Starting the child.

// A failure of the machinery (pipes, process creation), as opposed to a missing program.
Error spawn_error(const std::string& program, std::string_view what, int err) {
  std::string msg = fmt::format("cannot start {}: {}: {}", program, what, std::strerror(err));
  nlohmann::json details{{"reason", "spawn_failed"}, {"program", program}, {"errno", err}};
  if (err == EMFILE || err == ENFILE || err == EAGAIN || err == ENOMEM) {
    return Error::resource_exhausted(std::move(msg), std::move(details));
  }
  return Error::internal(std::move(msg), std::move(details));
}

// Moves a descriptor to a number above 2 (keeping O_CLOEXEC), so that the dup2() onto 0..2 in the
// child can never clobber another of our descriptors (possible when the server closed stdio).
Status move_above_stdio(UniqueFd& fd, const std::string& program) {
  if (fd.get() > 2) return {};
  int moved = fcntl(fd.get(), F_DUPFD_CLOEXEC, 3);
  if (moved < 0) return spawn_error(program, "fcntl", errno);
  fd = UniqueFd(moved);
  return {};
}

struct PipeEnds {
  UniqueFd read;
  UniqueFd write;
};

// An O_CLOEXEC pipe: no other child started concurrently by another thread inherits it.
Result<PipeEnds> make_pipe(const std::string& program) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return spawn_error(program, "pipe2", errno);
  PipeEnds ends{UniqueFd(fds[0]), UniqueFd(fds[1])};
  ATOMCUT_TRY(move_above_stdio(ends.read, program));
  ATOMCUT_TRY(move_above_stdio(ends.write, program));
  return ends;
}

// posix_spawn file actions and attributes, destroyed on scope exit.
class SpawnConfig {
 public:
  SpawnConfig() {
    posix_spawn_file_actions_init(&actions_);
    posix_spawnattr_init(&attr_);
  }
  SpawnConfig(const SpawnConfig&) = delete;
  SpawnConfig& operator=(const SpawnConfig&) = delete;
  ~SpawnConfig() {
    posix_spawn_file_actions_destroy(&actions_);
    posix_spawnattr_destroy(&attr_);
  }

  // Child: stdio on the given descriptors, every other descriptor closed, its own process group
  // (so that signalling the group reaches ffmpeg's helpers too), no blocked signals and default
  // dispositions for the signals a server commonly blocks or ignores (SIGPIPE, SIGTERM, ...).
  // Returns an errno value, 0 on success.
  int prepare(int stdin_fd, int stdout_fd, int stderr_fd) {
    if (int rc = posix_spawn_file_actions_adddup2(&actions_, stdin_fd, 0)) return rc;
    if (int rc = posix_spawn_file_actions_adddup2(&actions_, stdout_fd, 1)) return rc;
    if (int rc = posix_spawn_file_actions_adddup2(&actions_, stderr_fd, 2)) return rc;
    // Belt and braces: our descriptors are O_CLOEXEC, but other libraries' may not be.
    if (int rc = posix_spawn_file_actions_addclosefrom_np(&actions_, 3)) return rc;

    sigset_t no_signals;
    sigemptyset(&no_signals);
    sigset_t defaults;
    sigemptyset(&defaults);
    for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD}) sigaddset(&defaults, sig);
    const short flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (int rc = posix_spawnattr_setflags(&attr_, flags)) return rc;
    if (int rc = posix_spawnattr_setpgroup(&attr_, 0)) return rc;
    if (int rc = posix_spawnattr_setsigmask(&attr_, &no_signals)) return rc;
    if (int rc = posix_spawnattr_setsigdefault(&attr_, &defaults)) return rc;
    return 0;
  }

  const posix_spawn_file_actions_t* actions() const { return &actions_; }
  const posix_spawnattr_t* attr() const { return &attr_; }

 private:
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attr_;
};

bool is_program_unavailable(int err) {
  return err == ENOENT || err == EACCES || err == EPERM || err == ENOEXEC || err == ENOTDIR ||
         err == ELOOP || err == ENAMETOOLONG;
}

// Starts argv with the given stdio. posix_spawnp (rather than a hand-written fork/exec) searches
// PATH like execvp, runs no code of ours in the child (so nothing there can be
// async-signal-unsafe), does not copy the page tables of a large server process, and reports exec
// failures (a missing program) synchronously as its return value.
Result<pid_t> spawn_child(const std::vector<std::string>& argv, int stdin_fd, int stdout_fd,
                          int stderr_fd) {
  const std::string& program = argv[0];
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  SpawnConfig config;
  if (int rc = config.prepare(stdin_fd, stdout_fd, stderr_fd)) {
    return spawn_error(program, "posix_spawn setup", rc);
  }
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], config.actions(), config.attr(), args.data(), environ);
  if (rc == 0) return pid;
  if (is_program_unavailable(rc)) {
    return Error::unavailable(
        fmt::format("cannot run {}: {} (is it installed and on PATH?)", program, std::strerror(rc)),
        {{"reason", "program_unavailable"}, {"program", program}, {"errno", rc}});
  }
  return spawn_error(program, "posix_spawnp", rc);
}

// ---------------------------------------------------------------------------------------------
// The running child.

// The started child process. Signals go to its whole process group, and only until the child is
// reaped: while it is unreaped (even as a zombie) its pid, and so the group id, cannot be reused.
// Destroying an unreaped child (an exception unwound the run) kills the group and reaps it.
class ChildProcess {
 public:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() {
    if (reaped_) return;
    signal_group(SIGKILL);
    reap(0);
  }

  bool reaped() const { return reaped_; }
  int exit_code() const { return exit_code_; }

  void signal_group(int sig) {
    if (reaped_) return;
    if (kill(-pid_, sig) != 0) kill(pid_, sig);
  }

  // Non-blocking: true once the child has exited and been reaped.
  bool try_reap() { return reap(WNOHANG); }

 private:
  bool reap(int flags) {
    while (!reaped_) {
      int status = 0;
      pid_t r = waitpid(pid_, &status, flags);
      if (r == pid_) {
        exit_code_ = decode_wait_status(status);
        reaped_ = true;
      } else if (r == 0) {
        return false;
      } else if (errno != EINTR) {
        // ECHILD: someone else reaped it (SIGCHLD ignored, or a waitpid(-1) elsewhere); the exit
        // status is lost.
        reaped_ = true;
      }
    }
    return true;
  }

  pid_t pid_;
  bool reaped_ = false;
  int exit_code_ = -1;
};

// The last `limit` bytes of a stream. Holds at most 2 * limit bytes (amortised O(1) appends).
class TailBuffer {
 public:
  explicit TailBuffer(size_t limit) : limit_(limit) {}

  void append(std::string_view bytes) {
    total_ += bytes.size();
    if (limit_ == 0) return;
    if (bytes.size() >= limit_) {
      buf_.assign(bytes.substr(bytes.size() - limit_));
      return;
    }
    buf_.append(bytes);
    if (buf_.size() > 2 * limit_) buf_.erase(0, buf_.size() - limit_);
  }

  // The tail; when earlier bytes were dropped, starting after the first line break (unless that
  // would leave nothing).
  std::string take() {
    if (buf_.size() > limit_) buf_.erase(0, buf_.size() - limit_);
    if (total_ > buf_.size()) {
      size_t eol = buf_.find_first_of("\r\n");
      if (eol != std::string::npos && eol + 1 < buf_.size()) buf_.erase(0, eol + 1);
    }
    return std::move(buf_);
  }

 private:
  size_t limit_;
  size_t total_ = 0;
  std::string buf_;
};

enum class StopReason { kNone, kTimeout, kCancel };

struct ProcessRun {
  StopReason stop = StopReason::kNone;
  int exit_code = -1;
  std::string stderr_tail;
  double wall_seconds = 0.0;
};

using StdoutSink = std::function<void(std::string_view)>;

// Pumps the child's stdout and stderr until it has exited and both pipes are closed, stopping it
// on timeout or cancellation (SIGTERM, then SIGKILL after the grace period).
class RunLoop {
 public:
  RunLoop(ChildProcess& child, const FfmpegRunOptions& options, const StdoutSink& stdout_sink,
          UniqueFd stdout_fd, UniqueFd stderr_fd, Clock::time_point start)
      : child_(child),
        options_(options),
        stdout_sink_(stdout_sink),
        stderr_tail_(options.stderr_tail_bytes),
        buf_(kReadChunkBytes) {
    streams_[0] = std::move(stdout_fd);
    streams_[1] = std::move(stderr_fd);
    if (options.timeout_ms > 0) deadline_ = start + Millis(options.timeout_ms);
  }

  void run() {
    std::optional<Clock::time_point> exited_at;
    for (;;) {
      Clock::time_point now = Clock::now();
      enforce_stop(now);
      if (child_.try_reap()) {
        if (!streams_open()) break;
        if (!exited_at) exited_at = now;
        if (millis_between(*exited_at, now) >= kDrainAfterExitMs) break;
      }
      pump(streams_open() ? wait_ms(now) : std::min(wait_ms(now), 10));
    }
  }

  StopReason stop_reason() const { return stop_; }
  std::string take_stderr_tail() { return stderr_tail_.take(); }

 private:
  bool streams_open() const { return streams_[0].valid() || streams_[1].valid(); }

  // Starts or escalates the stop of a child that is still running.
  void enforce_stop(Clock::time_point now) {
    if (child_.reaped()) return;
    if (stop_ == StopReason::kNone) {
      if (options_.cancel != nullptr && options_.cancel->cancelled()) {
        stop_ = StopReason::kCancel;
      } else if (deadline_ && now >= *deadline_) {
        stop_ = StopReason::kTimeout;
      } else {
        return;
      }
      // SIGTERM first: ffmpeg then finishes writing its output and exits by itself.
      child_.signal_group(SIGTERM);
      terminated_at_ = now;
    } else if (!killed_ && millis_between(terminated_at_, now) >= options_.kill_grace_ms) {
      child_.signal_group(SIGKILL);
      killed_ = true;
    }
  }

  // How long the next poll may sleep: one slice, shortened to the next deadline.
  int wait_ms(Clock::time_point now) const {
    int64_t ms = kPollSliceMs;
    if (stop_ == StopReason::kNone && deadline_) {
      ms = std::min(ms, millis_between(now, *deadline_) + 1);
    } else if (stop_ != StopReason::kNone && !killed_) {
      ms = std::min(ms, options_.kill_grace_ms - millis_between(terminated_at_, now) + 1);
    }
    return static_cast<int>(std::max<int64_t>(ms, 1));
  }

  // Waits up to `timeout_ms` for output and reads what is available (one read per stream).
  void pump(int timeout_ms) {
    std::array<pollfd, 2> fds{};
    std::array<int, 2> stream_of{};
    nfds_t count = 0;
    for (int i = 0; i < 2; ++i) {
      if (!streams_[i].valid()) continue;
      fds[count] = {streams_[i].get(), POLLIN, 0};
      stream_of[count++] = i;
    }
    int ready = poll(fds.data(), count, timeout_ms);
    if (ready < 0) {
      // EINTR: just loop. Anything else (ENOMEM) should be transient; do not spin meanwhile.
      if (errno != EINTR) std::this_thread::sleep_for(Millis(timeout_ms));
      return;
    }
    for (nfds_t k = 0; k < count; ++k) {
      if (fds[k].revents != 0) read_stream(stream_of[k]);
    }
  }

  void read_stream(int i) {
    ssize_t got = read(streams_[i].get(), buf_.data(), buf_.size());
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (got <= 0) {  // EOF, or an error that will not go away
      streams_[i].reset();
      return;
    }
    std::string_view bytes(buf_.data(), static_cast<size_t>(got));
    if (i == 0) {
      if (stdout_sink_) stdout_sink_(bytes);
    } else {
      stderr_tail_.append(bytes);
    }
  }

  ChildProcess& child_;
  const FfmpegRunOptions& options_;
  const StdoutSink& stdout_sink_;
  std::array<UniqueFd, 2> streams_;  // [0] stdout, [1] stderr; reset at EOF
  TailBuffer stderr_tail_;
  std::vector<char> buf_;
  std::optional<Clock::time_point> deadline_;
  StopReason stop_ = StopReason::kNone;
  Clock::time_point terminated_at_;
  bool killed_ = false;
};

// Runs argv to completion (see run_ffmpeg), handing stdout to `stdout_sink`.
Result<ProcessRun> run_process(const std::vector<std::string>& argv,
                               const FfmpegRunOptions& options, const StdoutSink& stdout_sink) {
  if (argv.empty() || argv[0].empty()) return Error::invalid_argument("run_ffmpeg: empty argv");
  const std::string& program = argv[0];
  const Clock::time_point start = Clock::now();

  UniqueFd dev_null(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!dev_null.valid()) return spawn_error(program, "open /dev/null", errno);
  ATOMCUT_TRY(move_above_stdio(dev_null, program));
  ATOMCUT_ASSIGN_OR_RETURN(PipeEnds out, make_pipe(program));
  ATOMCUT_ASSIGN_OR_RETURN(PipeEnds err, make_pipe(program));
  ATOMCUT_ASSIGN_OR_RETURN(pid_t pid,
                           spawn_child(argv, dev_null.get(), out.write.get(), err.write.get()));
  ChildProcess child(pid);
  // Only the child may keep the write ends open, or we would never see EOF.
  dev_null.reset();
  out.write.reset();
  err.write.reset();

  RunLoop loop(child, options, stdout_sink, std::move(out.read), std::move(err.read), start);
  loop.run();

  ProcessRun run;
  run.stop = loop.stop_reason();
  run.exit_code = child.exit_code();
  run.stderr_tail = loop.take_stderr_tail();
  run.wall_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return run;
}

// ---------------------------------------------------------------------------------------------
// Reading ffmpeg's stderr.

// Progress statistics and summaries that never explain a failure.
bool is_noise_line(std::string_view line) {
  // Progress lines and ffmpeg's generic wrap-up messages, which follow the line naming the cause.
  static constexpr std::string_view kWrapUp[] = {
      "Error marking filters as finished",
      "Error while filtering",
      "Error reinitializing filters",
      "Failed to inject frame into filter network",
      "Error while processing the decoded data",
      "Finishing stream",
      "Nothing was written into output file",
  };
  for (auto w : kWrapUp) {
    if (line.find(w) != std::string_view::npos) return true;
  }
  return line.empty() || line.starts_with("frame=") || line.starts_with("size=") ||
         line.starts_with("video:") || line.starts_with("Conversion failed!") ||
         line.starts_with("Exiting normally");
}

bool looks_like_error(std::string_view line) {
  static constexpr std::string_view kMarkers[] = {
      "rror",       "No such file", "nvalid",      "not found",     "Unknown",
      "Unrecogniz", "Unable",       "annot",       "ould not",      "denied",
      "failed",     "Failed",       "unsupported", "not supported", "No space left",
  };
  return std::any_of(std::begin(kMarkers), std::end(kMarkers),
                     [&](std::string_view m) { return line.find(m) != std::string_view::npos; });
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t eol = text.find_first_of("\r\n");
    lines.push_back(trim(text.substr(0, eol)));
    if (eol == std::string_view::npos) break;
    text.remove_prefix(eol + 1);
  }
  return lines;
}

std::string shorten(std::string_view line) {
  if (line.size() <= kMaxErrorLineChars) return std::string(line);
  return std::string(line.substr(0, kMaxErrorLineChars)) + "...";
}

std::string parse_version_line(std::string_view output) {
  constexpr std::string_view kPrefix = "ffmpeg version ";
  size_t at = output.find(kPrefix);
  if (at == std::string_view::npos) return "";
  std::string_view rest = output.substr(at + kPrefix.size());
  return std::string(rest.substr(0, rest.find_first_of(" \t\r\n")));
}

std::string probe_ffmpeg_version() {
  FfmpegRunOptions options;
  options.timeout_ms = kVersionTimeoutMs;
  options.kill_grace_ms = 1000;
  std::string output;
  auto run = run_process({"ffmpeg", "-version"}, options, [&](std::string_view bytes) {
    size_t room = kVersionOutputBytes - output.size();
    output.append(bytes.substr(0, std::min(room, bytes.size())));
  });
  if (!run.ok() || run->stop != StopReason::kNone || run->exit_code != 0) return "";
  return parse_version_line(output);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public API.

std::string_view ffmpeg_outcome_name(FfmpegOutcome outcome) {
  switch (outcome) {
    case FfmpegOutcome::kSucceeded:
      return "succeeded";
    case FfmpegOutcome::kFailed:
      return "failed";
    case FfmpegOutcome::kTimedOut:
      return "timed_out";
    case FfmpegOutcome::kCancelled:
      return "cancelled";
  }
  return "failed";
}

void FfmpegProgressParser::feed(std::string_view bytes) {
  while (!bytes.empty()) {
    size_t eol = bytes.find('\n');
    if (eol == std::string_view::npos) {  // an incomplete line: keep it for the next chunk
      if (!skipping_long_line_) partial_line_.append(bytes);
      if (partial_line_.size() > kMaxProgressLineBytes) {
        partial_line_.clear();
        skipping_long_line_ = true;
      }
      return;
    }
    std::string_view piece = bytes.substr(0, eol);
    bytes.remove_prefix(eol + 1);
    if (skipping_long_line_) {
      skipping_long_line_ = false;
    } else if (partial_line_.empty()) {
      handle_line(piece);
    } else {
      partial_line_.append(piece);
      if (partial_line_.size() <= kMaxProgressLineBytes) handle_line(partial_line_);
      partial_line_.clear();
    }
  }
}

void FfmpegProgressParser::handle_line(std::string_view line) {
  size_t eq = line.find('=');
  if (eq == std::string_view::npos) return;
  std::string_view key = trim(line.substr(0, eq));
  std::string_view value = trim(line.substr(eq + 1));
  if (key == "frame") {
    if (auto v = parse_int64(value); v && *v >= 0) current_.frame = *v;
  } else if (key == "out_time_us" || key == "out_time_ms") {
    // ffmpeg prints N/A or a negative time before the first timestamp; keep the previous value.
    if (auto v = parse_int64(value); v && *v >= 0) current_.out_time_us = *v;
  } else if (key == "speed") {
    current_.speed = parse_speed(value).value_or(0.0);
  } else if (key == "progress") {
    current_.finished = value == "end";
    last_ = current_;
    ++blocks_;
    current_.finished = false;
    if (on_block_) on_block_(last_);
  }
}

Result<FfmpegRunResult> run_ffmpeg(const std::vector<std::string>& argv,
                                   const FfmpegRunOptions& options) {
  FfmpegProgressParser parser(options.on_progress);
  ATOMCUT_ASSIGN_OR_RETURN(ProcessRun run, run_process(argv, options, [&](std::string_view bytes) {
                             parser.feed(bytes);
                           }));

  FfmpegRunResult result;
  switch (run.stop) {
    case StopReason::kCancel:
      result.outcome = FfmpegOutcome::kCancelled;
      break;
    case StopReason::kTimeout:
      result.outcome = FfmpegOutcome::kTimedOut;
      break;
    case StopReason::kNone:
      result.outcome = run.exit_code == 0 ? FfmpegOutcome::kSucceeded : FfmpegOutcome::kFailed;
      break;
  }
  result.exit_code = run.exit_code;
  result.stderr_tail = std::move(run.stderr_tail);
  result.last_progress = parser.last();
  result.wall_seconds = run.wall_seconds;
  return result;
}

std::string last_meaningful_stderr_line(std::string_view stderr_text) {
  std::vector<std::string_view> lines = split_lines(stderr_text);
  std::string_view fallback;
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    if (is_noise_line(*it)) continue;
    if (looks_like_error(*it)) return shorten(*it);
    if (fallback.empty()) fallback = *it;
  }
  return shorten(fallback);
}

Error ffmpeg_error(const FfmpegRunResult& result, const FfmpegRunOptions& options) {
  // Errors carry the last 4 KiB of stderr (from a line start): enough for the cause.
  std::string_view tail = result.stderr_tail;
  if (tail.size() > 4096) {
    tail.remove_prefix(tail.size() - 4096);
    if (auto nl = tail.find('\n'); nl != std::string_view::npos) tail.remove_prefix(nl + 1);
  }
  nlohmann::json details{{"exit_code", result.exit_code},
                         {"frame", result.last_progress.frame},
                         {"stderr_tail", std::string(tail)}};
  switch (result.outcome) {
    case FfmpegOutcome::kFailed: {
      details["reason"] = "ffmpeg_failed";
      std::string msg = fmt::format("ffmpeg failed (exit {})", result.exit_code);
      std::string line = last_meaningful_stderr_line(result.stderr_tail);
      if (!line.empty()) msg += ": " + line;
      return Error::failed_precondition(std::move(msg), std::move(details));
    }
    case FfmpegOutcome::kTimedOut:
      details["reason"] = "timeout";
      details["timeout_ms"] = options.timeout_ms;
      return Error::deadline_exceeded(fmt::format("ffmpeg timed out after {} ms (at frame {})",
                                                  options.timeout_ms, result.last_progress.frame),
                                      std::move(details));
    case FfmpegOutcome::kCancelled:
      details["reason"] = "cancelled";
      return Error::failed_precondition(
          fmt::format("ffmpeg run cancelled (at frame {})", result.last_progress.frame),
          std::move(details));
    case FfmpegOutcome::kSucceeded:
      break;
  }
  details["reason"] = "not_an_error";
  return Error::internal("ffmpeg_error() called for a successful ffmpeg run", std::move(details));
}

std::string ffmpeg_version() {
  static const std::string version = probe_ffmpeg_version();  // thread-safe initialisation
  return version;
}

}  // namespace atomcut

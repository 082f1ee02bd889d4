// The ffmpeg executor of the Render atom: runs one ffmpeg command line as a child process.
//
// run_ffmpeg() starts the program without a shell (PATH lookup as execvp does), in its own process
// group, with stdin on /dev/null. It reads stdout as the `-progress pipe:1` stream and keeps only
// a bounded tail of stderr, polling both pipes so that neither can fill up and deadlock the child.
// A timeout or a CancelToken stops the run: SIGTERM to the whole process group (ffmpeg then
// finishes its output cleanly), SIGKILL after a grace period. The child is always reaped.
//
// Thread safe: every call is independent. No HTTP types.
#pragma once

#include "core/error.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace atomcut {

// One block of ffmpeg's `-progress` output (key=value lines ended by "progress=continue|end").
struct FfmpegProgress {
  int64_t frame = 0;        // "frame=": frames written to the output so far
  int64_t out_time_us = 0;  // "out_time_us=" (or "out_time_ms=", which ffmpeg also reports in us)
  double speed = 0.0;       // "speed=1.23x"; 0 while ffmpeg reports "N/A"
  // "progress=end": ffmpeg closed the progress stream. It also does so when it stops early on
  // SIGTERM (timeout, cancellation), so only FfmpegOutcome::kSucceeded means a complete output.
  bool finished = false;
};

// Requests cancellation of a run from any thread. A token can be shared by several runs; once
// cancelled it stays cancelled.
class CancelToken {
 public:
  void cancel() { cancelled_.store(true, std::memory_order_release); }
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

 private:
  std::atomic<bool> cancelled_{false};
};

enum class FfmpegOutcome { kSucceeded, kFailed, kTimedOut, kCancelled };

// "succeeded", "failed", "timed_out", "cancelled".
std::string_view ffmpeg_outcome_name(FfmpegOutcome outcome);

struct FfmpegRunOptions {
  int timeout_ms = 0;               // 0: no timeout
  int kill_grace_ms = 3000;         // after SIGTERM, wait this long before SIGKILL
  size_t stderr_tail_bytes = 8192;  // keep only the last N bytes of stderr (bounded memory)
  // Called on the calling thread for each complete progress block, in order. Keep it short:
  // the pipes are not drained meanwhile. An exception thrown by it kills and reaps the child,
  // then propagates out of run_ffmpeg().
  std::function<void(const FfmpegProgress&)> on_progress;
  // Checked at least every 100 ms; must outlive the run_ffmpeg() call.
  const CancelToken* cancel = nullptr;
};

struct FfmpegRunResult {
  FfmpegOutcome outcome = FfmpegOutcome::kFailed;
  // Exit status; 128+signal when killed by a signal; -1 when unknown (the child was reaped by
  // someone else, e.g. with SIGCHLD ignored).
  int exit_code = -1;
  // The last stderr_tail_bytes of stderr, starting at a line boundary if possible.
  std::string stderr_tail;
  // The last complete progress block (zeros when none).
  FfmpegProgress last_progress;
  double wall_seconds = 0.0;
};

// Runs argv (argv[0] is the program, looked up in PATH, e.g. "ffmpeg"), no shell, stdin
// /dev/null, stdout read as the -progress stream (the caller puts "-progress pipe:1" in argv),
// stderr kept as a bounded tail.
// Returns an Error only when the process cannot be started: invalid_argument (empty argv),
// unavailable (program missing or not executable, details.reason "program_unavailable"),
// resource_exhausted / internal (pipes or process creation failed). Every other outcome, including
// a non-zero exit, a timeout and a cancellation, is a FfmpegRunResult.
Result<FfmpegRunResult> run_ffmpeg(const std::vector<std::string>& argv,
                                   const FfmpegRunOptions& options = {});

// Turns a non-succeeded result into a clear Error:
//   kFailed    -> failed_precondition "ffmpeg failed (exit N): <last meaningful stderr line>",
//                 details {reason: "ffmpeg_failed", exit_code, stderr_tail}
//   kTimedOut  -> deadline_exceeded, details {reason: "timeout", timeout_ms, exit_code,
//                 stderr_tail}
//   kCancelled -> failed_precondition, details {reason: "cancelled", exit_code, stderr_tail}
// (kSucceeded is a caller bug and gives internal.)
Error ffmpeg_error(const FfmpegRunResult& result, const FfmpegRunOptions& options);

// The line of an ffmpeg stderr text that best explains a failure: the last line that looks like an
// error message, else the last line that is not a progress/statistics line; "" when none.
std::string last_meaningful_stderr_line(std::string_view stderr_text);

// Version string of the ffmpeg on PATH (e.g. "5.1.9-0+deb12u1"), cached after the first call;
// "" when ffmpeg is absent or unusable.
std::string ffmpeg_version();

// Incremental parser of the `-progress` stream: feed it stdout bytes in chunks of any size; it
// calls `on_block` once per complete block. Lines longer than a few KiB are dropped so memory
// stays bounded even if the stream is not a progress stream.
class FfmpegProgressParser {
 public:
  explicit FfmpegProgressParser(std::function<void(const FfmpegProgress&)> on_block)
      : on_block_(std::move(on_block)) {}

  void feed(std::string_view bytes);
  // The last complete block (zeros when none yet).
  const FfmpegProgress& last() const { return last_; }
  int64_t blocks() const { return blocks_; }

 private:
  void handle_line(std::string_view line);

  std::function<void(const FfmpegProgress&)> on_block_;
  std::string partial_line_;
  bool skipping_long_line_ = false;
  FfmpegProgress current_;
  FfmpegProgress last_;
  int64_t blocks_ = 0;
};

}  // namespace atomcut

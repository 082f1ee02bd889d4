// Tests of the Render atom's ffmpeg executor, against the real ffmpeg CLI with tiny lavfi inputs.
// Durations are only bounded generously (shared, noisy machines).
#include "engines/ffmpeg/ffmpeg_runner.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace atomcut {
namespace {

constexpr double kGenerousSeconds = 30.0;

// ffmpeg reading a synthetic 160x120 25 fps source of `seconds`, writing to the null muxer, with
// the progress stream on stdout. `realtime` reads the input at its native rate (-re).
std::vector<std::string> null_render_argv(int seconds, bool realtime = false,
                                          std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {"ffmpeg", "-hide_banner", "-nostdin"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  if (realtime) argv.push_back("-re");
  for (const char* a : {"-f", "lavfi", "-i"}) argv.push_back(a);
  argv.push_back("testsrc2=s=160x120:r=25:d=" + std::to_string(seconds));
  for (const char* a : {"-progress", "pipe:1", "-f", "null", "-"}) argv.push_back(a);
  return argv;
}

// True when this process has no child left, not even a zombie.
bool no_children_left() {
  int status = 0;
  pid_t r;
  do {
    r = waitpid(-1, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  return r < 0 && errno == ECHILD;
}

// True once `pid` no longer exists or is a zombie (its parent, init, has yet to reap it).
bool process_gone(pid_t pid) {
  for (int i = 0; i < 100; ++i) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!stat || !std::getline(stat, line)) return true;
    size_t paren = line.rfind(')');
    if (paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z') {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Running real ffmpeg.

TEST(FfmpegRunnerTest, SucceedsAndReportsProgress) {
  std::vector<FfmpegProgress> blocks;
  FfmpegRunOptions options;
  options.timeout_ms = 60000;
  options.on_progress = [&](const FfmpegProgress& p) { blocks.push_back(p); };

  auto result = run_ffmpeg(null_render_argv(2), options);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->outcome, FfmpegOutcome::kSucceeded) << result->stderr_tail;
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_EQ(result->last_progress.frame, 50);  // 2 s at 25 fps
  EXPECT_EQ(result->last_progress.out_time_us, 2000000);
  EXPECT_TRUE(result->last_progress.finished);
  EXPECT_GT(result->wall_seconds, 0.0);
  EXPECT_LT(result->wall_seconds, kGenerousSeconds);

  ASSERT_FALSE(blocks.empty());
  EXPECT_TRUE(blocks.back().finished);
  EXPECT_EQ(blocks.back().frame, 50);
  for (size_t i = 0; i + 1 < blocks.size(); ++i) {
    EXPECT_FALSE(blocks[i].finished) << "block " << i;
    EXPECT_LE(blocks[i].frame, blocks[i + 1].frame) << "block " << i;
  }
  EXPECT_TRUE(no_children_left());
}

TEST(FfmpegRunnerTest, BadInputFailsWithFfmpegsMessage) {
  const std::string missing = "/nonexistent-atomcut-dir/missing-input.mp4";
  FfmpegRunOptions options;
  options.timeout_ms = 60000;
  auto result = run_ffmpeg({"ffmpeg", "-hide_banner", "-nostdin", "-i", missing, "-progress",
                            "pipe:1", "-f", "null", "-"},
                           options);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->outcome, FfmpegOutcome::kFailed);
  EXPECT_NE(result->exit_code, 0);
  EXPECT_NE(result->stderr_tail.find("No such file or directory"), std::string::npos)
      << result->stderr_tail;
  EXPECT_EQ(result->last_progress.frame, 0);
  EXPECT_FALSE(result->last_progress.finished);

  Error e = ffmpeg_error(*result, options);
  EXPECT_EQ(e.code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(e.message.find("ffmpeg failed (exit " + std::to_string(result->exit_code) + ")"),
            std::string::npos)
      << e.message;
  EXPECT_NE(e.message.find("No such file or directory"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find(missing), std::string::npos) << e.message;
  EXPECT_EQ(e.details["reason"], "ffmpeg_failed");
  EXPECT_EQ(e.details["exit_code"], result->exit_code);
  EXPECT_EQ(e.details["stderr_tail"], result->stderr_tail);
}

TEST(FfmpegRunnerTest, TimeoutStopsALongRunAndReapsIt) {
  FfmpegRunOptions options;
  options.timeout_ms = 700;
  options.kill_grace_ms = 3000;
  auto result = run_ffmpeg(null_render_argv(60, /*realtime=*/true), options);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->outcome, FfmpegOutcome::kTimedOut);
  EXPECT_NE(result->exit_code, 0);
  EXPECT_LT(result->wall_seconds, kGenerousSeconds);
  EXPECT_LT(result->last_progress.frame, 1500);  // 60 s at 25 fps: stopped well before the end
  EXPECT_TRUE(no_children_left());

  Error e = ffmpeg_error(*result, options);
  EXPECT_EQ(e.code, ErrorCode::kDeadlineExceeded);
  EXPECT_EQ(e.details["reason"], "timeout");
  EXPECT_EQ(e.details["timeout_ms"], 700);
  EXPECT_TRUE(e.details.contains("stderr_tail"));
}

// Servers often block SIGTERM in their threads (sigwait); the child must not inherit that mask,
// or SIGTERM would only take effect after the (here very long) grace period.
TEST(FfmpegRunnerTest, ChildDoesNotInheritBlockedSignals) {
  sigset_t term, old;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &term, &old), 0);
  FfmpegRunOptions options;
  options.timeout_ms = 300;
  options.kill_grace_ms = 120000;
  auto result = run_ffmpeg(null_render_argv(60, /*realtime=*/true), options);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->outcome, FfmpegOutcome::kTimedOut);
  EXPECT_NE(result->exit_code, 128 + SIGKILL);  // SIGTERM sufficed
  EXPECT_LT(result->wall_seconds, kGenerousSeconds);
  EXPECT_TRUE(no_children_left());
}

// A process group that ignores SIGTERM is SIGKILLed after the grace period, grandchildren
// included (the group is signalled, not just the direct child).
TEST(FfmpegRunnerTest, SigkillAfterGraceReachesTheWholeProcessGroup) {
  FfmpegRunOptions options;
  options.timeout_ms = 300;
  options.kill_grace_ms = 300;
  auto result = run_ffmpeg(
      {"sh", "-c", "trap '' TERM; sleep 60 & echo \"grandchild $!\" >&2; wait; wait"}, options);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->outcome, FfmpegOutcome::kTimedOut);
  EXPECT_EQ(result->exit_code, 128 + SIGKILL);
  EXPECT_LT(result->wall_seconds, kGenerousSeconds);
  EXPECT_TRUE(no_children_left());

  size_t at = result->stderr_tail.find("grandchild ");
  ASSERT_NE(at, std::string::npos) << result->stderr_tail;
  pid_t grandchild = std::stoi(result->stderr_tail.substr(at + 11));
  EXPECT_TRUE(process_gone(grandchild)) << "sleep " << grandchild << " survived";
}

TEST(FfmpegRunnerTest, CancelFromAnotherThreadAfterFirstProgress) {
  CancelToken token;
  std::mutex mu;
  std::condition_variable cv;
  bool progressed = false;

  FfmpegRunOptions options;
  options.timeout_ms = 60000;
  options.cancel = &token;
  options.on_progress = [&](const FfmpegProgress&) {
    std::lock_guard lock(mu);
    progressed = true;
    cv.notify_all();
  };
  std::thread canceller([&] {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return progressed; });
    token.cancel();
  });

  auto result = run_ffmpeg(null_render_argv(60, /*realtime=*/true), options);
  if (!result.ok()) {  // unblock the canceller before failing
    std::lock_guard lock(mu);
    progressed = true;
    cv.notify_all();
  }
  canceller.join();
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(token.cancelled());
  EXPECT_EQ(result->outcome, FfmpegOutcome::kCancelled);
  EXPECT_GT(result->last_progress.frame, 0);
  EXPECT_LT(result->last_progress.frame, 1500);
  EXPECT_LT(result->wall_seconds, kGenerousSeconds);
  EXPECT_TRUE(no_children_left());

  Error e = ffmpeg_error(*result, options);
  EXPECT_EQ(e.code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(e.details["reason"], "cancelled");
}

TEST(FfmpegRunnerTest, AlreadyCancelledTokenStopsTheRun) {
  CancelToken token;
  token.cancel();
  FfmpegRunOptions options;
  options.cancel = &token;
  auto result = run_ffmpeg(null_render_argv(60, /*realtime=*/true), options);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->outcome, FfmpegOutcome::kCancelled);
  EXPECT_LT(result->wall_seconds, kGenerousSeconds);
  EXPECT_TRUE(no_children_left());
}

TEST(FfmpegRunnerTest, ThrowingProgressCallbackKillsAndReapsTheChild) {
  FfmpegRunOptions options;
  options.on_progress = [](const FfmpegProgress&) { throw std::runtime_error("callback failed"); };
  EXPECT_THROW((void)run_ffmpeg(null_render_argv(60, /*realtime=*/true), options),
               std::runtime_error);
  EXPECT_TRUE(no_children_left());
}

TEST(FfmpegRunnerTest, StderrTailIsBounded) {
  FfmpegRunOptions options;
  options.timeout_ms = 60000;
  options.stderr_tail_bytes = 1024;
  auto result = run_ffmpeg(null_render_argv(2, false, {"-loglevel", "debug"}), options);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->outcome, FfmpegOutcome::kSucceeded) << result->stderr_tail;
  EXPECT_EQ(result->last_progress.frame, 50);  // stdout was drained despite the stderr flood
  EXPECT_LE(result->stderr_tail.size(), 1024u);
  EXPECT_GT(result->stderr_tail.size(), 0u);

  options.stderr_tail_bytes = 0;
  result = run_ffmpeg(null_render_argv(1, false, {"-loglevel", "debug"}), options);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->outcome, FfmpegOutcome::kSucceeded);
  EXPECT_EQ(result->stderr_tail, "");
}

// Megabytes on both pipes at once must not deadlock, and the tail starts at a line boundary.
TEST(FfmpegRunnerTest, LargeOutputOnBothPipesAndLineAlignedTail) {
  FfmpegRunOptions options;
  options.timeout_ms = 60000;
  options.stderr_tail_bytes = 100;
  auto result =
      run_ffmpeg({"sh", "-c",
                  "i=0; while [ $i -lt 20000 ]; do echo \"line $i\" >&2; echo \"garbage $i\"; "
                  "i=$((i+1)); done; head -c 3000000 /dev/zero"},
                 options);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->outcome, FfmpegOutcome::kSucceeded);
  EXPECT_LE(result->stderr_tail.size(), 100u);
  EXPECT_EQ(result->stderr_tail.rfind("line ", 0), 0u) << result->stderr_tail;
  EXPECT_NE(result->stderr_tail.find("line 19999\n"), std::string::npos) << result->stderr_tail;
  EXPECT_EQ(result->last_progress.frame, 0);
}

TEST(FfmpegRunnerTest, MissingProgramIsUnavailable) {
  auto result = run_ffmpeg({"atomcut-no-such-ffmpeg", "-version"});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(result.error().message.find("atomcut-no-such-ffmpeg"), std::string::npos)
      << result.error().message;
  EXPECT_EQ(result.error().details["reason"], "program_unavailable");
  EXPECT_TRUE(no_children_left());
}

TEST(FfmpegRunnerTest, EmptyArgvIsInvalid) {
  auto result = run_ffmpeg({});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
}

TEST(FfmpegRunnerTest, ExitCodeOfAFailingProgram) {
  auto result = run_ffmpeg({"sh", "-c", "echo 'something: Invalid argument' >&2; exit 3"});
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->outcome, FfmpegOutcome::kFailed);
  EXPECT_EQ(result->exit_code, 3);
  EXPECT_EQ(ffmpeg_error(*result, {}).message,
            "ffmpeg failed (exit 3): something: Invalid argument");
}

TEST(FfmpegRunnerTest, VersionOfTheFfmpegOnPath) {
  std::string version = ffmpeg_version();
  ASSERT_FALSE(version.empty());
  EXPECT_NE(version.find('.'), std::string::npos) << version;
  EXPECT_EQ(ffmpeg_version(), version);
}

// ---------------------------------------------------------------------------------------------
// Pure parsing.

TEST(FfmpegProgressParserTest, ParsesBlocksFedByteByByte) {
  std::vector<FfmpegProgress> blocks;
  FfmpegProgressParser parser([&](const FfmpegProgress& p) { blocks.push_back(p); });
  const std::string stream =
      "frame=1\nfps=0.00\nout_time_us=N/A\nout_time_ms=40000\nspeed=N/A\nprogress=continue\n"
      "frame=50\r\nout_time_us=2000000\nspeed= 683x\nprogress=end\n";
  for (char c : stream) parser.feed(std::string_view(&c, 1));

  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0].frame, 1);
  EXPECT_EQ(blocks[0].out_time_us, 40000);
  EXPECT_EQ(blocks[0].speed, 0.0);
  EXPECT_FALSE(blocks[0].finished);
  EXPECT_EQ(blocks[1].frame, 50);
  EXPECT_EQ(blocks[1].out_time_us, 2000000);
  EXPECT_DOUBLE_EQ(blocks[1].speed, 683.0);
  EXPECT_TRUE(blocks[1].finished);
  EXPECT_EQ(parser.blocks(), 2);
  EXPECT_EQ(parser.last().frame, 50);
}

TEST(FfmpegProgressParserTest, IgnoresGarbageAndOverlongLines) {
  int calls = 0;
  FfmpegProgressParser parser([&](const FfmpegProgress&) { ++calls; });
  parser.feed(std::string(100000, 'x'));  // e.g. media bytes on stdout by mistake
  parser.feed("progress=end\nnot a key value line\nframe=-3\nframe=7\nspeed=1.5x\n");
  parser.feed("progress=continue\n");
  EXPECT_EQ(calls, 1);  // the overlong line, including its "progress=end" tail, was dropped
  EXPECT_EQ(parser.last().frame, 7);
  EXPECT_DOUBLE_EQ(parser.last().speed, 1.5);
  EXPECT_FALSE(parser.last().finished);
}

TEST(FfmpegStderrTest, LastMeaningfulLinePrefersErrors) {
  EXPECT_EQ(last_meaningful_stderr_line(
                "Input #0, lavfi\n[libx264 @ 0x1] width not divisible by 2 (161x120)\n"
                "Error initializing output stream 0:0 -- Error while opening encoder\n"
                "frame=    0 fps=0.0 q=0.0 size=N/A\rframe=    0 fps=0.0\n"
                "Conversion failed!\n\n"),
            "Error initializing output stream 0:0 -- Error while opening encoder");
  EXPECT_EQ(last_meaningful_stderr_line("hello\nworld\n\nvideo:23kB audio:0kB\n"), "world");
  EXPECT_EQ(last_meaningful_stderr_line(""), "");
  EXPECT_EQ(last_meaningful_stderr_line("Conversion failed!\n"), "");
  EXPECT_EQ(last_meaningful_stderr_line(std::string(1000, 'e')).size(), 303u);
}

TEST(FfmpegOutcomeTest, Names) {
  EXPECT_EQ(ffmpeg_outcome_name(FfmpegOutcome::kSucceeded), "succeeded");
  EXPECT_EQ(ffmpeg_outcome_name(FfmpegOutcome::kTimedOut), "timed_out");
  FfmpegRunResult ok;
  ok.outcome = FfmpegOutcome::kSucceeded;
  EXPECT_EQ(ffmpeg_error(ok, {}).code, ErrorCode::kInternal);
}

}  // namespace
}  // namespace atomcut

// Claim: probing in-process (probe_media) is at least 10x faster than spawning ffprobe.
//
// Probes each file N times in-process (probe + JSON, as the media service does) and N times with
// `ffprobe -v error -show_streams -show_format FILE` (spawned, output discarded), then prints the
// milliseconds per file for both and their ratio. Files: small clips generated with the ffmpeg CLI
// into a temporary directory, plus real recordings when their Debian packages are installed.
//
//   ./build/bench/probe_bench [--iterations=N] [google benchmark flags]
#include "engines/media/media_probe.h"

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;

// Runs argv (PATH lookup, no shell) with stdin/stdout/stderr on /dev/null; returns the exit code.
int run_quietly(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

struct BenchFile {
  std::string label;
  std::string path;
};

std::vector<BenchFile> make_files(const std::string& dir) {
  const std::vector<std::string> ffmpeg = {"ffmpeg", "-nostdin", "-v", "error", "-y"};
  auto lavfi = [](const std::string& spec) {
    return std::vector<std::string>{"-f", "lavfi", "-i", spec};
  };
  struct Gen {
    std::string name;
    std::vector<std::vector<std::string>> parts;
  };
  const std::vector<std::string> h264 = {"-c:v",      "libx264",  "-preset",
                                         "ultrafast", "-pix_fmt", "yuv420p"};
  const std::vector<Gen> gens = {
      {"h264_aac_320x240.mp4",
       {lavfi("testsrc2=size=320x240:rate=25:duration=2"),
        lavfi("sine=frequency=1000:sample_rate=48000:duration=2"),
        h264,
        {"-c:a", "aac"}}},
      {"h264_aac_1080p_2997.mp4",
       {lavfi("testsrc2=size=1920x1080:rate=30000/1001:duration=2"),
        lavfi("sine=frequency=1000:sample_rate=48000:duration=2"),
        h264,
        {"-c:a", "aac"}}},
      {"h264_vfr.mkv",
       {lavfi("testsrc2=size=320x240:rate=30:duration=3"),
        {"-vf", "setpts='if(lt(N,30),N/30,1+(N-30)/20)/TB'", "-fps_mode", "passthrough"},
        h264}},
      {"vp9_opus.webm",
       {lavfi("testsrc2=size=320x240:rate=25:duration=2"),
        lavfi("sine=frequency=440:sample_rate=48000:duration=2"),
        {"-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-c:a", "libopus"}}},
      {"sine.mp3",
       {lavfi("sine=frequency=440:sample_rate=44100:duration=3"), {"-c:a", "libmp3lame"}}},
      {"sine.wav", {lavfi("sine=frequency=440:sample_rate=44100:duration=3")}},
      {"image.png", {lavfi("testsrc2=size=640x480:rate=1"), {"-frames:v", "1"}}},
      {"image.jpg", {lavfi("testsrc2=size=640x480:rate=1"), {"-frames:v", "1"}}},
  };
  std::vector<BenchFile> files;
  for (const auto& g : gens) {
    std::vector<std::string> argv = ffmpeg;
    for (const auto& p : g.parts) argv.insert(argv.end(), p.begin(), p.end());
    const std::string out = dir + "/" + g.name;
    argv.push_back(out);
    if (run_quietly(argv) != 0) {
      std::fprintf(stderr, "probe_bench: ffmpeg could not make %s; skipping it\n", g.name.c_str());
      continue;
    }
    files.push_back({g.name, out});
  }
  const std::vector<BenchFile> real = {
      {"real:phone_1080p.mp4",
       "/usr/share/forensics-samples/original-files/movie1/VID_20191220_170832.mp4"},
      {"real:screen_720p.mp4",
       "/usr/share/forensics-samples/original-files/movie2/movie-hello.mp4"},
      {"real:screen.avi", "/usr/share/forensics-samples/original-files/movie2/movie-hello.avi"},
      {"real:screen.mpeg", "/usr/share/forensics-samples/original-files/movie2/movie-hello.mpeg"},
      {"real:screen.ogg", "/usr/share/forensics-samples/original-files/movie2/movie-hello.ogg"},
      {"real:vtest.avi", "/usr/share/doc/opencv-doc/examples/data/vtest.avi"},
      {"real:tree.avi", "/usr/share/doc/opencv-doc/examples/data/tree.avi"},
      {"real:messi5.jpg", "/usr/share/doc/opencv-doc/examples/data/messi5.jpg"},
  };
  for (const auto& f : real) {
    std::error_code ec;
    if (fs::is_regular_file(f.path, ec)) files.push_back(f);
  }
  return files;
}

void probe_in_process(benchmark::State& state, const std::string& path) {
  for (auto _ : state) {
    auto r = atomcut::probe_media(path);
    if (!r.ok()) {
      state.SkipWithError(r.error().message.c_str());
      break;
    }
    std::string json = atomcut::to_json(r.value()).dump();
    benchmark::DoNotOptimize(json);
  }
}

void probe_with_ffprobe(benchmark::State& state, const std::string& path) {
  const std::vector<std::string> argv = {"ffprobe",       "-v",           "error",
                                         "-show_streams", "-show_format", path};
  for (auto _ : state) {
    if (run_quietly(argv) != 0) {
      state.SkipWithError("ffprobe failed");
      break;
    }
  }
}

// Keeps the console output and remembers the real time per iteration of every run.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  RatioReporter() : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_ColorTabular : OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs) {
      if (run.error_occurred || run.run_type != Run::RT_Iteration || run.iterations == 0) continue;
      // real_accumulated_time is in seconds over all iterations; the key is the registered name.
      ms_per_iteration[run.run_name.function_name] =
          run.real_accumulated_time * 1000.0 / static_cast<double>(run.iterations);
    }
  }
  std::map<std::string, double> ms_per_iteration;
};

}  // namespace

int main(int argc, char** argv) {
  int iterations = 20;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a.starts_with("--iterations=")) {
      iterations = std::max(1, std::atoi(argv[i] + std::strlen("--iterations=")));
    } else {
      args.push_back(argv[i]);
    }
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());

  std::string tmpl = (fs::temp_directory_path() / "atomcut-probe-bench-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string dir = tmpl;
  const std::vector<BenchFile> files = make_files(dir);
  if (files.empty()) {
    std::fprintf(stderr, "probe_bench: no files to probe (is ffmpeg installed?)\n");
    fs::remove_all(dir);
    return 1;
  }
  // Warm the page cache and libav's one-time initialisation so neither side pays for it.
  for (const auto& f : files) {
    (void)atomcut::probe_media(f.path);
    run_quietly({"ffprobe", "-v", "error", "-show_format", f.path});
  }
  for (const auto& f : files) {
    benchmark::RegisterBenchmark(("in_process/" + f.label).c_str(), probe_in_process, f.path)
        ->Iterations(iterations)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("ffprobe/" + f.label).c_str(), probe_with_ffprobe, f.path)
        ->Iterations(iterations)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  std::printf(
      "\nprobe: in-process probe_media vs spawning ffprobe, %d runs per file (ms per file)\n",
      iterations);
  std::printf("%-28s %12s %12s %9s\n", "file", "in-process", "ffprobe", "ratio");
  double total_in = 0, total_ff = 0;
  int compared = 0;
  for (const auto& f : files) {
    auto in = reporter.ms_per_iteration.find("in_process/" + f.label);
    auto ff = reporter.ms_per_iteration.find("ffprobe/" + f.label);
    if (in == reporter.ms_per_iteration.end() || ff == reporter.ms_per_iteration.end()) continue;
    std::printf("%-28s %12.3f %12.3f %8.1fx\n", f.label.c_str(), in->second, ff->second,
                ff->second / in->second);
    total_in += in->second;
    total_ff += ff->second;
    ++compared;
  }
  fs::remove_all(dir);
  if (compared == 0) {
    std::printf("no file was probed by both (filtered out, or errors above)\n");
    return 1;
  }
  const double ratio = total_ff / total_in;
  std::printf("%-28s %12.3f %12.3f %8.1fx\n", "mean over files", total_in / compared,
              total_ff / compared, ratio);
  std::printf("goal: in-process >= 10x faster than spawning ffprobe: %s (%.1fx)\n",
              ratio >= 10.0 ? "met" : "NOT met", ratio);
  return 0;
}

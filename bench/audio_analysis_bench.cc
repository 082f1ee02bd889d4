// Claim: each audio analysis of a 10-minute file, decoding included, runs at least 50x real time
// on one core for the semantic timeline and for beats; speech recognition is reported.
//
// Makes a 10-minute file once per run (real recorded speech from asterisk-core-sounds-en-wav and
// real music from asterisk-moh-opsound-wav, alternating in 30 s stretches, with a second of
// silence between some of them; AAC 128 kb/s, 48 kHz stereo in MP4, as phones and editors write
// it) in a temporary directory, then times on it:
//   semantic   AudioDecoder at 48 kHz stereo, streamed into SemanticAnalyzer (speech/music on)
//   beats      decode_audio at 16 kHz mono + analyse_beats
//   asr        decode of a 60 s window at 16 kHz mono + PocketsphinxAsr::recognize (when the
//              pocketsphinx-en-us model is installed), reported per second of that window
//   decode     the 48 kHz stereo decode alone (the share of decoding in "semantic")
//   ffmpeg     the reference: `ffmpeg -nostdin -i FILE -af ebur128 -f null -` (a child process;
//              its CPU time from wait4)
// Each is run --repeat times (default 1; the median is printed): wall seconds, CPU seconds (of
// this process, or of the child for ffmpeg), and the real-time factors audio seconds / CPU
// seconds and audio seconds / wall seconds, plus the semantic analysis' time over ffmpeg's.
//
// The process pins itself to one CPU (sched_setaffinity; children inherit it) unless --no-pin:
// every figure is then a one-core figure, like `taskset -c 0`. Shared machines are noisy: read
// the CPU-time factors, and run it twice.
//
//   ./build/bench/audio_analysis_bench [--repeat=N] [--no-pin] [--keep=DIR]
#include "engines/audio/asr_pocketsphinx.h"
#include "engines/audio/audio_decoder.h"
#include "engines/audio/audio_semantic.h"
#include "engines/audio/beat_tracker.h"

#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using namespace atomcut;

constexpr double kFileSeconds = 600;
constexpr double kAsrSeconds = 60;
const char* const kSoundsDir = "/usr/share/asterisk/sounds/en_US_f_Allison";
const char* const kMusicDir = "/usr/share/asterisk/moh";

double now_s(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Timing {
  double wall_s = 0;
  double cpu_s = 0;
};

// Runs argv (PATH lookup, no shell, all output to /dev/null); returns its exit code and adds its
// wall and CPU time (user + system, from wait4) to `t`.
int run_child(const std::vector<std::string>& args, Timing* t = nullptr) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  const double start = now_s(CLOCK_MONOTONIC);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  rusage usage{};
  while (wait4(pid, &status, 0, &usage) < 0) {
  }
  if (t != nullptr) {
    t->wall_s += now_s(CLOCK_MONOTONIC) - start;
    t->cpu_s += static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Times `work` in this process; false when it reports a failure.
bool time_in_process(const std::function<bool()>& work, Timing* t) {
  const double wall = now_s(CLOCK_MONOTONIC), cpu = now_s(CLOCK_PROCESS_CPUTIME_ID);
  const bool ok = work();
  t->wall_s = now_s(CLOCK_MONOTONIC) - wall;
  t->cpu_s = now_s(CLOCK_PROCESS_CPUTIME_ID) - cpu;
  return ok;
}

Timing median(std::vector<Timing> runs) {
  std::sort(runs.begin(), runs.end(),
            [](const Timing& a, const Timing& b) { return a.cpu_s < b.cpu_s; });
  return runs[runs.size() / 2];
}

// The 10-minute file: 30 s of joined prompts, 30 s of music, ... with a second of silence after
// every other stretch (ffmpeg's concat demuxer over the 8 kHz WAVs, then AAC 48 kHz stereo).
bool make_file(const fs::path& dir, fs::path* out) {
  std::vector<std::string> prompts, music;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(kSoundsDir, ec)) {
    if (e.path().extension() == ".wav") prompts.push_back(e.path().string());
  }
  for (const auto& e : fs::directory_iterator(kMusicDir, ec)) {
    if (e.path().extension() == ".wav") music.push_back(e.path().string());
  }
  std::sort(prompts.begin(), prompts.end());
  std::sort(music.begin(), music.end());
  if (prompts.size() < 100 || music.empty()) return false;
  const fs::path silence = dir / "silence.wav";
  if (run_child({"ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                 "anullsrc=r=8000:cl=mono", "-t", "1", "-c:a", "pcm_s16le", silence.string()}) !=
      0) {
    return false;
  }
  std::ofstream list(dir / "list.txt");
  double total = 0;
  size_t next_prompt = 0, next_music = 0;
  double music_offset = 20;
  for (int stretch = 0; total < kFileSeconds + 30; ++stretch) {
    if (stretch % 2 == 0) {
      // About 30 s of prompts (they last 1 to 10 s each; 2.5 s on average).
      for (int i = 0; i < 12; ++i) {
        list << "file '" << prompts[next_prompt++ % prompts.size()] << "'\n";
      }
      total += 30;
    } else {
      list << "file '" << music[next_music % music.size()] << "'\ninpoint " << music_offset
           << "\noutpoint " << music_offset + 30 << "\n";
      if (++next_music % music.size() == 0) music_offset += 30;
      total += 30;
    }
    if (stretch % 2 == 1) list << "file '" << silence.string() << "'\n";
  }
  list.close();
  // Joined to PCM first, with timestamps recounted from the samples (asetpts): the concat
  // demuxer's timestamps run short of the samples with in/out points, so -t alone would keep
  // 601.5 s, and an encoder fed them writes packet durations that disagree with its samples.
  const fs::path wav = dir / "bench_10min.wav";
  if (run_child({"ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i",
                 (dir / "list.txt").string(), "-af", "asetpts=N/SR/TB", "-t",
                 std::to_string(kFileSeconds), "-c:a", "pcm_s16le", wav.string()}) != 0) {
    return false;
  }
  *out = dir / "bench_10min.m4a";
  return run_child({"ffmpeg", "-nostdin", "-v", "error", "-y", "-i", wav.string(), "-ar", "48000",
                    "-ac", "2", "-c:a", "aac", "-b:a", "128k", out->string()}) == 0;
}

void print_row(const char* name, const Timing& t, double audio_s) {
  std::printf("%-9s %9.2f %9.2f %10.1fx %10.1fx\n", name, t.wall_s, t.cpu_s, audio_s / t.cpu_s,
              audio_s / t.wall_s);
}

}  // namespace

int main(int argc, char** argv) {
  int repeat = 1;
  bool pin = true;
  std::string keep;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--repeat=", 0) == 0) {
      repeat = std::max(1, std::atoi(a.c_str() + 9));
    } else if (a == "--no-pin") {
      pin = false;
    } else if (a.rfind("--keep=", 0) == 0) {
      keep = a.substr(7);
    } else {
      std::fprintf(stderr, "usage: %s [--repeat=N] [--no-pin] [--keep=DIR]\n", argv[0]);
      return 2;
    }
  }
  if (pin) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) std::perror("sched_setaffinity");
  }

  fs::path dir;
  if (keep.empty()) {
    char tmpl[] = "/tmp/atomcut_audio_bench_XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return 1;
    dir = tmpl;
  } else {
    dir = keep;
    fs::create_directories(dir);
  }
  fs::path file;
  if (!make_file(dir, &file)) {
    std::fprintf(stderr,
                 "could not make the bench file (needs ffmpeg, asterisk-core-sounds-en-wav and "
                 "asterisk-moh-opsound-wav)\n");
    return 1;
  }

  std::vector<Timing> semantic, beats, asr, decode, ffmpeg;
  double audio_s = 0, asr_audio_s = 0;
  size_t events = 0;
  double bpm = 0;
  size_t asr_words = 0;
  bool asr_available = true;
  std::string failure;
  auto fail = [&](std::string message) {
    failure = std::move(message);
    return false;
  };
  for (int r = 0; r < repeat && failure.empty(); ++r) {
    Timing t;
    // Semantic timeline: streamed decode at 48 kHz stereo into the analyzer.
    if (!time_in_process(
            [&] {
              auto decoder = AudioDecoder::open(file.string(), PcmFormat{48000, 2});
              if (!decoder.ok()) return fail(decoder.error().message);
              auto analyzer = SemanticAnalyzer::create(48000, 2);
              if (!analyzer.ok()) return fail(analyzer.error().message);
              std::vector<float> buf(2 * 48000);
              int64_t frames = 0;
              for (;;) {
                auto n = (*decoder)->read(buf.data(), 48000);
                if (!n.ok()) return fail(n.error().message);
                if (*n == 0) break;
                frames += static_cast<int64_t>(*n);
                if (!(*analyzer)->push(buf.data(), *n).ok()) return fail("push");
              }
              auto a = (*analyzer)->finish();
              if (!a.ok()) return fail(a.error().message);
              audio_s = static_cast<double>(frames) / 48000;
              events = a->events.size();
              return true;
            },
            &t)) {
      break;
    }
    semantic.push_back(t);

    // Decode alone (the same stream, discarded).
    time_in_process(
        [&] {
          auto decoder = AudioDecoder::open(file.string(), PcmFormat{48000, 2});
          if (!decoder.ok()) return false;
          std::vector<float> buf(2 * 48000);
          while (true) {
            auto n = (*decoder)->read(buf.data(), 48000);
            if (!n.ok() || *n == 0) break;
          }
          return true;
        },
        &t);
    decode.push_back(t);

    // Beats: 16 kHz mono decode + the beat tracker.
    if (!time_in_process(
            [&] {
              auto pcm = decode_audio(file.string(), PcmFormat{16000, 1});
              if (!pcm.ok()) return fail(pcm.error().message);
              auto b = analyse_beats(pcm->samples.data(), pcm->frames(), 16000);
              if (!b.ok()) return fail(b.error().message);
              bpm = b->bpm;
              return true;
            },
            &t)) {
      break;
    }
    beats.push_back(t);

    // Speech recognition on a 60 s window (one stretch of speech and one of music).
    if (asr_available) {
      auto recognizer = PocketsphinxAsr::create();
      if (!recognizer.ok()) {
        asr_available = false;
        std::fprintf(stderr, "asr skipped: %s\n", recognizer.error().message.c_str());
      } else {
        time_in_process(
            [&] {
              auto pcm = decode_audio(file.string(), PcmFormat{16000, 1},
                                      AudioWindow{0, static_cast<int64_t>(kAsrSeconds * 1000)});
              if (!pcm.ok()) return false;
              auto result = (*recognizer)->recognize(pcm->samples.data(), pcm->frames());
              if (!result.ok()) return false;
              asr_audio_s = static_cast<double>(pcm->frames()) / 16000;
              asr_words = 0;
              for (const auto& s : result->segments) asr_words += s.words.size();
              return true;
            },
            &t);
        asr.push_back(t);
      }
    }

    // The reference: ffmpeg's ebur128 filter over the same file.
    Timing f;
    if (run_child({"ffmpeg", "-nostdin", "-i", file.string(), "-af", "ebur128", "-f", "null", "-"},
                  &f) != 0) {
      failure = "ffmpeg -af ebur128 failed";
      break;
    }
    ffmpeg.push_back(f);
  }
  if (!failure.empty()) {
    std::fprintf(stderr, "failed: %s\n", failure.c_str());
    return 1;
  }

  std::printf("file: %s (%.1f s, AAC 48 kHz stereo); %s; median of %d run(s)\n",
              file.filename().c_str(), audio_s, pin ? "pinned to CPU 0" : "not pinned", repeat);
  std::printf("%-9s %9s %9s %11s %11s\n", "analysis", "wall s", "cpu s", "RTF (cpu)", "RTF (wall)");
  const Timing sem = median(semantic), dec = median(decode), bt = median(beats),
               ff = median(ffmpeg);
  print_row("semantic", sem, audio_s);
  print_row("beats", bt, audio_s);
  if (!asr.empty()) print_row("asr", median(asr), asr_audio_s);
  print_row("decode", dec, audio_s);
  print_row("ffmpeg", ff, audio_s);
  std::printf("semantic: %zu events; beats: %.1f BPM; asr: %zu words in %.0f s\n", events, bpm,
              asr_words, asr_audio_s);
  std::printf("semantic / ffmpeg ebur128: %.2fx its CPU time, %.2fx its wall time\n",
              sem.cpu_s / ff.cpu_s, sem.wall_s / ff.wall_s);
  std::printf("claim (>= 50x real time on one core, CPU): semantic %s (%.0fx), beats %s (%.0fx)\n",
              audio_s / sem.cpu_s >= 50 ? "met" : "NOT met", audio_s / sem.cpu_s,
              audio_s / bt.cpu_s >= 50 ? "met" : "NOT met", audio_s / bt.cpu_s);
  if (keep.empty()) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  return 0;
}

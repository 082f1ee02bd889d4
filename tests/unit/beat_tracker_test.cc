// Tests of the Audio atom's beat tracker on audio synthesised here with known beats and downbeats
// (click tracks, drum patterns, a small band; 4/4 and 3/4; steady and ramping tempi; 8 to 48 kHz),
// on real music (Debian's asterisk-moh-opsound-wav: reported only, it has no annotations), and
// its real-time factor (reported, never asserted). Lines starting "[ figures  ]" are the report.
#include "engines/audio/beat_tracker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace atomcut {
namespace {

constexpr double kPi = 3.14159265358979323846;

// --- synthesis ----------------------------------------------------------------------------------

enum class Kind { kClick, kDrums, kBand };

struct Track {
  std::vector<float> samples;
  int sample_rate = 0;
  std::vector<int64_t> beats_ms;      // reference beats
  std::vector<int64_t> downbeats_ms;  // reference downbeats (the first beat of each bar)
};

// Adds `sound` (a function of the time since its start, in seconds) at `start_s` for `length_s`.
template <typename F>
void add_at(std::vector<float>& out, int rate, double start_s, double length_s, F sound) {
  const auto first = static_cast<int64_t>(std::llround(start_s * rate));
  const auto count = static_cast<int64_t>(length_s * rate);
  for (int64_t i = 0; i < count; ++i) {
    const int64_t j = first + i;
    if (j < 0) continue;
    if (j >= static_cast<int64_t>(out.size())) break;
    out[j] += static_cast<float>(sound(static_cast<double>(i) / rate));
  }
}

struct Synth {
  Kind kind = Kind::kDrums;
  double bpm = 120;
  double bpm_end = 0;  // a linear tempo ramp to this tempo when > 0
  int beats_per_bar = 4;
  int rate = 44100;
  double seconds = 30;
  double offset_s = 0.5;  // the first beat
  uint32_t seed = 1;
};

// A metronome click track (1 kHz bursts, all beats alike) or a drum pattern: in 4/4 kick on 1 and
// 3 (louder on 1), snare on 2 and 4; in 3/4 kick on 1, lighter snare on 2 and 3; a closed hi-hat
// on every eighth. Drums have +-4 ms timing and +-10% velocity jitter; both have a little
// background noise (-60 dBFS). A band (4/4) adds a syncopated kick on 2-and, a bass line on the
// kicks, a pad chord changing every bar and more noise (-40 dBFS).
Track synthesise(const Synth& s) {
  Track t;
  t.sample_rate = s.rate;
  t.samples.assign(static_cast<size_t>(s.seconds * s.rate), 0.f);
  std::mt19937 rng(s.seed);
  std::uniform_real_distribution<double> jitter(-0.004, 0.004);
  std::uniform_real_distribution<double> velocity(0.9, 1.1);
  std::normal_distribution<double> gauss(0.0, 1.0);
  const int rate = s.rate;
  double beat = s.offset_s;
  for (int k = 0; beat <= s.seconds - 0.05; ++k) {
    const double bpm = s.bpm_end > 0 ? s.bpm + (s.bpm_end - s.bpm) * beat / s.seconds : s.bpm;
    const double period = 60.0 / bpm;
    const int position = k % s.beats_per_bar;
    t.beats_ms.push_back(std::llround(beat * 1000));
    if (position == 0) t.downbeats_ms.push_back(std::llround(beat * 1000));
    if (s.kind == Kind::kClick) {
      add_at(t.samples, rate, beat, 0.03,
             [](double x) { return 0.5 * std::sin(2 * kPi * 1000 * x) * std::exp(-x / 0.008); });
      beat += period;
      continue;
    }
    const double at = beat + jitter(rng);
    const auto add_kick = [&](double when, double amp) {  // a pitch sweep from 150 Hz to 50 Hz
      add_at(t.samples, rate, when, 0.35, [amp](double x) {
        const double phase = 2 * kPi * (50 * x + 100 * 0.04 * (1 - std::exp(-x / 0.04)));
        return amp * 0.8 * std::sin(phase) * std::exp(-x / 0.15);
      });
    };
    if (s.kind == Kind::kBand) {
      // A bass line on the kicks (1, 2-and, 3; the bar's root) and a pad chord held for each bar
      // (A, F, C, G).
      static constexpr double kRoots[] = {55.0, 43.65, 65.41, 49.0};
      const double root = kRoots[(k / 4) % 4];
      const auto add_bass = [&](double when, double amp, double length) {
        add_at(t.samples, rate, when, length, [amp, root, length](double x) {
          const double env = std::min(1.0, x / 0.005) * std::exp(-x / (0.6 * length));
          return amp * env * (std::sin(2 * kPi * root * x) + 0.3 * std::sin(4 * kPi * root * x));
        });
      };
      if (position == 0) {
        add_bass(at, 0.3, 0.9 * period);
        const double bar = 4 * period;
        add_at(t.samples, rate, beat, bar, [root, bar](double x) {
          const double env = std::min(1.0, x / 0.08) * std::min(1.0, (bar - x) / 0.05);
          return 0.04 * env *
                 (std::sin(2 * kPi * 4 * root * x) + std::sin(2 * kPi * 5 * root * x) +
                  std::sin(2 * kPi * 6 * root * x));
        });
      }
      if (position == 1) add_bass(at + period / 2, 0.2, 0.4 * period);
      if (position == 2) add_bass(at, 0.25, 0.9 * period);
      if (position == 1) add_kick(at + period / 2 + jitter(rng), 0.5 * velocity(rng));
    }
    const bool kick = position == 0 || (s.beats_per_bar == 4 && position == 2);
    if (kick) {
      add_kick(at, (position == 0 ? 1.0 : 0.6) * velocity(rng));
    } else {  // snare: noise and a 180 Hz body
      const double amp = (s.beats_per_bar == 4 ? 0.45 : 0.35) * velocity(rng);
      std::vector<double> noise(static_cast<size_t>(0.2 * rate));
      for (double& v : noise) v = gauss(rng);
      add_at(t.samples, rate, at, 0.2, [amp, &noise, rate](double x) {
        const auto i = std::min(noise.size() - 1, static_cast<size_t>(x * rate));
        return amp * (0.5 * noise[i] * std::exp(-x / 0.05) +
                      0.6 * std::sin(2 * kPi * 180 * x) * std::exp(-x / 0.07));
      });
    }
    for (int half = 0; half < 2; ++half) {  // closed hi-hat: differentiated noise
      const double amp = 0.12 * velocity(rng);
      std::vector<double> noise(static_cast<size_t>(0.06 * rate) + 1);
      for (double& v : noise) v = gauss(rng);
      add_at(t.samples, rate, at + half * period / 2 + jitter(rng), 0.06,
             [amp, &noise, rate](double x) {
               const auto i = std::min(noise.size() - 2, static_cast<size_t>(x * rate));
               return amp * (noise[i + 1] - noise[i]) * std::exp(-x / 0.015);
             });
    }
    beat += period;
  }
  const double noise = s.kind == Kind::kBand ? 0.01 : 0.001;  // -40 / -60 dBFS
  for (float& v : t.samples) v += static_cast<float>(noise * gauss(rng));
  return t;
}

Track synthesise(Kind kind, double bpm, int rate, double seconds, double offset_s = 0.5) {
  Synth s;
  s.kind = kind;
  s.bpm = bpm;
  s.rate = rate;
  s.seconds = seconds;
  s.offset_s = offset_s;
  return synthesise(s);
}

// Mean timing error (detected - reference, ms) of the detected beats within 70 ms of a reference.
double mean_offset_ms(const std::vector<int64_t>& detected, const std::vector<int64_t>& ref) {
  double sum = 0;
  int n = 0;
  for (int64_t d : detected) {
    const auto it = std::min_element(ref.begin(), ref.end(), [d](int64_t a, int64_t b) {
      return std::llabs(a - d) < std::llabs(b - d);
    });
    if (it != ref.end() && std::llabs(*it - d) <= 70) {
      sum += static_cast<double>(d - *it);
      ++n;
    }
  }
  return n ? sum / n : 0.0;
}

// --- cases --------------------------------------------------------------------------------------

struct Case {
  Kind kind;
  double bpm;
  int rate;
};

const char* kind_name(Kind kind) {
  static constexpr const char* kNames[] = {"click", "drums", "band"};
  return kNames[static_cast<int>(kind)];
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::ostringstream name;
  static constexpr const char* kNames[] = {"Click", "Drums", "Band"};
  name << kNames[static_cast<int>(info.param.kind)] << static_cast<int>(info.param.bpm) << "Bpm"
       << info.param.rate / 1000 << "kHz";
  return name.str();
}

class BeatTrackerAccuracy : public ::testing::TestWithParam<Case> {};

TEST_P(BeatTrackerAccuracy, FindsTempoBeatsAndDownbeats) {
  const Case c = GetParam();
  const Track t = synthesise(c.kind, c.bpm, c.rate, 20.0);
  auto r = analyse_beats(t.samples.data(), t.samples.size(), t.sample_rate);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const BeatAnalysis& a = *r;
  const double f = beat_f_measure(a.beats_ms, t.beats_ms, 70);
  const double down_f = beat_f_measure(a.downbeats_ms, t.downbeats_ms, 70);
  std::printf(
      "[ figures  ] %-5s %3.0f BPM %2d kHz: bpm %6.2f (%+.2f%%) conf %.2f beats %2zu/%2zu "
      "F %.3f offset %+.1f ms, downbeat F %.3f\n",
      kind_name(c.kind), c.bpm, c.rate / 1000, a.bpm, 100 * (a.bpm / c.bpm - 1), a.confidence,
      a.beats_ms.size(), t.beats_ms.size(), f, mean_offset_ms(a.beats_ms, t.beats_ms), down_f);
  RecordProperty("bpm_found", std::to_string(a.bpm));
  RecordProperty("f_measure", std::to_string(f));
  RecordProperty("downbeat_f_measure", std::to_string(down_f));

  EXPECT_NEAR(a.bpm, c.bpm, 0.02 * c.bpm) << "tempo off by more than 2% (half/double?)";
  EXPECT_GE(f, 0.9);
  EXPECT_GT(a.confidence, 0.3);
  EXPECT_LE(a.confidence, 1.0);
  EXPECT_TRUE(a.backend_version.starts_with("aubio ")) << a.backend_version;
  if (c.kind != Kind::kClick) {
    EXPECT_GE(down_f, 0.9) << "downbeats not on the accented kick";
  }
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  const double tempi[] = {70, 90, 120, 128, 150, 174};
  for (int rate : {44100, 16000})
    for (Kind kind : {Kind::kClick, Kind::kDrums, Kind::kBand})
      for (double bpm : tempi) cases.push_back({kind, bpm, rate});
  for (double bpm : tempi) cases.push_back({Kind::kBand, bpm, 8000});  // telephone audio
  for (double bpm : {70.0, 120.0, 174.0}) cases.push_back({Kind::kBand, bpm, 48000});  // video
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Synthetic, BeatTrackerAccuracy, ::testing::ValuesIn(all_cases()),
                         case_name);

// --- structure and edge cases -------------------------------------------------------------------

TEST(BeatTracker, BarsStartOnDownbeatsAndBeatsAscend) {
  const Track t = synthesise(Kind::kDrums, 120, 22050, 12.0);
  BeatOptions options;
  options.beats_per_bar = 3;
  auto r = analyse_beats(t.samples.data(), t.samples.size(), t.sample_rate, options);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_GE(r->beats_ms.size(), 6u);
  EXPECT_TRUE(std::is_sorted(r->beats_ms.begin(), r->beats_ms.end()));
  ASSERT_EQ(r->bars.size(), r->downbeats_ms.size());
  for (size_t i = 0; i < r->bars.size(); ++i) {
    EXPECT_EQ(r->bars[i].start_ms, r->downbeats_ms[i]);
    EXPECT_EQ(r->bars[i].index, static_cast<int>(i));
  }
  // Every third beat is a downbeat.
  const auto first = std::find(r->beats_ms.begin(), r->beats_ms.end(), r->downbeats_ms.front());
  ASSERT_NE(first, r->beats_ms.end());
  for (size_t i = 0; i < r->downbeats_ms.size(); ++i) {
    const auto k = static_cast<size_t>(first - r->beats_ms.begin()) + 3 * i;
    ASSERT_LT(k, r->beats_ms.size());
    EXPECT_EQ(r->downbeats_ms[i], r->beats_ms[k]);
  }
  EXPECT_LT(first - r->beats_ms.begin(), 3);
}

TEST(BeatTracker, OneBeatPerBarMakesEveryBeatADownbeat) {
  const Track t = synthesise(Kind::kClick, 100, 16000, 10.0);
  BeatOptions options;
  options.beats_per_bar = 1;
  auto r = analyse_beats(t.samples.data(), t.samples.size(), t.sample_rate, options);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->downbeats_ms, r->beats_ms);
}

TEST(BeatTracker, WaltzDownbeatsWithThreeBeatsPerBar) {
  for (double bpm : {96.0, 150.0}) {
    Synth s;
    s.bpm = bpm;
    s.beats_per_bar = 3;
    s.rate = 22050;
    s.seconds = 20;
    const Track t = synthesise(s);
    BeatOptions options;
    options.beats_per_bar = 3;
    auto r = analyse_beats(t.samples.data(), t.samples.size(), t.sample_rate, options);
    ASSERT_TRUE(r.ok()) << r.error().message;
    const double f = beat_f_measure(r->beats_ms, t.beats_ms);
    const double down_f = beat_f_measure(r->downbeats_ms, t.downbeats_ms);
    std::printf("[ figures  ] waltz %3.0f BPM: bpm %.2f F %.3f downbeat F %.3f\n", bpm, r->bpm, f,
                down_f);
    EXPECT_NEAR(r->bpm, bpm, 0.02 * bpm);
    EXPECT_GE(f, 0.9);
    EXPECT_GE(down_f, 0.9);
  }
}

TEST(BeatTracker, FollowsATempoRamp) {
  // Drums speeding up from 116 to 124 BPM over 30 s: the beats follow, the global tempo lies
  // between the two.
  Synth s;
  s.bpm = 116;
  s.bpm_end = 124;
  s.rate = 16000;
  const Track t = synthesise(s);
  auto r = analyse_beats(t.samples.data(), t.samples.size(), t.sample_rate);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const double f = beat_f_measure(r->beats_ms, t.beats_ms);
  std::printf("[ figures  ] ramp 116->124 BPM: bpm %.2f F %.3f downbeat F %.3f\n", r->bpm, f,
              beat_f_measure(r->downbeats_ms, t.downbeats_ms));
  EXPECT_GE(f, 0.9);
  EXPECT_GE(r->bpm, 116);
  EXPECT_LE(r->bpm, 124);
}

TEST(BeatTracker, ConcurrentCallsAgreeWithSequentialOnes) {
  std::vector<Track> tracks;
  for (double bpm : {96.0, 132.0, 160.0}) {
    Synth s;
    s.kind = Kind::kBand;
    s.bpm = bpm;
    s.rate = 16000;
    s.seconds = 10;
    tracks.push_back(synthesise(s));
  }
  std::vector<BeatAnalysis> sequential, concurrent(tracks.size());
  for (const Track& t : tracks) {
    auto r = analyse_beats(t.samples.data(), t.samples.size(), t.sample_rate);
    ASSERT_TRUE(r.ok()) << r.error().message;
    sequential.push_back(*r);
  }
  std::vector<std::thread> threads;
  for (size_t i = 0; i < tracks.size(); ++i) {
    threads.emplace_back([&, i] {
      auto r = analyse_beats(tracks[i].samples.data(), tracks[i].samples.size(), 16000);
      if (r.ok()) concurrent[i] = *r;
    });
  }
  for (std::thread& th : threads) th.join();
  for (size_t i = 0; i < tracks.size(); ++i) {
    EXPECT_EQ(concurrent[i].bpm, sequential[i].bpm);
    EXPECT_EQ(concurrent[i].beats_ms, sequential[i].beats_ms);
    EXPECT_EQ(concurrent[i].downbeats_ms, sequential[i].downbeats_ms);
  }
}

TEST(BeatTracker, WorksAtTheEdgesOfTheSampleRateRange) {
  for (int rate : {4000, 384000}) {
    const Track t = synthesise(Kind::kClick, 120, rate, 6.0);
    auto r = analyse_beats(t.samples.data(), t.samples.size(), rate);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_NEAR(r->bpm, 120, 2.4) << rate;
    EXPECT_GE(beat_f_measure(r->beats_ms, t.beats_ms), 0.9) << rate;
  }
}

TEST(BeatTracker, TempoRangeSelectsTheMetricalLevel) {
  // A 70 BPM click track read with a range that excludes 70 is reported at 140.
  const Track t = synthesise(Kind::kClick, 70, 16000, 20.0);
  BeatOptions options;
  options.min_bpm = 100;
  options.max_bpm = 200;
  auto r = analyse_beats(t.samples.data(), t.samples.size(), t.sample_rate, options);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NEAR(r->bpm, 140, 2.8);
  EXPECT_GE(r->bpm, options.min_bpm);
}

TEST(BeatTracker, SilenceIsNoBeatsNotAnError) {
  std::vector<float> silence(44100 * 5, 0.f);
  auto r = analyse_beats(silence.data(), silence.size(), 44100);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->bpm, 0);
  EXPECT_EQ(r->confidence, 0);
  EXPECT_TRUE(r->beats_ms.empty());
  EXPECT_TRUE(r->downbeats_ms.empty());
  EXPECT_TRUE(r->bars.empty());
  EXPECT_TRUE(r->backend_version.starts_with("aubio ")) << r->backend_version;

  // A constant (DC) signal has no onsets either.
  std::vector<float> dc(16000 * 5, 0.25f);
  auto d = analyse_beats(dc.data(), dc.size(), 16000);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->bpm, 0);
  EXPECT_TRUE(d->beats_ms.empty());
}

TEST(BeatTracker, NoBeatsOverLeadingAndTrailingSilence) {
  // 5 s of silence, 15 s of drums, 5 s of silence.
  const Track drums = synthesise(Kind::kDrums, 128, 16000, 15.0, 0.0);
  std::vector<float> audio(16000 * 5, 0.f);
  audio.insert(audio.end(), drums.samples.begin(), drums.samples.end());
  audio.resize(audio.size() + 16000 * 5, 0.f);
  auto r = analyse_beats(audio.data(), audio.size(), 16000);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_FALSE(r->beats_ms.empty());
  EXPECT_GE(r->beats_ms.front(), 4900);
  EXPECT_LE(r->beats_ms.back(), 20300);
  std::vector<int64_t> reference;
  for (int64_t ms : drums.beats_ms) reference.push_back(ms + 5000);
  EXPECT_GE(beat_f_measure(r->beats_ms, reference), 0.9);
  EXPECT_NEAR(r->bpm, 128, 2.56);
}

TEST(BeatTracker, NoiseGivesLowConfidence) {
  std::mt19937 rng(7);
  std::normal_distribution<float> gauss(0.f, 0.1f);
  std::vector<float> noise(16000 * 20);
  for (float& v : noise) v = gauss(rng);
  auto r = analyse_beats(noise.data(), noise.size(), 16000);
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::printf("[ figures  ] white noise: bpm %.2f confidence %.2f beats %zu\n", r->bpm,
              r->confidence, r->beats_ms.size());
  const Track clicks = synthesise(Kind::kClick, 120, 16000, 20.0);
  auto c = analyse_beats(clicks.samples.data(), clicks.samples.size(), 16000);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_LT(r->confidence, c->confidence);
  EXPECT_LT(r->confidence, 0.5);
}

TEST(BeatTracker, ShortInputIsNoBeatsNotAnError) {
  const Track t = synthesise(Kind::kClick, 120, 16000, 1.5, 0.1);
  auto r = analyse_beats(t.samples.data(), t.samples.size(), 16000);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->bpm, 0);
  EXPECT_TRUE(r->beats_ms.empty());
}

TEST(BeatTracker, RejectsInvalidInput) {
  std::vector<float> audio(16000, 0.1f);
  auto expect_invalid = [](const Result<BeatAnalysis>& r) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << r.error().message;
  };
  expect_invalid(analyse_beats(nullptr, 100, 16000));
  expect_invalid(analyse_beats(audio.data(), 0, 16000));
  expect_invalid(analyse_beats(audio.data(), audio.size(), 0));
  expect_invalid(analyse_beats(audio.data(), audio.size(), -44100));
  expect_invalid(analyse_beats(audio.data(), audio.size(), 3999));
  expect_invalid(analyse_beats(audio.data(), audio.size(), 400000));
  BeatOptions bad;
  bad.beats_per_bar = 0;
  expect_invalid(analyse_beats(audio.data(), audio.size(), 16000, bad));
  bad = {};
  bad.min_bpm = 150;
  bad.max_bpm = 100;
  expect_invalid(analyse_beats(audio.data(), audio.size(), 16000, bad));
  bad = {};
  bad.min_bpm = std::nan("");
  expect_invalid(analyse_beats(audio.data(), audio.size(), 16000, bad));
  bad = {};
  bad.max_bpm = 1000;
  expect_invalid(analyse_beats(audio.data(), audio.size(), 16000, bad));
  audio[100] = std::numeric_limits<float>::infinity();
  expect_invalid(analyse_beats(audio.data(), audio.size(), 16000));
}

// --- beat_f_measure -----------------------------------------------------------------------------

TEST(BeatFMeasure, FollowsTheMirexDefinition) {
  const std::vector<int64_t> ref = {1000, 1500, 2000, 2500};
  EXPECT_DOUBLE_EQ(beat_f_measure(ref, ref), 1.0);
  EXPECT_DOUBLE_EQ(beat_f_measure({1070, 1430, 2000, 2500}, ref), 1.0);  // inclusive window
  EXPECT_DOUBLE_EQ(beat_f_measure({1071, 1500, 2000, 2500}, ref), 0.75);
  // Doubled beats: precision 1/2, recall 1 -> F = 2/3.
  EXPECT_NEAR(beat_f_measure({1000, 1250, 1500, 1750, 2000, 2250, 2500, 2750}, ref), 2.0 / 3,
              1e-12);
  // Half the beats: precision 1, recall 1/2.
  EXPECT_NEAR(beat_f_measure({1000, 2000}, ref), 2.0 / 3, 1e-12);
  // Off-beat: nothing matches.
  EXPECT_DOUBLE_EQ(beat_f_measure({1250, 1750, 2250}, ref), 0.0);
  // One detection cannot match two references, nor two detections one reference.
  EXPECT_NEAR(beat_f_measure({1000, 1010}, {1000}), 2.0 / 3, 1e-12);
  EXPECT_NEAR(beat_f_measure({1000}, {990, 1010}), 2.0 / 3, 1e-12);
  // A greedy choice must not steal a later reference's only match.
  EXPECT_DOUBLE_EQ(beat_f_measure({1050, 1120}, {1000, 1100}, 70), 1.0);
  // Unsorted input, custom tolerance, empty lists.
  EXPECT_DOUBLE_EQ(beat_f_measure({2500, 1000, 2000, 1500}, ref), 1.0);
  EXPECT_DOUBLE_EQ(beat_f_measure({1100}, {1000}, 100), 1.0);
  EXPECT_DOUBLE_EQ(beat_f_measure({1100}, {1000}, 99), 0.0);
  EXPECT_DOUBLE_EQ(beat_f_measure({}, ref), 0.0);
  EXPECT_DOUBLE_EQ(beat_f_measure(ref, {}), 0.0);
}

// --- real music ---------------------------------------------------------------------------------

// Reads a 16-bit PCM WAV file (any channel count, mixed down to mono). False if it is not one.
bool read_wav_pcm16(const std::string& path, std::vector<float>& mono, int& rate) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto u32 = [&](size_t at) {
    return static_cast<uint32_t>(static_cast<uint8_t>(bytes[at])) |
           static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + 1])) << 8 |
           static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + 2])) << 16 |
           static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + 3])) << 24;
  };
  auto u16 = [&](size_t at) {
    return static_cast<uint16_t>(static_cast<uint8_t>(bytes[at]) |
                                 static_cast<uint8_t>(bytes[at + 1]) << 8);
  };
  if (bytes.size() < 12 || std::string(bytes.data(), 4) != "RIFF" ||
      std::string(bytes.data() + 8, 4) != "WAVE")
    return false;
  int channels = 0, bits = 0;
  for (size_t at = 12; at + 8 <= bytes.size();) {
    const std::string id(bytes.data() + at, 4);
    const size_t size = u32(at + 4);
    const size_t body = at + 8;
    if (id == "fmt " && size >= 16 && body + 16 <= bytes.size()) {
      if (u16(body) != 1) return false;  // PCM only
      channels = u16(body + 2);
      rate = static_cast<int>(u32(body + 4));
      bits = u16(body + 14);
    } else if (id == "data") {
      if (channels < 1 || bits != 16) return false;
      const size_t end = std::min(bytes.size(), body + size);
      const size_t frames = (end - body) / (2 * channels);
      mono.assign(frames, 0.f);
      for (size_t i = 0; i < frames; ++i) {
        float sum = 0;
        for (int ch = 0; ch < channels; ++ch)
          sum += static_cast<int16_t>(u16(body + 2 * (i * channels + ch))) / 32768.f;
        mono[i] = sum / channels;
      }
      return true;
    }
    at = body + size + (size & 1);
  }
  return false;
}

TEST(BeatTrackerRealMusic, ReportsOnAsteriskMusicOnHold) {
  const std::filesystem::path dir = "/usr/share/asterisk/moh";
  std::vector<std::filesystem::path> files;
  if (std::filesystem::is_directory(dir))
    for (const auto& e : std::filesystem::directory_iterator(dir))
      if (e.path().extension() == ".wav") files.push_back(e.path());
  if (files.empty()) GTEST_SKIP() << "asterisk-moh-opsound-wav is not installed";
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    std::vector<float> mono;
    int rate = 0;
    ASSERT_TRUE(read_wav_pcm16(path.string(), mono, rate)) << path;
    auto r = analyse_beats(mono.data(), mono.size(), rate);
    ASSERT_TRUE(r.ok()) << path << ": " << r.error().message;
    // Steadiness: the spread of the inter-beat intervals (coefficient of variation).
    double mean = 0, sq = 0;
    const size_t n = r->beats_ms.size() > 1 ? r->beats_ms.size() - 1 : 0;
    for (size_t i = 0; i < n; ++i) mean += static_cast<double>(r->beats_ms[i + 1] - r->beats_ms[i]);
    mean = n ? mean / n : 0;
    for (size_t i = 0; i < n; ++i) {
      const double d = static_cast<double>(r->beats_ms[i + 1] - r->beats_ms[i]) - mean;
      sq += d * d;
    }
    const double cv = n && mean > 0 ? std::sqrt(sq / n) / mean : 0;
    std::printf(
        "[ figures  ] moh %-32s %5.1f s: bpm %6.2f conf %.2f beats %3zu bars %3zu, "
        "first beat %lld ms, interval spread %.1f%%\n",
        path.filename().c_str(), static_cast<double>(mono.size()) / rate, r->bpm, r->confidence,
        r->beats_ms.size(), r->bars.size(),
        r->beats_ms.empty() ? -1LL : static_cast<long long>(r->beats_ms.front()), 100 * cv);
    RecordProperty(path.stem().string() + "_bpm", std::to_string(r->bpm));
    RecordProperty(path.stem().string() + "_confidence", std::to_string(r->confidence));
    EXPECT_GE(r->bpm, 60);
    EXPECT_LE(r->bpm, 200);
  }
}

// --- speed --------------------------------------------------------------------------------------

TEST(BeatTrackerSpeed, ReportsRealTimeFactorOnTenMinutes) {
  // 10 minutes at 44.1 kHz: the 30 s drum loop at 128 BPM (a whole number of bars) repeated.
  const double loop_s = 60.0 / 128 * 4 * 16;  // 16 bars = 30 s
  const Track loop = synthesise(Kind::kDrums, 128, 44100, loop_s, 0.0);
  std::vector<float> audio;
  audio.reserve(44100 * 600);
  while (audio.size() < 44100u * 600)
    audio.insert(audio.end(), loop.samples.begin(), loop.samples.end());
  audio.resize(44100u * 600);
  const auto start = std::chrono::steady_clock::now();
  const std::clock_t cpu_start = std::clock();
  auto r = analyse_beats(audio.data(), audio.size(), 44100);
  const double cpu = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(r.ok()) << r.error().message;
  const double rtf = elapsed / 600.0;
  std::printf(
      "[ figures  ] 10 min at 44.1 kHz analysed in %.2f s wall, %.2f s CPU: real-time factor "
      "%.4f wall (%.0fx real time), %.4f CPU; bpm %.2f, beats %zu\n",
      elapsed, cpu, rtf, 1.0 / rtf, cpu / 600.0, r->bpm, r->beats_ms.size());
  RecordProperty("real_time_factor", std::to_string(rtf));
  RecordProperty("real_time_factor_cpu", std::to_string(cpu / 600.0));
  EXPECT_NEAR(r->bpm, 128, 2.56);
}

}  // namespace
}  // namespace atomcut

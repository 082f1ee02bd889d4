// Tests of the EBU R128 loudness meter (engines/audio/loudness.h): the calibration signals of EBU
// Tech 3341/3342 synthesised here (exact expected values), its agreement with libebur128's own
// integrated loudness, and its agreement with ffmpeg's ebur128 filter (the reference: integrated
// loudness, loudness range and true peak within 0.1 LU / dB) on real recordings (Debian's
// asterisk speech prompts and music on hold) turned into mono WAV, stereo MP3 and stereo FLAC.
// The measured differences are printed on "[ figures  ]" lines.
#include "engines/audio/loudness.h"

#include "engines/audio/audio_decoder.h"
#include "support/subprocess.h"

#include <ebur128.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace atomcut {
namespace {

namespace fs = std::filesystem;
using atomcut::testing::run_command;

constexpr double kPi = 3.14159265358979323846;
const char* const kSoundsDir = "/usr/share/asterisk/sounds/en_US_f_Allison";
const char* const kMusicDir = "/usr/share/asterisk/moh";

// Interleaved `channels` copies of a sine of `amplitude_dbfs` peak.
std::vector<float> sine(double freq_hz, double amplitude_dbfs, double seconds, int rate,
                        int channels) {
  const double amplitude = std::pow(10.0, amplitude_dbfs / 20);
  const auto frames = static_cast<size_t>(seconds * rate);
  std::vector<float> out(frames * channels);
  for (size_t i = 0; i < frames; ++i) {
    const auto v = static_cast<float>(amplitude * std::sin(2 * kPi * freq_hz * i / rate));
    for (int c = 0; c < channels; ++c) out[i * channels + c] = v;
  }
  return out;
}

void append(std::vector<float>& to, const std::vector<float>& more) {
  to.insert(to.end(), more.begin(), more.end());
}

// --- calibration (EBU Tech 3341 / 3342) ---------------------------------------------------------

TEST(LoudnessMeter, StereoSineAtMinus23DbfsIsMinus23Lufs) {
  // Tech 3341 case 1: 1 kHz, -23 dBFS in both channels of a stereo signal -> -23.0 LUFS.
  for (int rate : {48000, 44100, 22050, 8000}) {
    const auto pcm = sine(1000, -23, 20, rate, 2);
    auto r = measure_loudness(pcm.data(), pcm.size() / 2, rate, 2);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_TRUE(r->integrated_lufs.has_value()) << rate;
    EXPECT_NEAR(*r->integrated_lufs, -23.0, 0.1) << rate;
    EXPECT_NEAR(r->loudness_range_lu, 0, 0.1) << rate;
    EXPECT_NEAR(r->sample_peak_dbfs, -23.0, 0.05) << rate;
    EXPECT_NEAR(r->true_peak_dbtp, -23.0, 0.2) << rate;
    EXPECT_EQ(r->duration_ms, 20000) << rate;
  }
}

TEST(LoudnessMeter, MonoSineIsThreeDbBelowStereo) {
  const auto pcm = sine(1000, -20, 10, 48000, 1);
  auto r = measure_loudness(pcm.data(), pcm.size(), 48000, 1);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->integrated_lufs.has_value());
  EXPECT_NEAR(*r->integrated_lufs, -23.01, 0.1);
}

TEST(LoudnessMeter, LoudnessRangeOfTwoLevelsIsTheirDifference) {
  // Tech 3342 cases 1 and 2: 20 s at -20 dBFS then 20 s at -30 (-> 10 LU), and -20 / -15 (5 LU).
  for (const auto& [second_level, expected_lra] :
       std::vector<std::pair<double, double>>{{-30, 10}, {-15, 5}}) {
    auto pcm = sine(1000, -20, 20, 48000, 2);
    append(pcm, sine(1000, second_level, 20, 48000, 2));
    auto r = measure_loudness(pcm.data(), pcm.size() / 2, 48000, 2);
    ASSERT_TRUE(r.ok());
    EXPECT_NEAR(r->loudness_range_lu, expected_lra, 0.1) << second_level;
    ASSERT_TRUE(r->lra_low_lufs && r->lra_high_lufs);
    EXPECT_NEAR(*r->lra_high_lufs - *r->lra_low_lufs, r->loudness_range_lu, 1e-9);
  }
}

TEST(LoudnessMeter, RelativeGateDropsQuietPassages) {
  // Tech 3341 case 3: -36 / -23 / -36 dBFS for 10 / 60 / 10 s -> -23.0 LUFS (the quiet passages
  // fall below the relative gate), where the ungated mean would be louder than -23 - 1 LU.
  auto pcm = sine(1000, -36, 10, 48000, 2);
  append(pcm, sine(1000, -23, 60, 48000, 2));
  append(pcm, sine(1000, -36, 10, 48000, 2));
  auto r = measure_loudness(pcm.data(), pcm.size() / 2, 48000, 2);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->integrated_lufs.has_value());
  EXPECT_NEAR(*r->integrated_lufs, -23.0, 0.1);
  // The relative gate: 10 LU below the mean energy of all blocks above -70 LUFS (60 s at -23 and
  // 20 s at -36): -23 + 10 * log10((60 + 20 * 10^-1.3) / 80) - 10 = -34.18.
  ASSERT_TRUE(r->relative_threshold_lufs.has_value());
  EXPECT_NEAR(*r->relative_threshold_lufs, -34.18, 0.1);
}

TEST(LoudnessMeter, SilenceAndShortInputHaveNoIntegratedLoudness) {
  std::vector<float> zeros(48000 * 5 * 2, 0.0f);
  auto r = measure_loudness(zeros.data(), zeros.size() / 2, 48000, 2);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->integrated_lufs.has_value());
  EXPECT_EQ(r->loudness_range_lu, 0);
  EXPECT_EQ(r->true_peak_dbtp, -200);
  EXPECT_EQ(r->sample_peak_dbfs, -200);

  // 300 ms of a loud tone: no 400 ms block.
  const auto tone = sine(1000, -10, 0.3, 48000, 1);
  auto s = measure_loudness(tone.data(), tone.size(), 48000, 1);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->integrated_lufs.has_value());
  EXPECT_NEAR(s->sample_peak_dbfs, -10, 0.05);

  // Quieter than the absolute gate (-70 LUFS): gated out, but the peak is reported.
  const auto faint = sine(1000, -75, 5, 48000, 1);
  auto f = measure_loudness(faint.data(), faint.size(), 48000, 1);
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->integrated_lufs.has_value());
  EXPECT_NEAR(f->sample_peak_dbfs, -75, 0.05);

  auto e = measure_loudness(nullptr, 0, 48000, 2);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->duration_ms, 0);
  EXPECT_FALSE(e->integrated_lufs.has_value());
}

TEST(LoudnessMeter, RangesAreMeasuredAsIfCutOut) {
  // Three passages at different levels; each range's loudness is that of its level, and equal to
  // measuring the cut-out samples alone.
  auto pcm = sine(1000, -20, 4, 48000, 2);
  append(pcm, sine(1000, -40, 4, 48000, 2));
  append(pcm, sine(1000, -10, 4, 48000, 2));
  ASSERT_TRUE(LoudnessMeter::create(48000, 2).ok());
  auto meter = std::move(LoudnessMeter::create(48000, 2).value());
  ASSERT_TRUE(meter->add(pcm.data(), pcm.size() / 2).ok());
  EXPECT_EQ(meter->frames_added(), 48000 * 12);
  const double levels[3] = {-20, -40, -10};
  for (int k = 0; k < 3; ++k) {
    auto lufs = meter->integrated_lufs(k * 4000, (k + 1) * 4000);
    ASSERT_TRUE(lufs.has_value());
    auto alone = measure_loudness(pcm.data() + k * 4 * 48000 * 2, 4 * 48000, 48000, 2);
    ASSERT_TRUE(alone.ok() && alone->integrated_lufs);
    EXPECT_NEAR(*lufs, *alone->integrated_lufs, 0.05) << k;
    // A 1 kHz tone at L dBFS peak in two channels: L LUFS.
    EXPECT_NEAR(*lufs, levels[k], 0.1) << k;
  }
  // The whole input through the range API equals the summary.
  EXPECT_DOUBLE_EQ(*meter->integrated_lufs(0, 12000), *meter->summary().integrated_lufs);
  // A range shorter than a block is one block (its mean square): the level of its passage.
  auto short_range = meter->integrated_lufs(9000, 9200);
  ASSERT_TRUE(short_range.has_value());
  EXPECT_NEAR(*short_range, -10, 0.1);
  auto mean = meter->mean_lufs(9000, 9200);
  ASSERT_TRUE(mean.has_value());
  EXPECT_NEAR(*mean, *short_range, 1e-9);
  // Empty, reversed and out-of-range ranges.
  EXPECT_FALSE(meter->integrated_lufs(5000, 5000).has_value());
  EXPECT_FALSE(meter->integrated_lufs(6000, 5000).has_value());
  EXPECT_FALSE(meter->integrated_lufs(13000, 20000).has_value());
  EXPECT_FALSE(meter->mean_lufs(13000, 20000).has_value());
  // Clamped to what was added.
  EXPECT_DOUBLE_EQ(*meter->integrated_lufs(8000, 50000), *meter->integrated_lufs(8000, 12000));
}

TEST(LoudnessMeter, AgreesWithLibebur128sOwnIntegratedLoudness) {
  // Noise with a level that changes every half second: many blocks on both sides of the gates.
  std::mt19937 rng(7);
  std::normal_distribution<float> gauss(0, 1);
  const int rate = 44100;
  std::vector<float> pcm;
  for (int k = 0; k < 60; ++k) {
    const float gain = std::pow(10.0f, static_cast<float>(-10 - (k * 7) % 45) / 20);
    for (int i = 0; i < rate / 2; ++i) {
      pcm.push_back(gain * 0.2f * gauss(rng));
      pcm.push_back(gain * 0.1f * gauss(rng));
    }
  }
  auto r = measure_loudness(pcm.data(), pcm.size() / 2, rate, 2);
  ASSERT_TRUE(r.ok() && r->integrated_lufs);

  ebur128_state* st = ebur128_init(2, rate, EBUR128_MODE_I);
  ASSERT_NE(st, nullptr);
  ebur128_add_frames_float(st, pcm.data(), pcm.size() / 2);
  double reference = 0;
  ASSERT_EQ(ebur128_loudness_global(st, &reference), EBUR128_SUCCESS);
  ebur128_destroy(&st);
  std::printf("[ figures  ] gated noise: meter %.4f LUFS, libebur128 %.4f LUFS\n",
              *r->integrated_lufs, reference);
  EXPECT_NEAR(*r->integrated_lufs, reference, 0.01);
}

TEST(LoudnessMeter, StreamingInAnyChunksGivesTheSameResult) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> noise(-0.3f, 0.3f);
  std::vector<float> pcm(44100 * 9 * 2);
  for (size_t i = 0; i < pcm.size(); ++i) {
    pcm[i] = noise(rng) * static_cast<float>(1 + std::sin(i * 1e-5));
  }
  auto one = measure_loudness(pcm.data(), pcm.size() / 2, 44100, 2);
  ASSERT_TRUE(one.ok());
  auto meter = std::move(LoudnessMeter::create(44100, 2).value());
  size_t done = 0, step = 1;
  while (done < pcm.size() / 2) {
    const size_t n = std::min(step, pcm.size() / 2 - done);
    ASSERT_TRUE(meter->add(pcm.data() + done * 2, n).ok());
    done += n;
    step = step * 7 % 1999 + 1;
  }
  const auto s = meter->summary();
  ASSERT_TRUE(s.integrated_lufs && one->integrated_lufs);
  EXPECT_DOUBLE_EQ(*s.integrated_lufs, *one->integrated_lufs);
  EXPECT_DOUBLE_EQ(s.loudness_range_lu, one->loudness_range_lu);
  EXPECT_DOUBLE_EQ(s.true_peak_dbtp, one->true_peak_dbtp);
}

TEST(LoudnessMeter, WithoutTruePeakTheTruePeakIsTheSamplePeak) {
  // A quarter of the rate with a 45 degree phase: every sample is at +-0.707 of the crest, so the
  // sample peak is 3 dB below the true peak.
  std::vector<float> pcm(44100);
  for (size_t i = 0; i < pcm.size(); ++i) {
    pcm[i] = static_cast<float>(0.5 * std::sin(kPi * i / 2 + kPi / 4));
  }
  auto r = measure_loudness(pcm.data(), pcm.size(), 44100, 1, /*true_peak=*/false);
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->true_peak_dbtp, r->sample_peak_dbfs);
  auto t = measure_loudness(pcm.data(), pcm.size(), 44100, 1, /*true_peak=*/true);
  ASSERT_TRUE(t.ok());
  EXPECT_NEAR(r->sample_peak_dbfs, -9.03, 0.05);
  EXPECT_GT(t->true_peak_dbtp, t->sample_peak_dbfs + 1);  // the oversampling finds the crest
  EXPECT_NEAR(t->true_peak_dbtp, -6.02, 0.5);
}

TEST(LoudnessMeter, RejectsInvalidArguments) {
  for (int rate : {0, 7999, 384001, -48000}) {
    auto r = LoudnessMeter::create(rate, 2);
    ASSERT_FALSE(r.ok()) << rate;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.error().details["field"], "sample_rate");
  }
  for (int channels : {0, 9, -1}) {
    auto r = LoudnessMeter::create(48000, channels);
    ASSERT_FALSE(r.ok()) << channels;
    EXPECT_EQ(r.error().details["field"], "channels");
  }
  auto meter = std::move(LoudnessMeter::create(48000, 1).value());
  auto st = meter->add(nullptr, 10);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  std::vector<float> bad(4800, 0.1f);
  bad[100] = std::nanf("");
  st = meter->add(bad.data(), bad.size());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().details["index"], 100);
  EXPECT_EQ(meter->frames_added(), 0);  // nothing of the bad call was added
  EXPECT_TRUE(meter->add(nullptr, 0).ok());
  EXPECT_NE(loudness_backend_version().find("libebur128 1."), std::string::npos);
}

// --- agreement with ffmpeg's ebur128 filter -----------------------------------------------------

struct FfmpegLoudness {
  double integrated_lufs = 0;
  double lra_lu = 0;
  double true_peak_dbtp = 0;    // from the Summary (0.1 dB resolution)
  double true_peak_linear = 0;  // from the last frame's metadata (0.001 resolution)
};

// Runs `ffmpeg -i path -af aresample=RATE,ebur128=peak=true:metadata=1,ametadata=print -f null -`
// and reads the last frame's metadata (integrated loudness and LRA to 0.001 LU; the Summary rounds
// to 0.1). FFmpeg 5.1's ebur128 measures at the rate it is given (it no longer resamples to
// 48 kHz), so the rate is made explicit: the one the meter is given.
std::optional<FfmpegLoudness> ffmpeg_loudness(const std::string& path, int rate,
                                              const fs::path& dir) {
  const std::string meta =
      (dir / (fs::path(path).filename().string() + "." + std::to_string(rate) + ".meta")).string();
  auto r = run_command({"ffmpeg", "-nostdin", "-nostats", "-hide_banner", "-i", path, "-af",
                        "aresample=" + std::to_string(rate) +
                            ",ebur128=peak=true:metadata=1,ametadata=mode=print:file=" + meta,
                        "-f", "null", "-"});
  if (r.exit_code != 0) {
    ADD_FAILURE() << "ffmpeg failed: " << r.err;
    return std::nullopt;
  }
  std::map<std::string, double> last;
  std::ifstream in(meta);
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (line.rfind("lavfi.r128.", 0) == 0 && eq != std::string::npos) {
      last[line.substr(11, eq - 11)] = std::atof(line.c_str() + eq + 1);
    }
  }
  FfmpegLoudness out;
  if (!last.count("I") || !last.count("LRA") || !last.count("true_peak")) {
    ADD_FAILURE() << "no loudness metadata from ffmpeg for " << path;
    return std::nullopt;
  }
  out.integrated_lufs = last["I"];
  out.lra_lu = last["LRA"];
  out.true_peak_linear = last["true_peak"];
  const auto pos = r.err.find("Peak:", r.err.find("True peak:"));
  if (pos == std::string::npos) {
    ADD_FAILURE() << "no true peak in ffmpeg's summary: " << r.err;
    return std::nullopt;
  }
  out.true_peak_dbtp = std::atof(r.err.c_str() + pos + 5);
  return out;
}

class LoudnessVsFfmpeg : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/atomcut_loudness_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  static fs::path dir_;
};
fs::path LoudnessVsFfmpeg::dir_;

bool have_real_media() {
  return fs::exists(fs::path(kSoundsDir) / "auth-thankyou.wav") &&
         fs::exists(fs::path(kMusicDir) / "macroform-cold_day.wav");
}

TEST_F(LoudnessVsFfmpeg, RealSpeechAndMusicWithinATenthOfALu) {
  if (!have_real_media()) GTEST_SKIP() << "asterisk-core-sounds-en-wav / asterisk-moh-opsound-wav";
  const std::string sounds = kSoundsDir, music = kMusicDir;
  struct Case {
    std::string name;
    std::vector<std::string> ffmpeg_args;  // inputs and filters; the output is appended
    int channels;
    std::vector<int> rates;  // measured at each (decoded at that rate; ffmpeg resampled to it)
  };
  const std::vector<Case> cases = {
      // Eight prompts joined: real speech with its pauses, 8 kHz mono WAV.
      {"speech.wav",
       {"-i",
        sounds + "/auth-thankyou.wav",
        "-i",
        sounds + "/vm-intro.wav",
        "-i",
        sounds + "/conf-onlyperson.wav",
        "-i",
        sounds + "/pbx-invalid.wav",
        "-i",
        sounds + "/vm-password.wav",
        "-i",
        sounds + "/queue-thereare.wav",
        "-i",
        sounds + "/agent-pass.wav",
        "-i",
        sounds + "/privacy-unident.wav",
        "-filter_complex",
        "concat=n=8:v=0:a=1",
        "-c:a",
        "pcm_s16le"},
       1,
       {48000, 8000}},
      // Music, stereo with different channels (right at -6 dB), 48 kHz MP3.
      {"music.mp3",
       {"-ss", "30", "-t", "40", "-i", music + "/macroform-cold_day.wav", "-af",
        "aresample=48000,pan=stereo|c0=c0|c1=0.5*c0", "-c:a", "libmp3lame", "-b:a", "192k"},
       2,
       {48000}},
      // Music with a 12 dB drop halfway (a wide loudness range), 44.1 kHz stereo FLAC.
      {"music.flac",
       {"-ss", "10", "-t", "50", "-i", music + "/reno_project-system.wav", "-af",
        "aresample=44100,volume='if(lt(t,25),1,0.25)':eval=frame,pan=stereo|c0=c0|c1=c0", "-c:a",
        "flac"},
       2,
       {48000, 44100}},
      // Speech over quiet music, 48 kHz mono WAV.
      {"mixed.wav",
       {"-i", sounds + "/vm-intro.wav", "-ss", "5", "-t", "12", "-i",
        music + "/manolo_camp-morning_coffee.wav", "-filter_complex",
        "[1:a]volume=0.2[m];[0:a][m]amix=inputs=2:duration=longest,aresample=48000", "-c:a",
        "pcm_s16le"},
       1,
       {48000}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = (dir_ / c.name).string();
    std::vector<std::string> argv = {"ffmpeg", "-nostdin", "-v", "error", "-y"};
    argv.insert(argv.end(), c.ffmpeg_args.begin(), c.ffmpeg_args.end());
    argv.push_back(path);
    auto made = run_command(argv);
    ASSERT_EQ(made.exit_code, 0) << made.err;

    for (int rate : c.rates) {
      SCOPED_TRACE(rate);
      auto decoded = decode_audio(path, PcmFormat{rate, c.channels});
      ASSERT_TRUE(decoded.ok()) << decoded.error().message;
      auto mine = measure_loudness(decoded->samples.data(), decoded->frames(), rate, c.channels);
      ASSERT_TRUE(mine.ok());
      auto ref = ffmpeg_loudness(path, rate, dir_);
      ASSERT_TRUE(ref.has_value());
      ASSERT_TRUE(mine->integrated_lufs.has_value());
      const double ref_tp_db = 20 * std::log10(ref->true_peak_linear);
      std::printf(
          "[ figures  ] %-10s at %5d Hz, %4.1f s: I %.3f vs ffmpeg %.3f LUFS (%+.3f), LRA %.3f vs "
          "%.3f LU (%+.3f), TP %.3f vs %.3f dBTP (%+.3f; summary %.1f)\n",
          c.name.c_str(), rate, decoded->frames() / static_cast<double>(rate),
          *mine->integrated_lufs, ref->integrated_lufs,
          *mine->integrated_lufs - ref->integrated_lufs, mine->loudness_range_lu, ref->lra_lu,
          mine->loudness_range_lu - ref->lra_lu, mine->true_peak_dbtp, ref_tp_db,
          mine->true_peak_dbtp - ref_tp_db, ref->true_peak_dbtp);
      EXPECT_NEAR(*mine->integrated_lufs, ref->integrated_lufs, 0.1);
      EXPECT_NEAR(mine->loudness_range_lu, ref->lra_lu, 0.1);
      // The metadata's linear peak has 3 decimals: add its rounding (0.0005) to the tolerance.
      const double tp_rounding_db = 20 * std::log10(1 + 0.0005 / ref->true_peak_linear);
      EXPECT_NEAR(mine->true_peak_dbtp, ref_tp_db, 0.1 + tp_rounding_db);
      EXPECT_NEAR(mine->true_peak_dbtp, ref->true_peak_dbtp, 0.15);  // the summary's 0.1 dB
    }
  }
}

}  // namespace
}  // namespace atomcut

// The media checks read back what ffmpeg was told to make: colours at times, frame and sample
// counts, tone pitch and level, and loudness (against ffmpeg's own ebur128 filter).
#include "support/media_checks.h"

#include "support/subprocess.h"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

namespace atomcut {
namespace {

namespace fs = std::filesystem;
using testing::count_streams;
using testing::dominant_frequency_hz;
using testing::frame_rgb24;
using testing::kNoRgb;
using testing::mean_abs_diff;
using testing::mean_rgb;
using testing::measure_loudness;
using testing::Rgb;
using testing::rgb_near;
using testing::rms_dbfs;
using testing::run_command;
using testing::sample_rgb;

const Rgb kRed{255, 0, 0};
const Rgb kBlue{0, 0, 255};
constexpr double kAacFrameS = 1024.0 / 48000;

class MediaChecksTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string tmpl = (fs::temp_directory_path() / "atomcut-media-checks-test-XXXXXX").string();
    if (mkdtemp(tmpl.data())) dir_ = tmpl;
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    if (!dir_.empty() && !std::getenv("ATOMCUT_KEEP_TEST_DATA")) fs::remove_all(dir_, ec);
  }

  // Runs `ffmpeg -nostdin -v error -y ARGS DIR/NAME` once per process; "" (and a failure) if it
  // fails.
  static std::string make(const std::string& name, const std::vector<std::string>& args) {
    const std::string out = dir_ + "/" + name;
    if (fs::exists(out)) return out;
    std::vector<std::string> argv = {"ffmpeg", "-nostdin", "-v", "error", "-y"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(out);
    auto r = run_command(argv);
    if (r.exit_code != 0) {
      ADD_FAILURE() << "making " << name << " failed: " << r.err;
      std::error_code ec;
      fs::remove(out, ec);
      return "";
    }
    return out;
  }

  // 2 s, 160x120 at 25 fps, H.264 + mono AAC 48 kHz: red with a 440 Hz tone for 1 s, then blue
  // with 880 Hz for 1 s.
  static std::string red_then_blue() {
    std::vector<std::string> args;
    for (const char* spec : {"color=c=red:s=160x120:r=25:d=1", "color=c=blue:s=160x120:r=25:d=1",
                             "sine=frequency=440:sample_rate=48000:duration=1",
                             "sine=frequency=880:sample_rate=48000:duration=1"}) {
      args.insert(args.end(), {"-f", "lavfi", "-i", spec});
    }
    args.insert(args.end(), {"-filter_complex", "[0:v][2:a][1:v][3:a]concat=n=2:v=1:a=1[v][a]"});
    args.insert(args.end(), {"-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                             "-c:a", "aac"});
    return make("red_then_blue.mp4", args);
  }

  // Stereo float WAV at 48 kHz: `left` and `right` are aevalsrc expressions of t.
  static std::string stereo_wav(const std::string& name, const std::string& left,
                                const std::string& right, double seconds) {
    return make(name, {"-f", "lavfi", "-i",
                       "aevalsrc=" + left + "|" + right + ":s=48000:d=" + std::to_string(seconds),
                       "-c:a", "pcm_f32le"});
  }

  static inline std::string dir_;
};

TEST_F(MediaChecksTest, CountsFramesAndSamplesOfAnH264AacFile) {
  const std::string path = red_then_blue();
  ASSERT_FALSE(path.empty());
  const auto c = count_streams(path);
  EXPECT_EQ(c.video_frames, 25 * 2);
  ASSERT_EQ(c.video_frame_times_s.size(), 50u);
  for (size_t i = 0; i < 50; ++i) EXPECT_NEAR(c.video_frame_times_s[i], i * 0.04, 1e-6) << i;
  EXPECT_NEAR(c.video_start_s, 0.0, 1e-6);
  EXPECT_NEAR(c.video_duration_s, 2.0, 1e-6);
  EXPECT_EQ(c.width, 160);
  EXPECT_EQ(c.height, 120);
  EXPECT_EQ(c.video_codec, "h264");
  EXPECT_EQ(c.pix_fmt, "yuv420p");
  EXPECT_EQ(c.fps_rational, "25/1");

  EXPECT_EQ(c.audio_codec, "aac");
  EXPECT_EQ(c.audio_sample_rate, 48000);
  EXPECT_EQ(c.audio_channels, 1);
  // Priming trimmed, end padding not: at most one AAC frame over.
  EXPECT_GE(c.audio_samples, 96000);
  EXPECT_LT(c.audio_samples, 96000 + 1024);
  EXPECT_NEAR(c.audio_duration_s, 2.0, kAacFrameS);
  EXPECT_NEAR(c.audio_start_s, 0.0, 1e-6);
  // The container declares the exact length: priming (pts < 0) left out, last packet shortened.
  EXPECT_NEAR(c.audio_packet_duration_s, 2.0, 1e-9);
}

TEST_F(MediaChecksTest, CountsPcmSamplesExactlyAndAudioOnlyFilesHaveNoVideo) {
  const std::string path = make(
      "tone_44k.wav", {"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=1.5",
                       "-c:a", "pcm_s16le"});
  ASSERT_FALSE(path.empty());
  const auto c = count_streams(path);
  EXPECT_EQ(c.audio_samples, 66150);
  EXPECT_DOUBLE_EQ(c.audio_duration_s, 1.5);
  EXPECT_EQ(c.audio_sample_rate, 44100);
  EXPECT_EQ(c.audio_codec, "pcm_s16le");
  EXPECT_NEAR(c.audio_packet_duration_s, 1.5, 1e-9);
  EXPECT_EQ(c.video_frames, -1);
  EXPECT_EQ(c.video_duration_s, -1);
  EXPECT_EQ(c.width, 0);
}

TEST_F(MediaChecksTest, SamplesTheColourShownAtATime) {
  const std::string path = red_then_blue();
  ASSERT_FALSE(path.empty());
  EXPECT_TRUE(rgb_near(sample_rgb(path, 0.0, 80, 60), kRed));
  EXPECT_TRUE(rgb_near(sample_rgb(path, 0.5, 80, 60), kRed));
  EXPECT_TRUE(rgb_near(sample_rgb(path, 1.5, 80, 60), kBlue));
  EXPECT_TRUE(rgb_near(sample_rgb(path, 1.96, 0, 0, 4), kBlue));  // a corner, box clipped
  // The frame shown at t is the last one starting at or before t, as a player shows it: the
  // last red frame (0.96 s) is still up at 0.999 s, and blue starts exactly at 1.0 s.
  EXPECT_TRUE(rgb_near(sample_rgb(path, 0.98, 80, 60), kRed));
  EXPECT_TRUE(rgb_near(sample_rgb(path, 0.999, 80, 60), kRed));
  EXPECT_TRUE(rgb_near(sample_rgb(path, 1.0, 80, 60), kBlue));
  EXPECT_TRUE(rgb_near(sample_rgb(path, 1.02, 80, 60), kBlue));
}

TEST_F(MediaChecksTest, ComparesWholeFrames) {
  const std::string path = red_then_blue();
  ASSERT_FALSE(path.empty());
  int w = 0, h = 0;
  const auto red1 = frame_rgb24(path, 0.2, &w, &h);
  EXPECT_EQ(w, 160);
  EXPECT_EQ(h, 120);
  ASSERT_EQ(red1.size(), 160u * 120 * 3);
  const auto red2 = frame_rgb24(path, 0.7, nullptr, nullptr);
  const auto blue = frame_rgb24(path, 1.7, nullptr, nullptr);
  EXPECT_LT(mean_abs_diff(red1, red2), 2.0);
  EXPECT_GT(mean_abs_diff(red1, blue), 100.0);  // |255-0| twice in three channels ~ 170
  EXPECT_TRUE(rgb_near(mean_rgb(blue, w, h, 159, 119, 8), kBlue));
}

TEST_F(MediaChecksTest, FailsOutsideTheVideo) {
  const std::string path = red_then_blue();
  ASSERT_FALSE(path.empty());
  int w = -1, h = -1;
  std::vector<uint8_t> rgb;
  EXPECT_NONFATAL_FAILURE(rgb = frame_rgb24(path, 2.0, &w, &h), "past the end of the video");
  EXPECT_TRUE(rgb.empty());
  EXPECT_EQ(w, 0);
  EXPECT_EQ(h, 0);
  Rgb c;
  EXPECT_NONFATAL_FAILURE(c = sample_rgb(path, 5.0, 80, 60), "past the end of the video");
  EXPECT_EQ(c, kNoRgb);
  EXPECT_NONFATAL_FAILURE(c = sample_rgb(path, 0.5, 500, 60), "is not inside the 160x120 frame");
  EXPECT_EQ(c, kNoRgb);
}

TEST_F(MediaChecksTest, FindsTheToneAtATime) {
  const std::string path = red_then_blue();
  ASSERT_FALSE(path.empty());
  EXPECT_NEAR(dominant_frequency_hz(path, 0.3), 440.0, 4.4);
  EXPECT_NEAR(dominant_frequency_hz(path, 1.4), 880.0, 8.8);
  EXPECT_NEAR(dominant_frequency_hz(path, 0.75, 0.2, 0), 440.0, 4.4);
  // lavfi's sine is 1/8 of full scale: -18.06 dBFS peak, -21.07 dBFS RMS (AAC-coded here).
  EXPECT_NEAR(rms_dbfs(path, 0.3, 0.2), -21.07, 0.2);
}

TEST_F(MediaChecksTest, FrequencyIsPreciseOnPcmAndPicksChannels) {
  const std::string path =
      stereo_wav("l440_r1000.wav", "0.5*sin(2*PI*440*t)", "0.25*sin(2*PI*1234.5*t)", 1.0);
  ASSERT_FALSE(path.empty());
  EXPECT_NEAR(dominant_frequency_hz(path, 0.2, 0.2, 0), 440.0, 0.1);
  EXPECT_NEAR(dominant_frequency_hz(path, 0.2, 0.2, 1), 1234.5, 0.1);
  EXPECT_NEAR(dominant_frequency_hz(path, 0.2, 0.2), 440.0, 0.1);  // the louder one in the mix
  EXPECT_NEAR(rms_dbfs(path, 0.2, 0.5, 0), 20 * std::log10(0.5 / std::sqrt(2.0)), 0.01);
  EXPECT_NEAR(rms_dbfs(path, 0.2, 0.5, 1), 20 * std::log10(0.25 / std::sqrt(2.0)), 0.01);
  double f = 0;
  EXPECT_NONFATAL_FAILURE(f = dominant_frequency_hz(path, 0.2, 0.2, 2), "channel 2 does not exist");
  EXPECT_TRUE(std::isnan(f));
  EXPECT_NONFATAL_FAILURE(f = rms_dbfs(path, 3.0, 0.2), "no audio in");
  EXPECT_TRUE(std::isnan(f));
}

TEST_F(MediaChecksTest, SilenceHasNoFrequency) {
  const std::string path =
      make("tone_then_silence.wav", {"-f", "lavfi", "-i", "sine=frequency=440:duration=0.5", "-af",
                                     "apad=whole_dur=1.5", "-c:a", "pcm_s16le"});
  ASSERT_FALSE(path.empty());
  EXPECT_NEAR(dominant_frequency_hz(path, 0.1), 440.0, 0.5);
  EXPECT_EQ(dominant_frequency_hz(path, 1.0), 0.0);
  EXPECT_LT(rms_dbfs(path, 1.0, 0.3), -100);
  // Very quiet (-70 dBFS peak) counts as silence too.
  const std::string quiet =
      stereo_wav("quiet.wav", "0.000316*sin(2*PI*440*t)", "0.000316*sin(2*PI*440*t)", 0.5);
  ASSERT_FALSE(quiet.empty());
  EXPECT_EQ(dominant_frequency_hz(quiet, 0.1), 0.0);
}

// Integrated loudness and true peak as ffmpeg's ebur128 filter prints them in its summary.
struct FfmpegLoudness {
  double integrated_lufs = NAN;
  double true_peak_dbfs = NAN;
};

FfmpegLoudness ffmpeg_loudness(const std::string& path) {
  auto r = run_command({"ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-v", "info", "-i", path,
                        "-map", "0:a:0", "-af", "ebur128=peak=true:framelog=verbose", "-f", "null",
                        "-"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  FfmpegLoudness l;
  std::smatch m;
  const auto summary = r.err.substr(std::min(r.err.size(), r.err.rfind("Summary:")));
  if (std::regex_search(summary, m, std::regex(R"(I:\s+(-?[0-9.]+) LUFS)"))) {
    l.integrated_lufs = std::stod(m[1]);
  }
  if (std::regex_search(summary, m, std::regex(R"(Peak:\s+(-?[0-9.]+) dBFS)"))) {
    l.true_peak_dbfs = std::stod(m[1]);
  }
  EXPECT_FALSE(std::isnan(l.integrated_lufs)) << "no ebur128 summary in:\n" << r.err;
  return l;
}

TEST_F(MediaChecksTest, LoudnessMatchesFfmpegEbur128) {
  // A 1 kHz sine at 0.1 (-20 dBFS peak) in both channels: about -20 LUFS.
  const std::string path =
      stereo_wav("minus20.wav", "0.1*sin(2*PI*1000*t)", "0.1*sin(2*PI*1000*t)", 3.0);
  ASSERT_FALSE(path.empty());
  const auto l = measure_loudness(path);
  const auto ref = ffmpeg_loudness(path);
  EXPECT_NEAR(l.integrated_lufs, ref.integrated_lufs, 0.2);
  EXPECT_NEAR(l.integrated_lufs, -20.0, 0.2);
  EXPECT_NEAR(l.true_peak_dbtp, ref.true_peak_dbfs, 0.5);
  EXPECT_NEAR(l.sample_peak_dbfs, -20.0, 0.01);  // 48 samples a period: the crest is a sample
  EXPECT_NEAR(l.lra, 0.0, 0.1);

  const std::string aac = red_then_blue();  // mono AAC tones at 1/8 full scale
  ASSERT_FALSE(aac.empty());
  const auto la = measure_loudness(aac);
  const auto ra = ffmpeg_loudness(aac);
  EXPECT_NEAR(la.integrated_lufs, ra.integrated_lufs, 0.2);
  EXPECT_NEAR(la.true_peak_dbtp, ra.true_peak_dbfs, 0.5);
}

TEST_F(MediaChecksTest, MissingFilesFailWithSentinels) {
  const std::string path = dir_ + "/does_not_exist.mp4";
  testing::StreamCounts c;
  EXPECT_NONFATAL_FAILURE(c = count_streams(path), "ffprobe cannot read");
  EXPECT_EQ(c.video_frames, -1);
  EXPECT_EQ(c.audio_samples, -1);
  Rgb rgb;
  EXPECT_NONFATAL_FAILURE(rgb = sample_rgb(path, 0.5, 1, 1), "No such file or directory");
  EXPECT_EQ(rgb, kNoRgb);
  double f = 0;
  EXPECT_NONFATAL_FAILURE(f = dominant_frequency_hz(path, 0.5), "No such file or directory");
  EXPECT_TRUE(std::isnan(f));
  testing::Loudness l;
  EXPECT_NONFATAL_FAILURE(l = measure_loudness(path), "No such file or directory");
  EXPECT_TRUE(std::isnan(l.integrated_lufs));
  EXPECT_TRUE(std::isnan(l.true_peak_dbtp));
}

TEST(MediaChecks, MeanAbsDiffAndMeanRgb) {
  EXPECT_DOUBLE_EQ(mean_abs_diff({0, 10, 255}, {10, 0, 255}), 20.0 / 3);
  double d = 0;
  EXPECT_NONFATAL_FAILURE(d = mean_abs_diff({1, 2}, {1}), "sizes 2 and 1");
  EXPECT_TRUE(std::isnan(d));
  // A 2x2 frame: black, white / red, blue. The whole-frame box averages them.
  const std::vector<uint8_t> f = {0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 0, 255};
  EXPECT_EQ(mean_rgb(f, 2, 2, 1, 1, 2), (Rgb{128, 64, 128}));
  EXPECT_EQ(mean_rgb(f, 2, 2, 0, 1, 1), (Rgb{255, 0, 0}));
  EXPECT_FALSE(rgb_near(Rgb{200, 0, 0}, kRed, 10));
  EXPECT_TRUE(rgb_near(Rgb{250, 5, 3}, kRed, 10));
}

}  // namespace
}  // namespace atomcut

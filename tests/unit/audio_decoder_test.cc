// The audio decoder on media made with the ffmpeg CLI (every common audio codec and container, the
// sound of videos, odd channel layouts, damaged files) and on real recorded speech: lengths, levels
// and pitch of what comes out, windows equal to the same range of a full decode, bounded memory on
// a long input, and clear errors.
#include "engines/audio/audio_decoder.h"

#include "support/media_fixtures.h"
#include "support/subprocess.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numbers>
#include <ostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace atomcut {
namespace {

namespace fs = std::filesystem;
using testing::fixture;
using testing::run_command;

// The largest difference a window may show against the same range of a full decode: the codec's
// state after a seek (AAC, MP2) differs in the last float bits.
constexpr float kWindowTolerance = 2e-3f;

class AudioDecoderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string tmpl = (fs::temp_directory_path() / "atomcut-audio-decoder-test-XXXXXX").string();
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

  static std::string write_file(const std::string& name, const std::string& bytes) {
    const std::string out = dir_ + "/" + name;
    std::ofstream f(out, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return out;
  }

  static std::string dir_;
};

std::string AudioDecoderTest::dir_;

std::vector<std::string> lavfi(const std::string& spec) { return {"-f", "lavfi", "-i", spec}; }

std::vector<std::string> join(std::vector<std::vector<std::string>> parts) {
  std::vector<std::string> out;
  for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// A rising tone (220 Hz + 120 Hz per second), so that a window off by any number of samples shows.
std::string chirp(int rate, int seconds) {
  return "aevalsrc=0.5*sin(2*PI*(220*t+60*t*t)):s=" + std::to_string(rate) +
         ":d=" + std::to_string(seconds);
}

std::string sine(int hz, int rate, const std::string& seconds) {
  return "sine=frequency=" + std::to_string(hz) + ":sample_rate=" + std::to_string(rate) +
         ":duration=" + seconds;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// One channel of interleaved samples.
std::vector<float> channel(const std::vector<float>& interleaved, int channels, int c) {
  std::vector<float> out;
  for (size_t i = c; i < interleaved.size(); i += channels) out.push_back(interleaved[i]);
  return out;
}

// The amplitude of the `hz` component of `x[from, to)` (Goertzel).
double tone_amplitude(const std::vector<float>& x, int rate, double hz, size_t from, size_t to) {
  to = std::min(to, x.size());
  if (from >= to) return 0;
  const double w = 2 * std::numbers::pi * hz / rate;
  const double coeff = 2 * std::cos(w);
  double s1 = 0, s2 = 0;
  for (size_t i = from; i < to; ++i) {
    const double s0 = x[i] + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const double power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return 2 * std::sqrt(std::max(power, 0.0)) / static_cast<double>(to - from);
}

// Frequency from upward zero crossings in x[from, to).
double zero_crossing_hz(const std::vector<float>& x, int rate, size_t from, size_t to) {
  to = std::min(to, x.size());
  std::vector<double> crossings;  // fractional sample positions
  for (size_t i = from + 1; i < to; ++i) {
    if (x[i - 1] < 0 && x[i] >= 0) {
      crossings.push_back(static_cast<double>(i - 1) + x[i - 1] / (x[i - 1] - x[i]));
    }
  }
  if (crossings.size() < 2) return 0;
  return (crossings.size() - 1) * rate / (crossings.back() - crossings.front());
}

double rms(const std::vector<float>& x) {
  double sum = 0;
  for (float v : x) sum += static_cast<double>(v) * v;
  return x.empty() ? 0 : std::sqrt(sum / static_cast<double>(x.size()));
}

float peak(const std::vector<float>& x) {
  float p = 0;
  for (float v : x) p = std::max(p, std::fabs(v));
  return p;
}

float max_diff(const std::vector<float>& a, size_t a_from, const std::vector<float>& b) {
  float d = 0;
  for (size_t i = 0; i < b.size() && a_from + i < a.size(); ++i) {
    d = std::max(d, std::fabs(a[a_from + i] - b[i]));
  }
  return d;
}

DecodedAudio decode_ok(const std::string& path, PcmFormat fmt = {}, AudioWindow window = {}) {
  auto r = decode_audio(path, fmt, window);
  EXPECT_TRUE(r.ok()) << path << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? std::move(r).value() : DecodedAudio{};
}

std::string reason_of(const Error& e) { return e.details.value("reason", ""); }

// Peak resident memory of this process (VmHWM), in bytes; -1 if unknown.
int64_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return -1;
}

// --- Formats
// --------------------------------------------------------------------------------------

struct FixtureCase {
  std::string name;
  std::string codec;
  int source_rate;
  int source_channels;
  double seconds;  // of the tone
  int hz;
  double amplitude;  // ffmpeg's sine source has 1/8; its mono-to-stereo upmix makes it 1/8 at -3 dB
};

void PrintTo(const FixtureCase& c, std::ostream* os) { *os << c.name; }

constexpr double kMono = 0.125;
constexpr double kUpmixed = 0.125 * std::numbers::sqrt2 / 2;

class FixtureFormats : public AudioDecoderTest,
                       public ::testing::WithParamInterface<FixtureCase> {};

// Every audio codec and container of the shared fixtures, and the sound of videos: the length, the
// source's description and the tone's pitch and level after downmix and resampling to 16 kHz mono.
TEST_P(FixtureFormats, DecodesToneAtRightLengthAndPitch) {
  const FixtureCase& c = GetParam();
  const std::string path = fixture(c.name);
  ASSERT_FALSE(path.empty());
  auto opened = AudioDecoder::open(path, {16000, 1});
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  AudioDecoder& dec = **opened;
  EXPECT_EQ(dec.codec_name(), c.codec);
  EXPECT_EQ(dec.source_sample_rate(), c.source_rate);
  EXPECT_EQ(dec.source_channels(), c.source_channels);
  EXPECT_NEAR(static_cast<double>(dec.source_duration_ms()), c.seconds * 1000, 80);

  DecodedAudio a = decode_ok(path);
  EXPECT_EQ(a.sample_rate, 16000);
  EXPECT_EQ(a.channels, 1);
  // Codecs add up to one frame of padding at the end (AAC: 1024 samples, 21 ms).
  EXPECT_NEAR(static_cast<double>(a.frames()), c.seconds * 16000, 0.05 * 16000) << c.name;
  const size_t from = 1600, to = a.frames() - 1600;  // away from the edges
  EXPECT_NEAR(zero_crossing_hz(a.samples, 16000, from, to), c.hz, 1.0);
  // Lossy codecs stay within a few percent.
  EXPECT_NEAR(tone_amplitude(a.samples, 16000, c.hz, from, to), c.amplitude, 0.01);
}

INSTANTIATE_TEST_SUITE_P(
    AudioDecoder, FixtureFormats,
    ::testing::Values(FixtureCase{"audio_sine.wav", "pcm_s16le", 44100, 1, 1.0, 440, kMono},
                      FixtureCase{"audio_stereo.mp3", "mp3", 48000, 2, 1.5, 440, kUpmixed},
                      FixtureCase{"audio.flac", "flac", 48000, 2, 1.0, 440, kUpmixed},
                      FixtureCase{"audio.ogg", "vorbis", 48000, 1, 1.0, 440, kMono},
                      FixtureCase{"audio.m4a", "aac", 48000, 1, 1.0, 440, kMono},
                      FixtureCase{"audio.aac", "aac", 48000, 1, 1.0, 440, kMono},
                      FixtureCase{"video_h264_aac.mp4", "aac", 48000, 2, 2.0, 1000, kUpmixed},
                      FixtureCase{"video_2997.mp4", "aac", 44100, 1, 2.0, 1000, kMono},
                      FixtureCase{"video.webm", "opus", 48000, 1, 1.0, 440, kMono},
                      FixtureCase{"video.avi", "mp3", 44100, 1, 1.0, 440, kMono}),
    [](const auto& info) {
      std::string s = info.param.name;
      for (char& ch : s) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
      return s;
    });

// --- Exact lengths
// --------------------------------------------------------------------------------

TEST_F(AudioDecoderTest, ExactLengthsOfOneSecondWav) {
  struct Case {
    int in_rate;
    const char* codec;
    int out_rate;
  };
  for (const Case& c : {Case{48000, "pcm_s16le", 16000}, Case{44100, "pcm_s16le", 16000},
                        Case{8000, "pcm_s16le", 16000}, Case{48000, "pcm_s24le", 48000},
                        Case{22050, "pcm_f32le", 44100}, Case{96000, "pcm_u8", 16000},
                        Case{48000, "pcm_s16le", 22050}, Case{11025, "pcm_s32le", 384000},
                        Case{48000, "pcm_s16le", 1000}}) {
    SCOPED_TRACE(std::to_string(c.in_rate) + " " + c.codec + " -> " + std::to_string(c.out_rate));
    const std::string path =
        make("one_second_" + std::to_string(c.in_rate) + "_" + c.codec + ".wav",
             join({lavfi(sine(440, c.in_rate, "1")), {"-c:a", c.codec}}));
    ASSERT_FALSE(path.empty());
    for (int channels : {1, 2}) {
      DecodedAudio a = decode_ok(path, {c.out_rate, channels});
      EXPECT_NEAR(static_cast<double>(a.frames()), c.out_rate, 1.0);
      EXPECT_EQ(a.samples.size(), a.frames() * channels);
    }
  }
}

// --- Channels
// -------------------------------------------------------------------------------------

TEST_F(AudioDecoderTest, StereoLeftOnlyToneIsHalfAsLoudInMono) {
  const std::string path = make("left_only.wav", join({lavfi("aevalsrc=0.5*sin(2*PI*1000*t)|0:"
                                                             "c=stereo:s=48000:d=1")}));
  ASSERT_FALSE(path.empty());
  DecodedAudio mono = decode_ok(path, {16000, 1});
  EXPECT_NEAR(tone_amplitude(mono.samples, 16000, 1000, 1000, 15000), 0.25, 0.005);

  DecodedAudio stereo = decode_ok(path, {16000, 2});
  ASSERT_EQ(stereo.channels, 2);
  EXPECT_NEAR(tone_amplitude(channel(stereo.samples, 2, 0), 16000, 1000, 1000, 15000), 0.5, 0.005);
  EXPECT_LT(peak(channel(stereo.samples, 2, 1)), 1e-4);
}

TEST_F(AudioDecoderTest, MonoIsCopiedToBothSidesOfStereo) {
  DecodedAudio a = decode_ok(fixture("audio_sine.wav"), {16000, 2});
  ASSERT_EQ(a.channels, 2);
  const auto left = channel(a.samples, 2, 0);
  EXPECT_EQ(left, channel(a.samples, 2, 1));
  EXPECT_NEAR(tone_amplitude(left, 16000, 440, 1000, 15000), 0.125, 0.005);
}

TEST_F(AudioDecoderTest, FivePointOneDownmixes) {
  // A 1 kHz tone in front-left only; a 50 Hz tone in LFE only; the same full-scale tone everywhere.
  const std::string fl = make("fl_only_51.wav", lavfi("aevalsrc=0.6*sin(2*PI*1000*t)|0|0|0|0|0:"
                                                      "c=5.1:s=48000:d=1"));
  const std::string lfe = make("lfe_only_51.wav", lavfi("aevalsrc=0|0|0|0.6*sin(2*PI*50*t)|0|0:"
                                                        "c=5.1:s=48000:d=1"));
  const std::string all = make("all_51.flac", join({lavfi("aevalsrc=0.99*sin(2*PI*1000*t):"
                                                          "c=5.1:s=48000:d=1"),
                                                    {"-c:a", "flac"}}));
  const std::string aac = make("fl_only_51.m4a", join({lavfi("aevalsrc=0.6*sin(2*PI*1000*t)|0|0|"
                                                             "0|0|0:c=5.1:s=48000:d=1"),
                                                       {"-c:a", "aac", "-b:a", "384k"}}));
  ASSERT_FALSE(fl.empty() || lfe.empty() || all.empty() || aac.empty());

  // Mono: the average of the five full-range channels.
  DecodedAudio mono = decode_ok(fl, {16000, 1});
  EXPECT_NEAR(tone_amplitude(mono.samples, 16000, 1000, 1000, 15000), 0.6 / 5, 0.003);
  DecodedAudio mono_aac = decode_ok(aac, {16000, 1});
  EXPECT_NEAR(tone_amplitude(mono_aac.samples, 16000, 1000, 1000, 15000), 0.6 / 5, 0.01);
  EXPECT_LT(peak(decode_ok(lfe, {16000, 1}).samples), 1e-4);  // LFE is left out

  // Stereo: front-left goes left only; nothing clips when every channel is at full scale.
  DecodedAudio stereo = decode_ok(fl, {16000, 2});
  const double left = tone_amplitude(channel(stereo.samples, 2, 0), 16000, 1000, 1000, 15000);
  EXPECT_GT(left, 0.2);
  EXPECT_LT(left, 0.6 + 1e-3);
  EXPECT_LT(peak(channel(stereo.samples, 2, 1)), 1e-4);
  DecodedAudio loud = decode_ok(all, {48000, 2});
  EXPECT_LE(peak(loud.samples), 1.0f);
  EXPECT_GT(peak(loud.samples), 0.9f);
  EXPECT_LE(peak(decode_ok(all, {48000, 1}).samples), 1.0f);
}

TEST_F(AudioDecoderTest, EightChannelsWithoutALayout) {
  // A 7.1 WAV whose WAVE_FORMAT_EXTENSIBLE channel mask is zeroed: libav reports 8 channels and no
  // layout.
  const std::string src = make("eight_71.wav", join({lavfi("aevalsrc=0.4*sin(2*PI*1000*t)|0|0|0|0|"
                                                           "0|0|0:c=7.1:s=16000:d=1"),
                                                     {"-c:a", "pcm_s16le", "-bitexact"}}));
  ASSERT_FALSE(src.empty());
  std::string bytes = read_bytes(src);
  ASSERT_GT(bytes.size(), 44u);
  ASSERT_EQ(bytes.substr(12, 4), "fmt ");
  ASSERT_EQ(static_cast<unsigned char>(bytes[20]), 0xFE);  // WAVE_FORMAT_EXTENSIBLE
  ASSERT_EQ(static_cast<unsigned char>(bytes[40]), 0x3F);  // the 7.1 mask, 0x63F
  bytes.replace(40, 4, std::string(4, '\0'));
  const std::string path = write_file("eight_unspec.wav", bytes);
  const nlohmann::json probed = testing::ffprobe_json(path)["streams"][0];
  EXPECT_EQ(probed.value("channels", 0), 8);
  EXPECT_EQ(probed.value("channel_layout", "unknown"), "unknown");

  DecodedAudio mono = decode_ok(path, {16000, 1});
  EXPECT_NEAR(static_cast<double>(mono.frames()), 16000, 1);
  EXPECT_GT(tone_amplitude(mono.samples, 16000, 1000, 1000, 15000), 0.04);
  DecodedAudio stereo = decode_ok(path, {16000, 2});
  EXPECT_EQ(stereo.frames(), mono.frames());
  EXPECT_GT(tone_amplitude(channel(stereo.samples, 2, 0), 16000, 1000, 1000, 15000), 0.1);
  EXPECT_LE(peak(stereo.samples), 0.4f + 1e-3f);
  // With its layout: the same.
  DecodedAudio stereo_71 = decode_ok(src, {16000, 2});
  EXPECT_LT(max_diff(stereo_71.samples, 0, stereo.samples), 1e-6);
}

// --- Resampling
// -----------------------------------------------------------------------------------

TEST_F(AudioDecoderTest, SineFrequencyIsKeptWhenResampling) {
  const std::string path = fixture("audio_sine.wav");  // 440 Hz at 44.1 kHz
  for (int rate : {16000, 8000, 22050, 48000, 96000}) {
    SCOPED_TRACE(rate);
    DecodedAudio a = decode_ok(path, {rate, 1});
    const size_t from = rate / 10, to = a.frames() - rate / 10;
    EXPECT_NEAR(zero_crossing_hz(a.samples, rate, from, to), 440.0, 0.5);
    EXPECT_NEAR(tone_amplitude(a.samples, rate, 440, from, to), 0.125, 0.003);
    EXPECT_LT(tone_amplitude(a.samples, rate, 660, from, to), 0.003);
  }
}

// --- Windows
// --------------------------------------------------------------------------------------

struct WindowCase {
  std::string file;
  std::vector<std::string> args;  // after the input
};

void PrintTo(const WindowCase& c, std::ostream* os) { *os << c.file; }

class Windows : public AudioDecoderTest, public ::testing::WithParamInterface<WindowCase> {
 protected:
  std::string source() {
    const WindowCase& c = GetParam();
    return make(c.file, join({lavfi(chirp(48000, 6)), c.args}));
  }
};

// [500, 1500) is decoded from the beginning; [3000, 4000) and [4400, 5400) seek: both equal the
// same samples of a full decode.
TEST_P(Windows, EqualTheSameRangeOfAFullDecode) {
  const std::string path = source();
  ASSERT_FALSE(path.empty());
  for (PcmFormat fmt : {PcmFormat{16000, 1}, PcmFormat{44100, 2}}) {
    DecodedAudio full = decode_ok(path, fmt);
    ASSERT_GT(full.frames(), 5 * static_cast<size_t>(fmt.sample_rate));
    for (int64_t start : {500, 3000, 4400}) {
      SCOPED_TRACE(std::to_string(fmt.sample_rate) + " Hz, window at " + std::to_string(start));
      DecodedAudio w = decode_ok(path, fmt, {start, 1000});
      EXPECT_EQ(w.frames(), static_cast<size_t>(fmt.sample_rate));
      const size_t offset = static_cast<size_t>(start * fmt.sample_rate / 1000) * fmt.channels;
      EXPECT_LT(max_diff(full.samples, offset, w.samples), kWindowTolerance);
      EXPECT_GT(rms(w.samples), 0.2);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    AudioDecoder, Windows,
    ::testing::Values(
        WindowCase{"chirp.wav", {"-c:a", "pcm_s16le"}},
        WindowCase{"chirp.mp3", {"-c:a", "libmp3lame", "-b:a", "128k"}},
        WindowCase{"chirp_vbr.mp3", {"-c:a", "libmp3lame", "-q:a", "2"}},
        WindowCase{"chirp.flac", {"-c:a", "flac"}}, WindowCase{"chirp.webm", {"-c:a", "libopus"}},
        WindowCase{"chirp.m4a", {"-c:a", "aac"}}, WindowCase{"chirp.ogg", {"-c:a", "libvorbis"}},
        WindowCase{"chirp.opus", {"-c:a", "libopus"}},
        WindowCase{"chirp.aac", {"-c:a", "aac", "-f", "adts"}},
        WindowCase{"chirp.ac3", {"-c:a", "ac3"}}, WindowCase{"chirp.wma", {"-c:a", "wmav2"}},
        WindowCase{"chirp_aac.mkv", {"-c:a", "aac"}},
        WindowCase{"chirp_video.mp4",
                   join({lavfi("testsrc2=size=160x120:rate=25:duration=6"),
                         {"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest"}})},
        WindowCase{"chirp_video.ts", join({lavfi("testsrc2=size=160x120:rate=25:duration=6"),
                                           {"-c:v", "mpeg2video", "-c:a", "mp2", "-shortest"}})}),
    [](const auto& info) {
      std::string s = info.param.file;
      for (char& ch : s) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
      return s;
    });

TEST_F(AudioDecoderTest, WindowsTileTheFullDecode) {
  // 22.05 kHz: window edges fall between whole milliseconds' worth of frames.
  const std::string path = make("tile.flac", join({lavfi(chirp(44100, 6)), {"-c:a", "flac"}}));
  ASSERT_FALSE(path.empty());
  const PcmFormat fmt{22050, 1};
  DecodedAudio full = decode_ok(path, fmt);
  std::vector<float> joined;
  const std::vector<int64_t> cuts = {0, 333, 1234, 2999, 4567, 6000};
  for (size_t i = 0; i + 1 < cuts.size(); ++i) {
    DecodedAudio w = decode_ok(path, fmt, {cuts[i], cuts[i + 1] - cuts[i]});
    joined.insert(joined.end(), w.samples.begin(), w.samples.end());
  }
  ASSERT_EQ(joined.size(), full.samples.size());
  EXPECT_LT(max_diff(full.samples, 0, joined), kWindowTolerance);
}

TEST_F(AudioDecoderTest, WindowEdges) {
  const std::string path = fixture("audio_sine.wav");  // 1.0 s
  EXPECT_EQ(decode_ok(path, {16000, 1}, {0, 0}).frames(), 0u);
  EXPECT_EQ(decode_ok(path, {16000, 1}, {5000, 1000}).frames(), 0u);  // after the end
  EXPECT_EQ(decode_ok(path, {16000, 1}, {60000, std::nullopt}).frames(), 0u);
  EXPECT_NEAR(static_cast<double>(decode_ok(path, {16000, 1}, {800, 1000}).frames()), 3200, 1);
  EXPECT_NEAR(static_cast<double>(decode_ok(path, {16000, 1}, {250, std::nullopt}).frames()), 12000,
              1);
  // Seeking past the end of a longer file.
  const std::string longer = make("chirp.flac", join({lavfi(chirp(48000, 6)), {"-c:a", "flac"}}));
  EXPECT_EQ(decode_ok(longer, {16000, 1}, {7000, 1000}).frames(), 0u);
  EXPECT_NEAR(static_cast<double>(decode_ok(longer, {16000, 1}, {5500, 1000}).frames()), 8000, 1);
}

// Matroska timestamps are whole milliseconds: windows in the first ten minutes are decoded from
// the beginning (exact); later ones seek and are placed within half a millisecond.
TEST_F(AudioDecoderTest, MatroskaWindowsAfterTenMinutesAreWithinHalfAMillisecond) {
  const std::string path = make(
      "long_pcm.mkv",
      join({lavfi("aevalsrc=0.5*sin(2*PI*(220*t+0.5*t*t)):s=8000:d=620"), {"-c:a", "pcm_s16le"}}));
  ASSERT_FALSE(path.empty());
  const PcmFormat fmt{16000, 1};
  auto opened = AudioDecoder::open(path, fmt);
  ASSERT_TRUE(opened.ok());
  // The reference: [605 s, 606 s) of a streaming decode.
  const int64_t from = 605 * 16000, to = 606 * 16000;
  std::vector<float> reference;
  std::vector<float> chunk(8192);
  int64_t pos = 0;
  while (true) {
    auto got = (*opened)->read(chunk.data(), chunk.size());
    ASSERT_TRUE(got.ok());
    if (*got == 0) break;
    for (size_t i = 0; i < *got; ++i, ++pos) {
      if (pos >= from && pos < to) reference.push_back(chunk[i]);
    }
  }
  ASSERT_EQ(reference.size(), 16000u);
  DecodedAudio w = decode_ok(path, fmt, {605000, 1000});
  ASSERT_EQ(w.frames(), 16000u);
  // The best alignment within +-1 ms, and it is at most 0.5 ms (8 frames) off.
  int best_shift = 0;
  float best = 1e9f;
  for (int shift = -16; shift <= 16; ++shift) {
    float d = 0;
    for (size_t i = 100; i + 100 < reference.size(); ++i) {
      d = std::max(d, std::fabs(w.samples[i] - reference[i + shift]));
    }
    if (d < best) {
      best = d;
      best_shift = shift;
    }
  }
  EXPECT_LE(std::abs(best_shift), 8);
  EXPECT_LT(best, kWindowTolerance);
  // Inside the first ten minutes: exact.
  DecodedAudio early = decode_ok(path, fmt, {30000, 500});
  DecodedAudio head = decode_ok(path, fmt, {0, 31000});
  EXPECT_LT(max_diff(head.samples, 30 * 16000, early.samples), kWindowTolerance);
}

// The timeline starts at the first audio sample; start_offset_us() places it in the container.
TEST_F(AudioDecoderTest, AudioStartingAfterThePicture) {
  for (const char* name : {"late_audio.mp4", "late_audio.ts"}) {
    SCOPED_TRACE(name);
    const bool ts = std::string_view(name).ends_with(".ts");
    const std::string path =
        make(name, join({lavfi("testsrc2=size=160x120:rate=25:duration=3"),
                         {"-itsoffset", "0.5"},
                         lavfi(sine(440, 48000, "2")),
                         {"-c:v", ts ? "mpeg2video" : "libx264", "-c:a", ts ? "mp2" : "aac"}}));
    ASSERT_FALSE(path.empty());
    auto opened = AudioDecoder::open(path, {16000, 1});
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    // AAC's priming frame (1024 samples) is timed before the offset.
    EXPECT_NEAR(static_cast<double>((*opened)->start_offset_us()),
                ts ? 500000.0 : 500000.0 - 1024e6 / 48000, 15000);
    DecodedAudio a = decode_ok(path, {16000, 1});
    EXPECT_NEAR(static_cast<double>(a.frames()), 2.0 * 16000, 0.05 * 16000);
    EXPECT_GT(tone_amplitude(a.samples, 16000, 440, 160, 1760), 0.1);  // sound from the start
  }
  auto wav = AudioDecoder::open(fixture("audio_sine.wav"), {});
  ASSERT_TRUE(wav.ok());
  EXPECT_EQ((*wav)->start_offset_us(), 0);
}

// --- Streaming
// ------------------------------------------------------------------------------------

TEST_F(AudioDecoderTest, ChunkedReadsEqualTheWholeDecode) {
  const std::string path = fixture("audio_stereo.mp3");
  DecodedAudio whole = decode_ok(path, {22050, 2});
  for (size_t chunk : {size_t{1}, size_t{7}, size_t{4096}, size_t{100000}}) {
    SCOPED_TRACE(chunk);
    auto opened = AudioDecoder::open(path, {22050, 2});
    ASSERT_TRUE(opened.ok());
    EXPECT_EQ((*opened)->format().sample_rate, 22050);
    std::vector<float> all, buf(chunk * 2);
    while (true) {
      auto got = (*opened)->read(buf.data(), chunk);
      ASSERT_TRUE(got.ok());
      ASSERT_LE(*got, chunk);
      if (*got == 0) break;
      all.insert(all.end(), buf.begin(), buf.begin() + *got * 2);
    }
    EXPECT_EQ(all, whole.samples);
    auto again = (*opened)->read(buf.data(), chunk);  // stays at the end
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, 0u);
  }
}

TEST_F(AudioDecoderTest, TenMinutesStreamInBoundedMemory) {
  const std::string path =
      make("ten_minutes.flac",
           join({lavfi(sine(440, 44100, "600")), {"-c:a", "flac", "-compression_level", "0"}}));
  ASSERT_FALSE(path.empty());
  // Reset the peak to the current resident size (Linux >= 4.0) so earlier tests do not hide growth.
  { std::ofstream("/proc/self/clear_refs") << "5"; }
  const int64_t before = peak_rss_bytes();
  ASSERT_GT(before, 0);

  auto opened = AudioDecoder::open(path, {16000, 1});
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  AudioDecoder& dec = **opened;
  EXPECT_EQ(dec.source_duration_ms(), 600000);
  EXPECT_EQ(dec.estimated_frames(), 600 * 16000);
  const int64_t tail_from = 590 * 16000, tail_to = 591 * 16000;
  std::vector<float> tail;
  std::vector<float> chunk(4096);
  int64_t frames = 0;
  double energy = 0;
  while (true) {
    auto got = dec.read(chunk.data(), chunk.size());
    ASSERT_TRUE(got.ok()) << got.error().message;
    if (*got == 0) break;
    for (size_t i = 0; i < *got; ++i, ++frames) {
      energy += static_cast<double>(chunk[i]) * chunk[i];
      if (frames >= tail_from && frames < tail_to) tail.push_back(chunk[i]);
    }
  }
  const int64_t growth = peak_rss_bytes() - before;
  EXPECT_NEAR(static_cast<double>(frames), 600.0 * 16000, 1);
  EXPECT_NEAR(std::sqrt(energy / static_cast<double>(frames)), 0.125 / std::sqrt(2.0), 0.002);
  RecordProperty("peak_rss_growth_kib", std::to_string(growth >> 10));
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer keeps freed memory in quarantine (up to 256 MiB): RSS says nothing there.
  (void)growth;
#else
  EXPECT_LT(growth, int64_t{64} << 20) << "peak RSS grew by " << (growth >> 20) << " MiB";
#endif

  // A window near the end seeks and matches the streamed samples.
  DecodedAudio w = decode_ok(path, {16000, 1}, {590000, 1000});
  ASSERT_EQ(w.frames(), tail.size());
  EXPECT_LT(max_diff(tail, 0, w.samples), kWindowTolerance);

  // decode_audio refuses what would not fit, before decoding it all.
  auto too_big = decode_audio(path, {16000, 1}, {}, size_t{8} << 20);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(reason_of(too_big.error()), "too_large");
}

TEST_F(AudioDecoderTest, DecodeAudioStopsAtMaxBytes) {
  auto r = decode_audio(fixture("audio_sine.wav"), {16000, 1}, {}, 40000);  // 10000 frames
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(reason_of(r.error()), "too_large");
  EXPECT_TRUE(decode_audio(fixture("audio_sine.wav"), {16000, 1}, {}, 64000).ok());
}

TEST_F(AudioDecoderTest, DecodersInThreadsAreIndependent) {
  const std::vector<std::string> paths = {fixture("audio_sine.wav"),   fixture("audio.flac"),
                                          fixture("audio.m4a"),        fixture("video.webm"),
                                          fixture("audio_stereo.mp3"), fixture("audio.ogg")};
  std::vector<std::vector<float>> sequential;
  for (const auto& p : paths) sequential.push_back(decode_ok(p).samples);
  std::vector<std::vector<float>> parallel(paths.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < paths.size(); ++i) {
    threads.emplace_back([&, i] {
      for (int round = 0; round < 3; ++round) {
        auto r = decode_audio(paths[i], {});
        if (r.ok()) parallel[i] = std::move(r->samples);
      }
    });
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < paths.size(); ++i) EXPECT_EQ(parallel[i], sequential[i]) << paths[i];
}

// A stream whose sample rate and channel count change midway (two MP3s back to back).
TEST_F(AudioDecoderTest, FollowsAFormatChangeMidway) {
  const std::string a =
      make("part_a.mp3",
           join({lavfi(sine(440, 44100, "2")), {"-c:a", "libmp3lame", "-write_xing", "0"}}));
  const std::string b = make(
      "part_b.mp3",
      join({lavfi(sine(440, 22050, "2")), {"-ac", "2", "-c:a", "libmp3lame", "-write_xing", "0"}}));
  ASSERT_FALSE(a.empty() || b.empty());
  const std::string path = write_file("a_then_b.mp3", read_bytes(a) + read_bytes(b));
  DecodedAudio out = decode_ok(path, {16000, 1});
  // Without a Xing header LAME's encoder delay and padding stay in: about 60 ms.
  EXPECT_NEAR(static_cast<double>(out.frames()), 4.0 * 16000, 0.1 * 16000);
  EXPECT_NEAR(zero_crossing_hz(out.samples, 16000, 1600, 30000), 440, 1);
  EXPECT_NEAR(zero_crossing_hz(out.samples, 16000, 34000, 62000), 440, 1);
}

// --- Real recordings
// ------------------------------------------------------------------------------

TEST_F(AudioDecoderTest, RealSpeechFromAsterisk) {
  const fs::path dir = "/usr/share/asterisk/sounds/en_US_f_Allison";
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".wav") files.push_back(e.path().string());
  }
  if (files.empty()) GTEST_SKIP() << "asterisk-core-sounds-en-wav is not installed";
  std::sort(files.begin(), files.end());
  for (size_t i = 0; i < files.size(); i += files.size() / 6 + 1) {
    SCOPED_TRACE(files[i]);
    auto opened = AudioDecoder::open(files[i], {8000, 1});
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    EXPECT_EQ((*opened)->source_sample_rate(), 8000);
    EXPECT_EQ((*opened)->source_channels(), 1);
    DecodedAudio native = decode_ok(files[i], {8000, 1});
    DecodedAudio up = decode_ok(files[i], {16000, 1});
    ASSERT_GT(native.frames(), 4000u);  // the prompts last more than half a second
    EXPECT_NEAR(static_cast<double>(up.frames()), 2.0 * native.frames(), 1);
    EXPECT_NEAR(static_cast<double>(native.frames()) / 8,
                static_cast<double>((*opened)->source_duration_ms()), 1);
    EXPECT_GT(rms(up.samples), 0.01);  // speech, not silence
    EXPECT_NEAR(rms(up.samples), rms(native.samples), 0.1 * rms(native.samples));
    DecodedAudio w = decode_ok(files[i], {16000, 1}, {200, 300});
    EXPECT_EQ(w.frames(), 4800u);
    EXPECT_LT(max_diff(up.samples, 3200, w.samples), kWindowTolerance);
  }
}

// --- Errors
// ---------------------------------------------------------------------------------------

TEST_F(AudioDecoderTest, MissingFileIsNotFound) {
  auto r = AudioDecoder::open(dir_ + "/no-such-file.wav", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
}

TEST_F(AudioDecoderTest, MediaWithoutAudioSaysSo) {
  for (const char* name : {"video_only.mp4", "image.png", "animation.gif"}) {
    SCOPED_TRACE(name);
    auto r = decode_audio(fixture(name), {});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(reason_of(r.error()), "no_audio_stream");
    EXPECT_NE(r.error().message.find("has no audio"), std::string::npos) << r.error().message;
  }
}

TEST_F(AudioDecoderTest, FilesThatAreNotMediaAreRefused) {
  for (const char* name : {"not_media.txt", "empty.bin", "random.bin"}) {
    SCOPED_TRACE(name);
    auto r = AudioDecoder::open(fixture(name), {});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(reason_of(r.error()), "not_media") << r.error().message;
  }
  auto d = AudioDecoder::open(dir_, {});  // a directory
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(reason_of(d.error()), "not_media");
  // A playlist is never followed.
  const std::string m3u8 =
      write_file("list.m3u8", "#EXTM3U\n#EXTINF:1,\n" + fixture("audio_sine.wav") + "\n");
  auto p = AudioDecoder::open(m3u8, {});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(reason_of(p.error()), "not_media") << p.error().message;
}

TEST_F(AudioDecoderTest, CorruptFilesFailCleanly) {
  for (const char* name : {"truncated.mp4", "corrupt_header.mp4"}) {
    SCOPED_TRACE(name);
    auto r = decode_audio(fixture(name), {});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(reason_of(r.error()), "corrupt") << r.error().message;
  }
  // A FLAC header followed by garbage: recognised, but no audio decodes.
  std::string flac = read_bytes(fixture("audio.flac"));
  ASSERT_GT(flac.size(), 20000u);
  uint32_t x = 12345;
  for (size_t i = 100; i < flac.size(); ++i) {
    x = x * 1664525u + 1013904223u;
    flac[i] = static_cast<char>(x >> 24);
  }
  auto garbage = decode_audio(write_file("garbage_body.flac", flac), {});
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(reason_of(garbage.error()), "corrupt") << garbage.error().message;
}

// Damage in the middle of a stream is skipped, as ffmpeg does: the rest still decodes.
TEST_F(AudioDecoderTest, DamageMidStreamIsSkipped) {
  const std::string clean =
      make("damaged_src.mp3",
           join({lavfi(sine(440, 44100, "4")), {"-c:a", "libmp3lame", "-b:a", "64k"}}));
  ASSERT_FALSE(clean.empty());
  std::string bytes = read_bytes(clean);
  uint32_t x = 777;
  for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 3000; ++i) {
    x = x * 1664525u + 1013904223u;
    bytes[i] = static_cast<char>(x >> 24);
  }
  const std::string damaged = write_file("damaged.mp3", bytes);
  for (size_t chunk : {size_t{4096}, size_t{333}}) {
    auto opened = AudioDecoder::open(damaged, {16000, 1});
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    std::vector<float> buf(chunk);
    size_t frames = 0;
    while (true) {
      auto got = (*opened)->read(buf.data(), chunk);
      ASSERT_TRUE(got.ok()) << got.error().message;
      if (*got == 0) break;
      frames += *got;
    }
    EXPECT_GT(frames, 3u * 16000);
    EXPECT_LT(frames, 5u * 16000);
  }
}

TEST_F(AudioDecoderTest, BadFormatsAndWindowsAreInvalid) {
  const std::string path = fixture("audio_sine.wav");
  for (PcmFormat fmt : {PcmFormat{999, 1}, PcmFormat{384001, 1}, PcmFormat{0, 1},
                        PcmFormat{16000, 0}, PcmFormat{16000, 3}, PcmFormat{16000, -1}}) {
    auto r = AudioDecoder::open(path, fmt);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  for (AudioWindow w : {AudioWindow{-1, std::nullopt}, AudioWindow{0, -5}}) {
    auto r = AudioDecoder::open(path, {}, w);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_TRUE(AudioDecoder::open(path, {1000, 1}).ok());
  EXPECT_TRUE(AudioDecoder::open(path, {384000, 2}).ok());
}

}  // namespace
}  // namespace atomcut

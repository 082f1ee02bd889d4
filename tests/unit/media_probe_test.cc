// probe_media against ffprobe on generated fixtures and on real recordings from Debian packages.
#include "engines/media/media_probe.h"

#include "support/media_fixtures.h"
#include "support/subprocess.h"
#include "support/test_server.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace atomcut {
namespace {

namespace fs = std::filesystem;
using testing::ffprobe_json;
using testing::fixture;
using testing::real_media;

std::string param_name(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

int64_t json_int(const nlohmann::json& j, const char* key) {
  const auto& v = j.at(key);
  return v.is_string() ? std::stoll(v.get<std::string>()) : v.get<int64_t>();
}

double json_double(const nlohmann::json& j, const char* key) {
  const auto& v = j.at(key);
  return v.is_string() ? std::stod(v.get<std::string>()) : v.get<double>();
}

// ffprobe's side_data "rotation" is counter-clockwise (av_display_rotation_get); ours is clockwise.
int ffprobe_rotation_clockwise(const nlohmann::json& stream) {
  if (!stream.contains("side_data_list")) return 0;
  for (const auto& sd : stream["side_data_list"]) {
    if (sd.contains("rotation")) {
      int ccw = static_cast<int>(std::lround(json_double(sd, "rotation")));
      return ((-ccw % 360) + 360) % 360;
    }
  }
  return 0;
}

bool attached_pic(const nlohmann::json& stream) {
  return stream.contains("disposition") && stream["disposition"].value("attached_pic", 0) == 1;
}

const nlohmann::json* first_stream(const nlohmann::json& ff, const std::string& type) {
  for (const auto& s : ff["streams"]) {
    if (s.value("codec_type", "") == type && !attached_pic(s)) return &s;
  }
  return nullptr;
}

// Every field the probe shares with ffprobe, compared.
void expect_matches_ffprobe(const std::string& path, const ProbeResult& p) {
  SCOPED_TRACE(path);
  const nlohmann::json ff = ffprobe_json(path);
  ASSERT_TRUE(ff.is_object()) << "ffprobe failed on " << path;
  const auto& format = ff.at("format");

  EXPECT_EQ(p.format_name, format.at("format_name").get<std::string>());
  EXPECT_EQ(p.size_bytes, static_cast<int64_t>(fs::file_size(path)));
  EXPECT_EQ(p.size_bytes, json_int(format, "size"));
  if (format.contains("bit_rate")) {
    ASSERT_TRUE(p.bit_rate.has_value());
    EXPECT_EQ(*p.bit_rate, json_int(format, "bit_rate"));
  }
  if (p.kind != MediaKind::kImage) {
    ASSERT_TRUE(p.duration_ms.has_value());
    double expected_ms = 0;
    if (format.contains("duration")) {
      expected_ms = json_double(format, "duration") * 1000.0;
    } else {
      for (const auto& s : ff["streams"]) {
        if (s.contains("duration")) expected_ms = std::max(expected_ms, json_double(s, "duration"));
      }
      expected_ms *= 1000.0;
    }
    EXPECT_NEAR(static_cast<double>(*p.duration_ms), expected_ms, 1.0);
  } else {
    EXPECT_FALSE(p.duration_ms.has_value());
  }

  ASSERT_EQ(p.streams.size(), ff["streams"].size());
  for (size_t i = 0; i < p.streams.size(); ++i) {
    const auto& ours = p.streams[i];
    const auto& theirs = ff["streams"][i];
    SCOPED_TRACE("stream " + std::to_string(i));
    EXPECT_EQ(ours["index"].get<int>(), theirs["index"].get<int>());
    EXPECT_EQ(ours["codec_type"], theirs["codec_type"]);
    EXPECT_EQ(ours["codec_name"], theirs["codec_name"]);
    EXPECT_EQ(ours["codec_long_name"], theirs["codec_long_name"]);
    if (theirs.contains("profile") && theirs["profile"].is_string() &&
        theirs["profile"] != "unknown" && !ours["profile"].is_null()) {
      EXPECT_EQ(ours["profile"], theirs["profile"]);
    }
    if (theirs.contains("bit_rate")) {
      EXPECT_EQ(ours["bit_rate"], json_int(theirs, "bit_rate"));
    }
    if (theirs.contains("duration")) {
      ASSERT_FALSE(ours["duration_ms"].is_null());
      EXPECT_NEAR(ours["duration_ms"].get<double>(), json_double(theirs, "duration") * 1000.0, 1.0);
    }
    if (theirs["codec_type"] == "video") {
      EXPECT_EQ(ours["width"], theirs["width"]);
      EXPECT_EQ(ours["height"], theirs["height"]);
      if (theirs.contains("pix_fmt")) {
        EXPECT_EQ(ours["pix_fmt"], theirs["pix_fmt"]);
      }
      EXPECT_EQ(ours["avg_frame_rate"], theirs["avg_frame_rate"]);
      EXPECT_EQ(ours["r_frame_rate"], theirs["r_frame_rate"]);
      EXPECT_EQ(ours["rotation"].get<int>(), ffprobe_rotation_clockwise(theirs));
    } else if (theirs["codec_type"] == "audio") {
      EXPECT_EQ(ours["sample_rate"].get<int64_t>(), json_int(theirs, "sample_rate"));
      EXPECT_EQ(ours["channels"], theirs["channels"]);
      if (theirs.contains("channel_layout")) {
        EXPECT_EQ(ours["channel_layout"], theirs["channel_layout"]);
      }
      EXPECT_EQ(ours["sample_fmt"], theirs["sample_fmt"]);
    }
  }

  const nlohmann::json* video = first_stream(ff, "video");
  if (video && p.kind != MediaKind::kAudio) {
    EXPECT_EQ(p.width, (*video)["width"].get<int>());
    EXPECT_EQ(p.height, (*video)["height"].get<int>());
    EXPECT_EQ(p.rotation, ffprobe_rotation_clockwise(*video));
    if (p.kind == MediaKind::kVideo) {
      // Constant rate: the frame spacing; variable: the average.
      std::string expected = (*video)[p.variable_frame_rate ? "avg_frame_rate" : "r_frame_rate"];
      if (expected == "0/0") {
        expected = (*video)[p.variable_frame_rate ? "r_frame_rate" : "avg_frame_rate"];
      }
      ASSERT_TRUE(p.fps.has_value());
      EXPECT_EQ(p.fps->to_string(), expected);
    } else {
      EXPECT_FALSE(p.fps.has_value());
    }
  } else {
    EXPECT_FALSE(p.width.has_value());
    EXPECT_FALSE(p.fps.has_value());
    EXPECT_EQ(p.rotation, 0);
  }
  if (const nlohmann::json* audio = first_stream(ff, "audio")) {
    EXPECT_EQ(p.audio_channels, (*audio)["channels"].get<int>());
    EXPECT_EQ(p.sample_rate, static_cast<int>(json_int(*audio, "sample_rate")));
  } else {
    EXPECT_FALSE(p.audio_channels.has_value());
    EXPECT_FALSE(p.sample_rate.has_value());
  }
}

ProbeResult probe_ok(const std::string& path) {
  auto r = probe_media(path);
  if (!r.ok()) {
    ADD_FAILURE() << "probe_media(" << path << ") failed: " << r.error().to_json().dump();
    return {};
  }
  return r.value();
}

// ---- generated fixtures ----

struct Expected {
  std::string name;
  MediaKind kind;
  std::string content_type;
  bool vfr = false;
};

std::vector<Expected> media_fixtures() {
  return {
      {"video_h264_aac.mp4", MediaKind::kVideo, "video/mp4"},
      {"video_2997.mp4", MediaKind::kVideo, "video/mp4"},
      {"video_rotated_90.mp4", MediaKind::kVideo, "video/mp4"},
      {"video_only.mp4", MediaKind::kVideo, "video/mp4"},
      {"video_vfr.mkv", MediaKind::kVideo, "video/x-matroska", true},
      {"video.webm", MediaKind::kVideo, "video/webm"},
      {"video.avi", MediaKind::kVideo, "video/x-msvideo"},
      {"video.mov", MediaKind::kVideo, "video/quicktime"},
      {"audio_sine.wav", MediaKind::kAudio, "audio/wav"},
      {"audio_stereo.mp3", MediaKind::kAudio, "audio/mpeg"},
      {"audio.flac", MediaKind::kAudio, "audio/flac"},
      {"audio.ogg", MediaKind::kAudio, "audio/ogg"},
      {"audio.m4a", MediaKind::kAudio, "audio/mp4"},
      {"audio.aac", MediaKind::kAudio, "audio/aac"},
      {"image.png", MediaKind::kImage, "image/png"},
      {"image.jpg", MediaKind::kImage, "image/jpeg"},
      {"image.webp", MediaKind::kImage, "image/webp"},
      {"image.bmp", MediaKind::kImage, "image/bmp"},
      {"image.gif", MediaKind::kImage, "image/gif"},
      {"animation.gif", MediaKind::kVideo, "image/gif"},
  };
}

void PrintTo(const Expected& e, std::ostream* os) { *os << e.name; }

class FixtureProbe : public ::testing::TestWithParam<Expected> {};

TEST_P(FixtureProbe, MatchesFfprobeAndClassifies) {
  const Expected& e = GetParam();
  const std::string path = fixture(e.name);
  ASSERT_FALSE(path.empty());
  ProbeResult p = probe_ok(path);
  EXPECT_EQ(media_kind_name(p.kind), media_kind_name(e.kind));
  EXPECT_EQ(p.content_type, e.content_type);
  EXPECT_EQ(p.variable_frame_rate, e.vfr);
  expect_matches_ffprobe(path, p);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FixtureProbe, ::testing::ValuesIn(media_fixtures()),
                         [](const auto& info) { return param_name(info.param.name); });

TEST(MediaProbe, H264AacFixtureHasTheGeneratedParameters) {
  ProbeResult p = probe_ok(fixture("video_h264_aac.mp4"));
  EXPECT_EQ(p.kind, MediaKind::kVideo);
  EXPECT_EQ(p.format_name, "mov,mp4,m4a,3gp,3g2,mj2");
  ASSERT_TRUE(p.fps.has_value());
  EXPECT_EQ(p.fps->num, 25);
  EXPECT_EQ(p.fps->den, 1);
  EXPECT_EQ(p.width, 320);
  EXPECT_EQ(p.height, 240);
  EXPECT_EQ(p.rotation, 0);
  EXPECT_EQ(p.audio_channels, 2);
  EXPECT_EQ(p.sample_rate, 48000);
  ASSERT_TRUE(p.duration_ms.has_value());
  EXPECT_NEAR(static_cast<double>(*p.duration_ms), 2000.0, 40.0);  // AAC priming adds a little
  ASSERT_EQ(p.streams.size(), 2u);
  EXPECT_EQ(p.streams[0]["codec_name"], "h264");
  EXPECT_EQ(p.streams[0]["pix_fmt"], "yuv420p");
  EXPECT_EQ(p.streams[0]["fps"], "25/1");
  EXPECT_EQ(p.streams[1]["codec_name"], "aac");
  EXPECT_EQ(p.streams[1]["channel_layout"], "stereo");
  EXPECT_EQ(p.streams[1]["sample_fmt"], "fltp");
  EXPECT_EQ(p.streams[1]["profile"], "LC");
}

TEST(MediaProbe, NtscRateIsExact) {
  ProbeResult p = probe_ok(fixture("video_2997.mp4"));
  ASSERT_TRUE(p.fps.has_value());
  EXPECT_EQ(p.fps->num, 30000);
  EXPECT_EQ(p.fps->den, 1001);
  EXPECT_FALSE(p.variable_frame_rate);
  EXPECT_EQ(p.audio_channels, 1);
  EXPECT_EQ(p.sample_rate, 44100);
}

TEST(MediaProbe, AudioOnlyFilesHaveNoPicture) {
  ProbeResult p = probe_ok(fixture("audio_sine.wav"));
  EXPECT_EQ(p.kind, MediaKind::kAudio);
  EXPECT_EQ(p.duration_ms, 1000);
  EXPECT_EQ(p.audio_channels, 1);
  EXPECT_EQ(p.sample_rate, 44100);
  EXPECT_FALSE(p.fps.has_value());
  EXPECT_FALSE(p.width.has_value());
  EXPECT_EQ(p.streams[0]["sample_fmt"], "s16");

  ProbeResult mp3 = probe_ok(fixture("audio_stereo.mp3"));
  EXPECT_EQ(mp3.kind, MediaKind::kAudio);
  EXPECT_EQ(mp3.audio_channels, 2);
  EXPECT_EQ(mp3.sample_rate, 48000);
  ASSERT_TRUE(mp3.duration_ms.has_value());
  EXPECT_NEAR(static_cast<double>(*mp3.duration_ms), 1500.0, 60.0);  // MP3 frame padding
}

TEST(MediaProbe, ImagesHaveSizeButNoRateOrDuration) {
  for (const char* name : {"image.png", "image.jpg"}) {
    SCOPED_TRACE(name);
    ProbeResult p = probe_ok(fixture(name));
    EXPECT_EQ(p.kind, MediaKind::kImage);
    EXPECT_EQ(p.width, 64);
    EXPECT_EQ(p.height, 48);
    EXPECT_FALSE(p.fps.has_value());
    EXPECT_FALSE(p.duration_ms.has_value());
    EXPECT_FALSE(p.variable_frame_rate);
  }
}

TEST(MediaProbe, RotationIsClockwiseAndAgreesWithFfmpegAutorotate) {
  const std::string path = fixture("video_rotated_90.mp4");
  ProbeResult p = probe_ok(path);
  EXPECT_EQ(p.rotation, 90);
  EXPECT_EQ(p.width, 320);  // coded size, before rotation
  EXPECT_EQ(p.height, 240);
  EXPECT_EQ(p.streams[0]["rotation"], 90);
  // ffprobe reports the display matrix counter-clockwise.
  nlohmann::json ff = ffprobe_json(path);
  ASSERT_TRUE(ff.is_object());
  EXPECT_EQ(json_double(ff["streams"][0]["side_data_list"][0], "rotation"), -90.0);
  // ffmpeg's autorotation shows the first frame as the unrotated source turned clockwise.
  auto gray_frame = [](const std::vector<std::string>& middle) {
    std::vector<std::string> argv = {"ffmpeg", "-nostdin", "-v", "error"};
    argv.insert(argv.end(), middle.begin(), middle.end());
    for (const char* a : {"-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"}) {
      argv.push_back(a);
    }
    auto r = testing::run_command(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  };
  std::string autorotated = gray_frame({"-i", path});
  std::string clockwise = gray_frame({"-noautorotate", "-i", path, "-vf", "transpose=clock"});
  std::string counter = gray_frame({"-noautorotate", "-i", path, "-vf", "transpose=cclock"});
  ASSERT_EQ(autorotated.size(), 320u * 240u);
  EXPECT_TRUE(autorotated == clockwise);
  EXPECT_FALSE(autorotated == counter);
}

TEST(MediaProbe, VariableFrameRateIsDetected) {
  ProbeResult vfr = probe_ok(fixture("video_vfr.mkv"));
  EXPECT_TRUE(vfr.variable_frame_rate);
  for (const char* name : {"video_h264_aac.mp4", "video_2997.mp4", "video_only.mp4", "video.webm",
                           "video.avi", "video.mov"}) {
    SCOPED_TRACE(name);
    EXPECT_FALSE(probe_ok(fixture(name)).variable_frame_rate);
  }
}

// MP4 takes the sample-index path (no packets read), Matroska the packet-reading path.
TEST(MediaProbe, VariableFrameRateIsDetectedInMp4Too) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/vfr.mp4";
  auto r = testing::run_command(
      {"ffmpeg", "-nostdin", "-v", "error", "-i", fixture("video_vfr.mkv"), "-c", "copy", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ProbeResult p = probe_ok(path);
  EXPECT_TRUE(p.variable_frame_rate);
  expect_matches_ffprobe(path, p);
}

TEST(MediaProbe, ToJsonHasEveryField) {
  ProbeResult p = probe_ok(fixture("video_2997.mp4"));
  nlohmann::json j = to_json(p);
  EXPECT_EQ(j["kind"], "video");
  EXPECT_EQ(j["format_name"], "mov,mp4,m4a,3gp,3g2,mj2");
  EXPECT_EQ(j["content_type"], "video/mp4");
  EXPECT_EQ(j["size_bytes"], p.size_bytes);
  EXPECT_EQ(j["duration_ms"], *p.duration_ms);
  EXPECT_EQ(j["bit_rate"], *p.bit_rate);
  EXPECT_NEAR(j["fps"].get<double>(), 29.97, 0.001);
  EXPECT_EQ(j["fps_rational"], "30000/1001");
  EXPECT_EQ(j["variable_frame_rate"], false);
  EXPECT_EQ(j["width"], 320);
  EXPECT_EQ(j["height"], 240);
  EXPECT_EQ(j["rotation"], 0);
  EXPECT_EQ(j["audio_channels"], 1);
  EXPECT_EQ(j["sample_rate"], 44100);
  EXPECT_EQ(j["streams"], p.streams);

  nlohmann::json audio = to_json(probe_ok(fixture("audio.flac")));
  EXPECT_TRUE(audio["fps"].is_null());
  EXPECT_TRUE(audio["fps_rational"].is_null());
  EXPECT_TRUE(audio["width"].is_null());
}

// ---- errors ----

void expect_invalid(const std::string& path, const std::string& reason) {
  SCOPED_TRACE(path);
  auto r = probe_media(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << r.error().message;
  EXPECT_EQ(r.error().details.value("reason", ""), reason) << r.error().message;
  EXPECT_NE(r.error().message.find(path), std::string::npos) << r.error().message;
}

TEST(MediaProbeErrors, MissingFileIsNotFound) {
  auto r = probe_media("/nonexistent/dir/clip.mp4");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find("/nonexistent/dir/clip.mp4"), std::string::npos);
}

TEST(MediaProbeErrors, NonMediaIsNotMedia) {
  for (const char* name : {"not_media.txt", "empty.bin", "random.bin"}) {
    const std::string path = fixture(name);
    expect_invalid(path, "not_media");
    EXPECT_TRUE(ffprobe_json(path).is_null()) << "ffprobe accepts " << name;
  }
}

TEST(MediaProbeErrors, DirectoryIsNotMedia) {
  testing::TempDir dir;
  expect_invalid(dir.path(), "not_media");
}

TEST(MediaProbeErrors, DamagedContainersAreCorruptAndReturn) {
  for (const char* name : {"truncated.mp4", "corrupt_header.mp4"}) {
    const std::string path = fixture(name);
    expect_invalid(path, "corrupt");
    EXPECT_TRUE(ffprobe_json(path).is_null()) << "ffprobe accepts " << name;
    auto r = probe_media(path);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().details.value("format_name", ""), "mov,mp4,m4a,3gp,3g2,mj2");
    // libav's own explanation is quoted, as well as its error code's text.
    EXPECT_NE(r.error().message.find("moov atom not found"), std::string::npos)
        << r.error().message;
    EXPECT_NE(r.error().message.find("Invalid data found"), std::string::npos);
  }
}

TEST(MediaProbeErrors, TextWithAnImageExtensionIsNotMedia) {
  testing::TempDir dir;
  for (const char* name : {"notes.jpg", "notes.png", "notes.mp4", "notes.txt", "notes.wav"}) {
    const std::string path = dir.path() + "/" + name;
    fs::copy_file(fixture("not_media.txt"), path);
    expect_invalid(path, "not_media");
  }
}

TEST(MediaProbeErrors, PlaylistsAreRefused) {
  testing::TempDir dir;
  const std::string clip = fixture("video_only.mp4");
  const std::string path = dir.path() + "/list.m3u8";
  std::ofstream(path) << "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n"
                      << clip << "\n#EXT-X-ENDLIST\n";
  expect_invalid(path, "not_media");
}

TEST(MediaProbeErrors, ZeroTimeoutIsDeadlineExceeded) {
  auto r = probe_media(fixture("video_h264_aac.mp4"), ProbeOptions{0});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kDeadlineExceeded) << r.error().message;
  EXPECT_EQ(r.error().details.value("timeout_ms", -1), 0);
}

TEST(MediaProbe, FileNamesAreNotPatterns) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/frame%03d.png";
  fs::copy_file(fixture("image.png"), path);
  ProbeResult p = probe_ok(path);
  EXPECT_EQ(p.kind, MediaKind::kImage);
  EXPECT_EQ(p.width, 64);
  EXPECT_EQ(p.content_type, "image/png");

  const std::string colon = dir.path() + "/take:1.mp4";
  fs::copy_file(fixture("video_only.mp4"), colon);
  EXPECT_EQ(probe_ok(colon).kind, MediaKind::kVideo);
}

// Cut and damaged copies of every fixture: each probe returns (a result or invalid_argument),
// none crashes or hangs. Most useful under ASan.
TEST(MediaProbeErrors, DamagedCopiesOfEveryFixtureReturn) {
  testing::TempDir dir;
  int probes = 0;
  for (const Expected& e : media_fixtures()) {
    const std::string src = fixture(e.name);
    ASSERT_FALSE(src.empty());
    std::ifstream in(src, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    const std::string ext = fs::path(src).extension().string();
    std::vector<std::string> variants;
    for (size_t percent : {5, 30, 70, 95})
      variants.push_back(bytes.substr(0, bytes.size() * percent / 100));
    for (size_t stride : {97, 1031}) {
      std::string flipped = bytes;
      for (size_t i = 64; i < flipped.size(); i += stride)
        flipped[i] = static_cast<char>(~flipped[i]);
      variants.push_back(std::move(flipped));
    }
    for (size_t i = 0; i < variants.size(); ++i) {
      const std::string path =
          dir.path() + "/" + param_name(e.name) + "_" + std::to_string(i) + ext;
      std::ofstream(path, std::ios::binary) << variants[i];
      auto r = probe_media(path);
      ++probes;
      if (!r.ok()) {
        EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << path << ": " << r.error().message;
        const std::string reason = r.error().details.value("reason", "");
        EXPECT_TRUE(reason == "not_media" || reason == "corrupt") << path << ": " << reason;
      } else {
        EXPECT_NE(r.value().kind, MediaKind::kOther) << path;
      }
    }
  }
  EXPECT_EQ(probes, static_cast<int>(media_fixtures().size()) * 6);
}

// ---- real media ----

struct RealExpected {
  std::string name;
  MediaKind kind;
  std::string content_type;
  bool vfr;
};

void PrintTo(const RealExpected& e, std::ostream* os) { *os << e.name; }

class RealMediaProbe : public ::testing::TestWithParam<RealExpected> {};

TEST_P(RealMediaProbe, MatchesFfprobeAndClassifies) {
  const RealExpected& e = GetParam();
  auto path = real_media(e.name);
  if (!path) GTEST_SKIP() << e.name << " is not installed (see deps/apt-packages.txt)";
  ProbeResult p = probe_ok(*path);
  EXPECT_EQ(media_kind_name(p.kind), media_kind_name(e.kind));
  EXPECT_EQ(p.content_type, e.content_type);
  EXPECT_EQ(p.variable_frame_rate, e.vfr);
  expect_matches_ffprobe(*path, p);
}

// VFR: the phone clip has a 185 ms gap among 33 ms frames (dropped frames); tree.avi holds 68
// pictures 5 to 11 slots of 1/15 s apart (empty AVI chunks between them); the others are steady
// (movie-hello.avi has one empty chunk, a single whole-frame gap).
INSTANTIATE_TEST_SUITE_P(
    Real, RealMediaProbe,
    ::testing::Values(RealExpected{"phone_1080p_2997", MediaKind::kVideo, "video/mp4", true},
                      RealExpected{"screen_720p30_mp4", MediaKind::kVideo, "video/mp4", false},
                      RealExpected{"screen_avi", MediaKind::kVideo, "video/x-msvideo", false},
                      RealExpected{"screen_mpeg", MediaKind::kVideo, "video/mpeg", false},
                      RealExpected{"screen_ogg", MediaKind::kVideo, "video/ogg", false},
                      RealExpected{"vtest_avi", MediaKind::kVideo, "video/x-msvideo", false},
                      RealExpected{"tree_avi", MediaKind::kVideo, "video/x-msvideo", true},
                      RealExpected{"messi_jpg", MediaKind::kImage, "image/jpeg", false}),
    [](const auto& info) { return info.param.name; });

TEST(MediaProbe, EveryRealMediaNameIsCovered) {
  EXPECT_EQ(testing::real_media_names().size(), 8u);
  EXPECT_TRUE(real_media("no_such_name") == std::nullopt);
}

// ---- shared test support ----

TEST(TestSupport, RunCommandCapturesOutputAndExitCode) {
  auto r = testing::run_command({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  auto missing = testing::run_command({"atomcut-no-such-program"});
  EXPECT_EQ(missing.exit_code, -1);
  EXPECT_NE(missing.err.find("atomcut-no-such-program"), std::string::npos);
  auto slow = testing::run_command({"sleep", "10"}, 100);
  EXPECT_EQ(slow.exit_code, 128 + 9);
  EXPECT_NE(slow.err.find("killed after 100 ms"), std::string::npos);
}

TEST(TestSupport, ChildProcessRunsAndTerminates) {
  testing::TempDir dir;
  auto child =
      testing::ChildProcess::start({"sh", "-c", "echo \"$ATOMCUT_X\"; exec sleep 30"},
                                   {"ATOMCUT_X=hello"}, dir.path() + "/out", dir.path() + "/err");
  ASSERT_GT(child.pid(), 0);
  EXPECT_TRUE(child.running());
  testing::ChildProcess moved = std::move(child);
  EXPECT_EQ(child.pid(), -1);
  EXPECT_TRUE(moved.running());
  std::string line;
  for (int i = 0; i < 500 && line.empty(); ++i) {  // the child writes it once it runs
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::ifstream out(dir.path() + "/out");
    std::getline(out, line);
  }
  EXPECT_EQ(line, "hello");
  EXPECT_EQ(moved.terminate(), 128 + 15);  // SIGTERM
  EXPECT_FALSE(moved.running());
}

// ---- concurrency ----

TEST(MediaProbe, ConcurrentProbesAgreeWithSerialOnes) {
  std::vector<std::string> paths;
  for (const Expected& e : media_fixtures()) paths.push_back(fixture(e.name));
  for (const char* name : {"truncated.mp4", "corrupt_header.mp4", "random.bin"}) {
    paths.push_back(fixture(name));
  }
  if (auto real = real_media("phone_1080p_2997")) paths.push_back(*real);
  auto describe = [](const Result<ProbeResult>& r) {
    return r.ok() ? to_json(r.value()).dump() : r.error().to_json().dump();
  };
  std::vector<std::string> serial;
  for (const auto& path : paths) serial.push_back(describe(probe_media(path)));

  constexpr int kThreads = 4;
  constexpr int kRounds = 3;
  std::vector<std::vector<std::string>> seen(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        for (size_t i = 0; i < paths.size(); ++i) {
          // Each thread walks the list from a different place so that different files overlap.
          const std::string& path = paths[(i + t * 5) % paths.size()];
          seen[t].push_back(path + " " + describe(probe_media(path)));
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(seen[t].size(), paths.size() * kRounds);
    for (size_t k = 0; k < seen[t].size(); ++k) {
      const size_t i = (k % paths.size() + t * 5) % paths.size();
      EXPECT_EQ(seen[t][k], paths[i] + " " + serial[i]);
    }
  }
}

}  // namespace
}  // namespace atomcut

// The frame sampler on media made with the ffmpeg CLI (H.264, VP9, MPEG-4, 29.97 fps, variable
// rate, a rotated phone-style file, damaged files) and on real recordings: frame counts against
// ffprobe -count_frames, timestamps against ffprobe's, the frame displayed at a sample time,
// pixels against ffmpeg's own (auto-rotated) decode, downscaling that keeps aspect, seeks that
// return the same pictures as a full decode, and clear errors.
#include "engines/video/frame_sampler.h"

#include "support/media_fixtures.h"
#include "support/subprocess.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace atomcut {
namespace {

using testing::ffprobe_json;
using testing::fixture;
using testing::real_media;
using testing::run_command;

const std::vector<std::string> kVideoFixtures = {
    "video_h264_aac.mp4", "video_2997.mp4", "video_rotated_90.mp4", "video_vfr.mkv", "video.webm",
    "video.avi",          "video.mov",      "video_only.mp4"};
const std::vector<std::string> kRealVideos = {"phone_1080p_2997", "screen_720p30_mp4", "screen_avi",
                                              "screen_mpeg",      "screen_ogg",        "vtest_avi",
                                              "tree_avi"};

// ffprobe's presentation times (s) of every video frame, minus the container's start time.
std::vector<double> ffprobe_frame_times(const std::string& path) {
  auto r = run_command({"ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                        "frame=pts_time,best_effort_timestamp_time:format=start_time", "-of",
                        "default=noprint_wrappers=1", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<double> times;
  double start = 0;
  std::istringstream in(r.out);
  std::string line;
  bool have_pts = false;
  double best_effort = 0;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq);
    const std::string value = line.substr(eq + 1);
    if (key == "start_time") {
      if (value != "N/A") start = std::stod(value);
    } else if (key == "pts_time") {
      have_pts = value != "N/A";
      if (have_pts) times.push_back(std::stod(value));
    } else if (key == "best_effort_timestamp_time") {
      best_effort = value != "N/A" ? std::stod(value) : 0;
      if (!have_pts) times.push_back(best_effort);
      have_pts = false;
    }
  }
  for (double& t : times) t -= start;
  return times;
}

int64_t ffprobe_frame_count(const std::string& path) {
  auto r = run_command({"ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                        "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return std::atoll(r.out.c_str());
}

// ffmpeg's own decode (autorotate on) of the frame at t_s, as WxH rgb24.
std::vector<uint8_t> ffmpeg_frame(const std::string& path, double t_s, int w, int h) {
  auto r = run_command({"ffmpeg", "-nostdin", "-v", "error", "-ss", std::to_string(t_s), "-i", path,
                        "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s",
                        std::to_string(w) + "x" + std::to_string(h), "-"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return std::vector<uint8_t>(r.out.begin(), r.out.end());
}

double mean_abs_diff(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  if (a.size() != b.size() || a.empty()) return 1e9;
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += std::abs(int(a[i]) - int(b[i]));
  return s / a.size();
}

struct Decoded {
  std::vector<VideoFrame> frames;
};

Decoded decode_all(const std::string& path, FrameSamplerOptions o) {
  Decoded d;
  Status s = for_each_frame(path, o, [&](const VideoFrame& f) {
    d.frames.push_back(f);
    return Status{};
  });
  EXPECT_TRUE(s.ok()) << path << ": " << (s.ok() ? "" : s.error().message);
  return d;
}

FrameSamplerOptions tiny_gray() {
  FrameSamplerOptions o;
  o.max_width = 64;
  o.max_height = 64;
  o.layout = PixelLayout::kGray8;
  return o;
}

void expect_full_iteration_matches_ffprobe(const std::string& path) {
  SCOPED_TRACE(path);
  const Decoded d = decode_all(path, tiny_gray());
  const int64_t expected = ffprobe_frame_count(path);
  ASSERT_GT(expected, 0);
  EXPECT_EQ(static_cast<int64_t>(d.frames.size()), expected);
  const std::vector<double> times = ffprobe_frame_times(path);
  for (size_t i = 0; i < d.frames.size(); ++i) {
    EXPECT_EQ(d.frames[i].index, static_cast<int64_t>(i));
    if (i > 0) {
      EXPECT_GT(d.frames[i].pts_ms, d.frames[i - 1].pts_ms) << "frame " << i;
    }
    if (i < times.size()) {
      EXPECT_NEAR(d.frames[i].pts_ms, times[i] * 1000.0, 1.0) << "frame " << i;
    }
  }
}

TEST(FrameSamplerTest, FullIterationMatchesFfprobeOnFixtures) {
  for (const std::string& name : kVideoFixtures) {
    const std::string path = fixture(name);
    ASSERT_FALSE(path.empty()) << name;
    expect_full_iteration_matches_ffprobe(path);
  }
}

TEST(FrameSamplerTest, FullIterationMatchesFfprobeOnRealMedia) {
  int tried = 0;
  for (const std::string& name : kRealVideos) {
    const auto path = real_media(name);
    if (!path) continue;
    ++tried;
    expect_full_iteration_matches_ffprobe(*path);
  }
  if (tried == 0) GTEST_SKIP() << "no real media installed";
}

TEST(FrameSamplerTest, IntervalSamplingPicksDisplayedFrameAt2997) {
  const std::string path = fixture("video_2997.mp4");
  ASSERT_FALSE(path.empty());
  auto s = FrameSampler::open(path, tiny_gray());
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ((*s)->info().fps_num, 30000);
  EXPECT_EQ((*s)->info().fps_den, 1001);
  std::vector<VideoFrame> got;
  Status st = sample_every(path, 100, tiny_gray(), [&](const VideoFrame& f) {
    got.push_back(f);
    return Status{};
  });
  ASSERT_TRUE(st.ok()) << st.error().message;
  // 0, 100, ... 2000 ms: the last frame (59, at 1968.6 ms) is displayed until 2002.0 ms.
  ASSERT_EQ(got.size(), 21u);
  for (size_t k = 0; k < got.size(); ++k) {
    const int64_t t = static_cast<int64_t>(k) * 100;
    const int64_t expected = t * 30000 / (1001 * 1000);  // last frame with k * 1001/30 ms <= t
    EXPECT_EQ(got[k].index, expected) << "t=" << t;
    EXPECT_EQ(got[k].pts_ms, (expected * 1001 * 1000 + 15000) / 30000) << "t=" << t;
  }
  // Exactly at and just before frame boundaries: frame 15 starts at 500.5 ms, frame 3 at 100.1.
  VideoFrame f;
  for (auto [t, idx] : std::vector<std::pair<int64_t, int64_t>>{
           {500, 14}, {501, 15}, {100, 2}, {101, 3}, {1001, 30}, {1000, 29}, {0, 0}}) {
    auto r = (*s)->frame_at(t, f);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE(*r);
    EXPECT_EQ(f.index, idx) << "t=" << t;
  }
  // After the end (the last frame's display ends at 2002 ms).
  auto last = (*s)->frame_at(2001, f);
  ASSERT_TRUE(last.ok() && *last);
  EXPECT_EQ(f.index, 59);
  auto end = (*s)->frame_at(2002, f);
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(*end);
  auto back = (*s)->frame_at(30, f);  // and back again
  ASSERT_TRUE(back.ok() && *back);
  EXPECT_EQ(f.index, 0);
}

// Sample times against the frame times ffprobe lists (the last frame with pts <= t).
void expect_samples_match_ffprobe(const std::string& path, const std::vector<int64_t>& times) {
  SCOPED_TRACE(path);
  const std::vector<double> pts = ffprobe_frame_times(path);
  ASSERT_FALSE(pts.empty());
  std::vector<VideoFrame> got;
  std::vector<int64_t> asked;
  const Decoded full = decode_all(path, tiny_gray());
  Status st = sample_at(path, times, tiny_gray(), [&](const VideoFrame& f) {
    got.push_back(f);
    return Status{};
  });
  ASSERT_TRUE(st.ok()) << st.error().message;
  size_t g = 0;
  for (const int64_t t : times) {
    int64_t expected = 0;
    for (size_t i = 0; i < pts.size(); ++i) {
      if (pts[i] * 1000.0 <= t + 1e-6) expected = static_cast<int64_t>(i);
    }
    ASSERT_LT(g, got.size()) << "t=" << t;
    EXPECT_EQ(got[g].index, expected) << "t=" << t;
    if (expected < static_cast<int64_t>(full.frames.size())) {
      // The same picture as the full decode (seeks must not change it).
      EXPECT_LT(mean_abs_diff(got[g].pixels, full.frames[expected].pixels), 0.5) << "t=" << t;
    }
    ++g;
  }
}

TEST(FrameSamplerTest, SamplesAtTimesWithSeeksMatchFullDecode) {
  expect_samples_match_ffprobe(fixture("video_vfr.mkv"),
                               {0, 33, 34, 500, 999, 1000, 1001, 1049, 1050, 3960, 2000, 100});
  expect_samples_match_ffprobe(fixture("video_h264_aac.mp4"), {1960, 0, 40, 39, 1000, 520});
  if (auto vtest = real_media("vtest_avi")) {
    // 79.5 s at 10 fps: far jumps forward and back seek.
    expect_samples_match_ffprobe(*vtest, {60000, 12345, 70050, 5000, 79000, 40000, 40099});
  }
  if (auto phone = real_media("phone_1080p_2997")) {
    expect_samples_match_ffprobe(*phone, {0, 100, 184, 185, 1000, 1500, 300});
  }
}

TEST(FrameSamplerTest, RotatedVideoComesOutUprightLikeFfmpeg) {
  const std::string path = fixture("video_rotated_90.mp4");
  ASSERT_FALSE(path.empty());
  FrameSamplerOptions o;  // full size rgb24
  auto s = FrameSampler::open(path, o);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ((*s)->info().rotation, 90);
  EXPECT_EQ((*s)->info().width, 240);
  EXPECT_EQ((*s)->info().height, 320);
  VideoFrame f;
  for (int64_t t : {400, 0, 880}) {
    auto r = (*s)->frame_at(t, f);
    ASSERT_TRUE(r.ok() && *r);
    ASSERT_EQ(f.width, 240);
    ASSERT_EQ(f.height, 320);
    const auto ref = ffmpeg_frame(path, t / 1000.0, 240, 320);
    EXPECT_LT(mean_abs_diff(f.pixels, ref), 1.5) << "t=" << t;
    // Not merely similar: the unrotated-then-flipped picture must be clearly different.
    std::vector<uint8_t> flipped(f.pixels.size());
    for (int y = 0; y < 320; ++y) {
      std::copy_n(f.pixels.begin() + (319 - y) * 240 * 3, 240 * 3, flipped.begin() + y * 240 * 3);
    }
    EXPECT_GT(mean_abs_diff(flipped, ref), 10.0);
  }
  // Downscaled: 240x320 into 120x120 is 90x120, close to ffmpeg's scaled picture.
  o.max_width = 120;
  o.max_height = 120;
  auto small = FrameSampler::open(path, o);
  ASSERT_TRUE(small.ok());
  auto r = (*small)->frame_at(400, f);
  ASSERT_TRUE(r.ok() && *r);
  EXPECT_EQ(f.width, 90);
  EXPECT_EQ(f.height, 120);
  EXPECT_LT(mean_abs_diff(f.pixels, ffmpeg_frame(path, 0.4, 90, 120)), 6.0);
}

TEST(FrameSamplerTest, PixelsMatchFfmpegDecode) {
  const std::string path = fixture("video_h264_aac.mp4");
  ASSERT_FALSE(path.empty());
  auto s = FrameSampler::open(path, {});
  ASSERT_TRUE(s.ok());
  VideoFrame f;
  auto r = (*s)->frame_at(1000, f);
  ASSERT_TRUE(r.ok() && *r);
  EXPECT_EQ(f.index, 25);
  EXPECT_EQ(f.layout, PixelLayout::kRgb24);
  ASSERT_EQ(f.pixels.size(), 320u * 240u * 3u);
  EXPECT_LT(mean_abs_diff(f.pixels, ffmpeg_frame(path, 1.0, 320, 240)), 1.5);
}

TEST(FrameSamplerTest, DownscalingKeepsAspectAndNeverUpscales) {
  struct Case {
    std::string path;
    int max_w, max_h, want_w, want_h;
  };
  std::vector<Case> cases = {
      {fixture("video_h264_aac.mp4"), 64, 0, 64, 48},
      {fixture("video_h264_aac.mp4"), 0, 36, 48, 36},
      {fixture("video_h264_aac.mp4"), 64, 36, 48, 36},
      {fixture("video_h264_aac.mp4"), 1000, 1000, 320, 240},
      {fixture("video_h264_aac.mp4"), 0, 0, 320, 240},
      {fixture("video_rotated_90.mp4"), 64, 64, 48, 64},
  };
  if (auto phone = real_media("phone_1080p_2997")) cases.push_back({*phone, 64, 64, 64, 36});
  if (auto vtest = real_media("vtest_avi")) cases.push_back({*vtest, 64, 36, 48, 36});
  for (const Case& c : cases) {
    FrameSamplerOptions o;
    o.max_width = c.max_w;
    o.max_height = c.max_h;
    o.layout = PixelLayout::kGray8;
    auto s = FrameSampler::open(c.path, o);
    ASSERT_TRUE(s.ok()) << c.path << ": " << s.error().message;
    VideoFrame f;
    auto r = (*s)->next(f);
    ASSERT_TRUE(r.ok() && *r);
    EXPECT_EQ(f.width, c.want_w) << c.path << " " << c.max_w << "x" << c.max_h;
    EXPECT_EQ(f.height, c.want_h) << c.path << " " << c.max_w << "x" << c.max_h;
    EXPECT_EQ(f.pixels.size(), static_cast<size_t>(f.width) * f.height);
    EXPECT_EQ((*s)->info().output_width, c.want_w);
  }
}

TEST(FrameSamplerTest, NextContinuesAfterFrameAt) {
  auto s = FrameSampler::open(fixture("video_h264_aac.mp4"), tiny_gray());
  ASSERT_TRUE(s.ok());
  VideoFrame f;
  ASSERT_TRUE(*(*s)->frame_at(410, f));
  EXPECT_EQ(f.index, 10);
  ASSERT_TRUE(*(*s)->next(f));
  EXPECT_EQ(f.index, 11);
  EXPECT_EQ(f.pts_ms, 440);
  int64_t n = 12;
  while (*(*s)->next(f)) EXPECT_EQ(f.index, n++);
  EXPECT_EQ(n, 50);
}

TEST(FrameSamplerTest, RenderCurrentGivesTheSameFrameAtAnotherSize) {
  const std::string path = fixture("video_rotated_90.mp4");
  ASSERT_FALSE(path.empty());
  auto tiny = FrameSampler::open(path, tiny_gray());
  ASSERT_TRUE(tiny.ok());
  VideoFrame f;
  VideoFrame big;
  FrameSamplerOptions size;
  size.max_width = 120;
  size.max_height = 120;
  size.layout = PixelLayout::kRgb24;
  auto early = (*tiny)->render_current(size, big);
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code, ErrorCode::kFailedPrecondition);
  ASSERT_TRUE(*(*tiny)->frame_at(400, f));
  EXPECT_EQ(f.width, 48);
  ASSERT_TRUE((*tiny)->render_current(size, big).ok());
  EXPECT_EQ(big.width, 90);
  EXPECT_EQ(big.height, 120);
  EXPECT_EQ(big.index, f.index);
  EXPECT_EQ(big.pts_ms, f.pts_ms);
  auto direct = FrameSampler::open(path, size);
  ASSERT_TRUE(direct.ok());
  VideoFrame ref;
  ASSERT_TRUE(*(*direct)->frame_at(400, ref));
  EXPECT_EQ(big.pixels, ref.pixels);
  size.max_width = -3;
  EXPECT_FALSE((*tiny)->render_current(size, big).ok());
}

void expect_error(const std::string& path, ErrorCode code, const std::string& reason) {
  auto s = FrameSampler::open(path, {});
  ASSERT_FALSE(s.ok()) << path;
  EXPECT_EQ(s.error().code, code) << path << ": " << s.error().message;
  if (!reason.empty()) {
    EXPECT_EQ(s.error().details.value("reason", ""), reason) << path << ": " << s.error().message;
  }
  EXPECT_NE(s.error().message.find(path), std::string::npos) << s.error().message;
}

TEST(FrameSamplerTest, ClearErrors) {
  expect_error("/nonexistent/dir/video.mp4", ErrorCode::kNotFound, "");
  expect_error(fixture("not_media.txt"), ErrorCode::kInvalidArgument, "not_media");
  expect_error(fixture("empty.bin"), ErrorCode::kInvalidArgument, "not_media");
  expect_error(fixture("random.bin"), ErrorCode::kInvalidArgument, "not_media");
  expect_error(fixture("audio_sine.wav"), ErrorCode::kInvalidArgument, "no_video_stream");
  expect_error(fixture("audio_stereo.mp3"), ErrorCode::kInvalidArgument, "no_video_stream");
  expect_error(fixture("truncated.mp4"), ErrorCode::kInvalidArgument, "corrupt");
  {
    auto s = FrameSampler::open(fixture("corrupt_header.mp4"), {});
    ASSERT_FALSE(s.ok());
    const std::string reason = s.error().details.value("reason", "");
    EXPECT_TRUE(reason == "corrupt" || reason == "not_media") << s.error().message;
  }
  FrameSamplerOptions bad;
  bad.max_width = -1;
  auto s = FrameSampler::open(fixture("video_only.mp4"), bad);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().details.value("field", ""), "max_width");
  EXPECT_FALSE(sample_every(fixture("video_only.mp4"), 0, {}, [](const VideoFrame&) {
                 return Status{};
               }).ok());
  EXPECT_FALSE(sample_at(fixture("video_only.mp4"), {-5}, {}, [](const VideoFrame&) {
                 return Status{};
               }).ok());
  auto ok = FrameSampler::open(fixture("video_only.mp4"), tiny_gray());
  ASSERT_TRUE(ok.ok());
  VideoFrame f;
  auto neg = (*ok)->frame_at(-1, f);
  ASSERT_FALSE(neg.ok());
  EXPECT_EQ(neg.error().details.value("field", ""), "t_ms");
  // A callback's error stops the iteration and comes back.
  int calls = 0;
  Status stopped = for_each_frame(fixture("video_only.mp4"), tiny_gray(), [&](const VideoFrame&) {
    return ++calls == 3 ? Status(Error::internal("stop")) : Status{};
  });
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().message, "stop");
  EXPECT_EQ(calls, 3);
}

}  // namespace
}  // namespace atomcut

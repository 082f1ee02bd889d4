// Tests of the render planner (engines/render/render_planner.h): plans built from small
// SequenceSnapshots, checked as data (argv, meta, warnings) and, above all, by rendering them with
// the real ffmpeg CLI and judging the output file the way a viewer would: the colour on screen at
// a time, the tone heard, the level, the frame and sample counts.
//
// Source media is generated once per process (tiny solid-colour H.264 + AAC clips, each with its
// own tone). Output is the draft_480p_fast profile (854x480, 24 fps) so every render is quick.
// Nothing here asserts wall-clock times.
#include "engines/render/render_planner.h"

#include "core/model/clip.h"
#include "core/model/fx_catalog.h"
#include "core/model/render_profiles.h"
#include "core/model/render_request.h"
#include "core/model/sequence.h"
#include "core/model/track.h"
#include "core/model/transition.h"
#include "support/media_checks.h"
#include "support/subprocess.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <numbers>
#include <string>
#include <vector>

namespace atomcut {
namespace {

namespace fs = std::filesystem;
using testing::count_streams;
using testing::dominant_frequency_hz;
using testing::frame_rgb24;
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
const Rgb kGreen{0, 255, 0};  // lavfi "lime"
const Rgb kBlack{0, 0, 0};
constexpr int kTol = 30;  // colour tolerance: H.264 at 1 Mb/s, BT.601 round trips

constexpr int kW = 854, kH = 480, kFps = 24;  // draft_480p_fast
constexpr double kAacFrameS = 1024.0 / 48000;
// lavfi's sine has amplitude 1/8 (copied to both channels of the sources): a peak of -18.06 dBFS,
// an RMS of -21.07 dBFS.
constexpr double kToneRmsDb = -21.07;
constexpr double kToneAmpDb = -18.06;

constexpr double kRedHz = 440, kBlueHz = 660, kGreenHz = 880, kYellowHz = 1320, kAudioHz = 1000;

int64_t frame_at(double ms) { return std::llround(ms * kFps / 1000.0); }
// The middle of output frame `f`, in seconds.
double mid(int64_t f) { return (f + 0.5) / kFps; }

// ---- snapshots ------------------------------------------------------------------------------

Track make_track(std::string id, int64_t order, TrackKind kind = TrackKind::kVideo) {
  Track t;
  t.id = std::move(id);
  t.sequence_id = "seq_test";
  t.kind = kind;
  t.order = order;
  return t;
}

Clip make_clip(std::string id, std::string track, std::string asset, int64_t in_ms, int64_t out_ms,
               int64_t start_ms) {
  Clip c;
  c.id = std::move(id);
  c.track_id = std::move(track);
  c.asset_id = std::move(asset);
  c.in_ms = in_ms;
  c.out_ms = out_ms;
  c.start_ms_on_timeline = start_ms;
  return c;
}

Transition make_transition(std::string id, std::string type, int64_t duration_ms, std::string from,
                           std::string to) {
  Transition t;
  t.id = std::move(id);
  t.sequence_id = "seq_test";
  t.type = std::move(type);
  t.duration_ms = duration_ms;
  t.from_clip_id = std::move(from);
  t.to_clip_id = std::move(to);
  return t;
}

SequenceSnapshot make_snapshot(std::vector<Track> tracks, std::vector<Clip> clips,
                               std::vector<Transition> transitions = {}) {
  SequenceSnapshot s;
  s.sequence.id = "seq_test";
  s.sequence.project_id = "prj_test";
  s.sequence.name = "test";
  for (const auto& t : tracks) s.sequence.tracks.push_back(t.id);
  s.tracks = std::move(tracks);
  s.clips = std::move(clips);
  s.transitions = std::move(transitions);
  return s;
}

const RenderProfile& profile(std::string_view name) {
  auto p = find_render_profile(name);
  EXPECT_TRUE(p.ok()) << name;
  return **p;
}

Result<RenderPlan> plan_with(const SequenceSnapshot& snap,
                             const std::map<std::string, RenderSource>& sources,
                             const RenderRequest& req = {},
                             const RenderProfile& prof = profile("draft_480p_fast"),
                             std::optional<LoudnessMeasurement> loudness = std::nullopt) {
  PlannerInput in;
  in.request = &req;
  in.profile = &prof;
  in.snapshot = &snap;
  in.sources = &sources;
  in.loudness = loudness;
  return plan_render(in);
}

// Position of `flag` in `argv` followed by `value`; -1 when the pair is absent.
ptrdiff_t find_pair(const std::vector<std::string>& argv, const std::string& flag,
                    const std::string& value) {
  for (size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == flag && argv[i + 1] == value) return static_cast<ptrdiff_t>(i);
  }
  return -1;
}
bool has(const std::vector<std::string>& argv, const std::string& arg) {
  return std::find(argv.begin(), argv.end(), arg) != argv.end();
}
bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// The warning of `code` (for `clip_id` when given) in plan meta, or null.
nlohmann::json find_warning(const nlohmann::json& warnings, const std::string& code,
                            const std::string& clip_id = "") {
  for (const auto& w : warnings) {
    if (w.value("code", "") == code && (clip_id.empty() || w.value("clip_id", "") == clip_id)) {
      return w;
    }
  }
  return nullptr;
}

// ---- decoding helpers beyond media_checks.h ---------------------------------------------------

// Every video frame of `path`, shrunk to 32x18 rgb24 (area average), in decode order. One ffmpeg
// run for the whole file, so a test can check the colour of every frame.
constexpr int kThumbW = 32, kThumbH = 18;
std::vector<std::vector<uint8_t>> all_frames(const std::string& path) {
  auto r = run_command({"ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", path, "-map",
                        "0:v:0", "-vf", fmt::format("scale={}:{}:flags=area", kThumbW, kThumbH),
                        "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::vector<uint8_t>> frames;
  const size_t n = kThumbW * kThumbH * 3;
  for (size_t at = 0; at + n <= r.out.size(); at += n) {
    frames.emplace_back(r.out.begin() + static_cast<ptrdiff_t>(at),
                        r.out.begin() + static_cast<ptrdiff_t>(at + n));
  }
  return frames;
}
Rgb thumb_centre(const std::vector<uint8_t>& f) {
  return mean_rgb(f, kThumbW, kThumbH, kThumbW / 2, kThumbH / 2, 4);
}

// The first channel of the first audio stream as float samples at 48 kHz.
std::vector<float> decode_pcm(const std::string& path) {
  auto r = run_command({"ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", path, "-map",
                        "0:a:0", "-af", "pan=mono|c0=c0", "-ar", "48000", "-f", "f32le", "-"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<float> pcm(r.out.size() / sizeof(float));
  std::memcpy(pcm.data(), r.out.data(), pcm.size() * sizeof(float));
  return pcm;
}

// Amplitude (dBFS, a full-scale sine reads 0) of the `hz` component of pcm[t0, t1): a
// Hann-windowed Goertzel, scaled so a steady sine of amplitude A reads 20 log10(A). Tones 220 Hz
// apart are separated by well over 40 dB in a 50 ms window.
double tone_db(const std::vector<float>& pcm, double t0_s, double t1_s, double hz) {
  const size_t a = static_cast<size_t>(std::max(0.0, t0_s) * 48000);
  const size_t b = std::min(pcm.size(), static_cast<size_t>(t1_s * 48000));
  if (b <= a + 16) {
    ADD_FAILURE() << "no audio in [" << t0_s << ", " << t1_s << ") of " << pcm.size() << " samples";
    return NAN;
  }
  const size_t n = b - a;
  const double w = 2 * std::numbers::pi * hz / 48000;
  double re = 0, im = 0, wsum = 0;
  for (size_t i = 0; i < n; ++i) {
    const double hann = 0.5 - 0.5 * std::cos(2 * std::numbers::pi * i / (n - 1));
    re += pcm[a + i] * hann * std::cos(w * i);
    im -= pcm[a + i] * hann * std::sin(w * i);
    wsum += hann;
  }
  const double amp = 2 * std::hypot(re, im) / wsum;
  return amp > 0 ? 20 * std::log10(amp) : -200;
}

// RMS (dBFS) of pcm[t0, t1); -200 for digital silence.
double pcm_rms_db(const std::vector<float>& pcm, double t0_s, double t1_s) {
  const size_t a = static_cast<size_t>(t0_s * 48000);
  const size_t b = std::min(pcm.size(), static_cast<size_t>(t1_s * 48000));
  if (b <= a) return NAN;
  double s = 0;
  for (size_t i = a; i < b; ++i) s += static_cast<double>(pcm[i]) * pcm[i];
  s /= static_cast<double>(b - a);
  return s > 0 ? 10 * std::log10(s) : -200;
}

// ---- the fixture ------------------------------------------------------------------------------

class RenderPlannerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string tmpl = (fs::temp_directory_path() / "atomcut-render-planner-test-XXXXXX").string();
    if (mkdtemp(tmpl.data())) dir_ = tmpl;
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    if (!dir_.empty() && !std::getenv("ATOMCUT_KEEP_TEST_DATA")) fs::remove_all(dir_, ec);
  }

  // `ffmpeg -nostdin -v error -y ARGS DIR/NAME`, once per process; "" (and a failure) if it fails.
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

  static std::vector<std::string> encode_args() {
    return {"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-c:a", "aac",     "-b:a",    "128k",      "-ac",      "2"};
  }

  // `seconds` of a solid 16:9 colour (320x180, 25 fps: not the output's 24) with a sine of `hz`,
  // H.264 + stereo AAC 48 kHz. `draw` is an extra video filter (drawbox) or "".
  static RenderSource colour(const std::string& name, const std::string& c, double hz,
                             int seconds = 3, const std::string& draw = "") {
    std::vector<std::string> args = {
        "-f",
        "lavfi",
        "-i",
        fmt::format("color=c={}:s=320x180:r=25:d={}{}", c, seconds, draw.empty() ? "" : "," + draw),
        "-f",
        "lavfi",
        "-i",
        fmt::format("sine=frequency={}:sample_rate=48000:duration={},pan=stereo|c0=c0|c1=c0", hz,
                    seconds)};
    auto enc = encode_args();
    args.insert(args.end(), enc.begin(), enc.end());
    RenderSource s;
    s.asset_id = "ast_" + name;
    s.path = make(name + ".mp4", args);
    s.kind = MediaKind::kVideo;
    s.has_video = s.has_audio = true;
    s.width = 320;
    s.height = 180;
    s.duration_ms = seconds * 1000;
    return s;
  }
  static RenderSource red() { return colour("red", "red", kRedHz); }
  static RenderSource blue() { return colour("blue", "blue", kBlueHz); }
  static RenderSource green() { return colour("green", "lime", kGreenHz); }
  static RenderSource yellow() { return colour("yellow", "yellow", kYellowHz); }

  // 3 s of video only (no audio track): `w`x`h` of colour `c`, `draw` an extra filter or "".
  static RenderSource silent_video(const std::string& name, const std::string& c, int w, int h,
                                   const std::string& draw = "") {
    RenderSource s;
    s.asset_id = "ast_" + name;
    s.path =
        make(name + ".mp4",
             {"-f", "lavfi", "-i",
              fmt::format("color=c={}:s={}x{}:r=25:d=3{}", c, w, h, draw.empty() ? "" : "," + draw),
              "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"});
    s.kind = MediaKind::kVideo;
    s.has_video = true;
    s.width = w;
    s.height = h;
    s.duration_ms = 3000;
    return s;
  }
  // A small layer: 160x90 of `c`, no audio.
  static RenderSource small(const std::string& name, const std::string& c) {
    return silent_video(name, c, 160, 90);
  }

  // A still image: 320x180 of `c` as a PNG.
  static RenderSource image(const std::string& name, const std::string& c) {
    RenderSource s;
    s.asset_id = "ast_" + name;
    s.path = make(name + ".png",
                  {"-f", "lavfi", "-i", fmt::format("color=c={}:s=320x180", c), "-frames:v", "1"});
    s.kind = MediaKind::kImage;
    s.has_video = true;
    s.width = 320;
    s.height = 180;
    return s;
  }

  // 3 s of a 1 kHz tone, stereo AAC in an .m4a: an audio-only asset.
  static RenderSource tone() {
    RenderSource s;
    s.asset_id = "ast_tone";
    s.path = make("tone.m4a", {"-f", "lavfi", "-i",
                               fmt::format("sine=frequency={}:sample_rate=48000:duration=3,"
                                           "pan=stereo|c0=c0|c1=c0",
                                           kAudioHz),
                               "-c:a", "aac", "-b:a", "128k", "-ac", "2"});
    s.kind = MediaKind::kAudio;
    s.has_audio = true;
    s.duration_ms = 3000;
    return s;
  }

  // 2 s: red with a 440 Hz tone for 1 s, then blue with 660 Hz for 1 s.
  static RenderSource red_then_blue() {
    std::vector<std::string> args;
    for (const char* spec :
         {"color=c=red:s=320x180:r=25:d=1", "color=c=blue:s=320x180:r=25:d=1",
          "sine=frequency=440:sample_rate=48000:duration=1,pan=stereo|c0=c0|c1=c0",
          "sine=frequency=660:sample_rate=48000:duration=1,pan=stereo|c0=c0|c1=c0"}) {
      args.insert(args.end(), {"-f", "lavfi", "-i", spec});
    }
    args.insert(args.end(), {"-filter_complex", "[0:v][2:a][1:v][3:a]concat=n=2:v=1:a=1[v][a]",
                             "-map", "[v]", "-map", "[a]"});
    auto enc = encode_args();
    args.insert(args.end(), enc.begin(), enc.end());
    RenderSource s;
    s.asset_id = "ast_red_then_blue";
    s.path = make("red_then_blue.mp4", args);
    s.kind = MediaKind::kVideo;
    s.has_video = s.has_audio = true;
    s.width = 320;
    s.height = 180;
    s.duration_ms = 2000;
    return s;
  }

  // 2 s sources with a marker, so that moving and wiping differ: red with a white box top left
  // (440 Hz), blue with a yellow box bottom right (660 Hz).
  static RenderSource red_box() {
    return colour("red_box", "red", kRedHz, 2, "drawbox=x=20:y=20:w=80:h=50:color=white:t=fill");
  }
  static RenderSource blue_box() {
    return colour("blue_box", "blue", kBlueHz, 2,
                  "drawbox=x=220:y=110:w=80:h=50:color=yellow:t=fill");
  }

  static std::map<std::string, RenderSource> sources(std::initializer_list<RenderSource> list) {
    std::map<std::string, RenderSource> m;
    for (const auto& s : list) m[s.asset_id] = s;
    return m;
  }

  // Renders `plan` into DIR/NAME<ext>; "" (and a failure) when ffmpeg fails.
  static std::string render(const RenderPlan& plan, const std::string& name) {
    const std::string out = dir_ + "/" + name + plan.extension;
    auto argv = plan.argv(out, false);
    auto r = run_command(argv, 300000);
    if (r.exit_code != 0) {
      ADD_FAILURE() << "render " << name << " failed (" << r.exit_code << "):\n"
                    << shell_quote_command(argv) << "\n"
                    << r.err.substr(r.err.size() > 4000 ? r.err.size() - 4000 : 0);
      return "";
    }
    return out;
  }

  // The output has exactly plan.frames frames at 24 fps and its audio lasts as long (to within one
  // AAC frame).
  static void expect_exact_length(const std::string& path, const RenderPlan& plan) {
    const auto c = count_streams(path);
    EXPECT_EQ(c.video_frames, plan.frames);
    EXPECT_EQ(c.fps_rational, "24/1");
    EXPECT_EQ(c.width, kW);
    EXPECT_EQ(c.height, kH);
    EXPECT_NEAR(c.video_duration_s, static_cast<double>(plan.frames) / kFps, 1e-6);
    EXPECT_NEAR(c.audio_packet_duration_s, c.video_duration_s, kAacFrameS);
    EXPECT_NEAR(c.audio_duration_s, c.video_duration_s, kAacFrameS);
    EXPECT_EQ(c.audio_sample_rate, 48000);
  }

  static inline std::string dir_;
};

// =============================================================================================
// 1. Determinism and the argv

SequenceSnapshot busy_snapshot() {
  auto a = make_clip("clp_a", "trk_v1", "ast_red", 0, 1000, 0);
  auto b = make_clip("clp_b", "trk_v1", "ast_blue", 200, 1400, 700);
  auto c = make_clip("clp_c", "trk_v2", "ast_green", 0, 900, 400);
  c.scale_mode = ScaleMode::kNone;
  c.opacity = 0.5;
  c.position = {30, -20};
  auto d = make_clip("clp_d", "trk_a1", "ast_tone", 100, 1600, 250);
  d.volume_db = -3;
  d.fade_in_ms = 200;
  d.speed = 1.5;
  auto tracks = std::vector<Track>{make_track("trk_v1", 0), make_track("trk_v2", 1),
                                   make_track("trk_a1", 2, TrackKind::kAudio)};
  // trn_9 and trn_5 join clips that are not neighbours on a track: never rendered.
  return make_snapshot(tracks, {a, b, c, d},
                       {make_transition("trn_1", "wipe_left", 300, "clp_a", "clp_b"),
                        make_transition("trn_9", "slide_up", 300, "clp_a", "clp_c"),
                        make_transition("trn_5", "crossfade", 300, "clp_c", "clp_d")});
}

TEST_F(RenderPlannerTest, SameInputGivesTheSamePlanAndArgvWithoutAShell) {
  const auto src = sources({red(), blue(), green(), tone()});
  RenderRequest req;
  req.normalize_audio = true;
  const auto snap = busy_snapshot();
  auto p1 = plan_with(snap, src, req);
  auto p2 = plan_with(snap, src, req);
  ASSERT_TRUE(p1.ok()) << p1.error().message;
  ASSERT_TRUE(p2.ok()) << p2.error().message;
  EXPECT_EQ(to_json(*p1).dump(), to_json(*p2).dump());
  EXPECT_EQ(p1->argv("/tmp/out.mp4", false), p2->argv("/tmp/out.mp4", false));
  EXPECT_EQ(p1->argv("/tmp/out.mp4", true), p2->argv("/tmp/out.mp4", true));

  // The records' order in the snapshot does not matter: the planner sorts them.
  auto shuffled = snap;
  std::reverse(shuffled.tracks.begin(), shuffled.tracks.end());
  std::reverse(shuffled.clips.begin(), shuffled.clips.end());
  std::reverse(shuffled.transitions.begin(), shuffled.transitions.end());
  auto p3 = plan_with(shuffled, src, req);
  ASSERT_TRUE(p3.ok()) << p3.error().message;
  EXPECT_EQ(to_json(*p1).dump(), to_json(*p3).dump());

  // An argv, not a shell line: ffmpeg itself, the graph as one element, one -i per input.
  const auto argv = p1->argv("/tmp/out.mp4", false);
  ASSERT_FALSE(argv.empty());
  EXPECT_EQ(argv[0], "ffmpeg");
  for (const char* shell : {"sh", "/bin/sh", "bash", "/bin/bash", "-c"}) {
    EXPECT_FALSE(has(argv, shell)) << shell;
  }
  auto g = std::find(argv.begin(), argv.end(), "-filter_complex");
  ASSERT_NE(g, argv.end());
  ASSERT_NE(g + 1, argv.end());
  EXPECT_EQ(*(g + 1), p1->filter_graph());
  EXPECT_EQ(std::count(argv.begin(), argv.end(), "-i"), static_cast<ptrdiff_t>(p1->inputs.size()));
  EXPECT_EQ(p1->inputs.size(), 4u);  // one per clip
  EXPECT_FALSE(has(argv, "-progress"));
  EXPECT_NE(find_pair(p1->argv("/tmp/out.mp4", true), "-progress", "pipe:1"), -1);
  ASSERT_GE(argv.size(), 3u);
  EXPECT_EQ(argv[argv.size() - 3], "-f");
  EXPECT_EQ(argv[argv.size() - 2], "mp4");
  EXPECT_EQ(argv.back(), "/tmp/out.mp4");
  EXPECT_NE(find_pair(argv, "-map", "[" + p1->video_out + "]"), -1);
  EXPECT_NE(find_pair(argv, "-map", "[" + p1->audio_out + "]"), -1);

  // The same plan renders.
  auto r1 = plan_with(snap, src);
  ASSERT_TRUE(r1.ok());
  const std::string out = render(*r1, "busy");
  ASSERT_FALSE(out.empty());
  expect_exact_length(out, *r1);
}

TEST_F(RenderPlannerTest, PathsWithShellCharactersReachFfmpegVerbatim) {
  RenderSource s = red();
  ASSERT_FALSE(s.path.empty());
  const std::string odd = dir_ + "/it's a \"clip\"; $(echo no) & (1).mp4";
  fs::copy_file(s.path, odd, fs::copy_options::overwrite_existing);
  s.path = odd;
  const auto src = sources({s});
  const auto snap = make_snapshot({make_track("trk_v1", 0)},
                                  {make_clip("clp_a", "trk_v1", "ast_red", 0, 500, 0)});
  auto plan = plan_with(snap, src);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  const std::string out_name = "out put; 'quoted'";
  const auto argv = plan->argv(dir_ + "/" + out_name + ".mp4", false);
  EXPECT_TRUE(has(argv, odd));
  const std::string out = render(*plan, out_name);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(count_streams(out).video_frames, 12);
  EXPECT_TRUE(rgb_near(sample_rgb(out, 0.25, kW / 2, kH / 2), kRed, kTol));
}

// =============================================================================================
// 2. Exact length and no drift over many short clips

TEST_F(RenderPlannerTest, TwentyShortClipsHaveExactLengthAndNoDrift) {
  const auto src = sources({red(), blue()});
  // 20 clips of 300 ms (7.2 frames at 24 fps: they alternate 7 and 8 frames), back to back, read
  // from varied points of 25 fps sources. Even clips red (440 Hz), odd ones blue (660 Hz).
  std::vector<Clip> clips;
  for (int i = 0; i < 20; ++i) {
    const int64_t in = (i * 137) % 2000;
    clips.push_back(make_clip(fmt::format("clp_{:02}", i), "trk_v1", i % 2 ? "ast_blue" : "ast_red",
                              in, in + 300, i * 300));
  }
  const auto snap = make_snapshot({make_track("trk_v1", 0)}, clips);
  auto plan = plan_with(snap, src);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->frames, 144);  // round(6.000 s * 24)
  EXPECT_EQ(plan->duration_ms, 6000);
  EXPECT_EQ(plan->audio_samples, 288000);
  EXPECT_EQ(plan->meta["warnings"].size(), 0u) << plan->meta["warnings"].dump();

  const std::string out = render(*plan, "twenty");
  ASSERT_FALSE(out.empty());
  expect_exact_length(out, *plan);

  // Every frame shows the clip the timeline places there: clip i covers frames
  // [round(7.2 i), round(7.2 (i + 1))). Rounding each clip's length on its own would drift by
  // several frames by the end.
  const auto frames = all_frames(out);
  ASSERT_EQ(frames.size(), 144u);
  for (int i = 0; i < 20; ++i) {
    for (int64_t f = frame_at(i * 300); f < frame_at((i + 1) * 300); ++f) {
      EXPECT_TRUE(rgb_near(thumb_centre(frames[f]), i % 2 ? kBlue : kRed, kTol))
          << "frame " << f << " of clip " << i;
    }
  }
  // The last clip starts exactly on frame 137 (5.7083 s): frame 136 is still red.
  EXPECT_TRUE(rgb_near(sample_rgb(out, mid(136), 10, 10), kRed, kTol));
  EXPECT_TRUE(rgb_near(sample_rgb(out, mid(137), 10, 10), kBlue, kTol));

  // The audio follows the same grid: each clip's tone is heard in its own stretch, and the
  // other's is not.
  const auto pcm = decode_pcm(out);
  for (int i = 0; i < 20; ++i) {
    const double t0 = frame_at(i * 300) / double(kFps), t1 = frame_at((i + 1) * 300) / double(kFps);
    const double own = tone_db(pcm, t0 + 0.07, t1 - 0.07, i % 2 ? kBlueHz : kRedHz);
    const double other = tone_db(pcm, t0 + 0.07, t1 - 0.07, i % 2 ? kRedHz : kBlueHz);
    EXPECT_NEAR(own, kToneAmpDb, 1.5) << "clip " << i;
    EXPECT_LT(other, own - 25) << "clip " << i;
  }
  EXPECT_NEAR(dominant_frequency_hz(out, 5.75, 0.2), kBlueHz, 2);
  EXPECT_NEAR(dominant_frequency_hz(out, 5.45, 0.2), kRedHz, 2);
}

// =============================================================================================
// 3. Placement on every track

TEST_F(RenderPlannerTest, PlacesClipsOnEveryTrackAtTheirTimes) {
  const auto src = sources({red(), blue(), small("small_green", "lime"), tone()});
  // V1: red [0, 1000), gap, blue [2000, 3000)
  // V2: a 160x90 green layer (scale_mode none: its own size, centred) at [500, 1100), no audio
  // A1: the 1 kHz tone at [1300, 2500)
  auto layer = make_clip("clp_layer", "trk_v2", "ast_small_green", 0, 600, 500);
  layer.scale_mode = ScaleMode::kNone;
  const auto snap =
      make_snapshot({make_track("trk_v1", 0), make_track("trk_v2", 1),
                     make_track("trk_a1", 2, TrackKind::kAudio)},
                    {make_clip("clp_red", "trk_v1", "ast_red", 0, 1000, 0),
                     make_clip("clp_blue", "trk_v1", "ast_blue", 0, 1000, 2000), layer,
                     make_clip("clp_tone", "trk_a1", "ast_tone", 0, 1200, 1300)});
  auto plan = plan_with(snap, src);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->frames, 72);
  const std::string out = render(*plan, "placement");
  ASSERT_FALSE(out.empty());
  expect_exact_length(out, *plan);

  const int lx = (kW - 160) / 2, ly = (kH - 90) / 2;  // the layer's top-left: 347, 195
  struct At {
    double t;
    Rgb centre, corner;
  };
  for (const At& at : {At{0.25, kRed, kRed}, At{0.75, kGreen, kRed}, At{1.2, kBlack, kBlack},
                       At{1.6, kBlack, kBlack}, At{2.25, kBlue, kBlue}, At{2.75, kBlue, kBlue}}) {
    int w = 0, h = 0;
    const auto f = frame_rgb24(out, at.t, &w, &h);
    ASSERT_EQ(w, kW);
    ASSERT_EQ(h, kH);
    EXPECT_TRUE(rgb_near(mean_rgb(f, w, h, kW / 2, kH / 2), at.centre, kTol)) << "t=" << at.t;
    EXPECT_TRUE(rgb_near(mean_rgb(f, w, h, 12, 12), at.corner, kTol)) << "t=" << at.t;
    EXPECT_TRUE(rgb_near(mean_rgb(f, w, h, kW - 12, kH - 12), at.corner, kTol)) << "t=" << at.t;
  }
  // The layer's edges are where scale_mode none + centring put them.
  int w = 0, h = 0;
  const auto f = frame_rgb24(out, 0.75, &w, &h);
  ASSERT_EQ(w, kW);
  EXPECT_TRUE(rgb_near(mean_rgb(f, w, h, lx + 6, ly + 6, 4), kGreen, kTol));
  EXPECT_TRUE(rgb_near(mean_rgb(f, w, h, lx - 6, ly + 6, 4), kRed, kTol));
  EXPECT_TRUE(rgb_near(mean_rgb(f, w, h, lx + 160 - 6, ly + 90 - 6, 4), kGreen, kTol));
  EXPECT_TRUE(rgb_near(mean_rgb(f, w, h, lx + 160 + 6, ly + 90 + 6, 4), kRed, kTol));
  EXPECT_TRUE(rgb_near(mean_rgb(f, w, h, lx + 80, ly - 6, 4), kRed, kTol));

  // The layer ends on frame round(1100 * 0.024) = 26, the tone starts on frame 31.
  EXPECT_TRUE(rgb_near(sample_rgb(out, mid(25), kW / 2, kH / 2), kGreen, kTol));
  EXPECT_TRUE(rgb_near(sample_rgb(out, mid(26), kW / 2, kH / 2), kBlack, kTol));

  const auto pcm = decode_pcm(out);
  EXPECT_NEAR(dominant_frequency_hz(out, 0.3, 0.4), kRedHz, 2);  // the red clip's own tone
  EXPECT_NEAR(dominant_frequency_hz(out, 0.6, 0.3), kRedHz, 2);  // the layer adds no sound
  EXPECT_LT(pcm_rms_db(pcm, 1.06, 1.24), -60);                   // nothing plays: silence
  EXPECT_NEAR(dominant_frequency_hz(out, 1.4, 0.5), kAudioHz, 2);
  EXPECT_NEAR(rms_dbfs(out, 1.4, 0.5), kToneRmsDb, 1);
  // [2000, 2500): the blue clip's tone and the audio track's, both at full level.
  EXPECT_NEAR(tone_db(pcm, 2.05, 2.45, kBlueHz), kToneAmpDb, 1.5);
  EXPECT_NEAR(tone_db(pcm, 2.05, 2.45, kAudioHz), kToneAmpDb, 1.5);
  // [2500, 3000): the blue clip's alone.
  EXPECT_NEAR(tone_db(pcm, 2.55, 2.95, kBlueHz), kToneAmpDb, 1.5);
  EXPECT_LT(tone_db(pcm, 2.55, 2.95, kAudioHz), -60);
}

TEST_F(RenderPlannerTest, SoundOnlyMediaOnAnUpperVideoTrackHidesNothing) {
  // V1: red [0, 2000); V2: the 1 kHz tone (an audio-only asset) at [500, 1500).
  const auto src = sources({red(), tone()});
  const auto snap = make_snapshot({make_track("trk_v1", 0), make_track("trk_v2", 1)},
                                  {make_clip("clp_red", "trk_v1", "ast_red", 0, 2000, 0),
                                   make_clip("clp_tone", "trk_v2", "ast_tone", 0, 1000, 500)});
  auto plan = plan_with(snap, src);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  const std::string out = render(*plan, "sound_only_upper");
  ASSERT_FALSE(out.empty());
  expect_exact_length(out, *plan);
  // The red picture shows through while the tone plays, and the tone is heard.
  EXPECT_TRUE(rgb_near(sample_rgb(out, 1.0, kW / 2, kH / 2), kRed, kTol));
  const auto pcm = decode_pcm(out);
  EXPECT_NEAR(tone_db(pcm, 0.8, 1.2, kAudioHz), kToneAmpDb, 1.5);
  EXPECT_NEAR(tone_db(pcm, 0.8, 1.2, kRedHz), kToneAmpDb, 1.5);
}

TEST_F(RenderPlannerTest, ScaleModesCropPositionAndOpacityShapeThePicture) {
  const auto src = sources(
      {silent_video("red_43", "red", 320, 240),
       silent_video("half", "red", 320, 180, "drawbox=x=160:y=0:w=160:h=180:color=blue:t=fill"),
       red(), blue(), small("small_green", "lime")});
  auto fit = make_clip("clp_fit", "trk_v1", "ast_red_43", 0, 500, 0);
  auto fill = make_clip("clp_fill", "trk_v1", "ast_red_43", 0, 500, 500);
  fill.scale_mode = ScaleMode::kFill;
  auto stretch = make_clip("clp_stretch", "trk_v1", "ast_red_43", 0, 500, 1000);
  stretch.scale_mode = ScaleMode::kStretch;
  auto crop = make_clip("clp_crop", "trk_v1", "ast_half", 0, 500, 1500);
  crop.crop.left = 0.5;  // keeps the blue right half
  auto faint = make_clip("clp_faint", "trk_v1", "ast_red", 0, 500, 2000);
  faint.opacity = 0.5;
  auto moved = make_clip("clp_moved", "trk_v2", "ast_small_green", 0, 500, 2500);
  moved.scale_mode = ScaleMode::kNone;
  moved.position = {200, -100};
  auto over = make_clip("clp_over", "trk_v2", "ast_red", 0, 500, 3000);
  over.opacity = 0.5;
  const auto snap =
      make_snapshot({make_track("trk_v1", 0), make_track("trk_v2", 1)},
                    {fit, fill, stretch, crop, faint,
                     make_clip("clp_blue", "trk_v1", "ast_blue", 0, 1000, 2500), moved, over});
  auto plan = plan_with(snap, src);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->frames, 84);
  const std::string out = render(*plan, "geometry");
  ASSERT_FALSE(out.empty());
  expect_exact_length(out, *plan);

  struct Point {
    int x, y;
    Rgb want;
  };
  const Rgb kHalfRed{128, 0, 0}, kRedOverBlue{128, 0, 128};
  auto check = [&](double t, std::vector<Point> points) {
    int w = 0, h = 0;
    const auto f = frame_rgb24(out, t, &w, &h);
    ASSERT_EQ(w, kW) << "t=" << t;
    for (const auto& p : points) {
      EXPECT_TRUE(rgb_near(mean_rgb(f, w, h, p.x, p.y, 6), p.want, kTol))
          << "t=" << t << " at " << p.x << "," << p.y;
    }
  };
  // fit: a 4:3 picture is 640x480, pillarboxed from x = 107 to 747.
  check(0.25, {{427, 240, kRed},
               {87, 240, kBlack},
               {127, 240, kRed},
               {727, 240, kRed},
               {767, 240, kBlack}});
  // fill: cropped to cover the frame; stretch: distorted to cover it.
  check(0.75, {{10, 10, kRed}, {843, 469, kRed}, {427, 240, kRed}});
  check(1.25, {{10, 10, kRed}, {843, 469, kRed}, {427, 240, kRed}});
  // crop left 0.5 of a red|blue picture: a 160x180 blue picture, fit to 426x480 at x = 214.
  check(1.75, {{427, 240, kBlue},
               {240, 240, kBlue},
               {614, 240, kBlue},
               {190, 240, kBlack},
               {664, 240, kBlack}});
  // opacity 0.5 over the black background.
  check(2.25, {{427, 240, kHalfRed}, {10, 10, kHalfRed}});
  // A 160x90 layer moved 200 px right and 100 px up from the centre: top-left (547, 95).
  check(2.75, {{627, 140, kGreen},
               {557, 105, kGreen},
               {697, 175, kGreen},
               {537, 140, kBlue},
               {627, 195, kBlue},
               {427, 240, kBlue}});
  // opacity 0.5 over a lower track.
  check(3.25, {{427, 240, kRedOverBlue}, {10, 10, kRedOverBlue}});
}

TEST_F(RenderPlannerTest, ImageClipHoldsItsPictureForTheClipsLength) {
  const auto src = sources({image("still_green", "lime"), red()});
  const auto snap = make_snapshot({make_track("trk_v1", 0)},
                                  {make_clip("clp_img", "trk_v1", "ast_still_green", 0, 1500, 0),
                                   make_clip("clp_r", "trk_v1", "ast_red", 0, 500, 1500)});
  auto plan = plan_with(snap, src);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->frames, 48);
  EXPECT_TRUE(plan->meta["warnings"].empty()) << plan->meta["warnings"].dump();
  const std::string out = render(*plan, "image");
  ASSERT_FALSE(out.empty());
  expect_exact_length(out, *plan);
  const auto frames = all_frames(out);
  ASSERT_EQ(frames.size(), 48u);
  for (size_t f = 0; f < 48; ++f) {
    EXPECT_TRUE(rgb_near(thumb_centre(frames[f]), f < 36 ? kGreen : kRed, kTol)) << f;
  }
  const auto pcm = decode_pcm(out);
  EXPECT_LT(pcm_rms_db(pcm, 0.0, 1.45), -60);  // an image is silent
  EXPECT_NEAR(tone_db(pcm, 1.55, 1.95, kRedHz), kToneAmpDb, 1.5);
}

// Three 1 s clips joined by two 250 ms crossfades: 2.5 s (the api.md example, scaled down).
TEST_F(RenderPlannerTest, ThreeClipsChainTwoTransitions) {
  const auto src = sources({red(), blue(), green()});
  const auto snap = make_snapshot({make_track("trk_v1", 0)},
                                  {make_clip("clp_a", "trk_v1", "ast_red", 0, 1000, 0),
                                   make_clip("clp_b", "trk_v1", "ast_blue", 0, 1000, 750),
                                   make_clip("clp_c", "trk_v1", "ast_green", 0, 1000, 1500)},
                                  {make_transition("trn_1", "crossfade", 250, "clp_a", "clp_b"),
                                   make_transition("trn_2", "crossfade", 250, "clp_b", "clp_c")});
  auto plan = plan_with(snap, src);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->frames, 60);
  const auto& tr = plan->meta["transitions"];
  ASSERT_EQ(tr.size(), 2u);
  EXPECT_EQ(tr[0]["start_ms"], 750);
  EXPECT_EQ(tr[1]["start_ms"], 1500);
  const std::string out = render(*plan, "three_clips");
  ASSERT_FALSE(out.empty());
  expect_exact_length(out, *plan);
  const auto frames = all_frames(out);
  ASSERT_EQ(frames.size(), 60u);
  for (size_t f = 0; f < 60; ++f) {
    if (f < 18 || (f >= 24 && f < 36) || f >= 42) {
      const Rgb want = f < 18 ? kRed : f < 36 ? kBlue : kGreen;
      EXPECT_TRUE(rgb_near(thumb_centre(frames[f]), want, kTol)) << f;
    }
  }
  // Each crossfade is half way on its middle frame (18 + 3, 36 + 3).
  EXPECT_TRUE(rgb_near(thumb_centre(frames[21]), Rgb{128, 0, 128}, kTol));
  EXPECT_TRUE(rgb_near(thumb_centre(frames[39]), Rgb{0, 128, 128}, kTol));
  const auto pcm = decode_pcm(out);
  EXPECT_NEAR(tone_db(pcm, 0.05, 0.7, kRedHz), kToneAmpDb, 1.5);
  EXPECT_NEAR(tone_db(pcm, 1.05, 1.45, kBlueHz), kToneAmpDb, 1.5);
  EXPECT_LT(tone_db(pcm, 1.05, 1.45, kRedHz), -50);
  EXPECT_LT(tone_db(pcm, 1.05, 1.45, kGreenHz), -50);
  EXPECT_NEAR(tone_db(pcm, 1.8, 2.45, kGreenHz), kToneAmpDb, 1.5);
}

TEST_F(RenderPlannerTest, LaterClipCoversTheEarlierWhereTheyOverlap) {
  const auto src = sources({red(), blue()});
  const auto snap = make_snapshot({make_track("trk_v1", 0)},
                                  {make_clip("clp_r", "trk_v1", "ast_red", 0, 1000, 0),
                                   make_clip("clp_b", "trk_v1", "ast_blue", 0, 1000, 500)});
  auto plan = plan_with(snap, src);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->frames, 36);
  const std::string out = render(*plan, "overlap");
  ASSERT_FALSE(out.empty());
  expect_exact_length(out, *plan);
  const auto frames = all_frames(out);
  ASSERT_EQ(frames.size(), 36u);
  for (size_t f = 0; f < 36; ++f) {
    EXPECT_TRUE(rgb_near(thumb_centre(frames[f]), f < 12 ? kRed : kBlue, kTol)) << f;
  }
  const auto pcm = decode_pcm(out);
  EXPECT_NEAR(tone_db(pcm, 0.05, 0.45, kRedHz), kToneAmpDb, 1.5);
  EXPECT_NEAR(tone_db(pcm, 0.55, 1.45, kBlueHz), kToneAmpDb, 1.5);
  EXPECT_LT(tone_db(pcm, 0.55, 1.45, kRedHz), -50);

  // Two clips on the same frame: the later in (start, id) order covers the other entirely.
  const auto same = make_snapshot({make_track("trk_v1", 0)},
                                  {make_clip("clp_b", "trk_v1", "ast_blue", 0, 1000, 0),
                                   make_clip("clp_a", "trk_v1", "ast_red", 0, 1000, 10)});
  auto plan2 = plan_with(same, src);
  ASSERT_TRUE(plan2.ok()) << plan2.error().message;
  EXPECT_FALSE(find_warning(plan2->meta["warnings"], "clip_hidden", "clp_b").is_null())
      << plan2->meta["warnings"].dump();
  EXPECT_EQ(plan2->inputs.size(), 1u);
}

// A short clip over the middle of a longer one on the same track covers it only while it plays
// (api.md: "the later one covers the earlier"): the longer clip is seen and heard again after.
TEST_F(RenderPlannerTest, ClipInsideALongerOneCoversOnlyItsOwnSpan) {
  const auto src = sources({red(), blue()});
  const auto snap = make_snapshot({make_track("trk_v1", 0)},
                                  {make_clip("clp_long", "trk_v1", "ast_red", 0, 3000, 0),
                                   make_clip("clp_short", "trk_v1", "ast_blue", 0, 1000, 1000)});
  auto plan = plan_with(snap, src);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->frames, 72);
  const std::string out = render(*plan, "nested");
  ASSERT_FALSE(out.empty());
  expect_exact_length(out, *plan);
  const auto frames = all_frames(out);
  ASSERT_EQ(frames.size(), 72u);
  for (size_t f = 0; f < 72; ++f) {
    EXPECT_TRUE(rgb_near(thumb_centre(frames[f]), f >= 24 && f < 48 ? kBlue : kRed, kTol))
        << "frame " << f;
  }
  const auto pcm = decode_pcm(out);
  EXPECT_NEAR(tone_db(pcm, 1.05, 1.95, kBlueHz), kToneAmpDb, 1.5);
  EXPECT_NEAR(tone_db(pcm, 2.05, 2.95, kRedHz), kToneAmpDb, 1.5);
}

// A transition the planner cannot use because its clips are not neighbours on one track is
// reported like one that no longer fits, not dropped silently.
TEST_F(RenderPlannerTest, TransitionBetweenClipsThatAreNotNeighboursIsReported) {
  const auto src = sources({red(), blue(), green()});
  const auto snap =
      make_snapshot({make_track("trk_v1", 0), make_track("trk_v2", 1)},
                    {make_clip("clp_a", "trk_v1", "ast_red", 0, 1000, 0),
                     make_clip("clp_b", "trk_v1", "ast_blue", 0, 1000, 750),
                     make_clip("clp_c", "trk_v1", "ast_green", 0, 1000, 1500),
                     make_clip("clp_d", "trk_v2", "ast_red", 0, 1000, 500)},
                    {make_transition("trn_skip", "crossfade", 200, "clp_a", "clp_c"),
                     make_transition("trn_cross", "crossfade", 200, "clp_a", "clp_d")});
  auto plan = plan_with(snap, src);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_TRUE(plan->meta["transitions"].empty()) << plan->meta["transitions"].dump();
  const auto& w = plan->meta["warnings"];
  for (const char* id : {"trn_skip", "trn_cross"}) {
    bool found = false;
    for (const auto& x : w) found = found || x.value("transition_id", "") == id;
    EXPECT_TRUE(found) << id << " is neither rendered nor reported: " << w.dump();
  }
}

// =============================================================================================
// 4. Transitions

// red_box [0, 1000) then blue_box from 500 ms with a 500 ms transition of `type`: 36 frames, the
// transition on frames [12, 24), its midpoint frame 18.
SequenceSnapshot two_clip_group(const std::string& type, int64_t duration_ms = 500) {
  return make_snapshot({make_track("trk_v1", 0)},
                       {make_clip("clp_a", "trk_v1", "ast_red_box", 0, 1000, 0),
                        make_clip("clp_b", "trk_v1", "ast_blue_box", 0, 1000, 500)},
                       {make_transition("trn_" + type, type, duration_ms, "clp_a", "clp_b")});
}

TEST_F(RenderPlannerTest, EveryCatalogTransitionRendersItsOwnBlend) {
  const auto src = sources({red_box(), blue_box()});
  ASSERT_EQ(transition_catalog().size(), 9u);
  std::vector<std::vector<uint8_t>> mids;
  std::vector<std::string> names;
  for (const auto& spec : transition_catalog()) {
    const std::string type(spec.type);
    SCOPED_TRACE(type);
    auto plan = plan_with(two_clip_group(type), src);
    ASSERT_TRUE(plan.ok()) << plan.error().message;
    EXPECT_EQ(plan->frames, 36);
    EXPECT_EQ(plan->meta["warnings"].size(), 0u) << plan->meta["warnings"].dump();

    const auto& tr = plan->meta["transitions"];
    ASSERT_EQ(tr.size(), 1u);
    EXPECT_EQ(tr[0]["type"], type);
    EXPECT_EQ(tr[0]["transition_id"], "trn_" + type);
    EXPECT_EQ(tr[0]["order"], 0);
    EXPECT_EQ(tr[0]["track_id"], "trk_v1");
    EXPECT_EQ(tr[0]["from_clip_id"], "clp_a");
    EXPECT_EQ(tr[0]["to_clip_id"], "clp_b");
    EXPECT_EQ(tr[0]["start_ms"], 500);
    EXPECT_EQ(tr[0]["duration_ms"], 500);
    EXPECT_EQ(tr[0]["requested_duration_ms"], 500);
    EXPECT_EQ(tr[0]["clamped"], false);
    EXPECT_EQ(tr[0]["video_alias"], spec.video_alias);
    EXPECT_EQ(tr[0]["audio_alias"], spec.audio_alias);
    const std::string graph = plan->filter_graph();
    EXPECT_TRUE(contains(
        graph, fmt::format("xfade=transition={}:duration=0.5:offset=0.5", spec.video_alias)))
        << graph;
    EXPECT_TRUE(contains(graph, std::string(spec.audio_alias) + "=ns=24000")) << graph;

    const std::string out = render(*plan, "transition_" + type);
    ASSERT_FALSE(out.empty());
    expect_exact_length(out, *plan);
    int w = 0, h = 0;
    const auto before = frame_rgb24(out, mid(6), &w, &h);
    const auto middle = frame_rgb24(out, mid(18), nullptr, nullptr);
    const auto after = frame_rgb24(out, mid(30), nullptr, nullptr);
    ASSERT_EQ(w, kW);
    EXPECT_TRUE(rgb_near(mean_rgb(before, w, h, kW / 2, kH / 2), kRed, kTol));
    EXPECT_TRUE(rgb_near(mean_rgb(after, w, h, kW / 2, kH / 2), kBlue, kTol));
    // Untouched outside the transition: the last frame before it and the first after it.
    EXPECT_TRUE(rgb_near(sample_rgb(out, mid(11), kW / 2, kH / 2), kRed, kTol));
    EXPECT_TRUE(rgb_near(sample_rgb(out, mid(24), kW / 2, kH / 2), kBlue, kTol));
    EXPECT_GT(mean_abs_diff(middle, before), 10);
    EXPECT_GT(mean_abs_diff(middle, after), 10);
    mids.push_back(middle);
    names.push_back(type);

    // acrossfade: each tone alone outside the transition, both at its midpoint.
    const auto pcm = decode_pcm(out);
    EXPECT_NEAR(tone_db(pcm, 0.1, 0.45, kRedHz), kToneAmpDb, 1.5);
    EXPECT_LT(tone_db(pcm, 0.1, 0.45, kBlueHz), -50);
    EXPECT_NEAR(tone_db(pcm, 1.05, 1.45, kBlueHz), kToneAmpDb, 1.5);
    EXPECT_LT(tone_db(pcm, 1.05, 1.45, kRedHz), -50);
    EXPECT_GT(tone_db(pcm, 0.7, 0.8, kRedHz), kToneAmpDb - 12);
    EXPECT_GT(tone_db(pcm, 0.7, 0.8, kBlueHz), kToneAmpDb - 12);
  }
  // No two transition types look alike at their midpoint.
  for (size_t i = 0; i < mids.size(); ++i) {
    for (size_t j = i + 1; j < mids.size(); ++j) {
      EXPECT_GT(mean_abs_diff(mids[i], mids[j]), 10) << names[i] << " vs " << names[j];
    }
  }
}

TEST_F(RenderPlannerTest, TransitionsAreSortedByStartThenIdAndClampedToTheOverlap) {
  const auto src = sources({red(), blue(), green(), yellow()});
  // V1: a [0, 1000) -> b from 750 (250 ms overlap, 1000 ms asked: clamped) -> e from 1500
  //     (250 ms overlap, 250 ms asked). V2: c [0, 2000) -> d from 1500 (500 ms, 500 asked).
  const auto snap = make_snapshot({make_track("trk_v1", 0), make_track("trk_v2", 1)},
                                  {make_clip("clp_a", "trk_v1", "ast_red", 0, 1000, 0),
                                   make_clip("clp_b", "trk_v1", "ast_blue", 0, 1000, 750),
                                   make_clip("clp_e", "trk_v1", "ast_green", 0, 1000, 1500),
                                   make_clip("clp_c", "trk_v2", "ast_yellow", 0, 2000, 0),
                                   make_clip("clp_d", "trk_v2", "ast_red", 1000, 2000, 1500)},
                                  {make_transition("trn_z", "crossfade", 1000, "clp_a", "clp_b"),
                                   make_transition("trn_b", "wipe_right", 250, "clp_b", "clp_e"),
                                   make_transition("trn_a", "slide_down", 500, "clp_c", "clp_d")});
  auto plan = plan_with(snap, src);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  const auto& tr = plan->meta["transitions"];
  ASSERT_EQ(tr.size(), 3u) << tr.dump();
  const char* ids[] = {"trn_z", "trn_a", "trn_b"};
  const int64_t starts[] = {750, 1500, 1500};
  const int64_t durations[] = {250, 500, 250};
  const int64_t requested[] = {1000, 500, 250};
  const bool clamped[] = {true, false, false};
  for (size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(ids[i]);
    EXPECT_EQ(tr[i]["order"], i);
    EXPECT_EQ(tr[i]["transition_id"], ids[i]);
    EXPECT_EQ(tr[i]["start_ms"], starts[i]);
    EXPECT_EQ(tr[i]["duration_ms"], durations[i]);
    EXPECT_EQ(tr[i]["requested_duration_ms"], requested[i]);
    EXPECT_EQ(tr[i]["clamped"], clamped[i]);
  }
  EXPECT_EQ(plan->frames, 60);
  const std::string out = render(*plan, "sorted_transitions");
  ASSERT_FALSE(out.empty());
  expect_exact_length(out, *plan);
  // V2 covers V1 everywhere; after its slide the red clip d is on screen.
  EXPECT_TRUE(rgb_near(sample_rgb(out, 0.5, kW / 2, kH / 2), Rgb{255, 255, 0}, kTol));
  EXPECT_TRUE(rgb_near(sample_rgb(out, 2.3, kW / 2, kH / 2), kRed, kTol));

  // A transition whose clips no longer overlap is rendered as a cut, with a warning.
  auto cut = snap;
  cut.clips[1].start_ms_on_timeline = 1000;  // b now starts where a ends
  auto plan2 = plan_with(cut, src);
  ASSERT_TRUE(plan2.ok()) << plan2.error().message;
  const auto skipped = plan2->meta["warnings"];
  bool found = false;
  for (const auto& w : skipped) {
    found = found || (w["code"] == "transition_skipped" && w["transition_id"] == "trn_z");
  }
  EXPECT_TRUE(found) << skipped.dump();
  for (const auto& t : plan2->meta["transitions"]) EXPECT_NE(t["transition_id"], "trn_z");
}

// A duration that fits but is not a whole number of frames is snapped to the grid (100 ms at
// 24 fps: 2 frames, 83 ms). Nothing was cut short to fit the clips, so it is not "clamped".
TEST_F(RenderPlannerTest, TransitionSnappedToTheFrameGridIsNotReportedAsClamped) {
  const auto src = sources({red_box(), blue_box()});
  auto plan = plan_with(two_clip_group("crossfade", 100), src);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  const auto& tr = plan->meta["transitions"];
  ASSERT_EQ(tr.size(), 1u);
  EXPECT_EQ(tr[0]["duration_ms"], 83);
  EXPECT_EQ(tr[0]["requested_duration_ms"], 100);
  EXPECT_EQ(tr[0]["clamped"], false) << tr[0].dump();
}

TEST_F(RenderPlannerTest, TransitionOnAnUpperTrackBlendsOnlyTheLayer) {
  const auto src = sources({red(), small("small_green", "lime"), small("small_blue", "blue")});
  auto g = make_clip("clp_g", "trk_v2", "ast_small_green", 0, 1000, 0);
  auto b = make_clip("clp_b", "trk_v2", "ast_small_blue", 0, 1000, 500);
  g.scale_mode = b.scale_mode = ScaleMode::kNone;
  const auto snap = make_snapshot({make_track("trk_v1", 0), make_track("trk_v2", 1)},
                                  {make_clip("clp_r", "trk_v1", "ast_red", 0, 1500, 0), g, b},
                                  {make_transition("trn_1", "crossfade", 500, "clp_g", "clp_b")});
  auto plan = plan_with(snap, src);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->frames, 36);
  const std::string out = render(*plan, "upper_transition");
  ASSERT_FALSE(out.empty());
  expect_exact_length(out, *plan);
  for (int64_t f : {6, 18, 30}) {
    int w = 0, h = 0;
    const auto fr = frame_rgb24(out, mid(f), &w, &h);
    ASSERT_EQ(w, kW);
    SCOPED_TRACE(f);
    const Rgb centre = f == 6 ? kGreen : f == 30 ? kBlue : Rgb{0, 128, 128};
    EXPECT_TRUE(rgb_near(mean_rgb(fr, w, h, kW / 2, kH / 2), centre, kTol));
    EXPECT_TRUE(rgb_near(mean_rgb(fr, w, h, 12, 12), kRed, kTol));
    EXPECT_TRUE(rgb_near(mean_rgb(fr, w, h, kW / 2, kH / 2 - 60), kRed, kTol));
  }
}

// =============================================================================================
// 5. Speed

TEST_F(RenderPlannerTest, DoubleSpeedHalvesTheDurationAndKeepsThePitch) {
  const auto src = sources({red_then_blue()});
  auto c = make_clip("clp_fast", "trk_v1", "ast_red_then_blue", 0, 2000, 0);
  c.speed = 2.0;
  auto plan = plan_with(make_snapshot({make_track("trk_v1", 0)}, {c}), src);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->frames, 24);  // 2 s of source in 1 s
  EXPECT_TRUE(contains(plan->filter_graph(), "atempo=2")) << plan->filter_graph();
  const std::string out = render(*plan, "speed2");
  ASSERT_FALSE(out.empty());
  expect_exact_length(out, *plan);
  // The source turns blue at 1 s: at 0.5 s on the timeline.
  EXPECT_TRUE(rgb_near(sample_rgb(out, mid(10), kW / 2, kH / 2), kRed, kTol));
  EXPECT_TRUE(rgb_near(sample_rgb(out, mid(13), kW / 2, kH / 2), kBlue, kTol));
  // atempo keeps the pitch (plain resampling would double it).
  EXPECT_NEAR(dominant_frequency_hz(out, 0.1, 0.3), kRedHz, kRedHz * 0.02);
  EXPECT_NEAR(dominant_frequency_hz(out, 0.6, 0.3), kBlueHz, kBlueHz * 0.02);
  EXPECT_NEAR(rms_dbfs(out, 0.1, 0.3), kToneRmsDb, 1.5);
}

TEST_F(RenderPlannerTest, HalfSpeedDoublesTheDurationAndKeepsThePitch) {
  const auto src = sources({red_then_blue()});
  auto c = make_clip("clp_slow", "trk_v1", "ast_red_then_blue", 0, 2000, 0);
  c.speed = 0.5;
  auto plan = plan_with(make_snapshot({make_track("trk_v1", 0)}, {c}), src);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->frames, 96);  // 2 s of source in 4 s
  const std::string out = render(*plan, "speed05");
  ASSERT_FALSE(out.empty());
  expect_exact_length(out, *plan);
  EXPECT_TRUE(rgb_near(sample_rgb(out, mid(45), kW / 2, kH / 2), kRed, kTol));
  EXPECT_TRUE(rgb_near(sample_rgb(out, mid(50), kW / 2, kH / 2), kBlue, kTol));
  EXPECT_NEAR(dominant_frequency_hz(out, 0.5, 1.0), kRedHz, kRedHz * 0.02);
  EXPECT_NEAR(dominant_frequency_hz(out, 2.5, 1.0), kBlueHz, kBlueHz * 0.02);
  EXPECT_NEAR(rms_dbfs(out, 0.5, 1.0), kToneRmsDb, 1.5);
}

// =============================================================================================
// 6. Audio

TEST_F(RenderPlannerTest, VolumeAndFadesShapeTheLevel) {
  const auto src = sources({red()});
  auto quiet = make_clip("clp_2", "trk_v1", "ast_red", 0, 1000, 1000);
  quiet.volume_db = -6;
  auto fade_in = make_clip("clp_3", "trk_v1", "ast_red", 0, 1000, 2000);
  fade_in.fade_in_ms = 500;
  auto fade_out = make_clip("clp_4", "trk_v1", "ast_red", 0, 1000, 3000);
  fade_out.fade_out_ms = 500;
  const auto snap = make_snapshot(
      {make_track("trk_v1", 0)},
      {make_clip("clp_1", "trk_v1", "ast_red", 0, 1000, 0), quiet, fade_in, fade_out});
  auto plan = plan_with(snap, src);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  const std::string out = render(*plan, "volume");
  ASSERT_FALSE(out.empty());
  expect_exact_length(out, *plan);

  const double ref = rms_dbfs(out, 0.2, 0.6);
  EXPECT_NEAR(ref, kToneRmsDb, 1);
  EXPECT_NEAR(rms_dbfs(out, 1.2, 0.6), ref - 6, 1);
  const auto pcm = decode_pcm(out);
  EXPECT_LT(pcm_rms_db(pcm, 2.0, 2.1), pcm_rms_db(pcm, 2.6, 2.9) - 10);  // fading in
  EXPECT_NEAR(pcm_rms_db(pcm, 2.6, 2.9), ref, 1);                        // after the fade
  EXPECT_NEAR(pcm_rms_db(pcm, 3.1, 3.4), ref, 1);                        // before the fade out
  EXPECT_LT(pcm_rms_db(pcm, 3.9, 4.0), ref - 10);                        // fading out
}

TEST_F(RenderPlannerTest, MutedTrackIsSilentAndHiddenTrackIsOnlyHeard) {
  const auto src = sources({red(), green(), yellow()});
  auto muted = make_track("trk_muted", 1);
  muted.muted = true;
  auto hidden = make_track("trk_hidden", 2);
  hidden.hidden = true;
  const auto snap = make_snapshot({make_track("trk_v1", 0), muted, hidden},
                                  {make_clip("clp_r", "trk_v1", "ast_red", 0, 2000, 0),
                                   make_clip("clp_g", "trk_muted", "ast_green", 0, 2000, 0),
                                   make_clip("clp_y", "trk_hidden", "ast_yellow", 0, 1000, 1000)});
  auto plan = plan_with(snap, src);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  const std::string out = render(*plan, "muted_hidden");
  ASSERT_FALSE(out.empty());
  expect_exact_length(out, *plan);
  // Muting silences a track, it does not hide it; the hidden yellow clip never shows.
  EXPECT_TRUE(rgb_near(sample_rgb(out, 0.5, kW / 2, kH / 2), kGreen, kTol));
  EXPECT_TRUE(rgb_near(sample_rgb(out, 1.5, kW / 2, kH / 2), kGreen, kTol));
  const auto pcm = decode_pcm(out);
  EXPECT_NEAR(tone_db(pcm, 0.1, 0.9, kRedHz), kToneAmpDb, 1.5);
  EXPECT_LT(tone_db(pcm, 0.1, 0.9, kGreenHz), -60);
  EXPECT_NEAR(rms_dbfs(out, 0.2, 0.6), kToneRmsDb, 1);
  // The hidden track is still heard (by design); the muted one still is not.
  EXPECT_NEAR(tone_db(pcm, 1.1, 1.9, kRedHz), kToneAmpDb, 1.5);
  EXPECT_NEAR(tone_db(pcm, 1.1, 1.9, kYellowHz), kToneAmpDb, 1.5);
  EXPECT_LT(tone_db(pcm, 1.1, 1.9, kGreenHz), -60);
}

TEST_F(RenderPlannerTest, OverlappingTonesAreSummedWithoutGainDrop) {
  const auto src = sources({red(), blue()});
  const auto snap = make_snapshot({make_track("trk_v1", 0), make_track("trk_v2", 1)},
                                  {make_clip("clp_r", "trk_v1", "ast_red", 0, 2000, 0),
                                   make_clip("clp_b", "trk_v2", "ast_blue", 0, 1000, 1000)});
  auto plan = plan_with(snap, src);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  const std::string out = render(*plan, "sum");
  ASSERT_FALSE(out.empty());
  expect_exact_length(out, *plan);
  const double one = rms_dbfs(out, 0.2, 0.6);
  const double two = rms_dbfs(out, 1.2, 0.6);
  EXPECT_NEAR(one, kToneRmsDb, 1);
  // Two equal tones of different pitch: twice the power, +3 dB (amix's default normalisation
  // would give -3 dB instead).
  EXPECT_NEAR(two, one + 3.01, 0.7);
  const auto pcm = decode_pcm(out);
  EXPECT_NEAR(tone_db(pcm, 1.1, 1.9, kRedHz), kToneAmpDb, 1);
  EXPECT_NEAR(tone_db(pcm, 1.1, 1.9, kBlueHz), kToneAmpDb, 1);
}

// Two cuts' worth of audio (two groups, mixed) followed by a silent still: the audio stream still
// lasts as long as the picture, silent at the end, and its timestamps run straight on.
TEST_F(RenderPlannerTest, MixedAudioEndingBeforeThePictureIsPaddedWithSilence) {
  const auto src = sources({red(), blue(), image("still_green", "lime")});
  const auto snap =
      make_snapshot({make_track("trk_v1", 0)},
                    {make_clip("clp_r", "trk_v1", "ast_red", 0, 1000, 0),
                     make_clip("clp_b", "trk_v1", "ast_blue", 0, 1000, 1000),
                     make_clip("clp_img", "trk_v1", "ast_still_green", 0, 1000, 2000)});
  auto plan = plan_with(snap, src);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->frames, 72);
  const std::string out = render(*plan, "audio_tail");
  ASSERT_FALSE(out.empty());
  expect_exact_length(out, *plan);
  // Every AAC packet but the last lasts 1024 samples (ffmpeg's muxer shrinks packets to 1 sample
  // when the encoder is fed frames whose timestamps do not advance).
  auto r = run_command({"ffprobe", "-v", "error", "-select_streams", "a", "-show_entries",
                        "packet=duration", "-of", "csv=p=0", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<int64_t> durations;
  for (size_t at = 0; at < r.out.size();) {
    size_t nl = r.out.find('\n', at);
    if (nl == std::string::npos) nl = r.out.size();
    if (nl > at) durations.push_back(std::stoll(r.out.substr(at, nl - at)));
    at = nl + 1;
  }
  ASSERT_FALSE(durations.empty());
  int64_t odd = 0;
  for (size_t i = 0; i + 1 < durations.size(); ++i) odd += durations[i] != 1024;
  EXPECT_EQ(odd, 0) << "of " << durations.size() << " packets";
  const auto pcm = decode_pcm(out);
  EXPECT_NEAR(tone_db(pcm, 0.05, 0.95, kRedHz), kToneAmpDb, 1.5);
  EXPECT_NEAR(tone_db(pcm, 1.05, 1.95, kBlueHz), kToneAmpDb, 1.5);
  EXPECT_LT(pcm_rms_db(pcm, 2.05, 2.95), -60);
  EXPECT_GE(pcm.size(), 144000u);
}

TEST_F(RenderPlannerTest, MonoMixdownHasOneChannel) {
  const auto src = sources({red()});
  RenderRequest req;
  req.audio_mixdown = AudioMixdown::kMono;
  auto plan = plan_with(make_snapshot({make_track("trk_v1", 0)},
                                      {make_clip("clp_r", "trk_v1", "ast_red", 0, 1000, 0)}),
                        src, req);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_NE(find_pair(plan->output_options, "-ac", "1"), -1);
  EXPECT_EQ(plan->meta["audio_mixdown"], "mono");
  const std::string out = render(*plan, "mono");
  ASSERT_FALSE(out.empty());
  expect_exact_length(out, *plan);
  const auto c = count_streams(out);
  EXPECT_EQ(c.audio_channels, 1);
  EXPECT_NEAR(dominant_frequency_hz(out, 0.2, 0.5), kRedHz, 2);
  // Stereo mixdown is the default: two channels.
  auto stereo = plan_with(make_snapshot({make_track("trk_v1", 0)},
                                        {make_clip("clp_r", "trk_v1", "ast_red", 0, 1000, 0)}),
                          src);
  ASSERT_TRUE(stereo.ok());
  EXPECT_NE(find_pair(stereo->output_options, "-ac", "2"), -1);
}

// =============================================================================================
// 7. Window

TEST_F(RenderPlannerTest, WindowRendersExactlyThatPart) {
  const auto src = sources({red(), blue(), green()});
  const auto snap = make_snapshot({make_track("trk_v1", 0)},
                                  {make_clip("clp_r", "trk_v1", "ast_red", 0, 1000, 0),
                                   make_clip("clp_b", "trk_v1", "ast_blue", 0, 1000, 1000),
                                   make_clip("clp_g", "trk_v1", "ast_green", 0, 1000, 2000)});
  RenderRequest req;
  req.start_ms = 700;
  req.end_ms = 2300;
  auto plan = plan_with(snap, src, req);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  // Frames 17 (708 ms) to 55 (2292 ms) of the timeline.
  EXPECT_EQ(plan->frames, frame_at(2300) - frame_at(700));
  EXPECT_EQ(plan->frames, 38);
  EXPECT_EQ(plan->meta["window_ms"]["start_ms"], 708);
  EXPECT_EQ(plan->meta["window_ms"]["end_ms"], 2292);
  EXPECT_EQ(plan->meta["sequence_duration_ms"], 3000);
  const std::string out = render(*plan, "window");
  ASSERT_FALSE(out.empty());
  expect_exact_length(out, *plan);
  const auto frames = all_frames(out);
  ASSERT_EQ(frames.size(), 38u);
  for (int64_t f = 0; f < 38; ++f) {
    const int64_t tf = f + 17;  // the timeline frame it shows
    const Rgb want = tf < 24 ? kRed : tf < 48 ? kBlue : kGreen;
    EXPECT_TRUE(rgb_near(thumb_centre(frames[f]), want, kTol)) << "output frame " << f;
  }
  const auto pcm = decode_pcm(out);
  EXPECT_NEAR(tone_db(pcm, 0.02, 0.25, kRedHz), kToneAmpDb, 1.5);
  EXPECT_LT(tone_db(pcm, 0.02, 0.25, kBlueHz), -50);
  EXPECT_NEAR(tone_db(pcm, 0.35, 1.25, kBlueHz), kToneAmpDb, 1.5);
  EXPECT_NEAR(tone_db(pcm, 1.33, 1.56, kGreenHz), kToneAmpDb, 1.5);
  EXPECT_LT(tone_db(pcm, 1.33, 1.56, kBlueHz), -50);
}

TEST_F(RenderPlannerTest, WindowStartingInsideATransitionStartsWithTheBlend) {
  const auto src = sources({red_box(), blue_box()});
  RenderRequest req;
  req.start_ms = 750;  // the crossfade's midpoint (frame 18)
  req.end_ms = 1250;
  auto plan = plan_with(two_clip_group("crossfade"), src, req);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->frames, 12);
  const std::string out = render(*plan, "window_transition");
  ASSERT_FALSE(out.empty());
  expect_exact_length(out, *plan);
  // The first frame is the crossfade's midpoint: half red, half blue.
  EXPECT_TRUE(rgb_near(sample_rgb(out, mid(0), kW / 2, kH / 2), Rgb{128, 0, 128}, kTol));
  EXPECT_TRUE(rgb_near(sample_rgb(out, mid(8), kW / 2, kH / 2), kBlue, kTol));
  const auto pcm = decode_pcm(out);
  EXPECT_GT(tone_db(pcm, 0.0, 0.1, kRedHz), kToneAmpDb - 12);
  EXPECT_NEAR(tone_db(pcm, 0.3, 0.5, kBlueHz), kToneAmpDb, 1.5);
  EXPECT_LT(tone_db(pcm, 0.3, 0.5, kRedHz), -50);
}

// =============================================================================================
// 8. Warnings and errors

TEST_F(RenderPlannerTest, MissingAssetWarnsAndRendersAsAGap) {
  const auto src = sources({red()});
  const auto snap = make_snapshot({make_track("trk_v1", 0)},
                                  {make_clip("clp_gone", "trk_v1", "ast_gone", 0, 1000, 0),
                                   make_clip("clp_r", "trk_v1", "ast_red", 0, 1000, 1000)});
  auto plan = plan_with(snap, src);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  const auto w = find_warning(plan->meta["warnings"], "missing_asset", "clp_gone");
  ASSERT_FALSE(w.is_null()) << plan->meta["warnings"].dump();
  EXPECT_EQ(w["asset_id"], "ast_gone");
  EXPECT_FALSE(w.value("message", "").empty());
  EXPECT_EQ(plan->frames, 48);  // the gap keeps its place on the timeline
  const std::string out = render(*plan, "missing");
  ASSERT_FALSE(out.empty());
  expect_exact_length(out, *plan);
  EXPECT_TRUE(rgb_near(sample_rgb(out, 0.5, kW / 2, kH / 2), kBlack, kTol));
  EXPECT_TRUE(rgb_near(sample_rgb(out, 1.5, kW / 2, kH / 2), kRed, kTol));
  const auto pcm = decode_pcm(out);
  EXPECT_LT(pcm_rms_db(pcm, 0.05, 0.95), -60);
  EXPECT_NEAR(tone_db(pcm, 1.1, 1.9, kRedHz), kToneAmpDb, 1.5);
}

TEST_F(RenderPlannerTest, ClipPastMediaEndWarnsHoldsTheLastFrameAndGoesSilent) {
  const auto src = sources({red()});  // 3 s
  const auto snap = make_snapshot({make_track("trk_v1", 0)},
                                  {make_clip("clp_long", "trk_v1", "ast_red", 2500, 3500, 0)});
  auto plan = plan_with(snap, src);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  const auto w = find_warning(plan->meta["warnings"], "clip_past_media_end", "clp_long");
  ASSERT_FALSE(w.is_null()) << plan->meta["warnings"].dump();
  EXPECT_EQ(w["out_ms"], 3500);
  EXPECT_EQ(w["media_duration_ms"], 3000);
  // Within one frame of the media's end: no warning.
  auto ok_snap = snap;
  ok_snap.clips[0].out_ms = 3040;
  auto ok_plan = plan_with(ok_snap, src);
  ASSERT_TRUE(ok_plan.ok());
  EXPECT_TRUE(find_warning(ok_plan->meta["warnings"], "clip_past_media_end").is_null());

  EXPECT_EQ(plan->frames, 24);
  const std::string out = render(*plan, "past_end");
  ASSERT_FALSE(out.empty());
  expect_exact_length(out, *plan);
  EXPECT_TRUE(rgb_near(sample_rgb(out, mid(22), kW / 2, kH / 2), kRed, kTol));  // held
  const auto pcm = decode_pcm(out);
  EXPECT_NEAR(tone_db(pcm, 0.05, 0.4, kRedHz), kToneAmpDb, 1.5);
  EXPECT_LT(pcm_rms_db(pcm, 0.6, 0.98), -60);
}

TEST_F(RenderPlannerTest, PreviewOfAnEmptySequenceWarnsAndRendersBlackSilence) {
  const std::map<std::string, RenderSource> none;
  RenderRequest req;
  req.end_ms = 1000;
  // A track but no clips.
  auto plan = plan_with(make_snapshot({make_track("trk_v1", 0)}, {}), none, req);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->meta["preview_warnings"], nlohmann::json::array({"no_clips_for_preview"}));
  EXPECT_EQ(plan->frames, 24);
  const std::string out = render(*plan, "empty_preview");
  ASSERT_FALSE(out.empty());
  expect_exact_length(out, *plan);
  EXPECT_TRUE(rgb_near(sample_rgb(out, 0.5, kW / 2, kH / 2), kBlack, kTol));
  EXPECT_LT(rms_dbfs(out, 0.1, 0.8), -60);

  // No tracks either.
  auto bare = plan_with(make_snapshot({}, {}), none, req);
  ASSERT_TRUE(bare.ok()) << bare.error().message;
  const auto& pw = bare->meta["preview_warnings"];
  EXPECT_EQ(pw.size(), 2u) << pw.dump();
  EXPECT_NE(std::find(pw.begin(), pw.end(), "no_tracks_for_preview"), pw.end()) << pw.dump();
  EXPECT_NE(std::find(pw.begin(), pw.end(), "no_clips_for_preview"), pw.end()) << pw.dump();

  // preview_720p_fast is a preview profile too; the delivery profiles carry no preview_warnings.
  auto p720 = plan_with(make_snapshot({}, {}), none, req, profile("preview_720p_fast"));
  ASSERT_TRUE(p720.ok());
  EXPECT_EQ(p720->meta["preview_warnings"].size(), 2u);
  auto social = plan_with(make_snapshot({}, {}), none, req, profile("social_1080p_h264"));
  ASSERT_TRUE(social.ok());
  EXPECT_FALSE(social->meta.contains("preview_warnings"));
}

TEST_F(RenderPlannerTest, NothingToRenderIsInvalidArgument) {
  const std::map<std::string, RenderSource> none;
  // A zero-length sequence without a window.
  auto empty = plan_with(make_snapshot({make_track("trk_v1", 0)}, {}), none);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(empty.error().details["field"], "sequence");
  EXPECT_EQ(empty.error().details["preview_warnings"],
            nlohmann::json::array({"no_clips_for_preview"}));
  auto bare = plan_with(make_snapshot({}, {}), none);
  ASSERT_FALSE(bare.ok());
  EXPECT_EQ(bare.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bare.error().details["preview_warnings"].size(), 2u);
  auto social = plan_with(make_snapshot({}, {}), none, {}, profile("social_1080p_h264"));
  ASSERT_FALSE(social.ok());
  EXPECT_EQ(social.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(social.error().details.contains("preview_warnings"));

  // A window starting past the end of a 1 s sequence.
  const auto src = sources({red()});
  RenderRequest req;
  req.start_ms = 5000;
  auto past = plan_with(make_snapshot({make_track("trk_v1", 0)},
                                      {make_clip("clp_r", "trk_v1", "ast_red", 0, 1000, 0)}),
                        src, req);
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(past.error().details["sequence_duration_ms"], 1000);

  // Clips shorter than a frame are skipped with a warning; a sequence of only those is empty.
  auto tiny = plan_with(
      make_snapshot({make_track("trk_v1", 0)}, {make_clip("clp_t", "trk_v1", "ast_red", 0, 10, 0)}),
      src);
  ASSERT_FALSE(tiny.ok());
  EXPECT_EQ(tiny.error().code, ErrorCode::kInvalidArgument);
}

// =============================================================================================
// 9. Profiles

TEST_F(RenderPlannerTest, EveryProfileSetsItsOutputOptions) {
  const auto src = sources({red()});
  const auto snap = make_snapshot({make_track("trk_v1", 0)},
                                  {make_clip("clp_r", "trk_v1", "ast_red", 0, 1000, 0)});
  ASSERT_EQ(render_profiles().size(), 5u);
  for (const auto& p : render_profiles()) {
    SCOPED_TRACE(std::string(p.name));
    auto plan = plan_with(snap, src, {}, p);
    ASSERT_TRUE(plan.ok()) << plan.error().message;
    const auto& o = plan->output_options;
    EXPECT_NE(find_pair(o, "-c:v", std::string(p.video_codec)), -1);
    EXPECT_NE(find_pair(o, "-pix_fmt", std::string(p.pix_fmt)), -1);
    EXPECT_NE(find_pair(o, "-r", std::to_string(p.fps)), -1);
    if (p.bitrate.empty()) {
      EXPECT_FALSE(has(o, "-b:v"));
    } else {
      EXPECT_NE(find_pair(o, "-b:v", std::string(p.bitrate)), -1);
    }
    if (p.video_codec == "prores_ks") {
      EXPECT_NE(find_pair(o, "-profile:v", std::string(p.preset)), -1);
      EXPECT_FALSE(has(o, "-preset"));
    } else {
      EXPECT_NE(find_pair(o, "-preset", std::string(p.preset)), -1);
    }
    if (p.threads > 0) {
      EXPECT_NE(find_pair(o, "-threads", std::to_string(p.threads)), -1);
    } else {
      EXPECT_FALSE(has(o, "-threads"));
    }
    EXPECT_NE(find_pair(o, "-c:a", std::string(p.audio_codec)), -1);
    if (p.audio_bitrate.empty()) {
      EXPECT_FALSE(has(o, "-b:a"));
    } else {
      EXPECT_NE(find_pair(o, "-b:a", std::string(p.audio_bitrate)), -1);
    }
    EXPECT_NE(find_pair(o, "-ar", std::to_string(p.audio_sample_rate)), -1);
    EXPECT_NE(find_pair(o, "-ac", std::to_string(p.audio_channels)), -1);

    const bool mov = p.name == "master_4k_prores";
    EXPECT_EQ(plan->container, mov ? "mov" : "mp4");
    EXPECT_EQ(plan->extension, mov ? ".mov" : ".mp4");
    const auto argv = plan->argv("/tmp/x" + plan->extension, false);
    EXPECT_EQ(argv[argv.size() - 2], plan->container);

    EXPECT_EQ(plan->meta["render_profile"], p.name);
    EXPECT_EQ(plan->meta["render_profile_description"], p.description);
    EXPECT_EQ(plan->meta["profile"], to_json(p));
    EXPECT_EQ(plan->meta["fps"], p.fps);
    EXPECT_EQ(plan->frames, p.fps);  // 1 s
    EXPECT_EQ(plan->audio_samples, p.audio_sample_rate);
    EXPECT_EQ(plan->meta["hardware_encoder"]["encoder"], p.video_codec);
    // The picture is made at the profile's size and converted to its pixel format last.
    const std::string graph = plan->filter_graph();
    EXPECT_TRUE(contains(graph, fmt::format("scale={}:{}", p.width, p.height))) << graph;
    ASSERT_FALSE(plan->video.nodes.empty());
    EXPECT_TRUE(contains(plan->video.nodes.back().filter, fmt::format("format={}", p.pix_fmt)));
  }
  const auto& master = profile("master_4k_prores");
  auto plan = plan_with(snap, src, {}, master);
  ASSERT_TRUE(plan.ok());
  EXPECT_NE(find_pair(plan->output_options, "-c:v", "prores_ks"), -1);
  EXPECT_NE(find_pair(plan->output_options, "-pix_fmt", "yuv422p10le"), -1);
  EXPECT_NE(find_pair(plan->output_options, "-c:a", "pcm_s16le"), -1);
}

// The ProRes master's options, on a small canvas (never 4K here), are accepted by ffmpeg and make
// a QuickTime file with ProRes 4:2:2 10-bit and PCM audio.
TEST_F(RenderPlannerTest, ProresMasterOptionsMakeAProresMov) {
  const auto src = sources({red()});
  RenderProfile small_master = profile("master_4k_prores");
  small_master.width = 320;
  small_master.height = 180;
  auto plan = plan_with(make_snapshot({make_track("trk_v1", 0)},
                                      {make_clip("clp_r", "trk_v1", "ast_red", 0, 500, 0)}),
                        src, {}, small_master);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  const std::string out = render(*plan, "prores");
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(fs::path(out).extension(), ".mov");
  const auto c = count_streams(out);
  EXPECT_EQ(c.video_codec, "prores");
  EXPECT_EQ(c.pix_fmt, "yuv422p10le");
  EXPECT_EQ(c.video_frames, 15);
  EXPECT_EQ(c.audio_codec, "pcm_s16le");
  EXPECT_EQ(c.audio_channels, 2);
  EXPECT_EQ(c.audio_samples, 24000);  // PCM: exact
  EXPECT_TRUE(rgb_near(sample_rgb(out, 0.25, 160, 90), kRed, kTol));
}

// =============================================================================================
// 10. Loudness

SequenceSnapshot one_red_clip(int64_t ms) {
  return make_snapshot({make_track("trk_v1", 0)},
                       {make_clip("clp_r", "trk_v1", "ast_red", 0, ms, 0)});
}

TEST_F(RenderPlannerTest, LoudnessIsPendingUntilMeasuredThenAppliedLinearly) {
  const auto src = sources({red()});
  RenderRequest off;
  auto plain = plan_with(one_red_clip(1000), src, off);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->meta["loudness"]["mode"], "off");
  EXPECT_EQ(plain->meta["loudness"]["enabled"], false);
  EXPECT_FALSE(contains(plain->filter_graph(), "loudnorm"));

  RenderRequest req;
  req.normalize_audio = true;
  auto pending = plan_with(one_red_clip(1000), src, req);
  ASSERT_TRUE(pending.ok()) << pending.error().message;
  const auto& lm = pending->meta["loudness"];
  EXPECT_EQ(lm["mode"], "pending_measurement");
  EXPECT_EQ(lm["enabled"], true);
  EXPECT_EQ(lm["target_lufs"], -16.0);
  // The true-peak target is -1.5 dBTP (loudnorm may aim a little lower for a lossy encoder).
  EXPECT_LE(lm["true_peak_dbtp"].get<double>(), kLoudnormTruePeak);
  EXPECT_EQ(lm["lra"], kLoudnormRange);
  const std::string filter = lm["filter"];
  for (const char* part : {"loudnorm=I=-16:", ":TP=-", ":LRA=11", "print_format=json"}) {
    EXPECT_TRUE(contains(filter, part)) << part << " in " << filter;
  }
  // AAC overshoots peaks a little: loudnorm aims below the limit by the encoder's headroom.
  EXPECT_EQ(lm["encoder_headroom_db"], kLossyEncoderHeadroomDb);
  EXPECT_TRUE(contains(
      filter, fmt::format(":TP={}:", format_seconds(kLoudnormTruePeak - kLossyEncoderHeadroomDb))))
      << filter;
  EXPECT_FALSE(contains(filter, "measured_I")) << filter;
  EXPECT_TRUE(contains(pending->audio.nodes.back().filter, filter));

  LoudnessMeasurement m;
  m.input_i = -18.75;
  m.input_tp = -18.0;
  m.input_lra = 0.5;
  m.input_thresh = -28.8;
  m.target_offset = 0.1;
  auto measured = plan_with(one_red_clip(1000), src, req, profile("draft_480p_fast"), m);
  ASSERT_TRUE(measured.ok()) << measured.error().message;
  const auto& mm = measured->meta["loudness"];
  EXPECT_EQ(mm["mode"], "two_pass_linear");
  EXPECT_EQ(mm["measured"]["input_i"], -18.75);
  const std::string f2 = mm["filter"];
  for (const char* part : {"measured_I=-18.75", "measured_TP=-18", "measured_LRA=0.5",
                           "measured_thresh=-28.8", "offset=0.1", "linear=true"}) {
    EXPECT_TRUE(contains(f2, part)) << part << " in " << f2;
  }
  EXPECT_TRUE(contains(measured->audio.nodes.back().filter, f2));

  // Too loud a peak for a linear gain: dynamic mode.
  m.input_tp = -0.5;
  auto dynamic = plan_with(one_red_clip(1000), src, req, profile("draft_480p_fast"), m);
  ASSERT_TRUE(dynamic.ok());
  EXPECT_EQ(dynamic->meta["loudness"]["mode"], "two_pass_dynamic");

  // The measuring pass: same inputs and premaster audio, loudnorm measuring to the null muxer.
  req.target_loudness_lufs = -23;
  auto target23 = plan_with(one_red_clip(1000), src, req);
  ASSERT_TRUE(target23.ok());
  const auto margv = loudness_measure_argv(*target23);
  ASSERT_GE(margv.size(), 4u);
  EXPECT_EQ(margv[0], "ffmpeg");
  EXPECT_EQ(std::vector<std::string>(margv.end() - 3, margv.end()),
            (std::vector<std::string>{"-f", "null", "-"}));
  auto g = std::find(margv.begin(), margv.end(), "-filter_complex");
  ASSERT_NE(g, margv.end());
  EXPECT_TRUE(contains(*(g + 1), "print_format=json")) << *(g + 1);
  EXPECT_TRUE(contains(*(g + 1), "loudnorm=I=-23:")) << *(g + 1);
  EXPECT_FALSE(contains(*(g + 1), "xfade")) << "audio only";
  EXPECT_EQ(std::count(margv.begin(), margv.end(), "-i"),
            static_cast<ptrdiff_t>(target23->inputs.size()));
}

TEST_F(RenderPlannerTest, TwoPassLoudnessReachesTheTarget) {
  const auto src = sources({red()});
  RenderRequest req;
  req.normalize_audio = true;  // -16 LUFS
  auto first = plan_with(one_red_clip(3000), src, req);
  ASSERT_TRUE(first.ok()) << first.error().message;
  const auto margv = loudness_measure_argv(*first);
  auto r = run_command(margv);
  ASSERT_EQ(r.exit_code, 0) << shell_quote_command(margv) << "\n" << r.err;
  auto m = parse_loudnorm_json(r.err);
  ASSERT_TRUE(m.ok()) << m.error().message << "\n" << r.err;
  // A stereo 440 Hz sine of amplitude 1/8 in both channels: about -18.8 LUFS, peak -18 dBTP.
  EXPECT_NEAR(m->input_i, -18.8, 1);
  EXPECT_NEAR(m->input_tp, -18, 1);

  auto second = plan_with(one_red_clip(3000), src, req, profile("draft_480p_fast"), *m);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->meta["loudness"]["mode"], "two_pass_linear");
  const std::string out = render(*second, "loudness");
  ASSERT_FALSE(out.empty());
  expect_exact_length(out, *second);
  const auto l = measure_loudness(out);
  EXPECT_NEAR(l.integrated_lufs, -16, 0.7);
  EXPECT_LT(l.true_peak_dbtp, kLoudnormTruePeak);
  EXPECT_NEAR(dominant_frequency_hz(out, 1.0, 0.5), kRedHz, 2);  // a gain, not a new sound
}

TEST_F(RenderPlannerTest, ParsesRealLoudnormOutputAndRejectsGarbage) {
  auto r = run_command({"ffmpeg", "-hide_banner", "-nostdin", "-f", "lavfi", "-i",
                        "sine=frequency=1000:sample_rate=48000:duration=2", "-af",
                        "volume=-6dB,loudnorm=I=-16:TP=-1.5:LRA=11:print_format=json", "-f", "null",
                        "-"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(contains(r.err, "\"input_i\"")) << r.err;
  auto m = parse_loudnorm_json(r.err);
  ASSERT_TRUE(m.ok()) << m.error().message;
  // Mono sine of amplitude 1/16 at 1 kHz: about -27.7 LUFS, true peak -24 dBTP.
  EXPECT_NEAR(m->input_i, -27.7, 1.5);
  EXPECT_NEAR(m->input_tp, -24.1, 1);
  EXPECT_LT(m->input_lra, 1);
  EXPECT_LT(m->input_thresh, m->input_i);
  EXPECT_TRUE(std::isfinite(m->target_offset));

  // Silence measures -inf: parsed to a finite floor, not an error.
  auto silent = run_command({"ffmpeg", "-hide_banner", "-nostdin", "-f", "lavfi", "-i",
                             "anullsrc=r=48000:cl=mono:d=1", "-t", "1", "-af",
                             "loudnorm=print_format=json", "-f", "null", "-"});
  ASSERT_EQ(silent.exit_code, 0) << silent.err;
  auto s = parse_loudnorm_json(silent.err);
  ASSERT_TRUE(s.ok()) << s.error().message << "\n" << silent.err;
  EXPECT_TRUE(std::isfinite(s->input_i));
  EXPECT_LT(s->input_i, -70);

  for (const std::string& bad : {
           std::string(""),
           std::string("ffmpeg version 5.1\nno measurement here\n"),
           std::string("[Parsed_loudnorm_0 @ 0x1]\n{\n\t\"input_i\" : \"-20.0\",\n"),
           std::string("{ \"input_i\" : \"-20.0\", \"input_tp\" : \"-1.0\" }"),
           std::string("{ \"input_i\" : -20.0, \"input_tp\" : -1.0, \"input_lra\" : 1, "
                       "\"input_thresh\" : -30, \"target_offset\" : 0 }"),
           std::string("{ \"input_i\" : \"loud\", \"input_tp\" : \"-1.0\", \"input_lra\" : "
                       "\"1\", \"input_thresh\" : \"-30\", \"target_offset\" : \"0\" }"),
           std::string("} garbage {"),
       }) {
    auto p = parse_loudnorm_json(bad);
    EXPECT_FALSE(p.ok()) << bad;
    if (!p.ok()) {
      EXPECT_EQ(p.error().code, ErrorCode::kInvalidArgument) << bad;
    }
  }
}

}  // namespace
}  // namespace atomcut

// The Render atom over real HTTP against the real binary and real ffmpeg: timelines built through
// the API render to new media assets (frames, duration, streams, colours, tones, lineage),
// dry-runs plan without side effects and deterministically, loudness normalisation hits its
// target on speech, music and a mix (measured with libebur128), real recordings render in every
// profile, bad input is a clear 4xx that registers nothing, inline snapshots respect tenants, and
// text watermarks draw.
//
// Media is short (1..15 s) so the whole binary stays within a few minutes on a busy machine.
#include "integration/api_test_util.h"
#include "support/media_checks.h"
#include "support/subprocess.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <set>

namespace atomcut::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kTenantA = "t_ra";
constexpr const char* kTenantB = "t_rb";
constexpr const char* kEnv = "dev";

const std::vector<std::string> kAllProfiles = {"draft_480p_fast", "preview_720p_fast",
                                               "social_1080p_h264", "youtube_4k_h264",
                                               "master_4k_prores"};

struct ProfileInfo {
  int width, height, fps;
};
const std::map<std::string, ProfileInfo> kProfileInfo = {
    {"draft_480p_fast", {854, 480, 24}},     {"preview_720p_fast", {1280, 720, 30}},
    {"social_1080p_h264", {1920, 1080, 30}}, {"youtube_4k_h264", {3840, 2160, 30}},
    {"master_4k_prores", {3840, 2160, 30}},
};

constexpr const char* kAllisonDir = "/usr/share/asterisk/sounds/en_US_f_Allison";
constexpr const char* kMohDir = "/usr/share/asterisk/moh";

// A whole-number field, 0 when it is missing or null (optional fields of the MediaAsset).
int64_t int_of(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number()) return 0;
  return j[key].get<int64_t>();
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Files in `dir` ending in `ext`, sorted by name.
std::vector<std::string> sorted_files(const std::string& dir, const std::string& ext) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string p = e.path().string();
    if (e.is_regular_file() && p.size() > ext.size() &&
        p.compare(p.size() - ext.size(), ext.size(), ext) == 0) {
      out.push_back(p);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

class RenderApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new TestServer();
    key_a_ = server_->create_key(kTenantA, kEnv);
    key_b_ = server_->create_key(kTenantB, kEnv);
    tmp_ = new TempDir();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete tmp_;
    tmp_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(server_->started());
    c_ = server_->client();
    c_->set_read_timeout(300);  // a render waits for ffmpeg
  }

  httplib::Headers a() const { return auth_headers(key_a_, kTenantA, kEnv); }
  httplib::Headers b() const { return auth_headers(key_b_, kTenantB, kEnv); }

  // ---- HTTP helpers -----------------------------------------------------------------------

  httplib::Result post(const std::string& path, const nlohmann::json& body,
                       const httplib::Headers* h = nullptr) {
    return c_->Post(path, h ? *h : a(), body.dump(), "application/json");
  }
  // POST and expect `status`; returns the body.
  nlohmann::json post_expect(const std::string& path, const nlohmann::json& body, int status,
                             const httplib::Headers* h = nullptr) {
    auto r = post(path, body, h);
    EXPECT_TRUE(r) << path << ": no response";
    if (!r) return {};
    EXPECT_EQ(r->status, status) << path << " " << body.dump() << " -> " << r->body;
    return body_json(r);
  }
  nlohmann::json get_ok(const std::string& path, const httplib::Headers* h = nullptr) {
    auto r = c_->Get(path, h ? *h : a());
    EXPECT_TRUE(r) << path << ": no response";
    if (!r) return {};
    EXPECT_EQ(r->status, 200) << path << " -> " << r->body;
    return body_json(r);
  }

  // ---- media ------------------------------------------------------------------------------

  // A file made once per process by `ffmpeg -y <args> <tmp>/<name>`; "" (plus a failure) on error.
  static std::string make_media(const std::string& name, const std::vector<std::string>& args) {
    static std::mutex mu;
    static std::map<std::string, std::string> made;
    std::lock_guard lock(mu);
    const std::string out = tmp_->path() + "/" + name;  // each suite has its own directory
    if (auto it = made.find(out); it != made.end()) return it->second;
    std::vector<std::string> argv = {"ffmpeg",    "-hide_banner", "-nostdin",
                                     "-loglevel", "error",        "-y"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(out);
    auto r = run_command(argv);
    if (r.exit_code != 0) {
      ADD_FAILURE() << "ffmpeg failed making " << name << ": " << r.err;
      return "";
    }
    made[out] = out;
    return out;
  }

  // 2 s of a solid colour at 320x240 25 fps with a steady tone, H.264 + AAC.
  static std::string colour_clip(const std::string& colour, int tone_hz) {
    return make_media(
        colour + "_" + std::to_string(tone_hz) + ".mp4",
        {"-f",       "lavfi",
         "-i",       "color=c=" + colour + ":s=320x240:r=25:d=2",
         "-f",       "lavfi",
         "-i",       "sine=frequency=" + std::to_string(tone_hz) + ":sample_rate=48000:d=2",
         "-c:v",     "libx264",
         "-preset",  "ultrafast",
         "-pix_fmt", "yuv420p",
         "-c:a",     "aac",
         "-b:a",     "128k",
         "-t",       "2"});
  }

  // Uploads `path` for `h` (optionally with a kind hint); returns the asset JSON.
  nlohmann::json upload_asset(const std::string& path, const httplib::Headers& h,
                              const std::string& kind_hint = "") {
    std::vector<std::pair<std::string, std::string>> fields;
    if (!kind_hint.empty()) fields.emplace_back("kind", kind_hint);
    auto r = upload(*c_, h, path, fs::path(path).filename().string(), fields);
    EXPECT_TRUE(r) << "upload " << path << ": no response";
    if (!r) return {};
    EXPECT_EQ(r->status, 201) << "upload " << path << " -> " << r->body;
    return body_json(r);
  }
  std::string upload_id(const std::string& path, const httplib::Headers& h,
                        const std::string& kind_hint = "") {
    return upload_asset(path, h, kind_hint).value("id", "");
  }

  // How many assets the tenant has.
  size_t asset_count(const httplib::Headers& h) {
    size_t n = 0;
    std::string cursor;
    for (int pages = 0; pages < 100; ++pages) {
      std::string url = "/media-v2/assets?limit=1000";
      if (!cursor.empty()) url += "&cursor=" + cursor;
      auto page = get_ok(url, &h);
      n += page["items"].size();
      if (!page.contains("next_cursor") || page["next_cursor"].is_null()) break;
      cursor = page["next_cursor"];
    }
    return n;
  }

  // Every file in the server's blob store (staging files included), sorted.
  std::vector<std::string> blob_files() const {
    auto out = files_under(server_->data_dir() + "/data/blobs");
    std::sort(out.begin(), out.end());
    return out;
  }

  // Downloads an asset's bytes into the temporary directory; returns the path ("" on failure).
  std::string download(const std::string& asset_id, const std::string& ext = ".mp4",
                       const httplib::Headers* h = nullptr) {
    auto r = c_->Get("/media-v2/assets/" + asset_id + "/content", h ? *h : a());
    EXPECT_TRUE(r) << "download " << asset_id << ": no response";
    if (!r) return "";
    EXPECT_EQ(r->status, 200) << "download " << asset_id;
    if (r->status != 200) return "";
    const std::string path = tmp_->path() + "/out_" + asset_id + ext;
    std::ofstream(path, std::ios::binary) << r->body;
    return path;
  }

  // ---- timeline ---------------------------------------------------------------------------

  struct Skeleton {
    std::string project, sequence;
  };
  Skeleton new_project(const httplib::Headers* h = nullptr, const std::string& title = "Cut") {
    auto p = post_expect("/video/projects", {{"title", title}}, 201, h);
    auto s = post_expect("/video/projects/" + p.value("id", "") + "/sequences",
                         {{"name", "main"}, {"timebase", 25}}, 201, h);
    return {p.value("id", ""), s.value("id", "")};
  }
  std::string add_track(const std::string& sequence, const std::string& kind, int order = 0,
                        const httplib::Headers* h = nullptr) {
    return post_expect("/video/sequences/" + sequence + "/tracks",
                       {{"kind", kind}, {"order", order}}, 201, h)
        .value("id", "");
  }
  std::string add_clip(const std::string& track, nlohmann::json body,
                       const httplib::Headers* h = nullptr) {
    return post_expect("/video/tracks/" + track + "/clips", body, 201, h).value("id", "");
  }

  // Three 2 s clips (red 440 Hz, lime 660 Hz, blue 880 Hz) at 0, 1.5 and 3 s joined by two
  // 500 ms crossfades: a 5 s sequence.
  struct ThreeClips {
    Skeleton sk;
    std::string track;
    std::vector<std::string> assets, clips, transitions;
  };
  ThreeClips three_clip_project() {
    ThreeClips t;
    const std::vector<std::pair<std::string, int>> looks = {
        {"red", 440}, {"lime", 660}, {"blue", 880}};
    for (const auto& [colour, hz] : looks)
      t.assets.push_back(upload_id(colour_clip(colour, hz), a()));
    t.sk = new_project();
    t.track = add_track(t.sk.sequence, "video");
    for (int i = 0; i < 3; ++i) {
      t.clips.push_back(add_clip(t.track, {{"asset_id", t.assets[i]},
                                           {"in_ms", 0},
                                           {"out_ms", 2000},
                                           {"start_ms_on_timeline", i * 1500}}));
    }
    for (int i = 0; i < 2; ++i) {
      t.transitions.push_back(post_expect("/video/sequences/" + t.sk.sequence + "/transitions",
                                          {{"type", "crossfade"},
                                           {"duration_ms", 500},
                                           {"from_clip_id", t.clips[i]},
                                           {"to_clip_id", t.clips[i + 1]}},
                                          201)
                                  .value("id", ""));
    }
    return t;
  }

  // ---- render -----------------------------------------------------------------------------

  // POST /video/render expecting 201; returns the response body.
  nlohmann::json render_ok(const nlohmann::json& body, const httplib::Headers* h = nullptr) {
    return post_expect("/video/render", body, 201, h);
  }
  nlohmann::json dry_run_ok(const nlohmann::json& body, const httplib::Headers* h = nullptr) {
    return post_expect("/video/render/dry-run", body, 200, h);
  }

  // Checks a 4xx with the uniform error body on both endpoints (dry-run first unless
  // `render_only`); returns the render's error object.
  nlohmann::json expect_refused(const nlohmann::json& body, int status, const std::string& code,
                                const std::string& what, bool render_only = false) {
    if (!render_only) {
      auto d = post("/video/render/dry-run", body);
      EXPECT_TRUE(d) << what;
      if (d) {
        EXPECT_EQ(d->status, status) << what << " (dry-run): " << d->body;
        EXPECT_EQ(error_code_of(d), code) << what << " (dry-run)";
      }
    }
    auto r = post("/video/render", body);
    EXPECT_TRUE(r) << what;
    if (!r) return {};
    EXPECT_EQ(r->status, status) << what << ": " << r->body;
    EXPECT_EQ(error_code_of(r), code) << what;
    auto j = body_json(r);
    return j.is_object() && j.contains("error") ? j["error"] : nlohmann::json();
  }

  static bool has_warning(const nlohmann::json& meta, const std::string& code) {
    if (!meta.contains("warnings")) return false;
    for (const auto& w : meta["warnings"]) {
      if (w.value("code", "") == code) return true;
    }
    return false;
  }

  // Renders a stored project's sequence with normalize_audio at -16 LUFS, checks the output's
  // loudness with libebur128 and records it under `label`.
  void loudness_case(const std::string& label, const std::string& project,
                     double expected_seconds) {
    const nlohmann::json body = {{"project_id", project},
                                 {"render_profile", "draft_480p_fast"},
                                 {"normalize_audio", true},
                                 {"target_loudness_lufs", -16}};
    auto dry = dry_run_ok(body);
    ASSERT_TRUE(dry.contains("loudness_measure_command")) << dry.dump();
    EXPECT_EQ(dry["loudness_measure_command"]["argv"][0], "ffmpeg");
    EXPECT_EQ(dry["meta"]["loudness"]["enabled"], true);
    EXPECT_EQ(dry["meta"]["loudness"]["mode"], "pending_measurement");
    EXPECT_EQ(dry["meta"]["loudness"]["target_lufs"], -16);
    EXPECT_EQ(dry["meta"]["loudness"]["true_peak_dbtp"], -1.5);

    auto out = render_ok(body);
    ASSERT_TRUE(out.contains("artifact_id")) << out.dump();
    auto art = get_ok("/media-v2/artifacts/" + out["artifact_id"].get<std::string>());
    const auto& lm = art["meta"]["loudness"];
    ASSERT_TRUE(lm.contains("mode")) << lm.dump();
    ASSERT_TRUE(lm.contains("normalization_type")) << lm.dump();
    ASSERT_TRUE(lm.contains("measured")) << lm.dump();
    const std::string mode = lm["mode"];
    const std::string applied = lm["normalization_type"];
    EXPECT_TRUE(mode == "two_pass_linear" || mode == "two_pass_dynamic") << mode;
    EXPECT_TRUE(applied == "linear" || applied == "dynamic") << applied;
    EXPECT_EQ(out["plan_preview"]["loudness"]["mode"], mode);
    EXPECT_EQ(out["plan_preview"]["loudness"]["normalization_type"], applied);

    const std::string file = download(out["asset_id"]);
    ASSERT_FALSE(file.empty());
    auto counts = count_streams(file);
    EXPECT_NEAR(counts.audio_packet_duration_s, expected_seconds, 0.05);
    EXPECT_EQ(counts.audio_sample_rate, 48000);
    EXPECT_EQ(counts.audio_channels, 2);
    const Loudness l = measure_loudness(file);
    const std::string summary = fmt::format(
        "integrated {:.2f} LUFS, true peak {:.2f} dBTP, LRA {:.2f} LU, sample peak "
        "{:.2f} dBFS; planned mode {}, ffmpeg applied {}; first pass I={} TP={} "
        "LRA={}",
        l.integrated_lufs, l.true_peak_dbtp, l.lra, l.sample_peak_dbfs, mode, applied,
        lm["measured"].value("input_i", 0.0), lm["measured"].value("input_tp", 0.0),
        lm["measured"].value("input_lra", 0.0));
    std::cout << "[loudness " << label << "] " << summary << std::endl;
    RecordProperty("loudness_" + label, summary);
    RecordProperty("integrated_lufs_" + label, fmt::format("{:.2f}", l.integrated_lufs));
    RecordProperty("true_peak_dbtp_" + label, fmt::format("{:.2f}", l.true_peak_dbtp));
    EXPECT_NEAR(l.integrated_lufs, -16.0, 0.5) << label << ": " << summary;
    // loudnorm's ceiling, measured on the delivered (AAC) file: no tolerance.
    EXPECT_LE(l.true_peak_dbtp, -1.5) << label << ": " << summary;
  }

  static TestServer* server_;
  static TempDir* tmp_;
  static std::string key_a_, key_b_;
  std::unique_ptr<httplib::Client> c_;
};

TestServer* RenderApiTest::server_ = nullptr;
TempDir* RenderApiTest::tmp_ = nullptr;
std::string RenderApiTest::key_a_, RenderApiTest::key_b_;

// ---- 1. end to end --------------------------------------------------------------------------

TEST_F(RenderApiTest, ThreeClipsWithCrossfadesRenderToANewAsset) {
  auto t = three_clip_project();
  ASSERT_EQ(t.transitions.size(), 2u);
  const size_t before = asset_count(a());

  auto out = render_ok({{"project_id", t.sk.project}, {"render_profile", "draft_480p_fast"}});
  ASSERT_TRUE(out.contains("asset_id")) << out.dump();
  const std::string asset_id = out["asset_id"];
  const std::string artifact_id = out["artifact_id"];
  EXPECT_EQ(asset_id.rfind("ast_", 0), 0u) << asset_id;
  EXPECT_EQ(out["profile"], "draft_480p_fast");
  const std::string uri = out["uri"];
  EXPECT_TRUE(contains(uri, std::string("tenants/") + kTenantA + "/" + kEnv + "/media_v2/" +
                                asset_id + "/render.mp4"))
      << uri;
  EXPECT_TRUE(uri.size() > 11 && uri.compare(uri.size() - 11, 11, "/render.mp4") == 0) << uri;
  const auto& preview = out["plan_preview"];
  EXPECT_EQ(preview["frames"], 120) << preview.dump();  // round(5 s * 24)
  EXPECT_EQ(preview["duration_ms"], 5000);
  EXPECT_EQ(asset_count(a()), before + 1);

  // The asset.
  auto asset = get_ok("/media-v2/assets/" + asset_id);
  EXPECT_EQ(asset["kind"], "video");
  EXPECT_EQ(asset["source_uri"], uri);
  EXPECT_EQ(asset["source_ref"], "render:" + t.sk.project + "/" + t.sk.sequence);
  EXPECT_NE(std::find(asset["tags"].begin(), asset["tags"].end(), "render"), asset["tags"].end());
  EXPECT_EQ(asset["width"], 854);
  EXPECT_EQ(asset["height"], 480);
  ASSERT_EQ(asset["artifacts"].size(), 1u) << asset.dump();
  EXPECT_EQ(asset["artifacts"][0]["id"], artifact_id);
  // The stored file is where the uri says, under the tenant's prefix.
  bool stored = false;
  for (const auto& f : blob_files()) {
    stored = stored || contains(f, std::string("tenants/") + kTenantA + "/" + kEnv + "/media_v2/" +
                                       asset_id + "/render.mp4");
  }
  EXPECT_TRUE(stored) << "render.mp4 not found under the tenant's media folder";

  // The artifact mirrors the plan meta.
  auto art = get_ok("/media-v2/artifacts/" + artifact_id);
  EXPECT_EQ(art["kind"], "render");
  EXPECT_EQ(art["parent_asset_id"], asset_id);
  EXPECT_EQ(art["start_ms"], 0);
  EXPECT_EQ(art["end_ms"], 5000);
  const auto& meta = art["meta"];
  EXPECT_EQ(meta["render_profile"], "draft_480p_fast");
  EXPECT_EQ(meta["render_profile_description"], "Low-res 480p draft export for quick iterations");
  ASSERT_EQ(meta["transitions"].size(), 2u) << meta.dump();
  EXPECT_EQ(meta["transitions"][0]["video_alias"], "fade");
  EXPECT_EQ(meta["transitions"][0]["audio_alias"], "acrossfade");
  EXPECT_EQ(meta["transitions"][0]["type"], "crossfade");
  EXPECT_EQ(meta["transitions"][0]["start_ms"], 1500);
  EXPECT_EQ(meta["transitions"][0]["duration_ms"], 500);
  EXPECT_EQ(meta["transitions"][0]["clamped"], false);
  EXPECT_EQ(meta["transitions"][1]["start_ms"], 3000);
  EXPECT_TRUE(meta["hardware_encoder"].contains("encoder")) << meta.dump();
  EXPECT_EQ(meta["hardware_encoder"]["encoder"], "libx264");
  EXPECT_EQ(meta["source_assets"].size(), 3u);
  EXPECT_TRUE(meta["warnings"].empty()) << meta["warnings"].dump();
  EXPECT_EQ(meta["frames"], 120);
  EXPECT_EQ(meta["project_id"], t.sk.project);
  EXPECT_EQ(meta["sequence_id"], t.sk.sequence);
  EXPECT_EQ(meta["loudness"]["mode"], "off");
  EXPECT_TRUE(meta.contains("render_cache_key"));
  EXPECT_TRUE(meta.contains("ffmpeg_version"));
  ASSERT_TRUE(meta.contains("output")) << meta.dump();
  EXPECT_EQ(meta["output"]["sha256"], asset["meta"]["sha256"]);
  // Every plan meta field the response previewed is in the artifact, unchanged.
  for (const auto& [key, value] : preview.items()) {
    if (key == "command" || key == "duration_ms") continue;  // preview-only additions
    EXPECT_EQ(meta[key], value) << key;
  }

  // The file, decoded.
  const std::string file = download(asset_id);
  ASSERT_FALSE(file.empty());
  auto probe = ffprobe_json(file);
  ASSERT_FALSE(probe.is_null());
  EXPECT_TRUE(contains(probe["format"].value("format_name", ""), "mp4"));
  auto counts = count_streams(file);
  EXPECT_EQ(counts.video_frames, 120);
  EXPECT_NEAR(counts.video_duration_s, 5.0, 1e-3);
  EXPECT_NEAR(counts.video_start_s, 0.0, 1e-3);
  EXPECT_EQ(counts.width, 854);
  EXPECT_EQ(counts.height, 480);
  EXPECT_EQ(counts.video_codec, "h264");
  EXPECT_EQ(counts.pix_fmt, "yuv420p");
  EXPECT_EQ(counts.fps_rational, "24/1");
  EXPECT_EQ(counts.audio_codec, "aac");
  EXPECT_EQ(counts.audio_sample_rate, 48000);
  EXPECT_EQ(counts.audio_channels, 2);
  EXPECT_NEAR(counts.audio_packet_duration_s, 5.0, 1.0 / 48000 * 2);
  // Pictures: 320x240 fits the 854x480 canvas as 640x480 centred (black pillars).
  EXPECT_TRUE(rgb_near(sample_rgb(file, 0.5, 427, 240), {255, 0, 0}, 20));
  EXPECT_TRUE(rgb_near(sample_rgb(file, 2.5, 427, 240), {0, 255, 0}, 20));
  EXPECT_TRUE(rgb_near(sample_rgb(file, 4.5, 427, 240), {0, 0, 255}, 20));
  EXPECT_TRUE(rgb_near(sample_rgb(file, 2.5, 40, 240), {0, 0, 0}, 12));  // the pillar
  // Half way through the first dissolve (1.5 .. 2.0 s) both pictures show.
  const Rgb mid = sample_rgb(file, 1.75, 427, 240);
  EXPECT_TRUE(rgb_near(mid, {128, 128, 0}, 45)) << mid;
  // Sound: each clip's tone while it plays alone.
  EXPECT_NEAR(dominant_frequency_hz(file, 0.5, 0.5), 440, 2);
  EXPECT_NEAR(dominant_frequency_hz(file, 2.3, 0.5), 660, 2);
  EXPECT_NEAR(dominant_frequency_hz(file, 4.2, 0.5), 880, 2);
}

TEST_F(RenderApiTest, WindowsRenderExactlyTheirFramesAndPastTheEndIsBlackSilence) {
  auto t = three_clip_project();
  // [1000, 2500) ms: the end of red, the dissolve, then lime; 36 frames at 24 fps.
  auto out = render_ok({{"project_id", t.sk.project},
                        {"render_profile", "draft_480p_fast"},
                        {"start_ms", 1000},
                        {"end_ms", 2500}});
  ASSERT_TRUE(out.contains("asset_id")) << out.dump();
  EXPECT_EQ(out["plan_preview"]["frames"], 36);
  EXPECT_EQ(out["plan_preview"]["window_ms"]["start_ms"], 1000);
  EXPECT_EQ(out["plan_preview"]["window_ms"]["end_ms"], 2500);
  auto art = get_ok("/media-v2/artifacts/" + out["artifact_id"].get<std::string>());
  EXPECT_EQ(art["start_ms"], 1000);
  EXPECT_EQ(art["end_ms"], 2500);
  std::string file = download(out["asset_id"]);
  ASSERT_FALSE(file.empty());
  auto counts = count_streams(file);
  EXPECT_EQ(counts.video_frames, 36);
  EXPECT_NEAR(counts.video_duration_s, 1.5, 1e-3);
  EXPECT_NEAR(counts.audio_packet_duration_s, 1.5, 1e-3);
  EXPECT_TRUE(rgb_near(sample_rgb(file, 0.2, 427, 240), {255, 0, 0}, 20));  // timeline 1.2 s
  EXPECT_TRUE(rgb_near(sample_rgb(file, 1.3, 427, 240), {0, 255, 0}, 20));  // timeline 2.3 s
  EXPECT_NEAR(dominant_frequency_hz(file, 0.1, 0.3), 440, 2);
  EXPECT_NEAR(dominant_frequency_hz(file, 1.1, 0.3), 660, 2);

  // Past the last clip (the sequence lasts 5 s): black and silent, still exact.
  auto past = render_ok({{"project_id", t.sk.project},
                         {"render_profile", "draft_480p_fast"},
                         {"start_ms", 6000},
                         {"end_ms", 7000}});
  ASSERT_TRUE(past.contains("asset_id")) << past.dump();
  file = download(past["asset_id"]);
  ASSERT_FALSE(file.empty());
  counts = count_streams(file);
  EXPECT_EQ(counts.video_frames, 24);
  EXPECT_TRUE(rgb_near(sample_rgb(file, 0.5, 427, 240), {0, 0, 0}, 12));
  const double level = rms_dbfs(file, 0.2, 0.6);
  EXPECT_TRUE(std::isinf(level) || level < -80.0) << level;
}

// ---- 2. dry-run -----------------------------------------------------------------------------

TEST_F(RenderApiTest, DryRunPlansWithoutSideEffectsAndIsDeterministic) {
  auto t = three_clip_project();
  const size_t assets_before = asset_count(a());
  const auto files_before = blob_files();
  const nlohmann::json body = {{"project_id", t.sk.project}, {"render_profile", "draft_480p_fast"}};
  auto first = dry_run_ok(body);
  auto second = dry_run_ok(body);
  ASSERT_TRUE(first.contains("plan")) << first.dump();
  EXPECT_EQ(first["render_profile"], "draft_480p_fast");
  EXPECT_EQ(first["executed"], false);
  ASSERT_TRUE(first["command"]["argv"].is_array());
  EXPECT_EQ(first["command"]["argv"][0], "ffmpeg");
  const std::string line = first["command"]["line"];
  EXPECT_EQ(line.rfind("ffmpeg ", 0), 0u) << line;
  const std::string graph = first["filter_graph"];
  EXPECT_TRUE(contains(graph, "xfade=transition=fade")) << graph;
  EXPECT_TRUE(contains(graph, "acrossfade")) << graph;
  EXPECT_FALSE(first.contains("loudness_measure_command"));
  EXPECT_EQ(first["plan"]["frames"], 120);
  EXPECT_EQ(first["plan"]["duration_ms"], 5000);
  EXPECT_EQ(first["plan"]["audio_samples"], 240000);
  EXPECT_EQ(first["meta"]["render_profile_description"],
            "Low-res 480p draft export for quick iterations");
  EXPECT_EQ(first["meta"]["transitions"][0]["video_alias"], "fade");
  // Deterministic: the same timeline gives the same plan, byte for byte.
  EXPECT_EQ(first["plan"].dump(), second["plan"].dump());
  EXPECT_EQ(first.dump(), second.dump());
  // Nothing executed or stored.
  EXPECT_EQ(asset_count(a()), assets_before);
  EXPECT_EQ(blob_files(), files_before);
  for (const auto& id : t.assets) {
    EXPECT_TRUE(get_ok("/media-v2/assets/" + id)["artifacts"].empty()) << id;
  }
  // Without render_profile the project's own profile applies.
  auto proj = post_expect("/video/projects",
                          {{"title", "720"}, {"render_profile", "preview_720p_fast"}}, 201);
  auto seq = post_expect("/video/projects/" + proj.value("id", "") + "/sequences",
                         {{"name", "main"}}, 201);
  const std::string trk = add_track(seq.value("id", ""), "video");
  add_clip(trk, {{"asset_id", t.assets[0]}, {"in_ms", 0}, {"out_ms", 1000}});
  auto dflt = dry_run_ok({{"project_id", proj.value("id", "")}});
  EXPECT_EQ(dflt["render_profile"], "preview_720p_fast");
  EXPECT_EQ(dflt["plan"]["frames"], 30);
  // The other tenant cannot plan it.
  const auto hb = b();
  auto other = post("/video/render/dry-run", body, &hb);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404) << other->body;
}

// ---- 3. loudness ----------------------------------------------------------------------------

TEST_F(RenderApiTest, LoudnessNormalisationOfSpeech) {
  auto speech_files = sorted_files(kAllisonDir, ".wav");
  if (speech_files.empty()) GTEST_SKIP() << "asterisk-core-sounds-en-wav is not installed";
  // ~10.5 s of real speech (8 kHz mono s16: 16000 bytes a second) concatenated.
  std::vector<std::string> args;
  std::string graph;
  uintmax_t bytes = 0;
  int n = 0;
  for (const auto& f : speech_files) {
    if (bytes >= 16000u * 21 / 2) break;
    args.insert(args.end(), {"-i", f});
    graph += fmt::format("[{}:a]", n++);
    bytes += fs::file_size(f);
  }
  graph += fmt::format("concat=n={}:v=0:a=1[out]", n);
  args.insert(args.end(), {"-filter_complex", graph, "-map", "[out]", "-c:a", "pcm_s16le"});
  const std::string speech = make_media("speech.wav", args);
  ASSERT_FALSE(speech.empty());
  auto asset = upload_asset(speech, a(), "audio");
  EXPECT_EQ(asset["kind"], "audio");
  auto sk = new_project();
  const std::string track = add_track(sk.sequence, "audio");
  add_clip(track, {{"asset_id", asset["id"]}, {"in_ms", 0}, {"out_ms", 10000}});
  loudness_case("speech", sk.project, 10.0);
}

TEST_F(RenderApiTest, LoudnessNormalisationOfMusic) {
  auto music_files = sorted_files(kMohDir, ".wav");
  if (music_files.empty()) GTEST_SKIP() << "asterisk-moh-opsound-wav is not installed";
  auto asset = upload_asset(music_files.front(), a(), "audio");
  EXPECT_EQ(asset["kind"], "audio");
  ASSERT_GE(int_of(asset, "duration_ms"), 45000) << asset.dump();
  auto sk = new_project();
  const std::string track = add_track(sk.sequence, "audio");
  add_clip(track, {{"asset_id", asset["id"]}, {"in_ms", 30000}, {"out_ms", 45000}});
  loudness_case("music", sk.project, 15.0);
}

TEST_F(RenderApiTest, LoudnessNormalisationOfSpeechOverMusic) {
  auto speech_files = sorted_files(kAllisonDir, ".wav");
  auto music_files = sorted_files(kMohDir, ".wav");
  if (speech_files.empty() || music_files.empty()) {
    GTEST_SKIP() << "asterisk-core-sounds-en-wav / asterisk-moh-opsound-wav are not installed";
  }
  // Speech: consecutive clips of single prompts on one track; music under it at -10 dB.
  auto sk = new_project();
  const std::string speech_track = add_track(sk.sequence, "audio", 1);
  const std::string music_track = add_track(sk.sequence, "audio", 0);
  int64_t at = 0;
  for (const auto& f : speech_files) {
    if (at >= 10000) break;
    auto asset = upload_asset(f, a(), "audio");
    const int64_t d = int_of(asset, "duration_ms");
    ASSERT_GT(d, 0) << asset.dump();
    add_clip(
        speech_track,
        {{"asset_id", asset["id"]}, {"in_ms", 0}, {"out_ms", d}, {"start_ms_on_timeline", at}});
    at += d;
  }
  auto music = upload_asset(music_files.front(), a(), "audio");
  add_clip(
      music_track,
      {{"asset_id", music["id"]}, {"in_ms", 30000}, {"out_ms", 30000 + at}, {"volume_db", -10}});
  loudness_case("mix", sk.project, at / 1000.0);
}

// ---- 4. real sources ------------------------------------------------------------------------

class RenderApiRealSourceTest : public RenderApiTest {
 protected:
  // Renders [0, end_ms) of a single clip of `asset` in `profile`; checks frames, size, streams.
  // Returns the downloaded file.
  std::string render_window(const nlohmann::json& asset, const std::string& profile,
                            int64_t end_ms) {
    const ProfileInfo info = kProfileInfo.at(profile);
    const bool audio_only = asset["kind"] == "audio";
    auto sk = new_project();
    const std::string track = add_track(sk.sequence, audio_only ? "audio" : "video");
    const int64_t duration = int_of(asset, "duration_ms");
    add_clip(
        track,
        {{"asset_id", asset["id"]}, {"in_ms", 0}, {"out_ms", std::min<int64_t>(duration, 2000)}});
    auto out =
        render_ok({{"project_id", sk.project}, {"render_profile", profile}, {"end_ms", end_ms}});
    if (!out.contains("asset_id")) return "";
    const std::string ext = profile == "master_4k_prores" ? ".mov" : ".mp4";
    const std::string uri = out["uri"];
    EXPECT_TRUE(uri.size() > 11 && uri.compare(uri.size() - 11, 11, "/render" + ext) == 0) << uri;
    const int64_t frames = info.fps * end_ms / 1000;
    EXPECT_EQ(out["plan_preview"]["frames"], frames) << profile;
    EXPECT_TRUE(out["plan_preview"]["warnings"].empty())
        << profile << ": " << out["plan_preview"]["warnings"].dump();
    const std::string file = download(out["asset_id"], ext);
    if (file.empty()) return "";
    auto counts = count_streams(file);
    const std::string what = asset.value("id", "") + " in " + profile;
    EXPECT_EQ(counts.video_frames, frames) << what;
    EXPECT_NEAR(counts.video_duration_s, end_ms / 1000.0, 1e-3) << what;
    EXPECT_EQ(counts.width, info.width) << what;
    EXPECT_EQ(counts.height, info.height) << what;
    EXPECT_EQ(counts.fps_rational, fmt::format("{}/1", info.fps)) << what;
    EXPECT_EQ(counts.audio_sample_rate, 48000) << what;
    EXPECT_EQ(counts.audio_channels, 2) << what;
    EXPECT_NEAR(counts.audio_packet_duration_s, end_ms / 1000.0, 1e-3) << what;
    if (profile == "master_4k_prores") {
      EXPECT_EQ(counts.video_codec, "prores") << what;
      EXPECT_EQ(counts.pix_fmt, "yuv422p10le") << what;
      EXPECT_EQ(counts.audio_codec, "pcm_s16le") << what;
    } else {
      EXPECT_EQ(counts.video_codec, "h264") << what;
      EXPECT_EQ(counts.pix_fmt, "yuv420p") << what;
      EXPECT_EQ(counts.audio_codec, "aac") << what;
    }
    return file;
  }

  void render_three_profiles(const nlohmann::json& asset) {
    for (const char* profile : {"draft_480p_fast", "preview_720p_fast", "social_1080p_h264"}) {
      SCOPED_TRACE(profile);
      const std::string file = render_window(asset, profile, 1000);
      ASSERT_FALSE(file.empty()) << profile;
      const ProfileInfo info = kProfileInfo.at(profile);
      if (asset["kind"] == "audio") {
        // The picture is black; the sound is there.
        EXPECT_TRUE(
            rgb_near(sample_rgb(file, 0.5, info.width / 2, info.height / 2), {0, 0, 0}, 12));
        EXPECT_GT(rms_dbfs(file, 0.2, 0.6), -50.0);
      } else if (int_of(asset, "audio_channels") == 0) {
        // No audio in the source: silence in the output.
        const double level = rms_dbfs(file, 0.2, 0.6);
        EXPECT_TRUE(std::isinf(level) || level < -80.0) << level;
      }
    }
  }
};

TEST_F(RenderApiRealSourceTest, PhoneVideo1080p2997InEveryFastProfile) {
  auto src = real_media("phone_1080p_2997");
  if (!src) GTEST_SKIP() << "forensics-samples-files is not installed";
  auto asset = upload_asset(*src, a());
  EXPECT_EQ(asset["kind"], "video");
  render_three_profiles(asset);
}

TEST_F(RenderApiRealSourceTest, VtestAvi10fpsWithoutAudioInEveryFastProfile) {
  auto src = real_media("vtest_avi");
  if (!src) GTEST_SKIP() << "opencv-doc is not installed";
  auto asset = upload_asset(*src, a());
  EXPECT_EQ(asset["kind"], "video");
  EXPECT_FALSE(int_of(asset, "audio_channels") > 0) << asset.dump();
  render_three_profiles(asset);
}

TEST_F(RenderApiRealSourceTest, ScreenMpeg2InEveryFastProfile) {
  auto src = real_media("screen_mpeg");
  if (!src) GTEST_SKIP() << "forensics-samples-files is not installed";
  auto asset = upload_asset(*src, a());
  EXPECT_EQ(asset["kind"], "video");
  render_three_profiles(asset);
}

TEST_F(RenderApiRealSourceTest, AudioOnlyAssetInEveryFastProfile) {
  auto music_files = sorted_files(kMohDir, ".wav");
  std::string src;
  if (!music_files.empty()) {
    src = make_media("moh_3s.wav",
                     {"-ss", "30", "-t", "3", "-i", music_files.front(), "-c:a", "pcm_s16le"});
  } else {
    src = fixture("audio_stereo.mp3");
  }
  ASSERT_FALSE(src.empty());
  auto asset = upload_asset(src, a());
  EXPECT_EQ(asset["kind"], "audio");
  render_three_profiles(asset);
}

TEST_F(RenderApiRealSourceTest, FourKProfilesOnAnMpeg2Source) {
  auto src = real_media("screen_mpeg");
  if (!src) GTEST_SKIP() << "forensics-samples-files is not installed";
  auto asset = upload_asset(*src, a());
  {
    SCOPED_TRACE("youtube_4k_h264");
    EXPECT_FALSE(render_window(asset, "youtube_4k_h264", 500).empty());
  }
  SCOPED_TRACE("master_4k_prores");
  const std::string file = render_window(asset, "master_4k_prores", 500);
  ASSERT_FALSE(file.empty());
  auto probe = ffprobe_json(file);
  ASSERT_FALSE(probe.is_null());
  EXPECT_TRUE(contains(probe["format"].value("format_name", ""), "mov")) << probe["format"].dump();
  bool found = false;
  for (const auto& s : probe["streams"]) {
    if (s.value("codec_type", "") != "video") continue;
    found = true;
    EXPECT_EQ(s.value("codec_name", ""), "prores");
    EXPECT_EQ(s.value("pix_fmt", ""), "yuv422p10le");  // 10-bit 4:2:2
    EXPECT_EQ(s.value("profile", ""), "HQ");
  }
  EXPECT_TRUE(found) << probe.dump();
  // Stored as render.mov under the asset's folder.
  bool stored = false;
  for (const auto& f : blob_files()) {
    stored = stored || (contains(f, "/media_v2/") && f.size() > 11 &&
                        f.compare(f.size() - 11, 11, "/render.mov") == 0);
  }
  EXPECT_TRUE(stored);
}

// ---- 5. bad input ---------------------------------------------------------------------------

TEST_F(RenderApiTest, BadInputIsAClear4xxAndRegistersNothing) {
  const std::string red = upload_id(colour_clip("red", 440), a());
  auto sk = new_project();
  const std::string track = add_track(sk.sequence, "video");
  add_clip(track, {{"asset_id", red}, {"in_ms", 0}, {"out_ms", 1000}});
  // Another project of the same tenant, and one of tenant B.
  auto other_project = new_project();
  const auto hb = b();
  auto b_project = new_project(&hb, "B's");
  const std::string b_image = upload_id(fixture("image.png"), hb);
  const size_t assets_before = asset_count(a());
  const auto files_before = blob_files();
  const nlohmann::json ok = {{"project_id", sk.project}, {"render_profile", "draft_480p_fast"}};

  {
    auto body = ok;
    body["render_profile"] = "cinema_8k";
    auto e = expect_refused(body, 400, "invalid_argument", "unknown profile");
    EXPECT_EQ(e["details"]["field"], "render_profile");
    std::vector<std::string> allowed;
    for (const auto& p : e["details"]["allowed"]) allowed.push_back(p);
    std::sort(allowed.begin(), allowed.end());
    auto expected = kAllProfiles;
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(allowed, expected);
  }
  {
    auto body = ok;
    body["project_id"] = b_project.project;
    expect_refused(body, 404, "not_found", "project of another tenant");
  }
  {
    auto body = ok;
    body["project_id"] = "prj_00000000000000000000000000";
    expect_refused(body, 404, "not_found", "project that does not exist");
  }
  {
    auto body = ok;
    body["sequence_id"] = other_project.sequence;
    auto e = expect_refused(body, 404, "not_found", "sequence of another project");
    EXPECT_EQ(e["details"]["field"], "sequence_id");
  }
  {
    auto empty = new_project();
    add_track(empty.sequence, "video");
    auto e = expect_refused({{"project_id", empty.project}, {"render_profile", "draft_480p_fast"}},
                            400, "invalid_argument", "zero-length sequence");
    EXPECT_TRUE(contains(e.value("message", ""), "empty")) << e.dump();
  }
  for (auto [s, e] : {std::pair{1000, 1000}, std::pair{2000, 1000}}) {
    auto body = ok;
    body["start_ms"] = s;
    body["end_ms"] = e;
    auto err = expect_refused(body, 400, "invalid_argument", fmt::format("window [{}, {})", s, e));
    EXPECT_EQ(err["details"]["field"], "end_ms");
  }
  {
    auto body = ok;
    body["storage"] = "s3";
    auto e = expect_refused(body, 400, "failed_precondition", "storage s3");
    EXPECT_EQ(e["details"]["field"], "storage");
  }
  {
    auto body = ok;
    body["output_path"] = "../x.mp4";
    auto e = expect_refused(body, 400, "invalid_argument", "output_path ../x.mp4");
    EXPECT_EQ(e["details"]["field"], "output_path");
  }
  for (const std::string text :
       {"it's mine", "say \"hi\"", "time: 10", "a\\b", "50%", "a,b", "[x]", "a;b", ""}) {
    auto body = ok;
    body["watermark"] = {{"text", text}};
    auto e = expect_refused(body, 400, "invalid_argument", "watermark text " + text);
    EXPECT_EQ(e["details"]["field"], "watermark.text");
  }
  {
    auto body = ok;
    body["watermark"] = {{"asset_id", b_image}};
    auto e = expect_refused(body, 404, "not_found", "watermark image of another tenant");
    EXPECT_EQ(e["details"]["field"], "watermark.asset_id");
  }
  struct FieldCase {
    const char* field;
    nlohmann::json value;
  };
  for (const auto& [field, value] : std::vector<FieldCase>{{"start_ms", "abc"},
                                                           {"end_ms", -5},
                                                           {"normalize_audio", "yes"},
                                                           {"target_loudness_lufs", 0},
                                                           {"audio_mixdown", "surround"},
                                                           {"timeout_ms", 10}}) {
    auto body = ok;
    body[field] = value;
    auto e = expect_refused(body, 400, "invalid_argument", std::string(field) + "=" + value.dump());
    EXPECT_EQ(e["details"]["field"], field) << e.dump();
  }
  {
    auto body = ok;
    body["sequence_snapshot"] = {{"sequence", {{"id", "seq_x"}}}};
    expect_refused(body, 400, "invalid_argument", "project_id and sequence_snapshot together");
  }
  {
    auto e = expect_refused({{"render_profile", "draft_480p_fast"}}, 400, "invalid_argument",
                            "neither project_id nor sequence_snapshot");
    EXPECT_EQ(e["details"]["field"], "project_id");
  }
  {
    auto r = c_->Post("/video/render", a(), "{not json", "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << r->body;
    error_code_of(r);
  }
  EXPECT_EQ(asset_count(a()), assets_before);
  EXPECT_EQ(blob_files(), files_before);
}

TEST_F(RenderApiTest, DeletedMediaIsAMissingAssetPrecondition) {
  const std::string red = upload_id(colour_clip("red", 440), a());
  const std::string blue = upload_id(colour_clip("blue", 880), a());
  auto sk = new_project();
  const std::string track = add_track(sk.sequence, "video");
  const std::string c1 = add_clip(track, {{"asset_id", red}, {"in_ms", 0}, {"out_ms", 1000}});
  add_clip(track,
           {{"asset_id", blue}, {"in_ms", 0}, {"out_ms", 1000}, {"start_ms_on_timeline", 1000}});
  auto del = c_->Delete("/media-v2/assets/" + red, a());
  ASSERT_TRUE(del);
  ASSERT_EQ(del->status, 200) << del->body;
  const size_t assets_before = asset_count(a());
  const auto files_before = blob_files();
  const nlohmann::json body = {{"project_id", sk.project}, {"render_profile", "draft_480p_fast"}};

  auto dry = dry_run_ok(body);
  ASSERT_TRUE(has_warning(dry["meta"], "missing_asset")) << dry["meta"]["warnings"].dump();
  EXPECT_EQ(dry["meta"]["warnings"][0]["asset_id"], red);
  EXPECT_EQ(dry["meta"]["warnings"][0]["clip_id"], c1);

  auto e = expect_refused(body, 400, "failed_precondition", "deleted asset", true);
  ASSERT_TRUE(e["details"].contains("missing")) << e.dump();
  ASSERT_EQ(e["details"]["missing"].size(), 1u) << e.dump();
  EXPECT_EQ(e["details"]["missing"][0]["asset_id"], red);
  EXPECT_EQ(e["details"]["missing"][0]["clip_id"], c1);
  EXPECT_TRUE(contains(e.value("message", ""), red)) << e.dump();
  EXPECT_EQ(asset_count(a()), assets_before);
  EXPECT_EQ(blob_files(), files_before);
}

TEST_F(RenderApiTest, CorruptSourcesAreRefusedWith400) {
  const std::string blue = upload_id(colour_clip("blue", 880), a());
  // (a) Garbage over the header: stored as kind "other" (not media) when no kind is hinted.
  auto corrupt = upload_asset(fixture("corrupt_header.mp4"), a());
  ASSERT_TRUE(corrupt.contains("id")) << corrupt.dump();
  EXPECT_EQ(corrupt["kind"], "other") << corrupt.dump();
  // (b) A file that probes as 320x240 H.264 but cannot be decoded: the avcC box (SPS/PPS) of a
  // good file overwritten, everything else intact.
  const std::string good =
      make_media("good_faststart.mp4",
                 {"-f", "lavfi", "-i", "color=c=red:s=320x240:r=25:d=2", "-c:v", "libx264",
                  "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart"});
  ASSERT_FALSE(good.empty());
  std::string bytes = slurp(good);
  const size_t avcc = bytes.find("avcC");
  ASSERT_NE(avcc, std::string::npos);
  for (size_t i = avcc + 4; i < avcc + 40 && i < bytes.size(); ++i) bytes[i] = '\xff';
  const std::string undecodable = tmp_->path() + "/undecodable.mp4";
  std::ofstream(undecodable, std::ios::binary) << bytes;
  auto broken = upload_asset(undecodable, a());
  ASSERT_TRUE(broken.contains("id")) << broken.dump();
  EXPECT_EQ(broken["kind"], "video") << broken.dump();

  const size_t assets_before = asset_count(a());
  const auto files_before = blob_files();
  for (const auto& bad : {corrupt, broken}) {
    const std::string bad_id = bad["id"];
    SCOPED_TRACE(bad.value("kind", "") + " " + bad_id);
    auto sk = new_project();
    const std::string track = add_track(sk.sequence, "video");
    add_clip(track, {{"asset_id", blue}, {"in_ms", 0}, {"out_ms", 1000}});
    add_clip(
        track,
        {{"asset_id", bad_id}, {"in_ms", 0}, {"out_ms", 1000}, {"start_ms_on_timeline", 1000}});
    const nlohmann::json body = {{"project_id", sk.project}, {"render_profile", "draft_480p_fast"}};
    auto r = post("/video/render", body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << r->body.substr(0, 4000);
    // The dry-run only plans: it does not open the media.
    auto d = post("/video/render/dry-run", body);
    ASSERT_TRUE(d);
    if (bad["kind"] == "other") {
      EXPECT_EQ(d->status, 400) << d->body;
    } else {
      EXPECT_EQ(d->status, 200) << d->body;
    }
    const std::string code = error_code_of(r);
    auto e = body_json(r)["error"];
    if (bad["kind"] == "other") {
      // Stored as not media: refused before ffmpeg runs.
      EXPECT_EQ(code, "invalid_argument") << r->body;
      EXPECT_EQ(e["details"]["asset_id"], bad_id) << r->body;
      EXPECT_EQ(e["details"]["reason"], "not_media") << r->body;
    } else {
      // It probed but does not decode: ffmpeg's failure, with ffmpeg's own words.
      EXPECT_EQ(code, "failed_precondition") << r->body.substr(0, 4000);
      EXPECT_EQ(e["details"]["reason"], "ffmpeg_failed") << r->body.substr(0, 4000);
      EXPECT_NE(int_of(e["details"], "exit_code"), 0) << r->body.substr(0, 4000);
      const std::string msg = e.value("message", "");
      EXPECT_TRUE(contains(msg, "ffmpeg failed")) << msg;
      const std::string tail = e["details"].value("stderr_tail", "");
      EXPECT_TRUE(contains(tail, "h264") || contains(tail, "Conversion failed") ||
                  contains(tail, "Error"))
          << tail.substr(tail.size() > 2000 ? tail.size() - 2000 : 0);
      RecordProperty("ffmpeg_failure_message", msg);
      RecordProperty("ffmpeg_failure_body_bytes", static_cast<int>(r->body.size()));
    }
  }
  EXPECT_EQ(asset_count(a()), assets_before);
  EXPECT_EQ(blob_files(), files_before);
}

// ---- 6. inline snapshot ---------------------------------------------------------------------

TEST_F(RenderApiTest, InlineSnapshotRendersTheCallersMediaOnly) {
  const std::string red = upload_id(colour_clip("red", 440), a());
  const std::string blue = upload_id(colour_clip("blue", 880), a());
  const auto hb = b();
  const std::string b_media = upload_id(colour_clip("lime", 660), hb);
  auto snapshot = [](const std::string& first, const std::string& second) {
    return nlohmann::json{
        {"sequence", {{"id", "seq_snap"}, {"name", "inline cut"}, {"timebase", 25}}},
        {"tracks", {{{"id", "trk_v"}, {"kind", "video"}, {"order", 0}}}},
        {"clips",
         {{{"id", "clp_1"},
           {"track_id", "trk_v"},
           {"asset_id", first},
           {"in_ms", 0},
           {"out_ms", 1000},
           {"start_ms_on_timeline", 0}},
          {{"id", "clp_2"},
           {"track_id", "trk_v"},
           {"asset_id", second},
           {"in_ms", 0},
           {"out_ms", 1000},
           {"start_ms_on_timeline", 1000}}}}};
  };
  const size_t before = asset_count(a());
  auto out = render_ok(
      {{"sequence_snapshot", snapshot(red, blue)}, {"render_profile", "draft_480p_fast"}});
  ASSERT_TRUE(out.contains("asset_id")) << out.dump();
  EXPECT_EQ(asset_count(a()), before + 1);
  EXPECT_TRUE(out["plan_preview"]["project_id"].is_null());
  EXPECT_EQ(out["plan_preview"]["sequence_id"], "seq_snap");
  auto asset = get_ok("/media-v2/assets/" + out["asset_id"].get<std::string>());
  EXPECT_EQ(asset["source_ref"], "render:inline/seq_snap");
  const std::string file = download(out["asset_id"]);
  ASSERT_FALSE(file.empty());
  auto counts = count_streams(file);
  EXPECT_EQ(counts.video_frames, 48);
  EXPECT_TRUE(rgb_near(sample_rgb(file, 0.5, 427, 240), {255, 0, 0}, 20));
  EXPECT_TRUE(rgb_near(sample_rgb(file, 1.5, 427, 240), {0, 0, 255}, 20));
  EXPECT_NEAR(dominant_frequency_hz(file, 0.3, 0.4), 440, 2);
  EXPECT_NEAR(dominant_frequency_hz(file, 1.3, 0.4), 880, 2);

  // Tenant B's asset is invisible to A: a missing_asset warning, and no render.
  const nlohmann::json foreign = {{"sequence_snapshot", snapshot(red, b_media)},
                                  {"render_profile", "draft_480p_fast"}};
  auto dry = dry_run_ok(foreign);
  ASSERT_TRUE(has_warning(dry["meta"], "missing_asset")) << dry["meta"].dump();
  for (const auto& s : dry["meta"]["source_assets"]) EXPECT_NE(s["asset_id"], b_media);
  EXPECT_FALSE(contains(dry["command"]["line"].get<std::string>(), b_media));
  const size_t before_foreign = asset_count(a());
  auto e = expect_refused(foreign, 400, "failed_precondition", "another tenant's asset", true);
  ASSERT_EQ(e["details"]["missing"].size(), 1u) << e.dump();
  EXPECT_EQ(e["details"]["missing"][0]["asset_id"], b_media);
  EXPECT_EQ(asset_count(a()), before_foreign);
  // And tenant B can render its own snapshot.
  auto own = render_ok({{"sequence_snapshot", snapshot(b_media, b_media)},
                        {"render_profile", "draft_480p_fast"},
                        {"end_ms", 500}},
                       &hb);
  EXPECT_TRUE(own.contains("asset_id")) << own.dump();
}

// ---- 7. watermark ---------------------------------------------------------------------------

TEST_F(RenderApiTest, TextWatermarkDrawsInTheBottomRightCorner) {
  const std::string red = upload_id(colour_clip("red", 440), a());
  auto sk = new_project();
  const std::string track = add_track(sk.sequence, "video");
  add_clip(track, {{"asset_id", red}, {"in_ms", 0}, {"out_ms", 1000}});
  nlohmann::json body = {{"project_id", sk.project}, {"render_profile", "draft_480p_fast"}};
  auto plain = render_ok(body);
  body["watermark"] = {{"text", "atomcut preview"}, {"position", "bottom_right"}, {"size", 0.08}};
  auto dry = dry_run_ok(body);
  EXPECT_TRUE(contains(dry["filter_graph"].get<std::string>(), "drawtext=")) << dry.dump();
  EXPECT_EQ(dry["meta"]["watermark"]["text"], "atomcut preview");
  auto marked = render_ok(body);
  ASSERT_TRUE(plain.contains("asset_id") && marked.contains("asset_id"));
  EXPECT_EQ(marked["plan_preview"]["watermark"]["position"], "bottom_right");
  const std::string f_plain = download(plain["asset_id"]);
  const std::string f_marked = download(marked["asset_id"]);
  int w = 0, h = 0, w2 = 0, h2 = 0;
  auto p = frame_rgb24(f_plain, 0.5, &w, &h);
  auto m = frame_rgb24(f_marked, 0.5, &w2, &h2);
  ASSERT_EQ(w, 854);
  ASSERT_EQ(h, 480);
  ASSERT_EQ(w2, w);
  ASSERT_EQ(h2, h);
  // Mean difference in a region of the frame.
  auto region_diff = [&](int x0, int y0, int x1, int y1) {
    std::vector<uint8_t> ra, rb;
    for (int y = y0; y < y1; ++y) {
      const size_t off = (static_cast<size_t>(y) * w + x0) * 3;
      ra.insert(ra.end(), p.begin() + off, p.begin() + off + (x1 - x0) * 3);
      rb.insert(rb.end(), m.begin() + off, m.begin() + off + (x1 - x0) * 3);
    }
    return mean_abs_diff(ra, rb);
  };
  const double corner = region_diff(w / 2, h - h / 4, w, h);  // the bottom-right quarter strip
  const double top_left = region_diff(0, 0, w / 2, h / 2);
  RecordProperty("watermark_corner_diff", fmt::format("{:.2f}", corner));
  EXPECT_GT(corner, 3.0) << "the watermark changed nothing in the bottom-right corner";
  EXPECT_LT(top_left, 1.0) << "the watermark changed the top-left quarter";
  // The text is white (with a dark border): some pixel in the corner is bright where the plain
  // render is black or red.
  int brighter = 0;
  for (int y = h - h / 4; y < h; ++y) {
    for (int x = w / 2; x < w; ++x) {
      const size_t i = (static_cast<size_t>(y) * w + x) * 3;
      if (m[i + 1] > 150 && p[i + 1] < 60) ++brighter;  // green channel: white vs black/red
    }
  }
  EXPECT_GT(brighter, 50);
}

// ---- profiles -------------------------------------------------------------------------------

TEST_F(RenderApiTest, ProfilesListsTheFive) {
  auto j = get_ok("/video/render/profiles");
  std::vector<std::string> names;
  for (const auto& p : j["items"]) {
    names.push_back(p["render_profile"]);
    EXPECT_FALSE(p.value("render_profile_description", "").empty());
    const auto& info = kProfileInfo.at(p["render_profile"]);
    EXPECT_EQ(p["width"], info.width);
    EXPECT_EQ(p["height"], info.height);
    EXPECT_EQ(p["fps"], info.fps);
  }
  EXPECT_EQ(names, kAllProfiles);
}

}  // namespace
}  // namespace atomcut::testing

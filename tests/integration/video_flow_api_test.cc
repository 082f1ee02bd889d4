// The frame grab atom and the spec's Definition-of-Done flow over real HTTP against the real
// binary: stills are fetched back through Media v2 and their pixels checked at known times;
// rotation, 29.97 fps, the cache rule, tenant isolation and bad input are covered.
#include "integration/api_fixture.h"
#include "support/media_checks.h"

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <set>

namespace atomcut::testing {
namespace {

// The colour at the centre of a still image (decoded with the ffmpeg CLI).
Rgb centre_of_image(const std::string& path) {
  auto probe = ffprobe_json(path);
  if (!probe.is_object() || probe["streams"].empty()) return kNoRgb;
  const int w = probe["streams"][0].value("width", 0);
  const int h = probe["streams"][0].value("height", 0);
  auto r = run_command(
      {"ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"},
      60000);
  std::vector<uint8_t> rgb(r.out.begin(), r.out.end());
  return mean_rgb(rgb, w, h, w / 2, h / 2);
}

class VideoFlowApiTest : public ApiSuite {
 protected:
  // 3 s at 25 fps, 320x240: red [0, 1), green [1, 2), blue [2, 3) seconds.
  static std::string colour_video() {
    static std::string path;
    if (path.empty()) {
      path = ffmpeg_make(tmp("rgb.mp4"), {"-f",
                                          "lavfi",
                                          "-i",
                                          "color=c=red:s=320x240:r=25:d=1",
                                          "-f",
                                          "lavfi",
                                          "-i",
                                          "color=c=0x00ff00:s=320x240:r=25:d=1",
                                          "-f",
                                          "lavfi",
                                          "-i",
                                          "color=c=blue:s=320x240:r=25:d=1",
                                          "-filter_complex",
                                          "[0:v][1:v][2:v]concat=n=3:v=1",
                                          "-c:v",
                                          "libx264",
                                          "-preset",
                                          "ultrafast",
                                          "-pix_fmt",
                                          "yuv420p"});
    }
    return path;
  }
  std::string colour_asset() {
    static std::string id;
    if (id.empty()) id = upload_asset(colour_video(), "rgb.mp4");
    return id;
  }
};

TEST_F(VideoFlowApiTest, GrabsTheFramesShownAtTheTimesAskedFor) {
  const std::string asset = colour_asset();
  ASSERT_FALSE(asset.empty());
  auto j = post_expect("/video/frames/grab",
                       {{"asset_id", asset}, {"timestamps_ms", {2500, 500, 1500}}}, 201);
  ASSERT_EQ(j["frame_count"], 3) << j.dump();
  const std::vector<Rgb> want = {{0, 0, 255}, {255, 0, 0}, {0, 255, 0}};
  for (size_t i = 0; i < 3; ++i) {
    const auto& f = j["frames"][i];
    EXPECT_EQ(f["kind"], "frame");
    EXPECT_EQ(f["width"], 320);
    EXPECT_EQ(f["height"], 240);
    const std::string png = fetch(f["artifact_id"], ".png");
    auto probe = ffprobe_json(png);
    ASSERT_TRUE(probe.is_object());
    EXPECT_EQ(probe["streams"][0]["codec_name"], "png");
    EXPECT_TRUE(rgb_near(centre_of_image(png), want[i], 12)) << f.dump();
    // 25 fps: the frame shown at t is the one starting at floor(t / 40) * 40.
    const int64_t t = f["timestamp_ms"].get<int64_t>();
    EXPECT_EQ(f["frame_pts_ms"].get<int64_t>(), t / 40 * 40);
  }
  // The stills are artifacts of the asset, with their times.
  auto asset_json = get_ok("/media-v2/assets/" + asset);
  int frames = 0;
  for (const auto& a : asset_json["artifacts"]) {
    if (a["kind"] == "frame") {
      ++frames;
      EXPECT_EQ(a["start_ms"], a["meta"]["timestamp_ms"]);
    }
  }
  EXPECT_GE(frames, 3);
  // The same request again is served from the cache.
  auto again = post_expect("/video/frames/grab",
                           {{"asset_id", asset}, {"timestamps_ms", {2500, 500, 1500}}}, 200);
  EXPECT_EQ(again["cache_hit"], true);
  EXPECT_EQ(again["frames"][0]["artifact_id"], j["frames"][0]["artifact_id"]);
}

TEST_F(VideoFlowApiTest, IntervalAutoJpegAndSize) {
  const std::string asset = colour_asset();
  ASSERT_FALSE(asset.empty());
  auto j = post_expect(
      "/video/frames/grab",
      {{"asset_id", asset}, {"interval_ms", 1000}, {"format", "jpeg"}, {"max_width", 160}}, 201);
  ASSERT_EQ(j["frame_count"], 3) << j.dump();
  for (size_t i = 0; i < 3; ++i) {
    const auto& f = j["frames"][i];
    EXPECT_EQ(f["timestamp_ms"], 1000 * static_cast<int>(i));
    EXPECT_EQ(f["width"], 160);
    EXPECT_EQ(f["height"], 120);
    const std::string jpg = fetch(f["artifact_id"], ".jpg");
    auto probe = ffprobe_json(jpg);
    ASSERT_TRUE(probe.is_object());
    EXPECT_EQ(probe["streams"][0]["codec_name"], "mjpeg");
    EXPECT_EQ(probe["streams"][0]["width"], 160);
  }
  EXPECT_TRUE(
      rgb_near(centre_of_image(fetch(j["frames"][1]["artifact_id"], ".jpg")), {0, 255, 0}, 16));
  // Neither interval nor times: ten frames spread over the video, each in its tenth.
  auto autoj = post_expect("/video/frames/grab", {{"asset_id", asset}}, 201);
  ASSERT_EQ(autoj["frame_count"], 10) << autoj.dump();
  EXPECT_EQ(autoj["frames"][0]["timestamp_ms"], 150);
  EXPECT_EQ(autoj["frames"][9]["timestamp_ms"], 2850);
  EXPECT_EQ(autoj["frames"][0]["meta"]["grab_mode"], "auto");
}

TEST_F(VideoFlowApiTest, RotatedAnd2997Video) {
  const std::string rotated = upload_asset(fixture("video_rotated_90.mp4"), "rot.mp4");
  ASSERT_FALSE(rotated.empty());
  auto r =
      post_expect("/video/frames/grab", {{"asset_id", rotated}, {"timestamps_ms", {500}}}, 201);
  EXPECT_EQ(r["frames"][0]["width"], 240);  // upright, as a player shows it
  EXPECT_EQ(r["frames"][0]["height"], 320);
  const std::string ntsc = upload_asset(fixture("video_2997.mp4"), "ntsc.mp4");
  ASSERT_FALSE(ntsc.empty());
  auto n = post_expect("/video/frames/grab", {{"asset_id", ntsc}, {"timestamps_ms", {500}}}, 201);
  // 30000/1001 fps: frame 14 starts at 467.13 ms and is still shown at 500 ms.
  EXPECT_EQ(n["frames"][0]["frame_pts_ms"], 467);
  EXPECT_EQ(n["frames"][0]["meta"]["frame_index"], 14);
}

TEST_F(VideoFlowApiTest, BadGrabRequestsAreClearErrors) {
  const std::string asset = colour_asset();
  ASSERT_FALSE(asset.empty());
  const std::string path = "/video/frames/grab";
  EXPECT_EQ(post_error(path, {{"timestamps_ms", {0}}}, 400)["details"]["field"], "asset_id");
  EXPECT_EQ(post_error(path, {{"asset_id", asset}, {"interval_ms", 1000}, {"timestamps_ms", {0}}},
                       400)["details"]["field"],
            "interval_ms");
  EXPECT_EQ(post_error(path, {{"asset_id", asset}, {"interval_ms", 5}}, 400)["details"]["field"],
            "interval_ms");
  EXPECT_EQ(
      post_error(path, {{"asset_id", asset}, {"timestamps_ms", {-1}}}, 400)["details"]["field"],
      "timestamps_ms");
  EXPECT_EQ(
      post_error(path, {{"asset_id", asset}, {"timestamps_ms", {"1s"}}}, 400)["details"]["field"],
      "timestamps_ms");
  EXPECT_EQ(post_error(path, {{"asset_id", asset}, {"timestamps_ms", nlohmann::json::array()}},
                       400)["details"]["field"],
            "timestamps_ms");
  EXPECT_EQ(post_error(path, {{"asset_id", asset}, {"format", "gif"}}, 400)["details"]["field"],
            "format");
  EXPECT_EQ(post_error(path, {{"asset_id", asset}, {"max_width", 100000}}, 400)["details"]["field"],
            "max_width");
  nlohmann::json many = nlohmann::json::array();
  for (int i = 0; i < 501; ++i) many.push_back(i);
  EXPECT_EQ(
      post_error(path, {{"asset_id", asset}, {"timestamps_ms", many}}, 400)["details"]["field"],
      "timestamps_ms");
  EXPECT_EQ(post_error(path, {{"asset_id", asset}, {"timestamps_ms", {9000, 10000}}},
                       400)["details"]["reason"],
            "past_end");
  // Past the end among good times: the good ones come back, the others are listed.
  auto part = post_expect(path, {{"asset_id", asset}, {"timestamps_ms", {100, 9000}}}, 201);
  EXPECT_EQ(part["frame_count"], 1);
  EXPECT_EQ(part["skipped_timestamps_ms"], nlohmann::json({9000}));
  // 30 s at 1 fps and a 40 ms interval: 751 frames, over the limit of one request.
  const std::string long_video =
      ffmpeg_make(tmp("long.mp4"), {"-f", "lavfi", "-i", "color=c=gray:s=64x48:r=1:d=30", "-c:v",
                                    "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"});
  const std::string long_asset = upload_asset(long_video, "long.mp4");
  auto err = post_error(path, {{"asset_id", long_asset}, {"interval_ms", 40}}, 429);
  EXPECT_EQ(err["code"], "resource_exhausted");
  // Sound only, corrupt media, another tenant, an unknown asset.
  const std::string audio = upload_asset(fixture("audio_sine.wav"), "a.wav");
  EXPECT_EQ(post_error(path, {{"asset_id", audio}}, 400)["details"]["reason"], "no_video_stream");
  const std::string corrupt = upload_asset(fixture("corrupt_header.mp4"), "bad.mp4");
  EXPECT_EQ(post_error(path, {{"asset_id", corrupt}}, 400)["details"]["reason"], "not_media");
  // A file that probes as H.264 but whose decoder setup (avcC: SPS/PPS) is destroyed.
  std::string bytes = slurp(colour_video());
  const size_t avcc = bytes.find("avcC");
  ASSERT_NE(avcc, std::string::npos);
  for (size_t i = avcc + 4; i < avcc + 40 && i < bytes.size(); ++i) bytes[i] = '\xff';
  std::ofstream(tmp("undecodable.mp4"), std::ios::binary) << bytes;
  const std::string undecodable = upload_asset(tmp("undecodable.mp4"), "undecodable.mp4");
  EXPECT_EQ(post_error(path, {{"asset_id", undecodable}, {"timestamps_ms", {500}}},
                       400)["details"]["reason"],
            "corrupt");
  auto hb = b();
  EXPECT_EQ(post_error(path, {{"asset_id", asset}}, 404, &hb)["code"], "not_found");
  EXPECT_EQ(post_error(path, {{"asset_id", "ast_nope"}}, 404)["code"], "not_found");
}

TEST_F(VideoFlowApiTest, BackendsOfEveryVideoAtomAreListed) {
  auto j = get_ok("/video/backends");
  std::set<std::string> seen;
  for (const auto& b : j["items"]) {
    seen.insert(b.value("atom", "") + "/" + b.value("name", ""));
    EXPECT_FALSE(b.value("backend_version", "").empty()) << b.dump();
    EXPECT_TRUE(b["available"].is_boolean()) << b.dump();
  }
  for (const char* want : {"visual_meta/signal", "visual_meta/stub", "regions/opencv_face_detector",
                           "regions/dlib_hog", "regions/stub", "captions/pocketsphinx",
                           "captions/stub", "masks/grabcut", "masks/stub"}) {
    EXPECT_TRUE(seen.count(want)) << want << " not in " << j.dump();
  }
  EXPECT_EQ(get_status("/video/backends", httplib::Headers{}), 401);
}

// The spec's Definition-of-Done flow (Phase V01): regions on a face video, visual meta and
// captions for the same asset, anonymise, dry-run, render; the notices reference the artifacts;
// the SRT is served; the render blurs the face and nothing else.
TEST_F(VideoFlowApiTest, DefinitionOfDoneFlow) {
  // A still of the astronaut photo (its 16:9 band) at the draft profile's 854x480, 4 s, with a
  // spoken sentence. The face is at (178, 60) 90x90 in the 512x288 band: here x 297..447,
  // y 100..250.
  const std::string raw = tmp("flow_speech.wav");
  ASSERT_TRUE(run_ok(
      {"flite", "-voice", "slt", "-t", "the quick brown fox jumps over the lazy dog", "-o", raw}));
  const std::string video = ffmpeg_make(
      tmp("face_speech.mp4"), {"-loop",
                               "1",
                               "-framerate",
                               "25",
                               "-i",
                               "/usr/lib/python3/dist-packages/skimage/data/astronaut.png",
                               "-i",
                               raw,
                               "-filter_complex",
                               "[0:v]crop=512:288:0:16,scale=854:480,setsar=1,format=yuv420p[v];"
                               "[1:a]adelay=500,apad=whole_dur=4,aresample=48000[a]",
                               "-map",
                               "[v]",
                               "-map",
                               "[a]",
                               "-t",
                               "4",
                               "-c:v",
                               "libx264",
                               "-preset",
                               "ultrafast",
                               "-c:a",
                               "aac"});
  ASSERT_FALSE(video.empty());
  const std::string asset = upload_asset(video, "face_speech.mp4");
  ASSERT_FALSE(asset.empty());

  // 1. Regions.
  auto regions = post_expect("/video/regions", {{"asset_id", asset}}, 201);
  const std::string summary = regions.value("summary_id", "");
  ASSERT_FALSE(summary.empty()) << regions.dump();
  EXPECT_GE(regions["face_count"].get<int>(), 1) << regions.dump();
  // 2. Visual meta and captions for the same asset.
  auto meta = post_expect("/video/visual-meta/analyze", {{"asset_id", asset}}, 201);
  const std::string visual = meta.value("visual_meta_artifact_id", "");
  ASSERT_FALSE(visual.empty()) << meta.dump();
  auto captions = post_expect("/video/captions/generate", {{"asset_id", asset}}, 201);
  const std::string transcript = captions.value("artifact_id", "");
  ASSERT_FALSE(transcript.empty()) << captions.dump();

  // 3. Anonymise a clip of the asset, dry-run and render.
  auto project = post_expect("/video/projects", {{"title", "flow"}}, 201);
  auto sequence = post_expect("/video/projects/" + project.value("id", "") + "/sequences",
                              {{"name", "main"}, {"timebase", 25}}, 201);
  auto track = post_expect("/video/sequences/" + sequence.value("id", "") + "/tracks",
                           {{"kind", "video"}, {"order", 0}}, 201);
  auto clip = post_expect("/video/tracks/" + track.value("id", "") + "/clips",
                          {{"asset_id", asset}, {"in_ms", 0}, {"out_ms", 4000}}, 201);
  const std::string clip_id = clip.value("id", "");
  auto anon = post("/video/anonymise/faces", {{"clip_id", clip_id}, {"strength", "strong"}});
  ASSERT_TRUE(anon && (anon->status == 201 || anon->status == 200)) << (anon ? anon->body : "");
  const nlohmann::json render_body = {{"project_id", project.value("id", "")},
                                      {"render_profile", "draft_480p_fast"}};
  auto dry = post_expect("/video/render/dry-run", render_body, 200);
  const auto& notices = dry["plan"]["meta"]["dependency_notices"];
  ASSERT_TRUE(notices.is_array()) << dry.dump().substr(0, 3000);
  std::map<std::string, nlohmann::json> by_id;
  for (const auto& n : notices) by_id[n.value("artifact_id", "")] = n;
  for (const auto& [id, kind] :
       std::vector<std::pair<std::string, std::string>>{{summary, "video_region_summary"},
                                                        {visual, "visual_meta"},
                                                        {transcript, "asr_transcript"}}) {
    ASSERT_TRUE(by_id.count(id)) << kind << " " << id << " not in " << notices.dump();
    EXPECT_EQ(by_id[id]["kind"], kind);
    EXPECT_TRUE(by_id[id]["backend_version"].is_string()) << by_id[id].dump();
    EXPECT_TRUE(by_id[id]["cache_key"].is_string()) << by_id[id].dump();
  }
  EXPECT_EQ(by_id[summary]["used"], true);
  auto out = post_expect("/video/render", render_body, 201);
  const std::string rendered_asset = out.value("asset_id", "");
  ASSERT_FALSE(rendered_asset.empty()) << out.dump();
  auto rendered = c_->Get("/media-v2/assets/" + rendered_asset + "/content", a());
  ASSERT_TRUE(rendered && rendered->status == 200);
  const std::string render_path = tmp("flow_render.mp4");
  std::ofstream(render_path, std::ios::binary) << rendered->body;
  auto probe = ffprobe_json(render_path);
  ASSERT_TRUE(probe.is_object());
  EXPECT_NEAR(std::stod(probe["format"]["duration"].get<std::string>()), 4.0, 0.1);
  // The face is blurred; the rest of the picture is the source's.
  int w = 0, h = 0, sw = 0, sh = 0;
  const auto out_rgb = frame_rgb24(render_path, 2.0, &w, &h);
  const auto src_rgb = frame_rgb24(video, 2.0, &sw, &sh);
  ASSERT_EQ(w, 854);
  ASSERT_EQ(sw, 854);
  auto crop = [](const std::vector<uint8_t>& rgb, int width, int x0, int y0, int cw, int ch) {
    std::vector<uint8_t> out;
    for (int y = y0; y < y0 + ch; ++y) {
      const uint8_t* row = rgb.data() + (static_cast<size_t>(y) * width + x0) * 3;
      out.insert(out.end(), row, row + static_cast<size_t>(cw) * 3);
    }
    return out;
  };
  const double inside =
      mean_abs_diff(crop(out_rgb, w, 317, 120, 110, 110), crop(src_rgb, sw, 317, 120, 110, 110));
  const double outside =
      mean_abs_diff(crop(out_rgb, w, 20, 300, 200, 160), crop(src_rgb, sw, 20, 300, 200, 160));
  EXPECT_GT(inside, 8.0) << "the face is not blurred";
  EXPECT_LT(outside, 3.0) << "pixels away from the face changed";
  std::printf("[flow] face box mean |render - source| %.2f, away from the face %.2f\n", inside,
              outside);

  // 4. The captions are served as SRT.
  auto srt = c_->Get("/video/captions/" + transcript + "/srt", a());
  ASSERT_TRUE(srt && srt->status == 200);
  EXPECT_NE(srt->body.find("1\n00:00:0"), std::string::npos) << srt->body;
  EXPECT_NE(srt->body.find("-->"), std::string::npos) << srt->body;
  EXPECT_NE(srt->body.find("fox"), std::string::npos) << srt->body;
}

}  // namespace
}  // namespace atomcut::testing

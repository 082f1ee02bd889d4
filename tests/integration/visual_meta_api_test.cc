// The visual meta atom over HTTP against the real server: analyze (201, cache hit 200), get,
// by-clip (404 without a visual_meta), reframe-suggestion (also analysing on demand), the stub
// backend by name, tenant isolation, bad bodies and bad media.
//
// Media: the astronaut photograph panned (a face, 2 s) cut to ffmpeg's testsrc2 (2 s) at frame
// 50 (2000 ms), 640x360, 25 fps, H.264.
#include "integration/api_fixture.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace atomcut::testing {
namespace {

constexpr const char* kAstronautPng = "/usr/lib/python3/dist-packages/skimage/data/astronaut.png";

class VisualMetaApiTest : public ApiSuite {
 protected:
  static std::string video() {
    static std::string path = [] {
      const std::string graph =
          "[0:v]crop=512:288:0:16,format=rgb24,zoompan=z='1+0.4*on/49':x='223-(0.3+0.3*on/49)*iw/"
          "(1+0.4*on/49)':y='105-0.45*ih/(1+0.4*on/49)':d=50:s=640x360:fps=25,format=yuv420p,"
          "setsar=1[a];[1:v]format=yuv420p,setsar=1[b];[a][b]concat=n=2:v=1:a=0[out]";
      return ffmpeg_make(tmp("face_cut.mp4"),
                         {"-i", kAstronautPng, "-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=2",
                          "-filter_complex", graph, "-map", "[out]", "-c:v", "libx264", "-preset",
                          "ultrafast", "-crf", "20"});
    }();
    return path;
  }
  std::string clip_on(const std::string& asset_id, int64_t in_ms, int64_t out_ms,
                      double speed = 1.0) {
    auto project = post_expect("/video/projects", {{"title", "p"}}, 201);
    auto seq = post_expect("/video/projects/" + project.value("id", "") + "/sequences",
                           {{"name", "s"}, {"timebase", 25}}, 201);
    auto track = post_expect("/video/sequences/" + seq.value("id", "") + "/tracks",
                             {{"kind", "video"}, {"order", 0}}, 201);
    auto clip = post_expect("/video/tracks/" + track.value("id", "") + "/clips",
                            {{"asset_id", asset_id},
                             {"in_ms", in_ms},
                             {"out_ms", out_ms},
                             {"start_ms_on_timeline", 0},
                             {"speed", speed}},
                            201);
    return clip.value("id", "");
  }
};

TEST_F(VisualMetaApiTest, AnalyzeGetByClipAndReframe) {
  if (!std::filesystem::exists(kAstronautPng)) GTEST_SKIP() << "astronaut.png not installed";
  ASSERT_FALSE(video().empty());
  const std::string id = upload_asset(video(), "face_cut.mp4");
  ASSERT_FALSE(id.empty());

  auto made = post_expect("/video/visual-meta/analyze", {{"asset_id", id}}, 201);
  const std::string vm = made.value("visual_meta_artifact_id", "");
  ASSERT_FALSE(vm.empty());
  EXPECT_FALSE(made.value("uri", "").empty());
  EXPECT_EQ(made["cache_hit"], false);
  const auto& meta = made["meta"];
  for (const char* k : {"backend_version", "model_used", "cache_key", "duration_ms",
                        "frame_sample_interval_ms", "backend_type", "requested_backend"}) {
    EXPECT_TRUE(meta.contains(k)) << k << " " << meta.dump();
  }
  EXPECT_EQ(meta["backend_type"], "signal");
  EXPECT_EQ(meta["stub"], false);
  EXPECT_EQ(meta["frame_sample_interval_ms"], 500);
  EXPECT_NEAR(meta["duration_ms"].get<double>(), 4000, 80);
  EXPECT_EQ(made["frame_count"], 8);

  // The stored summary.
  auto doc = get_ok("/video/visual-meta/" + vm);
  EXPECT_EQ(doc["asset_id"], id);
  EXPECT_TRUE(doc["artifact_id"].is_null());
  EXPECT_EQ(doc["visual_meta_artifact_id"], vm);
  ASSERT_EQ(doc["frames"].size(), 8u);
  bool cut_found = false;
  for (const auto& b : doc["shot_boundaries_ms"])
    cut_found |= std::abs(b.get<int64_t>() - 2000) <= 40;
  EXPECT_TRUE(cut_found) << doc["shot_boundaries_ms"].dump();
  EXPECT_EQ(doc["frames"][0]["shot_boundary"], true);
  EXPECT_EQ(doc["frames"][4]["shot_boundary"], true);  // the sample at 2000 ms
  EXPECT_EQ(doc["frames"][2]["shot_boundary"], false);
  int faces = 0;
  for (int k = 0; k < 4; ++k) {
    for (const auto& s : doc["frames"][k]["subjects"]) {
      if (s["label"] != "face") continue;
      ++faces;
      EXPECT_TRUE(s["track_id"].is_string());
      for (const char* f : {"bbox_x", "bbox_y", "bbox_width", "bbox_height", "confidence"}) {
        EXPECT_GE(s[f].get<double>(), 0.0);
        EXPECT_LE(s[f].get<double>(), 1.0);
      }
    }
    EXPECT_TRUE(doc["frames"][k].contains("motion_score"));
  }
  EXPECT_GE(faces, 3);

  // The same request again: the same artifact, 200.
  auto again = post_expect("/video/visual-meta/analyze",
                           {{"asset_id", id}, {"sample_interval_ms", 500}}, 200);
  EXPECT_EQ(again["visual_meta_artifact_id"], vm);
  EXPECT_EQ(again["cache_hit"], true);
  EXPECT_EQ(again["meta"]["cache_hit"], true);

  // Tenant B sees nothing.
  auto hb = b();
  EXPECT_EQ(get_status("/video/visual-meta/" + vm, hb), 404);
  post_error("/video/visual-meta/analyze", {{"asset_id", id}}, 404, &hb);

  // By clip: 1000..3500 ms -> clip-relative, the cut at 1000.
  const std::string clip = clip_on(id, 1000, 3500);
  auto by = get_ok("/video/visual-meta/by-clip/" + clip);
  EXPECT_EQ(by["visual_meta_artifact_id"], vm);
  EXPECT_EQ(by["meta"]["clip_relative"], true);
  EXPECT_EQ(by["duration_ms"], 2500);
  ASSERT_EQ(by["frames"].size(), 5u);  // 1000, 1500, ..., 3000
  EXPECT_EQ(by["frames"][0]["timestamp_ms"], 0);
  EXPECT_EQ(by["frames"][0]["source_timestamp_ms"], 1000);
  bool rel_cut = false;
  for (const auto& b : by["shot_boundaries_ms"]) rel_cut |= std::abs(b.get<int64_t>() - 1000) <= 40;
  EXPECT_TRUE(rel_cut) << by.dump();
  EXPECT_EQ(get_status("/video/visual-meta/by-clip/" + clip, hb), 404);

  // Reframe to 9:16.
  auto rf = post_expect(
      "/video/visual-meta/reframe-suggestion",
      {{"clip_id", clip}, {"target_aspect_ratio", "9:16"}, {"framing_style", "center"}}, 200);
  EXPECT_EQ(rf["clip_id"], clip);
  EXPECT_EQ(rf["meta"]["source_visual_meta_artifact_id"], vm);
  EXPECT_EQ(rf["meta"]["target_aspect_ratio"], "9:16");
  EXPECT_EQ(rf["meta"]["framing_style"], "center");
  EXPECT_EQ(rf["meta"]["applied"], false);
  ASSERT_EQ(rf["automation"].size(), 3u);
  std::set<std::string> props;
  for (const auto& a : rf["automation"]) {
    props.insert(a.value("property", ""));
    EXPECT_EQ(a["target_type"], "clip");
    EXPECT_EQ(a["target_id"], clip);
    int64_t prev = -1;
    for (const auto& k : a["keyframes"]) {
      EXPECT_GT(k["time_ms"].get<int64_t>(), prev);
      prev = k["time_ms"].get<int64_t>();
      EXPECT_LE(prev, 2500);
      if (a["property"] == "scale") EXPECT_NEAR(k["value"].get<double>(), 3.1605, 1e-3);
      if (a["property"] == "position_x") {
        EXPECT_GE(k["value"].get<double>(), 0.158);
        EXPECT_LE(k["value"].get<double>(), 0.842);
      }
    }
  }
  EXPECT_EQ(props, (std::set<std::string>{"position_x", "position_y", "scale"}));

  // Stub by name: a new artifact that says it is a stub.
  auto stub =
      post_expect("/video/visual-meta/analyze", {{"asset_id", id}, {"backend", "stub"}}, 201);
  EXPECT_EQ(stub["meta"]["backend_type"], "stub");
  EXPECT_EQ(stub["meta"]["model_used"], "visual_meta_stub_v1");
  EXPECT_EQ(stub["meta"]["stub"], true);
  EXPECT_NE(stub["visual_meta_artifact_id"], vm);
}

TEST_F(VisualMetaApiTest, ByClipWithoutMetaIs404AndReframeAnalysesOnDemand) {
  if (!std::filesystem::exists(kAstronautPng)) GTEST_SKIP() << "astronaut.png not installed";
  ASSERT_FALSE(video().empty());
  const std::string id = upload_asset(video(), "second.mp4");
  ASSERT_FALSE(id.empty());
  const std::string clip = clip_on(id, 0, 2000);
  auto r = c_->Get("/video/visual-meta/by-clip/" + clip, a());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(error_code_of(r), "not_found");
  post_error("/video/visual-meta/reframe-suggestion",
             {{"clip_id", clip}, {"target_aspect_ratio", "1:1"}, {"analyze_if_missing", false}},
             400);
  auto rf = post_expect(
      "/video/visual-meta/reframe-suggestion",
      {{"clip_id", clip}, {"target_aspect_ratio", "1:1"}, {"framing_style", "rule_of_thirds"}},
      200);
  EXPECT_EQ(rf["meta"]["analyzed_on_demand"], true);
  EXPECT_EQ(rf["meta"]["framing_style"], "rule_of_thirds");
  EXPECT_NEAR(rf["meta"]["scale"].get<double>(), 1.7778, 1e-3);
  const std::string vm = rf["meta"].value("source_visual_meta_artifact_id", "");
  auto by = get_ok("/video/visual-meta/by-clip/" + clip);
  EXPECT_EQ(by["visual_meta_artifact_id"], vm);
}

TEST_F(VisualMetaApiTest, BadBodiesAndBadMedia) {
  const std::string wav = ffmpeg_make(tmp("tone.wav"), {"-f", "lavfi", "-i", "sine=d=1"});
  ASSERT_FALSE(wav.empty());
  const std::string audio_id = upload_asset(wav, "tone.wav");
  ASSERT_FALSE(audio_id.empty());
  auto e = post_error("/video/visual-meta/analyze", {{"asset_id", audio_id}}, 400);
  EXPECT_EQ(e["details"].value("reason", ""), "no_video_stream") << e.dump();

  // A video whose frames are garbage: the header says H.264, the data is noise.
  const std::string good =
      ffmpeg_make(tmp("small.mp4"), {"-f", "lavfi", "-i", "testsrc2=s=160x90:r=25:d=1", "-c:v",
                                     "libx264", "-preset", "ultrafast", "-movflags", "+faststart"});
  ASSERT_FALSE(good.empty());
  std::string bytes = slurp(good);
  const size_t mdat = bytes.find("mdat");
  ASSERT_NE(mdat, std::string::npos);
  for (size_t i = mdat + 4; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 131) & 0xff);
  std::ofstream(tmp("corrupt.mp4"), std::ios::binary) << bytes;
  auto up = upload(*c_, a(), tmp("corrupt.mp4"), "corrupt.mp4");
  ASSERT_TRUE(up);
  if (up->status == 201) {
    const std::string cid = body_json(up).value("asset_id", "");
    auto ce = post_error("/video/visual-meta/analyze", {{"asset_id", cid}}, 400);
    EXPECT_FALSE(ce.value("message", "").empty());
    EXPECT_TRUE(ce["details"].contains("reason")) << ce.dump();
    EXPECT_EQ(ce["details"].value("asset_id", ""), cid);
    EXPECT_EQ(ce.dump().find("/blobs/"), std::string::npos) << "storage path leaked";
    std::printf("[ figures  ] corrupt video: analyze -> %s\n", ce.dump().c_str());
  } else {
    EXPECT_EQ(up->status, 400) << up->body;  // refused at upload: also a clear 4xx
    std::printf("[ figures  ] corrupt video refused at upload: %s\n", up->body.c_str());
  }

  auto field_of = [](const nlohmann::json& err) { return err["details"].value("field", ""); };
  EXPECT_NE(field_of(post_error("/video/visual-meta/analyze", nlohmann::json::object(), 400))
                .find("asset_id"),
            std::string::npos);
  EXPECT_NE(field_of(post_error("/video/visual-meta/analyze",
                                {{"asset_id", "x"}, {"sample_interval_ms", 10}}, 400))
                .find("sample_interval_ms"),
            std::string::npos);
  post_error("/video/visual-meta/analyze", {{"asset_id", "x"}, {"sample_interval_ms", 1e12}}, 400);
  post_error("/video/visual-meta/analyze", {{"asset_id", "x"}, {"sample_interval_ms", "500"}}, 400);
  post_error("/video/visual-meta/analyze", {{"asset_id", 5}}, 400);
  post_error("/video/visual-meta/analyze", {{"asset_id", "x"}, {"include_labels", "yes"}}, 400);
  EXPECT_NE(
      field_of(post_error("/video/visual-meta/analyze", {{"asset_id", "x"}, {"colour", 1}}, 400))
          .find("colour"),
      std::string::npos);
  post_error("/video/visual-meta/analyze", {{"asset_id", audio_id}, {"backend", "nope"}}, 400);
  post_error("/video/visual-meta/analyze", {{"asset_id", "no_such_asset"}}, 404);

  post_error("/video/visual-meta/reframe-suggestion", {{"clip_id", "c"}}, 400);
  post_error("/video/visual-meta/reframe-suggestion",
             {{"clip_id", "c"}, {"target_aspect_ratio", "3:2"}}, 400);
  post_error("/video/visual-meta/reframe-suggestion",
             {{"clip_id", "c"}, {"target_aspect_ratio", "9:16"}, {"framing_style", "wide"}}, 400);
  post_error("/video/visual-meta/reframe-suggestion", {{"target_aspect_ratio", "9:16"}}, 400);
  post_error("/video/visual-meta/reframe-suggestion",
             {{"clip_id", "c"}, {"target_aspect_ratio", "9:16"}, {"extra", true}}, 400);
  post_error("/video/visual-meta/reframe-suggestion",
             {{"clip_id", "no_such_clip"}, {"target_aspect_ratio", "9:16"}}, 404);
  EXPECT_EQ(get_status("/video/visual-meta/no_such_artifact", a()), 404);
  EXPECT_EQ(get_status("/video/visual-meta/by-clip/no_such_clip", a()), 404);
}

}  // namespace
}  // namespace atomcut::testing

// Face regions, anonymisation and the render's face blur over real HTTP against the real binary.
//
// The face video is the astronaut photograph of MEDIA.md panned and zoomed with ffmpeg's zoompan
// (640x360, 25 fps, 3 s); the no-face videos are ffmpeg test patterns. POST /video/regions must
// register the summary and L-mode masks under the asset's regions/ prefix, reuse them for an
// identical request, and refuse bad input; POST /video/anonymise/faces must write the clip's
// face_blur filter (or say why not); and the render must blur the face box and leave the rest of
// the picture as the same render without the filter has it.
#include "integration/api_fixture.h"
#include "support/media_checks.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>

namespace atomcut::testing {
namespace {

const char* const kAstronautPng = "/usr/lib/python3/dist-packages/skimage/data/astronaut.png";

// Mean absolute difference of two rgb24 frames of the same size over the rectangle
// [x0, x1) x [y0, y1).
double crop_diff(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, int w, int x0,
                 int y0, int x1, int y1) {
  double sum = 0;
  int64_t n = 0;
  for (int y = y0; y < y1; ++y) {
    for (int x = x0; x < x1; ++x) {
      for (int c = 0; c < 3; ++c) {
        const size_t i = (static_cast<size_t>(y) * w + x) * 3 + c;
        if (i >= a.size() || i >= b.size()) continue;
        sum += std::abs(static_cast<int>(a[i]) - static_cast<int>(b[i]));
        ++n;
      }
    }
  }
  return n ? sum / n : -1;
}

class RegionsApiTest : public ApiSuite {
 protected:
  static std::string face_video() {
    static std::string path;
    if (path.empty()) {
      const std::string zoom = "(1+0.5*on/74)";
      path = ffmpeg_make(
          tmp("astronaut.mp4"),
          {"-i", kAstronautPng, "-vf",
           "crop=512:288:0:16,format=rgb24,zoompan=z='" + zoom + "':x='223-(0.35+0.3*on/74)*iw/" +
               zoom + "':y='105-0.45*ih/" + zoom + "':d=75:s=640x360:fps=25",
           "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p"});
    }
    return path;
  }
  static std::string pattern_video(const std::string& name, const std::string& src) {
    return ffmpeg_make(tmp(name), {"-f", "lavfi", "-i", src, "-c:v", "libx264", "-preset",
                                   "ultrafast", "-pix_fmt", "yuv420p"});
  }
  std::string face_asset() {
    static std::string id;
    if (id.empty()) id = upload_asset(face_video(), "astronaut.mp4");
    return id;
  }
  // The first successful regions call on the face asset (default backend).
  nlohmann::json face_summary() {
    static nlohmann::json body;
    if (body.is_null()) body = post_expect("/video/regions", {{"asset_id", face_asset()}}, 201);
    return body;
  }

  std::string new_clip(const std::string& asset, int64_t in_ms, int64_t out_ms,
                       std::string* project = nullptr) {
    auto p = post_expect("/video/projects", {{"title", "faces"}}, 201);
    auto s = post_expect("/video/projects/" + p.value("id", "") + "/sequences",
                         {{"name", "main"}, {"timebase", 25}}, 201);
    auto t = post_expect("/video/sequences/" + s.value("id", "") + "/tracks",
                         {{"kind", "video"}, {"order", 0}}, 201);
    auto c = post_expect(
        "/video/tracks/" + t.value("id", "") + "/clips",
        {{"asset_id", asset}, {"in_ms", in_ms}, {"out_ms", out_ms}, {"start_ms_on_timeline", 0}},
        201);
    if (project) *project = p.value("id", "");
    return c.value("id", "");
  }

  std::string download_asset(const std::string& asset_id) {
    auto r = c_->Get("/media-v2/assets/" + asset_id + "/content", a());
    EXPECT_TRUE(r && r->status == 200) << asset_id;
    const std::string p = tmp("out_" + asset_id + ".mp4");
    std::ofstream(p, std::ios::binary) << (r ? r->body : "");
    return p;
  }
};

TEST_F(RegionsApiTest, RegionsRegisterSummaryAndLModeMasksUnderTheRegionsPrefix) {
  const std::string asset = face_asset();
  ASSERT_FALSE(asset.empty());
  const nlohmann::json out = face_summary();
  ASSERT_TRUE(out.is_object());
  EXPECT_EQ(out["kind"], "video_region_summary");
  EXPECT_EQ(out["cache_hit"], false);
  EXPECT_EQ(out["backend"], "opencv_face_detector");
  EXPECT_GE(out["face_count"].get<int>(), 1);
  EXPECT_LE(out["face_count"].get<int>(), 2);
  const auto& meta = out["meta"];
  for (const char* f : {"backend_version", "model_used", "cache_key"}) {
    EXPECT_TRUE(meta[f].is_string() && !meta[f].get<std::string>().empty()) << f;
  }
  EXPECT_TRUE(meta["duration_ms"].is_number());
  EXPECT_EQ(meta["frame_sample_interval_ms"], 200);
  const std::string prefix =
      fmt::format("tenants/{}/{}/media_v2/{}/regions/", kTenantA, kEnv, asset);
  EXPECT_NE(out["uri"].get<std::string>().find(prefix), std::string::npos) << out["uri"];
  // The bytes really are there, in the data dir's blob store.
  const std::string summary_file = server_->data_dir() + "/blobs/" + prefix;
  bool found_summary = false;
  for (const auto& f : files_under(server_->data_dir())) {
    if (f.find(prefix + out["artifact_id"].get<std::string>()) != std::string::npos) {
      found_summary = true;
    }
  }
  EXPECT_TRUE(found_summary) << "no file under " << prefix;
  (void)summary_file;

  // The document: one face track followed through the pan and zoom.
  const nlohmann::json doc = fetch_json(out["artifact_id"]);
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["asset_id"], asset);
  EXPECT_EQ(doc["width"], 640);
  ASSERT_FALSE(doc["tracks"].empty());
  const auto& track = doc["tracks"][0];
  EXPECT_EQ(track["track_id"], 1);
  EXPECT_EQ(track["label"], "face");
  EXPECT_GE(track["points"].size(), 12u) << "followed through the 15 samples";
  EXPECT_EQ(doc["frames"].size(), 15u);

  // Masks: one per track, under the same prefix, an 8-bit grey PNG.
  ASSERT_EQ(out["masks"].size(), out["face_count"].get<size_t>());
  for (const auto& m : out["masks"]) {
    EXPECT_EQ(m["kind"], "mask");
    EXPECT_NE(m["uri"].get<std::string>().find(prefix), std::string::npos);
    EXPECT_EQ(m["meta"]["mask_type"], "face");
    EXPECT_EQ(m["meta"]["source"], "video_regions");
    EXPECT_EQ(m["meta"]["cache_key"], meta["cache_key"]);
    EXPECT_EQ(m["meta"]["selection_hash"].get<std::string>().size(), 64u);
    EXPECT_EQ(m["meta"]["feather_radius"], 8);
    const std::string png = fetch(m["artifact_id"], ".png");
    std::ifstream f(png, std::ios::binary);
    std::vector<char> head(26);
    f.read(head.data(), 26);
    ASSERT_EQ(f.gcount(), 26);
    EXPECT_EQ(std::string(head.data() + 1, 3), "PNG");
    EXPECT_EQ(head[24], 8) << "bit depth";
    EXPECT_EQ(head[25], 0) << "colour type 0: L mode";
    auto probe = ffprobe_json(png);
    ASSERT_TRUE(probe.is_object());
    EXPECT_EQ(probe["streams"][0]["pix_fmt"], "gray");
    EXPECT_EQ(probe["streams"][0]["width"], 640);
  }
  EXPECT_EQ(meta["mask_artifact_ids"].size(), out["masks"].size());

  // The identical request is served from the cache.
  const nlohmann::json again = post_expect("/video/regions", {{"asset_id", asset}}, 200);
  EXPECT_EQ(again["artifact_id"], out["artifact_id"]);
  EXPECT_EQ(again["cache_hit"], true);
  EXPECT_EQ(again["mask_artifact_ids"], meta["mask_artifact_ids"]);
}

TEST_F(RegionsApiTest, BackendsByNameStubAndDlib) {
  const std::string asset = face_asset();
  const nlohmann::json stub =
      post_expect("/video/regions", {{"asset_id", asset}, {"backend", "stub"}}, 201);
  EXPECT_EQ(stub["face_count"], 0);
  EXPECT_NE(stub["backend_version"].get<std::string>().find("stub"), std::string::npos);
  EXPECT_TRUE(stub["masks"].empty());
  const nlohmann::json hog =
      post_expect("/video/regions",
                  {{"asset_id", asset}, {"backend", "dlib_hog"}, {"sample_interval_ms", 500}}, 201);
  EXPECT_EQ(hog["backend"], "dlib_hog");
  EXPECT_EQ(hog["backend_version"], "dlib 19.24.0 hog");
  EXPECT_GE(hog["face_count"].get<int>(), 1);
  EXPECT_NE(hog["meta"]["cache_key"], stub["meta"]["cache_key"]);
}

TEST_F(RegionsApiTest, BadInputIsRefused) {
  const std::string asset = face_asset();
  struct Case {
    nlohmann::json body;
    const char* field;
  };
  const std::vector<Case> cases = {
      {nlohmann::json::object(), "asset_id"},
      {{{"asset_id", 12}}, "asset_id"},
      {{{"asset_id", asset}, {"sample_interval_ms", 5}}, "sample_interval_ms"},
      {{{"asset_id", asset}, {"sample_interval_ms", 1.5}}, "sample_interval_ms"},
      {{{"asset_id", asset}, {"min_confidence", "high"}}, "min_confidence"},
      {{{"asset_id", asset}, {"min_confidence", 3}}, "min_confidence"},
      {{{"asset_id", asset}, {"feather_radius", 100000}}, "feather_radius"},
      {{{"asset_id", asset}, {"backend", "yolo"}}, "backend"},
  };
  for (const auto& c : cases) {
    const nlohmann::json e = post_error("/video/regions", c.body, 400);
    EXPECT_EQ(e["code"], "invalid_argument") << c.body.dump();
    EXPECT_EQ(e["details"]["field"], c.field) << c.body.dump() << " -> " << e.dump();
  }
  auto r = c_->Post("/video/regions", a(), "[1,2]", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(error_code_of(r), "invalid_argument");

  // Another tenant's asset does not exist for this caller.
  const auto hb = b();
  EXPECT_EQ(post_error("/video/regions", {{"asset_id", asset}}, 404, &hb)["code"], "not_found");
  EXPECT_EQ(post_error("/video/regions", {{"asset_id", "ast_nope"}}, 404)["code"], "not_found");

  // Sound only: no picture to look at.
  const std::string wav =
      ffmpeg_make(tmp("tone.wav"), {"-f", "lavfi", "-i", "sine=frequency=440:duration=1"});
  const std::string audio = upload_asset(wav, "tone.wav");
  const nlohmann::json e = post_error("/video/regions", {{"asset_id", audio}}, 400);
  EXPECT_EQ(e["details"]["reason"], "no_video_stream") << e.dump();

  // Bytes that are not media.
  std::ofstream(tmp("junk.mp4")) << "not a video, only some text pretending to be one";
  auto up = upload(*c_, a(), tmp("junk.mp4"), "junk.mp4");
  ASSERT_TRUE(up);
  if (up->status == 201) {
    const std::string junk = body_json(up).value("asset_id", "");
    EXPECT_EQ(post_error("/video/regions", {{"asset_id", junk}}, 400)["code"], "invalid_argument");
  } else {
    EXPECT_EQ(up->status, 400) << up->body;
  }
}

TEST_F(RegionsApiTest, AnonymiseWithoutFacesOrSummary) {
  const std::string blank =
      upload_asset(pattern_video("testsrc.mp4", "testsrc2=s=320x180:r=25:d=2"), "testsrc.mp4");
  std::string project;
  const std::string clip = new_clip(blank, 0, 2000, &project);
  // No summary yet: the caller is told what to run first.
  nlohmann::json e = post_error("/video/anonymise/faces", {{"clip_id", clip}}, 400);
  EXPECT_EQ(e["code"], "failed_precondition");
  EXPECT_EQ(e["details"]["reason"], "video_regions_missing");
  EXPECT_NE(e["message"].get<std::string>().find("POST /video/regions"), std::string::npos);

  // A face_blur written by hand on a clip whose asset has no summary: the render warns.
  post_expect("/video/filter-stacks/clip/" + clip,
              {{"filters", {{{"type", "face_blur"}, {"params", {{"strength", 0.5}}}}}}}, 201);
  const nlohmann::json dry =
      post_expect("/video/render/dry-run",
                  {{"project_id", project}, {"render_profile", "draft_480p_fast"}}, 200);
  bool warned = false;
  for (const auto& w : dry["plan"]["meta"]["warnings"]) {
    if (w.value("code", "") == "video_regions_missing") {
      warned = true;
      EXPECT_NE(w["message"].get<std::string>().find("video_regions missing for asset " + blank),
                std::string::npos);
    }
    EXPECT_NE(w.value("code", ""), "not_rendered_yet") << w.dump();
  }
  EXPECT_TRUE(warned) << dry["plan"]["meta"]["warnings"].dump();
  EXPECT_EQ(dry["plan"]["filter_graph"].dump().find("boxblur"), std::string::npos);

  // With a summary that found no face: a clear answer and nothing written.
  const nlohmann::json regions = post_expect("/video/regions", {{"asset_id", blank}}, 201);
  EXPECT_EQ(regions["face_count"], 0);
  const std::string clip2 = new_clip(blank, 0, 1000);
  const nlohmann::json none =
      post_expect("/video/anonymise/faces", {{"clip_id", clip2}, {"strength", "strong"}}, 200);
  EXPECT_EQ(none["applied"], false);
  EXPECT_EQ(none["reason"], "no_faces");
  EXPECT_EQ(none["faces_found"], 0);
  EXPECT_EQ(none["summary_id"], regions["artifact_id"]);
  EXPECT_EQ(get_status("/video/filter-stacks/clip/" + clip2, a()), 404) << "no filter written";
}

TEST_F(RegionsApiTest, AnonymiseWritesFaceBlurAndTheRenderBlursOnlyTheFace) {
  const std::string asset = face_asset();
  // A summary of its own (other tests add summaries to the asset too): the freshest one, which
  // anonymisation picks when no summary_id is named.
  const nlohmann::json summary =
      post_expect("/video/regions", {{"asset_id", asset}, {"sample_interval_ms", 240}}, 201);
  const std::string summary_id = summary.value("artifact_id", "");
  ASSERT_FALSE(summary_id.empty());
  std::string project;
  const std::string clip = new_clip(asset, 500, 2500, &project);  // source 0.5 .. 2.5 s
  const nlohmann::json render_body = {{"project_id", project},
                                      {"render_profile", "draft_480p_fast"}};
  // The reference: the same render before anonymisation.
  const nlohmann::json ref = post_expect("/video/render", render_body, 201);
  const std::string ref_path = download_asset(ref.value("asset_id", ""));

  // Bad requests first.
  const auto hb = b();
  EXPECT_EQ(post_error("/video/anonymise/faces", {{"clip_id", clip}}, 404, &hb)["code"],
            "not_found");
  EXPECT_EQ(post_error("/video/anonymise/faces", nlohmann::json::object(), 400)["details"]["field"],
            "clip_id");
  EXPECT_EQ(post_error("/video/anonymise/faces", {{"clip_id", clip}, {"strength", "extreme"}},
                       400)["details"]["field"],
            "strength");
  EXPECT_EQ(post_error("/video/anonymise/faces", {{"clip_id", clip}, {"strength", 5}},
                       400)["details"]["field"],
            "strength");
  EXPECT_EQ(post_error("/video/anonymise/faces", {{"clip_id", clip}, {"summary_id", "art_nope"}},
                       404)["code"],
            "not_found");

  // The asset form answers the verdict without writing.
  const nlohmann::json verdict = post_expect("/video/anonymise/faces", {{"asset_id", asset}}, 200);
  EXPECT_EQ(verdict["applied"], false);
  EXPECT_EQ(verdict["reason"], "clip_id_required");
  EXPECT_GE(verdict["faces_found"].get<int>(), 1);

  // Light first (creates the stack), then strong (updates the same filter in place).
  const nlohmann::json light =
      post_expect("/video/anonymise/faces", {{"clip_id", clip}, {"strength", "light"}}, 201);
  EXPECT_EQ(light["applied"], true);
  EXPECT_EQ(light["summary_id"], summary_id);
  const nlohmann::json strong =
      post_expect("/video/anonymise/faces", {{"clip_id", clip}, {"strength", "strong"}}, 200);
  EXPECT_EQ(strong["filter_stack_id"], light["filter_stack_id"]);
  const nlohmann::json stack = get_ok("/video/filter-stacks/clip/" + clip);
  ASSERT_EQ(stack["filters"].size(), 1u) << stack.dump();
  const auto& f = stack["filters"][0];
  EXPECT_EQ(f["type"], "face_blur");
  EXPECT_EQ(f["params"]["strength"], 1.0);
  EXPECT_EQ(f["params"]["source_summary_id"], summary_id) << stack.dump();
  EXPECT_EQ(f["params"]["backend_version"], summary["backend_version"]) << stack.dump();

  // The dry-run lists the summary it uses.
  const nlohmann::json dry = post_expect("/video/render/dry-run", render_body, 200);
  const auto& meta = dry["plan"]["meta"];
  bool listed = false;
  for (const auto& n : meta["dependency_notices"]) {
    if (n["artifact_id"] == summary_id) {
      listed = true;
      EXPECT_EQ(n["kind"], "video_region_summary");
      EXPECT_EQ(n["used"], true);
      EXPECT_EQ(n["backend_version"], summary["backend_version"]);
      EXPECT_EQ(n["cache_key"], summary["cache_key"]);
    }
  }
  EXPECT_TRUE(listed) << meta["dependency_notices"].dump();
  for (const auto& w : meta["warnings"]) ADD_FAILURE() << "unexpected warning " << w.dump();
  ASSERT_TRUE(meta.contains("face_blur")) << meta.dump();

  // The render: different inside the face box, the same outside it.
  const nlohmann::json out = post_expect("/video/render", render_body, 201);
  EXPECT_FALSE(out["plan_preview"]["dependency_notices"].empty());
  const std::string out_path = download_asset(out.value("asset_id", ""));
  const nlohmann::json doc = fetch_json(summary_id);
  for (double t : {0.4, 1.0, 1.6}) {
    const int64_t source_ms = 500 + static_cast<int64_t>(t * 1000);
    // The track's point nearest the source time.
    const nlohmann::json* best = nullptr;
    for (const auto& p : doc["tracks"][0]["points"]) {
      if (!best || std::abs(p["t_ms"].get<int64_t>() - source_ms) <
                       std::abs((*best)["t_ms"].get<int64_t>() - source_ms)) {
        best = &p;
      }
    }
    ASSERT_NE(best, nullptr);
    int w = 0, h = 0, w2 = 0, h2 = 0;
    const auto blurred = frame_rgb24(out_path, t, &w, &h);
    const auto plain = frame_rgb24(ref_path, t, &w2, &h2);
    ASSERT_EQ(w, 854);
    ASSERT_EQ(w2, w);
    // The middle half of the face box (inside whatever the track's motion between samples).
    const double bx = (*best)["bbox_x"], by = (*best)["bbox_y"];
    const double bw = (*best)["bbox_width"], bh = (*best)["bbox_height"];
    const int fx0 = static_cast<int>((bx + bw * 0.25) * w),
              fx1 = static_cast<int>((bx + bw * 0.75) * w);
    const int fy0 = static_cast<int>((by + bh * 0.25) * h),
              fy1 = static_cast<int>((by + bh * 0.75) * h);
    const double inside = crop_diff(blurred, plain, w, fx0, fy0, fx1, fy1);
    // Outside: the frame's left and right strips beyond the blurred box's reach.
    const int reach_x0 = static_cast<int>((bx - bw) * w),
              reach_x1 = static_cast<int>((bx + 2 * bw) * w);
    const double left = reach_x0 > 40 ? crop_diff(blurred, plain, w, 0, 0, reach_x0, h) : 0;
    const double right = reach_x1 < w - 40 ? crop_diff(blurred, plain, w, reach_x1, 0, w, h) : 0;
    const int below_y0 = static_cast<int>((by + 2 * bh) * h);
    const double below = below_y0 < h - 20 ? crop_diff(blurred, plain, w, 0, below_y0, w, h) : 0;
    std::printf(
        "[ figures  ] t %.1f: mean |diff| inside the face %.1f, left %.2f, right %.2f, "
        "below %.2f\n",
        t, inside, left, right, below);
    // Outside, only the encoder's noise (x264 sees different content): a few levels.
    EXPECT_GT(inside, 25) << "the face is blurred at t " << t;
    EXPECT_LT(left, 6) << "left of the face untouched at t " << t;
    EXPECT_LT(right, 6) << "right of the face untouched at t " << t;
    EXPECT_LT(below, 6) << "below the face untouched at t " << t;
  }
}

// VIDEO_REGION_BACKEND and VIDEO_REGIONS_MIN_CONFIDENCE choose the default backend and threshold.
TEST_F(RegionsApiTest, ConfiguredDefaultBackendAndConfidence) {
  TestServer server(
      ServerOptions{{}, {"VIDEO_REGION_BACKEND=stub", "VIDEO_REGIONS_MIN_CONFIDENCE=0.9"}});
  ASSERT_TRUE(server.started());
  const std::string key = server.create_key(kTenantA, kEnv);
  auto client = server.client();
  client->set_read_timeout(120);
  const auto h = auth_headers(key, kTenantA, kEnv);
  auto up = upload(*client, h, face_video(), "astronaut.mp4");
  ASSERT_TRUE(up && up->status == 201);
  const std::string asset = body_json(up).value("asset_id", "");
  auto r = client->Post("/video/regions", h, nlohmann::json{{"asset_id", asset}}.dump(),
                        "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  const nlohmann::json out = body_json(r);
  EXPECT_EQ(out["backend"], "stub");
  EXPECT_EQ(out["face_count"], 0);
  EXPECT_EQ(out["meta"]["min_confidence"], 0.9);
  // A backend named in the request still wins.
  r = client->Post("/video/regions", h,
                   nlohmann::json{{"asset_id", asset}, {"backend", "opencv_face_detector"}}.dump(),
                   "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  EXPECT_EQ(body_json(r)["backend"], "opencv_face_detector");
  EXPECT_EQ(body_json(r)["meta"]["min_confidence"], 0.9);
}

}  // namespace
}  // namespace atomcut::testing

// OpenTimelineIO over HTTP: export a timeline built through the API, import it back, and import
// the OpenTimelineIO project's own sample files.
#include "integration/api_test_util.h"

#include <filesystem>

namespace atomcut::testing {
namespace {

class OtioApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new TestServer();
    key_ = server_->create_key("t_otio", "dev");
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(server_->started());
    c_ = server_->client();
  }
  httplib::Headers h() const { return auth_headers(key_, "t_otio", "dev"); }
  nlohmann::json post(const std::string& path, const nlohmann::json& body, int status = 201) {
    auto r = c_->Post(path, h(), body.dump(), "application/json");
    EXPECT_TRUE(r);
    if (!r) return {};
    EXPECT_EQ(r->status, status) << path << " -> " << r->body.substr(0, 2000);
    return body_json(r);
  }
  static std::string sample(const std::string& name) {
    return std::string(ATOMCUT_SOURCE_DIR) + "/../shared/interop/otio/" + name;
  }

  static TestServer* server_;
  static std::string key_;
  std::unique_ptr<httplib::Client> c_;
};

TestServer* OtioApiTest::server_ = nullptr;
std::string OtioApiTest::key_;

TEST_F(OtioApiTest, ExportThenImportGivesTheSameTimeline) {
  auto up = upload(*c_, h(), fixture("video_h264_aac.mp4"), "v.mp4");
  ASSERT_TRUE(up && up->status == 201);
  const std::string media = body_json(up)["id"];
  auto p = post("/video/projects", {{"title", "Round trip"}});
  const std::string pid = p["id"];
  auto s = post("/video/projects/" + pid + "/sequences", {{"name", "main"}, {"timebase", 25}});
  const std::string sid = s["id"];
  auto t = post("/video/sequences/" + sid + "/tracks", {{"kind", "video"}});
  const std::string tid = t["id"];
  auto c1 = post(
      "/video/tracks/" + tid + "/clips",
      {{"asset_id", media}, {"in_ms", 200}, {"out_ms", 2000}, {"volume_db", -3}, {"opacity", 0.8}});
  auto c2 =
      post("/video/tracks/" + tid + "/clips",
           {{"asset_id", media}, {"out_ms", 1600}, {"start_ms_on_timeline", 1400}, {"speed", 2}});
  post("/video/sequences/" + sid + "/transitions", {{"type", "wipe_left"},
                                                    {"duration_ms", 400},
                                                    {"from_clip_id", c1["id"]},
                                                    {"to_clip_id", c2["id"]}});
  post("/video/filter-stacks/clip/" + c1["id"].get<std::string>(),
       {{"filters", {{{"type", "gamma"}, {"params", {{"gamma", 1.4}}}}}}});

  auto exported = c_->Get("/video/sequences/" + sid + "/otio", h());
  ASSERT_TRUE(exported);
  ASSERT_EQ(exported->status, 200) << exported->body;
  auto otio = body_json(exported);
  EXPECT_EQ(otio["OTIO_SCHEMA"], "Timeline.1");
  ASSERT_EQ(otio["tracks"]["children"].size(), 1u);

  auto imported = post("/video/projects/import/otio", otio);
  EXPECT_TRUE(imported["warnings"].empty()) << imported["warnings"].dump();
  const auto& seq = imported["project"]["sequences"][0];
  EXPECT_EQ(seq["timebase"], "25/1");
  EXPECT_EQ(seq["duration_ms"], 2200);  // c2 starts at 1400 and lasts 1600 / 2
  const auto& clips = seq["tracks"][0]["clips"];
  ASSERT_EQ(clips.size(), 2u);
  const nlohmann::json originals[] = {c1, c2};
  for (size_t i = 0; i < 2; ++i) {
    for (const char* f :
         {"asset_id", "in_ms", "out_ms", "start_ms_on_timeline", "speed", "volume_db", "opacity"}) {
      EXPECT_EQ(clips[i][f], originals[i][f]) << "clip " << i << " field " << f;
    }
    EXPECT_NE(clips[i]["id"], originals[i]["id"]);
  }
  ASSERT_EQ(seq["transitions"].size(), 1u);
  EXPECT_EQ(seq["transitions"][0]["type"], "wipe_left");
  EXPECT_EQ(seq["transitions"][0]["duration_ms"], 400);
  EXPECT_EQ(clips[0]["filter_stack"]["filters"][0]["params"]["gamma"], 1.4);
  // Unknown sequence, other tenant.
  auto missing = c_->Get("/video/sequences/seq_missing/otio", h());
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST_F(OtioApiTest, ImportsTheOpenTimelineIoSamplesWithWarnings) {
  if (!std::filesystem::exists(sample("simple_cut.otio"))) {
    GTEST_SKIP() << "shared/interop/otio is not beside the repository";
  }
  // The samples point at media such as file:///folder/titles.mov that no tenant has: each such
  // clip is skipped and listed as unmatched_media, and the import still succeeds.
  auto otio = nlohmann::json::parse(slurp(sample("simple_cut.otio")));
  auto out = post("/video/projects/import/otio", otio, 201);
  ASSERT_TRUE(out["warnings"].is_array());
  bool unmatched = false;
  for (const auto& w : out["warnings"]) unmatched |= w["code"] == "unmatched_media";
  EXPECT_TRUE(unmatched) << out["warnings"].dump();
  EXPECT_EQ(out["project"]["title"], otio["name"]);
  for (const char* name : {"multitrack.otio", "transition_test.otio", "clip_example.otio"}) {
    auto doc = nlohmann::json::parse(slurp(sample(name)));
    auto r = c_->Post("/video/projects/import/otio", h(), doc.dump(), "application/json");
    ASSERT_TRUE(r) << name;
    EXPECT_EQ(r->status, 201) << name << ": " << r->body.substr(0, 500);
  }
}

TEST_F(OtioApiTest, MalformedOtioIsA400NamingThePath) {
  auto err = post("/video/projects/import/otio", {{"OTIO_SCHEMA", "Clip.1"}}, 400);
  EXPECT_EQ(err["error"]["code"], "invalid_argument");
  err = post(
      "/video/projects/import/otio",
      {{"OTIO_SCHEMA", "Timeline.1"}, {"tracks", {{"OTIO_SCHEMA", "Stack.1"}, {"children", 5}}}},
      400);
  EXPECT_EQ(err["error"]["code"], "invalid_argument");
}

}  // namespace
}  // namespace atomcut::testing

// The Timeline / Project atom over real HTTP against the real binary: the model, the rules,
// merge patches, cascades, revisions, the expanded view and tenant isolation.
#include "integration/api_test_util.h"

#include <set>

namespace atomcut::testing {
namespace {

class TimelineApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new TestServer();
    key_a_ = server_->create_key("t_tla", "dev");
    key_b_ = server_->create_key("t_tlb", "dev");
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(server_->started());
    c_ = server_->client();
  }

  httplib::Headers a() const { return auth_headers(key_a_, "t_tla", "dev"); }
  httplib::Headers b() const { return auth_headers(key_b_, "t_tlb", "dev"); }

  // POST and expect `status`; returns the body.
  nlohmann::json post(const std::string& path, const nlohmann::json& body, int status = 201,
                      const httplib::Headers* h = nullptr) {
    auto r = c_->Post(path, h ? *h : a(), body.dump(), "application/json");
    EXPECT_TRUE(r) << path;
    if (!r) return {};
    EXPECT_EQ(r->status, status) << path << " " << body.dump() << " -> " << r->body;
    return body_json(r);
  }
  nlohmann::json patch(const std::string& path, const nlohmann::json& body, int status = 200) {
    auto r = c_->Patch(path, a(), body.dump(), "application/merge-patch+json");
    EXPECT_TRUE(r) << path;
    if (!r) return {};
    EXPECT_EQ(r->status, status) << path << " " << body.dump() << " -> " << r->body;
    return body_json(r);
  }
  nlohmann::json get(const std::string& path, int status = 200,
                     const httplib::Headers* h = nullptr) {
    auto r = c_->Get(path, h ? *h : a());
    EXPECT_TRUE(r) << path;
    if (!r) return {};
    EXPECT_EQ(r->status, status) << path << " -> " << r->body;
    return body_json(r);
  }
  std::string asset(const std::string& fixture_name, const httplib::Headers& h) {
    auto r = upload(*c_, h, fixture(fixture_name), fixture_name);
    EXPECT_TRUE(r && r->status == 201);
    return r ? body_json(r).value("id", "") : "";
  }

  // A project with one sequence and one video track; returns {project, sequence, track} ids.
  std::array<std::string, 3> skeleton() {
    auto p = post("/video/projects", {{"title", "Cut"}});
    auto s = post("/video/projects/" + p["id"].get<std::string>() + "/sequences",
                  {{"name", "main"}, {"timebase", "30000/1001"}});
    auto t =
        post("/video/sequences/" + s["id"].get<std::string>() + "/tracks", {{"kind", "video"}});
    return {p["id"], s["id"], t["id"]};
  }

  static TestServer* server_;
  static std::string key_a_, key_b_;
  std::unique_ptr<httplib::Client> c_;
};

TestServer* TimelineApiTest::server_ = nullptr;
std::string TimelineApiTest::key_a_, TimelineApiTest::key_b_;

// The issue's example (three 8 s clips with two 1 s crossfades make 22 s), scaled to the 2 s
// fixture: three 2 s clips with two 500 ms transitions make 5 s.
TEST_F(TimelineApiTest, ThreeClipsWithTwoTransitionsMakeOneContinuousSequence) {
  const std::string media = asset("video_h264_aac.mp4", a());
  auto [pid, sid, tid] = skeleton();
  auto seq = get("/video/sequences/" + sid);
  EXPECT_EQ(seq["timebase"], "30000/1001");
  // Three 2 s clips overlapping by 500 ms: 2 + 1.5 + 1.5 = 5 s.
  std::vector<std::string> clips;
  for (int i = 0; i < 3; ++i) {
    auto c = post(
        "/video/tracks/" + tid + "/clips",
        {{"asset_id", media}, {"in_ms", 0}, {"out_ms", 2000}, {"start_ms_on_timeline", i * 1500}});
    clips.push_back(c["id"]);
    EXPECT_EQ(c["track_id"], tid);
  }
  post("/video/sequences/" + sid + "/transitions", {{"type", "crossfade"},
                                                    {"duration_ms", 500},
                                                    {"from_clip_id", clips[0]},
                                                    {"to_clip_id", clips[1]}});
  post("/video/sequences/" + sid + "/transitions", {{"type", "wipe_left"},
                                                    {"duration_ms", 500},
                                                    {"from_clip_id", clips[1]},
                                                    {"to_clip_id", clips[2]}});
  auto tree = get("/video/projects/" + pid + "?expand=all");
  ASSERT_EQ(tree["sequences"].size(), 1u);
  EXPECT_EQ(tree["sequences"][0]["duration_ms"], 5000);
  EXPECT_EQ(tree["sequences"][0]["tracks"][0]["clips"].size(), 3u);
  EXPECT_EQ(tree["sequences"][0]["transitions"].size(), 2u);
  EXPECT_TRUE(tree["warnings"].empty()) << tree["warnings"].dump();
  // 1 create + sequence + track + 3 clips + 2 transitions = revision 8.
  EXPECT_EQ(tree["revision"], 8);
}

TEST_F(TimelineApiTest, TransitionRules) {
  const std::string media = asset("video_h264_aac.mp4", a());
  auto [pid, sid, tid] = skeleton();
  std::vector<std::string> clips;
  for (int start : {0, 1500, 5000}) {
    clips.push_back(
        post("/video/tracks/" + tid + "/clips",
             {{"asset_id", media}, {"out_ms", 2000}, {"start_ms_on_timeline", start}})["id"]);
  }
  const std::string path = "/video/sequences/" + sid + "/transitions";
  auto longer =
      post(path, {{"duration_ms", 800}, {"from_clip_id", clips[0]}, {"to_clip_id", clips[1]}}, 400);
  EXPECT_EQ(longer["error"]["details"]["overlap_ms"], 500);
  EXPECT_NE(longer["error"]["message"].get<std::string>().find("overlap"), std::string::npos);
  post(path, {{"duration_ms", 300}, {"from_clip_id", clips[1]}, {"to_clip_id", clips[2]}},
       400);  // gap
  post(path, {{"duration_ms", 300}, {"from_clip_id", clips[0]}, {"to_clip_id", clips[2]}},
       400);  // not neighbours
  post(path,
       {{"type", "spin"},
        {"duration_ms", 300},
        {"from_clip_id", clips[0]},
        {"to_clip_id", clips[1]}},
       400);
  post(path, {{"duration_ms", 0}, {"from_clip_id", clips[0]}, {"to_clip_id", clips[1]}}, 400);
  auto ok = post(path, {{"type", "dip_to_white"},
                        {"duration_ms", 500},
                        {"from_clip_id", clips[0]},
                        {"to_clip_id", clips[1]}});
  post(path, {{"duration_ms", 400}, {"from_clip_id", clips[0]}, {"to_clip_id", clips[1]}}, 409);
  // PATCH on the item path and DELETE on the item path.
  patch("/video/transitions/" + ok["id"].get<std::string>(), {{"duration_ms", 900}}, 400);
  auto shorter = patch("/video/transitions/" + ok["id"].get<std::string>(), {{"duration_ms", 250}});
  EXPECT_EQ(shorter["duration_ms"], 250);
  auto del = c_->Delete("/video/transitions/" + ok["id"].get<std::string>(), a());
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 200);
  // Overlap without a transition is allowed and reported.
  auto tree = get("/video/projects/" + pid + "?expand=all");
  ASSERT_EQ(tree["warnings"].size(), 1u);
  EXPECT_EQ(tree["warnings"][0]["code"], "overlap");
  EXPECT_EQ(tree["warnings"][0]["overlap_ms"], 500);
}

TEST_F(TimelineApiTest, ClipRulesNameTheField) {
  const std::string media = asset("video_h264_aac.mp4", a());
  const std::string other_tenant_media = asset("video_h264_aac.mp4", b());
  auto [pid, sid, tid] = skeleton();
  const std::string path = "/video/tracks/" + tid + "/clips";
  struct Case {
    nlohmann::json body;
    std::string field;
  };
  std::vector<Case> cases = {
      {{{"asset_id", media}, {"in_ms", 1000}, {"out_ms", 500}}, "out_ms"},
      {{{"asset_id", media}, {"out_ms", 2500}}, "out_ms"},  // past the 2 s media
      {{{"asset_id", media}, {"out_ms", 1000}, {"speed", 0}}, "speed"},
      {{{"asset_id", media}, {"out_ms", 1000}, {"speed", 101}}, "speed"},
      {{{"asset_id", media}, {"out_ms", 1000}, {"opacity", 1.5}}, "opacity"},
      {{{"asset_id", media}, {"out_ms", 1000}, {"start_ms_on_timeline", -1}},
       "start_ms_on_timeline"},
      {{{"asset_id", other_tenant_media}, {"out_ms", 1000}}, "asset_id"},
      {{{"asset_id", "ast_missing"}, {"out_ms", 1000}}, "asset_id"},
      {{{"asset_id", media}, {"out_ms", 1000}, {"artifact_id", "art_missing"}}, "artifact_id"},
      {{{"asset_id", media}, {"out_ms", 1000}, {"mask_artifact_id", "art_missing"}},
       "mask_artifact_id"},
      {{{"asset_id", media}, {"out_ms", 1000}, {"blend_mode", "dodge"}}, "blend_mode"},
      {{{"asset_id", media}, {"out_ms", "1000"}}, "out_ms"},
  };
  for (const auto& c : cases) {
    auto err = post(path, c.body, 400);
    EXPECT_EQ(err["error"]["details"]["field"], c.field) << c.body.dump() << " -> " << err.dump();
  }
  // out_ms defaults to the end of the media.
  auto whole = post(path, {{"asset_id", media}});
  EXPECT_EQ(whole["out_ms"], 2000);
}

TEST_F(TimelineApiTest, MergePatchRevisionAndReadOnlyFields) {
  const std::string media = asset("video_h264_aac.mp4", a());
  auto [pid, sid, tid] = skeleton();
  auto clip = post("/video/tracks/" + tid + "/clips", {{"asset_id", media},
                                                       {"out_ms", 1000},
                                                       {"volume_db", -6},
                                                       {"meta", {{"keep", 1}, {"drop", 2}}}});
  const std::string cid = clip["id"];
  const auto before = get("/video/projects/" + pid);
  auto patched = patch("/video/clips/" + cid, {{"meta", {{"drop", nullptr}, {"added", true}}},
                                               {"volume_db", nullptr},
                                               {"position", {{"x", 12}}}});
  EXPECT_EQ(patched["meta"], nlohmann::json({{"keep", 1}, {"added", true}}));
  EXPECT_EQ(patched["volume_db"], 0.0);  // null deletes the field: back to the default
  EXPECT_EQ(patched["position"]["x"], 12.0);
  EXPECT_EQ(patched["position"]["y"], 0.0);
  const auto after = get("/video/projects/" + pid);
  EXPECT_EQ(after["revision"].get<int>(), before["revision"].get<int>() + 1);
  EXPECT_GT(after["updated_at"].get<std::string>(), before["updated_at"].get<std::string>());
  // Read-only fields.
  auto ro = patch("/video/clips/" + cid, {{"track_id", "trk_other"}}, 400);
  EXPECT_EQ(ro["error"]["details"]["field"], "track_id");
  patch("/video/projects/" + pid, {{"revision", 99}}, 400);
  // A patch that breaks a rule is refused and changes nothing.
  patch("/video/clips/" + cid, {{"in_ms", 5000}}, 400);
  EXPECT_EQ(get("/video/clips/" + cid)["in_ms"], 0);
  EXPECT_EQ(get("/video/projects/" + pid)["revision"], after["revision"]);
  // The collection path accepts PATCH with the id in the body, and checks the parent.
  auto r = c_->Patch("/video/tracks/" + tid + "/clips", a(),
                     nlohmann::json({{"id", cid}, {"opacity", 0.5}}).dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(body_json(r)["opacity"], 0.5);
  auto seq_patch = patch("/video/sequences/" + sid, {{"timebase", 29.97}, {"name", "renamed"}});
  EXPECT_EQ(seq_patch["timebase"], "30000/1001");
  EXPECT_EQ(seq_patch["name"], "renamed");
}

TEST_F(TimelineApiTest, FilterStacksAreValidatedAndClamped) {
  const std::string media = asset("video_h264_aac.mp4", a());
  auto [pid, sid, tid] = skeleton();
  auto clip = post("/video/tracks/" + tid + "/clips", {{"asset_id", media}, {"out_ms", 1000}});
  const std::string path = "/video/filter-stacks/clip/" + clip["id"].get<std::string>();
  post(path, {{"filters", {{{"type", "sparkle"}}}}}, 400);
  post(path, {{"filters", {{{"type", "gamma"}, {"params", {{"gamma", "high"}}}}}}}, 400);
  auto stack = post(path, {{"filters",
                            {{{"type", "gamma"}, {"params", {{"gamma", 9}}}},
                             {{"type", "sharpen"}, {"params", {{"luma_amount", 1}}}}}}});
  EXPECT_EQ(stack["filters"][0]["params"]["gamma"], 6.0);
  ASSERT_EQ(stack["clamped"].size(), 1u);
  EXPECT_EQ(stack["clamped"][0]["type"], "gamma");
  post(path, {{"filters", nlohmann::json::array()}}, 409);
  auto got = get(path);
  EXPECT_EQ(got["filters"].size(), 2u);
  auto patched =
      patch(path, {{"filters", {{{"type", "vignette"}, {"params", {{"strength", 0.5}}}}}}});
  EXPECT_EQ(patched["filters"].size(), 1u);
  get("/video/filter-stacks/track/" + tid, 404);
  get("/video/filter-stacks/planet/" + tid, 400);
  post("/video/filter-stacks/track/trk_missing", {{"filters", nlohmann::json::array()}}, 404);
  auto del = c_->Delete(path, a());
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 200);
  get(path, 404);
}

TEST_F(TimelineApiTest, DeletesCascadeAndSayWhatTheyRemoved) {
  const std::string media = asset("video_h264_aac.mp4", a());
  auto [pid, sid, tid] = skeleton();
  auto c1 = post("/video/tracks/" + tid + "/clips", {{"asset_id", media}, {"out_ms", 2000}});
  auto c2 = post("/video/tracks/" + tid + "/clips",
                 {{"asset_id", media}, {"out_ms", 2000}, {"start_ms_on_timeline", 1500}});
  auto tr = post("/video/sequences/" + sid + "/transitions",
                 {{"duration_ms", 500}, {"from_clip_id", c1["id"]}, {"to_clip_id", c2["id"]}});
  post("/video/filter-stacks/clip/" + c1["id"].get<std::string>(),
       {{"filters", {{{"type", "gamma"}, {"params", {{"gamma", 1.2}}}}}}});
  post("/video/filter-stacks/sequence/" + sid, {{"filters", nlohmann::json::array()}});
  // Deleting one clip removes its transition and filter stack.
  auto r = c_->Delete("/video/clips/" + c1["id"].get<std::string>(), a());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto removed = body_json(r)["deleted"];
  EXPECT_EQ(removed["clip"], nlohmann::json({c1["id"]}));
  EXPECT_EQ(removed["transition"], nlohmann::json({tr["id"]}));
  EXPECT_EQ(removed["filter_stack"].size(), 1u);
  EXPECT_EQ(get("/video/sequences/" + sid)["duration_ms"], 3500);
  // Deleting the sequence removes the rest and leaves the project.
  r = c_->Delete("/video/sequences/" + sid, a());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  removed = body_json(r)["deleted"];
  EXPECT_EQ(removed["sequence"], nlohmann::json({sid}));
  EXPECT_EQ(removed["track"], nlohmann::json({tid}));
  EXPECT_EQ(removed["clip"], nlohmann::json({c2["id"]}));
  get("/video/tracks/" + tid, 404);
  get("/video/clips/" + c2["id"].get<std::string>(), 404);
  EXPECT_TRUE(get("/video/projects/" + pid)["sequences"].empty());
  // Deleting the project.
  r = c_->Delete("/video/projects/" + pid, a());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  get("/video/projects/" + pid, 404);
}

TEST_F(TimelineApiTest, TenantsNeverSeeEachOthersTimelines) {
  const std::string media = asset("video_h264_aac.mp4", a());
  auto [pid, sid, tid] = skeleton();
  auto clip = post("/video/tracks/" + tid + "/clips", {{"asset_id", media}, {"out_ms", 1000}});
  const auto hb = b();
  for (const std::string& path :
       {"/video/projects/" + pid, "/video/projects/" + pid + "?expand=all",
        "/video/sequences/" + sid, "/video/tracks/" + tid,
        "/video/clips/" + clip["id"].get<std::string>(), "/video/projects/" + pid + "/sequences",
        "/video/sequences/" + sid + "/tracks", "/video/tracks/" + tid + "/clips"}) {
    auto body = get(path, 404, &hb);
    EXPECT_EQ(body["error"]["code"], "not_found") << path;
  }
  post("/video/tracks/" + tid + "/clips", {{"asset_id", media}, {"out_ms", 1000}}, 404, &hb);
  auto r = c_->Patch("/video/clips/" + clip["id"].get<std::string>(), hb, R"({"opacity":0.1})",
                     "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  r = c_->Delete("/video/projects/" + pid, hb);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  auto list_b = get("/video/projects", 200, &hb);
  for (const auto& p : list_b["items"]) EXPECT_NE(p["id"], pid);
  EXPECT_EQ(get("/video/clips/" + clip["id"].get<std::string>())["opacity"], 1.0);
}

TEST_F(TimelineApiTest, ListsPaginate) {
  const std::string media = asset("video_h264_aac.mp4", a());
  auto [pid, sid, tid] = skeleton();
  std::set<std::string> made;
  for (int i = 0; i < 5; ++i) {
    made.insert(
        post("/video/tracks/" + tid + "/clips",
             {{"asset_id", media}, {"out_ms", 500}, {"start_ms_on_timeline", i * 1000}})["id"]
            .get<std::string>());
  }
  std::set<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto page = get("/video/tracks/" + tid + "/clips?limit=2" +
                    (cursor.empty() ? "" : "&cursor=" + cursor));
    for (const auto& c : page["items"]) EXPECT_TRUE(seen.insert(c["id"]).second);
    cursor = page["next_cursor"].is_null() ? "" : page["next_cursor"].get<std::string>();
    ++pages;
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(seen, made);
  EXPECT_EQ(pages, 3);
  get("/video/tracks/" + tid + "/clips?limit=0", 400);
  get("/video/tracks/" + tid + "/clips?cursor=bogus", 400);
}

TEST_F(TimelineApiTest, BadRequestsGetClearErrors) {
  post("/video/projects", {{"title", ""}}, 400);
  post("/video/projects", {{"title", "x"}, {"render_profile", "vhs_240p"}}, 400);
  auto [pid, sid, tid] = skeleton();
  post("/video/projects/" + pid + "/sequences", {{"name", "s"}, {"timebase", "30/0"}}, 400);
  post("/video/projects/" + pid + "/sequences", {{"name", "s"}, {"timebase", -25}}, 400);
  post("/video/sequences/" + sid + "/tracks", {{"kind", "hologram"}}, 400);
  post("/video/sequences/" + sid + "/tracks", {{"kind", "audio"}, {"audio_role", "choir"}}, 400);
  post("/video/projects/prj_missing/sequences", {{"name", "s"}}, 404);
  get("/video/projects/" + pid + "?expand=some", 400);
  auto r = c_->Post("/video/projects", a(), "{not json", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(error_code_of(r), "invalid_argument");
}

}  // namespace
}  // namespace atomcut::testing

namespace atomcut::testing {
namespace {

// The collection-path forms the spec lists (PATCH with "id" in the body, DELETE of clips and
// transitions by body id), and plain GETs of every item path.
TEST_F(TimelineApiTest, CollectionPathsAcceptPatchAndDeleteById) {
  const std::string media = asset("video_h264_aac.mp4", a());
  auto [pid, sid, tid] = skeleton();
  auto send = [&](const char* method, const std::string& path, const nlohmann::json& body) {
    httplib::Request req;
    req.method = method;
    req.path = path;
    req.headers = a();
    req.body = body.dump();
    req.set_header("Content-Type", "application/json");
    auto r = c_->send(req);
    EXPECT_TRUE(r) << method << " " << path;
    return r;
  };
  auto r = send("PATCH", "/video/projects", {{"id", pid}, {"title", "Renamed"}});
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(get("/video/projects/" + pid)["title"], "Renamed");
  r = send("PATCH", "/video/projects/" + pid + "/sequences", {{"id", sid}, {"name", "edit"}});
  EXPECT_EQ(r->status, 200) << r->body;
  r = send("PATCH", "/video/sequences/" + sid + "/tracks", {{"id", tid}, {"muted", true}});
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(get("/video/tracks/" + tid)["muted"], true);
  auto c1 = post("/video/tracks/" + tid + "/clips", {{"asset_id", media}, {"out_ms", 1000}});
  auto c2 = post("/video/tracks/" + tid + "/clips",
                 {{"asset_id", media}, {"out_ms", 1000}, {"start_ms_on_timeline", 800}});
  auto tr = post("/video/sequences/" + sid + "/transitions",
                 {{"duration_ms", 200}, {"from_clip_id", c1["id"]}, {"to_clip_id", c2["id"]}});
  EXPECT_EQ(get("/video/transitions/" + tr["id"].get<std::string>())["duration_ms"], 200);
  r = send("PATCH", "/video/sequences/" + sid + "/transitions",
           {{"id", tr["id"]}, {"type", "dip_to_black"}});
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(body_json(r)["type"], "dip_to_black");
  // A record under another parent is not found through this parent's path.
  auto t2 = post("/video/sequences/" + sid + "/tracks", {{"kind", "audio"}});
  r = send("PATCH", "/video/tracks/" + t2["id"].get<std::string>() + "/clips",
           {{"id", c1["id"]}, {"opacity", 0.2}});
  EXPECT_EQ(r->status, 404) << r->body;
  r = send("DELETE", "/video/sequences/" + sid + "/transitions", {{"id", tr["id"]}});
  EXPECT_EQ(r->status, 200) << r->body;
  r = send("DELETE", "/video/tracks/" + tid + "/clips", {{"id", c2["id"]}});
  EXPECT_EQ(r->status, 200) << r->body;
  get("/video/clips/" + c2["id"].get<std::string>(), 404);
  EXPECT_EQ(get("/video/tracks/" + tid + "/clips")["items"].size(), 1u);
  EXPECT_EQ(get("/video/projects/" + pid + "/sequences")["items"].size(), 1u);
  EXPECT_EQ(get("/video/sequences/" + sid + "/tracks")["items"].size(), 2u);
  EXPECT_TRUE(get("/video/sequences/" + sid + "/transitions")["items"].empty());
  bool listed = false;
  const auto projects = get("/video/projects?limit=1000");
  for (const auto& p : projects["items"]) listed |= p["id"] == pid;
  EXPECT_TRUE(listed);
}

}  // namespace
}  // namespace atomcut::testing

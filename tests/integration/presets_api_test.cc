// Filter and motion presets over real HTTP against the real binary: built-ins for every tenant,
// tenant presets (create, get, list, delete) and their isolation, read-only built-ins, clamping,
// bad input, and pagination across built-ins and tenant presets.
#include "integration/api_test_util.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace atomcut::testing {
namespace {

constexpr const char* kFilters = "/video/presets/filters";
constexpr const char* kMotion = "/video/presets/motion";

class PresetsApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new TestServer();
    key_a_ = server_->create_key("t_a", "dev");
    key_b_ = server_->create_key("t_b", "dev");
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(server_->started());
    c_ = server_->client();
  }

  httplib::Headers a() const { return auth_headers(key_a_, "t_a", "dev"); }
  httplib::Headers b() const { return auth_headers(key_b_, "t_b", "dev"); }

  httplib::Result post(const httplib::Headers& h, const std::string& path,
                       const nlohmann::json& body) {
    return c_->Post(path, h, body.dump(), "application/json");
  }
  nlohmann::json create_ok(const httplib::Headers& h, const std::string& path,
                           const nlohmann::json& body) {
    auto r = post(h, path, body);
    EXPECT_TRUE(r) << "no response";
    if (!r) return {};
    EXPECT_EQ(r->status, 201) << r->body;
    return body_json(r);
  }
  nlohmann::json get_ok(const httplib::Headers& h, const std::string& path) {
    auto r = c_->Get(path, h);
    EXPECT_TRUE(r) << "no response";
    if (!r) return {};
    EXPECT_EQ(r->status, 200) << path << ": " << r->body;
    return body_json(r);
  }
  // Follows next_cursor from the first page; returns the ids in order.
  std::vector<std::string> walk(const httplib::Headers& h, const std::string& path, int limit,
                                const std::string& extra_query = "") {
    std::vector<std::string> ids;
    std::string cursor;
    for (int pages = 0; pages < 100; ++pages) {
      std::string url = path + "?limit=" + std::to_string(limit) + extra_query;
      if (!cursor.empty()) url += "&cursor=" + cursor;
      auto page = get_ok(h, url);
      EXPECT_LE(page["items"].size(), static_cast<size_t>(limit)) << url;
      for (const auto& p : page["items"]) ids.push_back(p["id"]);
      if (page["next_cursor"].is_null()) break;
      cursor = page["next_cursor"];
    }
    return ids;
  }

  static nlohmann::json filter_body(const std::string& name) {
    return {{"name", name},
            {"description", "a warm grade"},
            {"filters",
             {{{"type", "contrast"}, {"params", {{"contrast", 1.1}}}},
              {{"type", "saturation"}, {"params", {{"saturation", 1.2}}}}}},
            {"tags", {"warm"}}};
  }
  static nlohmann::json motion_body(const std::string& name) {
    return {{"name", name},
            {"duration_ms", 800},
            {"tracks",
             {{{"property", "position_x"},
               {"keyframes",
                {{{"time_ms", 0}, {"value", 0}},
                 {{"time_ms", 400}, {"value", 5}},
                 {{"time_ms", 800}, {"value", 0}}}}}}}};
  }

  static TestServer* server_;
  static std::string key_a_, key_b_;
  std::unique_ptr<httplib::Client> c_;
};

TestServer* PresetsApiTest::server_ = nullptr;
std::string PresetsApiTest::key_a_, PresetsApiTest::key_b_;

TEST_F(PresetsApiTest, BuiltInsAreIdenticalForEveryTenant) {
  for (const char* path : {kFilters, kMotion}) {
    auto la = get_ok(a(), std::string(path) + "?limit=1000&tag=built_in");
    auto lb = get_ok(b(), std::string(path) + "?limit=1000&tag=built_in");
    ASSERT_FALSE(la["items"].empty()) << path;
    EXPECT_EQ(la["items"], lb["items"]) << path;
    EXPECT_TRUE(la["next_cursor"].is_null());
    for (const auto& p : la["items"]) {
      const std::string id = p["id"];
      EXPECT_EQ(p["tenant_id"], "") << id;
      EXPECT_EQ(get_ok(b(), std::string(path) + "/" + id), p) << id;
    }
  }
}

TEST_F(PresetsApiTest, ShakePresetsJitterPositionAndAreTaggedBuiltIn) {
  auto list = get_ok(a(), std::string(kMotion) + "?limit=3");
  std::vector<std::string> ids;
  for (const auto& p : list["items"]) ids.push_back(p["id"]);
  EXPECT_EQ(ids, (std::vector<std::string>{"shake_1", "shake_2", "shake_3"}));
  double prev_peak = 0;
  for (const auto& p : list["items"]) {
    EXPECT_NE(std::find(p["tags"].begin(), p["tags"].end(), "built_in"), p["tags"].end());
    ASSERT_EQ(p["tracks"].size(), 2u) << p.dump();
    std::set<std::string> props;
    double peak = 0;
    for (const auto& t : p["tracks"]) {
      props.insert(t["property"].get<std::string>());
      ASSERT_GE(t["keyframes"].size(), 3u);
      EXPECT_EQ(t["keyframes"].front()["value"], 0);  // starts and ends at rest
      EXPECT_EQ(t["keyframes"].back()["value"], 0);
      for (const auto& k : t["keyframes"]) {
        EXPECT_LE(k["time_ms"].get<int64_t>(), p["duration_ms"].get<int64_t>());
        peak = std::max(peak, std::abs(k["value"].get<double>()));
      }
    }
    EXPECT_EQ(props, (std::set<std::string>{"position_x", "position_y"}));
    EXPECT_GT(peak, prev_peak) << "shake strength grows from shake_1 to shake_3";
    EXPECT_LE(peak, 16.0);
    prev_peak = peak;
  }
}

TEST_F(PresetsApiTest, ProfileDefaultsNameTheirRenderProfile) {
  auto list = get_ok(b(), std::string(kFilters) + "?limit=1000&tag=profile_default");
  ASSERT_GE(list["items"].size(), 4u);
  std::set<std::string> profiles;
  for (const auto& p : list["items"]) {
    const std::string id = p["id"];
    ASSERT_EQ(id.rfind("profile_default_", 0), 0u) << id;
    const std::string profile = id.substr(std::string("profile_default_").size());
    EXPECT_EQ(p["meta"]["render_profiles"], nlohmann::json::array({profile})) << id;
    EXPECT_FALSE(p["filters"].empty()) << id;
    profiles.insert(profile);
  }
  for (const char* p :
       {"social_1080p_h264", "preview_720p_fast", "youtube_4k_h264", "master_4k_prores"}) {
    EXPECT_TRUE(profiles.count(p)) << p;
  }
}

TEST_F(PresetsApiTest, TenantFilterPresetLifecycleAndIsolation) {
  auto created = create_ok(a(), kFilters, filter_body("Warm"));
  const std::string id = created["id"];
  EXPECT_EQ(id.rfind("fpr_", 0), 0u);
  EXPECT_EQ(created["tenant_id"], "t_a");
  EXPECT_EQ(created["env"], "dev");
  EXPECT_EQ(created["clamped"], nlohmann::json::array());
  EXPECT_EQ(created["filters"].size(), 2u);

  auto got = get_ok(a(), std::string(kFilters) + "/" + id);
  EXPECT_EQ(got["name"], "Warm");
  EXPECT_EQ(got["description"], "a warm grade");
  EXPECT_EQ(got["tags"], nlohmann::json::array({"warm"}));

  // Tenant B: 404 exactly like a missing id, never in its list, cannot delete.
  auto other = c_->Get(std::string(kFilters) + "/" + id, b());
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
  EXPECT_EQ(error_code_of(other), "not_found");
  auto missing = c_->Get(std::string(kFilters) + "/fpr_00000000000000000000000000", b());
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  auto j_other = body_json(other)["error"];
  auto j_missing = body_json(missing)["error"];
  EXPECT_EQ(j_other["details"].size(), j_missing["details"].size());
  auto del_other = c_->Delete(std::string(kFilters) + "/" + id, b());
  ASSERT_TRUE(del_other);
  EXPECT_EQ(del_other->status, 404);
  for (const auto& x : walk(b(), kFilters, 1000)) EXPECT_NE(x, id);

  auto mine = walk(a(), kFilters, 1000);
  EXPECT_NE(std::find(mine.begin(), mine.end(), id), mine.end());

  auto del = c_->Delete(std::string(kFilters) + "/" + id, a());
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 200) << del->body;
  EXPECT_EQ(body_json(del)["deleted"]["filter_preset"], nlohmann::json::array({id}));
  auto gone = c_->Get(std::string(kFilters) + "/" + id, a());
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 404);
  EXPECT_EQ(error_code_of(gone), "not_found");
}

TEST_F(PresetsApiTest, TenantMotionPresetLifecycleAndIsolation) {
  auto created = create_ok(b(), kMotion, motion_body("drift"));
  const std::string id = created["id"];
  EXPECT_EQ(id.rfind("mpr_", 0), 0u);
  EXPECT_EQ(created["duration_ms"], 800);
  EXPECT_EQ(get_ok(b(), std::string(kMotion) + "/" + id)["tracks"], created["tracks"]);
  auto from_a = c_->Get(std::string(kMotion) + "/" + id, a());
  ASSERT_TRUE(from_a);
  EXPECT_EQ(from_a->status, 404);
  EXPECT_EQ(error_code_of(from_a), "not_found");
  for (const auto& x : walk(a(), kMotion, 1000)) EXPECT_NE(x, id);
  // A motion preset id is not a filter preset.
  auto wrong_kind = c_->Get(std::string(kFilters) + "/" + id, b());
  ASSERT_TRUE(wrong_kind);
  EXPECT_EQ(wrong_kind->status, 404);
  auto del = c_->Delete(std::string(kMotion) + "/" + id, b());
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 200) << del->body;
}

TEST_F(PresetsApiTest, BuiltInsCannotBeDeletedOrShadowed) {
  for (auto [path, id] :
       {std::pair{kMotion, "shake_1"}, std::pair{kFilters, "profile_default_social_1080p_h264"}}) {
    auto r = c_->Delete(std::string(path) + "/" + id, a());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403) << r->body;
    EXPECT_EQ(error_code_of(r), "permission_denied");
    EXPECT_EQ(get_ok(b(), std::string(path) + "/" + id)["id"], id);  // still there
  }
  auto by_name = post(a(), kMotion, motion_body("shake_2"));
  ASSERT_TRUE(by_name);
  EXPECT_EQ(by_name->status, 409) << by_name->body;
  EXPECT_EQ(error_code_of(by_name), "already_exists");
  EXPECT_EQ(body_json(by_name)["error"]["details"]["field"], "name");
  EXPECT_EQ(body_json(by_name)["error"]["details"]["built_in_id"], "shake_2");

  auto upper = post(a(), kFilters, filter_body("Profile_Default_Master_4k_Prores"));
  ASSERT_TRUE(upper);
  EXPECT_EQ(upper->status, 409) << upper->body;

  auto body = motion_body("my shake");
  body["id"] = "shake_3";
  auto by_id = post(a(), kMotion, body);
  ASSERT_TRUE(by_id);
  EXPECT_EQ(by_id->status, 409) << by_id->body;
  EXPECT_EQ(body_json(by_id)["error"]["details"]["field"], "id");

  auto tagged = motion_body("pretend");
  tagged["tags"] = {"built_in"};
  auto t = post(a(), kMotion, tagged);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->status, 400) << t->body;
  EXPECT_EQ(body_json(t)["error"]["details"]["field"], "tags");

  // Still exactly three shakes, all built in.
  EXPECT_EQ(walk(b(), kMotion, 1000, "&tag=built_in"),
            (std::vector<std::string>{"shake_1", "shake_2", "shake_3"}));
}

TEST_F(PresetsApiTest, OutOfRangeParamsAreClampedAndReported) {
  auto body = filter_body("loud");
  body["filters"] = {{{"type", "contrast"}, {"params", {{"contrast", 1.1}}}},
                     {{"type", "gamma"}, {"params", {{"gamma", 40}}}}};
  auto created = create_ok(a(), kFilters, body);
  ASSERT_EQ(created["clamped"].size(), 1u) << created.dump();
  const auto& c = created["clamped"][0];
  EXPECT_EQ(c["index"], 1);
  EXPECT_EQ(c["type"], "gamma");
  EXPECT_EQ(c["clamped"][0]["param"], "gamma");
  EXPECT_EQ(c["clamped"][0]["from"], 40);
  EXPECT_EQ(c["clamped"][0]["to"], 6);
  auto got = get_ok(a(), std::string(kFilters) + "/" + created["id"].get<std::string>());
  EXPECT_EQ(got["filters"][1]["params"]["gamma"], 6);
}

TEST_F(PresetsApiTest, BadInputIsA400NamingTheField) {
  struct Case {
    const char* path;
    nlohmann::json body;
    std::string field;
  };
  auto unknown_type = filter_body("x");
  unknown_type["filters"] = {{{"type", "warp_drive"}}};
  auto bad_param = filter_body("x");
  bad_param["filters"] = {{{"type", "contrast"}, {"params", {{"contrast", "lots"}}}}};
  auto unknown_param = filter_body("x");
  unknown_param["filters"] = {{{"type", "contrast"}, {"params", {{"flux", 1}}}}};
  auto no_name = filter_body("x");
  no_name.erase("name");
  auto motion_no_name = motion_body("x");
  motion_no_name.erase("name");
  auto late_keyframe = motion_body("x");
  late_keyframe["tracks"][0]["keyframes"][2]["time_ms"] = 5000;
  auto bad_property = motion_body("x");
  bad_property["tracks"][0]["property"] = "rotation_z";
  const std::vector<Case> cases = {
      {kFilters, unknown_type, "filters[0].type"},
      {kFilters, bad_param, "filters[0].params.contrast"},
      {kFilters, unknown_param, "filters[0].params.flux"},
      {kFilters, no_name, "name"},
      {kMotion, motion_no_name, "name"},
      {kMotion, late_keyframe, "tracks[0].keyframes[2].time_ms"},
      {kMotion, bad_property, "tracks[0].property"},
  };
  for (const auto& c : cases) {
    auto r = post(a(), c.path, c.body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << c.body.dump() << " -> " << r->body;
    EXPECT_EQ(error_code_of(r), "invalid_argument");
    EXPECT_EQ(body_json(r)["error"]["details"]["field"], c.field) << r->body;
  }
  for (const std::string q : {"?limit=0", "?limit=1001", "?cursor=nonsense", "?limit=x"}) {
    auto r = c_->Get(std::string(kMotion) + q, a());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << q << " -> " << r->body;
    EXPECT_EQ(error_code_of(r), "invalid_argument");
  }
  auto no_key = c_->Get(kMotion);
  ASSERT_TRUE(no_key);
  EXPECT_EQ(no_key->status, 401);
  EXPECT_EQ(error_code_of(no_key), "unauthenticated");
}

TEST_F(PresetsApiTest, PaginationCoversBuiltInsThenTenantPresetsExactlyOnce) {
  // A fresh tenant so the other tests' presets do not interfere.
  const std::string key = server_->create_key("t_pages", "dev");
  const auto h = auth_headers(key, "t_pages", "dev");
  std::vector<std::string> expected;
  const auto first = get_ok(h, std::string(kFilters) + "?limit=1000");
  for (const auto& p : first["items"]) expected.push_back(p["id"]);
  const size_t built_ins = expected.size();
  ASSERT_GE(built_ins, 4u);
  for (int i = 0; i < 5; ++i) {
    auto body = filter_body("page " + std::to_string(i));
    if (i % 2 == 1) body["tags"] = {"odd"};
    expected.push_back(create_ok(h, kFilters, body)["id"]);
  }
  create_ok(a(), kFilters, filter_body("someone else's"));
  // Tenant presets come in id order, which is creation order to the millisecond.
  std::sort(expected.begin() + static_cast<std::ptrdiff_t>(built_ins), expected.end());
  std::vector<std::string> odd;
  for (size_t i = built_ins; i < expected.size(); ++i) {
    if (get_ok(h, std::string(kFilters) + "/" + expected[i])["tags"] ==
        nlohmann::json::array({"odd"})) {
      odd.push_back(expected[i]);
    }
  }
  ASSERT_EQ(odd.size(), 2u);

  auto ids = walk(h, kFilters, 2);
  EXPECT_EQ(ids, expected);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size()) << "duplicates";
  EXPECT_EQ(walk(h, kFilters, 3), expected);
  EXPECT_EQ(walk(h, kFilters, 1000), expected);
  EXPECT_EQ(walk(h, kFilters, 2, "&tag=odd"), odd);
  EXPECT_TRUE(walk(h, kFilters, 2, "&tag=nobody").empty());
}

}  // namespace
}  // namespace atomcut::testing

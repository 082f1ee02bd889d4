// PresetService without HTTP, on a real SQLite store in a temporary directory: built-ins,
// tenant presets and their isolation, the reserved names, clamping, and pagination across the
// built-ins and the tenant's presets.
#include "engines/timeline/preset_service.h"

#include "core/model/filter_preset.h"
#include "support/test_server.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

namespace atomcut {
namespace {

using testing::TempDir;

class PresetServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto meta = open_metadata_store("sqlite://" + dir_.path() + "/db.sqlite");
    ASSERT_TRUE(meta.ok()) << meta.error().message;
    store_ = std::move(meta).value();
    svc_ = std::make_unique<PresetService>(*store_);
  }

  nlohmann::json filter_body(const std::string& name) {
    return {{"name", name},
            {"filters", {{{"type", "contrast"}, {"params", {{"contrast", 1.2}}}}}},
            {"tags", {"warm"}}};
  }
  nlohmann::json motion_body(const std::string& name) {
    return {
        {"name", name},
        {"duration_ms", 500},
        {"tracks",
         {{{"property", "position_x"},
           {"keyframes", {{{"time_ms", 0}, {"value", 0}}, {{"time_ms", 500}, {"value", 3}}}}}}}};
  }

  TempDir dir_;
  std::unique_ptr<MetadataStore> store_;
  std::unique_ptr<PresetService> svc_;
  RequestContext a_{"t_a", "dev", "u_1"};
  RequestContext b_{"t_b", "dev", std::nullopt};
};

TEST_F(PresetServiceTest, BuiltInsAreTheModelsAndVisibleToEveryScope) {
  auto fa = svc_->list(scope_of(a_), PresetKind::kFilter, 1000, std::nullopt, std::nullopt);
  auto fb = svc_->list(Scope{"t_b", "prod"}, PresetKind::kFilter, 1000, std::nullopt, std::nullopt);
  ASSERT_TRUE(fa.ok() && fb.ok());
  EXPECT_EQ(fa->items, fb->items);
  ASSERT_EQ(fa->items.size(), built_in_filter_presets().size());
  for (const auto& p : fa->items) {
    const std::string id = p["id"];
    ASSERT_EQ(id.rfind("profile_default_", 0), 0u) << id;
    EXPECT_EQ(p["meta"]["render_profiles"], nlohmann::json::array({id.substr(16)}));
  }
  auto shake = svc_->get(scope_of(b_), PresetKind::kMotion, "shake_2");
  ASSERT_TRUE(shake.ok());
  EXPECT_EQ((*shake)["tracks"][0]["property"], "position_x");
  EXPECT_EQ((*shake)["tracks"][1]["property"], "position_y");
  EXPECT_EQ((*shake)["tenant_id"], "");
}

TEST_F(PresetServiceTest, CreateGetListDeleteAndIsolation) {
  auto created = svc_->create(a_, PresetKind::kFilter, filter_body("Warm look"));
  ASSERT_TRUE(created.ok()) << created.error().message;
  const std::string id = (*created)["id"];
  EXPECT_EQ(id.rfind("fpr_", 0), 0u);
  EXPECT_EQ((*created)["tenant_id"], "t_a");
  EXPECT_EQ((*created)["user_id"], "u_1");
  EXPECT_EQ((*created)["clamped"], nlohmann::json::array());

  auto got = svc_->get(scope_of(a_), PresetKind::kFilter, id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)["name"], "Warm look");
  EXPECT_FALSE(got->contains("clamped"));
  // Other tenant, other env, other kind: not found.
  for (auto [scope, kind] : {std::pair{scope_of(b_), PresetKind::kFilter},
                             std::pair{Scope{"t_a", "prod"}, PresetKind::kFilter},
                             std::pair{scope_of(a_), PresetKind::kMotion}}) {
    auto r = svc_->get(scope, kind, id);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  }
  EXPECT_EQ(svc_->remove(b_, PresetKind::kFilter, id).error().code, ErrorCode::kNotFound);

  auto lb = svc_->list(scope_of(b_), PresetKind::kFilter, 1000, std::nullopt, std::nullopt);
  ASSERT_TRUE(lb.ok());
  for (const auto& p : lb->items) EXPECT_NE(p["id"], id);

  ASSERT_TRUE(svc_->remove(a_, PresetKind::kFilter, id).ok());
  EXPECT_EQ(svc_->get(scope_of(a_), PresetKind::kFilter, id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(svc_->remove(a_, PresetKind::kFilter, id).error().code, ErrorCode::kNotFound);

  auto m = svc_->create(a_, PresetKind::kMotion, motion_body("drift"));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ((*m)["id"].get<std::string>().rfind("mpr_", 0), 0u);
  EXPECT_FALSE(m->contains("clamped"));
}

TEST_F(PresetServiceTest, BuiltInsAreReadOnlyAndReserved) {
  auto del = svc_->remove(a_, PresetKind::kMotion, "shake_1");
  ASSERT_FALSE(del.ok());
  EXPECT_EQ(del.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(svc_->remove(a_, PresetKind::kFilter, "profile_default_social_1080p_h264").error().code,
            ErrorCode::kPermissionDenied);

  auto same_name = svc_->create(a_, PresetKind::kMotion, motion_body("SHAKE_1"));
  ASSERT_FALSE(same_name.ok());
  EXPECT_EQ(same_name.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(same_name.error().details["field"], "name");
  EXPECT_EQ(same_name.error().details["built_in_id"], "shake_1");

  auto body = filter_body("mine");
  body["id"] = "profile_default_preview_720p_fast";
  auto same_id = svc_->create(a_, PresetKind::kFilter, body);
  ASSERT_FALSE(same_id.ok());
  EXPECT_EQ(same_id.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(same_id.error().details["field"], "id");

  body["id"] = "fpr_mine";
  auto own_id = svc_->create(a_, PresetKind::kFilter, body);
  ASSERT_FALSE(own_id.ok());
  EXPECT_EQ(own_id.error().code, ErrorCode::kInvalidArgument);

  auto tagged = filter_body("fake");
  tagged["tags"] = {"built_in"};
  auto t = svc_->create(a_, PresetKind::kFilter, tagged);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().details["field"], "tags");
}

TEST_F(PresetServiceTest, FiltersAreValidatedAndClamped) {
  auto body = filter_body("hot");
  body["filters"] = {{{"type", "gamma"}, {"params", {{"gamma", 50}}}},
                     {{"type", "contrast"}, {"params", {{"contrast", 1.1}}}}};
  auto r = svc_->create(a_, PresetKind::kFilter, body);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)["filters"][0]["params"]["gamma"], 6);
  ASSERT_EQ((*r)["clamped"].size(), 1u);
  EXPECT_EQ((*r)["clamped"][0]["index"], 0);
  EXPECT_EQ((*r)["clamped"][0]["type"], "gamma");
  EXPECT_EQ((*r)["clamped"][0]["clamped"][0]["param"], "gamma");
  // Stored clamped.
  auto got = svc_->get(scope_of(a_), PresetKind::kFilter, (*r)["id"].get<std::string>());
  EXPECT_EQ((*got)["filters"][0]["params"]["gamma"], 6);

  body["filters"] = {{{"type", "no_such_fx"}}};
  auto bad = svc_->create(a_, PresetKind::kFilter, body);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().details["field"], "filters[0].type");

  auto unnamed = svc_->create(a_, PresetKind::kMotion, nlohmann::json{{"duration_ms", 100}});
  ASSERT_FALSE(unnamed.ok());
  EXPECT_EQ(unnamed.error().details["field"], "name");
}

TEST_F(PresetServiceTest, PaginationCrossesBuiltInsAndTenantPresetsWithTag) {
  std::vector<std::string> mine;
  for (int i = 0; i < 5; ++i) {
    auto body = motion_body("m" + std::to_string(i));
    if (i % 2 == 0) body["tags"] = {"even"};
    auto r = svc_->create(a_, PresetKind::kMotion, body);
    ASSERT_TRUE(r.ok());
    mine.push_back((*r)["id"]);
    // Ids order creation to the millisecond; step past it so creation order is exact here.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_TRUE(svc_->create(b_, PresetKind::kMotion, motion_body("other")).ok());
  auto walk = [&](int limit, std::optional<std::string> tag) {
    std::vector<std::string> ids;
    std::optional<std::string> cursor;
    for (int pages = 0; pages < 50; ++pages) {
      auto p = svc_->list(scope_of(a_), PresetKind::kMotion, limit, cursor, tag);
      EXPECT_TRUE(p.ok());
      if (!p.ok()) break;
      EXPECT_LE(p->items.size(), static_cast<size_t>(limit));
      for (const auto& x : p->items) ids.push_back(x["id"]);
      if (!p->next_cursor) break;
      cursor = p->next_cursor;
    }
    return ids;
  };
  const std::vector<std::string> all = {"shake_1", "shake_2", "shake_3", mine[0],
                                        mine[1],   mine[2],   mine[3],   mine[4]};
  for (int limit : {1, 2, 3, 8, 1000}) EXPECT_EQ(walk(limit, std::nullopt), all) << limit;
  for (int limit : {2, 1000}) {
    EXPECT_EQ(walk(limit, "even"), (std::vector<std::string>{mine[0], mine[2], mine[4]}));
  }
  EXPECT_EQ(walk(2, "built_in"), (std::vector<std::string>{"shake_1", "shake_2", "shake_3"}));

  auto bad = svc_->list(scope_of(a_), PresetKind::kMotion, 2, "garbage", std::nullopt);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().details["field"], "cursor");
  EXPECT_FALSE(svc_->list(scope_of(a_), PresetKind::kMotion, 0, std::nullopt, std::nullopt).ok());
}

}  // namespace
}  // namespace atomcut

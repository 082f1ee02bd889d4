#include "conformance/metadata_store_conformance.h"

#include "core/ids.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <climits>
#include <functional>
#include <set>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <vector>

namespace atomcut::conformance {

void PrintTo(const MetadataStoreFactory& factory, std::ostream* os) { *os << factory.name; }

std::string metadata_store_factory_name(
    const ::testing::TestParamInfo<MetadataStoreFactory>& info) {
  return info.param.name;
}

void MetadataStoreConformance::SetUp() {
  store_ = GetParam().make_store();
  ASSERT_NE(store_, nullptr) << "factory '" << GetParam().name << "' returned no store";
}

void MetadataStoreConformance::TearDown() { store_.reset(); }

namespace {

using ::testing::AssertionFailure;
using ::testing::AssertionResult;
using ::testing::AssertionSuccess;

// The home scope of most records, and its two neighbours: another tenant in the same env, and
// the same tenant in another env.
const Scope kHome{"t_acme", "prod"};
const Scope kOtherTenant{"t_globex", "prod"};
const Scope kOtherEnv{"t_acme", "dev"};

constexpr int64_t kCreatedAtMs = 1'700'000'000'123;

// --- assertions on Status / Result ---

template <typename R>
AssertionResult is_ok(const R& r) {
  if (r.ok()) return AssertionSuccess();
  return AssertionFailure() << error_code_name(r.error().code) << ": " << r.error().message;
}

template <typename R>
AssertionResult has_code(const R& r, ErrorCode code) {
  if (r.ok()) return AssertionFailure() << "succeeded; expected " << error_code_name(code);
  if (r.error().code != code) {
    return AssertionFailure() << "got " << error_code_name(r.error().code) << " ("
                              << r.error().message << "); expected " << error_code_name(code);
  }
  return AssertionSuccess();
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

// A record queried from the wrong scope must be reported exactly like a missing one: not_found,
// and the same message and details as for an id that exists nowhere (with the id swapped in).
template <typename R1, typename R2>
AssertionResult looks_missing(const R1& hidden, std::string_view hidden_id, const R2& missing,
                              std::string_view missing_id) {
  if (auto r = has_code(hidden, ErrorCode::kNotFound); !r) return r;
  if (auto r = has_code(missing, ErrorCode::kNotFound); !r) return r << " (for the missing id)";
  std::string expected_message = replace_all(missing.error().message, missing_id, hidden_id);
  if (hidden.error().message != expected_message) {
    return AssertionFailure() << "message '" << hidden.error().message
                              << "' differs from the one for a missing id: '" << expected_message
                              << "'";
  }
  std::string expected_details = replace_all(missing.error().details.dump(), missing_id, hidden_id);
  if (hidden.error().details.dump() != expected_details) {
    return AssertionFailure() << "details " << hidden.error().details.dump()
                              << " differ from those for a missing id: " << expected_details;
  }
  return AssertionSuccess();
}

// --- record builders ---

MediaAsset minimal_asset(const Scope& scope, MediaKind kind = MediaKind::kVideo) {
  MediaAsset a;
  a.id = new_id("ast");
  a.tenant_id = scope.tenant_id;
  a.env = scope.env;
  a.kind = kind;
  a.source_uri = "file:///data/" + a.id + ".bin";
  a.size_bytes = 1234;
  a.created_at_ms = kCreatedAtMs;
  return a;
}

// Every field set, to values that catch truncation and type confusion.
MediaAsset full_asset(const Scope& scope) {
  MediaAsset a = minimal_asset(scope, MediaKind::kVideo);
  a.user_id = "user-42";
  a.source_uri = "file:///imports/cam%20a/clip.mov";
  a.duration_ms = 3'723'456;
  a.fps = Rational{30000, 1001};
  a.variable_frame_rate = true;
  a.width = 3840;
  a.height = 2160;
  a.rotation = 270;
  a.audio_channels = 6;
  a.sample_rate = 48000;
  a.codec_info = nlohmann::json::array({
      {{"index", 0}, {"codec_type", "video"}, {"codec_name", "hevc"}, {"profile", "Main 10"}},
      {{"index", 1}, {"codec_type", "audio"}, {"codec_name", "aac"}, {"channels", 6}},
  });
  a.size_bytes = 5'000'000'123;  // more than 32 bits
  a.tags = {"interview", "b-roll", "Ünïcode tag", "with space"};
  a.source_ref = "cam-a/card-1/0001";
  a.created_at_ms = kCreatedAtMs + 1;
  a.meta = {
      {"project", "launch"},
      {"nested", {{"list", {1, 2.5, "three", nullptr, true}}, {"empty", nlohmann::json::object()}}},
      {"big", int64_t{9'007'199'254'740'993}},  // not representable as a double
      {"negative", -17},
      {"quote", "it's \"quoted\" \\ and\nnewlined"},
  };
  a.storage_key = "t_acme/prod/media/" + a.id + "/original.mov";
  a.content_type = "video/quicktime";
  return a;
}

DerivedArtifact minimal_artifact(const MediaAsset& parent, std::string kind = "frame") {
  DerivedArtifact a;
  a.id = new_id("art");
  a.parent_asset_id = parent.id;
  a.tenant_id = parent.tenant_id;
  a.env = parent.env;
  a.kind = std::move(kind);
  a.uri = "file:///data/" + a.id;
  a.created_at_ms = kCreatedAtMs;
  a.size_bytes = 10;
  return a;
}

DerivedArtifact full_artifact(const MediaAsset& parent) {
  DerivedArtifact a = minimal_artifact(parent, "audio_segment");
  a.user_id = "user-7";
  a.start_ms = 0;  // zero is present, not absent
  a.end_ms = 4'000'000'000;
  a.track_label = "A1 (dialogue)";
  a.meta = {{"lufs", -23.5}, {"channels", {"L", "R"}}, {"deep", {{"a", {{"b", nullptr}}}}}};
  a.created_at_ms = kCreatedAtMs + 2;
  a.size_bytes = 6'000'000'000;
  a.storage_key = "t_acme/prod/artifacts/" + a.id + ".wav";
  a.content_type = "audio/wav";
  return a;
}

ApiKey make_key(const Scope& scope, std::string label = "ci") {
  ApiKey k;
  k.id = new_id("key");
  k.tenant_id = scope.tenant_id;
  k.env = scope.env;
  k.key_hash = random_hex(32);
  k.key_prefix = "ak_" + k.key_hash.substr(0, 8);
  k.label = std::move(label);
  k.created_at_ms = kCreatedAtMs;
  return k;
}

// --- field-by-field comparisons (the model types have no operator==) ---

void expect_same_asset(const MediaAsset& expected, const MediaAsset& actual) {
  SCOPED_TRACE("asset " + expected.id);
  EXPECT_EQ(actual.id, expected.id);
  EXPECT_EQ(actual.tenant_id, expected.tenant_id);
  EXPECT_EQ(actual.env, expected.env);
  EXPECT_EQ(actual.user_id, expected.user_id);
  EXPECT_EQ(media_kind_name(actual.kind), media_kind_name(expected.kind));
  EXPECT_EQ(actual.source_uri, expected.source_uri);
  EXPECT_EQ(actual.duration_ms, expected.duration_ms);
  ASSERT_EQ(actual.fps.has_value(), expected.fps.has_value());
  if (expected.fps) {
    EXPECT_EQ(actual.fps->num, expected.fps->num);
    EXPECT_EQ(actual.fps->den, expected.fps->den);
  }
  EXPECT_EQ(actual.variable_frame_rate, expected.variable_frame_rate);
  EXPECT_EQ(actual.width, expected.width);
  EXPECT_EQ(actual.height, expected.height);
  EXPECT_EQ(actual.rotation, expected.rotation);
  EXPECT_EQ(actual.audio_channels, expected.audio_channels);
  EXPECT_EQ(actual.sample_rate, expected.sample_rate);
  EXPECT_EQ(actual.codec_info, expected.codec_info);
  EXPECT_EQ(actual.size_bytes, expected.size_bytes);
  EXPECT_EQ(actual.tags, expected.tags);
  EXPECT_EQ(actual.source_ref, expected.source_ref);
  EXPECT_EQ(actual.created_at_ms, expected.created_at_ms);
  EXPECT_EQ(actual.meta, expected.meta);
  EXPECT_EQ(actual.storage_key, expected.storage_key);
  EXPECT_EQ(actual.content_type, expected.content_type);
}

void expect_same_artifact(const DerivedArtifact& expected, const DerivedArtifact& actual) {
  SCOPED_TRACE("artifact " + expected.id);
  EXPECT_EQ(actual.id, expected.id);
  EXPECT_EQ(actual.parent_asset_id, expected.parent_asset_id);
  EXPECT_EQ(actual.tenant_id, expected.tenant_id);
  EXPECT_EQ(actual.env, expected.env);
  EXPECT_EQ(actual.user_id, expected.user_id);
  EXPECT_EQ(actual.kind, expected.kind);
  EXPECT_EQ(actual.uri, expected.uri);
  EXPECT_EQ(actual.start_ms, expected.start_ms);
  EXPECT_EQ(actual.end_ms, expected.end_ms);
  EXPECT_EQ(actual.track_label, expected.track_label);
  EXPECT_EQ(actual.meta, expected.meta);
  EXPECT_EQ(actual.created_at_ms, expected.created_at_ms);
  EXPECT_EQ(actual.size_bytes, expected.size_bytes);
  EXPECT_EQ(actual.storage_key, expected.storage_key);
  EXPECT_EQ(actual.content_type, expected.content_type);
}

void expect_same_key(const ApiKey& expected, const ApiKey& actual) {
  SCOPED_TRACE("api key " + expected.id);
  EXPECT_EQ(actual.id, expected.id);
  EXPECT_EQ(actual.tenant_id, expected.tenant_id);
  EXPECT_EQ(actual.env, expected.env);
  EXPECT_EQ(actual.key_hash, expected.key_hash);
  EXPECT_EQ(actual.key_prefix, expected.key_prefix);
  EXPECT_EQ(actual.label, expected.label);
  EXPECT_EQ(actual.created_at_ms, expected.created_at_ms);
  EXPECT_EQ(actual.revoked_at_ms, expected.revoked_at_ms);
}

template <typename T>
std::vector<std::string> ids_of(const std::vector<T>& records) {
  std::vector<std::string> ids;
  for (const T& r : records) ids.push_back(r.id);
  return ids;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// Walks every page of a listing and returns the ids in order, checking the page invariants:
// at most `limit` items, next_after_id set exactly when more follow and equal to the last id.
std::vector<std::string> list_all_ids(MetadataStore& store, const Scope& scope,
                                      const AssetFilter& filter = {}, int limit = 1000,
                                      std::vector<size_t>* page_sizes = nullptr) {
  std::vector<std::string> ids;
  std::optional<std::string> after;
  for (int guard = 0; guard < 10000; ++guard) {
    auto page = store.list_assets(scope, filter, limit,
                                  after ? std::optional<std::string_view>(*after) : std::nullopt);
    EXPECT_TRUE(is_ok(page));
    if (!page.ok()) break;
    EXPECT_LE(page->items.size(), static_cast<size_t>(limit));
    if (page_sizes != nullptr) page_sizes->push_back(page->items.size());
    for (const MediaAsset& a : page->items) ids.push_back(a.id);
    if (!page->next_after_id) break;
    EXPECT_FALSE(page->items.empty()) << "next_after_id on an empty page";
    if (page->items.empty()) break;
    EXPECT_EQ(*page->next_after_id, page->items.back().id);
    after = page->next_after_id;
  }
  return ids;
}

}  // namespace

// ============================================================================================
// Media assets
// ============================================================================================

TEST_P(MetadataStoreConformance, InsertAndGetRoundTripsEveryAssetField) {
  MediaAsset a = full_asset(kHome);
  ASSERT_TRUE(is_ok(store().insert_asset(a)));
  auto got = store().get_asset(kHome, a.id);
  ASSERT_TRUE(is_ok(got));
  expect_same_asset(a, *got);

  // The listing returns the same full records.
  auto page = store().list_assets(kHome, {}, 10, std::nullopt);
  ASSERT_TRUE(is_ok(page));
  ASSERT_EQ(page->items.size(), 1u);
  expect_same_asset(a, page->items[0]);
}

TEST_P(MetadataStoreConformance, AssetOptionalFieldsStayAbsent) {
  MediaAsset a = minimal_asset(kHome, MediaKind::kAudio);
  ASSERT_TRUE(is_ok(store().insert_asset(a)));
  auto got = store().get_asset(kHome, a.id);
  ASSERT_TRUE(is_ok(got));
  expect_same_asset(a, *got);
  EXPECT_FALSE(got->user_id.has_value());
  EXPECT_FALSE(got->duration_ms.has_value());
  EXPECT_FALSE(got->fps.has_value());
  EXPECT_FALSE(got->width.has_value());
  EXPECT_FALSE(got->height.has_value());
  EXPECT_FALSE(got->audio_channels.has_value());
  EXPECT_FALSE(got->sample_rate.has_value());
  EXPECT_FALSE(got->source_ref.has_value());
  EXPECT_TRUE(got->tags.empty());
  EXPECT_EQ(got->meta, nlohmann::json::object());
  EXPECT_EQ(got->codec_info, nlohmann::json::array());
}

TEST_P(MetadataStoreConformance, AssetZeroValuesArePresentNotAbsent) {
  MediaAsset a = minimal_asset(kHome);
  a.duration_ms = 0;
  a.width = 0;
  a.height = 0;
  a.audio_channels = 0;
  a.sample_rate = 0;
  a.source_ref = "";
  a.user_id = "";
  a.fps = Rational{24, 1};
  ASSERT_TRUE(is_ok(store().insert_asset(a)));
  auto got = store().get_asset(kHome, a.id);
  ASSERT_TRUE(is_ok(got));
  expect_same_asset(a, *got);
}

TEST_P(MetadataStoreConformance, EveryMediaKindRoundTrips) {
  for (MediaKind kind :
       {MediaKind::kVideo, MediaKind::kAudio, MediaKind::kImage, MediaKind::kOther}) {
    MediaAsset a = minimal_asset(kHome, kind);
    ASSERT_TRUE(is_ok(store().insert_asset(a)));
    auto got = store().get_asset(kHome, a.id);
    ASSERT_TRUE(is_ok(got));
    EXPECT_EQ(media_kind_name(got->kind), media_kind_name(kind));
  }
}

TEST_P(MetadataStoreConformance, InsertAssetWithTakenIdIsAlreadyExists) {
  MediaAsset a = full_asset(kHome);
  ASSERT_TRUE(is_ok(store().insert_asset(a)));

  MediaAsset same_scope = minimal_asset(kHome, MediaKind::kImage);
  same_scope.id = a.id;
  EXPECT_TRUE(has_code(store().insert_asset(same_scope), ErrorCode::kAlreadyExists));

  // Ids are unique across scopes too.
  for (const Scope& other : {kOtherTenant, kOtherEnv}) {
    MediaAsset elsewhere = minimal_asset(other);
    elsewhere.id = a.id;
    EXPECT_TRUE(has_code(store().insert_asset(elsewhere), ErrorCode::kAlreadyExists));
    EXPECT_TRUE(has_code(store().get_asset(other, a.id), ErrorCode::kNotFound));
  }

  // The original is untouched, tags included.
  auto got = store().get_asset(kHome, a.id);
  ASSERT_TRUE(is_ok(got));
  expect_same_asset(a, *got);
  AssetFilter by_tag;
  by_tag.tag = "interview";
  EXPECT_EQ(list_all_ids(store(), kHome, by_tag), std::vector<std::string>{a.id});
}

TEST_P(MetadataStoreConformance, RecordsWithoutIdOrScopeAreInvalidArgument) {
  MediaAsset no_id = minimal_asset(kHome);
  no_id.id.clear();
  EXPECT_TRUE(has_code(store().insert_asset(no_id), ErrorCode::kInvalidArgument));
  MediaAsset no_tenant = minimal_asset(kHome);
  no_tenant.tenant_id.clear();
  EXPECT_TRUE(has_code(store().insert_asset(no_tenant), ErrorCode::kInvalidArgument));
  MediaAsset no_env = minimal_asset(kHome);
  no_env.env.clear();
  EXPECT_TRUE(has_code(store().insert_asset(no_env), ErrorCode::kInvalidArgument));

  MediaAsset parent = minimal_asset(kHome);
  ASSERT_TRUE(is_ok(store().insert_asset(parent)));
  DerivedArtifact art = minimal_artifact(parent);
  art.id.clear();
  EXPECT_TRUE(has_code(store().insert_artifact(art), ErrorCode::kInvalidArgument));

  ApiKey key = make_key(kHome);
  key.tenant_id.clear();
  EXPECT_TRUE(has_code(store().insert_api_key(key), ErrorCode::kInvalidArgument));
  ApiKey no_hash = make_key(kHome);
  no_hash.key_hash.clear();
  EXPECT_TRUE(has_code(store().insert_api_key(no_hash), ErrorCode::kInvalidArgument));

  auto keys = store().list_api_keys(std::nullopt);
  ASSERT_TRUE(is_ok(keys));
  EXPECT_TRUE(keys->empty());
  EXPECT_EQ(list_all_ids(store(), kHome), std::vector<std::string>{parent.id});
}

TEST_P(MetadataStoreConformance, TextThatIsNotUtf8IsInvalidArgumentNotAnException) {
  MediaAsset a = minimal_asset(kHome);
  a.source_uri = std::string("file:///bad\xff\xfe name");
  Status s;
  EXPECT_NO_THROW(s = store().insert_asset(a));
  EXPECT_TRUE(has_code(s, ErrorCode::kInvalidArgument));
  EXPECT_TRUE(has_code(store().get_asset(kHome, a.id), ErrorCode::kNotFound));
}

TEST_P(MetadataStoreConformance, GetMissingAssetIsNotFound) {
  auto got = store().get_asset(kHome, new_id("ast"));
  EXPECT_TRUE(has_code(got, ErrorCode::kNotFound));
  EXPECT_TRUE(has_code(store().get_asset(kHome, ""), ErrorCode::kNotFound));
}

TEST_P(MetadataStoreConformance, AssetOfAnotherTenantOrEnvLooksMissing) {
  MediaAsset a = full_asset(kHome);
  ASSERT_TRUE(is_ok(store().insert_asset(a)));
  for (const Scope& other : {kOtherTenant, kOtherEnv, Scope{"t_acme", "stage"}}) {
    SCOPED_TRACE(other.tenant_id + "/" + other.env);
    const std::string missing_id = new_id("ast");
    EXPECT_TRUE(looks_missing(store().get_asset(other, a.id), a.id,
                              store().get_asset(other, missing_id), missing_id));
  }
  // Neither half of the scope is enough on its own.
  EXPECT_TRUE(has_code(store().get_asset(Scope{"t_globex", "dev"}, a.id), ErrorCode::kNotFound));
  EXPECT_TRUE(has_code(store().get_asset(Scope{"", ""}, a.id), ErrorCode::kNotFound));
  EXPECT_TRUE(is_ok(store().get_asset(kHome, a.id)));
}

TEST_P(MetadataStoreConformance, UpdateAssetReplacesEveryField) {
  MediaAsset a = full_asset(kHome);
  ASSERT_TRUE(is_ok(store().insert_asset(a)));

  // Every field changes; optional ones are cleared.
  MediaAsset b = minimal_asset(kHome, MediaKind::kAudio);
  b.id = a.id;
  b.source_uri = "file:///moved.wav";
  b.tags = {"new-tag"};
  b.meta = {{"replaced", true}};
  b.codec_info = nlohmann::json::array({{{"codec_type", "audio"}}});
  b.size_bytes = 77;
  b.created_at_ms = kCreatedAtMs + 99;
  b.storage_key = "t_acme/prod/other";
  b.content_type = "audio/wav";
  ASSERT_TRUE(is_ok(store().update_asset(b)));
  auto got = store().get_asset(kHome, a.id);
  ASSERT_TRUE(is_ok(got));
  expect_same_asset(b, *got);

  // The filters follow the new values.
  AssetFilter old_tag, new_tag, old_kind, new_kind, old_ref;
  old_tag.tag = "interview";
  new_tag.tag = "new-tag";
  old_kind.kind = MediaKind::kVideo;
  new_kind.kind = MediaKind::kAudio;
  old_ref.source_ref = *a.source_ref;
  EXPECT_TRUE(list_all_ids(store(), kHome, old_tag).empty());
  EXPECT_EQ(list_all_ids(store(), kHome, new_tag), std::vector<std::string>{a.id});
  EXPECT_TRUE(list_all_ids(store(), kHome, old_kind).empty());
  EXPECT_EQ(list_all_ids(store(), kHome, new_kind), std::vector<std::string>{a.id});
  EXPECT_TRUE(list_all_ids(store(), kHome, old_ref).empty());

  // And back: optional fields become present again.
  ASSERT_TRUE(is_ok(store().update_asset(a)));
  got = store().get_asset(kHome, a.id);
  ASSERT_TRUE(is_ok(got));
  expect_same_asset(a, *got);
  EXPECT_EQ(list_all_ids(store(), kHome, old_tag), std::vector<std::string>{a.id});
  EXPECT_TRUE(list_all_ids(store(), kHome, new_tag).empty());
}

TEST_P(MetadataStoreConformance, UpdateMissingAssetIsNotFound) {
  MediaAsset a = minimal_asset(kHome);
  EXPECT_TRUE(has_code(store().update_asset(a), ErrorCode::kNotFound));
  // Update does not insert.
  EXPECT_TRUE(has_code(store().get_asset(kHome, a.id), ErrorCode::kNotFound));
  EXPECT_TRUE(list_all_ids(store(), kHome).empty());
}

TEST_P(MetadataStoreConformance, UpdateFromAnotherScopeIsNotFoundAndChangesNothing) {
  MediaAsset a = full_asset(kHome);
  ASSERT_TRUE(is_ok(store().insert_asset(a)));
  for (const Scope& other : {kOtherTenant, kOtherEnv}) {
    SCOPED_TRACE(other.tenant_id + "/" + other.env);
    MediaAsset hijack = minimal_asset(other, MediaKind::kImage);
    hijack.id = a.id;
    hijack.tags = {"hijacked"};
    MediaAsset missing = minimal_asset(other);
    EXPECT_TRUE(looks_missing(store().update_asset(hijack), a.id, store().update_asset(missing),
                              missing.id));
    EXPECT_TRUE(has_code(store().get_asset(other, a.id), ErrorCode::kNotFound));
    AssetFilter by_tag;
    by_tag.tag = "hijacked";
    EXPECT_TRUE(list_all_ids(store(), other, by_tag).empty());
    EXPECT_TRUE(list_all_ids(store(), kHome, by_tag).empty());
  }
  auto got = store().get_asset(kHome, a.id);
  ASSERT_TRUE(is_ok(got));
  expect_same_asset(a, *got);
}

TEST_P(MetadataStoreConformance, ListOfEmptyScopeIsEmpty) {
  auto page = store().list_assets(kHome, {}, 10, std::nullopt);
  ASSERT_TRUE(is_ok(page));
  EXPECT_TRUE(page->items.empty());
  EXPECT_FALSE(page->next_after_id.has_value());
}

TEST_P(MetadataStoreConformance, ListReturnsAssetsInIdOrder) {
  std::vector<MediaAsset> assets;
  for (int i = 0; i < 12; ++i) assets.push_back(minimal_asset(kHome));
  // Insert in an order unrelated to the ids.
  std::vector<MediaAsset> shuffled = assets;
  std::reverse(shuffled.begin(), shuffled.end());
  std::rotate(shuffled.begin(), shuffled.begin() + 5, shuffled.end());
  for (const MediaAsset& a : shuffled) ASSERT_TRUE(is_ok(store().insert_asset(a)));

  auto page = store().list_assets(kHome, {}, 100, std::nullopt);
  ASSERT_TRUE(is_ok(page));
  EXPECT_EQ(ids_of(page->items), sorted(ids_of(assets)));
  EXPECT_FALSE(page->next_after_id.has_value());
}

TEST_P(MetadataStoreConformance, ListPaginatesWithoutDuplicatesOrGaps) {
  std::vector<std::string> ids;
  for (int i = 0; i < 25; ++i) {
    MediaAsset a = minimal_asset(kHome);
    ids.push_back(a.id);
    ASSERT_TRUE(is_ok(store().insert_asset(a)));
  }
  std::vector<size_t> sizes;
  std::vector<std::string> walked = list_all_ids(store(), kHome, {}, 10, &sizes);
  EXPECT_EQ(sizes, (std::vector<size_t>{10, 10, 5}));
  EXPECT_EQ(walked, sorted(ids));
  EXPECT_EQ(std::set<std::string>(walked.begin(), walked.end()).size(), walked.size());

  // The first page explicitly: next_after_id is its last item.
  auto first = store().list_assets(kHome, {}, 10, std::nullopt);
  ASSERT_TRUE(is_ok(first));
  ASSERT_TRUE(first->next_after_id.has_value());
  EXPECT_EQ(*first->next_after_id, sorted(ids)[9]);
}

TEST_P(MetadataStoreConformance, LastFullPageHasNoNextAfterId) {
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    MediaAsset a = minimal_asset(kHome);
    ids.push_back(a.id);
    ASSERT_TRUE(is_ok(store().insert_asset(a)));
  }
  std::vector<size_t> sizes;
  EXPECT_EQ(list_all_ids(store(), kHome, {}, 10, &sizes), sorted(ids));
  EXPECT_EQ(sizes, (std::vector<size_t>{10, 10}));  // no trailing empty page

  auto exact = store().list_assets(kHome, {}, 20, std::nullopt);
  ASSERT_TRUE(is_ok(exact));
  EXPECT_EQ(exact->items.size(), 20u);
  EXPECT_FALSE(exact->next_after_id.has_value());

  auto one_short = store().list_assets(kHome, {}, 19, std::nullopt);
  ASSERT_TRUE(is_ok(one_short));
  EXPECT_EQ(one_short->items.size(), 19u);
  ASSERT_TRUE(one_short->next_after_id.has_value());
  EXPECT_EQ(*one_short->next_after_id, sorted(ids)[18]);

  std::vector<size_t> ones;
  EXPECT_EQ(list_all_ids(store(), kHome, {}, 1, &ones), sorted(ids));
  EXPECT_EQ(ones, std::vector<size_t>(20, 1));
}

TEST_P(MetadataStoreConformance, AfterIdIsExclusiveAndNeedNotExist) {
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    MediaAsset a = minimal_asset(kHome);
    ids.push_back(a.id);
    ASSERT_TRUE(is_ok(store().insert_asset(a)));
  }
  ids = sorted(ids);

  auto after_third = store().list_assets(kHome, {}, 100, ids[2]);
  ASSERT_TRUE(is_ok(after_third));
  EXPECT_EQ(ids_of(after_third->items), std::vector<std::string>(ids.begin() + 3, ids.end()));

  auto after_last = store().list_assets(kHome, {}, 100, ids.back());
  ASSERT_TRUE(is_ok(after_last));
  EXPECT_TRUE(after_last->items.empty());
  EXPECT_FALSE(after_last->next_after_id.has_value());

  // A cursor that is not (or no longer) an id still positions the listing.
  std::string between = ids[1] + "0";  // sorts after ids[1], before ids[2]
  auto after_between = store().list_assets(kHome, {}, 100, between);
  ASSERT_TRUE(is_ok(after_between));
  EXPECT_EQ(ids_of(after_between->items), std::vector<std::string>(ids.begin() + 2, ids.end()));

  auto after_empty = store().list_assets(kHome, {}, 100, std::string_view(""));
  ASSERT_TRUE(is_ok(after_empty));
  EXPECT_EQ(ids_of(after_empty->items), ids);

  // A deleted asset's id still works as a cursor.
  ASSERT_TRUE(is_ok(store().delete_asset(kHome, ids[3])));
  auto after_deleted = store().list_assets(kHome, {}, 100, ids[3]);
  ASSERT_TRUE(is_ok(after_deleted));
  EXPECT_EQ(ids_of(after_deleted->items), std::vector<std::string>(ids.begin() + 4, ids.end()));
}

TEST_P(MetadataStoreConformance, ListRejectsLimitOutsideOneToThousand) {
  ASSERT_TRUE(is_ok(store().insert_asset(minimal_asset(kHome))));
  for (int bad : {0, -1, 1001, INT_MIN, INT_MAX}) {
    SCOPED_TRACE(bad);
    EXPECT_TRUE(
        has_code(store().list_assets(kHome, {}, bad, std::nullopt), ErrorCode::kInvalidArgument));
  }
  for (int good : {1, 1000}) {
    auto page = store().list_assets(kHome, {}, good, std::nullopt);
    ASSERT_TRUE(is_ok(page));
    EXPECT_EQ(page->items.size(), 1u);
  }
}

TEST_P(MetadataStoreConformance, ListFiltersByKind) {
  std::vector<std::string> videos, audios;
  for (int i = 0; i < 4; ++i) {
    MediaAsset v = minimal_asset(kHome, MediaKind::kVideo);
    MediaAsset a = minimal_asset(kHome, MediaKind::kAudio);
    videos.push_back(v.id);
    audios.push_back(a.id);
    ASSERT_TRUE(is_ok(store().insert_asset(v)));
    ASSERT_TRUE(is_ok(store().insert_asset(a)));
  }
  AssetFilter f;
  f.kind = MediaKind::kVideo;
  EXPECT_EQ(list_all_ids(store(), kHome, f), sorted(videos));
  f.kind = MediaKind::kAudio;
  EXPECT_EQ(list_all_ids(store(), kHome, f), sorted(audios));
  f.kind = MediaKind::kImage;
  EXPECT_TRUE(list_all_ids(store(), kHome, f).empty());
}

TEST_P(MetadataStoreConformance, ListFiltersByExactTag) {
  MediaAsset cat = minimal_asset(kHome);
  cat.tags = {"cat", "pet"};
  MediaAsset cats = minimal_asset(kHome);
  cats.tags = {"cats"};
  MediaAsset upper = minimal_asset(kHome);
  upper.tags = {"Cat"};
  MediaAsset twice = minimal_asset(kHome);
  twice.tags = {"cat", "cat"};  // a repeated tag must not repeat the asset
  MediaAsset none = minimal_asset(kHome);
  for (const MediaAsset* a : {&cat, &cats, &upper, &twice, &none}) {
    ASSERT_TRUE(is_ok(store().insert_asset(*a)));
  }
  AssetFilter f;
  f.tag = "cat";
  EXPECT_EQ(list_all_ids(store(), kHome, f), sorted({cat.id, twice.id}));
  f.tag = "pet";
  EXPECT_EQ(list_all_ids(store(), kHome, f), std::vector<std::string>{cat.id});
  f.tag = "ca";
  EXPECT_TRUE(list_all_ids(store(), kHome, f).empty());
  f.tag = "%";
  EXPECT_TRUE(list_all_ids(store(), kHome, f).empty());
  f.tag = "";
  EXPECT_TRUE(list_all_ids(store(), kHome, f).empty());
}

TEST_P(MetadataStoreConformance, ListFiltersByExactSourceRef) {
  MediaAsset a = minimal_asset(kHome);
  a.source_ref = "cam-a/0001";
  MediaAsset b = minimal_asset(kHome);
  b.source_ref = "cam-a/0001";
  MediaAsset longer = minimal_asset(kHome);
  longer.source_ref = "cam-a/00010";
  MediaAsset none = minimal_asset(kHome);
  for (const MediaAsset* x : {&a, &b, &longer, &none}) ASSERT_TRUE(is_ok(store().insert_asset(*x)));
  AssetFilter f;
  f.source_ref = "cam-a/0001";
  EXPECT_EQ(list_all_ids(store(), kHome, f), sorted({a.id, b.id}));
  f.source_ref = "cam-a/%";
  EXPECT_TRUE(list_all_ids(store(), kHome, f).empty());
  f.source_ref = "";
  EXPECT_TRUE(list_all_ids(store(), kHome, f).empty());
}

TEST_P(MetadataStoreConformance, ListCombinesFiltersWithAnd) {
  auto make = [&](MediaKind kind, std::vector<std::string> tags, std::optional<std::string> ref) {
    MediaAsset a = minimal_asset(kHome, kind);
    a.tags = std::move(tags);
    a.source_ref = std::move(ref);
    EXPECT_TRUE(is_ok(store().insert_asset(a)));
    return a.id;
  };
  const std::string all_three = make(MediaKind::kVideo, {"x", "y"}, "ref-1");
  const std::string all_three_b = make(MediaKind::kVideo, {"x"}, "ref-1");
  const std::string wrong_kind = make(MediaKind::kAudio, {"x"}, "ref-1");
  const std::string wrong_tag = make(MediaKind::kVideo, {"y"}, "ref-1");
  const std::string wrong_ref = make(MediaKind::kVideo, {"x"}, "ref-2");
  const std::string no_ref = make(MediaKind::kVideo, {"x"}, std::nullopt);

  AssetFilter f;
  f.kind = MediaKind::kVideo;
  f.tag = "x";
  f.source_ref = "ref-1";
  EXPECT_EQ(list_all_ids(store(), kHome, f), sorted({all_three, all_three_b}));

  AssetFilter kind_and_tag;
  kind_and_tag.kind = MediaKind::kVideo;
  kind_and_tag.tag = "x";
  EXPECT_EQ(list_all_ids(store(), kHome, kind_and_tag),
            sorted({all_three, all_three_b, wrong_ref, no_ref}));

  AssetFilter tag_and_ref;
  tag_and_ref.tag = "x";
  tag_and_ref.source_ref = "ref-1";
  EXPECT_EQ(list_all_ids(store(), kHome, tag_and_ref),
            sorted({all_three, all_three_b, wrong_kind}));

  AssetFilter kind_and_ref;
  kind_and_ref.kind = MediaKind::kVideo;
  kind_and_ref.source_ref = "ref-1";
  EXPECT_EQ(list_all_ids(store(), kHome, kind_and_ref),
            sorted({all_three, all_three_b, wrong_tag}));
}

TEST_P(MetadataStoreConformance, FilteredListPaginates) {
  std::vector<std::string> tagged;
  for (int i = 0; i < 20; ++i) {
    MediaAsset a = minimal_asset(kHome);
    if (i % 3 == 0) {
      a.tags = {"keep"};
      tagged.push_back(a.id);
    }
    ASSERT_TRUE(is_ok(store().insert_asset(a)));
  }
  ASSERT_EQ(tagged.size(), 7u);
  AssetFilter f;
  f.tag = "keep";
  std::vector<size_t> sizes;
  EXPECT_EQ(list_all_ids(store(), kHome, f, 3, &sizes), sorted(tagged));
  EXPECT_EQ(sizes, (std::vector<size_t>{3, 3, 1}));
}

TEST_P(MetadataStoreConformance, ListIsScopedToTenantAndEnv) {
  auto make = [&](const Scope& scope) {
    MediaAsset a = minimal_asset(scope, MediaKind::kVideo);
    a.tags = {"shared-tag"};
    a.source_ref = "shared-ref";
    EXPECT_TRUE(is_ok(store().insert_asset(a)));
    return a.id;
  };
  std::vector<std::string> home = {make(kHome), make(kHome)};
  std::vector<std::string> other_tenant = {make(kOtherTenant)};
  std::vector<std::string> other_env = {make(kOtherEnv), make(kOtherEnv), make(kOtherEnv)};

  AssetFilter every_filter;
  every_filter.kind = MediaKind::kVideo;
  every_filter.tag = "shared-tag";
  every_filter.source_ref = "shared-ref";
  for (const AssetFilter& f : {AssetFilter{}, every_filter}) {
    EXPECT_EQ(list_all_ids(store(), kHome, f), sorted(home));
    EXPECT_EQ(list_all_ids(store(), kOtherTenant, f), sorted(other_tenant));
    EXPECT_EQ(list_all_ids(store(), kOtherEnv, f), sorted(other_env));
    EXPECT_TRUE(list_all_ids(store(), Scope{"t_globex", "dev"}, f).empty());
    // Pagination stays inside the scope: paging one by one sees exactly the same ids.
    EXPECT_EQ(list_all_ids(store(), kOtherEnv, f, 1), sorted(other_env));
  }
  // A cursor taken from another scope positions the listing but reveals nothing.
  auto page = store().list_assets(kHome, {}, 100, std::string_view(other_env[0]));
  ASSERT_TRUE(is_ok(page));
  for (const MediaAsset& a : page->items)
    EXPECT_EQ(a.tenant_id + a.env, kHome.tenant_id + kHome.env);
}

TEST_P(MetadataStoreConformance, DeleteAssetRemovesAssetTagsAndArtifacts) {
  MediaAsset a = full_asset(kHome);
  MediaAsset sibling = minimal_asset(kHome);
  sibling.tags = {"interview"};
  ASSERT_TRUE(is_ok(store().insert_asset(a)));
  ASSERT_TRUE(is_ok(store().insert_asset(sibling)));
  std::vector<DerivedArtifact> arts = {full_artifact(a), minimal_artifact(a, "thumbnail"),
                                       minimal_artifact(a, "waveform")};
  // Insert out of id order; the deleted list comes back in id order.
  for (auto it = arts.rbegin(); it != arts.rend(); ++it) {
    ASSERT_TRUE(is_ok(store().insert_artifact(*it)));
  }
  DerivedArtifact sibling_art = minimal_artifact(sibling);
  ASSERT_TRUE(is_ok(store().insert_artifact(sibling_art)));

  auto deleted = store().delete_asset(kHome, a.id);
  ASSERT_TRUE(is_ok(deleted));
  std::sort(arts.begin(), arts.end(), [](const auto& x, const auto& y) { return x.id < y.id; });
  ASSERT_EQ(ids_of(*deleted), ids_of(arts));
  for (size_t i = 0; i < arts.size(); ++i) expect_same_artifact(arts[i], (*deleted)[i]);

  EXPECT_TRUE(has_code(store().get_asset(kHome, a.id), ErrorCode::kNotFound));
  for (const DerivedArtifact& art : arts) {
    EXPECT_TRUE(has_code(store().get_artifact(kHome, art.id), ErrorCode::kNotFound));
  }
  auto remaining = store().list_artifacts(kHome, a.id);
  ASSERT_TRUE(is_ok(remaining));
  EXPECT_TRUE(remaining->empty());
  EXPECT_EQ(list_all_ids(store(), kHome), std::vector<std::string>{sibling.id});
  AssetFilter by_tag;
  by_tag.tag = "interview";
  EXPECT_EQ(list_all_ids(store(), kHome, by_tag), std::vector<std::string>{sibling.id});

  // The sibling and its artifact are untouched.
  EXPECT_TRUE(is_ok(store().get_asset(kHome, sibling.id)));
  auto sibling_arts = store().list_artifacts(kHome, sibling.id);
  ASSERT_TRUE(is_ok(sibling_arts));
  EXPECT_EQ(ids_of(*sibling_arts), std::vector<std::string>{sibling_art.id});

  // Deleting again is not_found.
  EXPECT_TRUE(has_code(store().delete_asset(kHome, a.id), ErrorCode::kNotFound));

  // Nothing of the old asset is left behind: its id is free and its tags are gone.
  MediaAsset reused = minimal_asset(kHome);
  reused.id = a.id;
  ASSERT_TRUE(is_ok(store().insert_asset(reused)));
  EXPECT_EQ(list_all_ids(store(), kHome, by_tag), std::vector<std::string>{sibling.id});
  auto reused_arts = store().list_artifacts(kHome, a.id);
  ASSERT_TRUE(is_ok(reused_arts));
  EXPECT_TRUE(reused_arts->empty());
}

TEST_P(MetadataStoreConformance, DeleteAssetWithoutArtifactsReturnsNone) {
  MediaAsset a = minimal_asset(kHome);
  ASSERT_TRUE(is_ok(store().insert_asset(a)));
  auto deleted = store().delete_asset(kHome, a.id);
  ASSERT_TRUE(is_ok(deleted));
  EXPECT_TRUE(deleted->empty());
  EXPECT_TRUE(has_code(store().get_asset(kHome, a.id), ErrorCode::kNotFound));
}

TEST_P(MetadataStoreConformance, DeleteMissingAssetIsNotFound) {
  EXPECT_TRUE(has_code(store().delete_asset(kHome, new_id("ast")), ErrorCode::kNotFound));
}

TEST_P(MetadataStoreConformance, DeleteFromAnotherScopeIsNotFoundAndKeepsEverything) {
  MediaAsset a = full_asset(kHome);
  ASSERT_TRUE(is_ok(store().insert_asset(a)));
  DerivedArtifact art = full_artifact(a);
  ASSERT_TRUE(is_ok(store().insert_artifact(art)));
  for (const Scope& other : {kOtherTenant, kOtherEnv}) {
    SCOPED_TRACE(other.tenant_id + "/" + other.env);
    const std::string missing_id = new_id("ast");
    EXPECT_TRUE(looks_missing(store().delete_asset(other, a.id), a.id,
                              store().delete_asset(other, missing_id), missing_id));
  }
  auto got = store().get_asset(kHome, a.id);
  ASSERT_TRUE(is_ok(got));
  expect_same_asset(a, *got);
  auto arts = store().list_artifacts(kHome, a.id);
  ASSERT_TRUE(is_ok(arts));
  ASSERT_EQ(arts->size(), 1u);
  expect_same_artifact(art, (*arts)[0]);
  AssetFilter by_tag;
  by_tag.tag = "interview";
  EXPECT_EQ(list_all_ids(store(), kHome, by_tag), std::vector<std::string>{a.id});
}

// ============================================================================================
// Derived artifacts
// ============================================================================================

TEST_P(MetadataStoreConformance, InsertAndGetRoundTripsEveryArtifactField) {
  MediaAsset parent = minimal_asset(kHome);
  ASSERT_TRUE(is_ok(store().insert_asset(parent)));
  DerivedArtifact art = full_artifact(parent);
  ASSERT_TRUE(is_ok(store().insert_artifact(art)));
  auto got = store().get_artifact(kHome, art.id);
  ASSERT_TRUE(is_ok(got));
  expect_same_artifact(art, *got);
  auto listed = store().list_artifacts(kHome, parent.id);
  ASSERT_TRUE(is_ok(listed));
  ASSERT_EQ(listed->size(), 1u);
  expect_same_artifact(art, (*listed)[0]);
}

TEST_P(MetadataStoreConformance, ArtifactOptionalFieldsStayAbsent) {
  MediaAsset parent = minimal_asset(kHome);
  ASSERT_TRUE(is_ok(store().insert_asset(parent)));
  DerivedArtifact art = minimal_artifact(parent);
  ASSERT_TRUE(is_ok(store().insert_artifact(art)));
  auto got = store().get_artifact(kHome, art.id);
  ASSERT_TRUE(is_ok(got));
  expect_same_artifact(art, *got);
  EXPECT_FALSE(got->user_id.has_value());
  EXPECT_FALSE(got->start_ms.has_value());
  EXPECT_FALSE(got->end_ms.has_value());
  EXPECT_FALSE(got->track_label.has_value());
  EXPECT_EQ(got->meta, nlohmann::json::object());
  EXPECT_EQ(got->content_type, "application/octet-stream");
}

TEST_P(MetadataStoreConformance, ArtifactWithMissingParentIsFailedPrecondition) {
  MediaAsset never_inserted = minimal_asset(kHome);
  DerivedArtifact art = minimal_artifact(never_inserted);
  EXPECT_TRUE(has_code(store().insert_artifact(art), ErrorCode::kFailedPrecondition));
  EXPECT_TRUE(has_code(store().get_artifact(kHome, art.id), ErrorCode::kNotFound));

  // A deleted parent is missing too.
  MediaAsset gone = minimal_asset(kHome);
  ASSERT_TRUE(is_ok(store().insert_asset(gone)));
  ASSERT_TRUE(is_ok(store().delete_asset(kHome, gone.id)));
  EXPECT_TRUE(
      has_code(store().insert_artifact(minimal_artifact(gone)), ErrorCode::kFailedPrecondition));
}

TEST_P(MetadataStoreConformance, ArtifactWithParentInAnotherTenantOrEnvIsFailedPrecondition) {
  MediaAsset parent = minimal_asset(kHome);
  ASSERT_TRUE(is_ok(store().insert_asset(parent)));
  for (const Scope& other : {kOtherTenant, kOtherEnv}) {
    SCOPED_TRACE(other.tenant_id + "/" + other.env);
    DerivedArtifact art = minimal_artifact(parent);
    art.tenant_id = other.tenant_id;
    art.env = other.env;
    EXPECT_TRUE(has_code(store().insert_artifact(art), ErrorCode::kFailedPrecondition));
    EXPECT_TRUE(has_code(store().get_artifact(other, art.id), ErrorCode::kNotFound));
    EXPECT_TRUE(has_code(store().get_artifact(kHome, art.id), ErrorCode::kNotFound));
    auto listed = store().list_artifacts(other, parent.id);
    ASSERT_TRUE(is_ok(listed));
    EXPECT_TRUE(listed->empty());
  }
  auto listed = store().list_artifacts(kHome, parent.id);
  ASSERT_TRUE(is_ok(listed));
  EXPECT_TRUE(listed->empty());
}

TEST_P(MetadataStoreConformance, InsertArtifactWithTakenIdIsAlreadyExists) {
  MediaAsset parent = minimal_asset(kHome);
  MediaAsset other_parent = minimal_asset(kHome);
  MediaAsset foreign_parent = minimal_asset(kOtherTenant);
  for (const MediaAsset* p : {&parent, &other_parent, &foreign_parent}) {
    ASSERT_TRUE(is_ok(store().insert_asset(*p)));
  }
  DerivedArtifact art = full_artifact(parent);
  ASSERT_TRUE(is_ok(store().insert_artifact(art)));

  DerivedArtifact dup = minimal_artifact(other_parent);
  dup.id = art.id;
  EXPECT_TRUE(has_code(store().insert_artifact(dup), ErrorCode::kAlreadyExists));
  DerivedArtifact foreign_dup = minimal_artifact(foreign_parent);
  foreign_dup.id = art.id;
  EXPECT_TRUE(has_code(store().insert_artifact(foreign_dup), ErrorCode::kAlreadyExists));

  auto got = store().get_artifact(kHome, art.id);
  ASSERT_TRUE(is_ok(got));
  expect_same_artifact(art, *got);
  auto other_list = store().list_artifacts(kHome, other_parent.id);
  ASSERT_TRUE(is_ok(other_list));
  EXPECT_TRUE(other_list->empty());
}

TEST_P(MetadataStoreConformance, GetMissingArtifactIsNotFound) {
  EXPECT_TRUE(has_code(store().get_artifact(kHome, new_id("art")), ErrorCode::kNotFound));
  // An asset id is not an artifact id.
  MediaAsset a = minimal_asset(kHome);
  ASSERT_TRUE(is_ok(store().insert_asset(a)));
  EXPECT_TRUE(has_code(store().get_artifact(kHome, a.id), ErrorCode::kNotFound));
}

TEST_P(MetadataStoreConformance, ArtifactOfAnotherTenantOrEnvLooksMissing) {
  MediaAsset parent = minimal_asset(kHome);
  ASSERT_TRUE(is_ok(store().insert_asset(parent)));
  DerivedArtifact art = full_artifact(parent);
  ASSERT_TRUE(is_ok(store().insert_artifact(art)));
  for (const Scope& other : {kOtherTenant, kOtherEnv}) {
    SCOPED_TRACE(other.tenant_id + "/" + other.env);
    const std::string missing_id = new_id("art");
    EXPECT_TRUE(looks_missing(store().get_artifact(other, art.id), art.id,
                              store().get_artifact(other, missing_id), missing_id));
    auto listed = store().list_artifacts(other, parent.id);
    ASSERT_TRUE(is_ok(listed));
    EXPECT_TRUE(listed->empty());
  }
  EXPECT_TRUE(is_ok(store().get_artifact(kHome, art.id)));
}

TEST_P(MetadataStoreConformance, ListArtifactsReturnsOnlyThatAssetsInIdOrder) {
  MediaAsset a = minimal_asset(kHome);
  MediaAsset b = minimal_asset(kHome);
  ASSERT_TRUE(is_ok(store().insert_asset(a)));
  ASSERT_TRUE(is_ok(store().insert_asset(b)));
  std::vector<DerivedArtifact> of_a, of_b;
  for (int i = 0; i < 7; ++i) of_a.push_back(minimal_artifact(a, i % 2 ? "frame" : "mask"));
  for (int i = 0; i < 3; ++i) of_b.push_back(minimal_artifact(b));
  // Interleaved and reversed insertion.
  for (int i = 6; i >= 0; --i) {
    ASSERT_TRUE(is_ok(store().insert_artifact(of_a[i])));
    if (i < 3) {
      ASSERT_TRUE(is_ok(store().insert_artifact(of_b[i])));
    }
  }
  auto listed_a = store().list_artifacts(kHome, a.id);
  ASSERT_TRUE(is_ok(listed_a));
  EXPECT_EQ(ids_of(*listed_a), sorted(ids_of(of_a)));
  for (const DerivedArtifact& art : *listed_a) EXPECT_EQ(art.parent_asset_id, a.id);
  auto listed_b = store().list_artifacts(kHome, b.id);
  ASSERT_TRUE(is_ok(listed_b));
  EXPECT_EQ(ids_of(*listed_b), sorted(ids_of(of_b)));
}

TEST_P(MetadataStoreConformance, ListArtifactsIsEmptyForUnknownAssetOrAssetWithoutArtifacts) {
  MediaAsset a = minimal_asset(kHome);
  ASSERT_TRUE(is_ok(store().insert_asset(a)));
  auto none = store().list_artifacts(kHome, a.id);
  ASSERT_TRUE(is_ok(none));
  EXPECT_TRUE(none->empty());
  auto unknown = store().list_artifacts(kHome, new_id("ast"));
  ASSERT_TRUE(is_ok(unknown));
  EXPECT_TRUE(unknown->empty());
}

// ============================================================================================
// API keys
// ============================================================================================

TEST_P(MetadataStoreConformance, InsertAndFindApiKeyRoundTripsEveryField) {
  ApiKey active = make_key(kHome, "deploy bot");
  ApiKey revoked = make_key(kOtherEnv, "");
  revoked.revoked_at_ms = kCreatedAtMs + 500;
  revoked.key_prefix = "";
  ASSERT_TRUE(is_ok(store().insert_api_key(active)));
  ASSERT_TRUE(is_ok(store().insert_api_key(revoked)));

  auto found = store().find_api_key_by_hash(active.key_hash);
  ASSERT_TRUE(is_ok(found));
  expect_same_key(active, *found);
  EXPECT_FALSE(found->revoked_at_ms.has_value());

  // Revoked keys are still found; callers check revoked_at_ms.
  auto found_revoked = store().find_api_key_by_hash(revoked.key_hash);
  ASSERT_TRUE(is_ok(found_revoked));
  expect_same_key(revoked, *found_revoked);

  auto listed = store().list_api_keys(std::nullopt);
  ASSERT_TRUE(is_ok(listed));
  ASSERT_EQ(listed->size(), 2u);
  for (const ApiKey& k : *listed) expect_same_key(k.id == active.id ? active : revoked, k);
}

TEST_P(MetadataStoreConformance, FindApiKeyByHashIgnoresScope) {
  std::vector<ApiKey> keys = {make_key(kHome), make_key(kOtherTenant), make_key(kOtherEnv)};
  for (const ApiKey& k : keys) ASSERT_TRUE(is_ok(store().insert_api_key(k)));
  for (const ApiKey& k : keys) {
    auto found = store().find_api_key_by_hash(k.key_hash);
    ASSERT_TRUE(is_ok(found));
    expect_same_key(k, *found);
  }
}

TEST_P(MetadataStoreConformance, FindUnknownApiKeyHashIsNotFound) {
  ApiKey k = make_key(kHome);
  ASSERT_TRUE(is_ok(store().insert_api_key(k)));
  EXPECT_TRUE(has_code(store().find_api_key_by_hash(random_hex(32)), ErrorCode::kNotFound));
  EXPECT_TRUE(has_code(store().find_api_key_by_hash(""), ErrorCode::kNotFound));
  // Exact match only: not a prefix, not another case.
  EXPECT_TRUE(
      has_code(store().find_api_key_by_hash(k.key_hash.substr(0, 10)), ErrorCode::kNotFound));
  std::string upper = k.key_hash;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  if (upper != k.key_hash) {
    EXPECT_TRUE(has_code(store().find_api_key_by_hash(upper), ErrorCode::kNotFound));
  }
}

TEST_P(MetadataStoreConformance, InsertApiKeyWithTakenIdOrHashIsAlreadyExists) {
  ApiKey k = make_key(kHome, "original");
  ASSERT_TRUE(is_ok(store().insert_api_key(k)));

  ApiKey same_id = make_key(kOtherTenant, "same id");
  same_id.id = k.id;
  EXPECT_TRUE(has_code(store().insert_api_key(same_id), ErrorCode::kAlreadyExists));
  ApiKey same_hash = make_key(kOtherTenant, "same hash");
  same_hash.key_hash = k.key_hash;
  EXPECT_TRUE(has_code(store().insert_api_key(same_hash), ErrorCode::kAlreadyExists));

  auto listed = store().list_api_keys(std::nullopt);
  ASSERT_TRUE(is_ok(listed));
  ASSERT_EQ(listed->size(), 1u);
  expect_same_key(k, (*listed)[0]);
}

TEST_P(MetadataStoreConformance, ListApiKeysAllOrByScopeInIdOrder) {
  auto empty = store().list_api_keys(std::nullopt);
  ASSERT_TRUE(is_ok(empty));
  EXPECT_TRUE(empty->empty());

  std::vector<ApiKey> home, other_tenant, other_env;
  for (int i = 0; i < 4; ++i) home.push_back(make_key(kHome));
  for (int i = 0; i < 2; ++i) other_tenant.push_back(make_key(kOtherTenant));
  for (int i = 0; i < 3; ++i) other_env.push_back(make_key(kOtherEnv));
  std::vector<ApiKey> all;
  for (const auto* group : {&other_env, &home, &other_tenant}) {
    for (auto it = group->rbegin(); it != group->rend(); ++it) {
      ASSERT_TRUE(is_ok(store().insert_api_key(*it)));
      all.push_back(*it);
    }
  }

  auto listed_all = store().list_api_keys(std::nullopt);
  ASSERT_TRUE(is_ok(listed_all));
  EXPECT_EQ(ids_of(*listed_all), sorted(ids_of(all)));

  auto listed_home = store().list_api_keys(kHome);
  ASSERT_TRUE(is_ok(listed_home));
  EXPECT_EQ(ids_of(*listed_home), sorted(ids_of(home)));
  auto listed_tenant = store().list_api_keys(kOtherTenant);
  ASSERT_TRUE(is_ok(listed_tenant));
  EXPECT_EQ(ids_of(*listed_tenant), sorted(ids_of(other_tenant)));
  auto listed_env = store().list_api_keys(kOtherEnv);
  ASSERT_TRUE(is_ok(listed_env));
  EXPECT_EQ(ids_of(*listed_env), sorted(ids_of(other_env)));
  auto listed_nobody = store().list_api_keys(Scope{"t_globex", "dev"});
  ASSERT_TRUE(is_ok(listed_nobody));
  EXPECT_TRUE(listed_nobody->empty());
}

TEST_P(MetadataStoreConformance, RevokeApiKeySetsRevokedAtAndIsIdempotent) {
  ApiKey k = make_key(kHome);
  ApiKey bystander = make_key(kHome);
  ASSERT_TRUE(is_ok(store().insert_api_key(k)));
  ASSERT_TRUE(is_ok(store().insert_api_key(bystander)));

  const int64_t revoked_at = kCreatedAtMs + 60'000;
  ASSERT_TRUE(is_ok(store().revoke_api_key(k.id, revoked_at)));
  auto found = store().find_api_key_by_hash(k.key_hash);
  ASSERT_TRUE(is_ok(found));
  EXPECT_EQ(found->revoked_at_ms, std::optional<int64_t>(revoked_at));
  ApiKey expected = k;
  expected.revoked_at_ms = revoked_at;
  expect_same_key(expected, *found);

  // Again: still ok, and the key stays revoked as of the first revocation.
  ASSERT_TRUE(is_ok(store().revoke_api_key(k.id, revoked_at + 1000)));
  found = store().find_api_key_by_hash(k.key_hash);
  ASSERT_TRUE(is_ok(found));
  EXPECT_EQ(found->revoked_at_ms, std::optional<int64_t>(revoked_at));

  auto listed = store().list_api_keys(kHome);
  ASSERT_TRUE(is_ok(listed));
  for (const ApiKey& listed_key : *listed) {
    if (listed_key.id == k.id) {
      EXPECT_EQ(listed_key.revoked_at_ms, std::optional<int64_t>(revoked_at));
    } else {
      expect_same_key(bystander, listed_key);
    }
  }
}

TEST_P(MetadataStoreConformance, RevokeUnknownApiKeyIsNotFound) {
  EXPECT_TRUE(has_code(store().revoke_api_key(new_id("key"), kCreatedAtMs), ErrorCode::kNotFound));
  EXPECT_TRUE(has_code(store().revoke_api_key("", kCreatedAtMs), ErrorCode::kNotFound));
}

// ============================================================================================
// Concurrency
// ============================================================================================

// Several threads insert assets and artifacts and read them back while others list and get;
// every call succeeds and nothing is lost or duplicated.
TEST_P(MetadataStoreConformance, ConcurrentWritersAndReadersLoseNothing) {
  constexpr int kWriters = 8;
  constexpr int kPerWriter = 25;
  MediaAsset hot = full_asset(kHome);
  ASSERT_TRUE(is_ok(store().insert_asset(hot)));

  std::atomic<int> failures{0};
  std::atomic<bool> writers_done{false};
  std::vector<std::vector<std::string>> written(kWriters);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      const Scope scope = w % 2 == 0 ? kHome : kOtherTenant;
      for (int i = 0; i < kPerWriter; ++i) {
        MediaAsset a = minimal_asset(scope);
        a.tags = {"w" + std::to_string(w)};
        DerivedArtifact art = minimal_artifact(a);
        if (!store().insert_asset(a).ok() || !store().insert_artifact(art).ok()) {
          ++failures;
          continue;
        }
        written[w].push_back(a.id);
        auto got = store().get_asset(scope, a.id);
        auto arts = store().list_artifacts(scope, a.id);
        if (!got.ok() || got->id != a.id || !arts.ok() || arts->size() != 1) ++failures;
        if (i % 5 == 0 && !store().list_assets(scope, {}, 50, std::nullopt).ok()) ++failures;
      }
    });
  }
  for (int r = 0; r < 4; ++r) {
    threads.emplace_back([&] {
      do {
        auto got = store().get_asset(kHome, hot.id);
        if (!got.ok() || got->meta != hot.meta) ++failures;
        auto key = store().find_api_key_by_hash("nope");
        if (key.ok() || key.error().code != ErrorCode::kNotFound) ++failures;
      } while (!writers_done.load());
    });
  }
  for (int w = 0; w < kWriters; ++w) threads[w].join();
  writers_done = true;
  for (size_t t = kWriters; t < threads.size(); ++t) threads[t].join();
  EXPECT_EQ(failures.load(), 0);

  std::vector<std::string> home_ids = {hot.id}, other_ids;
  for (int w = 0; w < kWriters; ++w) {
    EXPECT_EQ(written[w].size(), static_cast<size_t>(kPerWriter));
    auto& dest = w % 2 == 0 ? home_ids : other_ids;
    dest.insert(dest.end(), written[w].begin(), written[w].end());
  }
  EXPECT_EQ(list_all_ids(store(), kHome, {}, 7), sorted(home_ids));
  EXPECT_EQ(list_all_ids(store(), kOtherTenant, {}, 1000), sorted(other_ids));
  AssetFilter by_writer;
  by_writer.tag = "w3";
  EXPECT_EQ(list_all_ids(store(), kOtherTenant, by_writer), sorted(written[3]));
}

// Writers that race to delete the same asset: exactly one wins; the rest see not_found.
TEST_P(MetadataStoreConformance, ConcurrentDeletesOfOneAssetHaveOneWinner) {
  MediaAsset a = minimal_asset(kHome);
  ASSERT_TRUE(is_ok(store().insert_asset(a)));
  DerivedArtifact art = minimal_artifact(a);
  ASSERT_TRUE(is_ok(store().insert_artifact(art)));
  std::atomic<int> won{0}, not_found{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      auto r = store().delete_asset(kHome, a.id);
      if (r.ok()) {
        ++won;
        if (r->size() != 1) ++other;
      } else if (r.error().code == ErrorCode::kNotFound) {
        ++not_found;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(not_found.load(), 5);
  EXPECT_EQ(other.load(), 0);
}

// ============================================================================================
// Documents
// ============================================================================================

namespace {

constexpr const char* kClips = "video_clips";

DocRecord make_doc(const Scope& scope, std::string collection = kClips, std::string parent_id = "",
                   std::string root_id = "") {
  DocRecord r;
  r.collection = std::move(collection);
  r.id = new_id("doc");
  r.tenant_id = scope.tenant_id;
  r.env = scope.env;
  r.parent_id = std::move(parent_id);
  r.root_id = std::move(root_id);
  r.created_at_ms = kCreatedAtMs;
  r.updated_at_ms = kCreatedAtMs;
  r.doc = {{"name", r.id}};
  return r;
}

void expect_same_doc(const DocRecord& expected, const DocRecord& actual) {
  SCOPED_TRACE("document " + expected.collection + "/" + expected.id);
  EXPECT_EQ(actual.collection, expected.collection);
  EXPECT_EQ(actual.id, expected.id);
  EXPECT_EQ(actual.tenant_id, expected.tenant_id);
  EXPECT_EQ(actual.env, expected.env);
  EXPECT_EQ(actual.parent_id, expected.parent_id);
  EXPECT_EQ(actual.root_id, expected.root_id);
  EXPECT_EQ(actual.created_at_ms, expected.created_at_ms);
  EXPECT_EQ(actual.updated_at_ms, expected.updated_at_ms);
  EXPECT_EQ(actual.doc, expected.doc);
}

// Inserts the records in one transaction.
Status insert_docs(MetadataStore& store, const Scope& scope, const std::vector<DocRecord>& docs) {
  return store.transact_docs(scope, [&](DocTransaction& txn) -> Status {
    for (const DocRecord& r : docs) ATOMCUT_TRY(txn.insert(r));
    return {};
  });
}

// Runs one operation in its own transaction and returns its status.
Status in_txn(MetadataStore& store, const Scope& scope,
              const std::function<Status(DocTransaction&)>& op) {
  return store.transact_docs(scope, op);
}

// Walks every page of list_docs (the query's filters, the given limit) and returns the ids in
// order, checking the page invariants like list_all_ids does.
std::vector<std::string> list_all_doc_ids(MetadataStore& store, const Scope& scope,
                                          std::string_view collection, DocQuery query,
                                          std::vector<size_t>* page_sizes = nullptr) {
  std::vector<std::string> ids;
  query.after_id.reset();
  for (int guard = 0; guard < 10000; ++guard) {
    auto page = store.list_docs(scope, collection, query);
    EXPECT_TRUE(is_ok(page));
    if (!page.ok()) break;
    EXPECT_LE(page->items.size(), static_cast<size_t>(query.limit));
    if (page_sizes != nullptr) page_sizes->push_back(page->items.size());
    for (const DocRecord& r : page->items) {
      EXPECT_EQ(r.collection, collection);
      EXPECT_EQ(r.tenant_id, scope.tenant_id);
      EXPECT_EQ(r.env, scope.env);
      ids.push_back(r.id);
    }
    if (!page->next_after_id) break;
    EXPECT_FALSE(page->items.empty()) << "next_after_id on an empty page";
    if (page->items.empty()) break;
    EXPECT_EQ(*page->next_after_id, page->items.back().id);
    query.after_id = page->next_after_id;
  }
  return ids;
}

std::vector<std::string> doc_ids(const std::vector<DocRecord>& docs) {
  std::vector<std::string> ids;
  for (const DocRecord& r : docs) ids.push_back(r.id);
  return ids;
}

std::vector<std::string> doc_keys(const std::vector<DocRecord>& docs) {
  std::vector<std::string> keys;
  for (const DocRecord& r : docs) keys.push_back(r.collection + "/" + r.id);
  return keys;
}

}  // namespace

TEST_P(MetadataStoreConformance, DocInsertAndGetRoundTripsEveryField) {
  DocRecord r = make_doc(kHome, "video_clips", "trk_parent", "prj_root");
  r.created_at_ms = 5'000'000'000'123;  // more than 32 bits
  r.updated_at_ms = 5'000'000'000'456;
  r.doc = {
      {"name", "Ünïcode clip \"quoted\" \\ and\nnewlined"},
      {"in_ms", 0},
      {"out_ms", int64_t{9'007'199'254'740'993}},  // not representable as a double
      {"speed", 1.25},
      {"negative", -17},
      {"muted", false},
      {"nothing", nullptr},
      {"filters", {{{"kind", "blur"}, {"radius", 2.5}}, {{"kind", "lut"}, {"params", {1, 2}}}}},
      {"empty_object", nlohmann::json::object()},
      {"empty_array", nlohmann::json::array()},
  };
  ASSERT_TRUE(is_ok(insert_docs(store(), kHome, {r})));

  auto got = store().get_doc(kHome, r.collection, r.id);
  ASSERT_TRUE(is_ok(got));
  expect_same_doc(r, *got);

  auto page = store().list_docs(kHome, r.collection, {});
  ASSERT_TRUE(is_ok(page));
  ASSERT_EQ(page->items.size(), 1u);
  expect_same_doc(r, page->items[0]);
  EXPECT_FALSE(page->next_after_id.has_value());

  auto by_root = store().list_docs_by_root(kHome, "prj_root");
  ASSERT_TRUE(is_ok(by_root));
  ASSERT_EQ(by_root->size(), 1u);
  expect_same_doc(r, (*by_root)[0]);

  // And through a transaction's reads.
  ASSERT_TRUE(is_ok(in_txn(store(), kHome, [&](DocTransaction& txn) -> Status {
    ATOMCUT_ASSIGN_OR_RETURN(DocRecord in_txn_got, txn.get(r.collection, r.id));
    expect_same_doc(r, in_txn_got);
    return {};
  })));

  // An empty document and empty parent/root are kept as such.
  DocRecord bare = make_doc(kHome, "video_projects");
  bare.doc = nlohmann::json::object();
  ASSERT_TRUE(is_ok(insert_docs(store(), kHome, {bare})));
  auto got_bare = store().get_doc(kHome, bare.collection, bare.id);
  ASSERT_TRUE(is_ok(got_bare));
  expect_same_doc(bare, *got_bare);
}

TEST_P(MetadataStoreConformance, DocOfAnotherTenantOrEnvLooksMissing) {
  DocRecord r = make_doc(kHome, kClips, "trk_1", "prj_1");
  ASSERT_TRUE(is_ok(insert_docs(store(), kHome, {r})));
  const std::string missing_id = new_id("doc");

  for (const Scope& other : {kOtherTenant, kOtherEnv}) {
    SCOPED_TRACE(other.tenant_id + "/" + other.env);
    EXPECT_TRUE(looks_missing(store().get_doc(other, kClips, r.id), r.id,
                              store().get_doc(other, kClips, missing_id), missing_id));

    DocQuery all;
    auto page = store().list_docs(other, kClips, all);
    ASSERT_TRUE(is_ok(page));
    EXPECT_TRUE(page->items.empty());
    DocQuery by_parent;
    by_parent.parent_id = "trk_1";
    page = store().list_docs(other, kClips, by_parent);
    ASSERT_TRUE(is_ok(page));
    EXPECT_TRUE(page->items.empty());
    auto by_root = store().list_docs_by_root(other, "prj_1");
    ASSERT_TRUE(is_ok(by_root));
    EXPECT_TRUE(by_root->empty());

    // Inside a transaction of the other scope: invisible, and cannot be changed or removed.
    DocRecord moved = r;
    moved.tenant_id = other.tenant_id;
    moved.env = other.env;
    moved.doc = {{"name", "hijacked"}};
    moved.updated_at_ms = kCreatedAtMs + 99;
    DocRecord missing = moved;
    missing.id = missing_id;
    EXPECT_TRUE(is_ok(in_txn(store(), other, [&](DocTransaction& txn) -> Status {
      EXPECT_TRUE(
          looks_missing(txn.get(kClips, r.id), r.id, txn.get(kClips, missing_id), missing_id));
      EXPECT_TRUE(looks_missing(txn.update(moved), r.id, txn.update(missing), missing_id));
      EXPECT_TRUE(looks_missing(txn.remove(kClips, r.id), r.id, txn.remove(kClips, missing_id),
                                missing_id));
      auto list = txn.list(kClips, {});
      EXPECT_TRUE(is_ok(list));
      if (list.ok()) {
        EXPECT_TRUE(list->items.empty());
      }
      auto root = txn.list_by_root("prj_1");
      EXPECT_TRUE(is_ok(root));
      if (root.ok()) {
        EXPECT_TRUE(root->empty());
      }
      return {};
    })));
    // A transaction that returns the not_found from update also leaves it alone.
    EXPECT_TRUE(
        has_code(in_txn(store(), other, [&](DocTransaction& txn) { return txn.update(moved); }),
                 ErrorCode::kNotFound));
    EXPECT_TRUE(has_code(
        in_txn(store(), other, [&](DocTransaction& txn) { return txn.remove(kClips, r.id); }),
        ErrorCode::kNotFound));
  }

  auto got = store().get_doc(kHome, kClips, r.id);
  ASSERT_TRUE(is_ok(got));
  expect_same_doc(r, *got);
}

TEST_P(MetadataStoreConformance, DocListPaginatesWithParentAndRootFilters) {
  // 25 clips under (trk_a, prj_a); noise around them: other parent, other root, other
  // collection, other scopes.
  std::vector<DocRecord> wanted, noise;
  for (int i = 0; i < 25; ++i) wanted.push_back(make_doc(kHome, kClips, "trk_a", "prj_a"));
  for (int i = 0; i < 4; ++i) noise.push_back(make_doc(kHome, kClips, "trk_b", "prj_a"));
  for (int i = 0; i < 3; ++i) noise.push_back(make_doc(kHome, kClips, "trk_a", "prj_b"));
  for (int i = 0; i < 3; ++i) noise.push_back(make_doc(kHome, "video_tracks", "trk_a", "prj_a"));
  ASSERT_TRUE(is_ok(insert_docs(store(), kHome, wanted)));
  ASSERT_TRUE(is_ok(insert_docs(store(), kHome, noise)));
  for (const Scope& other : {kOtherTenant, kOtherEnv}) {
    std::vector<DocRecord> elsewhere;
    for (int i = 0; i < 5; ++i) elsewhere.push_back(make_doc(other, kClips, "trk_a", "prj_a"));
    ASSERT_TRUE(is_ok(insert_docs(store(), other, elsewhere)));
  }
  const std::vector<std::string> expected = sorted(doc_ids(wanted));

  DocQuery both;
  both.parent_id = "trk_a";
  both.root_id = "prj_a";
  both.limit = 10;
  std::vector<size_t> sizes;
  EXPECT_EQ(list_all_doc_ids(store(), kHome, kClips, both, &sizes), expected);
  EXPECT_EQ(sizes, (std::vector<size_t>{10, 10, 5}));

  // parent_id alone: the 25 plus the 3 under prj_b.
  DocQuery by_parent;
  by_parent.parent_id = "trk_a";
  by_parent.limit = 10;
  std::vector<std::string> with_prj_b = doc_ids(wanted);
  for (int i = 4; i < 7; ++i) with_prj_b.push_back(noise[i].id);
  sizes.clear();
  EXPECT_EQ(list_all_doc_ids(store(), kHome, kClips, by_parent, &sizes), sorted(with_prj_b));
  EXPECT_EQ(sizes, (std::vector<size_t>{10, 10, 8}));

  // root_id alone: the 25 plus the 4 under trk_b.
  DocQuery by_root;
  by_root.root_id = "prj_a";
  by_root.limit = 10;
  std::vector<std::string> with_trk_b = doc_ids(wanted);
  for (int i = 0; i < 4; ++i) with_trk_b.push_back(noise[i].id);
  sizes.clear();
  EXPECT_EQ(list_all_doc_ids(store(), kHome, kClips, by_root, &sizes), sorted(with_trk_b));
  EXPECT_EQ(sizes, (std::vector<size_t>{10, 10, 9}));

  // No filter: every clip of the scope, none of the tracks.
  DocQuery none;
  none.limit = 7;
  std::vector<std::string> all_clips = doc_ids(wanted);
  for (int i = 0; i < 7; ++i) all_clips.push_back(noise[i].id);
  EXPECT_EQ(list_all_doc_ids(store(), kHome, kClips, none), sorted(all_clips));

  // A last page that is exactly full has no next_after_id; after_id is exclusive and need not
  // exist.
  DocQuery exact;
  exact.parent_id = "trk_a";
  exact.root_id = "prj_a";
  exact.limit = 25;
  auto page = store().list_docs(kHome, kClips, exact);
  ASSERT_TRUE(is_ok(page));
  EXPECT_EQ(page->items.size(), 25u);
  EXPECT_FALSE(page->next_after_id.has_value());
  exact.limit = 24;
  page = store().list_docs(kHome, kClips, exact);
  ASSERT_TRUE(is_ok(page));
  ASSERT_TRUE(page->next_after_id.has_value());
  EXPECT_EQ(*page->next_after_id, expected[23]);
  exact.limit = 1000;
  exact.after_id = expected[9];
  page = store().list_docs(kHome, kClips, exact);
  ASSERT_TRUE(is_ok(page));
  EXPECT_EQ(doc_ids(page->items), std::vector<std::string>(expected.begin() + 10, expected.end()));
  exact.after_id = expected[9] + "~";  // sorts between expected[9] and expected[10]
  page = store().list_docs(kHome, kClips, exact);
  ASSERT_TRUE(is_ok(page));
  EXPECT_EQ(doc_ids(page->items), std::vector<std::string>(expected.begin() + 10, expected.end()));

  // The same walk inside a transaction.
  EXPECT_TRUE(is_ok(in_txn(store(), kHome, [&](DocTransaction& txn) -> Status {
    DocQuery q = both;
    std::vector<std::string> ids;
    std::vector<size_t> txn_sizes;
    while (true) {
      ATOMCUT_ASSIGN_OR_RETURN(DocPage p, txn.list(kClips, q));
      txn_sizes.push_back(p.items.size());
      for (const DocRecord& d : p.items) ids.push_back(d.id);
      if (!p.next_after_id) break;
      q.after_id = p.next_after_id;
    }
    EXPECT_EQ(ids, expected);
    EXPECT_EQ(txn_sizes, (std::vector<size_t>{10, 10, 5}));
    return {};
  })));
}

TEST_P(MetadataStoreConformance, DocListByRootSpansCollectionsInCollectionThenIdOrder) {
  std::vector<DocRecord> project, other_root;
  DocRecord prj = make_doc(kHome, "video_projects");
  prj.root_id = prj.id;  // a top-level record may name itself as its root
  project.push_back(prj);
  for (const char* collection : {"video_tracks", "video_clips", "video_transitions"}) {
    for (int i = 0; i < 3; ++i) project.push_back(make_doc(kHome, collection, "p", prj.id));
    other_root.push_back(make_doc(kHome, collection, "p", "prj_other"));
  }
  // Inserted in a shuffled order, across two transactions.
  std::vector<DocRecord> first(project.rbegin(), project.rbegin() + 5);
  std::vector<DocRecord> second(project.rbegin() + 5, project.rend());
  ASSERT_TRUE(is_ok(insert_docs(store(), kHome, first)));
  ASSERT_TRUE(is_ok(insert_docs(store(), kHome, second)));
  ASSERT_TRUE(is_ok(insert_docs(store(), kHome, other_root)));
  DocRecord elsewhere = make_doc(kOtherTenant, "video_clips", "p", prj.id);
  ASSERT_TRUE(is_ok(insert_docs(store(), kOtherTenant, {elsewhere})));

  std::vector<DocRecord> expected = project;
  std::sort(expected.begin(), expected.end(), [](const DocRecord& a, const DocRecord& b) {
    return std::tie(a.collection, a.id) < std::tie(b.collection, b.id);
  });
  auto got = store().list_docs_by_root(kHome, prj.id);
  ASSERT_TRUE(is_ok(got));
  EXPECT_EQ(doc_keys(*got), doc_keys(expected));
  for (size_t i = 0; i < std::min(got->size(), expected.size()); ++i) {
    expect_same_doc(expected[i], (*got)[i]);
  }
  EXPECT_TRUE(is_ok(in_txn(store(), kHome, [&](DocTransaction& txn) -> Status {
    ATOMCUT_ASSIGN_OR_RETURN(std::vector<DocRecord> in_txn_got, txn.list_by_root(prj.id));
    EXPECT_EQ(doc_keys(in_txn_got), doc_keys(expected));
    return {};
  })));

  auto none = store().list_docs_by_root(kHome, "prj_nothing");
  ASSERT_TRUE(is_ok(none));
  EXPECT_TRUE(none->empty());
  auto theirs = store().list_docs_by_root(kOtherTenant, prj.id);
  ASSERT_TRUE(is_ok(theirs));
  EXPECT_EQ(doc_keys(*theirs), doc_keys({elsewhere}));
}

TEST_P(MetadataStoreConformance, DocTransactionThatReturnsAnErrorLeavesNothing) {
  DocRecord kept = make_doc(kHome);
  ASSERT_TRUE(is_ok(insert_docs(store(), kHome, {kept})));
  std::vector<DocRecord> docs = {make_doc(kHome), make_doc(kHome), make_doc(kHome)};
  Status s = store().transact_docs(kHome, [&](DocTransaction& txn) -> Status {
    for (const DocRecord& r : docs) EXPECT_TRUE(is_ok(txn.insert(r)));
    DocRecord changed = kept;
    changed.doc = {{"name", "changed"}};
    EXPECT_TRUE(is_ok(txn.update(changed)));
    return Error::failed_precondition("the body changed its mind", {{"why", "test"}});
  });
  // The body's own error comes back unchanged.
  ASSERT_TRUE(has_code(s, ErrorCode::kFailedPrecondition));
  EXPECT_EQ(s.error().message, "the body changed its mind");
  EXPECT_EQ(s.error().details, nlohmann::json({{"why", "test"}}));
  for (const DocRecord& r : docs) {
    EXPECT_TRUE(has_code(store().get_doc(kHome, r.collection, r.id), ErrorCode::kNotFound));
  }
  auto page = store().list_docs(kHome, kClips, {});
  ASSERT_TRUE(is_ok(page));
  EXPECT_EQ(doc_ids(page->items), doc_ids({kept}));
  auto got = store().get_doc(kHome, kClips, kept.id);
  ASSERT_TRUE(is_ok(got));
  expect_same_doc(kept, *got);

  // The same records insert fine afterwards.
  EXPECT_TRUE(is_ok(insert_docs(store(), kHome, docs)));
}

TEST_P(MetadataStoreConformance, DocTransactionThatThrowsLeavesNothingAndStoreKeepsWorking) {
  std::vector<DocRecord> docs = {make_doc(kHome), make_doc(kHome), make_doc(kHome)};
  Status s = store().transact_docs(kHome, [&](DocTransaction& txn) -> Status {
    for (const DocRecord& r : docs) EXPECT_TRUE(is_ok(txn.insert(r)));
    throw std::runtime_error("boom in the body");
  });
  ASSERT_TRUE(has_code(s, ErrorCode::kInternal));
  EXPECT_NE(s.error().message.find("boom in the body"), std::string::npos) << s.error().message;
  s = store().transact_docs(kHome, [&](DocTransaction& txn) -> Status {
    EXPECT_TRUE(is_ok(txn.insert(make_doc(kHome))));
    throw 42;  // not a std::exception
  });
  EXPECT_TRUE(has_code(s, ErrorCode::kInternal));
  auto page = store().list_docs(kHome, kClips, {});
  ASSERT_TRUE(is_ok(page));
  EXPECT_TRUE(page->items.empty());

  // Every kind of write still works, and the rolled-back ids are free.
  EXPECT_TRUE(is_ok(insert_docs(store(), kHome, docs)));
  MediaAsset a = minimal_asset(kHome);
  EXPECT_TRUE(is_ok(store().insert_asset(a)));
  EXPECT_TRUE(is_ok(store().get_asset(kHome, a.id)));
  page = store().list_docs(kHome, kClips, {});
  ASSERT_TRUE(is_ok(page));
  EXPECT_EQ(page->items.size(), 3u);
}

TEST_P(MetadataStoreConformance, DocTransactionSeesItsOwnWritesAndOthersDoNotUntilCommit) {
  DocRecord r = make_doc(kHome, kClips, "trk_1", "prj_1");
  ASSERT_TRUE(is_ok(store().transact_docs(kHome, [&](DocTransaction& txn) -> Status {
    EXPECT_TRUE(has_code(txn.get(kClips, r.id), ErrorCode::kNotFound));
    ATOMCUT_TRY(txn.insert(r));
    ATOMCUT_ASSIGN_OR_RETURN(DocRecord got, txn.get(kClips, r.id));
    expect_same_doc(r, got);
    DocQuery q;
    q.parent_id = "trk_1";
    ATOMCUT_ASSIGN_OR_RETURN(DocPage page, txn.list(kClips, q));
    EXPECT_EQ(doc_ids(page.items), doc_ids({r}));
    ATOMCUT_ASSIGN_OR_RETURN(std::vector<DocRecord> by_root, txn.list_by_root("prj_1"));
    EXPECT_EQ(doc_ids(by_root), doc_ids({r}));
    // Not visible outside the transaction before it commits.
    EXPECT_TRUE(has_code(store().get_doc(kHome, kClips, r.id), ErrorCode::kNotFound));

    DocRecord changed = r;
    changed.doc = {{"name", "second"}};
    changed.updated_at_ms = r.updated_at_ms + 5;
    ATOMCUT_TRY(txn.update(changed));
    ATOMCUT_ASSIGN_OR_RETURN(got, txn.get(kClips, r.id));
    expect_same_doc(changed, got);
    r = changed;
    return {};
  })));
  auto got = store().get_doc(kHome, kClips, r.id);
  ASSERT_TRUE(is_ok(got));
  expect_same_doc(r, *got);

  ASSERT_TRUE(is_ok(store().transact_docs(kHome, [&](DocTransaction& txn) -> Status {
    ATOMCUT_TRY(txn.remove(kClips, r.id));
    EXPECT_TRUE(has_code(txn.get(kClips, r.id), ErrorCode::kNotFound));
    EXPECT_TRUE(has_code(txn.remove(kClips, r.id), ErrorCode::kNotFound));
    ATOMCUT_ASSIGN_OR_RETURN(std::vector<DocRecord> by_root, txn.list_by_root("prj_1"));
    EXPECT_TRUE(by_root.empty());
    return {};
  })));
  EXPECT_TRUE(has_code(store().get_doc(kHome, kClips, r.id), ErrorCode::kNotFound));
}

TEST_P(MetadataStoreConformance, DocUpdateKeepsCreatedAtAndReplacesTheRest) {
  DocRecord r = make_doc(kHome, kClips, "trk_old", "prj_old");
  r.created_at_ms = kCreatedAtMs;
  r.updated_at_ms = kCreatedAtMs;
  r.doc = {{"name", "old"}, {"gone", true}};
  ASSERT_TRUE(is_ok(insert_docs(store(), kHome, {r})));

  DocRecord changed = r;
  changed.created_at_ms = kCreatedAtMs + 1'000'000;  // ignored: created_at_ms is kept
  changed.updated_at_ms = kCreatedAtMs + 2'000;
  changed.parent_id = "trk_new";
  changed.root_id = "prj_new";
  changed.doc = {{"name", "new"}, {"added", {1, 2, 3}}};
  ASSERT_TRUE(
      is_ok(in_txn(store(), kHome, [&](DocTransaction& txn) { return txn.update(changed); })));

  DocRecord expected = changed;
  expected.created_at_ms = r.created_at_ms;
  auto got = store().get_doc(kHome, kClips, r.id);
  ASSERT_TRUE(is_ok(got));
  expect_same_doc(expected, *got);

  // The indexed columns moved with it.
  DocQuery old_parent, new_parent;
  old_parent.parent_id = "trk_old";
  new_parent.parent_id = "trk_new";
  EXPECT_TRUE(list_all_doc_ids(store(), kHome, kClips, old_parent).empty());
  EXPECT_EQ(list_all_doc_ids(store(), kHome, kClips, new_parent), doc_ids({r}));
  auto old_root = store().list_docs_by_root(kHome, "prj_old");
  ASSERT_TRUE(is_ok(old_root));
  EXPECT_TRUE(old_root->empty());
  auto new_root = store().list_docs_by_root(kHome, "prj_new");
  ASSERT_TRUE(is_ok(new_root));
  EXPECT_EQ(doc_ids(*new_root), doc_ids({r}));

  // Updating a record that does not exist is not_found (and creates nothing).
  DocRecord missing = make_doc(kHome);
  EXPECT_TRUE(
      has_code(in_txn(store(), kHome, [&](DocTransaction& txn) { return txn.update(missing); }),
               ErrorCode::kNotFound));
  EXPECT_TRUE(has_code(store().get_doc(kHome, kClips, missing.id), ErrorCode::kNotFound));
}

TEST_P(MetadataStoreConformance, DocInsertWithTakenIdIsAlreadyExistsInAnyScope) {
  DocRecord r = make_doc(kHome);
  ASSERT_TRUE(is_ok(insert_docs(store(), kHome, {r})));
  for (const Scope& scope : {kHome, kOtherTenant, kOtherEnv}) {
    SCOPED_TRACE(scope.tenant_id + "/" + scope.env);
    DocRecord dup = r;
    dup.tenant_id = scope.tenant_id;
    dup.env = scope.env;
    dup.doc = {{"name", "duplicate"}};
    EXPECT_TRUE(has_code(insert_docs(store(), scope, {dup}), ErrorCode::kAlreadyExists));
    // Within a body the error can be handled, and the rest of the transaction still commits.
    DocRecord fresh = make_doc(scope);
    EXPECT_TRUE(is_ok(store().transact_docs(scope, [&](DocTransaction& txn) -> Status {
      EXPECT_TRUE(has_code(txn.insert(dup), ErrorCode::kAlreadyExists));
      return txn.insert(fresh);
    })));
    EXPECT_TRUE(is_ok(store().get_doc(scope, kClips, fresh.id)));
    const Scope& neighbour = scope == kOtherTenant ? kOtherEnv : kOtherTenant;
    EXPECT_TRUE(has_code(store().get_doc(neighbour, kClips, fresh.id), ErrorCode::kNotFound));
  }
  // The original is untouched.
  auto got = store().get_doc(kHome, kClips, r.id);
  ASSERT_TRUE(is_ok(got));
  expect_same_doc(r, *got);

  // The same id in another collection is a different record.
  DocRecord other_collection = r;
  other_collection.collection = "video_tracks";
  EXPECT_TRUE(is_ok(insert_docs(store(), kHome, {other_collection})));
  auto both = store().get_doc(kHome, "video_tracks", r.id);
  ASSERT_TRUE(is_ok(both));
  expect_same_doc(other_collection, *both);
}

TEST_P(MetadataStoreConformance, DocMalformedInputIsInvalidArgument) {
  const std::string too_long(65, 'a');
  for (const std::string& bad :
       {std::string(), std::string("Video_clips"), std::string("video-clips"),
        std::string("video clips"), std::string("clips/1"), std::string("v\xc3\xa9"), too_long}) {
    SCOPED_TRACE("collection '" + bad + "'");
    DocRecord r = make_doc(kHome, bad);
    EXPECT_TRUE(has_code(insert_docs(store(), kHome, {r}), ErrorCode::kInvalidArgument));
    EXPECT_TRUE(has_code(store().get_doc(kHome, bad, r.id), ErrorCode::kInvalidArgument));
    EXPECT_TRUE(has_code(store().list_docs(kHome, bad, {}), ErrorCode::kInvalidArgument));
    EXPECT_TRUE(is_ok(in_txn(store(), kHome, [&](DocTransaction& txn) -> Status {
      EXPECT_TRUE(has_code(txn.get(bad, r.id), ErrorCode::kInvalidArgument));
      EXPECT_TRUE(has_code(txn.update(r), ErrorCode::kInvalidArgument));
      EXPECT_TRUE(has_code(txn.remove(bad, r.id), ErrorCode::kInvalidArgument));
      EXPECT_TRUE(has_code(txn.list(bad, {}), ErrorCode::kInvalidArgument));
      return {};
    })));
  }
  DocRecord ok_name = make_doc(kHome, "a0_" + std::string(61, 'z'));  // 64 characters
  EXPECT_TRUE(is_ok(insert_docs(store(), kHome, {ok_name})));
  EXPECT_TRUE(is_ok(store().get_doc(kHome, ok_name.collection, ok_name.id)));

  // An empty id.
  DocRecord no_id = make_doc(kHome);
  no_id.id.clear();
  EXPECT_TRUE(has_code(insert_docs(store(), kHome, {no_id}), ErrorCode::kInvalidArgument));

  // A record whose tenant or env differs from the transaction's scope.
  for (const Scope& other : {kOtherTenant, kOtherEnv}) {
    DocRecord r = make_doc(other);
    EXPECT_TRUE(has_code(insert_docs(store(), kHome, {r}), ErrorCode::kInvalidArgument));
    EXPECT_TRUE(has_code(store().get_doc(other, kClips, r.id), ErrorCode::kNotFound));
  }
  DocRecord home = make_doc(kHome);
  ASSERT_TRUE(is_ok(insert_docs(store(), kHome, {home})));
  DocRecord foreign_update = home;
  foreign_update.tenant_id = kOtherTenant.tenant_id;
  EXPECT_TRUE(has_code(
      in_txn(store(), kHome, [&](DocTransaction& txn) { return txn.update(foreign_update); }),
      ErrorCode::kInvalidArgument));

  // doc must be a JSON object, and its text valid UTF-8.
  for (const nlohmann::json& not_object : {nlohmann::json::array({1, 2}), nlohmann::json("text"),
                                           nlohmann::json(nullptr), nlohmann::json(3)}) {
    SCOPED_TRACE(not_object.dump());
    DocRecord r = make_doc(kHome);
    r.doc = not_object;
    EXPECT_TRUE(has_code(insert_docs(store(), kHome, {r}), ErrorCode::kInvalidArgument));
    DocRecord u = home;
    u.doc = not_object;
    EXPECT_TRUE(has_code(in_txn(store(), kHome, [&](DocTransaction& txn) { return txn.update(u); }),
                         ErrorCode::kInvalidArgument));
  }
  DocRecord bad_utf8 = make_doc(kHome);
  bad_utf8.doc = {{"name", std::string("\xff\xfe")}};
  EXPECT_TRUE(has_code(insert_docs(store(), kHome, {bad_utf8}), ErrorCode::kInvalidArgument));

  auto got = store().get_doc(kHome, kClips, home.id);
  ASSERT_TRUE(is_ok(got));
  expect_same_doc(home, *got);
}

TEST_P(MetadataStoreConformance, DocListRejectsLimitOutsideOneToThousand) {
  ASSERT_TRUE(is_ok(insert_docs(store(), kHome, {make_doc(kHome), make_doc(kHome)})));
  for (int limit : {0, -1, 1001, INT_MIN, INT_MAX}) {
    SCOPED_TRACE(limit);
    DocQuery q;
    q.limit = limit;
    EXPECT_TRUE(has_code(store().list_docs(kHome, kClips, q), ErrorCode::kInvalidArgument));
    EXPECT_TRUE(is_ok(in_txn(store(), kHome, [&](DocTransaction& txn) -> Status {
      EXPECT_TRUE(has_code(txn.list(kClips, q), ErrorCode::kInvalidArgument));
      return {};
    })));
  }
  for (int limit : {1, 1000}) {
    DocQuery q;
    q.limit = limit;
    auto page = store().list_docs(kHome, kClips, q);
    ASSERT_TRUE(is_ok(page));
    EXPECT_EQ(page->items.size(), limit == 1 ? 1u : 2u);
    EXPECT_EQ(page->next_after_id.has_value(), limit == 1);
  }
}

TEST_P(MetadataStoreConformance, NestedTransactDocsIsFailedPrecondition) {
  DocRecord outer = make_doc(kHome);
  DocRecord inner = make_doc(kHome);
  bool inner_ran = false;
  Status s = store().transact_docs(kHome, [&](DocTransaction& txn) -> Status {
    ATOMCUT_TRY(txn.insert(outer));
    for (const Scope& scope : {kHome, kOtherTenant}) {
      Status nested = store().transact_docs(scope, [&](DocTransaction& t) -> Status {
        inner_ran = true;
        return t.insert(inner);
      });
      EXPECT_TRUE(has_code(nested, ErrorCode::kFailedPrecondition));
    }
    return {};  // the outer transaction is unaffected
  });
  EXPECT_TRUE(is_ok(s));
  EXPECT_FALSE(inner_ran);
  EXPECT_TRUE(is_ok(store().get_doc(kHome, kClips, outer.id)));
  EXPECT_TRUE(has_code(store().get_doc(kHome, kClips, inner.id), ErrorCode::kNotFound));
  // And transactions work normally afterwards.
  EXPECT_TRUE(is_ok(insert_docs(store(), kHome, {inner})));
}

// 8 threads each run 50 rounds of two read-modify-write transactions: one on a counter of their
// own scope, one on a counter shared by all in one scope. Every increment lands (no lost
// updates); a reader sees the shared counter only ever grow.
TEST_P(MetadataStoreConformance, ConcurrentDocTransactionsLoseNoUpdates) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 50;
  const Scope shared_scope{"t_shared", "prod"};
  DocRecord shared = make_doc(shared_scope, "counters");
  shared.doc = {{"n", 0}};
  ASSERT_TRUE(is_ok(insert_docs(store(), shared_scope, {shared})));
  std::vector<Scope> own_scopes;
  std::vector<DocRecord> own;
  for (int t = 0; t < kThreads; ++t) {
    own_scopes.push_back(Scope{"t_worker_" + std::to_string(t), t % 2 == 0 ? "prod" : "dev"});
    DocRecord c = make_doc(own_scopes.back(), "counters");
    c.doc = {{"n", 0}};
    ASSERT_TRUE(is_ok(insert_docs(store(), own_scopes.back(), {c})));
    own.push_back(c);
  }

  auto increment = [&](const Scope& scope, const std::string& id) {
    return store().transact_docs(scope, [&](DocTransaction& txn) -> Status {
      ATOMCUT_ASSIGN_OR_RETURN(DocRecord r, txn.get("counters", id));
      r.doc["n"] = r.doc["n"].get<int64_t>() + 1;
      r.updated_at_ms += 1;
      return txn.update(r);
    });
  };

  std::atomic<int> failures{0};
  std::atomic<bool> done{false};
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        for (Status s : {increment(own_scopes[t], own[t].id), increment(shared_scope, shared.id)}) {
          if (!s.ok()) {
            ++failures;
            errors[t] = s.error().message;
          }
        }
      }
    });
  }
  std::thread reader([&] {
    int64_t last = 0;
    do {
      auto got = store().get_doc(shared_scope, "counters", shared.id);
      if (!got.ok()) {
        ++failures;
        continue;
      }
      int64_t n = got->doc.value("n", int64_t{-1});
      if (n < last) ++failures;
      last = n;
    } while (!done.load());
  });
  for (auto& t : threads) t.join();
  done = true;
  reader.join();
  EXPECT_EQ(failures.load(), 0);
  for (const std::string& e : errors) EXPECT_EQ(e, "");

  auto got = store().get_doc(shared_scope, "counters", shared.id);
  ASSERT_TRUE(is_ok(got));
  EXPECT_EQ(got->doc["n"], kThreads * kRounds);
  EXPECT_EQ(got->updated_at_ms, shared.updated_at_ms + kThreads * kRounds);
  EXPECT_EQ(got->created_at_ms, shared.created_at_ms);
  for (int t = 0; t < kThreads; ++t) {
    auto mine = store().get_doc(own_scopes[t], "counters", own[t].id);
    ASSERT_TRUE(is_ok(mine));
    EXPECT_EQ(mine->doc["n"], kRounds);
  }
}

}  // namespace atomcut::conformance

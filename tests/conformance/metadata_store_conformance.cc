#include "conformance/metadata_store_conformance.h"

#include "core/ids.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <climits>
#include <set>
#include <thread>
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

}  // namespace atomcut::conformance

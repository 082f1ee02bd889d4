// Media Atom v2 over real HTTP against the real binary: uploads and probes checked against
// ffprobe, registration, listing, artifacts and their rules, content with Range, deletion, tenant
// isolation and bad input.
#include "integration/api_test_util.h"

#include "support/subprocess.h"

#include <cmath>
#include <filesystem>
#include <set>

namespace atomcut::testing {
namespace {

namespace fs = std::filesystem;

class MediaApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    import_root_ = new TempDir();
    fs::create_directories(import_root_->path() + "/media");
    fs::copy_file(fixture("video_h264_aac.mp4"), import_root_->path() + "/media/clip.mp4");
    std::ofstream(import_root_->path() + "/media/notes.txt") << "not media\n";
    std::ofstream(import_root_->path() + "/media/empty.mp4");
    fs::create_symlink("/etc/passwd", import_root_->path() + "/media/escape.mp4");
    server_ = new TestServer(ServerOptions{{"--import-root", import_root_->path() + "/media"}, {}});
    key_a_ = server_->create_key("t_a", "dev");
    key_b_ = server_->create_key("t_b", "dev");
    key_a_prod_ = server_->create_key("t_a", "prod");
  }
  static void TearDownTestSuite() {
    delete server_;
    delete import_root_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(server_->started());
    c_ = server_->client();
  }

  httplib::Headers a() const { return auth_headers(key_a_, "t_a", "dev"); }
  httplib::Headers b() const { return auth_headers(key_b_, "t_b", "dev"); }

  nlohmann::json upload_ok(const std::string& path, const std::string& filename,
                           std::vector<std::pair<std::string, std::string>> fields = {}) {
    auto r = upload(*c_, a(), path, filename, std::move(fields));
    EXPECT_TRUE(r) << "no response";
    if (!r) return {};
    EXPECT_EQ(r->status, 201) << r->body;
    return body_json(r);
  }

  std::string blobs_dir() const { return server_->data_dir() + "/data/blobs"; }

  static TestServer* server_;
  static TempDir* import_root_;
  static std::string key_a_, key_b_, key_a_prod_;
  std::unique_ptr<httplib::Client> c_;
};

TestServer* MediaApiTest::server_ = nullptr;
TempDir* MediaApiTest::import_root_ = nullptr;
std::string MediaApiTest::key_a_, MediaApiTest::key_b_, MediaApiTest::key_a_prod_;

// Compares the asset's probed fields with what ffprobe says about the same file.
void expect_matches_ffprobe(const nlohmann::json& asset, const std::string& path) {
  auto probe = ffprobe_json(path);
  ASSERT_TRUE(probe.contains("streams")) << path;
  const auto& streams = probe["streams"];
  EXPECT_EQ(asset["size_bytes"].get<int64_t>(), static_cast<int64_t>(fs::file_size(path)));
  ASSERT_EQ(asset["codec_info"].size(), streams.size()) << asset.dump();
  for (size_t i = 0; i < streams.size(); ++i) {
    EXPECT_EQ(asset["codec_info"][i]["codec_name"], streams[i]["codec_name"]) << path << " #" << i;
    EXPECT_EQ(asset["codec_info"][i]["codec_type"], streams[i]["codec_type"]) << path << " #" << i;
  }
  const nlohmann::json* video = nullptr;
  const nlohmann::json* audio = nullptr;
  for (const auto& s : streams) {
    if (s["codec_type"] == "video" && !video) video = &s;
    if (s["codec_type"] == "audio" && !audio) audio = &s;
  }
  if (probe["format"].contains("duration")) {
    double d = std::stod(probe["format"]["duration"].get<std::string>()) * 1000.0;
    EXPECT_NEAR(asset["duration_ms"].get<double>(), d, 1.0) << path;
  }
  if (video) {
    EXPECT_EQ(asset["width"], (*video)["width"]) << path;
    EXPECT_EQ(asset["height"], (*video)["height"]) << path;
    // Constant rate: the frame spacing (r_frame_rate); variable: the average.
    const char* rate = asset["variable_frame_rate"].get<bool>() ? "avg_frame_rate" : "r_frame_rate";
    EXPECT_EQ(asset["fps_rational"].get<std::string>(), (*video)[rate].get<std::string>()) << path;
  }
  if (audio) {
    EXPECT_EQ(asset["audio_channels"], (*audio)["channels"]) << path;
    EXPECT_EQ(std::to_string(asset["sample_rate"].get<int>()),
              (*audio)["sample_rate"].get<std::string>())
        << path;
  } else {
    EXPECT_TRUE(asset["audio_channels"].is_null()) << path;
  }
}

std::string sha256_of(const std::string& path) {
  auto r = run_command({"sha256sum", path});
  return r.out.substr(0, 64);
}

TEST_F(MediaApiTest, UploadVideoProbesLikeFfprobe) {
  const std::string path = fixture("video_h264_aac.mp4");
  auto j = upload_ok(path, "My Clip.MP4",
                     {{"kind", "video"}, {"source_ref", "cam-1"}, {"tags", "a, b ,a,,c"}});
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["id"], j["asset_id"]);
  EXPECT_EQ(j["id"].get<std::string>().rfind("ast_", 0), 0u);
  EXPECT_EQ(j["kind"], "video");
  EXPECT_EQ(j["tenant_id"], "t_a");
  EXPECT_EQ(j["env"], "dev");
  EXPECT_EQ(j["source_ref"], "cam-1");
  EXPECT_EQ(j["tags"], nlohmann::json({"a", "b", "c"}));
  EXPECT_EQ(j["fps_rational"], "25/1");
  EXPECT_DOUBLE_EQ(j["fps"].get<double>(), 25.0);
  EXPECT_EQ(j["variable_frame_rate"], false);
  EXPECT_EQ(j["meta"]["sha256"], sha256_of(path));
  EXPECT_FALSE(j["meta"].contains("kind_hint_mismatch"));
  expect_matches_ffprobe(j, path);
  // The bytes live under the tenant's prefix.
  const std::string uri = j["source_uri"];
  EXPECT_NE(uri.find("/tenants/t_a/dev/media_v2/" + j["id"].get<std::string>() + "/source.mp4"),
            std::string::npos)
      << uri;
}

TEST_F(MediaApiTest, UploadNtscAndRotatedAndAudioAndImages) {
  auto v = upload_ok(fixture("video_2997.mp4"), "v.mp4");
  EXPECT_EQ(v["fps_rational"], "30000/1001");
  expect_matches_ffprobe(v, fixture("video_2997.mp4"));
  auto rot = upload_ok(fixture("video_rotated_90.mp4"), "r.mp4");
  EXPECT_NE(rot["rotation"].get<int>(), 0);
  EXPECT_EQ(rot["rotation"].get<int>() % 90, 0);
  auto wav = upload_ok(fixture("audio_sine.wav"), "s.wav");
  EXPECT_EQ(wav["kind"], "audio");
  EXPECT_EQ(wav["sample_rate"], 44100);
  EXPECT_EQ(wav["audio_channels"], 1);
  EXPECT_TRUE(wav["width"].is_null());
  expect_matches_ffprobe(wav, fixture("audio_sine.wav"));
  auto mp3 = upload_ok(fixture("audio_stereo.mp3"), "s.mp3");
  EXPECT_EQ(mp3["kind"], "audio");
  EXPECT_EQ(mp3["audio_channels"], 2);
  auto png = upload_ok(fixture("image.png"), "i.png");
  EXPECT_EQ(png["kind"], "image");
  EXPECT_EQ(png["width"], 64);
  EXPECT_EQ(png["height"], 48);
  auto jpg = upload_ok(fixture("image.jpg"), "i.jpg");
  EXPECT_EQ(jpg["kind"], "image");
  auto vfr = upload_ok(fixture("video_vfr.mkv"), "vfr.mkv");
  EXPECT_EQ(vfr["kind"], "video");
  EXPECT_EQ(vfr["variable_frame_rate"], true);
}

TEST_F(MediaApiTest, UploadRealMediaFromDebianPackages) {
  if (auto screen = real_media("screen_720p30_mp4")) {
    // Every frame 512/15360 s apart: 30 fps, although avg_frame_rate says 2500/83.
    auto j = upload_ok(*screen, "screen.mp4");
    EXPECT_EQ(j["fps_rational"], "30/1");
    EXPECT_EQ(j["variable_frame_rate"], false);
  }
  int tried = 0;
  for (const char* name : {"phone_1080p_2997", "screen_720p30_mp4", "screen_avi", "screen_mpeg"}) {
    auto path = real_media(name);
    if (!path) continue;
    ++tried;
    auto j = upload_ok(*path, fs::path(*path).filename().string());
    EXPECT_EQ(j["kind"], "video") << name;
    expect_matches_ffprobe(j, *path);
  }
  if (tried == 0) GTEST_SKIP() << "forensics-samples-files is not installed";
  // The phone clip's first frame lasts 16610/90000 s and the others 2999/90000 s: really
  // variable, and its average rate is ffprobe's avg_frame_rate (checked above).
  if (auto phone = real_media("phone_1080p_2997")) {
    auto j = upload_ok(*phone, "phone.mp4");
    EXPECT_EQ(j["variable_frame_rate"], true);
    EXPECT_EQ(j["width"], 1920);
    EXPECT_EQ(j["height"], 1080);
  }
}

TEST_F(MediaApiTest, KindHintContradictingProbeIsReportedInMeta) {
  auto j = upload_ok(fixture("audio_sine.wav"), "x.wav", {{"kind", "video"}});
  EXPECT_EQ(j["kind"], "audio");
  EXPECT_EQ(j["meta"]["kind_hint"], "video");
  EXPECT_TRUE(j["meta"].contains("kind_hint_mismatch"));
}

TEST_F(MediaApiTest, NotMediaBecomesOtherOrFailsWithMediaHint) {
  auto other = upload_ok(fixture("not_media.txt"), "notes.txt");
  EXPECT_EQ(other["kind"], "other");
  EXPECT_TRUE(other["meta"].contains("probe_error"));
  EXPECT_EQ(other["meta"]["probe_error"]["reason"], "not_media");

  const auto before = files_under(blobs_dir()).size();
  auto r = upload(*c_, a(), fixture("not_media.txt"), "notes.txt", {{"kind", "video"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_EQ(error_code_of(r), "invalid_argument");
  EXPECT_NE(body_json(r)["error"]["message"].get<std::string>().find("not"), std::string::npos);
  EXPECT_EQ(files_under(blobs_dir()).size(), before) << "a refused upload left bytes behind";
}

TEST_F(MediaApiTest, CorruptAndTruncatedMediaNeverCrash) {
  for (const char* name : {"truncated.mp4", "corrupt_header.mp4", "random.bin"}) {
    auto r = upload(*c_, a(), fixture(name), name, {{"kind", "video"}});
    ASSERT_TRUE(r) << name;
    EXPECT_EQ(r->status, 400) << name << ": " << r->body;
    EXPECT_EQ(error_code_of(r), "invalid_argument") << name;
    auto plain = upload(*c_, a(), fixture(name), name);
    ASSERT_TRUE(plain) << name;
    EXPECT_EQ(plain->status, 201) << name << ": " << plain->body;
    EXPECT_EQ(body_json(plain)["kind"], "other") << name;
  }
  auto health = c_->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST_F(MediaApiTest, ZeroByteUploadIsRefused) {
  auto r = upload(*c_, a(), fixture("empty.bin"), "empty.mp4");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_EQ(body_json(r)["error"]["details"]["reason"], "empty");
}

TEST_F(MediaApiTest, MultipartWithoutFilePartIsRefused) {
  httplib::MultipartFormDataItems items = {{"kind", "video", "", ""}};
  auto r = c_->Post("/media-v2/assets", a(), items);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(body_json(r)["error"]["details"]["field"], "file");
}

TEST_F(MediaApiTest, RegisterFileUriInsideImportRoot) {
  const std::string root = import_root_->path() + "/media";
  nlohmann::json req = {{"tenant_id", "t_a"},   {"env", "dev"},
                        {"user_id", "u_1"},     {"source_uri", "file://" + root + "/clip.mp4"},
                        {"tags", {"imported"}}, {"source_ref", "ref-import"}};
  auto r =
      c_->Post("/media-v2/assets", auth_headers(key_a_, "", ""), req.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  auto j = body_json(r);
  EXPECT_EQ(j["kind"], "video");
  EXPECT_EQ(j["user_id"], "u_1");
  EXPECT_EQ(j["tags"], nlohmann::json({"imported"}));
  EXPECT_EQ(j["meta"]["ingest"], "import_copy");
  EXPECT_EQ(j["meta"]["sha256"], sha256_of(root + "/clip.mp4"));
  expect_matches_ffprobe(j, root + "/clip.mp4");
  // Copied into the blob store: the content endpoint serves the same bytes.
  auto content = c_->Get("/media-v2/assets/" + j["id"].get<std::string>() + "/content", a());
  ASSERT_TRUE(content);
  EXPECT_EQ(content->status, 200);
  EXPECT_EQ(content->body, slurp(root + "/clip.mp4"));
}

TEST_F(MediaApiTest, RegisterFileUriOutsideImportRootsIsRefused) {
  const std::string root = import_root_->path() + "/media";
  struct Case {
    std::string uri;
    int status;
  };
  std::vector<Case> cases = {
      {"file:///etc/passwd", 403},
      {"file://" + root + "/../../../etc/passwd", 400},
      {"file://" + root + "/%2e%2e/%2e%2e/etc/passwd", 400},
      {"file://" + root + "/escape.mp4", 403},  // symlink out of the root
      {"file://" + root + "/missing.mp4", 404},
      {"file://" + root, 403},  // the root itself is not a file inside it
      {"http://example.invalid/x.mp4", 400},
      {"relative/path.mp4", 400},
  };
  for (const auto& c : cases) {
    nlohmann::json req = {{"source_uri", c.uri}};
    auto r = c_->Post("/media-v2/assets", a(), req.dump(), "application/json");
    ASSERT_TRUE(r) << c.uri;
    EXPECT_EQ(r->status, c.status) << c.uri << ": " << r->body;
    error_code_of(r);
  }
  nlohmann::json empty_file = {{"source_uri", "file://" + root + "/empty.mp4"}};
  auto r = c_->Post("/media-v2/assets", a(), empty_file.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  nlohmann::json notes = {{"source_uri", "file://" + root + "/notes.txt"}, {"kind", "audio"}};
  r = c_->Post("/media-v2/assets", a(), notes.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
}

TEST_F(MediaApiTest, ListFiltersAndPaginates) {
  const std::string ref = "list-" + std::to_string(::getpid());
  std::set<std::string> created;
  for (int i = 0; i < 5; ++i) {
    auto j = upload_ok(fixture(i % 2 ? "audio_sine.wav" : "image.png"), "f",
                       {{"source_ref", ref}, {"tags", i < 3 ? "first3,all" : "all"}});
    created.insert(j["id"].get<std::string>());
  }
  std::set<std::string> seen;
  std::optional<std::string> cursor;
  int pages = 0;
  do {
    std::string path = "/media-v2/assets?limit=2&source_ref=" + ref;
    if (cursor) path += "&cursor=" + *cursor;
    auto r = c_->Get(path, a());
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    auto j = body_json(r);
    ASSERT_TRUE(j["items"].is_array());
    EXPECT_LE(j["items"].size(), 2u);
    for (const auto& it : j["items"]) {
      EXPECT_TRUE(seen.insert(it["id"].get<std::string>()).second) << "duplicate across pages";
    }
    cursor.reset();
    if (!j["next_cursor"].is_null()) cursor = j["next_cursor"].get<std::string>();
    ++pages;
  } while (cursor && pages < 10);
  EXPECT_EQ(seen, created);
  EXPECT_EQ(pages, 3);

  auto tagged = body_json(c_->Get("/media-v2/assets?limit=100&tag=first3&source_ref=" + ref, a()));
  EXPECT_EQ(tagged["items"].size(), 3u);
  auto audio = body_json(c_->Get("/media-v2/assets?limit=100&kind=audio&source_ref=" + ref, a()));
  EXPECT_EQ(audio["items"].size(), 2u);
  for (const auto& it : audio["items"]) EXPECT_EQ(it["kind"], "audio");

  for (const char* bad : {"limit=0", "limit=1001", "limit=abc", "kind=movie", "cursor=zzz"}) {
    auto r = c_->Get(std::string("/media-v2/assets?") + bad, a());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << bad << ": " << r->body;
    EXPECT_EQ(error_code_of(r), "invalid_argument") << bad;
  }
}

TEST_F(MediaApiTest, ArtifactsRegisterAndLineage) {
  auto asset = upload_ok(fixture("video_h264_aac.mp4"), "v.mp4");
  const std::string id = asset["id"];
  // Multipart artifact: a frame PNG.
  httplib::MultipartFormDataItems items = {
      {"file", slurp(fixture("image.png")), "frame_0001.png", "image/png"},
      {"kind", "frame", "", ""},
      {"start_ms", "500", "", ""},
      {"end_ms", "500", "", ""},
      {"track_label", "v0", "", ""},
      {"meta", R"({"note":"first"})", "", ""}};
  auto r = c_->Post("/media-v2/assets/" + id + "/artifacts", a(), items);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  auto frame = body_json(r);
  EXPECT_EQ(frame["artifact_id"], frame["id"]);
  EXPECT_EQ(frame["parent_asset_id"], id);
  EXPECT_EQ(frame["kind"], "frame");
  EXPECT_EQ(frame["start_ms"], 500);
  EXPECT_EQ(frame["meta"]["note"], "first");
  EXPECT_EQ(frame["content_type"], "image/png");
  EXPECT_NE(frame["uri"].get<std::string>().find("/media_v2/" + id + "/artifacts/"),
            std::string::npos);

  // JSON registration pointing at bytes already in the tenant's prefix.
  nlohmann::json seg = {{"kind", "audio_segment"},
                        {"uri", frame["uri"]},
                        {"start_ms", 0},
                        {"end_ms", 1000},
                        {"meta", {{"i", 1}}}};
  r = c_->Post("/media-v2/assets/" + id + "/artifacts", a(), seg.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;

  // Lineage: the asset lists its artifacts; the artifact names its parent.
  auto got = body_json(c_->Get("/media-v2/assets/" + id, a()));
  ASSERT_EQ(got["artifacts"].size(), 2u);
  EXPECT_EQ(got["artifacts"][0]["id"], frame["id"]);
  auto art = body_json(c_->Get("/media-v2/artifacts/" + frame["id"].get<std::string>(), a()));
  EXPECT_EQ(art["parent_asset"]["id"], id);
  auto content = c_->Get("/media-v2/artifacts/" + frame["id"].get<std::string>() + "/content", a());
  ASSERT_TRUE(content);
  EXPECT_EQ(content->status, 200);
  EXPECT_EQ(content->body, slurp(fixture("image.png")));
  EXPECT_EQ(content->get_header_value("Content-Type"), "image/png");
}

TEST_F(MediaApiTest, ArtifactRulesAreEnforced) {
  auto asset = upload_ok(fixture("video_h264_aac.mp4"), "v.mp4");
  const std::string id = asset["id"];
  const std::string own_uri = asset["source_uri"];
  auto other = upload(*c_, b(), fixture("image.png"), "b.png");
  ASSERT_TRUE(other);
  ASSERT_EQ(other->status, 201);
  const std::string other_uri = body_json(other)["source_uri"];
  const std::string blob_root = own_uri.substr(0, own_uri.find("/tenants/"));

  struct Case {
    std::string name;
    nlohmann::json body;
    int status;
  };
  nlohmann::json full_meta = {
      {"backend_version", "v1"}, {"model_used", "m"}, {"cache_key", "k"}, {"duration_ms", 1000}};
  std::vector<Case> cases = {
      {"etc_passwd", {{"kind", "frame"}, {"uri", "file:///etc/passwd"}}, 403},
      {"other_tenant", {{"kind", "frame"}, {"uri", other_uri}}, 403},
      {"dotdot", {{"kind", "frame"}, {"uri", own_uri + "/../../../../../t_b"}}, 403},
      {"missing_blob",
       {{"kind", "frame"}, {"uri", blob_root + "/tenants/t_a/dev/media_v2/" + id + "/nope.png"}},
       400},
      {"no_uri", {{"kind", "frame"}}, 400},
      {"no_kind", {{"uri", own_uri}}, 400},
      {"unknown_kind", {{"kind", "hologram"}, {"uri", own_uri}}, 400},
      {"start_after_end",
       {{"kind", "frame"}, {"uri", own_uri}, {"start_ms", 10}, {"end_ms", 5}},
       400},
      {"negative_start", {{"kind", "frame"}, {"uri", own_uri}, {"start_ms", -1}}, 400},
      {"float_ms", {{"kind", "frame"}, {"uri", own_uri}, {"start_ms", 1.5}}, 400},
      {"meta_not_object", {{"kind", "frame"}, {"uri", own_uri}, {"meta", "x"}}, 400},
      {"visual_meta_missing_interval",
       {{"kind", "visual_meta"}, {"uri", own_uri}, {"meta", full_meta}},
       400},
      {"asr_missing_cache_key",
       {{"kind", "asr_transcript"},
        {"uri", own_uri},
        {"meta", {{"backend_version", "v"}, {"model_used", "m"}, {"duration_ms", 1}}}},
       400},
      {"region_summary_outside_regions",
       {{"kind", "video_region_summary"}, {"uri", own_uri}, {"meta", full_meta}},
       400},
      {"tenant_mismatch_body", {{"kind", "frame"}, {"uri", own_uri}, {"tenant_id", "t_b"}}, 400},
  };
  for (const auto& c : cases) {
    auto r =
        c_->Post("/media-v2/assets/" + id + "/artifacts", a(), c.body.dump(), "application/json");
    ASSERT_TRUE(r) << c.name;
    EXPECT_EQ(r->status, c.status) << c.name << ": " << r->body;
    error_code_of(r);
  }
  // The asr transcript with every required field is accepted.
  nlohmann::json ok = {{"kind", "asr_transcript"}, {"uri", own_uri}, {"meta", full_meta}};
  auto r = c_->Post("/media-v2/assets/" + id + "/artifacts", a(), ok.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201) << r->body;

  // A region summary uploaded as multipart lands under regions/ and is accepted.
  httplib::MultipartFormDataItems items = {
      {"file", R"({"faces":[]})", "summary.json", "application/json"},
      {"kind", "video_region_summary", "", ""},
      {"meta", full_meta.dump(), "", ""}};
  r = c_->Post("/media-v2/assets/" + id + "/artifacts", a(), items);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  auto summary = body_json(r);
  EXPECT_NE(summary["uri"].get<std::string>().find("/media_v2/" + id + "/regions/"),
            std::string::npos);
  // ... and the same file registered again by JSON uri is accepted (it is inside regions/).
  nlohmann::json again = {
      {"kind", "video_region_summary"}, {"uri", summary["uri"]}, {"meta", full_meta}};
  r = c_->Post("/media-v2/assets/" + id + "/artifacts", a(), again.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201) << r->body;
  // An artifact on a missing asset.
  r = c_->Post("/media-v2/assets/ast_00000000000000000000000000/artifacts", a(), ok.dump(),
               "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

TEST_F(MediaApiTest, ContentSupportsRangeRequests) {
  const std::string path = fixture("video_h264_aac.mp4");
  const std::string bytes = slurp(path);
  auto j = upload_ok(path, "v.mp4");
  const std::string url = "/media-v2/assets/" + j["id"].get<std::string>() + "/content";
  auto full = c_->Get(url, a());
  ASSERT_TRUE(full);
  EXPECT_EQ(full->status, 200);
  EXPECT_EQ(full->get_header_value("Content-Type"), "video/mp4");
  EXPECT_EQ(full->get_header_value("Accept-Ranges"), "bytes");
  EXPECT_EQ(full->body, bytes);

  auto h = a();
  h.emplace("Range", "bytes=10-99");
  auto part = c_->Get(url, h);
  ASSERT_TRUE(part);
  EXPECT_EQ(part->status, 206);
  EXPECT_EQ(part->body, bytes.substr(10, 90));
  EXPECT_EQ(part->get_header_value("Content-Range"), "bytes 10-99/" + std::to_string(bytes.size()));

  auto h2 = a();
  h2.emplace("Range", "bytes=-16");
  auto tail = c_->Get(url, h2);
  ASSERT_TRUE(tail);
  EXPECT_EQ(tail->status, 206);
  EXPECT_EQ(tail->body, bytes.substr(bytes.size() - 16));

  auto h3 = a();
  h3.emplace("Range", "bytes=" + std::to_string(bytes.size() + 100) + "-");
  auto bad = c_->Get(url, h3);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 416);
  EXPECT_EQ(bad->get_header_value("Content-Range"), "bytes */" + std::to_string(bytes.size()));
  error_code_of(bad);

  // Several ranges: the whole content (the server may ignore Range).
  auto h4 = a();
  h4.emplace("Range", "bytes=0-9,20-29");
  auto multi = c_->Get(url, h4);
  ASSERT_TRUE(multi);
  EXPECT_EQ(multi->status, 200);
  EXPECT_EQ(multi->body, bytes);

  // Range on a JSON endpoint is ignored (the body stays whole JSON).
  auto h5 = a();
  h5.emplace("Range", "bytes=0-3");
  auto meta = c_->Get("/media-v2/assets/" + j["id"].get<std::string>(), h5);
  ASSERT_TRUE(meta);
  EXPECT_EQ(meta->status, 200);
  EXPECT_EQ(body_json(meta)["id"], j["id"]);
}

TEST_F(MediaApiTest, TenantsAndEnvsNeverSeeEachOther) {
  auto j = upload_ok(fixture("image.png"), "i.png", {{"source_ref", "isolation"}});
  const std::string id = j["id"];
  httplib::MultipartFormDataItems items = {{"file", "x", "a.txt", "text/plain"},
                                           {"kind", "other", "", ""}};
  auto art = c_->Post("/media-v2/assets/" + id + "/artifacts", a(), items);
  ASSERT_TRUE(art);
  ASSERT_EQ(art->status, 201) << art->body;
  const std::string art_id = body_json(art)["id"];

  const httplib::Headers others[] = {b(), auth_headers(key_a_prod_, "t_a", "prod")};
  for (const auto& h : others) {
    for (const std::string& path :
         {"/media-v2/assets/" + id, "/media-v2/assets/" + id + "/content",
          "/media-v2/artifacts/" + art_id, "/media-v2/artifacts/" + art_id + "/content"}) {
      auto r = c_->Get(path, h);
      ASSERT_TRUE(r);
      EXPECT_EQ(r->status, 404) << path << ": " << r->body;
      EXPECT_EQ(error_code_of(r), "not_found");
    }
    auto list = body_json(c_->Get("/media-v2/assets?source_ref=isolation", h));
    EXPECT_EQ(list["items"].size(), 0u);
    auto del = c_->Delete("/media-v2/assets/" + id, h);
    ASSERT_TRUE(del);
    EXPECT_EQ(del->status, 404);
    nlohmann::json reg = {{"kind", "frame"}, {"uri", j["source_uri"]}};
    auto r = c_->Post("/media-v2/assets/" + id + "/artifacts", h, reg.dump(), "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404);
  }
  // A key of t_a used for t_b is refused outright.
  auto r = c_->Get("/media-v2/assets/" + id, auth_headers(key_a_, "t_b", "dev"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(error_code_of(r), "permission_denied");
  // Upload with a key of t_a but form fields naming t_b.
  auto up = upload(*c_, auth_headers(key_a_, "", ""), fixture("image.png"), "x.png",
                   {{"tenant_id", "t_b"}, {"env", "dev"}});
  ASSERT_TRUE(up);
  EXPECT_EQ(up->status, 403) << up->body;
  // The owner still sees everything.
  auto mine = c_->Get("/media-v2/assets/" + id, a());
  ASSERT_TRUE(mine);
  EXPECT_EQ(mine->status, 200);
}

TEST_F(MediaApiTest, DeleteRemovesAssetArtifactsAndBlobs) {
  auto j = upload_ok(fixture("video_h264_aac.mp4"), "v.mp4");
  const std::string id = j["id"];
  httplib::MultipartFormDataItems items = {
      {"file", slurp(fixture("image.png")), "f.png", "image/png"}, {"kind", "frame", "", ""}};
  auto art = c_->Post("/media-v2/assets/" + id + "/artifacts", a(), items);
  ASSERT_TRUE(art);
  ASSERT_EQ(art->status, 201);
  const std::string folder = blobs_dir() + "/tenants/t_a/dev/media_v2/" + id;
  EXPECT_EQ(files_under(folder).size(), 2u);
  auto del = c_->Delete("/media-v2/assets/" + id, a());
  ASSERT_TRUE(del);
  ASSERT_EQ(del->status, 200) << del->body;
  auto report = body_json(del)["deleted"];
  EXPECT_EQ(report["asset_id"], id);
  EXPECT_EQ(report["artifact_ids"].size(), 1u);
  EXPECT_FALSE(fs::exists(folder));
  auto gone = c_->Get("/media-v2/assets/" + id, a());
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 404);
  auto art_gone = c_->Get("/media-v2/artifacts/" + body_json(art)["id"].get<std::string>(), a());
  ASSERT_TRUE(art_gone);
  EXPECT_EQ(art_gone->status, 404);
}

TEST_F(MediaApiTest, RequestContextRules) {
  struct Case {
    std::string name;
    httplib::Headers headers;
    std::string query;
    int status;
  };
  std::vector<Case> cases = {
      {"missing tenant", auth_headers(key_a_, "", "dev"), "", 400},
      {"missing env", auth_headers(key_a_, "t_a", ""), "", 400},
      {"bad tenant pattern", auth_headers(key_a_, "T_A", "dev"), "", 400},
      {"bad tenant chars", auth_headers(key_a_, "t_a/../b", "dev"), "", 400},
      {"bad env", auth_headers(key_a_, "t_a", "production"), "", 400},
      {"header vs query", auth_headers(key_a_, "t_a", "dev"), "?tenant_id=t_b", 400},
      {"query only", auth_headers(key_a_, "", ""), "?tenant_id=t_a&env=dev", 200},
      {"query agrees", auth_headers(key_a_, "t_a", "dev"), "?tenant_id=t_a", 200},
  };
  for (const auto& c : cases) {
    auto r = c_->Get("/media-v2/assets" + c.query, c.headers);
    ASSERT_TRUE(r) << c.name;
    EXPECT_EQ(r->status, c.status) << c.name << ": " << r->body;
    if (c.status >= 400) {
      EXPECT_EQ(error_code_of(r), "invalid_argument") << c.name;
    }
  }
  // Header vs JSON body.
  nlohmann::json body = {
      {"tenant_id", "t_a"}, {"env", "prod"}, {"source_uri", "file:///etc/passwd"}};
  auto r = c_->Post("/media-v2/assets", a(), body.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(body_json(r)["error"]["details"]["field"], "env");
}

TEST_F(MediaApiTest, MalformedBodiesGetClearErrors) {
  struct Case {
    std::string name, body, type;
    int status;
  };
  std::vector<Case> cases = {
      {"malformed json", R"({"source_uri": )", "application/json", 400},
      {"array body", R"([1,2])", "application/json", 400},
      {"missing source_uri", R"({"kind":"video"})", "application/json", 400},
      {"source_uri not string", R"({"source_uri": 5})", "application/json", 400},
      {"wrong content type", R"(source_uri=x)", "text/plain", 415},
      {"truncated multipart", "--xyz\r\nContent-Disposition: form-data; name=\"file\"",
       "multipart/form-data; boundary=xyz", 400},
  };
  for (const auto& c : cases) {
    auto r = c_->Post("/media-v2/assets", a(), c.body, c.type);
    ASSERT_TRUE(r) << c.name;
    EXPECT_EQ(r->status, c.status) << c.name << ": " << r->body;
    error_code_of(r);
  }
}

TEST_F(MediaApiTest, MissingAndMalformedIdsAre404) {
  for (const std::string path : {"/media-v2/assets/ast_nope", "/media-v2/artifacts/art_nope",
                                 "/media-v2/assets/%2e%2e%2fetc/content"}) {
    auto r = c_->Get(path, a());
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 404) << path << ": " << r->body;
    EXPECT_EQ(error_code_of(r), "not_found");
  }
}

}  // namespace
}  // namespace atomcut::testing

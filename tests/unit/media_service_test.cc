// MediaService driven directly (no HTTP): the engine's rules on real stores and real media.
#include "engines/media/media_service.h"

#include "core/ids.h"
#include "support/media_fixtures.h"
#include "support/test_server.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace atomcut {
namespace {

namespace fs = std::filesystem;
using testing::fixture;
using testing::TempDir;

class MediaServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto meta = open_metadata_store("sqlite://" + dir_.path() + "/db.sqlite");
    ASSERT_TRUE(meta.ok()) << meta.error().message;
    meta_ = std::move(meta).value();
    auto blobs = open_blob_store("file://" + dir_.path() + "/blobs");
    ASSERT_TRUE(blobs.ok()) << blobs.error().message;
    blobs_ = std::move(blobs).value();
    fs::create_directories(dir_.path() + "/import");
    import_root_ = fs::canonical(dir_.path() + "/import").string();
    service_ = std::make_unique<MediaService>(*meta_, *blobs_,
                                              MediaServiceOptions{{import_root_}, "copy", 15000});
  }

  std::unique_ptr<BlobWriter> staged(const std::string& path) {
    auto w = blobs_->new_writer();
    EXPECT_TRUE(w.ok());
    std::ifstream in(path, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_TRUE((*w)->write(data.data(), data.size()).ok());
    return std::move(w).value();
  }

  size_t blob_files() {
    size_t n = 0;
    for (auto& e : fs::recursive_directory_iterator(dir_.path() + "/blobs")) {
      if (e.is_regular_file()) ++n;
    }
    return n;
  }

  TempDir dir_;
  std::string import_root_;
  std::unique_ptr<MetadataStore> meta_;
  std::unique_ptr<BlobStore> blobs_;
  std::unique_ptr<MediaService> service_;
  RequestContext ctx_{"t_svc", "dev", "u_1"};
};

TEST_F(MediaServiceTest, UploadProbesAndStoresUnderTheTenantPrefix) {
  AssetFields f;
  f.original_filename = "clip.mp4";
  f.tags = {"x"};
  auto asset = service_->create_from_upload(ctx_, staged(fixture("video_h264_aac.mp4")), "abc", f);
  ASSERT_TRUE(asset.ok()) << asset.error().message;
  EXPECT_EQ(asset->kind, MediaKind::kVideo);
  EXPECT_EQ(asset->storage_key, "tenants/t_svc/dev/media_v2/" + asset->id + "/source.mp4");
  EXPECT_EQ(asset->width, 320);
  EXPECT_EQ(asset->user_id, "u_1");
  auto got = service_->get_asset(scope_of(ctx_), asset->id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->asset.meta["sha256"], "abc");
  auto other = service_->get_asset(Scope{"t_other", "dev"}, asset->id);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, ErrorCode::kNotFound);
}

TEST_F(MediaServiceTest, RefusedUploadLeavesNothingBehind) {
  AssetFields f;
  f.kind_hint = "video";
  auto asset = service_->create_from_upload(ctx_, staged(fixture("not_media.txt")), "h", f);
  ASSERT_FALSE(asset.ok());
  EXPECT_EQ(asset.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(blob_files(), 0u);
  auto page = service_->list_assets(scope_of(ctx_), {}, 10, std::nullopt);
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->items.empty());
}

TEST_F(MediaServiceTest, ImportInReferenceModeKeepsTheFileInPlace) {
  fs::copy_file(fixture("audio_sine.wav"), import_root_ + "/tone.wav");
  MediaService ref(*meta_, *blobs_, MediaServiceOptions{{import_root_}, "reference", 15000});
  auto asset = ref.register_uri(ctx_, "file://" + import_root_ + "/tone.wav", {});
  ASSERT_TRUE(asset.ok()) << asset.error().message;
  EXPECT_EQ(asset->kind, MediaKind::kAudio);
  EXPECT_EQ(asset->source_uri, "file://" + import_root_ + "/tone.wav");
  EXPECT_TRUE(asset->storage_key.empty());
  EXPECT_EQ(blob_files(), 0u);
  auto content = ref.asset_content(scope_of(ctx_), asset->id);
  ASSERT_TRUE(content.ok());
  EXPECT_EQ(content->local_path, import_root_ + "/tone.wav");
  // Deleting the asset never deletes the referenced original.
  ASSERT_TRUE(ref.delete_asset(scope_of(ctx_), asset->id).ok());
  EXPECT_TRUE(fs::exists(import_root_ + "/tone.wav"));
}

TEST_F(MediaServiceTest, ImportRootsAreEnforced) {
  auto outside = service_->register_uri(ctx_, "file:///etc/hostname", {});
  ASSERT_FALSE(outside.ok());
  EXPECT_EQ(outside.error().code, ErrorCode::kPermissionDenied);
  // A sibling directory sharing the root's name as a prefix is outside too.
  fs::create_directories(import_root_ + "-evil");
  std::ofstream(import_root_ + "-evil/x.wav") << "x";
  auto sibling = service_->register_uri(ctx_, "file://" + import_root_ + "-evil/x.wav", {});
  ASSERT_FALSE(sibling.ok());
  EXPECT_EQ(sibling.error().code, ErrorCode::kPermissionDenied);
  MediaService no_roots(*meta_, *blobs_, MediaServiceOptions{{}, "copy", 15000});
  auto disabled = no_roots.register_uri(ctx_, "file://" + import_root_ + "/x.wav", {});
  ASSERT_FALSE(disabled.ok());
  EXPECT_EQ(disabled.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(MediaServiceTest, ArtifactRulesWithoutHttp) {
  auto asset = service_->create_from_upload(ctx_, staged(fixture("image.png")), "h", {});
  ASSERT_TRUE(asset.ok());
  ArtifactFields mask;
  mask.kind = "mask";
  mask.meta = {{"mask_type", "face"}};
  mask.original_filename = "m.png";
  auto stored =
      service_->register_artifact_upload(ctx_, asset->id, mask, staged(fixture("image.png")), "h");
  ASSERT_TRUE(stored.ok()) << stored.error().message;
  EXPECT_NE(stored->storage_key.find("/regions/" + stored->id + ".png"), std::string::npos);

  ArtifactFields summary;
  summary.kind = "video_region_summary";
  summary.uri = stored->uri;
  summary.meta = {{"backend_version", "b"},
                  {"model_used", "m"},
                  {"cache_key", "c"},
                  {"duration_ms", 1},
                  {"mask_uris", {asset->source_uri}}};
  auto bad = service_->register_artifact(ctx_, asset->id, summary);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().details["field"], "meta.mask_uris");
  summary.meta["mask_uris"] = {stored->uri};
  auto good = service_->register_artifact(ctx_, asset->id, summary);
  EXPECT_TRUE(good.ok()) << good.error().message;
}

}  // namespace
}  // namespace atomcut

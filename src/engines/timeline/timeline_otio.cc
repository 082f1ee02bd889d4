// TimelineService's OpenTimelineIO entry points: the store lookups around otio_interchange.
#include "engines/timeline/otio/otio_interchange.h"
#include "engines/timeline/timeline_service.h"

#include <fmt/format.h>

#include <map>

namespace atomcut {

Result<nlohmann::json> TimelineService::export_otio(const Scope& scope,
                                                    std::string_view sequence_id) {
  auto seq = store_.get_doc(scope, "video_sequences", sequence_id);
  if (!seq.ok()) {
    if (seq.error().code == ErrorCode::kNotFound) {
      return Error::not_found(fmt::format("sequence {} not found", sequence_id),
                              {{"kind", "sequence"}, {"id", sequence_id}});
    }
    return seq.take_error();
  }
  ATOMCUT_ASSIGN_OR_RETURN(TimelineTree tree, load_tree(scope, seq->root_id));
  AssetLookup lookup = [&](std::string_view asset_id) -> std::optional<OtioAssetInfo> {
    auto asset = store_.get_asset(scope, asset_id);
    if (!asset.ok()) return std::nullopt;
    OtioAssetInfo info;
    info.source_uri = asset->source_uri;
    info.duration_ms = asset->duration_ms;
    info.fps = asset->fps;
    info.name = asset->meta.value("original_filename", asset->id);
    return info;
  };
  return atomcut::export_otio(tree, sequence_id, lookup);
}

Result<nlohmann::json> TimelineService::import_otio(const RequestContext& ctx,
                                                    const nlohmann::json& otio) {
  const Scope scope = scope_of(ctx);
  // URIs of the caller's assets: where they are stored and where they were imported from.
  std::map<std::string, MatchedAsset> by_uri;
  std::optional<std::string_view> after;
  std::string last;
  while (true) {
    ATOMCUT_ASSIGN_OR_RETURN(auto page, store_.list_assets(scope, AssetFilter{}, 1000, after));
    for (const auto& a : page.items) {
      MatchedAsset m{a.id, a.duration_ms};
      by_uri.emplace(a.source_uri, m);
      if (a.meta.contains("imported_from") && a.meta["imported_from"].is_string()) {
        by_uri.emplace(a.meta["imported_from"].get<std::string>(), m);
      }
    }
    if (!page.next_after_id) break;
    last = *page.next_after_id;
    after = last;
  }
  ImportContext ictx;
  ictx.tenant_id = ctx.tenant_id;
  ictx.env = ctx.env;
  ictx.user_id = ctx.user_id;
  ictx.match_asset = [&](const OtioMediaQuery& q) -> std::optional<MatchedAsset> {
    if (q.asset_id) {
      auto asset = store_.get_asset(scope, *q.asset_id);
      if (asset.ok()) return MatchedAsset{asset->id, asset->duration_ms};
    }
    if (!q.target_url.empty()) {
      if (auto it = by_uri.find(q.target_url); it != by_uri.end()) return it->second;
    }
    return std::nullopt;
  };
  ATOMCUT_ASSIGN_OR_RETURN(ImportedTimeline imported, atomcut::import_otio(otio, ictx));
  ATOMCUT_ASSIGN_OR_RETURN(nlohmann::json project, insert_tree(ctx, imported.tree));
  return nlohmann::json{{"project", std::move(project)}, {"warnings", imported.warnings}};
}

}  // namespace atomcut

#include "engines/video/region_service.h"

#include "core/model/fx_catalog.h"
#include "core/model/timeline_record.h"
#include "engines/video/face_detector.h"
#include "engines/video/region_analysis.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

namespace atomcut {

namespace {

constexpr const char* kAtom = "regions";
constexpr const char* kRegionsVersion = "video_regions_v1";
constexpr const char* kDefaultBackend = "opencv_face_detector";

std::string model_used(const std::string& backend) {
  if (backend == "opencv_face_detector") return "haarcascade_frontalface_alt2";
  if (backend == "dlib_hog") return "dlib_frontal_face_detector_hog";
  return "none (stub: no detection)";
}

bool present(const nlohmann::json& j, const char* f) {
  return j.is_object() && j.contains(f) && !j[f].is_null();
}

}  // namespace

// ---- requests

Result<RegionRequest> region_request_from_json(const nlohmann::json& j) {
  constexpr const char* kRec = "video_regions";
  FieldReader r(j, kRec);
  RegionRequest q;
  q.asset_id = r.str("asset_id");
  q.artifact_id = r.opt_str("artifact_id");
  if (present(j, "sample_interval_ms")) q.sample_interval_ms = r.i64("sample_interval_ms");
  q.backend = r.opt_str("backend");
  if (present(j, "min_confidence")) q.min_confidence = r.num("min_confidence");
  const int64_t feather = r.i64("feather_radius", kRegionDefaultFeatherRadius);
  if (!r.ok()) return r.take_error();
  if (q.asset_id.empty()) return field_error(kRec, "asset_id", "is required");
  Checker c(kRec);
  if (q.sample_interval_ms) {
    c.check_lazy(*q.sample_interval_ms >= kRegionMinIntervalMs &&
                     *q.sample_interval_ms <= kRegionMaxIntervalMs,
                 "sample_interval_ms", [] {
                   return fmt::format("must lie in [{}, {}] ms", kRegionMinIntervalMs,
                                      kRegionMaxIntervalMs);
                 });
  }
  if (q.min_confidence) c.in_range("min_confidence", *q.min_confidence, 0, 1);
  c.check_lazy(feather >= 0 && feather <= kRegionMaxFeatherRadius, "feather_radius",
               [] { return fmt::format("must lie in [0, {}] pixels", kRegionMaxFeatherRadius); });
  if (q.backend) c.check(!q.backend->empty(), "backend", "must not be empty");
  ATOMCUT_TRY(c.status());
  q.feather_radius = static_cast<int>(feather);
  return q;
}

Result<AnonymiseRequest> anonymise_request_from_json(const nlohmann::json& j) {
  constexpr const char* kRec = "anonymise_faces";
  FieldReader r(j, kRec);
  AnonymiseRequest q;
  q.clip_id = r.opt_str("clip_id");
  q.asset_id = r.opt_str("asset_id");
  q.summary_id = r.opt_str("summary_id");
  if (!r.ok()) return r.take_error();
  if ((!q.clip_id || q.clip_id->empty()) && (!q.asset_id || q.asset_id->empty())) {
    return field_error(kRec, "clip_id", "is required (or give asset_id)");
  }
  if (present(j, "strength")) {
    const auto& s = j["strength"];
    if (s.is_string()) {
      const std::string name = s.get<std::string>();
      if (name == "light") {
        q.strength = kFaceBlurLight;
      } else if (name == "medium") {
        q.strength = kFaceBlurMedium;
      } else if (name == "strong") {
        q.strength = kFaceBlurStrong;
      } else {
        return field_error(kRec, "strength",
                           fmt::format("must be light, medium, strong or a number in [0.1, 1], "
                                       "not '{}'",
                                       name.substr(0, 64)),
                           {{"allowed", {"light", "medium", "strong"}}});
      }
      q.preset = name;
    } else if (s.is_number() && std::isfinite(s.get<double>())) {
      const double v = s.get<double>();
      if (v < 0.1 || v > 1) {
        return field_error(kRec, "strength", "must be a number in [0.1, 1] (face_blur's range)",
                           {{"value", v}});
      }
      q.strength = v;
      q.preset = "custom";
    } else {
      return field_error(kRec, "strength",
                         fmt::format("must be light, medium, strong or a number in [0.1, 1], "
                                     "not {}",
                                     s.type_name()));
    }
  }
  return q;
}

// ---- service

RegionService::RegionService(MediaService& media, TimelineService& timeline,
                             RegionServiceOptions options)
    : media_(media), timeline_(timeline), options_(std::move(options)), artifacts_(media) {
  std::string def =
      options_.default_backend.empty() ? std::string(kDefaultBackend) : options_.default_backend;
  const std::vector<std::string> known = face_detector_backends();
  if (def != "stub" && std::find(known.begin(), known.end(), def) == known.end()) {
    spdlog::warn(
        "VIDEO_REGION_BACKEND '{}' is not a regions backend (opencv_face_detector, "
        "dlib_hog, stub): using {}",
        def, kDefaultBackend);
    def = kDefaultBackend;
  }
  for (const std::string& name : face_detector_backends()) {
    BackendInfo b;
    b.atom = kAtom;
    b.name = name;
    b.is_default = name == def;
    FaceDetectorOptions o;
    o.backend = name;
    auto d = FaceDetector::create(o);
    if (d.ok()) {
      b.version = d->backend_version();
      b.detail = name == "dlib_hog" ? "dlib HOG frontal face detector (no model file)"
                                    : "OpenCV Haar cascade from opencv-data";
    } else {
      b.available = false;
      b.detail = d.error().message;
    }
    registry_.add(std::move(b));
  }
  registry_.add(BackendInfo{kAtom, "stub", "stub_regions_v1 (no detection)", true, def == "stub",
                            "finds no faces; for pipelines without a detector"});
}

RegionService::~RegionService() = default;

std::vector<BackendInfo> RegionService::backends() const { return registry_.all(); }

Result<RegionOutcome> RegionService::regions(const RequestContext& ctx, const RegionRequest& q) {
  const Scope scope = scope_of(ctx);
  ATOMCUT_ASSIGN_OR_RETURN(
      AnalysisInput in, artifacts_.resolve(scope, q.asset_id, q.artifact_id, NeedStream::kVideo));
  ATOMCUT_ASSIGN_OR_RETURN(ChosenBackend backend, registry_.choose(kAtom, q.backend));
  RegionAnalysisOptions opts;
  opts.backend = backend.info.name;
  opts.sample_interval_ms = q.sample_interval_ms.value_or(kRegionDefaultIntervalMs);
  opts.min_confidence = q.min_confidence.value_or(options_.min_confidence);
  const std::string key = join_cache_key(
      {"video_regions", in.asset.id, in.artifact_key(), backend.info.name, backend.info.version,
       std::to_string(opts.sample_interval_ms), fmt::format("{:.4f}", opts.min_confidence),
       std::to_string(q.feather_radius), kRegionsVersion});

  RegionOutcome out;
  if (auto hit = artifacts_.find_cached(scope, in.asset.id, "video_region_summary", key)) {
    out.summary = *hit;
    out.cache_hit = true;
    if (hit->meta.contains("mask_artifact_ids") && hit->meta["mask_artifact_ids"].is_array()) {
      for (const auto& id : hit->meta["mask_artifact_ids"]) {
        if (!id.is_string()) continue;
        auto m = artifacts_.artifact_of_kind(scope, id.get<std::string>(), "mask");
        if (m.ok()) out.masks.push_back(m->artifact);
      }
    }
    return out;
  }

  auto analysed = analyse_face_regions(in.path, opts);
  if (!analysed.ok()) {
    Error e = analysed.take_error();
    if (e.code == ErrorCode::kInvalidArgument && !e.details.contains("asset_id")) {
      e.details["asset_id"] = in.asset.id;
    }
    return e;
  }
  const RegionAnalysis& a = *analysed;
  nlohmann::json base = source_meta(in);
  base["backend"] = backend.info.name;
  base["backend_version"] = a.backend_version;
  base["backend_requested"] = backend.requested;
  if (backend.fallback_reason) base["backend_fallback_reason"] = *backend.fallback_reason;
  base["model_used"] = model_used(backend.info.name);
  base["cache_key"] = key;
  base["frame_sample_interval_ms"] = a.sample_interval_ms;
  base["min_confidence"] = a.min_confidence;
  base["feather_radius"] = q.feather_radius;
  const int64_t start = in.offset_ms();

  nlohmann::json mask_ids = nlohmann::json::array();
  nlohmann::json doc = region_summary_json(a, in.asset.id);
  for (size_t i = 0; i < a.tracks.size(); ++i) {
    const FaceTrack& t = a.tracks[i];
    nlohmann::json meta = base;
    meta["mask_type"] = "face";
    meta["source"] = "video_regions";
    meta["track_id"] = t.track_id;
    meta["selection_hash"] = face_track_selection_hash(t);
    meta["width"] = a.width;
    meta["height"] = a.height;
    meta["first_ms"] = t.start_ms;
    meta["last_ms"] = t.end_ms;
    meta["mask_shape"] = "union_of_track_boxes";
    ATOMCUT_ASSIGN_OR_RETURN(
        DerivedArtifact m,
        artifacts_.store_file(
            ctx, in.asset.id, "mask", fmt::format("face_track_{}.png", t.track_id),
            [&](const std::string& path) -> Result<nlohmann::json> {
              ATOMCUT_TRY(write_face_mask(t, a.width, a.height, q.feather_radius, path));
              return nlohmann::json::object();
            },
            std::move(meta), start + t.start_ms, start + t.end_ms));
    mask_ids.push_back(m.id);
    doc["tracks"][i]["mask_artifact_id"] = m.id;
    out.masks.push_back(std::move(m));
  }
  nlohmann::json meta = base;
  meta["duration_ms"] = a.duration_ms;
  meta["face_count"] = a.tracks.size();
  meta["track_count"] = a.tracks.size();
  meta["sample_count"] = a.sample_times_ms.size();
  meta["width"] = a.width;
  meta["height"] = a.height;
  meta["mask_artifact_ids"] = mask_ids;
  ATOMCUT_ASSIGN_OR_RETURN(out.summary,
                           artifacts_.store_json(ctx, in.asset.id, "video_region_summary", doc,
                                                 std::move(meta), start, start + a.duration_ms));
  spdlog::info("video regions: asset {} backend {} faces {} samples {}", in.asset.id,
               backend.info.name, a.tracks.size(), a.sample_times_ms.size());
  return out;
}

Result<AnonymiseOutcome> RegionService::anonymise_faces(const RequestContext& ctx,
                                                        const AnonymiseRequest& q) {
  const Scope scope = scope_of(ctx);
  std::string asset_id = q.asset_id.value_or("");
  if (q.clip_id && !q.clip_id->empty()) {
    ATOMCUT_ASSIGN_OR_RETURN(ClipSource clip, timeline_.clip_source(scope, *q.clip_id));
    const std::string clip_asset = clip.asset_id;
    if (!asset_id.empty() && asset_id != clip_asset) {
      return Error::invalid_argument(fmt::format("asset_id {} is not the asset of clip {} ({})",
                                                 asset_id.substr(0, 64), *q.clip_id, clip_asset),
                                     {{"field", "asset_id"}});
    }
    asset_id = clip_asset;
  }
  // The asset in the caller's scope (not_found across tenants).
  ATOMCUT_ASSIGN_OR_RETURN(AssetWithArtifacts asset, media_.get_asset(scope, asset_id));

  std::optional<DerivedArtifact> summary;
  if (q.summary_id) {
    ATOMCUT_ASSIGN_OR_RETURN(
        ArtifactWithParent s,
        artifacts_.artifact_of_kind(scope, *q.summary_id, "video_region_summary"));
    if (s.parent.id != asset_id) {
      return Error::invalid_argument(fmt::format("summary {} belongs to asset {}, not to {}",
                                                 *q.summary_id, s.parent.id, asset_id),
                                     {{"field", "summary_id"}});
    }
    summary = s.artifact;
  } else {
    summary = artifacts_.newest(scope, asset_id, "video_region_summary");
  }
  if (!summary) {
    return Error::failed_precondition(
        fmt::format("asset {} has no video_region_summary: run POST /video/regions on it first",
                    asset_id),
        {{"reason", "video_regions_missing"}, {"asset_id", asset_id}});
  }
  ATOMCUT_ASSIGN_OR_RETURN(nlohmann::json doc, artifacts_.read_json(scope, *summary));
  ATOMCUT_ASSIGN_OR_RETURN(std::vector<FaceTrack> tracks, face_tracks_from_summary(doc));
  const std::string backend_version = summary->meta.value("backend_version", std::string());

  AnonymiseOutcome out;
  nlohmann::json& b = out.body;
  b = {{"applied", false},
       {"clip_id", q.clip_id ? nlohmann::json(*q.clip_id) : nlohmann::json(nullptr)},
       {"asset_id", asset_id},
       {"summary_id", summary->id},
       {"backend_version", backend_version},
       {"faces_found", tracks.size()},
       {"strength", q.strength},
       {"preset", q.preset}};
  if (tracks.empty()) {
    b["reason"] = "no_faces";
    b["message"] = fmt::format(
        "region summary {} of asset {} found no faces: nothing to blur, no filter written",
        summary->id, asset_id);
    return out;
  }
  if (!q.clip_id || q.clip_id->empty()) {
    b["reason"] = "clip_id_required";
    b["message"] = fmt::format(
        "asset {} has {} face track(s) in summary {}: give clip_id to write the face_blur filter "
        "on a clip",
        asset_id, tracks.size(), summary->id);
    return out;
  }

  nlohmann::json params = {{"strength", q.strength}};
  // Provenance params, when this build's filter catalog knows them.
  const FilterSpec* spec = find_filter("face_blur");
  nlohmann::json warnings = nlohmann::json::array();
  for (const auto& [name, value] :
       {std::pair<const char*, std::string>{"source_summary_id", summary->id},
        {"backend_version", backend_version}}) {
    if (spec && find_filter_param(*spec, name)) {
      params[name] = value;
    } else {
      warnings.push_back({{"code", "param_not_in_catalog"},
                          {"param", name},
                          {"message", fmt::format("face_blur has no '{}' parameter in this "
                                                  "build's filter catalog: not stored",
                                                  name)}});
    }
  }
  const nlohmann::json filter = {{"type", "face_blur"}, {"params", params}, {"enabled", true}};
  auto existing = timeline_.get_filter_stack(scope, "clip", *q.clip_id);
  nlohmann::json stack;
  if (existing.ok()) {
    nlohmann::json filters = existing->value("filters", nlohmann::json::array());
    bool replaced = false;
    for (auto& f : filters) {
      if (f.value("type", "") == "face_blur") {
        f = filter;
        replaced = true;
        break;
      }
    }
    if (!replaced) filters.push_back(filter);
    ATOMCUT_ASSIGN_OR_RETURN(
        stack, timeline_.patch_filter_stack(ctx, "clip", *q.clip_id, {{"filters", filters}}));
  } else if (existing.error().code == ErrorCode::kNotFound) {
    ATOMCUT_ASSIGN_OR_RETURN(
        stack, timeline_.create_filter_stack(ctx, "clip", *q.clip_id,
                                             {{"filters", nlohmann::json::array({filter})}}));
    out.created_stack = true;
  } else {
    return existing.take_error();
  }
  out.applied = true;
  b["applied"] = true;
  b["filter_stack_id"] = stack.value("id", std::string());
  b["filter"] = filter;
  b["filter_stack"] = stack;
  if (!warnings.empty()) b["warnings"] = warnings;
  return out;
}

}  // namespace atomcut

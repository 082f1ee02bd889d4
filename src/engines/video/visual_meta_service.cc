#include "engines/video/visual_meta_service.h"

#include "core/model/parameter_automation.h"
#include "core/model/timeline_record.h"
#include "engines/video/face_detector.h"
#include "engines/video/frame_sampler.h"
#include "engines/video/visual_meta.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

namespace atomcut {

namespace {

constexpr const char* kAtom = "visual_meta";
constexpr const char* kKind = "visual_meta";
// What position_x / position_y / scale mean (engines/video/reframe.h).
constexpr const char* kReframeSemantics =
    "position_x/position_y: centre of the crop window in normalised source coordinates (0..1, "
    "top-left origin); scale: zoom relative to fitting the whole source inside the output "
    "(contain), so the target-aspect crop fills the output (1 / min(crop_width, crop_height))";

int64_t now_steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Unknown body fields are refused (the context fields belong to http/).
Status refuse_unknown(const nlohmann::json& j, const char* record,
                      std::initializer_list<const char*> known) {
  if (!j.is_object()) {
    return Error::invalid_argument(fmt::format("{} body must be a JSON object", record),
                                   {{"field", ""}});
  }
  std::set<std::string> ok = {"tenant_id", "env", "user_id"};
  for (const char* k : known) ok.insert(k);
  for (const auto& [k, v] : j.items()) {
    if (!ok.count(k)) {
      return field_error(
          record, k,
          fmt::format("is not a known field (known: {})",
                      fmt::join(std::vector<std::string>(known.begin(), known.end()), ", ")));
    }
  }
  return {};
}

Status reader_status(FieldReader& r) {
  if (!r.ok()) return r.take_error();
  return {};
}

std::string bool_key(bool v) { return v ? "true" : "false"; }

// An engine error about the input file without the store's local path (clients never see
// storage paths): the path becomes "asset <id>", details name the asset/artifact.
Error scrub(Error e, const AnalysisInput& in) {
  const std::string what = in.artifact ? "artifact " + in.artifact->id : "asset " + in.asset.id;
  for (size_t at = e.message.find(in.path); !in.path.empty() && at != std::string::npos;
       at = e.message.find(in.path, at + what.size())) {
    e.message.replace(at, in.path.size(), what);
  }
  if (e.details.is_object()) {
    e.details.erase("path");
    e.details["asset_id"] = in.asset.id;
    if (in.artifact) e.details["artifact_id"] = in.artifact->id;
    if (!e.details.contains("field")) e.details["field"] = in.artifact ? "artifact_id" : "asset_id";
  }
  return e;
}

}  // namespace

Result<VisualMetaAnalyzeRequest> visual_meta_analyze_request_from_json(const nlohmann::json& j) {
  constexpr const char* kRec = "visual_meta_analyze";
  ATOMCUT_TRY(refuse_unknown(j, kRec,
                             {"asset_id", "artifact_id", "sample_interval_ms", "include_labels",
                              "detect_shot_boundaries", "backend"}));
  FieldReader r(j, kRec);
  VisualMetaAnalyzeRequest q;
  q.asset_id = r.str("asset_id");
  q.artifact_id = r.opt_str("artifact_id");
  q.sample_interval_ms = r.i64("sample_interval_ms", 500);
  q.include_labels = r.boolean("include_labels", true);
  q.detect_shot_boundaries = r.boolean("detect_shot_boundaries", true);
  q.backend = r.opt_str("backend");
  ATOMCUT_TRY(reader_status(r));
  if (q.asset_id.empty() && !q.artifact_id) {
    return field_error(kRec, "asset_id", "is required (or give artifact_id)");
  }
  Checker c(kRec);
  c.in_range("sample_interval_ms", static_cast<double>(q.sample_interval_ms), 40, 60000);
  ATOMCUT_TRY(c.status());
  return q;
}

Result<ReframeSuggestionRequest> reframe_suggestion_request_from_json(const nlohmann::json& j) {
  constexpr const char* kRec = "reframe_suggestion";
  ATOMCUT_TRY(refuse_unknown(j, kRec,
                             {"clip_id", "target_aspect_ratio", "framing_style",
                              "visual_meta_artifact_id", "analyze_if_missing"}));
  FieldReader r(j, kRec);
  ReframeSuggestionRequest q;
  q.clip_id = r.str("clip_id");
  const bool has_aspect = j.contains("target_aspect_ratio") && !j["target_aspect_ratio"].is_null();
  q.target_aspect_ratio =
      r.enumeration("target_aspect_ratio", kReframeAspectNames, ReframeAspect::k9x16);
  q.framing_style = r.enumeration("framing_style", kFramingStyleNames, FramingStyle::kCenter);
  q.visual_meta_artifact_id = r.opt_str("visual_meta_artifact_id");
  q.analyze_if_missing = r.boolean("analyze_if_missing", true);
  ATOMCUT_TRY(reader_status(r));
  if (q.clip_id.empty()) return field_error(kRec, "clip_id", "is required");
  if (!has_aspect) {
    return field_error(kRec, "target_aspect_ratio", "is required (9:16, 16:9, 4:5 or 1:1)");
  }
  return q;
}

VisualMetaService::VisualMetaService(MediaService& media, TimelineService& timeline,
                                     VisualMetaServiceOptions options)
    : media_(media), timeline_(timeline), options_(std::move(options)), artifacts_(media) {
  std::string def = options_.default_backend;
  if (!def.empty() && def != "signal" && def != "stub" && def != "default") {
    spdlog::warn(
        "VIDEO_VISUAL_META_BACKEND '{}' is not a visual_meta backend (signal, stub): "
        "using signal",
        def);
    def.clear();
  }
  const bool stub_default = def == "stub";
  auto face = FaceDetector::create({});
  const bool has_faces = face.ok();
  registry_.add({kAtom, "signal", visual_meta_backend_version(), has_faces, !stub_default,
                 has_faces ? "one decode pass: shot detector on every frame (160x90), faces "
                             "(opencv_face_detector, tracked) and motion/salient regions on the "
                             "samples, motion score"
                           : "the face detector is unavailable: " + face.error().message});
  registry_.add({kAtom, "stub", visual_meta_stub_version(), true, stub_default,
                 "no analysis: a deterministic wobble of the centre (spec placeholder)"});
}

VisualMetaService::~VisualMetaService() = default;

std::vector<BackendInfo> VisualMetaService::backends() const { return registry_.all(); }

Result<VisualMetaOutput> VisualMetaService::analyze(const RequestContext& ctx,
                                                    const VisualMetaAnalyzeRequest& q) {
  ATOMCUT_ASSIGN_OR_RETURN(ChosenBackend backend, registry_.choose(kAtom, q.backend));
  const Scope scope = scope_of(ctx);
  ATOMCUT_ASSIGN_OR_RETURN(
      AnalysisInput in, artifacts_.resolve(scope, q.asset_id, q.artifact_id, NeedStream::kVideo));
  const std::string key = join_cache_key(
      {ctx.tenant_id, ctx.env, in.asset.id, in.artifact_key(), std::to_string(q.sample_interval_ms),
       bool_key(q.include_labels), bool_key(q.detect_shot_boundaries),
       fmt::format("{}", options_.min_face_confidence), backend.info.version});
  if (auto hit = artifacts_.find_cached(scope, in.asset.id, kKind, key)) {
    VisualMetaOutput out{*hit, true, {}};
    for (const char* k : {"frame_count", "shot_boundary_count", "face_track_count", "duration_ms",
                          "frame_sample_interval_ms"}) {
      if (hit->meta.contains(k)) out.summary[k] = hit->meta[k];
    }
    return out;
  }
  const int64_t t0 = now_steady_ms();
  VisualMetaAnalysis a;
  if (backend.stub()) {
    FrameSamplerOptions so;
    so.max_width = 64;
    so.max_height = 64;
    so.layout = PixelLayout::kGray8;
    auto sampler = FrameSampler::open(in.path, so);
    if (!sampler.ok()) return scrub(sampler.error(), in);
    const auto& info = (*sampler)->info();
    int64_t duration = info.duration_ms;
    if (duration <= 0) duration = in.asset.duration_ms.value_or(0);
    a = stub_visual_meta(duration, q.sample_interval_ms, info.width, info.height);
    a.codec = info.codec;
  } else {
    VisualMetaOptions o;
    o.sample_interval_ms = q.sample_interval_ms;
    o.detect_shot_boundaries = q.detect_shot_boundaries;
    o.min_confidence = options_.min_face_confidence;
    auto r = analyze_visual_meta(in.path, o);
    if (!r.ok()) return scrub(r.error(), in);
    a = std::move(*r);
  }
  if (!q.include_labels) {
    for (auto& f : a.summary.frames) f.subjects.clear();
  }
  a.summary.asset_id = in.asset.id;
  if (in.artifact) a.summary.artifact_id = in.artifact->id;

  nlohmann::json meta = source_meta(in);
  meta["model_used"] = a.model_used;
  meta["backend"] = backend.info.name;
  meta["backend_type"] = backend.info.name;
  meta["requested_backend"] = backend.requested;
  meta["backend_version"] = backend.info.version;
  if (backend.fallback_reason) meta["fallback_reason"] = *backend.fallback_reason;
  meta["stub"] = backend.stub();
  if (backend.stub()) {
    meta["note"] = "stub backend: no analysis, a deterministic wobble of the centre";
  }
  meta["cache_key"] = key;
  meta["visual_meta_cache_key"] = key;
  meta["duration_ms"] = a.summary.duration_ms;
  meta["frame_sample_interval_ms"] = a.summary.frame_sample_interval_ms;
  meta["sample_interval_ms"] = q.sample_interval_ms;
  meta["include_labels"] = q.include_labels;
  meta["detect_shot_boundaries"] = q.detect_shot_boundaries;
  meta["frame_count"] = a.summary.frames.size();
  meta["decoded_frames"] = a.frame_count;
  meta["shot_boundary_count"] = a.summary.shot_boundaries_ms.size();
  meta["shot_count"] = a.summary.shots.size();
  meta["face_track_count"] = a.face_track_count;
  meta["face_detections"] = a.face_detections;
  meta["region_detections"] = a.region_detections;
  meta["source_width"] = a.width;
  meta["source_height"] = a.height;
  meta["codec"] = a.codec;
  meta["processing_ms"] = now_steady_ms() - t0;

  nlohmann::json doc = to_json(a.summary);
  doc["source_width"] = a.width;
  doc["source_height"] = a.height;
  ATOMCUT_ASSIGN_OR_RETURN(DerivedArtifact art,
                           artifacts_.store_json(ctx, in.asset.id, kKind, doc, meta, in.offset_ms(),
                                                 in.offset_ms() + a.summary.duration_ms));
  VisualMetaOutput out{std::move(art), false, {}};
  out.summary = {{"frame_count", a.summary.frames.size()},
                 {"shot_boundary_count", a.summary.shot_boundaries_ms.size()},
                 {"face_track_count", a.face_track_count},
                 {"duration_ms", a.summary.duration_ms},
                 {"frame_sample_interval_ms", a.summary.frame_sample_interval_ms}};
  return out;
}

Result<nlohmann::json> VisualMetaService::get(const Scope& scope, const std::string& artifact_id) {
  ATOMCUT_ASSIGN_OR_RETURN(ArtifactWithParent a,
                           artifacts_.artifact_of_kind(scope, artifact_id, kKind));
  ATOMCUT_ASSIGN_OR_RETURN(nlohmann::json doc, artifacts_.read_json(scope, a.artifact));
  doc["visual_meta_artifact_id"] = a.artifact.id;
  doc["uri"] = a.artifact.uri;
  doc["meta"] = a.artifact.meta;
  return doc;
}

Result<DerivedArtifact> VisualMetaService::pick_meta(
    const Scope& scope, const ClipSource& clip, const std::optional<std::string>& artifact_id) {
  if (artifact_id) {
    ATOMCUT_ASSIGN_OR_RETURN(ArtifactWithParent a, media_.get_artifact(scope, *artifact_id));
    if (a.artifact.kind != kKind || a.parent.id != clip.asset_id) {
      return Error::invalid_argument(
          fmt::format("artifact {} is not a visual_meta of the clip's asset {}", *artifact_id,
                      clip.asset_id),
          {{"field", "artifact_id"}});
    }
    return a.artifact;
  }
  const nlohmann::json want = clip.artifact_id ? nlohmann::json(*clip.artifact_id) : nullptr;
  auto found = artifacts_.newest(scope, clip.asset_id, kKind, [&](const DerivedArtifact& a) {
    return a.meta.value("source_artifact_id", nlohmann::json(nullptr)) == want;
  });
  if (!found) {
    return Error::not_found(
        fmt::format("the clip's asset {} has no visual_meta{} yet: POST /video/visual-meta/analyze "
                    "first",
                    clip.asset_id, clip.artifact_id ? " for the clip's artifact" : ""),
        {{"asset_id", clip.asset_id}, {"clip_id", clip.clip_id}, {"kind", kKind}});
  }
  return *found;
}

Result<nlohmann::json> VisualMetaService::by_clip(const Scope& scope, const std::string& clip_id,
                                                  const std::optional<std::string>& artifact_id) {
  ATOMCUT_ASSIGN_OR_RETURN(ClipSource clip, timeline_.clip_source(scope, clip_id));
  ATOMCUT_ASSIGN_OR_RETURN(DerivedArtifact vm, pick_meta(scope, clip, artifact_id));
  ATOMCUT_ASSIGN_OR_RETURN(nlohmann::json doc, artifacts_.read_json(scope, vm));
  auto rel = [&](int64_t t) {
    return static_cast<int64_t>(std::llround(static_cast<double>(t - clip.in_ms) / clip.speed));
  };
  nlohmann::json frames = nlohmann::json::array();
  for (const auto& f : doc.value("frames", nlohmann::json::array())) {
    const int64_t t = f.value("timestamp_ms", int64_t{0});
    if (t < clip.in_ms || t >= clip.out_ms) continue;
    nlohmann::json c = f;
    c["timestamp_ms"] = rel(t);
    c["source_timestamp_ms"] = t;
    frames.push_back(std::move(c));
  }
  if (!frames.empty()) frames[0]["shot_boundary"] = true;  // the clip starts a shot
  nlohmann::json bounds = nlohmann::json::array();
  for (const auto& b : doc.value("shot_boundaries_ms", nlohmann::json::array())) {
    const int64_t t = b.is_number() ? b.get<int64_t>() : -1;
    if (t > clip.in_ms && t < clip.out_ms) bounds.push_back(rel(t));
  }
  nlohmann::json shots = nlohmann::json::array();
  for (const auto& s : doc.value("shots", nlohmann::json::array())) {
    const int64_t a = s.value("start_ms", int64_t{0}), b = s.value("end_ms", int64_t{0});
    if (b <= clip.in_ms || a >= clip.out_ms) continue;
    nlohmann::json c = s;
    c["start_ms"] = rel(std::max(a, clip.in_ms));
    c["end_ms"] = rel(std::min(b, clip.out_ms));
    shots.push_back(std::move(c));
  }
  nlohmann::json meta = vm.meta;
  meta["clip_id"] = clip_id;
  meta["clip_window_ms"] = {{"start_ms", clip.in_ms}, {"end_ms", clip.out_ms}};
  meta["clip_relative"] = true;
  meta["speed"] = clip.speed;
  return nlohmann::json{
      {"asset_id", clip.asset_id},
      {"artifact_id", clip.artifact_id ? nlohmann::json(*clip.artifact_id) : nullptr},
      {"visual_meta_artifact_id", vm.id},
      {"clip_id", clip_id},
      {"frames", std::move(frames)},
      {"duration_ms", rel(clip.out_ms)},
      {"frame_sample_interval_ms", doc.value("frame_sample_interval_ms", int64_t{500})},
      {"shot_boundaries_ms", std::move(bounds)},
      {"shots", std::move(shots)},
      {"source_width", doc.value("source_width", 0)},
      {"source_height", doc.value("source_height", 0)},
      {"meta", std::move(meta)}};
}

Result<nlohmann::json> VisualMetaService::reframe_suggestion(const RequestContext& ctx,
                                                             const ReframeSuggestionRequest& q) {
  const Scope scope = scope_of(ctx);
  ATOMCUT_ASSIGN_OR_RETURN(ClipSource clip, timeline_.clip_source(scope, q.clip_id));
  bool on_demand = false;
  auto vm = pick_meta(scope, clip, q.visual_meta_artifact_id);
  if (!vm.ok() && vm.error().code == ErrorCode::kNotFound && !q.visual_meta_artifact_id) {
    if (!q.analyze_if_missing) {
      return Error::failed_precondition(vm.error().message,
                                        {{"asset_id", clip.asset_id}, {"clip_id", clip.clip_id}});
    }
    VisualMetaAnalyzeRequest aq;
    aq.asset_id = clip.asset_id;
    aq.artifact_id = clip.artifact_id;
    ATOMCUT_ASSIGN_OR_RETURN(VisualMetaOutput made, analyze(ctx, aq));
    vm = made.artifact;
    on_demand = true;
  }
  if (!vm.ok()) return vm.error();
  ATOMCUT_ASSIGN_OR_RETURN(nlohmann::json doc, artifacts_.read_json(scope, *vm));
  ATOMCUT_ASSIGN_OR_RETURN(VisualMetaSummary summary, visual_meta_summary_from_json(doc));
  int w = doc.value("source_width", 0), h = doc.value("source_height", 0);
  if (w <= 0 || h <= 0) {
    ATOMCUT_ASSIGN_OR_RETURN(AssetWithArtifacts asset, media_.get_asset(scope, clip.asset_id));
    w = asset.asset.width.value_or(0);
    h = asset.asset.height.value_or(0);
  }
  if (w <= 0 || h <= 0) {
    return Error::failed_precondition(
        fmt::format("the size of asset {}'s video is unknown: cannot place a crop", clip.asset_id),
        {{"asset_id", clip.asset_id}});
  }
  ReframeRequestParams p;
  p.in_ms = clip.in_ms;
  p.out_ms = clip.out_ms;
  p.speed = clip.speed;
  p.source_width = w;
  p.source_height = h;
  p.aspect = q.target_aspect_ratio;
  p.style = q.framing_style;
  p.target_id = clip.clip_id;
  ATOMCUT_ASSIGN_OR_RETURN(ReframeSuggestion r, suggest_reframe(summary, p));
  nlohmann::json automation = nlohmann::json::array();
  for (const auto& a : r.automation) automation.push_back(to_json(a));
  nlohmann::json meta = {
      {"source_visual_meta_artifact_id", vm->id},
      {"target_aspect_ratio",
       std::string(kReframeAspectNames[static_cast<size_t>(q.target_aspect_ratio)])},
      {"framing_style", std::string(kFramingStyleNames[static_cast<size_t>(q.framing_style)])},
      {"visual_meta_backend_version", vm->meta.value("backend_version", "")},
      {"visual_meta_cache_key", vm->meta.value("cache_key", "")},
      {"visual_meta_model_used", vm->meta.value("model_used", "")},
      {"analyzed_on_demand", on_demand},
      {"applied", false},
      {"source_width", w},
      {"source_height", h},
      {"crop_width", std::round(r.crop_width * 10000) / 10000},
      {"crop_height", std::round(r.crop_height * 10000) / 10000},
      {"scale", r.scale},
      {"shot_count", r.shot_count},
      {"move_count", r.move_count},
      {"sample_count", r.sample_count},
      {"clip_window_ms", {{"start_ms", clip.in_ms}, {"end_ms", clip.out_ms}}},
      {"speed", clip.speed},
      {"semantics", kReframeSemantics}};
  return nlohmann::json{{"clip_id", clip.clip_id},
                        {"asset_id", clip.asset_id},
                        {"automation", std::move(automation)},
                        {"meta", std::move(meta)}};
}

}  // namespace atomcut

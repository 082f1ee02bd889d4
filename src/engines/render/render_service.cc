#include "engines/render/render_service.h"

#include "core/ids.h"
#include "core/model/render_profiles.h"
#include "core/sha256.h"
#include "engines/media/analysis_support.h"
#include "engines/media/media_probe.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

namespace atomcut {

namespace fs = std::filesystem;

namespace {

constexpr size_t kStderrTailBytes = 64 * 1024;
// Graphs longer than this go to ffmpeg through a script file (argv strings are limited to
// 128 KiB each on Linux).
constexpr size_t kMaxInlineGraphBytes = 100 * 1024;

EncoderChoice choose_encoder() {
  EncoderChoice e;
  e.hardware = false;
  std::error_code ec;
  const bool gpu = fs::exists("/dev/dri/renderD128", ec) || fs::exists("/dev/nvidia0", ec);
  e.reason = gpu ? "software encoder of the profile: a GPU device exists, but hardware encoding "
                   "is not enabled (software output is identical on every host)"
                 : "software encoder of the profile: no GPU encoder device on this host "
                   "(/dev/dri/renderD128, /dev/nvidia0)";
  return e;
}

std::optional<std::string> find_font() {
  for (const char* p : {"/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
                        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                        "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"}) {
    std::error_code ec;
    if (fs::exists(p, ec)) return std::string(p);
  }
  return std::nullopt;
}

// Display size: ffmpeg rotates frames upright when decoding.
void set_display_size(RenderSource& s, std::optional<int> w, std::optional<int> h, int rotation) {
  s.width = w.value_or(0);
  s.height = h.value_or(0);
  if (rotation == 90 || rotation == 270) std::swap(s.width, s.height);
}

// Removes a temporary file when it goes out of scope.
struct TempFile {
  std::string path;
  ~TempFile() {
    if (!path.empty()) ::unlink(path.c_str());
  }
};

Result<std::string> temp_path(std::string_view suffix) {
  std::string tmpl = (fs::temp_directory_path() / "atomcut-render-XXXXXX").string();
  tmpl += suffix;
  int fd = ::mkstemps(tmpl.data(), static_cast<int>(suffix.size()));
  if (fd < 0) return Error::unavailable("cannot create a temporary file for the render");
  ::close(fd);
  return tmpl;
}

}  // namespace

struct RenderService::Prepared {
  RenderRequest request;
  const RenderProfile* profile = nullptr;
  SequenceSnapshot snapshot;
  std::string project_id;
  std::map<std::string, RenderSource> sources;
  std::map<std::string, EnhancedAudio> enhanced_audio;
  std::optional<RenderSource> watermark;
  std::string font;
  std::map<std::string, FaceBlurSpec> face_blur;  // by clip id
  nlohmann::json dependency_notices = nlohmann::json::array();
};

RenderService::RenderService(MediaService& media, TimelineService& timeline,
                             RenderServiceOptions options)
    : media_(media), timeline_(timeline), options_(options), encoder_(choose_encoder()) {}

namespace {

// The snapshot of one sequence of a stored project.
Result<SequenceSnapshot> snapshot_of(const TimelineTree& tree,
                                     const std::optional<std::string>& sequence_id) {
  const Sequence* seq = nullptr;
  if (sequence_id) {
    for (const auto& s : tree.sequences) {
      if (s.id == *sequence_id) seq = &s;
    }
    if (!seq) {
      return Error::not_found(fmt::format("sequence {} is not a sequence of project {}",
                                          sequence_id->substr(0, 128), tree.project.id),
                              {{"field", "sequence_id"}});
    }
  } else {
    for (const auto& id : tree.project.sequences) {
      for (const auto& s : tree.sequences) {
        if (!seq && s.id == id) seq = &s;
      }
    }
    if (!seq && !tree.sequences.empty()) seq = &tree.sequences.front();
    if (!seq) {
      return Error::invalid_argument(
          fmt::format("project {} has no sequence to render: add one first", tree.project.id),
          {{"field", "project_id"}});
    }
  }
  SequenceSnapshot snap;
  snap.sequence = *seq;
  std::set<std::string> track_ids, clip_ids;
  for (const auto& t : tree.tracks) {
    if (t.sequence_id == seq->id) {
      snap.tracks.push_back(t);
      track_ids.insert(t.id);
    }
  }
  for (const auto& c : tree.clips) {
    if (track_ids.count(c.track_id)) {
      snap.clips.push_back(c);
      clip_ids.insert(c.id);
    }
  }
  for (const auto& x : tree.transitions) {
    if (x.sequence_id == seq->id) snap.transitions.push_back(x);
  }
  for (const auto& f : tree.filter_stacks) {
    if (clip_ids.count(f.target_id) || track_ids.count(f.target_id) || f.target_id == seq->id) {
      snap.filter_stacks.push_back(f);
    }
  }
  return snap;
}

// The face tracks of a video_region_summary document (see engines/video/region_analysis.h) as
// the planner takes them. invalid_argument when the document has no tracks array.
Result<FaceBlurSpec> face_blur_spec_of(const nlohmann::json& doc) {
  if (!doc.is_object() || !doc.contains("tracks") || !doc["tracks"].is_array()) {
    return Error::invalid_argument("the region summary has no tracks array");
  }
  FaceBlurSpec spec;
  auto interval = doc.find("frame_sample_interval_ms");
  if (interval != doc.end() && interval->is_number_integer()) spec.sample_interval_ms = *interval;
  for (const auto& t : doc["tracks"]) {
    if (!t.is_object() || !t.contains("points") || !t["points"].is_array()) continue;
    FaceBlurTrack track;
    track.track_id = t.value("track_id", 0);
    for (const auto& q : t["points"]) {
      if (!q.is_object()) continue;
      const auto n = [&q](const char* f) {
        auto it = q.find(f);
        return it != q.end() && it->is_number() ? it->get<double>() : -1.0;
      };
      FaceBlurPoint pt{static_cast<int64_t>(n("t_ms")), n("bbox_x"), n("bbox_y"), n("bbox_width"),
                       n("bbox_height")};
      if (pt.t_ms < 0 || pt.x < 0 || pt.y < 0 || pt.width <= 0 || pt.height <= 0 ||
          pt.x + pt.width > 1.001 || pt.y + pt.height > 1.001) {
        continue;
      }
      track.points.push_back(pt);
    }
    std::sort(track.points.begin(), track.points.end(),
              [](const auto& a, const auto& b) { return a.t_ms < b.t_ms; });
    if (!track.points.empty()) spec.tracks.push_back(std::move(track));
  }
  return spec;
}

nlohmann::json dependency_notice(const DerivedArtifact& a, bool used) {
  const auto str = [&a](const char* f) {
    auto it = a.meta.find(f);
    return it != a.meta.end() && it->is_string() ? nlohmann::json(*it) : nlohmann::json(nullptr);
  };
  return {{"kind", a.kind},
          {"artifact_id", a.id},
          {"asset_id", a.parent_asset_id},
          {"backend_version", str("backend_version")},
          {"model_used", str("model_used")},
          {"cache_key", str("cache_key")},
          {"used", used}};
}

}  // namespace

// For each clip with an enabled face_blur: the region summary it names (params.source_summary_id,
// when it still exists on the clip's asset) else the newest one of the clip's asset (made from
// the same source: the asset itself or the clip's artifact). Then the dependency notices: per
// source asset, the newest video_region_summary, visual_meta and asr_transcript, plus any
// summary face_blur used that is not the newest.
Status RenderService::resolve_analysis(const Scope& scope, Prepared& p) {
  AnalysisArtifacts artifacts(media_);
  std::set<std::string> used;
  std::vector<DerivedArtifact> used_older;
  for (const auto& clip : p.snapshot.clips) {
    double strength = 0.5;
    std::string summary_id;
    if (!clip_wants_face_blur(p.snapshot, clip.id, &strength, &summary_id)) continue;
    if (!p.sources.count(render_source_key(clip))) continue;
    std::optional<DerivedArtifact> summary;
    if (!summary_id.empty()) {
      auto a = artifacts.artifact_of_kind(scope, summary_id, "video_region_summary");
      if (a.ok() && a->parent.id == clip.asset_id) summary = a->artifact;
    }
    if (!summary) {
      const nlohmann::json want =
          clip.artifact_id ? nlohmann::json(*clip.artifact_id) : nlohmann::json(nullptr);
      summary = artifacts.newest(
          scope, clip.asset_id, "video_region_summary", [&want](const DerivedArtifact& a) {
            return a.meta.value("source_artifact_id", nlohmann::json(nullptr)) == want;
          });
    }
    if (!summary) continue;  // the planner warns: video_regions_missing
    ATOMCUT_ASSIGN_OR_RETURN(nlohmann::json doc, artifacts.read_json(scope, *summary));
    ATOMCUT_ASSIGN_OR_RETURN(FaceBlurSpec spec, face_blur_spec_of(doc));
    spec.summary_id = summary->id;
    spec.backend_version = summary->meta.value("backend_version", std::string());
    spec.strength = strength;
    p.face_blur[clip.id] = std::move(spec);
    if (used.insert(summary->id).second) used_older.push_back(*summary);
  }
  std::set<std::string> assets;
  for (const auto& [key, src] : p.sources) assets.insert(src.asset_id);
  std::set<std::string> listed;
  for (const auto& asset_id : assets) {
    for (const char* kind : {"video_region_summary", "visual_meta", "asr_transcript"}) {
      auto a = artifacts.newest(scope, asset_id, kind);
      if (!a) continue;
      listed.insert(a->id);
      p.dependency_notices.push_back(dependency_notice(*a, used.count(a->id) > 0));
    }
  }
  for (const auto& a : used_older) {
    if (!listed.count(a.id)) p.dependency_notices.push_back(dependency_notice(a, true));
  }
  return {};
}

Result<RenderService::Prepared> RenderService::prepare(const RequestContext& ctx,
                                                       const RenderRequest& request) {
  ATOMCUT_TRY(validate(request));
  if (request.storage != StorageTarget::kLocal) {
    return Error::failed_precondition(
        fmt::format("storage target '{}' is not configured on this server: renders go to its "
                    "blob store (storage 'local')",
                    enum_name(kStorageTargetNames, request.storage)),
        {{"field", "storage"}, {"allowed", {"local"}}});
  }
  Prepared p;
  p.request = request;
  const Scope scope = scope_of(ctx);
  std::string project_profile(kDefaultRenderProfile);
  if (request.project_id) {
    ATOMCUT_ASSIGN_OR_RETURN(TimelineTree tree, timeline_.load_tree(scope, *request.project_id));
    ATOMCUT_ASSIGN_OR_RETURN(p.snapshot, snapshot_of(tree, request.sequence_id));
    p.project_id = tree.project.id;
    project_profile = tree.project.render_profile;
  } else {
    p.snapshot = *request.sequence_snapshot;
  }
  ATOMCUT_ASSIGN_OR_RETURN(p.profile,
                           find_render_profile(request.render_profile.value_or(project_profile)));

  for (const auto& clip : p.snapshot.clips) {
    const std::string key = render_source_key(clip);
    if (p.sources.count(key)) continue;
    auto src = resolve_source(scope, clip.asset_id, clip.artifact_id);
    if (src.ok()) {
      p.sources.emplace(key, std::move(src).value());
    } else if (src.error().code != ErrorCode::kNotFound) {
      return src.take_error();
    }
  }
  if (request.use_voice_enhanced_audio) {
    // The newest audio_voice_enhanced artifact of each source (of the requested mode).
    for (const auto& [key, src] : p.sources) {
      auto asset = media_.get_asset(scope, src.asset_id);
      if (!asset.ok()) continue;
      for (auto it = asset->artifacts.rbegin(); it != asset->artifacts.rend(); ++it) {
        const auto& a = *it;
        if (a.kind != "audio_voice_enhanced") continue;
        const nlohmann::json want =
            src.artifact_id ? nlohmann::json(*src.artifact_id) : nlohmann::json(nullptr);
        if (a.meta.value("source_artifact_id", nlohmann::json(nullptr)) != want) continue;
        const std::string mode = a.meta.value("mode", std::string());
        if (request.voice_enhance_mode && mode != *request.voice_enhance_mode) continue;
        auto ref = media_.artifact_content(scope, a.id);
        if (!ref.ok()) continue;
        auto path = ref->local_path ? ref->local_path : media_.blobs().local_path(ref->storage_key);
        if (!path) continue;
        p.enhanced_audio.emplace(key, EnhancedAudio{a.id, *path, mode});
        break;
      }
    }
  }
  ATOMCUT_TRY(resolve_analysis(scope, p));
  if (request.watermark && request.watermark->asset_id) {
    auto wm = resolve_source(scope, *request.watermark->asset_id, std::nullopt);
    if (!wm.ok()) {
      Error e = wm.take_error();
      e.details["field"] = "watermark.asset_id";
      return e;
    }
    if (!wm->has_video) {
      return Error::invalid_argument(
          fmt::format("watermark.asset_id: asset {} has no picture (an image or video is needed)",
                      *request.watermark->asset_id),
          {{"field", "watermark.asset_id"}});
    }
    p.watermark = std::move(wm).value();
  }
  if (request.watermark && request.watermark->text) {
    auto font = find_font();
    if (!font) {
      return Error::failed_precondition(
          "text watermarks need a font: install fonts-dejavu-core (scripts/setup.sh does)",
          {{"field", "watermark.text"}});
    }
    p.font = *font;
  }
  return p;
}

Result<RenderSource> RenderService::resolve_source(const Scope& scope, const std::string& asset_id,
                                                   const std::optional<std::string>& artifact_id) {
  RenderSource s;
  s.asset_id = asset_id;
  s.artifact_id = artifact_id;
  if (artifact_id) {
    ATOMCUT_ASSIGN_OR_RETURN(ArtifactWithParent a, media_.get_artifact(scope, *artifact_id));
    if (a.parent.id != asset_id) {
      return Error::not_found(
          fmt::format("artifact {} is not an artifact of asset {}", *artifact_id, asset_id));
    }
    ATOMCUT_ASSIGN_OR_RETURN(ContentRef ref, media_.artifact_content(scope, *artifact_id));
    auto path = ref.local_path ? ref.local_path : media_.blobs().local_path(ref.storage_key);
    if (!path) return Error::unimplemented("rendering needs media in a local blob store");
    s.path = *path;
    auto probe = probe_media(s.path);
    if (!probe.ok()) {
      return Error::invalid_argument(
          fmt::format("artifact {} is not readable media: {}", *artifact_id, probe.error().message),
          {{"artifact_id", *artifact_id}});
    }
    s.kind = probe->kind;
    s.duration_ms = probe->duration_ms;
    s.has_audio = probe->audio_channels.value_or(0) > 0;
    s.has_video = probe->kind != MediaKind::kAudio && probe->width.value_or(0) > 0;
    set_display_size(s, probe->width, probe->height, probe->rotation);
    return s;
  }
  ATOMCUT_ASSIGN_OR_RETURN(AssetWithArtifacts a, media_.get_asset(scope, asset_id));
  if (a.asset.kind == MediaKind::kOther) {
    return Error::invalid_argument(
        fmt::format("asset {} is not readable media (it failed to probe when registered)",
                    asset_id),
        {{"asset_id", asset_id}, {"reason", "not_media"}});
  }
  ATOMCUT_ASSIGN_OR_RETURN(ContentRef ref, media_.asset_content(scope, asset_id));
  auto path = ref.local_path ? ref.local_path : media_.blobs().local_path(ref.storage_key);
  if (!path) return Error::unimplemented("rendering needs media in a local blob store");
  s.path = *path;
  s.kind = a.asset.kind;
  s.duration_ms = a.asset.duration_ms;
  s.has_audio = a.asset.audio_channels.value_or(0) > 0;
  s.has_video = a.asset.kind != MediaKind::kAudio && a.asset.width.value_or(0) > 0;
  set_display_size(s, a.asset.width, a.asset.height, a.asset.rotation);
  return s;
}

Result<RenderPlan> RenderService::plan(const Prepared& p,
                                       const std::optional<LoudnessMeasurement>& m) const {
  PlannerInput in;
  in.request = &p.request;
  in.profile = p.profile;
  in.snapshot = &p.snapshot;
  in.project_id = p.project_id;
  in.sources = &p.sources;
  in.enhanced_audio = &p.enhanced_audio;
  in.watermark_image = p.watermark ? &*p.watermark : nullptr;
  in.watermark_font = p.font;
  in.encoder = encoder_;
  in.encoder.encoder = std::string(p.profile->video_codec);
  in.loudness = m;
  in.face_blur = &p.face_blur;
  ATOMCUT_ASSIGN_OR_RETURN(RenderPlan plan, plan_render(in));
  plan.meta["dependency_notices"] = p.dependency_notices;
  return plan;
}

Result<nlohmann::json> RenderService::dry_run(const RequestContext& ctx,
                                              const RenderRequest& request) {
  ATOMCUT_ASSIGN_OR_RETURN(Prepared p, prepare(ctx, request));
  ATOMCUT_ASSIGN_OR_RETURN(RenderPlan plan, plan(p, std::nullopt));
  const std::string out = request.output_path.value_or("render" + plan.extension);
  const auto argv = plan.argv(out, false);
  nlohmann::json j;
  j["render_profile"] = p.profile->name;
  j["plan"] = to_json(plan);
  j["command"] = {{"argv", argv}, {"line", shell_quote_command(argv)}};
  j["filter_graph"] = plan.filter_graph();
  j["meta"] = plan.meta;
  if (request.normalize_audio) {
    const auto measure = loudness_measure_argv(plan);
    j["loudness_measure_command"] = {{"argv", measure}, {"line", shell_quote_command(measure)}};
  }
  j["executed"] = false;
  return j;
}

Result<LoudnessMeasurement> RenderService::measure_loudness(const RenderPlan& plan, int timeout_ms,
                                                            const CancelToken* cancel) {
  FfmpegRunOptions o;
  o.timeout_ms = timeout_ms;
  o.stderr_tail_bytes = kStderrTailBytes;
  o.cancel = cancel;
  ATOMCUT_ASSIGN_OR_RETURN(FfmpegRunResult r, run_ffmpeg(loudness_measure_argv(plan), o));
  if (r.outcome != FfmpegOutcome::kSucceeded) return ffmpeg_error(r, o);
  auto m = parse_loudnorm_json(r.stderr_tail);
  if (!m.ok()) {
    return Error::internal(
        fmt::format("loudness measurement failed: {}", m.error().message),
        {{"stderr_tail",
          r.stderr_tail.substr(r.stderr_tail.size() > 2000 ? r.stderr_tail.size() - 2000 : 0)}});
  }
  return m;
}

void RenderService::cancel_all() {
  std::lock_guard lock(tokens_mu_);
  for (CancelToken* t : tokens_) t->cancel();
}

Result<RenderOutcome> RenderService::render(
    const RequestContext& ctx, const RenderRequest& request,
    const std::function<void(const FfmpegProgress&)>& on_progress, const CancelToken* cancel) {
  // Admission: a bounded number of ffmpeg renders at once.
  if (running_.fetch_add(1) >= options_.max_concurrent) {
    running_.fetch_sub(1);
    return Error::resource_exhausted(
        fmt::format("{} renders are already running: retry when one finishes",
                    options_.max_concurrent),
        {{"max_concurrent", options_.max_concurrent}});
  }
  CancelToken token;
  {
    std::lock_guard lock(tokens_mu_);
    tokens_.insert(&token);
  }
  struct Release {
    RenderService* s;
    CancelToken* t;
    ~Release() {
      std::lock_guard lock(s->tokens_mu_);
      s->tokens_.erase(t);
      s->running_.fetch_sub(1);
    }
  } release{this, &token};

  ATOMCUT_ASSIGN_OR_RETURN(Prepared p, prepare(ctx, request));
  ATOMCUT_ASSIGN_OR_RETURN(RenderPlan plan, plan(p, std::nullopt));
  nlohmann::json missing = nlohmann::json::array();
  for (const auto& w : plan.meta["warnings"]) {
    if (w.value("code", "") == "missing_asset") missing.push_back(w);
  }
  if (!missing.empty()) {
    return Error::failed_precondition(
        fmt::format("{} clip(s) use media that no longer exists (first: {}): fix or remove them, "
                    "or preview with /video/render/dry-run",
                    missing.size(), missing[0].value("asset_id", "")),
        {{"missing", missing}});
  }
  const int timeout_ms = static_cast<int>(
      std::min<int64_t>(request.timeout_ms.value_or(options_.timeout_ms), options_.timeout_ms));
  const auto started = std::chrono::steady_clock::now();
  auto forward_cancel = [&] {
    if (cancel && cancel->cancelled()) token.cancel();
  };
  forward_cancel();

  nlohmann::json loudness_result;
  if (request.normalize_audio) {
    ATOMCUT_ASSIGN_OR_RETURN(LoudnessMeasurement m, measure_loudness(plan, timeout_ms, &token));
    ATOMCUT_ASSIGN_OR_RETURN(plan, this->plan(p, m));
  }
  const double measure_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  // ffmpeg writes straight into the blob store's staging file when it has one.
  ATOMCUT_ASSIGN_OR_RETURN(auto writer, media_.blobs().new_writer());
  TempFile temp_out;
  std::string out_path;
  if (auto staging = writer->local_staging_path()) {
    out_path = *staging;
  } else {
    ATOMCUT_ASSIGN_OR_RETURN(temp_out.path, temp_path(plan.extension));
    out_path = temp_out.path;
  }
  TempFile script;
  const std::string graph = plan.filter_graph();
  if (graph.size() > kMaxInlineGraphBytes) {
    ATOMCUT_ASSIGN_OR_RETURN(script.path, temp_path(".txt"));
    std::ofstream(script.path) << graph;
  }
  FfmpegRunOptions o;
  o.timeout_ms = timeout_ms;
  o.stderr_tail_bytes = kStderrTailBytes;
  o.cancel = &token;
  auto last_log = std::chrono::steady_clock::now();
  o.on_progress = [&](const FfmpegProgress& pr) {
    forward_cancel();
    if (on_progress) on_progress(pr);
    // The server log shows long renders moving (every 10 s at most).
    const auto now = std::chrono::steady_clock::now();
    if (now - last_log >= std::chrono::seconds(10) && plan.frames > 0) {
      last_log = now;
      spdlog::info("render {} frames {}/{} ({:.0f}%), speed {:.2f}x", p.snapshot.sequence.id,
                   pr.frame, plan.frames, 100.0 * pr.frame / plan.frames, pr.speed);
    }
  };
  ATOMCUT_ASSIGN_OR_RETURN(FfmpegRunResult run,
                           run_ffmpeg(plan.argv(out_path, true, script.path), o));
  if (run.outcome != FfmpegOutcome::kSucceeded) {
    writer->abort();
    return ffmpeg_error(run, o);
  }
  if (request.normalize_audio) {
    std::smatch m;
    static const std::regex kType("\"normalization_type\"\\s*:\\s*\"([a-z]+)\"");
    if (std::regex_search(run.stderr_tail, m, kType)) {
      plan.meta["loudness"]["normalization_type"] = m[1].str();
    }
    plan.meta["loudness"]["measure_seconds"] = measure_s;
  }
  if (!temp_out.path.empty()) {
    for (;;) {
      std::ifstream in(temp_out.path, std::ios::binary);
      std::vector<char> buf(1 << 20);
      Status st;
      while (in && st.ok()) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        if (in.gcount() > 0) st = writer->write(buf.data(), static_cast<size_t>(in.gcount()));
      }
      ATOMCUT_TRY(st);
      break;
    }
  }
  ATOMCUT_ASSIGN_OR_RETURN(std::string sha, sha256_file(out_path));
  const double render_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  const std::string asset_id = new_id("ast");
  AssetFields fields;
  fields.tags = {"render"};
  fields.original_filename = request.output_path.value_or("render" + plan.extension);
  fields.source_ref = p.project_id.empty()
                          ? "render:inline/" + p.snapshot.sequence.id
                          : "render:" + p.project_id + "/" + p.snapshot.sequence.id;
  nlohmann::json asset_meta = {
      {"ingest", "render"},
      {"render",
       {{"project_id",
         p.project_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.project_id)},
        {"sequence_id", p.snapshot.sequence.id},
        {"render_profile", p.profile->name}}}};
  ATOMCUT_ASSIGN_OR_RETURN(
      MediaAsset asset,
      media_.create_from_output(ctx, asset_id, std::move(writer), "render" + plan.extension, sha,
                                fields, asset_meta));

  const auto argv = plan.argv("render" + plan.extension, false);
  ArtifactFields af;
  af.kind = "render";
  af.uri = asset.source_uri;
  af.start_ms = plan.meta["window_ms"]["start_ms"].get<int64_t>();
  af.end_ms = plan.meta["window_ms"]["end_ms"].get<int64_t>();
  af.meta = plan.meta;
  af.meta["render_cache_key"] = sha256_hex(to_json(plan).dump());
  af.meta["ffmpeg_version"] = ffmpeg_version();
  af.meta["render_seconds"] = render_s;
  af.meta["output"] = {
      {"sha256", sha},
      {"size_bytes", asset.size_bytes},
      {"duration_ms", asset.duration_ms ? nlohmann::json(*asset.duration_ms) : nullptr}};
  auto artifact = media_.register_artifact(ctx, asset.id, af);
  if (!artifact.ok()) {
    (void)media_.delete_asset(scope_of(ctx), asset.id);
    return artifact.take_error();
  }
  spdlog::info("render {} ({}, {} frames) done in {:.2f} s", asset.id, p.profile->name, plan.frames,
               render_s);

  RenderOutcome out;
  out.asset_id = asset.id;
  out.artifact_id = artifact->id;
  out.uri = asset.source_uri;
  out.profile = std::string(p.profile->name);
  out.plan_preview = plan.meta;
  out.plan_preview["command"] = shell_quote_command(argv);
  out.plan_preview["duration_ms"] = plan.duration_ms;
  out.artifact = to_json(artifact.value());
  return out;
}

}  // namespace atomcut

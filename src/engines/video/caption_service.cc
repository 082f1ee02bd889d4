#include "engines/video/caption_service.h"

#include "core/model/timeline_record.h"
#include "core/sha256.h"
#include "engines/video/frame_sampler.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>

namespace atomcut {

namespace {

constexpr const char* kCaptionStubVersion = "asr_stub_v1";
constexpr const char* kMaskStubVersion = "mask_stub_v1";
constexpr std::array<std::string_view, 6> kMaskTypes = {"object", "person",     "face",
                                                        "region", "background", "custom"};

int64_t now_steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Error field_error(const std::string& field, const std::string& rule,
                  nlohmann::json extra = nlohmann::json::object()) {
  extra["field"] = field;
  return Error::invalid_argument(fmt::format("{} {}", field, rule), std::move(extra));
}

// The id rules of the other atoms: short, printable.
Status check_id(const std::string& field, const std::string& id) {
  if (id.empty() || id.size() > 128 || !std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
      })) {
    return field_error(field, "must be an id of 1..128 letters, digits, '_' or '-'");
  }
  return {};
}

std::vector<CaptionWord> caption_words(const nlohmann::json& transcript) {
  std::vector<CaptionWord> out;
  for (auto& w : asr_transcript_words(transcript)) {
    out.push_back({std::move(w.word), w.start_ms, w.end_ms});
  }
  return out;
}

}  // namespace

// ---- captions -------------------------------------------------------------------------------

Result<CaptionRequest> caption_request_from_json(const nlohmann::json& j) {
  FieldReader r(j, "captions_generate");
  CaptionRequest q;
  q.asset_id = r.str("asset_id");
  q.clip_id = r.opt_str("clip_id");
  q.language = r.str("language", "en");
  q.backend = r.opt_str("backend");
  if (!q.backend) q.backend = r.opt_str("model_name");
  if (!r.ok()) return r.take_error();
  if (q.asset_id.empty() && !q.clip_id) {
    return Error::invalid_argument("captions_generate needs asset_id or clip_id",
                                   {{"field", "asset_id"}});
  }
  if (!q.asset_id.empty()) ATOMCUT_TRY(check_id("asset_id", q.asset_id));
  if (q.clip_id) ATOMCUT_TRY(check_id("clip_id", *q.clip_id));
  if (q.language != "en" && q.language != "en-us" && q.language != "en-US") {
    return field_error("language",
                       fmt::format("'{}' is not available: the recogniser here speaks English "
                                   "(\"en\" or \"en-us\")",
                                   q.language.substr(0, 40)),
                       {{"available", {"en", "en-us"}}});
  }
  if (q.backend && (q.backend->empty() || q.backend->size() > 64)) {
    return field_error("backend", "must be a backend name (see GET /audio/backends)");
  }
  return q;
}

CaptionService::CaptionService(MediaService& media, TimelineService& timeline, AudioService& audio,
                               CaptionServiceOptions options)
    : media_(media),
      timeline_(timeline),
      audio_(audio),
      options_(std::move(options)),
      artifacts_(media) {
  // The captions backends are the ASR atom's: what it has is what captions can use.
  std::optional<BackendInfo> sphinx;
  std::optional<BackendInfo> stub;
  for (const auto& b : audio_.backends()) {
    if (b.atom != "asr") continue;
    if (b.name == "pocketsphinx") sphinx = b;
    if (b.name == "stub") stub = b;
  }
  std::string def = options_.default_backend.empty() ? "pocketsphinx" : options_.default_backend;
  if (def != "pocketsphinx" && def != "stub") {
    spdlog::warn(
        "VIDEO_CAPTIONS_BACKEND '{}' is not a captions backend (pocketsphinx, stub): "
        "using pocketsphinx",
        def);
    def = "pocketsphinx";
  }
  registry_.add({"captions", "pocketsphinx", sphinx ? sphinx->version : "pocketsphinx",
                 sphinx && sphinx->available, def == "pocketsphinx",
                 sphinx ? "speech recognition by the ASR atom: " + sphinx->detail
                        : "the ASR atom has no pocketsphinx backend"});
  registry_.add({"captions", "stub", stub ? stub->version : kCaptionStubVersion, true,
                 def == "stub", "no recognition: an empty transcript, no cues"});
}

CaptionService::~CaptionService() = default;

std::vector<BackendInfo> CaptionService::backends() const { return registry_.all(); }

Result<CaptionResult> CaptionService::generate(const RequestContext& ctx, const CaptionRequest& q) {
  ATOMCUT_ASSIGN_OR_RETURN(ChosenBackend backend, registry_.choose("captions", q.backend));
  const Scope scope = scope_of(ctx);
  AudioSourceRef source{q.asset_id, std::nullopt};
  std::optional<ClipSource> clip;
  if (q.clip_id) {
    ATOMCUT_ASSIGN_OR_RETURN(ClipSource w, timeline_.clip_source(scope, *q.clip_id));
    if (!q.asset_id.empty() && q.asset_id != w.asset_id) {
      return field_error("asset_id", fmt::format("({}) is not the asset of clip {} ({})",
                                                 q.asset_id, *q.clip_id, w.asset_id));
    }
    source = {w.asset_id, w.artifact_id};
    clip = std::move(w);
  }
  AudioAsrRequest asr;
  asr.sources = {source};
  asr.model_name = backend.info.name;
  asr.language = q.language;
  ATOMCUT_ASSIGN_OR_RETURN(AudioOutcome out, audio_.asr(ctx, asr));
  if (out.outputs.size() != 1) return Error::internal("the ASR atom returned no transcript");
  AudioOutput& o = out.outputs.front();
  const DerivedArtifact& a = o.artifact;

  ATOMCUT_ASSIGN_OR_RETURN(
      std::vector<CaptionCue> cues,
      cues_of(scope, a.id, clip ? std::optional(clip->clip_id) : std::nullopt));
  const std::string suffix = clip ? "?clip_id=" + clip->clip_id : "";
  nlohmann::json meta = a.meta;
  meta["cache_hit"] = o.cache_hit;
  if (backend.fallback_reason) meta["captions_fallback_reason"] = *backend.fallback_reason;
  nlohmann::json body = {{"artifact_id", a.id},
                         {"asset_id", a.parent_asset_id},
                         {"kind", a.kind},
                         {"uri", a.uri},
                         {"backend", backend.info.name},
                         {"requested_backend", backend.requested},
                         {"language", q.language},
                         {"cue_count", cues.size()},
                         {"word_count", a.meta.value("word_count", 0)},
                         {"srt_url", fmt::format("/video/captions/{}/srt{}", a.id, suffix)},
                         {"vtt_url", fmt::format("/video/captions/{}/vtt{}", a.id, suffix)},
                         {"cache_hit", o.cache_hit},
                         {"meta", meta}};
  if (clip) {
    body["clip_id"] = clip->clip_id;
    body["clip_window_ms"] = {clip->in_ms, clip->out_ms};
  }
  if (o.summary.contains("text")) body["text"] = o.summary["text"];
  return CaptionResult{a, o.cache_hit, std::move(body)};
}

Result<std::string> CaptionService::render(const Scope& scope, const std::string& artifact_id,
                                           const std::optional<std::string>& clip_id,
                                           CaptionFormat format) {
  ATOMCUT_ASSIGN_OR_RETURN(std::vector<CaptionCue> cues, cues_of(scope, artifact_id, clip_id));
  return format == CaptionFormat::kSrt ? write_srt(cues) : write_vtt(cues);
}

Result<std::vector<CaptionCue>> CaptionService::cues_of(const Scope& scope,
                                                        const std::string& artifact_id,
                                                        const std::optional<std::string>& clip_id) {
  ATOMCUT_ASSIGN_OR_RETURN(ArtifactWithParent a,
                           artifacts_.artifact_of_kind(scope, artifact_id, "asr_transcript"));
  ATOMCUT_ASSIGN_OR_RETURN(nlohmann::json doc, artifacts_.read_json(scope, a.artifact));
  std::vector<CaptionWord> words = caption_words(doc);
  CaptionOptions opts;
  if (doc.contains("duration_ms") && doc["duration_ms"].is_number()) {
    opts.end_limit_ms = static_cast<int64_t>(std::llround(doc["duration_ms"].get<double>()));
  }
  if (clip_id) {
    ATOMCUT_TRY(check_id("clip_id", *clip_id));
    ATOMCUT_ASSIGN_OR_RETURN(ClipSource c, timeline_.clip_source(scope, *clip_id));
    const nlohmann::json clip_artifact =
        c.artifact_id ? nlohmann::json(*c.artifact_id) : nlohmann::json(nullptr);
    const nlohmann::json source_artifact =
        a.artifact.meta.value("source_artifact_id", nlohmann::json(nullptr));
    if (c.asset_id != a.parent.id || clip_artifact != source_artifact) {
      return field_error("clip_id",
                         fmt::format("({}) plays other media than transcript {} was made from",
                                     *clip_id, artifact_id));
    }
    const int64_t in_ms = c.in_ms;
    const int64_t out_ms = c.out_ms;
    // Words said inside [in_ms, out_ms), moved onto the clip's own time (speed applied).
    std::vector<CaptionWord> inside;
    for (auto w : words) {
      if (w.start_ms < in_ms || w.start_ms >= out_ms) continue;
      w.end_ms = std::min(w.end_ms, out_ms);
      w.start_ms = c.clip_ms(w.start_ms);
      w.end_ms = c.clip_ms(w.end_ms);
      inside.push_back(std::move(w));
    }
    words = std::move(inside);
    opts.end_limit_ms = c.clip_ms(out_ms);
  }
  return build_captions(words, opts);
}

// ---- masks ----------------------------------------------------------------------------------

namespace {

std::optional<MaskPoint> read_point(FieldReader& r, bool with_label) {
  MaskPoint p;
  p.x = r.num("x", std::nan(""));
  p.y = r.num("y", std::nan(""));
  if (with_label) {
    const std::string label = r.str("label", "positive");
    if (label == "positive" || label == "foreground" || label == "1") {
      p.positive = true;
    } else if (label == "negative" || label == "background" || label == "0") {
      p.positive = false;
    } else {
      r.fail("label", "must be \"positive\" or \"negative\"");
    }
  }
  if (!r.ok()) return std::nullopt;
  if (std::isnan(p.x)) {
    r.fail("x", "is required (0..1)");
  } else if (std::isnan(p.y)) {
    r.fail("y", "is required (0..1)");
  }
  if (!r.ok()) return std::nullopt;
  return p;
}

// The prompt as canonical JSON: same selection, same bytes.
nlohmann::json canonical_prompt(const MaskPrompt& p) {
  auto num = [](double v) { return std::round(v * 1e6) / 1e6; };
  nlohmann::json j = nlohmann::json::object();
  if (p.box) {
    j["box"] = {num(p.box->x), num(p.box->y), num(p.box->width), num(p.box->height)};
  }
  nlohmann::json pts = nlohmann::json::array();
  for (const auto& q : p.points) pts.push_back({num(q.x), num(q.y), q.positive ? 1 : 0});
  j["points"] = pts;
  nlohmann::json strokes = nlohmann::json::array();
  for (const auto& s : p.strokes) {
    nlohmann::json line = nlohmann::json::array();
    for (const auto& q : s.points) line.push_back({num(q.x), num(q.y)});
    strokes.push_back({{"points", line}, {"positive", s.positive}, {"radius", num(s.radius)}});
  }
  j["strokes"] = strokes;
  return j;
}

// The stub backend: the box filled, else discs at the positive points and strokes; negative
// points cut discs out. Never feathered.
AutoMask stub_mask(int w, int h, const MaskPrompt& p) {
  AutoMask m;
  m.width = w;
  m.height = h;
  m.working_width = w;
  m.working_height = h;
  m.alpha.assign(static_cast<size_t>(w) * h, 0);
  const double r = 0.05 * std::min(w, h);
  auto disc = [&](double cx, double cy, uint8_t v) {
    for (int y = std::max(0, static_cast<int>(cy - r));
         y < std::min(h, static_cast<int>(cy + r) + 1); ++y) {
      for (int x = std::max(0, static_cast<int>(cx - r));
           x < std::min(w, static_cast<int>(cx + r) + 1); ++x) {
        if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r) {
          m.alpha[static_cast<size_t>(y) * w + x] = v;
        }
      }
    }
  };
  if (p.box) {
    const int x0 = static_cast<int>(p.box->x * w), y0 = static_cast<int>(p.box->y * h);
    const int x1 = std::min(w, static_cast<int>(std::ceil((p.box->x + p.box->width) * w)));
    const int y1 = std::min(h, static_cast<int>(std::ceil((p.box->y + p.box->height) * h)));
    for (int y = y0; y < y1; ++y) {
      std::fill_n(m.alpha.begin() + static_cast<std::ptrdiff_t>(y) * w + x0, std::max(0, x1 - x0),
                  255);
    }
  } else {
    for (const auto& q : p.points) {
      if (q.positive) disc(q.x * w, q.y * h, 255);
    }
    for (const auto& s : p.strokes) {
      for (const auto& q : s.points) disc(q.x * w, q.y * h, s.positive ? 255 : 0);
    }
  }
  for (const auto& q : p.points) {
    if (!q.positive) disc(q.x * w, q.y * h, 0);
  }
  size_t on = 0;
  for (uint8_t a : m.alpha) on += a >= 128;
  m.coverage = static_cast<double>(on) / (static_cast<double>(w) * h);
  return m;
}

}  // namespace

Result<MaskRequest> mask_request_from_json(const nlohmann::json& j) {
  FieldReader r(j, "mask_request");
  MaskRequest q;
  q.asset_id = r.str("asset_id");
  q.artifact_id = r.opt_str("artifact_id");
  const int64_t ts = r.i64("timestamp_ms", 0);
  const int64_t feather = r.i64("feather_radius", 0);
  q.mask_type = r.str("mask_type", "object");
  q.backend = r.opt_str("backend");
  if (auto box = r.child("box")) {
    MaskBox b;
    b.x = box->num("x", std::nan(""));
    b.y = box->num("y", std::nan(""));
    b.width = box->num("width", std::nan(""));
    b.height = box->num("height", std::nan(""));
    if (!box->ok()) {
      r.absorb(box->take_error());
    } else if (std::isnan(b.x) || std::isnan(b.y) || std::isnan(b.width) || std::isnan(b.height)) {
      return field_error("box", "needs x, y, width and height (numbers, normalised 0..1)");
    } else {
      q.prompt.box = b;
    }
  }
  r.for_each_object("points", [&q](FieldReader& e) {
    if (auto p = read_point(e, true)) q.prompt.points.push_back(*p);
  });
  r.for_each_object("strokes", [&q](FieldReader& e) {
    MaskStroke s;
    const std::string label = e.str("label", "positive");
    s.positive = label != "negative" && label != "background";
    if (label != "positive" && label != "foreground" && s.positive) {
      e.fail("label", "must be \"positive\" or \"negative\"");
    }
    s.radius = e.num("radius", 0.01);
    e.for_each_object("points", [&s](FieldReader& pe) {
      if (auto p = read_point(pe, false)) s.points.push_back(*p);
    });
    if (e.ok()) q.prompt.strokes.push_back(std::move(s));
  });
  if (!r.ok()) return r.take_error();
  if (q.asset_id.empty()) return field_error("asset_id", "is required");
  ATOMCUT_TRY(check_id("asset_id", q.asset_id));
  if (q.artifact_id) ATOMCUT_TRY(check_id("artifact_id", *q.artifact_id));
  if (ts < 0 || ts > int64_t{24} * 3600 * 1000) {
    return field_error("timestamp_ms", fmt::format("({}) must be in 0..86400000", ts));
  }
  q.timestamp_ms = ts;
  if (feather < 0 || feather > 100) {
    return field_error("feather_radius", fmt::format("({}) must be in 0..100 px", feather));
  }
  q.feather_radius = static_cast<int>(feather);
  if (std::find(kMaskTypes.begin(), kMaskTypes.end(), q.mask_type) == kMaskTypes.end()) {
    return field_error("mask_type", fmt::format("'{}' must be one of object, person, face, region, "
                                                "background, custom",
                                                q.mask_type.substr(0, 40)));
  }
  if (q.prompt.points.size() > 256 || q.prompt.strokes.size() > 64) {
    return field_error(q.prompt.points.size() > 256 ? "points" : "strokes",
                       "has too many entries (at most 256 points and 64 strokes)");
  }
  for (size_t i = 0; i < q.prompt.strokes.size(); ++i) {
    if (q.prompt.strokes[i].points.size() > 1024) {
      return field_error(fmt::format("strokes[{}].points", i), "has more than 1024 points");
    }
  }
  ATOMCUT_TRY(validate_mask_prompt(q.prompt));
  return q;
}

MaskService::MaskService(MediaService& media) : media_(media), artifacts_(media) {
  registry_.add({"masks", "grabcut", auto_mask_backend_version(), true, true,
                 "OpenCV GrabCut from a box and/or point and stroke seeds"});
  registry_.add({"masks", "stub", kMaskStubVersion, true, false,
                 "no segmentation: the box filled, or discs at the positive points"});
}

MaskService::~MaskService() = default;

Result<MaskResult> MaskService::auto_mask(const RequestContext& ctx, const MaskRequest& q) {
  ATOMCUT_ASSIGN_OR_RETURN(ChosenBackend backend, registry_.choose("masks", q.backend));
  ATOMCUT_TRY(validate_mask_prompt(q.prompt));
  const Scope scope = scope_of(ctx);
  ATOMCUT_ASSIGN_OR_RETURN(AnalysisInput in,
                           artifacts_.resolve(scope, q.asset_id, q.artifact_id, NeedStream::kAny));
  if (in.asset.kind == MediaKind::kAudio) {
    return Error::invalid_argument(
        fmt::format("asset {} has no pictures (audio): masks need a video or an image",
                    in.asset.id),
        {{"asset_id", in.asset.id}, {"reason", "no_video_stream"}});
  }
  const nlohmann::json selection = {{"prompt", canonical_prompt(q.prompt)},
                                    {"timestamp_ms", q.timestamp_ms},
                                    {"source_asset_id", in.asset.id},
                                    {"source_artifact_id", in.artifact_key()}};
  const std::string selection_hash = sha256_hex(selection.dump());
  const std::string key =
      join_cache_key({"mask", in.asset.id, in.artifact_key(), selection_hash,
                      std::to_string(q.feather_radius), q.mask_type, backend.info.version});
  auto body_of = [](const DerivedArtifact& a, bool hit) {
    nlohmann::json meta = a.meta;
    meta["cache_hit"] = hit;
    return nlohmann::json{{"artifact_id", a.id},
                          {"asset_id", a.parent_asset_id},
                          {"kind", a.kind},
                          {"uri", a.uri},
                          {"content_url", "/media-v2/artifacts/" + a.id + "/content"},
                          {"timestamp_ms", a.meta.value("timestamp_ms", nlohmann::json(nullptr))},
                          {"width", a.meta.value("width", nlohmann::json(nullptr))},
                          {"height", a.meta.value("height", nlohmann::json(nullptr))},
                          {"coverage", a.meta.value("coverage", nlohmann::json(nullptr))},
                          {"cache_hit", hit},
                          {"meta", meta}};
  };
  if (auto hit = artifacts_.find_cached(scope, in.asset.id, "mask", key)) {
    return MaskResult{*hit, true, body_of(*hit, true)};
  }

  const int64_t t0 = now_steady_ms();
  ATOMCUT_ASSIGN_OR_RETURN(auto sampler, FrameSampler::open(in.path, {}));
  VideoFrame frame;
  ATOMCUT_ASSIGN_OR_RETURN(bool shown, sampler->frame_at(q.timestamp_ms, frame));
  if (!shown) {
    const int64_t d = sampler->info().duration_ms;
    return Error::invalid_argument(
        fmt::format("timestamp_ms ({}) is past the end of the video ({} ms)", q.timestamp_ms, d),
        {{"field", "timestamp_ms"}, {"reason", "past_end"}, {"duration_ms", d}});
  }
  AutoMask mask;
  if (backend.stub()) {
    mask = stub_mask(frame.width, frame.height, q.prompt);
  } else {
    AutoMaskOptions o;
    o.feather_radius_px = q.feather_radius;
    ATOMCUT_ASSIGN_OR_RETURN(mask, segment_object(frame, q.prompt, o));
  }
  const int64_t took = now_steady_ms() - t0;

  size_t positive_strokes = 0;
  for (const auto& s : q.prompt.strokes) positive_strokes += s.positive;
  nlohmann::json meta = source_meta(in);
  meta["mask_type"] = q.mask_type;
  meta["feather_radius"] = q.feather_radius;
  meta["selection_hash"] = selection_hash;
  meta["prompt"] = canonical_prompt(q.prompt);
  meta["prompt_kind"] =
      q.prompt.box
          ? (q.prompt.points.empty() && q.prompt.strokes.empty() ? "box" : "box_and_points")
          : "points";
  meta["point_count"] = q.prompt.points.size();
  meta["positive_point_count"] = q.prompt.positive_points();
  meta["negative_point_count"] = q.prompt.negative_points();
  meta["stroke_count"] = q.prompt.strokes.size();
  meta["positive_stroke_count"] = positive_strokes;
  meta["negative_stroke_count"] = q.prompt.strokes.size() - positive_strokes;
  meta["timestamp_ms"] = q.timestamp_ms;
  meta["frame_pts_ms"] = frame.pts_ms;
  meta["width"] = mask.width;
  meta["height"] = mask.height;
  meta["working_width"] = mask.working_width;
  meta["working_height"] = mask.working_height;
  meta["coverage"] = std::round(mask.coverage * 1e6) / 1e6;
  meta["pixel_format"] = "gray";
  meta["backend_type"] = backend.info.name;
  meta["requested_backend"] = backend.requested;
  meta["backend_version"] = backend.info.version;
  meta["model_used"] = backend.stub() ? kMaskStubVersion : "opencv_grabcut";
  meta["cache_key"] = key;
  meta["processing_ms"] = took;
  const AutoMask& m = mask;
  ATOMCUT_ASSIGN_OR_RETURN(DerivedArtifact a,
                           artifacts_.store_file(
                               ctx, in.asset.id, "mask", "mask.png",
                               [&m](const std::string& path) -> Result<nlohmann::json> {
                                 ATOMCUT_TRY(write_mask_png(m, path));
                                 return nlohmann::json::object();
                               },
                               std::move(meta), in.offset_ms() + q.timestamp_ms, std::nullopt));
  return MaskResult{a, false, body_of(a, false)};
}

Result<nlohmann::json> MaskService::get(const Scope& scope, const std::string& artifact_id) {
  ATOMCUT_ASSIGN_OR_RETURN(ArtifactWithParent a,
                           artifacts_.artifact_of_kind(scope, artifact_id, "mask"));
  const DerivedArtifact& x = a.artifact;
  return nlohmann::json{{"artifact_id", x.id},
                        {"asset_id", x.parent_asset_id},
                        {"kind", x.kind},
                        {"uri", x.uri},
                        {"content_url", "/media-v2/artifacts/" + x.id + "/content"},
                        {"start_ms", x.start_ms ? nlohmann::json(*x.start_ms) : nullptr},
                        {"timestamp_ms", x.meta.value("timestamp_ms", nlohmann::json(nullptr))},
                        {"mask_type", x.meta.value("mask_type", nlohmann::json(nullptr))},
                        {"meta", x.meta}};
}

}  // namespace atomcut

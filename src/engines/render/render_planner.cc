#include "engines/render/render_planner.h"

#include "core/model/fx_catalog.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string_view>
#include <tuple>
#include <vector>

namespace atomcut {

namespace {

constexpr std::string_view kWorkFormat = "yuv420p";        // opaque video inside the graph
constexpr std::string_view kWorkAlphaFormat = "yuva420p";  // video with transparency

std::string num(double v) { return format_seconds(v); }

// The output's frame grid: every timeline time is snapped to it, and audio sample positions are
// derived from frames, so audio and video boundaries coincide.
struct Grid {
  int fps = 30;
  int sample_rate = 48000;
  int64_t frame_at_ms(double ms) const { return std::llround(ms * fps / 1000.0); }
  int64_t samples(int64_t frames) const {
    return std::llround(static_cast<double>(frames) * sample_rate / fps);
  }
  double seconds(int64_t frames) const { return static_cast<double>(frames) / fps; }
  int64_t ms(int64_t frames) const { return std::llround(frames * 1000.0 / fps); }
};

int even(double v) {
  int i = static_cast<int>(std::lround(v / 2.0)) * 2;
  return std::max(i, 2);
}

// One clip placed on the frame grid.
struct Placed {
  const Clip* clip = nullptr;
  const RenderSource* src = nullptr;
  int64_t start_f = 0;     // first frame on the timeline
  int64_t end_f = 0;       // end of the clip on the timeline (exclusive)
  int64_t vis_end_f = 0;   // where it stops being shown (a later clip or its transition out)
  int64_t trans_in_f = 0;  // length of the transition from the previous clip, 0: a cut
  const Transition* trans_in = nullptr;
  const TransitionSpec* trans_spec = nullptr;
  int input = -1;
  int audio_input = -1;  // a voice-enhanced sound file standing in for the source's sound
  int64_t offset_f = 0;  // frames of the clip before this piece (a tail uncovered by a later clip)
  int64_t frames() const { return vis_end_f - start_f; }
};

// Clips joined by transitions: one continuous stream on its track.
struct Group {
  std::vector<Placed*> clips;
  int64_t start_f = 0;
  int64_t end_f = 0;
};

struct TrackLayout {
  const Track* track = nullptr;
  std::vector<Placed> clips;
  std::vector<Group> groups;
};

// How a clip's picture lands on the canvas.
struct Geometry {
  std::vector<std::string> filters;  // crop / scale filters
  int w = 0, h = 0;                  // size after them
  int x = 0, y = 0;                  // top-left on the canvas
  bool full_opaque = false;          // covers the whole canvas with opacity 1
};

class Planner {
 public:
  explicit Planner(const PlannerInput& in)
      : in_(in), req_(*in.request), prof_(*in.profile), snap_(*in.snapshot) {
    grid_.fps = prof_.fps;
    grid_.sample_rate = prof_.audio_sample_rate;
    W_ = prof_.width;
    H_ = prof_.height;
  }

  Result<RenderPlan> run() {
    layout();
    report_unused_transitions();
    ATOMCUT_TRY(window());
    plan_.frames = n_frames_;
    plan_.audio_samples = grid_.samples(n_frames_);
    plan_.duration_ms = grid_.ms(n_frames_);
    composite_video();
    mix_audio();
    output_options();
    write_meta();
    return std::move(plan_);
  }

 private:
  // ---- 1. layout --------------------------------------------------------------------------

  void warn(nlohmann::json w) { warnings_.push_back(std::move(w)); }

  void layout() {
    std::vector<const Track*> tracks;
    for (const auto& t : snap_.tracks) tracks.push_back(&t);
    std::sort(tracks.begin(), tracks.end(), [](const Track* a, const Track* b) {
      return std::tie(a->order, a->id) < std::tie(b->order, b->id);
    });
    for (const Track* t : tracks) layout_track(*t);
    for (const auto& fs : snap_.filter_stacks) {
      // face_blur on a clip is rendered (the face blur stage); every other filter is not yet.
      std::vector<std::string> pending;
      for (const auto& f : fs.filters) {
        if (!f.enabled) continue;
        if (f.type == "face_blur" && fs.target_type == TargetType::kClip) continue;
        pending.push_back(f.type);
      }
      if (pending.empty()) continue;
      warn({{"code", "not_rendered_yet"},
            {"filter_stack_id", fs.id},
            {"target_type", enum_name(kTargetTypeNames, fs.target_type)},
            {"target_id", fs.target_id},
            {"filters", pending},
            {"message", fmt::format("filter stack {} on {} {} is not rendered by this version ({})",
                                    fs.id, enum_name(kTargetTypeNames, fs.target_type),
                                    fs.target_id, fmt::join(pending, ", "))}});
    }
    for (const auto& c : snap_.clips) {
      if (!clip_wants_face_blur(snap_, c.id)) continue;
      if (in_.face_blur && in_.face_blur->count(c.id)) continue;
      warn({{"code", "video_regions_missing"},
            {"clip_id", c.id},
            {"asset_id", c.asset_id},
            {"message",
             fmt::format("video_regions missing for asset {}: clip {} asks for face_blur but the "
                         "asset has no video_region_summary (run POST /video/regions first); the "
                         "clip renders unblurred",
                         c.asset_id, c.id)}});
    }
  }

  void layout_track(const Track& track) {
    TrackLayout tl;
    tl.track = &track;
    std::vector<const Clip*> clips;
    for (const auto& c : snap_.clips) {
      if (c.track_id == track.id) clips.push_back(&c);
    }
    std::sort(clips.begin(), clips.end(), [](const Clip* a, const Clip* b) {
      return std::tie(a->start_ms_on_timeline, a->id) < std::tie(b->start_ms_on_timeline, b->id);
    });
    for (const Clip* c : clips) {
      Placed p;
      p.clip = c;
      p.start_f = grid_.frame_at_ms(static_cast<double>(c->start_ms_on_timeline));
      p.end_f = grid_.frame_at_ms(c->start_ms_on_timeline + clip_timeline_duration_ms(*c));
      timeline_end_f_ = std::max(timeline_end_f_, p.end_f);
      auto it = in_.sources->find(render_source_key(*c));
      if (it == in_.sources->end()) {
        warn({{"code", "missing_asset"},
              {"clip_id", c->id},
              {"asset_id", c->asset_id},
              {"message", fmt::format("clip {} uses {} which no longer exists in this tenant and "
                                      "env: it renders as a gap",
                                      c->id, render_source_key(*c))}});
        continue;
      }
      p.src = &it->second;
      if (p.end_f <= p.start_f) {
        warn({{"code", "clip_shorter_than_a_frame"},
              {"clip_id", c->id},
              {"message", fmt::format("clip {} lasts less than one frame at {} fps and is skipped",
                                      c->id, grid_.fps)}});
        continue;
      }
      check_media_end(*c, *p.src);
      note_unrendered_features(*c);
      if (!tl.clips.empty() && tl.clips.back().start_f == p.start_f) {
        warn(
            {{"code", "clip_hidden"},
             {"clip_id", tl.clips.back().clip->id},
             {"message", fmt::format("clip {} starts on the same frame as clip {}, which covers it",
                                     tl.clips.back().clip->id, c->id)}});
        tl.clips.pop_back();
      }
      tl.clips.push_back(p);
    }
    cut_and_join(tl);
    tracks_.push_back(std::move(tl));
  }

  void check_media_end(const Clip& c, const RenderSource& src) {
    if (!src.duration_ms || src.kind == MediaKind::kImage) return;
    // One frame of tolerance: probe durations and frame grids differ by rounding.
    if (c.out_ms > *src.duration_ms + 1000 / grid_.fps) {
      warn({{"code", "clip_past_media_end"},
            {"clip_id", c.id},
            {"out_ms", c.out_ms},
            {"media_duration_ms", *src.duration_ms},
            {"message", fmt::format("clip {} reads to {} ms but its media lasts {} ms: the last "
                                    "frame is held and the audio is silent past the end",
                                    c.id, c.out_ms, *src.duration_ms)}});
    }
  }

  // Fields of the model that later render stages (effects issue) will honour.
  void note_unrendered_features(const Clip& c) {
    std::vector<std::string> f;
    if (c.blend_mode != BlendMode::kNormal) f.push_back("blend_mode");
    if (c.mask_artifact_id) f.push_back("mask_artifact_id");
    if (c.slowmo_quality) f.push_back("slowmo_quality");
    if (c.stabilise) f.push_back("stabilise");
    if (!c.automation.empty()) f.push_back("automation");
    if (f.empty()) return;
    warn({{"code", "not_rendered_yet"},
          {"clip_id", c.id},
          {"fields", f},
          {"message", fmt::format("clip {}: these fields are not rendered by this version and "
                                  "are ignored: {}",
                                  c.id, fmt::join(f, ", "))}});
  }

  const Transition* transition_between(const Clip& a, const Clip& b) const {
    const Transition* found = nullptr;
    for (const auto& t : snap_.transitions) {
      if (t.from_clip_id == a.id && t.to_clip_id == b.id && (!found || t.id < found->id)) {
        found = &t;
      }
    }
    return found;
  }

  void report_unused_transitions() {
    std::vector<const Transition*> sorted;
    for (const auto& t : snap_.transitions) sorted.push_back(&t);
    std::sort(sorted.begin(), sorted.end(),
              [](const Transition* a, const Transition* b) { return a->id < b->id; });
    for (const Transition* tp : sorted) {
      const Transition& t = *tp;
      if (handled_transitions_.count(t.id)) continue;
      warn({{"code", "transition_skipped"},
            {"transition_id", t.id},
            {"message", fmt::format("transition {} does not join neighbouring clips of one track "
                                    "({} -> {}): not rendered",
                                    t.id, t.from_clip_id, t.to_clip_id)}});
    }
  }

  // Cuts each clip where the next one takes over and joins transition neighbours into groups.
  void cut_and_join(TrackLayout& tl) {
    auto& c = tl.clips;
    // A clip that ends inside an earlier, longer one (without a transition) covers it only while
    // it plays: the rest of the longer clip comes back as a piece of its own.
    for (size_t i = 0; i + 1 < c.size(); ++i) {
      const Placed& a = c[i];
      const Placed& b = c[i + 1];
      if (b.start_f < a.end_f && b.end_f < a.end_f && !transition_between(*a.clip, *b.clip)) {
        Placed tail = a;
        tail.offset_f = a.offset_f + (b.end_f - a.start_f);
        tail.start_f = b.end_f;
        tail.input = -1;
        size_t at = i + 2;
        // Before clips starting on the same frame: those cover the tail.
        while (at < c.size() && c[at].start_f < tail.start_f) ++at;
        c.insert(c.begin() + static_cast<ptrdiff_t>(at), tail);
      }
    }
    for (size_t i = 0; i < c.size(); ++i) {
      Placed& a = c[i];
      a.vis_end_f = a.end_f;
      if (i + 1 == c.size()) continue;
      Placed& b = c[i + 1];
      if (b.start_f < a.end_f) a.vis_end_f = b.start_f;  // the later clip covers the earlier
      const Transition* tr = transition_between(*a.clip, *b.clip);
      if (!tr) continue;
      handled_transitions_.insert(tr->id);
      const TransitionSpec* spec = find_transition(tr->type);
      const int64_t requested = std::max<int64_t>(1, grid_.frame_at_ms(tr->duration_ms));
      const int64_t overlap = a.end_f - b.start_f;
      // b must finish its transition in before the clip after it takes over.
      const int64_t b_room =
          (i + 2 < c.size() ? std::min(b.end_f, c[i + 2].start_f) : b.end_f) - b.start_f;
      const int64_t d = std::min({requested, overlap, b_room});
      if (!spec || d < 1) {
        warn({{"code", "transition_skipped"},
              {"transition_id", tr->id},
              {"message", fmt::format("transition {} does not fit its clips any more (overlap "
                                      "{} ms): rendered as a cut",
                                      tr->id, grid_.ms(std::max<int64_t>(overlap, 0)))}});
        continue;
      }
      a.vis_end_f = b.start_f + d;
      b.trans_in_f = d;
      b.trans_in = tr;
      b.trans_spec = spec;
      transitions_.push_back({{"type", tr->type},
                              {"transition_id", tr->id},
                              {"track_id", tl.track->id},
                              {"from_clip_id", a.clip->id},
                              {"to_clip_id", b.clip->id},
                              {"start_ms", grid_.ms(b.start_f)},
                              {"duration_ms", grid_.ms(d)},
                              {"requested_duration_ms", tr->duration_ms},
                              {"clamped", d < requested},
                              {"video_alias", spec->video_alias},
                              {"audio_alias", spec->audio_alias}});
    }
    // Pieces covered from their first frame (a tail meeting a clip that starts where it resumes).
    std::erase_if(c, [](const Placed& p) { return p.trans_in == nullptr && p.frames() <= 0; });
    for (auto& p : c) {
      if (p.trans_in == nullptr || tl.groups.empty()) tl.groups.push_back({});
      tl.groups.back().clips.push_back(&p);
    }
    for (auto& g : tl.groups) {
      g.start_f = g.clips.front()->start_f;
      g.end_f = g.clips.back()->vis_end_f;
    }
  }

  Status window() {
    w0_ = req_.start_ms ? grid_.frame_at_ms(static_cast<double>(*req_.start_ms)) : 0;
    int64_t w1 =
        req_.end_ms ? grid_.frame_at_ms(static_cast<double>(*req_.end_ms)) : timeline_end_f_;
    preview_warnings();
    if (w1 - w0_ <= 0) {
      nlohmann::json details = {{"field", req_.end_ms ? "end_ms" : "sequence"},
                                {"sequence_duration_ms", grid_.ms(timeline_end_f_)}};
      if (is_preview()) details["preview_warnings"] = preview_warnings_;
      if (timeline_end_f_ == 0) {
        return Error::invalid_argument(
            "the sequence is empty (zero length): add clips or give an end_ms window to render",
            details);
      }
      return Error::invalid_argument(
          fmt::format("the render window [{}, {}) ms is empty: the sequence lasts {} ms",
                      grid_.ms(w0_), grid_.ms(w1), grid_.ms(timeline_end_f_)),
          details);
    }
    n_frames_ = w1 - w0_;
    return {};
  }

  bool is_preview() const {
    return prof_.name == "draft_480p_fast" || prof_.name == "preview_720p_fast";
  }

  void preview_warnings() {
    if (!is_preview()) return;
    if (snap_.tracks.empty()) preview_warnings_.push_back("no_tracks_for_preview");
    if (snap_.clips.empty()) preview_warnings_.push_back("no_clips_for_preview");
  }

  // ---- inputs -------------------------------------------------------------------------------

  int input_for(Placed& p) {
    if (p.input >= 0) return p.input;
    p.input = add_clip_input(p, p.src->path, "clip " + p.clip->id);
    return p.input;
  }

  // An input reading `path` over the piece's window of the clip's source.
  int add_clip_input(const Placed& p, const std::string& path, std::string role) {
    const Clip& c = *p.clip;
    PlanInput pi;
    pi.path = path;
    pi.role = std::move(role);
    if (p.src->kind == MediaKind::kImage) {
      pi.options = {"-loop",      "1",
                    "-framerate", std::to_string(grid_.fps),
                    "-t",         num(grid_.seconds(p.frames()) * c.speed + 1.0 / grid_.fps)};
    } else {
      const double skip_s = grid_.seconds(p.offset_f) * c.speed;
      const double in_s = c.in_ms / 1000.0 + skip_s;
      if (in_s > 0) pi.options = {"-ss", num(in_s)};
      pi.options.push_back("-t");
      pi.options.push_back(num((c.out_ms - c.in_ms) / 1000.0 - skip_s));
    }
    plan_.inputs.push_back(std::move(pi));
    return static_cast<int>(plan_.inputs.size()) - 1;
  }

  // The voice-enhanced sound for the piece's clip when the request asks for it and the clip's
  // track carries dialogue (or generic sound); records the choice once per clip.
  const EnhancedAudio* enhanced_for(const Placed& p) {
    if (!req_.use_voice_enhanced_audio) return nullptr;
    const Clip& c = *p.clip;
    AudioRole role = AudioRole::kGeneric;
    for (const auto& t : snap_.tracks) {
      if (t.id == c.track_id) role = t.audio_role;
    }
    const EnhancedAudio* found = nullptr;
    if (in_.enhanced_audio) {
      auto it = in_.enhanced_audio->find(render_source_key(c));
      if (it != in_.enhanced_audio->end()) found = &it->second;
    }
    const bool wants = role == AudioRole::kDialogue || role == AudioRole::kGeneric;
    if (!ve_selection_.contains(c.id)) {
      nlohmann::json sel = {{"track_id", c.track_id},
                            {"audio_role", enum_name(kAudioRoleNames, role)},
                            {"asset_id", c.asset_id}};
      if (!wants) {
        sel["source"] = "original";
        sel["reason"] = "audio_role_keeps_original";
      } else if (found) {
        sel["source"] = "voice_enhanced";
        sel["artifact_id"] = found->artifact_id;
        sel["mode"] = found->mode;
      } else {
        sel["source"] = "original";
        sel["reason"] = "no_voice_enhanced_artifact";
        if (!req_.voice_enhance_if_available_only) {
          ve_warnings_.push_back(
              {{"code", "voice_enhanced_audio_missing"},
               {"clip_id", c.id},
               {"asset_id", c.asset_id},
               {"mode", req_.voice_enhance_mode ? nlohmann::json(*req_.voice_enhance_mode)
                                                : nlohmann::json(nullptr)},
               {"message",
                fmt::format("clip {} has no audio_voice_enhanced artifact{} for {}: it keeps its "
                            "original sound (run POST /audio/voice-enhance first)",
                            c.id,
                            req_.voice_enhance_mode ? " of mode " + *req_.voice_enhance_mode : "",
                            render_source_key(c))}});
        }
      }
      ve_selection_[c.id] = std::move(sel);
    }
    return wants ? found : nullptr;
  }

  std::string label(std::string_view prefix) { return fmt::format("{}{}", prefix, next_label_++); }

  // ---- 2. clip video ------------------------------------------------------------------------

  Geometry geometry(const Clip& c, const RenderSource& src) const {
    Geometry g;
    int sw = src.width, sh = src.height;
    const ClipCrop& k = c.crop;
    if (k.left > 0 || k.right > 0 || k.top > 0 || k.bottom > 0) {
      int cw = even(sw * (1.0 - k.left - k.right));
      int ch = even(sh * (1.0 - k.top - k.bottom));
      g.filters.push_back(fmt::format("crop={}:{}:{}:{}", cw, ch,
                                      static_cast<int>(std::lround(sw * k.left)),
                                      static_cast<int>(std::lround(sh * k.top))));
      sw = cw;
      sh = ch;
    }
    switch (c.scale_mode) {
      case ScaleMode::kFit: {
        double s = std::min(static_cast<double>(W_) / sw, static_cast<double>(H_) / sh);
        g.w = std::min(even(sw * s), W_);
        g.h = std::min(even(sh * s), H_);
        break;
      }
      case ScaleMode::kFill: {
        double s = std::max(static_cast<double>(W_) / sw, static_cast<double>(H_) / sh);
        int fw = std::max(even(sw * s), W_), fh = std::max(even(sh * s), H_);
        g.filters.push_back(fmt::format("scale={}:{}", fw, fh));
        if (fw != W_ || fh != H_) g.filters.push_back(fmt::format("crop={}:{}", W_, H_));
        g.w = W_;
        g.h = H_;
        break;
      }
      case ScaleMode::kStretch:
        g.w = W_;
        g.h = H_;
        break;
      case ScaleMode::kNone:
        g.w = sw;
        g.h = sh;
        break;
    }
    if ((c.scale_mode == ScaleMode::kFit || c.scale_mode == ScaleMode::kStretch) &&
        (g.w != sw || g.h != sh)) {
      g.filters.push_back(fmt::format("scale={}:{}", g.w, g.h));
    }
    g.filters.push_back("setsar=1");
    g.x = static_cast<int>(std::lround((W_ - g.w) / 2.0 + c.position.x));
    g.y = static_cast<int>(std::lround((H_ - g.h) / 2.0 + c.position.y));
    g.full_opaque = g.w == W_ && g.h == H_ && g.x == 0 && g.y == 0 && c.opacity >= 1.0;
    return g;
  }

  bool clip_full_opaque(const Placed& p) const {
    if (!has_picture(p)) return false;  // transparent: the tracks below show through
    return geometry(*p.clip, *p.src).full_opaque;
  }

  static bool has_picture(const Placed& p) {
    return p.src->has_video && p.src->width > 0 && p.src->height > 0;
  }

  static bool group_has_picture(const Group& g) {
    return std::any_of(g.clips.begin(), g.clips.end(),
                       [](const Placed* p) { return has_picture(*p); });
  }

  // The clip's frames: exactly p.frames() frames at the output rate. As a canvas-sized frame
  // (`canvas`, in `fmt`) or as a layer of its own size (position in `geo`).
  std::string clip_video(Placed& p, bool canvas, std::string_view fmt, Geometry* geo_out) {
    const int64_t n = p.frames();
    const std::string out = label("v");
    if (!has_picture(p)) {  // sound only: nothing to see (transparent inside a group)
      plan_.video.nodes.push_back(
          {{},
           fmt::format("color=c=black{}:s={}x{}:r={},format={},trim=end_frame={}",
                       fmt == kWorkAlphaFormat ? "@0" : "", W_, H_, grid_.fps, fmt, n),
           {out}});
      if (geo_out) *geo_out = Geometry{{}, W_, H_, 0, 0, fmt == kWorkFormat};
      return out;
    }
    const Clip& c = *p.clip;
    const int in = input_for(p);
    Geometry g = geometry(c, *p.src);
    const std::string source = face_blur_stage(p, in);
    std::vector<std::string> f;
    f.push_back(c.speed == 1.0 ? "setpts=PTS-STARTPTS"
                               : fmt::format("setpts=(PTS-STARTPTS)/{}", num(c.speed)));
    f.push_back(fmt::format("fps={}", grid_.fps));
    // (effects stage: filter stacks, masks, blend modes slot in here)
    f.insert(f.end(), g.filters.begin(), g.filters.end());
    const bool alpha = fmt == kWorkAlphaFormat;
    f.push_back(fmt::format("format={}", alpha ? kWorkAlphaFormat : kWorkFormat));
    if (c.opacity < 1.0) f.push_back(fmt::format("lutyuv=a=val*{}", num(c.opacity)));
    f.push_back(fmt::format("tpad=stop_mode=clone:stop={}", n));
    f.push_back(fmt::format("trim=end_frame={}", n));
    std::string chain = fmt::format("{}", fmt::join(f, ","));
    const bool needs_canvas = canvas && !g.full_opaque;
    const std::string layer = needs_canvas ? label("l") : out;
    plan_.video.nodes.push_back({{source}, chain, {layer}});
    if (needs_canvas) {
      const std::string cv = label("k");
      plan_.video.nodes.push_back(
          {{},
           fmt::format("color=c=black@0:s={}x{}:r={},format={},trim=end_frame={}", W_, H_,
                       grid_.fps, kWorkAlphaFormat, n),
           {cv}});
      plan_.video.nodes.push_back(
          {{cv, layer},
           fmt::format("overlay=x={}:y={}:format=yuv420:eof_action=pass", g.x, g.y),
           {out}});
      g = Geometry{{}, W_, H_, 0, 0, false};
    }
    if (geo_out) *geo_out = g;
    return out;
  }

  // ---- 2b. face blur (before speed: the boxes are on the source's timeline) -----------------

  // The label the clip's chain reads: the input's video, or the face-blurred copy of it.
  std::string face_blur_stage(const Placed& p, int in) {
    const std::string input = fmt::format("{}:v", in);
    const Clip& c = *p.clip;
    if (!in_.face_blur || p.src->kind != MediaKind::kVideo) return input;
    auto it = in_.face_blur->find(c.id);
    if (it == in_.face_blur->end() || !clip_wants_face_blur(snap_, c.id)) return input;
    const FaceBlurSpec& spec = it->second;
    const int sw = p.src->width, sh = p.src->height;
    // Source time of the piece's first frame, and the piece's length in source seconds.
    const double in_s = c.in_ms / 1000.0 + grid_.seconds(p.offset_f) * c.speed;
    const double dur_s = grid_.seconds(p.frames()) * c.speed;
    const double hold_s = std::max<int64_t>(spec.sample_interval_ms, 40) / 2000.0;
    const double strength = std::clamp(spec.strength, 0.1, 1.0);

    struct Blur {
      std::string crop, overlay;
    };
    std::vector<Blur> blurs;
    nlohmann::json used = nlohmann::json::array();
    for (const FaceBlurTrack& t : spec.tracks) {
      if (t.points.empty()) continue;
      const double first = t.points.front().t_ms / 1000.0 - in_s - hold_s;
      const double last = t.points.back().t_ms / 1000.0 - in_s + hold_s;
      if (last < 0 || first > dur_s) continue;  // the face is not in this piece
      double max_w = 0, max_h = 0;
      for (const auto& q : t.points) {
        max_w = std::max(max_w, q.width);
        max_h = std::max(max_h, q.height);
      }
      const int bw = std::min(even(max_w * (1 + 2 * kFaceBlurMargin) * sw), sw - sw % 2);
      const int bh = std::min(even(max_h * (1 + 2 * kFaceBlurMargin) * sh), sh - sh % 2);
      const int small = std::min(bw, bh);
      if (small < 8) continue;
      const std::vector<FaceBlurPoint> pts = reduce_face_points(t.points, in_s, dur_s);
      std::vector<std::pair<double, double>> xs, ys;
      for (const auto& q : pts) {
        const double tl = q.t_ms / 1000.0 - in_s;
        xs.emplace_back(tl, (q.x + q.width / 2) * sw - bw / 2.0);
        ys.emplace_back(tl, (q.y + q.height / 2) * sh - bh / 2.0);
      }
      const std::string x = fmt::format("2*floor(clip({},0,{})/2)", piecewise_linear(xs), sw - bw);
      const std::string y = fmt::format("2*floor(clip({},0,{})/2)", piecewise_linear(ys), sh - bh);
      const int luma_r =
          std::clamp(static_cast<int>(std::lround(strength * small / 4.0)), 1, small / 2 - 1);
      const int chroma_r = std::clamp(luma_r / 2, 1, small / 4 - 1);
      const int power = 1 + static_cast<int>(std::lround(2 * strength));
      blurs.push_back(
          {fmt::format("crop=w={}:h={}:x='{}':y='{}',boxblur=luma_radius={}:luma_power={}:"
                       "chroma_radius={}:chroma_power={}",
                       bw, bh, x, y, luma_r, power, chroma_r, power),
           fmt::format("overlay=x='{}':y='{}':enable='between(t,{},{})':eof_action=pass", x, y,
                       num(std::max(first, 0.0)), num(last))});
      used.push_back({{"track_id", t.track_id},
                      {"box_width", bw},
                      {"box_height", bh},
                      {"points", t.points.size()},
                      {"points_used", pts.size()},
                      {"from_s", num(std::max(first, 0.0))},
                      {"to_s", num(last)},
                      {"luma_radius", luma_r},
                      {"power", power}});
    }
    face_blur_meta_.push_back({{"clip_id", c.id},
                               {"asset_id", c.asset_id},
                               {"summary_id", spec.summary_id},
                               {"backend_version", spec.backend_version},
                               {"strength", strength},
                               {"source_offset_s", num(in_s)},
                               {"tracks", used}});
    if (blurs.empty()) return input;
    std::vector<std::string> outs;
    const std::string base = label("fb");
    outs.push_back(base);
    std::vector<std::string> copies;
    for (size_t i = 0; i < blurs.size(); ++i) {
      copies.push_back(label("fc"));
      outs.push_back(copies.back());
    }
    plan_.video.nodes.push_back(
        {{input},
         fmt::format("setpts=PTS-STARTPTS,format={},split={}", kWorkFormat, blurs.size() + 1),
         outs});
    std::string current = base;
    for (size_t i = 0; i < blurs.size(); ++i) {
      const std::string blurred = label("fx");
      plan_.video.nodes.push_back({{copies[i]}, blurs[i].crop, {blurred}});
      const std::string over = label("fo");
      plan_.video.nodes.push_back({{current, blurred}, blurs[i].overlay, {over}});
      current = over;
    }
    return current;
  }

  // The track's points that matter for a piece showing source seconds [in_s, in_s + dur_s]
  // (one beyond each end kept), thinned by Douglas-Peucker on the box centre (tolerance 0.4% of
  // the picture) and, when still too many, evenly.
  static std::vector<FaceBlurPoint> reduce_face_points(const std::vector<FaceBlurPoint>& all,
                                                       double in_s, double dur_s) {
    size_t lo = 0, hi = all.size();
    while (lo + 1 < all.size() && all[lo + 1].t_ms / 1000.0 - in_s <= 0) ++lo;
    while (hi > lo + 1 && all[hi - 2].t_ms / 1000.0 - in_s >= dur_s) --hi;
    std::vector<FaceBlurPoint> pts(all.begin() + static_cast<std::ptrdiff_t>(lo),
                                   all.begin() + static_cast<std::ptrdiff_t>(hi));
    if (pts.size() <= 2) return pts;
    std::vector<bool> keep(pts.size(), false);
    keep.front() = keep.back() = true;
    auto cx = [](const FaceBlurPoint& q) { return q.x + q.width / 2; };
    auto cy = [](const FaceBlurPoint& q) { return q.y + q.height / 2; };
    std::vector<std::pair<size_t, size_t>> stack = {{0, pts.size() - 1}};
    while (!stack.empty()) {
      auto [a, b] = stack.back();
      stack.pop_back();
      double worst = 0;
      size_t at = a;
      for (size_t k = a + 1; k < b; ++k) {
        const double span = static_cast<double>(pts[b].t_ms - pts[a].t_ms);
        const double u = span > 0 ? (pts[k].t_ms - pts[a].t_ms) / span : 0;
        const double dx = cx(pts[a]) + (cx(pts[b]) - cx(pts[a])) * u - cx(pts[k]);
        const double dy = cy(pts[a]) + (cy(pts[b]) - cy(pts[a])) * u - cy(pts[k]);
        const double d = std::max(std::abs(dx), std::abs(dy));
        if (d > worst) {
          worst = d;
          at = k;
        }
      }
      if (worst > 0.004) {
        keep[at] = true;
        stack.push_back({a, at});
        stack.push_back({at, b});
      }
    }
    std::vector<FaceBlurPoint> out;
    for (size_t k = 0; k < pts.size(); ++k) {
      if (keep[k]) out.push_back(pts[k]);
    }
    if (out.size() > kFaceBlurMaxPoints) {
      std::vector<FaceBlurPoint> even_out;
      for (size_t k = 0; k < kFaceBlurMaxPoints; ++k) {
        even_out.push_back(out[k * (out.size() - 1) / (kFaceBlurMaxPoints - 1)]);
      }
      out = std::move(even_out);
    }
    return out;
  }

  // An ffmpeg expression in t: v0 before t0, linear between the points, the last value after.
  static std::string piecewise_linear(const std::vector<std::pair<double, double>>& pts) {
    auto v = [](double x) { return fmt::format("{:.2f}", x); };
    std::string e = v(pts.back().second);
    for (size_t k = pts.size() - 1; k-- > 0;) {
      const auto& [t0, v0] = pts[k];
      const auto& [t1, v1] = pts[k + 1];
      const double span = t1 - t0;
      const std::string seg =
          span > 1e-6 ? fmt::format("{}+{}*(t-{})", v(v0), fmt::format("{:.4f}", (v1 - v0) / span),
                                    fmt::format("{:.4f}", t0))
                      : v(v1);
      e = fmt::format("if(lt(t,{:.4f}),{},{})", t1, seg, e);
    }
    return fmt::format("if(lt(t,{:.4f}),{},{})", pts.front().first, v(pts.front().second), e);
  }

  // ---- 3. groups ----------------------------------------------------------------------------

  struct GroupVideo {
    std::string label;
    Geometry geo;  // canvas-sized unless a single layered clip
    bool opaque = false;
  };

  // The group's video trimmed to the window, starting at its first visible frame.
  GroupVideo group_video(Group& g) {
    GroupVideo gv;
    bool all_opaque = true;
    for (Placed* p : g.clips) all_opaque = all_opaque && clip_full_opaque(*p);
    gv.opaque = all_opaque;
    if (g.clips.size() == 1) {
      gv.label =
          clip_video(*g.clips[0], false, all_opaque ? kWorkFormat : kWorkAlphaFormat, &gv.geo);
    } else {
      const std::string_view fmt = all_opaque ? kWorkFormat : kWorkAlphaFormat;
      std::string acc = clip_video(*g.clips[0], true, fmt, nullptr);
      for (size_t i = 1; i < g.clips.size(); ++i) {
        Placed& b = *g.clips[i];
        std::string next = clip_video(b, true, fmt, nullptr);
        const std::string out = label("x");
        plan_.video.nodes.push_back(
            {{acc, next},
             fmt::format("xfade=transition={}:duration={}:offset={}", b.trans_spec->video_alias,
                         num(grid_.seconds(b.trans_in_f)),
                         num(grid_.seconds(b.start_f - g.start_f))),
             {out}});
        acc = out;
      }
      gv.label = acc;
      gv.geo = Geometry{{}, W_, H_, 0, 0, all_opaque};
    }
    gv.label = window_trim_video(g, gv.label);
    return gv;
  }

  std::string window_trim_video(const Group& g, const std::string& in) {
    const int64_t first = std::max<int64_t>(0, w0_ - g.start_f);
    const int64_t last = std::min(g.end_f, w0_ + n_frames_) - g.start_f;
    if (first == 0 && last == g.end_f - g.start_f) return in;
    const std::string out = label("w");
    plan_.video.nodes.push_back(
        {{in},
         fmt::format("trim=start_frame={}:end_frame={},setpts=PTS-STARTPTS", first, last),
         {out}});
    return out;
  }

  bool in_window(const Group& g) const { return g.end_f > w0_ && g.start_f < w0_ + n_frames_; }
  int64_t out_start(const Group& g) const { return std::max<int64_t>(0, g.start_f - w0_); }

  // ---- 4. composite -------------------------------------------------------------------------

  static bool shows_video(const TrackLayout& t) {
    return t.track->kind == TrackKind::kVideo && !t.track->hidden;
  }

  std::string black(int64_t frames) {
    const std::string out = label("b");
    plan_.video.nodes.push_back(
        {{},
         fmt::format("color=c=black:s={}x{}:r={},format={},trim=end_frame={}", W_, H_, grid_.fps,
                     kWorkFormat, frames),
         {out}});
    return out;
  }

  void composite_video() {
    std::vector<TrackLayout*> visible;
    for (auto& t : tracks_) {
      if (!shows_video(t)) continue;
      bool any = false;
      for (auto& g : t.groups) any = any || (in_window(g) && group_has_picture(g));
      if (any) visible.push_back(&t);
    }
    std::string cur;
    size_t first_overlay = 0;
    if (!visible.empty() && bottom_is_opaque(*visible.front())) {
      cur = concat_base(*visible.front());
      first_overlay = 1;
    } else {
      cur = black(n_frames_);
    }
    for (size_t i = first_overlay; i < visible.size(); ++i) {
      for (auto& g : visible[i]->groups) {
        if (!in_window(g) || !group_has_picture(g)) continue;
        GroupVideo gv = group_video(g);
        std::string shifted = gv.label;
        if (out_start(g) > 0) {
          shifted = label("s");
          plan_.video.nodes.push_back(
              {{gv.label},
               fmt::format("setpts=PTS-STARTPTS+{}/({}*TB)", out_start(g), grid_.fps),
               {shifted}});
        }
        const std::string out = label("c");
        plan_.video.nodes.push_back(
            {{cur, shifted},
             fmt::format("overlay=x={}:y={}:eof_action=pass", gv.geo.x, gv.geo.y),
             {out}});
        cur = out;
      }
    }
    cur = watermark(cur);
    plan_.video_out = "vout";
    plan_.video.nodes.push_back(
        {{cur}, fmt::format("trim=end_frame={},format={}", n_frames_, prof_.pix_fmt), {"vout"}});
  }

  bool bottom_is_opaque(const TrackLayout& t) const {
    for (const auto& g : t.groups) {
      if (!in_window(g)) continue;
      for (const Placed* p : g.clips) {
        if (!clip_full_opaque(*p)) return false;
      }
    }
    return true;
  }

  // The lowest visible track as a run of its groups and black gaps.
  std::string concat_base(TrackLayout& t) {
    std::vector<std::string> parts;
    int64_t at = 0;
    for (auto& g : t.groups) {
      if (!in_window(g)) continue;
      const int64_t s = out_start(g);
      if (s > at) parts.push_back(black(s - at));
      parts.push_back(group_video(g).label);
      at = std::min(g.end_f - w0_, n_frames_);
    }
    if (at < n_frames_) parts.push_back(black(n_frames_ - at));
    if (parts.size() == 1) return parts[0];
    const std::string out = label("base");
    plan_.video.nodes.push_back({parts, fmt::format("concat=n={}:v=1:a=0", parts.size()), {out}});
    return out;
  }

  std::string watermark(const std::string& in) {
    if (!req_.watermark) return in;
    const Watermark& w = *req_.watermark;
    const std::string out = label("wm");
    const int m = static_cast<int>(w.margin_px);
    auto pos = [&](std::string_view ow, std::string_view oh) {
      std::string x, y;
      switch (w.position) {
        case WatermarkPosition::kTopLeft:
          x = fmt::format("{}", m);
          y = x;
          break;
        case WatermarkPosition::kTopRight:
          x = fmt::format("W-{}-{}", ow, m);
          y = fmt::format("{}", m);
          break;
        case WatermarkPosition::kBottomLeft:
          x = fmt::format("{}", m);
          y = fmt::format("H-{}-{}", oh, m);
          break;
        case WatermarkPosition::kBottomRight:
          x = fmt::format("W-{}-{}", ow, m);
          y = fmt::format("H-{}-{}", oh, m);
          break;
        case WatermarkPosition::kCenter:
          x = fmt::format("(W-{})/2", ow);
          y = fmt::format("(H-{})/2", oh);
          break;
      }
      return std::make_pair(x, y);
    };
    if (w.text) {
      auto [x, y] = pos("tw", "th");
      // drawtext names the frame size w/h, not W/H.
      for (auto* s : {&x, &y}) {
        for (auto& ch : *s) {
          if (ch == 'W') ch = 'w';
          if (ch == 'H') ch = 'h';
        }
      }
      plan_.video.nodes.push_back(
          {{in},
           fmt::format("drawtext=fontfile={}:expansion=none:text={}:fontsize={}:fontcolor=white@{}"
                       ":borderw=2:bordercolor=black@{}:x={}:y={}",
                       in_.watermark_font, *w.text, std::max(8, even(w.size * H_)), num(w.opacity),
                       num(w.opacity * 0.6), x, y),
           {out}});
      return out;
    }
    if (!in_.watermark_image) return in;
    PlanInput pi;
    pi.role = "watermark";
    pi.path = in_.watermark_image->path;
    if (in_.watermark_image->kind == MediaKind::kImage) {
      pi.options = {"-loop", "1", "-framerate", std::to_string(grid_.fps)};
    } else {
      pi.options = {"-stream_loop", "-1"};
    }
    const int idx = static_cast<int>(plan_.inputs.size());
    plan_.inputs.push_back(pi);
    const std::string logo = label("logo");
    plan_.video.nodes.push_back(
        {{fmt::format("{}:v", idx)},
         fmt::format("fps={},scale={}:-2,format={},lutyuv=a=val*{}", grid_.fps, even(w.size * W_),
                     kWorkAlphaFormat, num(w.opacity)),
         {logo}});
    auto [x, y] = pos("w", "h");
    plan_.video.nodes.push_back(
        {{in, logo}, fmt::format("overlay=x={}:y={}:shortest=1", x, y), {out}});
    return out;
  }

  // ---- audio --------------------------------------------------------------------------------

  std::string work_audio_format() const {
    return fmt::format("aresample={},aformat=sample_fmts=fltp:channel_layouts=stereo",
                       grid_.sample_rate);
  }

  static std::string atempo_chain(double speed) {
    std::vector<std::string> f;
    double s = speed;
    while (s < 0.5) {
      f.push_back("atempo=0.5");
      s /= 0.5;
    }
    f.push_back(fmt::format("atempo={}", num(s)));
    return fmt::format("{}", fmt::join(f, ","));
  }

  std::string silence(int64_t samples) {
    const std::string out = label("z");
    plan_.audio.nodes.push_back(
        {{},
         fmt::format("anullsrc=r={}:cl=stereo,aformat=sample_fmts=fltp,atrim=end_sample={}",
                     grid_.sample_rate, samples),
         {out}});
    return out;
  }

  std::string clip_audio(Placed& p) {
    const int64_t n = grid_.samples(p.vis_end_f) - grid_.samples(p.start_f);
    if (!p.src->has_audio) return silence(n);
    const Clip& c = *p.clip;
    int in = -1;
    if (const EnhancedAudio* e = enhanced_for(p)) {
      if (p.audio_input < 0) p.audio_input = add_clip_input(p, e->path, "voice enhanced " + c.id);
      in = p.audio_input;
    } else {
      in = input_for(p);
    }
    std::vector<std::string> f = {"asetpts=PTS-STARTPTS"};
    if (c.speed != 1.0) f.push_back(atempo_chain(c.speed));
    f.push_back(work_audio_format());
    if (c.volume_db != 0.0) f.push_back(fmt::format("volume={}dB", num(c.volume_db)));
    const double clip_s = grid_.seconds(p.end_f - p.start_f);
    if (c.fade_in_ms > 0 && p.offset_f == 0)
      f.push_back(fmt::format("afade=t=in:st=0:d={}", num(c.fade_in_ms / 1000.0)));
    if (c.fade_out_ms > 0) {
      const double d = c.fade_out_ms / 1000.0;
      f.push_back(fmt::format("afade=t=out:st={}:d={}", num(std::max(0.0, clip_s - d)), num(d)));
    }
    f.push_back(fmt::format("apad=whole_len={},atrim=end_sample={}", n, n));
    const std::string out = label("a");
    plan_.audio.nodes.push_back(
        {{fmt::format("{}:a", in)}, fmt::format("{}", fmt::join(f, ",")), {out}});
    return out;
  }

  // The group's audio placed at its output position (delayed), or "" when it has none.
  std::string group_audio(Group& g) {
    bool any = false;
    for (Placed* p : g.clips) any = any || p->src->has_audio;
    if (!any) return "";
    std::string acc = clip_audio(*g.clips[0]);
    for (size_t i = 1; i < g.clips.size(); ++i) {
      Placed& b = *g.clips[i];
      std::string next = clip_audio(b);
      const std::string out = label("y");
      plan_.audio.nodes.push_back(
          {{acc, next},
           fmt::format("acrossfade=ns={}:c1=tri:c2=tri", grid_.samples(b.trans_in_f)),
           {out}});
      acc = out;
    }
    std::vector<std::string> f;
    const int64_t first = std::max<int64_t>(0, w0_ - g.start_f);
    const int64_t last = std::min(g.end_f, w0_ + n_frames_) - g.start_f;
    if (first > 0 || last < g.end_f - g.start_f) {
      f.push_back(fmt::format("atrim=start_sample={}:end_sample={},asetpts=PTS-STARTPTS",
                              grid_.samples(first), grid_.samples(last)));
    }
    if (out_start(g) > 0)
      f.push_back(fmt::format("adelay=delays={}S:all=1", grid_.samples(out_start(g))));
    if (f.empty()) return acc;
    const std::string out = label("p");
    plan_.audio.nodes.push_back({{acc}, fmt::format("{}", fmt::join(f, ",")), {out}});
    return out;
  }

  void mix_audio() {
    const int64_t total = plan_.audio_samples;
    std::vector<std::string> parts;
    for (auto& t : tracks_) {
      if (t.track->muted) continue;
      for (auto& g : t.groups) {
        if (!in_window(g)) continue;
        std::string a = group_audio(g);
        if (!a.empty()) parts.push_back(a);
      }
    }
    std::string mixed;
    if (parts.empty()) {
      mixed = silence(total);
    } else if (parts.size() == 1) {
      mixed = parts[0];
    } else {
      mixed = label("mix");
      plan_.audio.nodes.push_back(
          {parts,
           fmt::format("amix=inputs={}:duration=longest:dropout_transition=0:normalize=0,"
                       "asetpts=N/SR/TB",
                       parts.size()),
           {mixed}});
    }
    plan_.audio_premaster = mixed;
    plan_.audio_out = "aout";
    const std::string exact = fmt::format("apad=whole_len={},atrim=end_sample={}", total, total);
    const std::string layout = req_.audio_mixdown == AudioMixdown::kMono ? "mono" : "stereo";
    std::vector<std::string> f;
    f.push_back(exact);
    if (req_.normalize_audio) {
      plan_.loudnorm_target = loudnorm_target();
      f.push_back(loudnorm_filter());
      f.push_back(fmt::format("aresample={}", grid_.sample_rate));
      f.push_back(exact);
    }
    f.push_back(fmt::format("aformat=channel_layouts={}", layout));
    plan_.audio.nodes.push_back({{mixed}, fmt::format("{}", fmt::join(f, ",")), {"aout"}});
  }

  double encoder_headroom_db() const {
    return prof_.audio_codec.starts_with("pcm_") ? 0.0 : kLossyEncoderHeadroomDb;
  }

  std::string loudnorm_target() const {
    return fmt::format("loudnorm=I={}:TP={}:LRA={}:dual_mono=true", num(req_.target_loudness_lufs),
                       num(kLoudnormTruePeak - encoder_headroom_db()), num(kLoudnormRange));
  }

  std::string loudnorm_filter() const {
    std::string s = loudnorm_target();
    if (in_.loudness) {
      const auto& m = *in_.loudness;
      s += fmt::format(
          ":measured_I={}:measured_TP={}:measured_LRA={}:measured_thresh={}:offset={}"
          ":linear=true",
          num(m.input_i), num(m.input_tp), num(m.input_lra), num(m.input_thresh),
          num(m.target_offset));
    }
    return s + ":print_format=json";
  }

  // ---- 5. output ----------------------------------------------------------------------------

  void output_options() {
    auto& o = plan_.output_options;
    const std::string enc =
        in_.encoder.encoder.empty() ? std::string(prof_.video_codec) : in_.encoder.encoder;
    o = {"-c:v", enc};
    if (prof_.video_codec == "prores_ks") {
      o.insert(o.end(), {"-profile:v", std::string(prof_.preset), "-vendor", "apl0"});
    } else {
      o.insert(o.end(), {"-preset", std::string(prof_.preset)});
    }
    if (!prof_.bitrate.empty()) o.insert(o.end(), {"-b:v", std::string(prof_.bitrate)});
    o.insert(o.end(), {"-pix_fmt", std::string(prof_.pix_fmt), "-r", std::to_string(grid_.fps)});
    if (prof_.threads > 0) o.insert(o.end(), {"-threads", std::to_string(prof_.threads)});
    o.insert(o.end(), {"-c:a", std::string(prof_.audio_codec)});
    if (!prof_.audio_bitrate.empty()) o.insert(o.end(), {"-b:a", std::string(prof_.audio_bitrate)});
    const int channels = req_.audio_mixdown == AudioMixdown::kMono ? 1 : prof_.audio_channels;
    o.insert(o.end(), {"-ar", std::to_string(grid_.sample_rate), "-ac", std::to_string(channels)});
    o.insert(o.end(), {"-movflags", "+faststart"});
    const bool mov = prof_.video_codec == "prores_ks";
    plan_.container = mov ? "mov" : "mp4";
    plan_.extension = mov ? ".mov" : ".mp4";
  }

  nlohmann::json loudness_meta() const {
    nlohmann::json j = {{"enabled", req_.normalize_audio}};
    if (!req_.normalize_audio) {
      j["mode"] = "off";
      return j;
    }
    j["target_lufs"] = req_.target_loudness_lufs;
    j["true_peak_dbtp"] = kLoudnormTruePeak;
    j["encoder_headroom_db"] = encoder_headroom_db();
    j["lra"] = kLoudnormRange;
    j["filter"] = loudnorm_filter();
    if (!in_.loudness) {
      j["mode"] = "pending_measurement";
      j["note"] =
          "the render measures the mixed audio in a first pass, then applies loudnorm with the "
          "measured values (linear gain when the measurement allows it)";
      return j;
    }
    const auto& m = *in_.loudness;
    j["measured"] = {{"input_i", m.input_i},
                     {"input_tp", m.input_tp},
                     {"input_lra", m.input_lra},
                     {"input_thresh", m.input_thresh},
                     {"target_offset", m.target_offset}};
    if (std::isfinite(m.output_i)) j["measured"]["predicted_output_i"] = m.output_i;
    j["mode"] = loudnorm_can_be_linear(m, req_.target_loudness_lufs,
                                       kLoudnormTruePeak - encoder_headroom_db(), kLoudnormRange)
                    ? "two_pass_linear"
                    : "two_pass_dynamic";
    return j;
  }

  void write_meta() {
    std::sort(transitions_.begin(), transitions_.end(), [](const auto& a, const auto& b) {
      return std::make_tuple(a["start_ms"].template get<int64_t>(),
                             a["transition_id"].template get<std::string>()) <
             std::make_tuple(b["start_ms"].template get<int64_t>(),
                             b["transition_id"].template get<std::string>());
    });
    for (size_t i = 0; i < transitions_.size(); ++i) transitions_[i]["order"] = i;

    std::map<std::string, nlohmann::json> assets;
    for (const auto& t : tracks_) {
      for (const auto& p : t.clips) {
        auto& a = assets[render_source_key(*p.clip)];
        if (a.is_null()) {
          a = {{"asset_id", p.src->asset_id},
               {"artifact_id", p.src->artifact_id ? nlohmann::json(*p.src->artifact_id) : nullptr},
               {"kind", media_kind_name(p.src->kind)},
               {"duration_ms", p.src->duration_ms ? nlohmann::json(*p.src->duration_ms) : nullptr},
               {"clip_ids", nlohmann::json::array()}};
        }
        // A clip split around a shorter one appears once.
        auto& ids = a["clip_ids"];
        if (std::find(ids.begin(), ids.end(), p.clip->id) == ids.end()) {
          a["clip_ids"].push_back(p.clip->id);
        }
      }
    }
    nlohmann::json source_assets = nlohmann::json::array();
    for (auto& [k, v] : assets) source_assets.push_back(v);

    auto& m = plan_.meta;
    m["render_profile"] = prof_.name;
    m["render_profile_description"] = prof_.description;
    m["profile"] = to_json(prof_);
    m["hardware_encoder"] = {
        {"encoder",
         in_.encoder.encoder.empty() ? std::string(prof_.video_codec) : in_.encoder.encoder},
        {"hardware", in_.encoder.hardware},
        {"reason", in_.encoder.reason}};
    m["project_id"] =
        in_.project_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(in_.project_id);
    m["sequence_id"] = snap_.sequence.id;
    m["window_ms"] = {{"start_ms", grid_.ms(w0_)}, {"end_ms", grid_.ms(w0_ + n_frames_)}};
    m["sequence_duration_ms"] = grid_.ms(timeline_end_f_);
    m["fps"] = grid_.fps;
    m["frames"] = n_frames_;
    m["audio_sample_rate"] = grid_.sample_rate;
    m["audio_samples"] = plan_.audio_samples;
    m["audio_mixdown"] = enum_name(kAudioMixdownNames, req_.audio_mixdown);
    m["loudness"] = loudness_meta();
    m["watermark"] = req_.watermark ? to_json(*req_.watermark) : nlohmann::json(nullptr);
    m["source_assets"] = source_assets;
    m["transitions"] = transitions_;
    // In linear mode the gain lands on the target; in dynamic mode loudnorm's own prediction
    // tells whether the true-peak limit lets it get there.
    if (in_.loudness && std::isfinite(in_.loudness->output_i) &&
        !loudnorm_can_be_linear(*in_.loudness, req_.target_loudness_lufs,
                                kLoudnormTruePeak - encoder_headroom_db(), kLoudnormRange) &&
        std::abs(in_.loudness->output_i - req_.target_loudness_lufs) > 0.5) {
      warnings_.push_back(
          {{"code", "loudness_target_not_reachable"},
           {"predicted_output_lufs", in_.loudness->output_i},
           {"message", fmt::format("loudnorm predicts {} LUFS for the target of {} LUFS: the "
                                   "true-peak limit leaves no room for more gain",
                                   num(in_.loudness->output_i), num(req_.target_loudness_lufs))}});
    }
    if (req_.use_voice_enhanced_audio) {
      m["audio_voice_enhance_selection"] = ve_selection_;
      m["voice_enhance_warnings"] = ve_warnings_;
    }
    if (!face_blur_meta_.empty()) m["face_blur"] = face_blur_meta_;
    m["warnings"] = warnings_;
    if (is_preview()) m["preview_warnings"] = preview_warnings_;
  }

  const PlannerInput& in_;
  const RenderRequest& req_;
  const RenderProfile& prof_;
  const SequenceSnapshot& snap_;
  Grid grid_;
  int W_ = 0, H_ = 0;
  std::vector<TrackLayout> tracks_;
  int64_t timeline_end_f_ = 0;
  int64_t w0_ = 0;
  int64_t n_frames_ = 0;
  int next_label_ = 0;
  nlohmann::json warnings_ = nlohmann::json::array();
  nlohmann::json preview_warnings_ = nlohmann::json::array();
  nlohmann::json transitions_ = nlohmann::json::array();
  nlohmann::json ve_selection_ = nlohmann::json::object();
  nlohmann::json ve_warnings_ = nlohmann::json::array();
  nlohmann::json face_blur_meta_ = nlohmann::json::array();
  std::set<std::string> handled_transitions_;
  RenderPlan plan_;
};

}  // namespace

bool loudnorm_can_be_linear(const LoudnessMeasurement& m, double target_i, double target_tp,
                            double target_lra) {
  const double offset = target_i - m.input_i;
  return m.input_tp + offset <= target_tp && m.input_lra <= target_lra;
}

bool clip_wants_face_blur(const SequenceSnapshot& snapshot, const std::string& clip_id,
                          double* strength, std::string* summary_id) {
  for (const auto& fs : snapshot.filter_stacks) {
    if (fs.target_type != TargetType::kClip || fs.target_id != clip_id) continue;
    for (const auto& f : fs.filters) {
      if (!f.enabled || f.type != "face_blur") continue;
      if (strength) {
        auto it = f.params.find("strength");
        *strength = it != f.params.end() && it->is_number() ? it->get<double>() : 0.5;
      }
      if (summary_id) {
        auto it = f.params.find("source_summary_id");
        *summary_id = it != f.params.end() && it->is_string() ? it->get<std::string>() : "";
      }
      return true;
    }
  }
  return false;
}

std::string render_source_key(const Clip& clip) {
  return clip.artifact_id ? *clip.artifact_id : clip.asset_id;
}

Result<RenderPlan> plan_render(const PlannerInput& input) {
  if (!input.request || !input.profile || !input.snapshot || !input.sources) {
    return Error::internal("plan_render: incomplete planner input");
  }
  return Planner(input).run();
}

std::vector<std::string> loudness_measure_argv(const RenderPlan& plan) {
  std::vector<std::string> a = {"ffmpeg", "-hide_banner", "-nostdin", "-y"};
  for (const auto& in : plan.inputs) {
    a.insert(a.end(), in.options.begin(), in.options.end());
    a.push_back("-i");
    a.push_back(in.path);
  }
  FilterGraph g = plan.audio;
  if (!g.nodes.empty()) g.nodes.pop_back();  // the master stage
  // The measurement takes the same targets as the render so target_offset is meaningful.
  const std::string target = plan.loudnorm_target.empty()
                                 ? fmt::format("loudnorm=I=-16:TP={}:LRA={}:dual_mono=true",
                                               num(kLoudnormTruePeak), num(kLoudnormRange))
                                 : plan.loudnorm_target;
  g.nodes.push_back({{plan.audio_premaster}, target + ":print_format=json", {"measured"}});
  a.insert(a.end(), {"-filter_complex", g.to_string(), "-map", "[measured]", "-f", "null", "-"});
  return a;
}

Result<LoudnessMeasurement> parse_loudnorm_json(const std::string& text) {
  auto open = text.rfind('{');
  auto close = text.rfind('}');
  if (open == std::string::npos || close == std::string::npos || close < open) {
    return Error::invalid_argument("loudnorm printed no measurement");
  }
  auto j = nlohmann::json::parse(text.substr(open, close - open + 1), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Error::invalid_argument("loudnorm's measurement is not valid JSON");
  }
  auto field = [&](const char* name, double& out) -> bool {
    if (!j.contains(name) || !j[name].is_string()) return false;
    const std::string s = j[name].get<std::string>();
    char* end = nullptr;
    out = std::strtod(s.c_str(), &end);
    if (end == s.c_str()) return false;
    if (!std::isfinite(out)) out = s[0] == '-' ? -99.0 : 99.0;
    return true;
  };
  LoudnessMeasurement m;
  if (!field("input_i", m.input_i) || !field("input_tp", m.input_tp) ||
      !field("input_lra", m.input_lra) || !field("input_thresh", m.input_thresh) ||
      !field("target_offset", m.target_offset)) {
    return Error::invalid_argument(
        "loudnorm's measurement lacks input_i/input_tp/input_lra/"
        "input_thresh/target_offset");
  }
  if (!field("output_i", m.output_i)) m.output_i = std::numeric_limits<double>::quiet_NaN();
  return m;
}

}  // namespace atomcut

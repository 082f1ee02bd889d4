// RenderService: the Render atom (spec "Render Atom"). Loads the timeline (a stored project's
// sequence or an inline snapshot), resolves its media in the caller's tenant and env, plans with
// render_planner, and for a real render runs ffmpeg (ffmpeg_runner), publishes the output to the
// blob store and registers it in Media v2 as a new asset plus a `render` artifact.
//
// Analysis artifacts: a clip whose filter stack has an enabled face_blur gets the face tracks of
// its asset's video_region_summary (the one params.source_summary_id names, else the newest) and
// the planner blurs them; with none the plan warns "video_regions_missing" and the clip renders
// unblurred. Plan meta `dependency_notices` lists, per source asset, the newest
// video_region_summary, visual_meta and asr_transcript ({kind, artifact_id, asset_id,
// backend_version, model_used, cache_key, used}); `used` marks the summaries face_blur used.
//
// Free of HTTP types. Thread safe; at most `max_concurrent` renders run at once.
#pragma once

#include "core/error.h"
#include "core/model/render_request.h"
#include "core/request_context.h"
#include "engines/ffmpeg/ffmpeg_runner.h"
#include "engines/media/media_service.h"
#include "engines/render/render_planner.h"
#include "engines/timeline/timeline_service.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <mutex>
#include <set>
#include <string>

namespace atomcut {

struct RenderServiceOptions {
  int timeout_ms = 7200 * 1000;  // longest ffmpeg run (a request may ask for less)
  int max_concurrent = 2;
};

struct RenderOutcome {
  std::string asset_id;
  std::string artifact_id;
  std::string uri;
  std::string profile;
  nlohmann::json plan_preview;  // the plan's meta plus command, duration and frames
  nlohmann::json artifact;      // the registered artifact's JSON
};

class RenderService {
 public:
  RenderService(MediaService& media, TimelineService& timeline, RenderServiceOptions options);

  // The plan, the exact ffmpeg command (argv and a quoted line) and the filter graph; runs
  // nothing. {"plan", "command": {"argv", "line"}, "filter_graph", "render_profile", ...}
  Result<nlohmann::json> dry_run(const RequestContext& ctx, const RenderRequest& request);

  // Plans, measures loudness when asked, runs ffmpeg, registers the output. A failed render
  // leaves no blob and no record. `on_progress` (optional) sees ffmpeg's progress blocks;
  // `cancel` (optional) stops the run.
  Result<RenderOutcome> render(const RequestContext& ctx, const RenderRequest& request,
                               const std::function<void(const FfmpegProgress&)>& on_progress = {},
                               const CancelToken* cancel = nullptr);

  // Cancels every running render (server shutdown).
  void cancel_all();

 private:
  struct Prepared;
  Result<Prepared> prepare(const RequestContext& ctx, const RenderRequest& request);
  // The region summaries face_blur filters use and the plan's dependency_notices.
  Status resolve_analysis(const Scope& scope, Prepared& p);
  Result<RenderSource> resolve_source(const Scope& scope, const std::string& asset_id,
                                      const std::optional<std::string>& artifact_id);
  Result<RenderPlan> plan(const Prepared& p, const std::optional<LoudnessMeasurement>& m) const;
  Result<LoudnessMeasurement> measure_loudness(const RenderPlan& plan, int timeout_ms,
                                               const CancelToken* cancel);

  MediaService& media_;
  TimelineService& timeline_;
  RenderServiceOptions options_;
  EncoderChoice encoder_;
  std::atomic<int> running_{0};
  std::mutex tokens_mu_;
  std::set<CancelToken*> tokens_;
};

}  // namespace atomcut

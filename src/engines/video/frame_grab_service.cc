#include "engines/video/frame_grab_service.h"

#include "core/model/timeline_record.h"
#include "engines/video/frame_grab.h"

#include <fmt/format.h>

#include <algorithm>

namespace atomcut {

namespace {

constexpr const char* kRec = "frame_grab";
constexpr const char* kVersion = "frame_grab_libav_v1";
constexpr int64_t kMaxTimeMs = 24LL * 3600 * 1000;

}  // namespace

Result<FrameGrabRequest> frame_grab_request_from_json(const nlohmann::json& j) {
  FieldReader r(j, kRec);
  FrameGrabRequest q;
  q.asset_id = r.str("asset_id");
  q.artifact_id = r.opt_str("artifact_id");
  if (j.is_object() && j.contains("interval_ms") && !j["interval_ms"].is_null()) {
    q.interval_ms = r.i64("interval_ms");
  }
  if (j.is_object() && j.contains("timestamps_ms") && !j["timestamps_ms"].is_null()) {
    const auto& ts = j["timestamps_ms"];
    if (!ts.is_array()) return field_error(kRec, "timestamps_ms", "must be an array of integers");
    if (ts.size() > static_cast<size_t>(kFrameGrabMaxFrames)) {
      return field_error(kRec, "timestamps_ms",
                         fmt::format("may list at most {} times", kFrameGrabMaxFrames),
                         {{"count", ts.size()}});
    }
    for (const auto& t : ts) {
      if (!t.is_number_integer()) {
        return field_error(kRec, "timestamps_ms", "must be an array of integers (milliseconds)");
      }
      const int64_t v = t.get<int64_t>();
      if (v < 0 || v > kMaxTimeMs) {
        return field_error(kRec, "timestamps_ms",
                           fmt::format("times must lie in [0, {}] ms", kMaxTimeMs), {{"value", v}});
      }
      q.timestamps_ms.push_back(v);
    }
  }
  q.format = r.str("format", "png");
  q.max_width = static_cast<int>(r.i64("max_width", 0));
  q.max_height = static_cast<int>(r.i64("max_height", 0));
  if (!r.ok()) return r.take_error();
  if (q.asset_id.empty() && !q.artifact_id) {
    return field_error(kRec, "asset_id", "is required (or give artifact_id)");
  }
  if (q.interval_ms && !q.timestamps_ms.empty()) {
    return field_error(kRec, "interval_ms", "give either interval_ms or timestamps_ms, not both");
  }
  if (j.contains("timestamps_ms") && j["timestamps_ms"].is_array() && q.timestamps_ms.empty()) {
    return field_error(kRec, "timestamps_ms", "must not be empty");
  }
  Checker c(kRec);
  if (q.interval_ms) c.in_range("interval_ms", *q.interval_ms, int64_t{40}, int64_t{3600000});
  if (q.max_width) c.in_range("max_width", q.max_width, 16, 8192);
  if (q.max_height) c.in_range("max_height", q.max_height, 16, 8192);
  c.check(parse_still_format(q.format).has_value(), "format", "must be png, jpeg or jpg");
  ATOMCUT_TRY(c.status());
  return q;
}

bool FrameGrabOutcome::all_cached() const {
  return std::all_of(frames.begin(), frames.end(), [](const auto& f) { return f.cache_hit; });
}

FrameGrabService::FrameGrabService(MediaService& media) : artifacts_(media) {}

FrameGrabService::~FrameGrabService() = default;

Result<FrameGrabOutcome> FrameGrabService::grab(const RequestContext& ctx,
                                                const FrameGrabRequest& q) {
  const Scope scope = scope_of(ctx);
  ATOMCUT_ASSIGN_OR_RETURN(
      AnalysisInput in, artifacts_.resolve(scope, q.asset_id, q.artifact_id, NeedStream::kVideo));
  const StillFormat format = *parse_still_format(q.format);
  const std::string fmt_name = format == StillFormat::kPng ? "png" : "jpeg";
  int64_t duration = -1;
  if (in.artifact) {
    if (in.artifact->start_ms && in.artifact->end_ms) {
      duration = *in.artifact->end_ms - *in.artifact->start_ms;
    }
  } else if (in.asset.duration_ms) {
    duration = *in.asset.duration_ms;
  }
  std::vector<int64_t> times = q.timestamps_ms;
  std::string mode = "timestamps";
  if (q.interval_ms) {
    mode = "interval";
    if (duration < 0) {
      return Error::invalid_argument("the video's duration is unknown: give timestamps_ms",
                                     {{"field", "interval_ms"}});
    }
    const int64_t n = duration / *q.interval_ms + 1;
    if (n > kFrameGrabMaxFrames) {
      return Error::resource_exhausted(
          fmt::format("interval_ms {} over {} ms asks for {} frames; at most {} per request",
                      *q.interval_ms, duration, n, kFrameGrabMaxFrames),
          {{"field", "interval_ms"}, {"frames", n}, {"max_frames", kFrameGrabMaxFrames}});
    }
    for (int64_t t = 0; t < std::max<int64_t>(duration, 1); t += *q.interval_ms) times.push_back(t);
  } else if (times.empty()) {
    mode = "auto";
    times = auto_grab_times(duration, kFrameGrabAutoFrames);
  }

  FrameGrabOutcome out;
  std::vector<int64_t> to_decode;
  std::vector<std::string> keys(times.size());
  std::vector<std::optional<DerivedArtifact>> hits(times.size());
  const auto cached = artifacts_.cached_by_key(scope, in.asset.id, "frame");
  for (size_t i = 0; i < times.size(); ++i) {
    keys[i] =
        join_cache_key({"frame", in.asset.id, in.artifact_key(), std::to_string(times[i]), fmt_name,
                        std::to_string(q.max_width), std::to_string(q.max_height), kVersion});
    if (auto it = cached.find(keys[i]); it != cached.end()) hits[i] = it->second;
    if (!hits[i]) to_decode.push_back(times[i]);
  }
  std::sort(to_decode.begin(), to_decode.end());
  to_decode.erase(std::unique(to_decode.begin(), to_decode.end()), to_decode.end());

  std::map<int64_t, DerivedArtifact> made;
  ATOMCUT_TRY(grab_stills(
      in.path, to_decode, q.max_width, q.max_height,
      [&](const VideoFrame& frame, const GrabbedStill& g) -> Status {
        const size_t i = static_cast<size_t>(std::find(times.begin(), times.end(), g.requested_ms) -
                                             times.begin());
        nlohmann::json meta = source_meta(in);
        meta["timestamp_ms"] = g.requested_ms;
        meta["frame_pts_ms"] = g.frame_pts_ms;
        meta["frame_index"] = g.frame_index;
        meta["width"] = g.width;
        meta["height"] = g.height;
        meta["format"] = fmt_name;
        meta["grab_mode"] = mode;
        meta["backend_version"] = kVersion;
        meta["cache_key"] = keys[i];
        ATOMCUT_ASSIGN_OR_RETURN(
            DerivedArtifact a,
            artifacts_.store_file(
                ctx, in.asset.id, "frame",
                fmt::format("frame_{}{}", g.requested_ms, still_format_extension(format)),
                [&](const std::string& path) -> Result<nlohmann::json> {
                  ATOMCUT_TRY(write_still(frame, path, format));
                  return nlohmann::json::object();
                },
                std::move(meta), in.offset_ms() + g.requested_ms, in.offset_ms() + g.requested_ms));
        made.emplace(g.requested_ms, std::move(a));
        return {};
      }));
  for (size_t i = 0; i < times.size(); ++i) {
    if (hits[i]) {
      out.frames.push_back({*hits[i], true});
    } else if (auto it = made.find(times[i]); it != made.end()) {
      out.frames.push_back({it->second, false});
    } else {
      out.skipped_ms.push_back(times[i]);
    }
  }
  if (out.frames.empty()) {
    return Error::invalid_argument(
        fmt::format("every time asked for is past the end of the video ({} ms)", duration),
        {{"field", "timestamps_ms"}, {"reason", "past_end"}, {"duration_ms", duration}});
  }
  return out;
}

}  // namespace atomcut

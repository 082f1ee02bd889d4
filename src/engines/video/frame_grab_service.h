// FrameGrabService: the frame grab atom (spec "Recap": engines/video/frame_grab). POST
// /video/frames/grab {asset_id, artifact_id?, interval_ms? | timestamps_ms[]?, format?,
// max_width?, max_height?} decodes the frames shown at those times in-process and registers each as
// a `frame` artifact (PNG or JPEG) of the asset, with its timestamp (start_ms = end_ms = the time
// asked for; meta.frame_pts_ms = the frame's own presentation time). Neither interval_ms nor
// timestamps_ms: ten frames spread over the video. Each still is cached on its own
// (meta.cache_key). Free of HTTP types. Thread safe.
#pragma once

#include "core/error.h"
#include "core/request_context.h"
#include "engines/media/analysis_support.h"
#include "engines/media/media_service.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace atomcut {

struct FrameGrabRequest {
  std::string asset_id;
  std::optional<std::string> artifact_id;
  std::optional<int64_t> interval_ms;  // 40 .. 3 600 000
  std::vector<int64_t> timestamps_ms;  // each 0 .. 24 h; at most kMaxFrames
  std::string format = "png";          // png | jpeg | jpg
  int max_width = 0;                   // 0 = the video's size; else 16 .. 8192
  int max_height = 0;
};

inline constexpr int kFrameGrabMaxFrames = 500;
inline constexpr int kFrameGrabAutoFrames = 10;

// Strict parsing of the JSON body (details.field names the offending field).
Result<FrameGrabRequest> frame_grab_request_from_json(const nlohmann::json& j);

struct GrabbedFrame {
  DerivedArtifact artifact;
  bool cache_hit = false;
};

struct FrameGrabOutcome {
  std::vector<GrabbedFrame> frames;
  std::vector<int64_t> skipped_ms;  // asked-for times past the end of the video
  bool all_cached() const;
};

class FrameGrabService {
 public:
  explicit FrameGrabService(MediaService& media);
  ~FrameGrabService();

  // invalid_argument (reason "past_end") when every time is past the end of the video;
  // resource_exhausted when an interval asks for more than kFrameGrabMaxFrames frames.
  Result<FrameGrabOutcome> grab(const RequestContext& ctx, const FrameGrabRequest& q);

 private:
  AnalysisArtifacts artifacts_;
};

}  // namespace atomcut

// VideoProject: the root of a timeline (spec "Timeline / Project Atom"): its sequences and the
// render profile used to export it.
#pragma once

#include "core/error.h"
#include "core/model/timeline_record.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace atomcut {

inline constexpr std::string_view kDefaultRenderProfile = "social_1080p_h264";

struct VideoProject : TimelineRecord {
  std::string id;  // prj_...
  std::string title;
  std::optional<std::string> description;
  std::vector<std::string> tags;
  std::string render_profile = std::string(kDefaultRenderProfile);  // a render_profiles() name
  std::vector<std::string> sequences;                               // sequence ids
  nlohmann::json meta = nlohmann::json::object();
  // Bumped by the service on every change (optimistic concurrency, render cache keys).
  int64_t revision = 0;
};

nlohmann::json to_json(const VideoProject& project);
// Strict parse; render_profile defaults to kDefaultRenderProfile.
Result<VideoProject> video_project_from_json(const nlohmann::json& j);
// Rules: title 1..200 characters, description <= 5000, at most 64 tags of 1..64 characters,
// render_profile a known profile, sequence ids non-empty, revision >= 0.
Status validate(const VideoProject& project);

}  // namespace atomcut

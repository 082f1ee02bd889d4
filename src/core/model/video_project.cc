#include "core/model/video_project.h"

#include "core/model/render_profiles.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>
#include <vector>

namespace atomcut {

nlohmann::json to_json(const VideoProject& p) {
  nlohmann::json j;
  j["id"] = p.id;
  j["title"] = p.title;
  j["description"] = p.description ? nlohmann::json(*p.description) : nlohmann::json(nullptr);
  j["tags"] = p.tags;
  j["render_profile"] = p.render_profile;
  j["sequences"] = p.sequences;
  j["meta"] = p.meta;
  j["revision"] = p.revision;
  write_record_fields(p, j);
  return j;
}

Result<VideoProject> video_project_from_json(const nlohmann::json& j) {
  FieldReader r(j, "video_project");
  VideoProject p;
  static_cast<TimelineRecord&>(p) = read_record_fields(r);
  p.id = r.str("id");
  p.title = r.str("title");
  p.description = r.opt_str("description");
  p.tags = r.str_list("tags");
  p.render_profile = r.str("render_profile", p.render_profile);
  p.sequences = r.str_list("sequences");
  p.meta = r.object("meta");
  p.revision = r.i64("revision", p.revision);
  if (!r.ok()) return r.take_error();
  return p;
}

Status validate(const VideoProject& p) {
  Checker k("video_project");
  k.id("id", p.id, false);
  k.name("title", p.title, true);
  k.text("description", p.description);
  k.tags("tags", p.tags);
  if (k.ok()) {
    auto profile = find_render_profile(p.render_profile);
    if (!profile.ok()) {
      const auto& allowed = profile.error().details.at("allowed");
      std::vector<std::string> names = allowed.get<std::vector<std::string>>();
      k.check(false, "render_profile",
              fmt::format("('{}') must be one of {}", p.render_profile.substr(0, 40),
                          fmt::join(names, ", ")),
              {{"allowed", allowed}});
    }
  }
  for (size_t i = 0; i < p.sequences.size() && k.ok(); ++i) {
    k.id(fmt::format("sequences[{}]", i), p.sequences[i], true);
  }
  k.check_lazy(p.revision >= 0, "revision",
               [&] { return fmt::format("({}) must be >= 0", p.revision); });
  return k.status();
}

}  // namespace atomcut

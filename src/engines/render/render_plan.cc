#include "engines/render/render_plan.h"

#include <fmt/format.h>

namespace atomcut {

namespace {

std::string labels(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += "[" + n + "]";
  return s;
}

}  // namespace

std::string FilterGraph::to_string() const {
  std::string s;
  for (const auto& n : nodes) {
    if (!s.empty()) s += ';';
    s += labels(n.in) + n.filter + labels(n.out);
  }
  return s;
}

std::string RenderPlan::filter_graph() const {
  std::string v = video.to_string();
  std::string a = audio.to_string();
  if (v.empty()) return a;
  if (a.empty()) return v;
  return v + ";" + a;
}

std::vector<std::string> RenderPlan::argv(const std::string& output_path, bool progress,
                                          const std::string& graph_script_path) const {
  std::vector<std::string> a = {"ffmpeg", "-hide_banner", "-nostdin", "-y"};
  if (progress) a.insert(a.end(), {"-progress", "pipe:1", "-nostats"});
  for (const auto& in : inputs) {
    a.insert(a.end(), in.options.begin(), in.options.end());
    a.push_back("-i");
    a.push_back(in.path);
  }
  if (graph_script_path.empty()) {
    a.insert(a.end(), {"-filter_complex", filter_graph()});
  } else {
    a.insert(a.end(), {"-filter_complex_script", graph_script_path});
  }
  if (!video_out.empty()) a.insert(a.end(), {"-map", "[" + video_out + "]"});
  if (!audio_out.empty()) a.insert(a.end(), {"-map", "[" + audio_out + "]"});
  a.insert(a.end(), output_options.begin(), output_options.end());
  a.insert(a.end(), {"-f", container, output_path});
  return a;
}

std::string shell_quote_command(const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& arg : argv) {
    if (!line.empty()) line += ' ';
    bool plain = !arg.empty();
    for (char c : arg) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                std::string_view("-_./:=+,@%").find(c) != std::string_view::npos;
      plain = plain && ok;
    }
    if (plain) {
      line += arg;
      continue;
    }
    line += '\'';
    for (char c : arg) {
      if (c == '\'') {
        line += "'\\''";
      } else {
        line += c;
      }
    }
    line += '\'';
  }
  return line;
}

nlohmann::json to_json(const RenderPlan& p) {
  nlohmann::json inputs = nlohmann::json::array();
  for (size_t i = 0; i < p.inputs.size(); ++i) {
    inputs.push_back({{"index", i},
                      {"role", p.inputs[i].role},
                      {"options", p.inputs[i].options},
                      {"path", p.inputs[i].path}});
  }
  auto nodes = [](const FilterGraph& g) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& n : g.nodes) a.push_back({{"in", n.in}, {"filter", n.filter}, {"out", n.out}});
    return a;
  };
  return {{"inputs", inputs},
          {"video_graph", nodes(p.video)},
          {"audio_graph", nodes(p.audio)},
          {"video_out", p.video_out},
          {"audio_out", p.audio_out},
          {"output_options", p.output_options},
          {"container", p.container},
          {"duration_ms", p.duration_ms},
          {"frames", p.frames},
          {"audio_samples", p.audio_samples},
          {"meta", p.meta}};
}

std::string format_seconds(double seconds) {
  std::string s = fmt::format("{:.6f}", seconds);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  if (s == "-0" || s.empty()) s = "0";
  return s;
}

}  // namespace atomcut

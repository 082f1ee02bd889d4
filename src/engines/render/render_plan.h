// RenderPlan: a render as data (spec "Render Atom"). Inputs, a filter graph of nodes and output
// options, which render to an ffmpeg argv (never a shell string). The planner (render_planner.h)
// builds it; the executor runs its argv; dry-run returns it as JSON.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace atomcut {

// One `-i` of the command, with the options that precede it (-ss, -t, -loop ...).
struct PlanInput {
  std::vector<std::string> options;
  std::string path;
  std::string role;  // what it is for: "clip clp_..", "watermark" (documentation only)
};

// One filter of the graph: [in...]name=args[out...]. Inputs are labels of other nodes' outputs or
// input streams ("3:v"); a node without inputs is a source (color, anullsrc).
struct FilterNode {
  std::vector<std::string> in;
  std::string filter;  // "name=args", or several filters joined by ',' (a linear chain)
  std::vector<std::string> out;
};

// A sequence of graph nodes built by one planning stage. Video and audio are kept apart so the
// loudness measurement pass can run the audio graph alone.
struct FilterGraph {
  std::vector<FilterNode> nodes;
  // "[a][b]name=args[c];..." (ffmpeg -filter_complex syntax).
  std::string to_string() const;
};

struct RenderPlan {
  std::vector<PlanInput> inputs;
  FilterGraph video;
  FilterGraph audio;
  std::string video_out;  // label of the final video stream
  std::string audio_out;  // label of the final audio stream
  // Label of the mixed audio before the master stage (loudness, mixdown); the master stage is the
  // last node of `audio`.
  std::string audio_premaster;
  // loudnorm's target options ("loudnorm=I=..:TP=..:LRA=..:dual_mono=true"), empty when the
  // render does not normalise; the measurement pass uses the same.
  std::string loudnorm_target;
  std::vector<std::string> output_options;  // -c:v ... -movflags ... (before the output path)
  std::string container;                    // ffmpeg muxer name: "mp4" or "mov"
  std::string extension;                    // ".mp4" or ".mov"
  int64_t duration_ms = 0;                  // exact: frames / fps
  int64_t frames = 0;                       // video frames the output has
  int64_t audio_samples = 0;                // audio samples per channel
  nlohmann::json meta = nlohmann::json::object();

  // The whole filter graph (video then audio).
  std::string filter_graph() const;
  // ffmpeg argv writing to `output_path` (format forced to `container`). With `progress` the
  // command reports to stdout (-progress pipe:1). When `graph_script_path` is set the graph is
  // read from that file (-filter_complex_script) instead of the command line.
  std::vector<std::string> argv(const std::string& output_path, bool progress = true,
                                const std::string& graph_script_path = "") const;
};

// The argv as one line a POSIX shell runs unchanged (single-quoted where needed).
std::string shell_quote_command(const std::vector<std::string>& argv);

// Public JSON: inputs, graph nodes, outputs, counts and meta.
nlohmann::json to_json(const RenderPlan& plan);

// Formats seconds with up to 6 decimals and no trailing zeros ("7", "0.5", "1.033333").
std::string format_seconds(double seconds);

}  // namespace atomcut

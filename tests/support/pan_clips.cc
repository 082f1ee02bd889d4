#include "support/pan_clips.h"

#include "support/subprocess.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <vector>

namespace atomcut::testing {
namespace fs = std::filesystem;

namespace {

struct ScratchDir {
  std::string path;
  ~ScratchDir() {
    std::error_code ec;
    if (!path.empty() && !std::getenv("ATOMCUT_KEEP_TEST_DATA")) fs::remove_all(path, ec);
  }
};

double progress(const PanClip& c, int on) { return static_cast<double>(on) / (c.frames - 1); }

// The face centre in the pre-cropped picture.
double centre_x(const PanClip& c) { return c.face.x + c.face.w / 2 - c.pre_x; }
double centre_y(const PanClip& c) { return c.face.y + c.face.h / 2 - c.pre_y; }

}  // namespace

const std::string& scratch_dir() {
  static ScratchDir dir = [] {
    ScratchDir d;
    std::string tmpl = (fs::temp_directory_path() / "atomcut-scratch-XXXXXX").string();
    if (mkdtemp(tmpl.data())) d.path = tmpl;
    return d;
  }();
  return dir.path;
}

PanClip astronaut_pan(int frames, const std::string& x264_preset) {
  PanClip c{kAstronautPng, kAstronautFace, 0, 16, 512, 288, 1.0, 1.8, 0.3, 0.7, 0.45};
  c.frames = frames;
  c.x264_preset = x264_preset;
  return c;
}

PanWindow pan_window(const PanClip& c, int on) {
  const double zoom = c.zoom0 + (c.zoom1 - c.zoom0) * progress(c, on);
  const double wd = c.pre_w / zoom, hd = c.pre_h / zoom;
  const double fx = c.fx0 + (c.fx1 - c.fx0) * progress(c, on);
  const double x = std::clamp(centre_x(c) - fx * wd, 0.0, std::max(c.pre_w - wd, 0.0));
  const double y = std::clamp(centre_y(c) - c.fy * hd, 0.0, std::max(c.pre_h - hd, 0.0));
  return PanWindow{std::floor(x), std::floor(y), std::floor(wd), std::floor(hd)};
}

FaceBox pan_true_face(const PanClip& c, int on) {
  const PanWindow w = pan_window(c, std::clamp(on, 0, c.frames - 1));
  return FaceBox{(c.face.x - c.pre_x - w.x) / w.w, (c.face.y - c.pre_y - w.y) / w.h, c.face.w / w.w,
                 c.face.h / w.h};
}

std::string pan_filter(const PanClip& c) {
  // "{}" prints the shortest text that reads back as the same double: ffmpeg evaluates exactly
  // the numbers pan_window() uses.
  const std::string p = fmt::format("(on/{})", c.frames - 1);
  const std::string zoom = fmt::format("({}+{}*{})", c.zoom0, c.zoom1 - c.zoom0, p);
  const std::string fx = fmt::format("({}+{}*{})", c.fx0, c.fx1 - c.fx0, p);
  return fmt::format(
      "crop={}:{}:{}:{},format=rgb24,zoompan=z='{}':x='{}-{}*iw/{}':y='{}-{}*ih/{}':d={}:s={}x{}:"
      "fps={}",
      c.pre_w, c.pre_h, c.pre_x, c.pre_y, zoom, centre_x(c), fx, zoom, centre_y(c), c.fy, zoom,
      c.frames, c.width, c.height, c.fps);
}

std::string pan_clip(const PanClip& c) {
  static std::mutex mutex;
  static std::map<std::vector<std::string>, std::string> made;  // recipe -> path ("" = failed)
  const std::vector<std::string> recipe = {
      "-i",       c.photo,   "-vf",     pan_filter(c), "-frames:v", std::to_string(c.frames),
      "-c:v",     "libx264", "-preset", c.x264_preset, "-crf",      "18",
      "-pix_fmt", "yuv420p"};
  std::lock_guard lock(mutex);
  if (auto it = made.find(recipe); it != made.end()) {
    if (it->second.empty()) {
      ADD_FAILURE() << "pan clip of " << c.photo << ": an earlier attempt failed";
    }
    return it->second;
  }
  std::string path;
  if (scratch_dir().empty()) {
    ADD_FAILURE() << "pan clip of " << c.photo << ": cannot create a temporary directory";
  } else {
    const std::string out = fmt::format("{}/pan_{}.mp4", scratch_dir(), made.size());
    std::vector<std::string> argv = {"ffmpeg", "-nostdin", "-v", "error", "-y"};
    argv.insert(argv.end(), recipe.begin(), recipe.end());
    argv.push_back(out);
    CommandResult r = run_command(argv);
    if (r.exit_code == 0) {
      path = out;
    } else {
      ADD_FAILURE() << "pan clip of " << c.photo << ": ffmpeg failed (exit " << r.exit_code
                    << "): " << r.err;
    }
  }
  made.emplace(recipe, path);
  return path;
}

std::string join_footage(const std::string& out_path, const std::vector<FootageSegment>& segs,
                         bool dissolve, int fps, std::vector<int64_t>& truth) {
  std::vector<std::string> argv = {"ffmpeg", "-nostdin", "-v", "error", "-y"};
  for (const FootageSegment& s : segs) {
    argv.insert(argv.end(), {"-ss", fmt::format("{:.3f}", s.start_s), "-i", s.path});
  }
  std::string graph;
  for (size_t i = 0; i < segs.size(); ++i) {
    graph += fmt::format(
        "[{}:v]fps={},trim=start_frame=0:end_frame={},setpts=PTS-STARTPTS,scale=640:360,"
        "setsar=1,format=yuv420p[s{}];",
        i, fps, segs[i].frames, i);
  }
  truth.clear();
  if (!dissolve) {
    for (size_t i = 0; i < segs.size(); ++i) graph += fmt::format("[s{}]", i);
    graph += fmt::format("concat=n={}:v=1:a=0[out]", segs.size());
    int64_t at = 0;
    for (size_t i = 0; i + 1 < segs.size(); ++i) truth.push_back(at += segs[i].frames);
  } else {
    std::string prev = "s0";
    int64_t length = segs[0].frames;
    for (size_t i = 1; i < segs.size(); ++i) {
      const int64_t offset = length - fps;  // the dissolve's first frame
      const std::string out = i + 1 == segs.size() ? "out" : fmt::format("x{}", i);
      graph += fmt::format("[{}][s{}]xfade=transition=fade:duration=1:offset={}[{}];", prev, i,
                           double(offset) / fps, out);
      truth.push_back(offset + fps / 2);
      length = offset + segs[i].frames;
      prev = out;
    }
    graph.pop_back();
  }
  const std::string& path = out_path;
  argv.insert(argv.end(), {"-filter_complex", graph, "-map", "[out]", "-c:v", "libx264", "-preset",
                           "ultrafast", "-crf", "18", "-threads", "2", path});
  auto r = run_command(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? path : "";
}

}  // namespace atomcut::testing

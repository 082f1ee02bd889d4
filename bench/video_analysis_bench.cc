// Claim: the visual meta engine (500 ms samples with faces and regions + every frame through the
// shot detector, one decode pass) runs at >= 10x real time on a 60 s 1080p H.264 clip on this
// 2-core machine, next to the reference `ffmpeg -i clip -f null -` (a plain decode).
//
// Makes a 60 s 1920x1080 25 fps H.264 clip once per run in a temporary directory from real
// footage (MEDIA.md): the astronaut photograph panned smoothly (a face), opencv-doc's vtest.avi
// (pedestrians) and tree.avi, and forensics-samples' movie-hello.mp4, scaled to 1080p and
// concatenated in 10 s pieces (so with cuts; tree.avi's 15 fps piece comes out 10.2 s long through
// fps=25, so the later cuts are at 30.2, 40.2 and 50.2 s), x264 "veryfast" CRF 23. Then times:
//   visual_meta   analyze_visual_meta (opencv_face_detector), wall and CPU seconds
//   decode        FrameSampler alone, every frame at 160x90 gray, fast decode
//   ffmpeg        `ffmpeg -nostdin -i clip -f null -` (wall), and its CPU seconds
// and prints x real time (60 s / wall) and visual_meta's wall time over ffmpeg's. Also face
// detection frames/s at 640x360 for both backends (opencv_face_detector, dlib_hog) on frames of
// the astronaut pan.
//
//   ./build/bench/video_analysis_bench [--keep=DIR]
#include "engines/video/face_detector.h"
#include "engines/video/frame_sampler.h"
#include "engines/video/visual_meta.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double cpu_self_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Runs argv; returns {exit code, wall s, child CPU s}.
struct Run {
  int code = -1;
  double wall = 0, cpu = 0;
};
Run run(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  Run r;
  const double t0 = now_s();
  pid_t pid = 0;
  if (posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) return r;
  int status = 0;
  rusage u{};
  wait4(pid, &status, 0, &u);
  r.wall = now_s() - t0;
  r.cpu = u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  posix_spawn_file_actions_destroy(&fa);
  return r;
}

constexpr const char* kAstronaut = "/usr/lib/python3/dist-packages/skimage/data/astronaut.png";
constexpr const char* kVtest = "/usr/share/doc/opencv-doc/examples/data/vtest.avi";
constexpr const char* kTree = "/usr/share/doc/opencv-doc/examples/data/tree.avi";
constexpr const char* kHello = "/usr/share/forensics-samples/original-files/movie2/movie-hello.mp4";

std::string pan_filter(int frames, const char* size) {
  return std::string("crop=512:288:0:16,format=rgb24,zoompan=z='1+0.6*on/") +
         std::to_string(frames - 1) + "':x='223-(0.3+0.4*on/" + std::to_string(frames - 1) +
         ")*iw/(1+0.6*on/" + std::to_string(frames - 1) + ")':y='105-0.45*ih/(1+0.6*on/" +
         std::to_string(frames - 1) + ")':d=" + std::to_string(frames) + ":s=" + size + ":fps=25";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace atomcut;
  std::string keep;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--keep=", 7) == 0) keep = argv[i] + 7;
  }
  for (const char* p : {kAstronaut, kVtest, kTree, kHello}) {
    if (!fs::exists(p)) {
      std::fprintf(stderr, "missing %s (python3-skimage, opencv-doc, forensics-samples-files)\n",
                   p);
      return 1;
    }
  }
  std::string dir = keep;
  if (dir.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "video_analysis_bench.XXXXXX").string();
    if (!mkdtemp(tmpl.data())) return 1;
    dir = tmpl;
  } else {
    fs::create_directories(dir);
  }
  const std::string clip = dir + "/clip_1080p_60s.mp4";
  if (!fs::exists(clip)) {
    // 6 pieces of 10 s: a smooth pan over the astronaut photograph (scaled up, 1-pixel steps
    // at 1080p), vtest, tree, hello (looped), the pan mirrored, vtest later.
    const std::string scale = ",scale=1920:1080,setsar=1,fps=25,format=yuv420p";
    const std::string pan =
        "scale=3413:3413,crop=1920:1080:x='800*t/10':y=300,setsar=1,fps=25,format=yuv420p";
    std::string graph;
    graph += "[0:v]" + pan + "[p0];";
    graph += "[1:v]trim=duration=10,setpts=PTS-STARTPTS" + scale + "[p1];";
    graph += "[2:v]trim=duration=10,setpts=PTS-STARTPTS" + scale + "[p2];";
    graph += "[3:v]loop=loop=2:size=300,trim=duration=10,setpts=PTS-STARTPTS" + scale + "[p3];";
    graph += "[4:v]" + pan + ",hflip[p4];";
    graph += "[5:v]trim=start=30:duration=10,setpts=PTS-STARTPTS" + scale + "[p5];";
    graph += "[p0][p1][p2][p3][p4][p5]concat=n=6:v=1:a=0[out]";
    std::printf("making %s ...\n", clip.c_str());
    std::fflush(stdout);
    Run m = run(
        {"ffmpeg",  "-nostdin", "-y",    "-loop",    "1",        "-framerate", "25",
         "-t",      "10",       "-i",    kAstronaut, "-i",       kVtest,       "-i",
         kTree,     "-i",       kHello,  "-loop",    "1",        "-framerate", "25",
         "-t",      "10",       "-i",    kAstronaut, "-i",       kVtest,       "-filter_complex",
         graph,     "-map",     "[out]", "-t",       "60",       "-c:v",       "libx264",
         "-preset", "veryfast", "-crf",  "23",       "-threads", "2",          clip});
    if (m.code != 0) {
      std::fprintf(stderr, "ffmpeg could not make the clip\n");
      return 1;
    }
  }
  const double media_s = 60.0;

  // Reference: ffmpeg decoding the clip.
  Run ff = run({"ffmpeg", "-nostdin", "-i", clip, "-f", "null", "-"});
  std::printf("ffmpeg -f null       wall %6.2f s  cpu %6.2f s  %6.1fx real time\n", ff.wall, ff.cpu,
              media_s / ff.wall);

  // Decoding alone as the engine does it.
  {
    FrameSamplerOptions o;
    o.max_width = 160;
    o.max_height = 90;
    o.layout = PixelLayout::kGray8;
    o.fast_decode = true;
    const double t0 = now_s(), c0 = cpu_self_s();
    int64_t n = 0;
    auto st = for_each_frame(clip, o, [&](const VideoFrame&) {
      ++n;
      return Status{};
    });
    const double w = now_s() - t0, c = cpu_self_s() - c0;
    std::printf(
        "sampler 160x90 gray  wall %6.2f s  cpu %6.2f s  %6.1fx real time  (%lld frames%s)\n", w, c,
        media_s / w, static_cast<long long>(n), st.ok() ? "" : ", ERROR");
  }

  // The visual meta engine (the default, and faces searched on smaller samples for comparison).
  for (int subject_width : {VisualMetaOptions{}.subject_max_width, 320}) {
    VisualMetaOptions o;
    o.sample_interval_ms = 500;
    o.subject_max_width = subject_width;
    const double t0 = now_s(), c0 = cpu_self_s();
    auto r = analyze_visual_meta(clip, o);
    const double w = now_s() - t0, c = cpu_self_s() - c0;
    if (!r.ok()) {
      std::fprintf(stderr, "visual meta failed: %s\n", r.error().message.c_str());
      return 1;
    }
    std::printf(
        "visual_meta (faces at %d px) wall %6.2f s  cpu %6.2f s  %6.1fx real time  (%.2fx "
        "ffmpeg's wall time)\n",
        subject_width, w, c, media_s / w, w / ff.wall);
    std::printf("  %zu samples, %lld frames, %zu shot boundaries (ms:", r->summary.frames.size(),
                static_cast<long long>(r->frame_count), r->summary.shot_boundaries_ms.size());
    for (int64_t b : r->summary.shot_boundaries_ms) std::printf(" %lld", static_cast<long long>(b));
    std::printf("), %d face tracks, %lld face subjects, %lld regions\n", r->face_track_count,
                static_cast<long long>(r->face_detections),
                static_cast<long long>(r->region_detections));
  }

  // Face detection frames/s at 640x360 on the astronaut pan.
  {
    const std::string pan = dir + "/pan_640.mp4";
    run({"ffmpeg", "-nostdin", "-y", "-i", kAstronaut, "-vf", pan_filter(50, "640x360"),
         "-frames:v", "50", "-c:v", "libx264", "-preset", "ultrafast", pan});
    std::vector<VideoFrame> frames;
    FrameSamplerOptions o;
    o.layout = PixelLayout::kRgb24;
    (void)for_each_frame(pan, o, [&](const VideoFrame& f) {
      frames.push_back(f);
      return Status{};
    });
    for (const auto& name : face_detector_backends()) {
      FaceDetectorOptions fo;
      fo.backend = name;
      auto det = FaceDetector::create(fo);
      if (!det.ok() || frames.empty()) {
        std::printf("faces %-20s unavailable\n", name.c_str());
        continue;
      }
      const double t0 = now_s();
      int found = 0;
      for (const auto& f : frames) {
        auto r = det->detect(f);
        found += r.ok() && !r->empty();
      }
      const double w = now_s() - t0;
      std::printf("faces %-20s 640x360: %6.1f frames/s (face in %d/%zu)\n", name.c_str(),
                  frames.size() / w, found, frames.size());
    }
  }
  if (keep.empty()) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  return 0;
}

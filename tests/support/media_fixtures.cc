#include "support/media_fixtures.h"

#include "support/subprocess.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <random>
#include <utility>

namespace atomcut::testing {
namespace fs = std::filesystem;

namespace {

using Args = std::vector<std::string>;

struct Recipe {
  Recipe(Args args = {}, std::string from = {})
      : ffmpeg_args(std::move(args)), derived_from(std::move(from)) {}
  // Inputs and output options; "ffmpeg -nostdin -v error -y" and the output path are added.
  Args ffmpeg_args;
  // Another fixture this one is made from (ffmpeg_args names it "{in}").
  std::string derived_from;
};

Args lavfi_video(const std::string& spec) { return {"-f", "lavfi", "-i", spec}; }

Args join(std::initializer_list<Args> parts) {
  Args all;
  for (const auto& p : parts) all.insert(all.end(), p.begin(), p.end());
  return all;
}

const Args kH264 = {"-c:v", "libx264", "-pix_fmt", "yuv420p"};
const Args kOneImage = join({lavfi_video("testsrc2=size=64x48:rate=1"), {"-frames:v", "1"}});

std::string sine(int hz, int rate, const std::string& seconds) {
  return "sine=frequency=" + std::to_string(hz) + ":sample_rate=" + std::to_string(rate) +
         ":duration=" + seconds;
}

const std::map<std::string, Recipe, std::less<>>& recipes() {
  static const std::map<std::string, Recipe, std::less<>> r = {
      {"video_h264_aac.mp4",
       {join({lavfi_video("testsrc2=size=320x240:rate=25:duration=2"),
              lavfi_video(sine(1000, 48000, "2")),
              kH264,
              {"-c:a", "aac", "-ac", "2"}})}},
      {"video_2997.mp4",
       {join({lavfi_video("testsrc2=size=320x240:rate=30000/1001:duration=2"),
              lavfi_video(sine(1000, 44100, "2")),
              kH264,
              {"-c:a", "aac", "-ac", "1"}})}},
      {"_rotation_source.mp4",
       {join({lavfi_video("testsrc2=size=320x240:rate=25:duration=1"), kH264})}},
      // FFmpeg 5.1 turns the stream-copy "rotate" tag into a display matrix whose
      // av_display_rotation_get() is the tag's value (counter-clockwise), so "rotate=270" gives
      // ffprobe rotation -90, that is 90 degrees clockwise (ffmpeg autorotates with
      // transpose=clock).
      {"video_rotated_90.mp4",
       {{"-i", "{in}", "-c", "copy", "-metadata:s:v:0", "rotate=270"}, "_rotation_source.mp4"}},
      {"video_only.mp4", {join({lavfi_video("testsrc2=size=320x240:rate=25:duration=1"), kH264})}},
      {"video_vfr.mkv",
       {join({lavfi_video("testsrc2=size=320x240:rate=30:duration=3"),
              {"-vf", "setpts='if(lt(N,30),N/30,1+(N-30)/20)/TB'", "-fps_mode", "passthrough"},
              kH264})}},
      {"video.webm",
       {join({lavfi_video("testsrc2=size=160x120:rate=25:duration=1"),
              lavfi_video(sine(440, 48000, "1")),
              {"-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-c:a",
               "libopus"}})}},
      {"video.avi",
       {join({lavfi_video("testsrc2=size=160x120:rate=25:duration=1"),
              lavfi_video(sine(440, 44100, "1")),
              {"-c:v", "mpeg4", "-c:a", "libmp3lame"}})}},
      {"video.mov",
       {join({lavfi_video("testsrc2=size=160x120:rate=25:duration=1"), kH264, {"-f", "mov"}})}},
      {"audio_sine.wav", {join({lavfi_video(sine(440, 44100, "1")), {"-c:a", "pcm_s16le"}})}},
      {"audio_stereo.mp3",
       {join({lavfi_video(sine(440, 48000, "1.5")), {"-ac", "2", "-c:a", "libmp3lame"}})}},
      {"audio.flac", {join({lavfi_video(sine(440, 48000, "1")), {"-ac", "2", "-c:a", "flac"}})}},
      {"audio.ogg", {join({lavfi_video(sine(440, 48000, "1")), {"-c:a", "libvorbis"}})}},
      {"audio.m4a", {join({lavfi_video(sine(440, 48000, "1")), {"-c:a", "aac"}})}},
      {"audio.aac", {join({lavfi_video(sine(440, 48000, "1")), {"-c:a", "aac", "-f", "adts"}})}},
      {"image.png", {kOneImage}},
      {"image.jpg", {kOneImage}},
      {"image.webp", {join({kOneImage, {"-c:v", "libwebp"}})}},
      {"image.bmp", {kOneImage}},
      {"image.gif", {kOneImage}},
      {"animation.gif", {join({lavfi_video("testsrc2=size=64x48:rate=10"), {"-frames:v", "5"}})}},
      // The mp4 muxer writes the moov atom after the media data unless told to move it.
      {"_moov_at_end.mp4",
       {join({lavfi_video("testsrc2=size=320x240:rate=25:duration=2"),
              lavfi_video(sine(1000, 48000, "2")),
              kH264,
              {"-c:a", "aac"}})}},
      {"truncated.mp4", {{}, "_moov_at_end.mp4"}},
      {"corrupt_header.mp4", {{}, "_moov_at_end.mp4"}},
      {"not_media.txt", {}},
      {"empty.bin", {}},
      {"random.bin", {}},
  };
  return r;
}

struct FixtureDir {
  std::string path;
  ~FixtureDir() {
    std::error_code ec;
    if (!path.empty() && !std::getenv("ATOMCUT_KEEP_TEST_DATA")) fs::remove_all(path, ec);
  }
};

std::mutex g_mutex;
std::map<std::string, std::string, std::less<>> g_made;  // name -> path ("" = failed)

const std::string& fixture_dir() {
  static FixtureDir dir = [] {
    FixtureDir d;
    std::string tmpl = (fs::temp_directory_path() / "atomcut-fixtures-XXXXXX").string();
    if (mkdtemp(tmpl.data())) d.path = tmpl;
    return d;
  }();
  return dir.path;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

// Seeded bytes: std::mt19937 is fully specified, so every run makes the same file.
std::string seeded_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

std::string make_locked(std::string_view name, std::string& why);

std::string make_from_recipe(const std::string& name, const Recipe& recipe, std::string& why) {
  const std::string out = fixture_dir() + "/" + name;
  std::string source;
  if (!recipe.derived_from.empty()) {
    source = make_locked(recipe.derived_from, why);
    if (source.empty()) return "";
  }
  if (name == "truncated.mp4") {
    std::string bytes = read_bytes(source);
    if (!write_bytes(out, bytes.substr(0, bytes.size() * 2 / 5))) why = "cannot write " + out;
    return why.empty() ? out : "";
  }
  if (name == "corrupt_header.mp4") {
    std::string bytes = read_bytes(source);
    if (bytes.size() <= 4000) {
      why = "the source mp4 is too small to corrupt";
      return "";
    }
    bytes.replace(8, 4000 - 8, seeded_bytes(4000 - 8, 8));
    if (!write_bytes(out, bytes)) why = "cannot write " + out;
    return why.empty() ? out : "";
  }
  if (name == "not_media.txt") {
    write_bytes(out, "This is a plain text file.\nIt is not audio, video or an image.\n");
    return out;
  }
  if (name == "empty.bin") {
    write_bytes(out, "");
    return out;
  }
  if (name == "random.bin") {
    write_bytes(out, seeded_bytes(64 * 1024, 42));
    return out;
  }
  Args argv = {"ffmpeg", "-nostdin", "-v", "error", "-y"};
  for (const auto& a : recipe.ffmpeg_args) argv.push_back(a == "{in}" ? source : a);
  argv.push_back(out);
  CommandResult r = run_command(argv);
  if (r.exit_code != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    why = "ffmpeg failed (exit " + std::to_string(r.exit_code) + "): " + cmd + "\n" + r.err;
    return "";
  }
  return out;
}

std::string make_locked(std::string_view name, std::string& why) {
  if (auto it = g_made.find(name); it != g_made.end()) {
    if (it->second.empty()) why = "an earlier attempt to make it failed";
    return it->second;
  }
  auto recipe = recipes().find(name);
  if (recipe == recipes().end()) {
    why = "no such fixture";
    return "";
  }
  if (fixture_dir().empty()) {
    why = "cannot create a temporary directory";
    return "";
  }
  std::string path = make_from_recipe(recipe->first, recipe->second, why);
  g_made.emplace(std::string(name), path);
  return path;
}

}  // namespace

std::string fixture(std::string_view name) {
  std::lock_guard lock(g_mutex);
  std::string why;
  std::string path = make_locked(name, why);
  if (path.empty()) ADD_FAILURE() << "fixture " << name << ": " << why;
  return path;
}

std::vector<std::string> fixture_names() {
  std::vector<std::string> names;
  for (const auto& [name, recipe] : recipes()) {
    if (!name.starts_with("_")) names.push_back(name);
  }
  return names;
}

namespace {

const std::map<std::string, std::string, std::less<>>& real_media_paths() {
  static const std::string forensics = "/usr/share/forensics-samples/original-files/";
  static const std::string opencv = "/usr/share/doc/opencv-doc/examples/data/";
  static const std::map<std::string, std::string, std::less<>> m = {
      {"phone_1080p_2997", forensics + "movie1/VID_20191220_170832.mp4"},
      {"screen_720p30_mp4", forensics + "movie2/movie-hello.mp4"},
      {"screen_avi", forensics + "movie2/movie-hello.avi"},
      {"screen_mpeg", forensics + "movie2/movie-hello.mpeg"},
      {"screen_ogg", forensics + "movie2/movie-hello.ogg"},
      {"vtest_avi", opencv + "vtest.avi"},
      {"tree_avi", opencv + "tree.avi"},
      {"messi_jpg", opencv + "messi5.jpg"},
  };
  return m;
}

}  // namespace

std::optional<std::string> real_media(std::string_view name) {
  auto it = real_media_paths().find(name);
  if (it == real_media_paths().end()) return std::nullopt;
  std::error_code ec;
  if (!fs::is_regular_file(it->second, ec)) return std::nullopt;
  return it->second;
}

std::vector<std::string> real_media_names() {
  std::vector<std::string> names;
  for (const auto& [name, path] : real_media_paths()) names.push_back(name);
  return names;
}

nlohmann::json ffprobe_json(const std::string& path) {
  CommandResult r = run_command(
      {"ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format", path});
  if (r.exit_code != 0) return nullptr;
  auto j = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? nlohmann::json(nullptr) : j;
}

}  // namespace atomcut::testing

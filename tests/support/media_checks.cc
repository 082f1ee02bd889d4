#include "support/media_checks.h"

#include "support/media_fixtures.h"
#include "support/subprocess.h"

#include <ebur128.h>
#include <fmt/format.h>
#include <stdlib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <numbers>
#include <optional>
#include <regex>
#include <sstream>

namespace atomcut::testing {
namespace fs = std::filesystem;

namespace {

using Args = std::vector<std::string>;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kAnalysisRate = 48000;        // audio checks resample to this
constexpr double kAudioPrerollS = 0.1;      // decoded before t_s and dropped (codec warm-up)
constexpr double kFrameLookbackS = 1.0;     // the shown frame starts at most this much before t_s
constexpr double kTimeToleranceS = 0.0005;  // frames starting this close after t_s count as shown
constexpr int kTimeoutMs = 120000;

std::string command_line(const Args& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    s += a.find_first_of(" '\"|;,") == std::string::npos ? a : "'" + a + "'";
  }
  return s;
}

std::string tail(const std::string& s, size_t n = 3000) {
  return s.size() <= n ? s : "..." + s.substr(s.size() - n);
}

// Runs argv; on a non-zero exit records a failure naming `what` and returns nullopt.
std::optional<CommandResult> run_checked(const Args& argv, const std::string& what) {
  CommandResult r = run_command(argv, kTimeoutMs);
  if (r.exit_code != 0) {
    ADD_FAILURE() << what << ": command failed (exit " << r.exit_code << "): " << command_line(argv)
                  << "\nstderr:\n"
                  << tail(r.err);
    return std::nullopt;
  }
  return r;
}

std::string seconds(double s) { return fmt::format("{:.6f}", s); }

// ffprobe writes most numbers as strings ("0.040000", "48000"); absent or "N/A" gives nullopt.
std::optional<double> json_number(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) return std::nullopt;
  const auto& v = j[key];
  if (v.is_number()) return v.get<double>();
  if (!v.is_string()) return std::nullopt;
  const std::string s = v.get<std::string>();
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0' || !std::isfinite(d)) return std::nullopt;
  return d;
}

std::string json_string(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return "";
  return j[key].get<std::string>();
}

// "30000/1001" -> {30000, 1001}; false for "0/0" or junk.
bool parse_rational(const std::string& r, long long& num, long long& den) {
  return std::sscanf(r.c_str(), "%lld/%lld", &num, &den) == 2 && num > 0 && den > 0;
}

// "30000/1001" -> 29.97; nullopt for "0/0" or junk.
std::optional<double> rational_value(const std::string& r) {
  long long num = 0, den = 0;
  if (!parse_rational(r, num, den)) return std::nullopt;
  return static_cast<double>(num) / static_cast<double>(den);
}

// ---- PCM via ffmpeg -> WAV (float) on stdout ----

struct Pcm {
  int rate = 0;
  int channels = 0;
  std::vector<float> samples;  // interleaved
  int64_t frames() const {
    return channels > 0 ? static_cast<int64_t>(samples.size()) / channels : 0;
  }
};

uint32_t le32(const std::string& b, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}
uint16_t le16(const std::string& b, size_t at) {
  return static_cast<uint16_t>(static_cast<unsigned char>(b[at]) |
                               (static_cast<unsigned char>(b[at + 1]) << 8));
}

// Parses what `ffmpeg -c:a pcm_f32le -f wav pipe:1` writes. Piped, the RIFF and data sizes are
// placeholders, so the data chunk is taken to run to the end of the bytes.
bool parse_float_wav(const std::string& b, Pcm& pcm, std::string& why) {
  if (b.size() < 12 || b.compare(0, 4, "RIFF") != 0 || b.compare(8, 4, "WAVE") != 0) {
    why = "not a RIFF/WAVE stream (" + std::to_string(b.size()) + " bytes)";
    return false;
  }
  size_t at = 12;
  bool have_fmt = false;
  while (at + 8 <= b.size()) {
    const std::string id = b.substr(at, 4);
    const uint32_t size = le32(b, at + 4);
    const size_t body = at + 8;
    if (id == "fmt ") {
      if (body + 16 > b.size()) break;
      pcm.channels = le16(b, body + 2);
      pcm.rate = static_cast<int>(le32(b, body + 4));
      const int bits = le16(b, body + 14);
      if (bits != 32 || pcm.channels <= 0 || pcm.rate <= 0) {
        why = fmt::format("unexpected WAV format: {} channels, {} Hz, {} bits", pcm.channels,
                          pcm.rate, bits);
        return false;
      }
      have_fmt = true;
    } else if (id == "data") {
      if (!have_fmt) break;
      const size_t frame_bytes = 4 * static_cast<size_t>(pcm.channels);
      const size_t n_bytes = (b.size() - body) / frame_bytes * frame_bytes;
      pcm.samples.resize(n_bytes / 4);
      if (n_bytes > 0) std::memcpy(pcm.samples.data(), b.data() + body, n_bytes);
      return true;
    }
    at = body + size + (size & 1);
  }
  why = "no fmt/data chunk in the WAV stream";
  return false;
}

// Decodes one audio stream of `path` to float PCM. `before_input` goes before -i (e.g. -ss),
// `output` after the stream selection (e.g. -t, -ar, -ac).
std::optional<Pcm> decode_audio(const std::string& path, const Args& before_input,
                                const std::string& stream, const Args& output,
                                const std::string& what) {
  Args argv = {"ffmpeg", "-nostdin", "-v", "error"};
  argv.insert(argv.end(), before_input.begin(), before_input.end());
  argv.insert(argv.end(), {"-i", path, "-map", stream});
  argv.insert(argv.end(), output.begin(), output.end());
  argv.insert(argv.end(), {"-c:a", "pcm_f32le", "-f", "wav", "pipe:1"});
  auto r = run_checked(argv, what);
  if (!r) return std::nullopt;
  Pcm pcm;
  std::string why;
  if (!parse_float_wav(r->out, pcm, why)) {
    ADD_FAILURE() << what << ": " << why << " from " << command_line(argv) << "\nstderr:\n"
                  << tail(r->err);
    return std::nullopt;
  }
  return pcm;
}

// [t_s, t_s + window_s) of the first audio stream at kAnalysisRate, reduced to one channel.
std::optional<std::vector<double>> audio_window(const std::string& path, double t_s,
                                                double window_s, int channel,
                                                const std::string& what) {
  if (!(t_s >= 0) || !(window_s > 0)) {
    ADD_FAILURE() << what << ": bad window t_s=" << t_s << " window_s=" << window_s;
    return std::nullopt;
  }
  const double preroll = std::min(kAudioPrerollS, t_s);
  auto pcm =
      decode_audio(path, {"-ss", seconds(t_s - preroll)}, "0:a:0",
                   {"-t", seconds(preroll + window_s), "-ar", std::to_string(kAnalysisRate)}, what);
  if (!pcm) return std::nullopt;
  if (channel < -1 || channel >= pcm->channels) {
    ADD_FAILURE() << what << ": channel " << channel << " does not exist in " << path << " ("
                  << pcm->channels << " channels)";
    return std::nullopt;
  }
  const int64_t skip = std::llround(preroll * kAnalysisRate);
  const int64_t want = std::llround(window_s * kAnalysisRate);
  const int64_t have = std::min(want, pcm->frames() - skip);
  if (have <= 0) {
    ADD_FAILURE() << what << ": no audio in [" << t_s << ", " << t_s + window_s << ") s of " << path
                  << " (decoded " << pcm->frames() << " samples from " << t_s - preroll << " s)";
    return std::nullopt;
  }
  std::vector<double> mono(static_cast<size_t>(have));
  const int ch = pcm->channels;
  for (int64_t i = 0; i < have; ++i) {
    const float* frame = pcm->samples.data() + (skip + i) * ch;
    if (channel >= 0) {
      mono[i] = frame[channel];
    } else {
      double sum = 0;
      for (int c = 0; c < ch; ++c) sum += frame[c];
      mono[i] = sum / ch;
    }
  }
  return mono;
}

double rms_of(const std::vector<double>& x) {
  double sum = 0;
  for (double v : x) sum += v * v;
  return std::sqrt(sum / static_cast<double>(x.size()));
}

double to_db(double linear) {
  return linear > 0 ? 20.0 * std::log10(linear) : -std::numeric_limits<double>::infinity();
}

// In-place iterative radix-2 FFT; a.size() must be a power of two.
void fft(std::vector<std::complex<double>>& a) {
  const size_t n = a.size();
  for (size_t i = 1, j = 0; i < n; ++i) {
    size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(a[i], a[j]);
  }
  for (size_t len = 2; len <= n; len <<= 1) {
    const double angle = -2 * std::numbers::pi / static_cast<double>(len);
    const std::complex<double> wlen(std::cos(angle), std::sin(angle));
    for (size_t i = 0; i < n; i += len) {
      std::complex<double> w(1);
      for (size_t k = 0; k < len / 2; ++k) {
        const auto u = a[i + k];
        const auto v = a[i + k + len / 2] * w;
        a[i + k] = u + v;
        a[i + k + len / 2] = u - v;
        w *= wlen;
      }
    }
  }
}

// |X(f)|^2 of x at any frequency (Goertzel recurrence).
double goertzel_power(const std::vector<double>& x, double freq_hz, double rate) {
  const double coeff = 2 * std::cos(2 * std::numbers::pi * freq_hz / rate);
  double s1 = 0, s2 = 0;
  for (double v : x) {
    const double s0 = v + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

double peak_frequency(std::vector<double> x, double rate) {
  const size_t n = x.size();
  if (n < 8) return 0;
  double mean = 0;
  for (double v : x) mean += v;
  mean /= static_cast<double>(n);
  for (size_t i = 0; i < n; ++i) {
    const double hann = 0.5 - 0.5 * std::cos(2 * std::numbers::pi * static_cast<double>(i) /
                                             static_cast<double>(n - 1));
    x[i] = (x[i] - mean) * hann;
  }
  size_t size = 1;
  while (size < 2 * n) size <<= 1;  // zero-padded to at least twice the length
  std::vector<std::complex<double>> spec(size);
  for (size_t i = 0; i < n; ++i) spec[i] = x[i];
  fft(spec);
  const double bin_hz = rate / static_cast<double>(size);
  const size_t first = std::max<size_t>(1, static_cast<size_t>(std::ceil(10.0 / bin_hz)));
  size_t best = first;
  double best_mag = -1;
  for (size_t k = first; k < size / 2; ++k) {
    const double m = std::abs(spec[k]);
    if (m > best_mag) best_mag = m, best = k;
  }
  double delta = 0;
  if (best > first && best + 1 < size / 2) {
    const double a = std::log(std::abs(spec[best - 1]) + 1e-300);
    const double b = std::log(best_mag + 1e-300);
    const double c = std::log(std::abs(spec[best + 1]) + 1e-300);
    const double denom = a - 2 * b + c;
    if (denom < 0) delta = std::clamp(0.5 * (a - c) / denom, -0.5, 0.5);
  }
  // The Hann main lobe is 4 unpadded bins wide, so |X(f)| is unimodal within one padded bin of
  // the interpolated peak: a golden-section search there pins it down.
  double lo = (static_cast<double>(best) + delta - 1) * bin_hz;
  double hi = (static_cast<double>(best) + delta + 1) * bin_hz;
  const double g = (std::sqrt(5.0) - 1) / 2;
  double m1 = hi - g * (hi - lo), m2 = lo + g * (hi - lo);
  double p1 = goertzel_power(x, m1, rate), p2 = goertzel_power(x, m2, rate);
  for (int i = 0; i < 40; ++i) {
    if (p1 < p2) {
      lo = m1, m1 = m2, p1 = p2;
      m2 = lo + g * (hi - lo);
      p2 = goertzel_power(x, m2, rate);
    } else {
      hi = m2, m2 = m1, p2 = p1;
      m1 = hi - g * (hi - lo);
      p1 = goertzel_power(x, m1, rate);
    }
  }
  return (lo + hi) / 2;
}

// ---- video frames via ffmpeg (showinfo for the timestamps, one PPM for the picture) ----

struct TempDir {
  std::string path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "atomcut-media-checks-XXXXXX").string();
    if (mkdtemp(tmpl.data())) path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

bool parse_ppm(const std::string& b, std::vector<uint8_t>& rgb, int& w, int& h, std::string& why) {
  std::istringstream in(b);
  std::string magic;
  int maxval = 0;
  in >> magic >> w >> h >> maxval;
  if (!in || magic != "P6" || w <= 0 || h <= 0 || maxval != 255) {
    why = "not an 8-bit binary PPM";
    return false;
  }
  const size_t start = static_cast<size_t>(in.tellg()) + 1;  // one whitespace after maxval
  const size_t bytes = static_cast<size_t>(w) * h * 3;
  if (b.size() < start + bytes) {
    why = fmt::format("PPM {}x{} holds {} bytes, expected {}", w, h, b.size() - start, bytes);
    return false;
  }
  rgb.assign(b.begin() + start, b.begin() + start + bytes);
  return true;
}

struct ShowinfoLog {
  double time_base = 0;   // seconds per pts unit
  double frame_rate = 0;  // 0 when unknown
  std::vector<int64_t> pts;
};

ShowinfoLog parse_showinfo(const std::string& err) {
  ShowinfoLog log;
  static const std::regex config(R"(config in time_base: (\d+)/(\d+), frame_rate: (\d+)/(\d+))");
  static const std::regex frame(R"(\] n:\s*\d+ pts:\s*(-?\d+) )");
  std::istringstream lines(err);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find("Parsed_showinfo") == std::string::npos) continue;
    std::smatch m;
    if (log.time_base == 0 && std::regex_search(line, m, config)) {
      const double num = std::stod(m[1]), den = std::stod(m[2]);
      if (den > 0) log.time_base = num / den;
      const double fn = std::stod(m[3]), fd = std::stod(m[4]);
      if (fn > 0 && fd > 0) log.frame_rate = fn / fd;
    } else if (std::regex_search(line, m, frame)) {
      log.pts.push_back(std::stoll(m[1]));
    }
  }
  return log;
}

// The frame shown at t_s (see frame_rgb24). Records a failure and returns false on any problem.
bool decode_shown_frame(const std::string& path, double t_s, std::vector<uint8_t>& rgb, int& w,
                        int& h) {
  const std::string what = fmt::format("frame of {} at {} s", path, t_s);
  if (!(t_s >= 0)) {
    ADD_FAILURE() << what << ": time must be >= 0";
    return false;
  }
  TempDir dir;
  if (dir.path.empty()) {
    ADD_FAILURE() << what << ": cannot create a temporary directory";
    return false;
  }
  const std::string out = dir.path + "/frame.ppm";
  // Decoding starts at `from` (accurate seek), and trim ends the stream just after t_s, so the
  // last frame written (image2 -update 1 keeps overwriting the one file) is the last frame that
  // starts at or before t_s. showinfo, before the trim, logs every frame's timestamp, including
  // the first one after t_s when there is one, which tells whether t_s is past the end.
  auto attempt = [&](double from, ShowinfoLog& log) -> bool {
    const double end_rel = t_s - from + kTimeToleranceS;
    Args argv = {"ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-v", "info", "-y"};
    argv.insert(argv.end(), {"-ss", seconds(from), "-i", path, "-map", "0:v:0"});
    const std::string filters = "showinfo,trim=end=" + seconds(end_rel);
    argv.insert(argv.end(), {"-vf", filters, "-fps_mode", "passthrough"});
    argv.insert(argv.end(), {"-f", "image2", "-update", "1", "-c:v", "ppm", "-pix_fmt", "rgb24"});
    argv.push_back(out);
    auto r = run_checked(argv, what);
    if (!r) return false;
    log = parse_showinfo(r->err);
    if (log.time_base <= 0) {
      ADD_FAILURE() << what << ": no showinfo output from " << command_line(argv) << "\nstderr:\n"
                    << tail(r->err);
      return false;
    }
    return true;
  };
  double from = std::max(0.0, t_s - kFrameLookbackS);
  ShowinfoLog log;
  if (!attempt(from, log)) return false;
  auto rel = [&](int64_t pts) { return static_cast<double>(pts) * log.time_base; };
  auto shown_index = [&]() -> std::optional<size_t> {
    std::optional<size_t> best;
    for (size_t i = 0; i < log.pts.size(); ++i) {
      if (rel(log.pts[i]) <= t_s - from + kTimeToleranceS &&
          (!best || log.pts[i] > log.pts[*best])) {
        best = i;
      }
    }
    return best;
  };
  auto shown = shown_index();
  if (!shown && from > 0) {  // a frame longer than the lookback: start from the beginning
    from = 0;
    if (!attempt(from, log)) return false;
    shown = shown_index();
  }
  if (!shown) {
    ADD_FAILURE() << what << ": no frame is shown then"
                  << (log.pts.empty() ? std::string(" (no frames decoded)")
                                      : fmt::format(" (the next frame starts at {:.6f} s)",
                                                    from + rel(log.pts.front())));
    return false;
  }
  const int64_t shown_pts = log.pts[*shown];
  const bool later_frame =
      std::any_of(log.pts.begin(), log.pts.end(), [&](int64_t p) { return p > shown_pts; });
  if (!later_frame) {  // the last frame of the video: is t_s still within it?
    // Its duration: the gap from the frame before it, else one frame at the stream's rate.
    std::optional<int64_t> previous;
    for (int64_t p : log.pts) {
      if (p < shown_pts && (!previous || p > *previous)) previous = p;
    }
    const double duration = previous             ? rel(shown_pts - *previous)
                            : log.frame_rate > 0 ? 1 / log.frame_rate
                                                 : 0;
    const double end = from + rel(shown_pts) + duration;
    if (duration > 0 && t_s > end - 1e-6) {
      ADD_FAILURE() << what << ": past the end of the video (the last frame, at "
                    << fmt::format("{:.6f}", from + rel(shown_pts)) << " s, ends at "
                    << fmt::format("{:.6f}", end) << " s)";
      return false;
    }
  }
  std::ifstream in(out, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::string why;
  if (!parse_ppm(bytes, rgb, w, h, why)) {
    ADD_FAILURE() << what << ": " << why << " in " << out;
    return false;
  }
  return true;
}

const nlohmann::json* first_stream(const nlohmann::json& info, const std::string& type) {
  if (!info.contains("streams")) return nullptr;
  for (const auto& s : info["streams"]) {
    if (json_string(s, "codec_type") != type) continue;
    if (s.contains("disposition") && s["disposition"].value("attached_pic", 0) == 1) continue;
    return &s;
  }
  return nullptr;
}

}  // namespace

StreamCounts count_streams(const std::string& path) {
  StreamCounts c;
  const nlohmann::json info = ffprobe_json(path);
  if (info.is_null()) {
    ADD_FAILURE() << "count_streams: ffprobe cannot read " << path;
    return c;
  }
  const double file_start =
      info.contains("format") ? json_number(info["format"], "start_time").value_or(0) : 0;

  if (const auto* v = first_stream(info, "video")) {
    const std::string index = std::to_string(v->value("index", 0));
    c.width = v->value("width", 0);
    c.height = v->value("height", 0);
    c.video_codec = json_string(*v, "codec_name");
    c.pix_fmt = json_string(*v, "pix_fmt");
    c.fps_rational = json_string(*v, "avg_frame_rate");
    if (!rational_value(c.fps_rational)) c.fps_rational = json_string(*v, "r_frame_rate");
    // pkt_duration_time is FFmpeg 5.x's name, duration_time 6.0's; asking for both is harmless.
    const std::string entries = "frame=best_effort_timestamp_time,pkt_duration_time,duration_time";
    Args argv = {"ffprobe", "-v", "error", "-select_streams", index};
    argv.insert(argv.end(), {"-show_entries", entries, "-of", "json", path});
    if (auto r = run_checked(argv, "count_streams (video frames)")) {
      auto j = nlohmann::json::parse(r->out, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded() || !j.contains("frames")) {
        ADD_FAILURE() << "count_streams: unreadable ffprobe output from " << command_line(argv);
      } else {
        const double fallback = 1 / rational_value(c.fps_rational).value_or(kNaN);
        double last_end = kNaN;
        for (const auto& f : j["frames"]) {
          auto t = json_number(f, "best_effort_timestamp_time");
          if (!t) continue;
          c.video_frame_times_s.push_back(*t - file_start);
          auto d = json_number(f, "duration_time");
          if (!d) d = json_number(f, "pkt_duration_time");
          const double end = *t - file_start + (d ? *d : fallback);
          if (!(last_end >= end)) last_end = end;
        }
        c.video_frames = static_cast<int64_t>(j["frames"].size());
        if (!c.video_frame_times_s.empty()) {
          c.video_start_s =
              *std::min_element(c.video_frame_times_s.begin(), c.video_frame_times_s.end());
          if (std::isfinite(last_end)) c.video_duration_s = last_end - c.video_start_s;
        } else if (c.video_frames == 0) {
          c.video_duration_s = 0;
        }
      }
    }
  }

  if (const auto* a = first_stream(info, "audio")) {
    const std::string index = std::to_string(a->value("index", 0));
    c.audio_codec = json_string(*a, "codec_name");
    c.audio_sample_rate = static_cast<int>(json_number(*a, "sample_rate").value_or(0));
    c.audio_channels = a->value("channels", 0);
    if (auto s = json_number(*a, "start_time")) c.audio_start_s = *s - file_start;
    // One channel is enough to count samples and keeps the bytes down.
    if (auto pcm =
            decode_audio(path, {}, "0:" + index, {"-ac", "1"}, "count_streams (audio samples)")) {
      c.audio_samples = pcm->frames();
      if (pcm->rate > 0) c.audio_duration_s = static_cast<double>(c.audio_samples) / pcm->rate;
      if (c.audio_sample_rate == 0) c.audio_sample_rate = pcm->rate;
    }
    const std::string entries = "stream=time_base:packet=pts,duration";
    Args argv = {"ffprobe", "-v", "error", "-select_streams", index};
    argv.insert(argv.end(), {"-show_entries", entries, "-of", "json", path});
    if (auto r = run_checked(argv, "count_streams (audio packets)")) {
      auto j = nlohmann::json::parse(r->out, nullptr, /*allow_exceptions=*/false);
      long long num = 0, den = 0;
      if (!j.is_discarded() && j.contains("packets") && j.contains("streams") &&
          !j["streams"].empty() &&
          parse_rational(json_string(j["streams"][0], "time_base"), num, den)) {
        // In stream time base units, so the sum is exact.
        const auto zero = static_cast<int64_t>(std::llround(file_start * den / num));
        int64_t sum = 0;
        for (const auto& p : j["packets"]) {
          const auto duration = static_cast<int64_t>(json_number(p, "duration").value_or(0));
          const auto pts = json_number(p, "pts");
          const int64_t start = pts ? static_cast<int64_t>(*pts) : zero;
          sum += std::max<int64_t>(0, start + duration - std::max(start, zero));
        }
        c.audio_packet_duration_s = static_cast<double>(sum) * num / den;
      } else {
        ADD_FAILURE() << "count_streams: unreadable ffprobe output from " << command_line(argv);
      }
    }
  }
  return c;
}

void PrintTo(const Rgb& c, std::ostream* os) { *os << c; }

std::ostream& operator<<(std::ostream& os, const Rgb& c) {
  return os << "rgb(" << c.r << ", " << c.g << ", " << c.b << ")";
}

::testing::AssertionResult rgb_near(const Rgb& actual, const Rgb& expected, int tolerance) {
  const int worst = std::max({std::abs(actual.r - expected.r), std::abs(actual.g - expected.g),
                              std::abs(actual.b - expected.b)});
  if (worst <= tolerance) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << actual << " is not within " << tolerance << " of "
                                       << expected << " (off by " << worst << ")";
}

std::vector<uint8_t> frame_rgb24(const std::string& path, double t_s, int* width, int* height) {
  std::vector<uint8_t> rgb;
  int w = 0, h = 0;
  if (!decode_shown_frame(path, t_s, rgb, w, h)) {
    rgb.clear();
    w = h = 0;
  }
  if (width) *width = w;
  if (height) *height = h;
  return rgb;
}

Rgb mean_rgb(const std::vector<uint8_t>& rgb24, int width, int height, int x, int y, int box) {
  if (width <= 0 || height <= 0 || rgb24.size() != static_cast<size_t>(width) * height * 3) {
    ADD_FAILURE() << "mean_rgb: a " << width << "x" << height << " frame needs "
                  << static_cast<int64_t>(width) * height * 3 << " bytes, got " << rgb24.size();
    return kNoRgb;
  }
  if (x < 0 || y < 0 || x >= width || y >= height || box < 1) {
    ADD_FAILURE() << "mean_rgb: (" << x << ", " << y << ") box " << box << " is not inside the "
                  << width << "x" << height << " frame";
    return kNoRgb;
  }
  const int x0 = std::max(0, x - box / 2), x1 = std::min(width, x0 + box);
  const int y0 = std::max(0, y - box / 2), y1 = std::min(height, y0 + box);
  int64_t sum[3] = {0, 0, 0};
  for (int yy = y0; yy < y1; ++yy) {
    for (int xx = x0; xx < x1; ++xx) {
      const uint8_t* p = rgb24.data() + (static_cast<size_t>(yy) * width + xx) * 3;
      for (int c = 0; c < 3; ++c) sum[c] += p[c];
    }
  }
  const double n = static_cast<double>(x1 - x0) * (y1 - y0);
  return Rgb{static_cast<int>(std::lround(sum[0] / n)), static_cast<int>(std::lround(sum[1] / n)),
             static_cast<int>(std::lround(sum[2] / n))};
}

Rgb sample_rgb(const std::string& path, double t_s, int x, int y, int box) {
  int w = 0, h = 0;
  const std::vector<uint8_t> rgb = frame_rgb24(path, t_s, &w, &h);
  if (rgb.empty()) return kNoRgb;
  return mean_rgb(rgb, w, h, x, y, box);
}

double mean_abs_diff(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  if (a.size() != b.size() || a.empty()) {
    ADD_FAILURE() << "mean_abs_diff: sizes " << a.size() << " and " << b.size()
                  << " (must be equal and non-zero)";
    return kNaN;
  }
  uint64_t sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += static_cast<uint64_t>(std::abs(a[i] - b[i]));
  return static_cast<double>(sum) / static_cast<double>(a.size());
}

double dominant_frequency_hz(const std::string& path, double t_s, double window_s, int channel) {
  auto x = audio_window(path, t_s, window_s, channel,
                        fmt::format("dominant_frequency_hz of {} at {} s", path, t_s));
  if (!x) return kNaN;
  if (to_db(rms_of(*x)) < -60) return 0;
  return peak_frequency(std::move(*x), kAnalysisRate);
}

double rms_dbfs(const std::string& path, double t_s, double window_s, int channel) {
  auto x =
      audio_window(path, t_s, window_s, channel, fmt::format("rms_dbfs of {} at {} s", path, t_s));
  if (!x) return kNaN;
  return to_db(rms_of(*x));
}

Loudness measure_loudness(const std::string& path) {
  const Loudness failed{kNaN, kNaN, kNaN, kNaN};
  const std::string what = "measure_loudness of " + path;
  auto pcm = decode_audio(path, {}, "0:a:0", {}, what);
  if (!pcm) return failed;
  if (pcm->frames() == 0) {
    ADD_FAILURE() << what << ": no audio samples decoded";
    return failed;
  }
  std::unique_ptr<ebur128_state, void (*)(ebur128_state*)> st(
      ebur128_init(
          static_cast<unsigned>(pcm->channels), static_cast<unsigned long>(pcm->rate),
          EBUR128_MODE_I | EBUR128_MODE_LRA | EBUR128_MODE_TRUE_PEAK | EBUR128_MODE_SAMPLE_PEAK),
      [](ebur128_state* s) { ebur128_destroy(&s); });
  if (!st) {
    ADD_FAILURE() << what << ": ebur128_init failed for " << pcm->channels << " channels at "
                  << pcm->rate << " Hz";
    return failed;
  }
  if (ebur128_add_frames_float(st.get(), pcm->samples.data(), static_cast<size_t>(pcm->frames())) !=
      EBUR128_SUCCESS) {
    ADD_FAILURE() << what << ": ebur128_add_frames_float failed";
    return failed;
  }
  Loudness l;
  double true_peak = 0, sample_peak = 0;
  bool ok = ebur128_loudness_global(st.get(), &l.integrated_lufs) == EBUR128_SUCCESS &&
            ebur128_loudness_range(st.get(), &l.lra) == EBUR128_SUCCESS;
  for (int c = 0; ok && c < pcm->channels; ++c) {
    double tp = 0, sp = 0;
    ok = ebur128_true_peak(st.get(), static_cast<unsigned>(c), &tp) == EBUR128_SUCCESS &&
         ebur128_sample_peak(st.get(), static_cast<unsigned>(c), &sp) == EBUR128_SUCCESS;
    true_peak = std::max(true_peak, tp);
    sample_peak = std::max(sample_peak, sp);
  }
  if (!ok) {
    ADD_FAILURE() << what << ": a libebur128 measurement failed";
    return failed;
  }
  l.true_peak_dbtp = to_db(true_peak);
  l.sample_peak_dbfs = to_db(sample_peak);
  return l;
}

}  // namespace atomcut::testing

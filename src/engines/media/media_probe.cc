#include "engines/media/media_probe.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/channel_layout.h>
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
#include <libavutil/samplefmt.h>
}

#include "engines/media/libav_raii.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstring>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

namespace atomcut {
namespace {

using libav::Dict;
using libav::FormatCloser;
using libav::IoCloser;
using libav::PacketFreer;

using Clock = std::chrono::steady_clock;

// The same limits ffprobe uses by default, stated so that a change of libav defaults cannot make
// probing unbounded.
constexpr const char* kProbeSizeBytes = "5000000";
constexpr const char* kAnalyzeDurationUs = "5000000";
// Variable-frame-rate sampling: timestamps of the first frames of the main video stream, from the
// sample index where the container has one (free) or else from packets read (about 1 ms per 30).
constexpr int kVfrIndexFrames = 240;
constexpr int kVfrPacketFrames = 120;
// ... but never more than this many packets of all streams (interleaved audio, subtitles).
constexpr int kVfrMaxPacketReads = 4000;
// Frames whose presentation order may still change at the end of a decode-order sample.
constexpr size_t kReorderWindow = 16;

// Demuxers that read other files or the network on the file's behalf (playlists, manifests) or
// that turn any text into "video" (ANSI art): a probe of an uploaded file must not follow them.
constexpr std::array<std::string_view, 6> kRefusedDemuxers = {"hls", "concat", "dash",
                                                              "imf", "sdp",    "tty"};

// libav's log is printed nowhere (the server log stays clean). Only the last error-level line of
// a probe running on the same thread is kept, for its error message ("moov atom not found").
thread_local std::string* t_libav_error_line = nullptr;

void capture_libav_log(void* avcl, int level, const char* format, va_list vl) {
  if (!t_libav_error_line || level > AV_LOG_ERROR) return;
  std::array<char, 512> line{};
  int print_prefix = 0;  // no "[mov,mp4 @ 0x...]" prefix: messages stay reproducible
  av_log_format_line2(avcl, level, format, vl, line.data(), static_cast<int>(line.size()),
                      &print_prefix);
  std::string_view text(line.data());
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  if (!text.empty()) *t_libav_error_line = text;
}

void install_libav_log_callback_once() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_callback(capture_libav_log); });
}

// Collects libav's error lines while it lives (one per probe, on the probing thread).
class LibavErrorCapture {
 public:
  LibavErrorCapture() { t_libav_error_line = &last_line_; }
  ~LibavErrorCapture() { t_libav_error_line = nullptr; }
  LibavErrorCapture(const LibavErrorCapture&) = delete;
  LibavErrorCapture& operator=(const LibavErrorCapture&) = delete;

  // "moov atom not found: Invalid data found when processing input"
  std::string explain(int err) const {
    if (last_line_.empty()) return libav::error_text(err);
    return fmt::format("{}: {}", last_line_, libav::error_text(err));
  }

 private:
  std::string last_line_;
};

struct Deadline {
  Clock::time_point at;
  bool expired() const { return Clock::now() >= at; }
};

// AVIOInterruptCB: libav polls it between reads and in its probing loops; non-zero aborts the
// operation with AVERROR_EXIT.
int interrupt_on_deadline(void* opaque) {
  return static_cast<const Deadline*>(opaque)->expired() ? 1 : 0;
}

Error not_media(const std::string& path, const std::string& why) {
  return Error::invalid_argument(fmt::format("{} is not a media file: {}", path, why),
                                 {{"reason", "not_media"}, {"path", path}});
}

Error corrupt(const std::string& path, std::string_view format, const std::string& why) {
  return Error::invalid_argument(
      fmt::format("{} looks like {} but cannot be read: {}", path, format, why),
      {{"reason", "corrupt"}, {"path", path}, {"format_name", std::string(format)}});
}

Error timed_out(const std::string& path, int timeout_ms, std::string_view stage) {
  return Error::deadline_exceeded(
      fmt::format("probing {} took longer than {} ms (while {})", path, timeout_ms, stage),
      {{"path", path}, {"timeout_ms", timeout_ms}});
}

bool valid(AVRational r) { return r.num > 0 && r.den > 0; }

std::string rational_text(AVRational r) { return fmt::format("{}/{}", r.num, r.den); }

// A constant-rate stream's rate is its frame spacing (r_frame_rate): avg_frame_rate is skewed by
// rounded durations (movie-hello.mp4: frames exactly 1/30 s apart, avg 2500/83). A variable-rate
// stream has no single spacing, so its rate is the average.
std::optional<Rational> stream_fps(const AVStream* st, bool variable) {
  const AVRational first = variable ? st->avg_frame_rate : st->r_frame_rate;
  const AVRational second = variable ? st->r_frame_rate : st->avg_frame_rate;
  if (valid(first)) return Rational{first.num, first.den};
  if (valid(second)) return Rational{second.num, second.den};
  return std::nullopt;
}

// Display rotation in degrees clockwise (0, 90, 180, 270). av_display_rotation_get() (and so
// ffprobe's side_data "rotation") is counter-clockwise: ffprobe -90 is 90 here.
int stream_rotation(const AVStream* st) {
  size_t size = 0;
  const uint8_t* sd = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
  if (!sd || size < 9 * sizeof(int32_t)) return 0;
  std::array<int32_t, 9> matrix{};
  std::memcpy(matrix.data(), sd, sizeof(matrix));
  double ccw = av_display_rotation_get(matrix.data());
  if (!std::isfinite(ccw)) return 0;
  long quarter_turns = std::lround(-ccw / 90.0) % 4;
  return static_cast<int>((quarter_turns + 4) % 4) * 90;
}

std::optional<int64_t> to_ms(int64_t ts, AVRational time_base) {
  if (ts == AV_NOPTS_VALUE || ts < 0 || !valid(time_base)) return std::nullopt;
  return av_rescale_q_rnd(ts, time_base, AVRational{1, 1000},
                          static_cast<AVRounding>(AV_ROUND_NEAR_INF | AV_ROUND_PASS_MINMAX));
}

nlohmann::json opt_json(const char* s) { return s ? nlohmann::json(s) : nlohmann::json(nullptr); }

nlohmann::json stream_json(const AVStream* st) {
  const AVCodecParameters* par = st->codecpar;
  const AVCodecDescriptor* desc = avcodec_descriptor_get(par->codec_id);
  nlohmann::json j;
  j["index"] = st->index;
  j["codec_type"] = opt_json(av_get_media_type_string(par->codec_type));
  j["codec_name"] = opt_json(desc ? desc->name : nullptr);
  j["codec_long_name"] = opt_json(desc ? desc->long_name : nullptr);
  j["profile"] = opt_json(avcodec_profile_name(par->codec_id, par->profile));
  j["bit_rate"] = par->bit_rate > 0 ? nlohmann::json(par->bit_rate) : nlohmann::json(nullptr);
  auto duration = to_ms(st->duration, st->time_base);
  j["duration_ms"] = duration ? nlohmann::json(*duration) : nlohmann::json(nullptr);
  if (par->codec_type == AVMEDIA_TYPE_VIDEO) {
    j["width"] = par->width;
    j["height"] = par->height;
    j["pix_fmt"] = opt_json(av_get_pix_fmt_name(static_cast<AVPixelFormat>(par->format)));
    auto fps = stream_fps(st, /*variable=*/false);  // nominal; both rates follow
    j["fps"] = fps ? nlohmann::json(fps->to_string()) : nlohmann::json(nullptr);
    j["avg_frame_rate"] = rational_text(st->avg_frame_rate);
    j["r_frame_rate"] = rational_text(st->r_frame_rate);
    j["rotation"] = stream_rotation(st);
    j["attached_pic"] = (st->disposition & AV_DISPOSITION_ATTACHED_PIC) != 0;
  } else if (par->codec_type == AVMEDIA_TYPE_AUDIO) {
    j["sample_rate"] = par->sample_rate;
    j["channels"] = par->ch_layout.nb_channels;
    std::array<char, 128> layout{};
    if (par->ch_layout.order != AV_CHANNEL_ORDER_UNSPEC &&
        av_channel_layout_describe(&par->ch_layout, layout.data(), layout.size()) > 0) {
      j["channel_layout"] = layout.data();
    } else {
      j["channel_layout"] = nullptr;
    }
    j["sample_fmt"] = opt_json(av_get_sample_fmt_name(static_cast<AVSampleFormat>(par->format)));
  }
  if (const AVDictionaryEntry* lang = av_dict_get(st->metadata, "language", nullptr, 0)) {
    j["language"] = lang->value;
  }
  return j;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool is_image_demuxer(std::string_view name) {
  return name == "image2" || name == "image2pipe" || ends_with(name, "_pipe");
}

std::string lower_extension(const std::string& path) {
  auto slash = path.find_last_of('/');
  auto dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string ext = path.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

std::optional<std::string> image_mime(AVCodecID id) {
  switch (id) {
    case AV_CODEC_ID_PNG:
    case AV_CODEC_ID_APNG:
      return "image/png";
    case AV_CODEC_ID_MJPEG:
    case AV_CODEC_ID_JPEGLS:
      return "image/jpeg";
    case AV_CODEC_ID_WEBP:
      return "image/webp";
    case AV_CODEC_ID_GIF:
      return "image/gif";
    case AV_CODEC_ID_BMP:
      return "image/bmp";
    case AV_CODEC_ID_TIFF:
      return "image/tiff";
    default:
      return std::nullopt;
  }
}

// Codecs a WebM file may carry; a Matroska file holding only these is served as WebM.
bool webm_codec(AVCodecID id) {
  switch (id) {
    case AV_CODEC_ID_VP8:
    case AV_CODEC_ID_VP9:
    case AV_CODEC_ID_AV1:
    case AV_CODEC_ID_OPUS:
    case AV_CODEC_ID_VORBIS:
    case AV_CODEC_ID_WEBVTT:
      return true;
    default:
      return false;
  }
}

std::string content_type_for(const AVFormatContext* ic, MediaKind kind, const AVStream* video,
                             const std::string& path) {
  const std::string_view name = ic->iformat->name;
  const bool audio = kind == MediaKind::kAudio;
  const std::string ext = lower_extension(path);
  if (name == "mov,mp4,m4a,3gp,3g2,mj2") {
    const AVDictionaryEntry* brand = av_dict_get(ic->metadata, "major_brand", nullptr, 0);
    const std::string_view b = brand ? std::string_view(brand->value) : std::string_view();
    if (b.starts_with("qt") || (b.empty() && ext == "mov")) return "video/quicktime";
    if (audio) return "audio/mp4";
    return "video/mp4";
  }
  if (name == "matroska,webm") {
    bool all_webm = ext != "mkv" && ext != "mka";
    for (unsigned i = 0; i < ic->nb_streams && all_webm; ++i) {
      all_webm = webm_codec(ic->streams[i]->codecpar->codec_id);
    }
    if (ext == "webm" || all_webm) return audio ? "audio/webm" : "video/webm";
    return audio ? "audio/x-matroska" : "video/x-matroska";
  }
  if (name == "avi") return "video/x-msvideo";
  if (name == "mpeg" || name == "mpegvideo") return "video/mpeg";
  if (name == "mpegts") return "video/mp2t";
  if (name == "mp3") return "audio/mpeg";
  if (name == "wav" || name == "w64") return "audio/wav";
  if (name == "flac") return "audio/flac";
  if (name == "ogg") return audio ? "audio/ogg" : "video/ogg";
  if (name == "aac") return "audio/aac";
  if (name == "gif") return "image/gif";
  if (name == "flv") return "video/x-flv";
  if (name == "asf") return audio ? "audio/x-ms-wma" : "video/x-ms-asf";
  if (video && (kind == MediaKind::kImage || is_image_demuxer(name))) {
    if (auto mime = image_mime(video->codecpar->codec_id)) return *mime;
  }
  return "application/octet-stream";
}

// Whether the frame durations of a stream differ, from the stream's timestamps (in its time base).
// One tick of difference is rounding (29.97 fps in a 1/1000 time base alternates 33 and 34 ms). A
// few whole-frame gaps (a dropped frame, an AVI empty chunk) do not make a stream variable.
bool timestamps_vary(std::vector<int64_t> ts) {
  std::sort(ts.begin(), ts.end());
  std::vector<int64_t> deltas;
  for (size_t i = 1; i < ts.size(); ++i) {
    int64_t d = 0;
    // Timestamps a hostile file makes span the whole int64 range are not a steady rate.
    if (__builtin_sub_overflow(ts[i], ts[i - 1], &d)) return true;
    if (d > 0) deltas.push_back(d);
  }
  if (deltas.size() < 2) return false;
  std::vector<int64_t> sorted = deltas;
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  const int64_t base = sorted[sorted.size() / 2];
  size_t gaps = 0;
  for (int64_t d : deltas) {
    if (d >= base - 1 && d <= base + 1) continue;
    // Distance to the nearest whole number k of frames; k ticks of rounding are allowed.
    const int64_t rest = d % base;
    const int64_t k = d / base + (rest >= base - rest ? 1 : 0);
    if (k >= 2 && std::min(rest, base - rest) <= k) {
      ++gaps;
      continue;
    }
    return true;
  }
  return gaps > std::max<size_t>(2, deltas.size() / 10);
}

struct FrameSample {
  bool variable = false;
  bool single_frame = false;
};

// MP4/MOV demuxers index every sample from the moov atom: the timestamps are known without
// reading any media data.
FrameSample sample_from_index(AVStream* st) {
  FrameSample s;
  const int count = avformat_index_get_entries_count(st);
  std::vector<int64_t> ts;
  for (int i = 0; i < count && i < kVfrIndexFrames; ++i) {
    if (const AVIndexEntry* e = avformat_index_get_entry(st, i)) ts.push_back(e->timestamp);
  }
  s.variable = timestamps_vary(std::move(ts));
  s.single_frame = st->nb_frames == 1 || (st->nb_frames == 0 && count == 1);
  return s;
}

// Other demuxers: read the first packets of the stream (those find_stream_info buffered come
// from memory). Returns nullopt when the deadline passed.
std::optional<FrameSample> sample_from_packets(AVFormatContext* ic, AVStream* st,
                                               const Deadline& deadline) {
  for (unsigned i = 0; i < ic->nb_streams; ++i) {
    if (ic->streams[i] != st) ic->streams[i]->discard = AVDISCARD_ALL;
  }
  std::unique_ptr<AVPacket, PacketFreer> pkt(av_packet_alloc());
  if (!pkt) return FrameSample{};
  std::vector<int64_t> pts, dts;
  int frames = 0;
  bool eof = false;
  for (int reads = 0; frames < kVfrPacketFrames && reads < kVfrMaxPacketReads; ++reads) {
    int err = av_read_frame(ic, pkt.get());
    if (err < 0) {
      if (deadline.expired()) return std::nullopt;
      // A read error after the headers parsed (damaged data) ends the sample like EOF does.
      eof = true;
      break;
    }
    if (pkt->stream_index == st->index) {
      ++frames;
      if (pkt->pts != AV_NOPTS_VALUE) pts.push_back(pkt->pts);
      if (pkt->dts != AV_NOPTS_VALUE) dts.push_back(pkt->dts);
    }
    av_packet_unref(pkt.get());
  }
  if (deadline.expired()) return std::nullopt;
  FrameSample s;
  s.single_frame = eof && frames == 1;
  // Decode timestamps are monotonic, so a sample of them is complete; presentation timestamps of
  // the last frames read may still have gaps that later (reordered) frames fill.
  if (static_cast<int>(dts.size()) == frames) {
    s.variable = timestamps_vary(std::move(dts));
  } else {
    std::sort(pts.begin(), pts.end());
    if (!eof && pts.size() > kReorderWindow) pts.resize(pts.size() - kReorderWindow);
    s.variable = timestamps_vary(std::move(pts));
  }
  return s;
}

// The main video stream: libav's best video stream unless it is cover art.
AVStream* main_video_stream(AVFormatContext* ic) {
  int best = av_find_best_stream(ic, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (best >= 0 && !(ic->streams[best]->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
    return ic->streams[best];
  }
  for (unsigned i = 0; i < ic->nb_streams; ++i) {
    AVStream* st = ic->streams[i];
    if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
        st->codecpar->codec_id != AV_CODEC_ID_NONE &&
        !(st->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
      return st;
    }
  }
  return nullptr;
}

bool usable(const AVStream* st) {
  const AVCodecParameters* par = st->codecpar;
  if (par->codec_id == AV_CODEC_ID_NONE) return false;
  if (par->codec_type == AVMEDIA_TYPE_VIDEO) return par->width > 0 && par->height > 0;
  if (par->codec_type == AVMEDIA_TYPE_AUDIO) return true;
  return false;
}

}  // namespace

Result<ProbeResult> probe_media(const std::string& path, const ProbeOptions& options) {
  install_libav_log_callback_once();
  LibavErrorCapture libav_log;
  // A timeout of zero or less is a deadline that has already passed.
  Deadline deadline{Clock::now() + std::chrono::milliseconds(options.timeout_ms)};

  struct stat sb {};
  if (::stat(path.c_str(), &sb) != 0) {
    const int e = errno;
    if (e == ENOENT || e == ENOTDIR) {
      return Error::not_found(fmt::format("no such file: {}", path), {{"path", path}});
    }
    if (e == EACCES) {
      return Error::permission_denied(fmt::format("cannot read {}: {}", path, std::strerror(e)),
                                      {{"path", path}});
    }
    return not_media(path, std::strerror(e));
  }
  if (!S_ISREG(sb.st_mode)) return not_media(path, "it is not a regular file");
  if (sb.st_size == 0) return not_media(path, "it is empty (0 bytes)");

  ProbeResult r;
  r.size_bytes = sb.st_size;

  AVIOInterruptCB interrupt{interrupt_on_deadline, &deadline};
  std::unique_ptr<AVIOContext, IoCloser> pb;
  {
    Dict io_opts;
    io_opts.set("protocol_whitelist", "file");
    AVIOContext* raw = nullptr;
    // "file:" keeps a path with a colon ("a:b.mp4") from being read as a protocol name.
    const int err =
        avio_open2(&raw, ("file:" + path).c_str(), AVIO_FLAG_READ, &interrupt, io_opts.get());
    if (err < 0) {
      if (err == AVERROR(EACCES)) {
        return Error::permission_denied(
            fmt::format("cannot read {}: {}", path, libav::error_text(err)), {{"path", path}});
      }
      return not_media(path, fmt::format("cannot open it: {}", libav_log.explain(err)));
    }
    pb.reset(raw);
  }

  const AVInputFormat* format = nullptr;
  const int score = av_probe_input_buffer2(pb.get(), &format, path.c_str(), nullptr, 0, 0);
  if (score < 0 || !format) {
    if (deadline.expired()) return timed_out(path, options.timeout_ms, "detecting the format");
    return not_media(path, fmt::format("libav does not recognise its format ({})",
                                       libav_log.explain(score < 0 ? score : AVERROR_INVALIDDATA)));
  }
  // Below the retry score libav is guessing (random bytes can look like H.263 or lyrics).
  if (score <= AVPROBE_SCORE_RETRY) {
    return not_media(path, fmt::format("libav does not recognise its format (best guess {} with "
                                       "score {} of 100)",
                                       format->name, score));
  }
  const std::string_view format_name = format->name;
  if (std::find(kRefusedDemuxers.begin(), kRefusedDemuxers.end(), format_name) !=
      kRefusedDemuxers.end()) {
    return not_media(path, fmt::format("{} files are not accepted as media", format_name));
  }

  std::unique_ptr<AVFormatContext, FormatCloser> ic;
  {
    AVFormatContext* raw = avformat_alloc_context();
    if (!raw) return Error::internal("out of memory allocating a demuxer");
    raw->pb = pb.get();  // custom I/O: avformat_close_input leaves pb to us
    raw->interrupt_callback = interrupt;
    Dict opts;
    opts.set("probesize", kProbeSizeBytes);
    opts.set("analyzeduration", kAnalyzeDurationUs);
    opts.set("protocol_whitelist", "file");
    // image2 would read "frame%03d.png" as a numbered sequence of other files.
    opts.set("pattern_type", "none");
    const int err = avformat_open_input(&raw, path.c_str(), format, opts.get());
    if (err < 0) {  // raw is freed
      if (deadline.expired()) return timed_out(path, options.timeout_ms, "reading the headers");
      return corrupt(
          path, format_name,
          fmt::format("its headers are damaged or incomplete ({})", libav_log.explain(err)));
    }
    ic.reset(raw);
  }
  if (const int err = avformat_find_stream_info(ic.get(), nullptr); err < 0) {
    if (deadline.expired()) return timed_out(path, options.timeout_ms, "reading stream info");
    return corrupt(path, format_name,
                   fmt::format("its streams cannot be analysed ({})", libav_log.explain(err)));
  }
  if (deadline.expired()) return timed_out(path, options.timeout_ms, "reading stream info");

  r.format_name = format_name;
  bool any_media = false;
  bool any_usable = false;
  for (unsigned i = 0; i < ic->nb_streams; ++i) {
    const AVStream* st = ic->streams[i];
    r.streams.push_back(stream_json(st));
    const AVMediaType type = st->codecpar->codec_type;
    if (type == AVMEDIA_TYPE_VIDEO || type == AVMEDIA_TYPE_AUDIO) {
      any_media = true;
      any_usable = any_usable || usable(st);
    }
  }
  if (!any_media) {
    return not_media(path, fmt::format("the {} file has no audio or video stream", format_name));
  }
  if (!any_usable) {
    // An extension alone (score 50) made libav try; the bytes did not bear it out.
    if (score <= AVPROBE_SCORE_EXTENSION) {
      return not_media(path, fmt::format("its content does not decode as {}", format_name));
    }
    return corrupt(path, format_name, "no audio or video stream has decodable parameters");
  }

  AVStream* video = main_video_stream(ic.get());
  if (video && !usable(video)) video = nullptr;
  const int audio_index =
      av_find_best_stream(ic.get(), AVMEDIA_TYPE_AUDIO, -1, video ? video->index : -1, nullptr, 0);
  const AVStream* audio = audio_index >= 0 ? ic->streams[audio_index] : nullptr;
  if (audio && !usable(audio)) audio = nullptr;
  if (!video && !audio) {
    return corrupt(path, format_name, "no audio or video stream has decodable parameters");
  }

  if (ic->duration != AV_NOPTS_VALUE && ic->duration > 0) {
    r.duration_ms = to_ms(ic->duration, AV_TIME_BASE_Q);
  } else {
    for (unsigned i = 0; i < ic->nb_streams; ++i) {
      auto d = to_ms(ic->streams[i]->duration, ic->streams[i]->time_base);
      if (d && (!r.duration_ms || *d > *r.duration_ms)) r.duration_ms = d;
    }
  }
  if (ic->bit_rate > 0) r.bit_rate = ic->bit_rate;
  if (audio) {
    r.audio_channels = audio->codecpar->ch_layout.nb_channels;
    if (audio->codecpar->sample_rate > 0) r.sample_rate = audio->codecpar->sample_rate;
  }

  if (!video) {
    r.kind = MediaKind::kAudio;
  } else {
    r.width = video->codecpar->width;
    r.height = video->codecpar->height;
    r.rotation = stream_rotation(video);
    if (is_image_demuxer(format_name)) {
      r.kind = MediaKind::kImage;
    } else {
      FrameSample sample;
      if (format_name == "mov,mp4,m4a,3gp,3g2,mj2" && avformat_index_get_entries_count(video) > 0) {
        sample = sample_from_index(video);
      } else if (auto s = sample_from_packets(ic.get(), video, deadline)) {
        sample = *s;
      } else {
        return timed_out(path, options.timeout_ms, "sampling frame timestamps");
      }
      // One frame and nothing to hear is a picture (a still GIF, a one-frame clip).
      if (sample.single_frame && !audio) {
        r.kind = MediaKind::kImage;
      } else {
        r.kind = MediaKind::kVideo;
        r.variable_frame_rate = sample.variable;
        r.fps = stream_fps(video, sample.variable);
      }
    }
    if (r.kind == MediaKind::kImage) r.duration_ms.reset();
  }
  r.content_type = content_type_for(ic.get(), r.kind, video, path);
  return r;
}

nlohmann::json to_json(const ProbeResult& p) {
  auto opt = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  nlohmann::json j;
  j["kind"] = std::string(media_kind_name(p.kind));
  j["format_name"] = p.format_name;
  j["content_type"] = p.content_type;
  j["size_bytes"] = p.size_bytes;
  j["duration_ms"] = opt(p.duration_ms);
  j["bit_rate"] = opt(p.bit_rate);
  j["fps"] = p.fps ? nlohmann::json(p.fps->to_double()) : nlohmann::json(nullptr);
  j["fps_rational"] = p.fps ? nlohmann::json(p.fps->to_string()) : nlohmann::json(nullptr);
  j["variable_frame_rate"] = p.variable_frame_rate;
  j["width"] = opt(p.width);
  j["height"] = opt(p.height);
  j["rotation"] = p.rotation;
  j["audio_channels"] = opt(p.audio_channels);
  j["sample_rate"] = opt(p.sample_rate);
  j["streams"] = p.streams;
  return j;
}

}  // namespace atomcut

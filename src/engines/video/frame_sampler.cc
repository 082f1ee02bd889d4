#include "engines/video/frame_sampler.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/display.h>
#include <libavutil/mathematics.h>
#include <libavutil/pixdesc.h>
#include <libavutil/pixfmt.h>
#include <libswscale/swscale.h>
}

#include "engines/media/libav_input.h"
#include "engines/media/libav_raii.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <string_view>
#include <utility>

namespace atomcut {
namespace {

using libav::CodecFreer;
using libav::Dict;
using libav::FormatCloser;
using libav::FrameFreer;
using libav::IoCloser;
using libav::PacketFreer;

constexpr int kMaxDimension = 16384;
// Decode errors in a row after which the video counts as undecodable (ffmpeg skips bad packets).
constexpr int kMaxConsecutiveErrors = 64;
// frame_at() seeks when the target is this far beyond the decoder's position (else decodes on).
constexpr int64_t kSeekAheadMs = 4000;
// A seek that lands after its target is retried this much earlier each time, then given up.
constexpr int64_t kSeekBackoffMs = 3000;
constexpr int kSeekAttempts = 3;

struct SwsFreer {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};

Error not_media(const std::string& path, const std::string& why) {
  return libav::not_media_error(path, why);
}

Error corrupt(const std::string& path, const std::string& why) {
  return libav::corrupt_error(path, "video", why);
}

Error no_video(const std::string& path) {
  return Error::invalid_argument(
      fmt::format("the asset has no video: {} contains no video stream", path),
      {{"reason", "no_video_stream"}, {"path", path}});
}

bool valid(AVRational r) { return r.num > 0 && r.den > 0; }

int64_t frame_timestamp(const AVFrame* f) {
  return f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
}

// Display rotation in degrees clockwise (0, 90, 180, 270), as media_probe reads it.
int stream_rotation(const AVStream* st) {
  size_t size = 0;
  const uint8_t* sd = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
  if (!sd || size < 9 * sizeof(int32_t)) return 0;
  std::array<int32_t, 9> matrix{};
  std::memcpy(matrix.data(), sd, sizeof(matrix));
  const double ccw = av_display_rotation_get(matrix.data());
  if (!std::isfinite(ccw)) return 0;
  const long quarter_turns = std::lround(-ccw / 90.0) % 4;
  return static_cast<int>((quarter_turns + 4) % 4) * 90;
}

// A decoded frame held by reference, with its exact time.
struct HeldFrame {
  std::unique_ptr<AVFrame, FrameFreer> f{av_frame_alloc()};
  bool valid = false;
  int64_t ts = 0;  // stream time base, synthesized when the frame has none
  int64_t index = -1;
  void clear() {
    av_frame_unref(f.get());
    valid = false;
  }
};

// An output picture: its upright size, the size swscale makes before rotation, its layout.
struct Shape {
  int out_w = 0;
  int out_h = 0;
  int scaled_w = 0;
  int scaled_h = 0;
  PixelLayout layout = PixelLayout::kRgb24;
};

// The picture of a display-size (upright) w x h stream fitted into max_w x max_h (0 = no bound).
Shape fit(int w, int h, int rotation, int max_w, int max_h, PixelLayout layout) {
  double scale = 1.0;
  if (max_w > 0) scale = std::min(scale, double(max_w) / w);
  if (max_h > 0) scale = std::min(scale, double(max_h) / h);
  Shape s;
  s.out_w = std::max(1, static_cast<int>(std::lround(w * scale)));
  s.out_h = std::max(1, static_cast<int>(std::lround(h * scale)));
  if (max_w > 0) s.out_w = std::min(s.out_w, max_w);
  if (max_h > 0) s.out_h = std::min(s.out_h, max_h);
  const bool quarter = rotation == 90 || rotation == 270;
  s.scaled_w = quarter ? s.out_h : s.out_w;
  s.scaled_h = quarter ? s.out_w : s.out_h;
  s.layout = layout;
  return s;
}

Status check_size_options(const FrameSamplerOptions& opts) {
  for (const auto& [field, v] : {std::pair<const char*, int>{"max_width", opts.max_width},
                                 std::pair<const char*, int>{"max_height", opts.max_height}}) {
    if (v < 0 || v > kMaxDimension) {
      return Error::invalid_argument(
          fmt::format("{} must be 0 (no bound) or 1..{}, got {}", field, kMaxDimension, v),
          {{"field", field}, {"value", v}});
    }
  }
  if (opts.layout != PixelLayout::kGray8 && opts.layout != PixelLayout::kRgb24) {
    return Error::invalid_argument("layout must be gray8 or rgb24", {{"field", "layout"}});
  }
  return {};
}

}  // namespace

struct FrameSampler::Impl {
  std::string path;
  FrameSamplerOptions opts;
  VideoStreamInfo info;

  // Declared in reverse order of destruction: the demuxer goes before its custom I/O.
  std::unique_ptr<AVIOContext, IoCloser> pb;
  std::unique_ptr<AVFormatContext, FormatCloser> ic;
  std::unique_ptr<AVCodecContext, CodecFreer> dec;
  std::unique_ptr<AVPacket, PacketFreer> pkt;
  std::unique_ptr<AVFrame, FrameFreer> frame;
  std::unique_ptr<SwsContext, SwsFreer> sws;        // for `shape`
  std::unique_ptr<SwsContext, SwsFreer> extra_sws;  // for render_current()
  AVStream* st = nullptr;
  AVRational tb{0, 1};
  int64_t start_us = 0;  // the container's start time

  bool demux_eof = false;
  bool decoder_eof = false;
  int consecutive_errors = 0;
  int last_error = 0;
  int64_t frames_decoded = 0;
  int64_t packets_read = 0;

  int64_t first_ts = AV_NOPTS_VALUE;  // of the stream's first frame
  int64_t last_ts = AV_NOPTS_VALUE;   // of the last frame decoded
  int64_t next_index = 0;             // of the next decoded frame; -1 unknown
  int64_t frame_step = 0;             // nominal frame duration in tb, 0 unknown
  // Indexes of the keyframes decoded so far (one per GOP), so that seeks back to them know the
  // index on variable-rate streams too.
  std::map<int64_t, int64_t> keyframe_index;

  HeldFrame cur;    // the frame returned last
  HeldFrame ahead;  // the next frame, decoded ahead

  Shape shape;                  // of the pictures next() and frame_at() return
  std::vector<uint8_t> scaled;  // the scaled picture when it still needs rotating

  Status open_input();
  Result<bool> decode_next();
  Result<bool> fetch_ahead();
  Status seek_to(int64_t t_ms);
  Status rewind();
  Status convert(const HeldFrame& h, const Shape& to, std::unique_ptr<SwsContext, SwsFreer>& ctx,
                 VideoFrame& out);
  // Exact comparison of a frame's time on the container timeline with t_ms: <=.
  bool at_or_before(int64_t ts, int64_t t_ms) const;
  int64_t to_ms(int64_t ts) const;
  int64_t duration_of(const HeldFrame& h) const;
};

Status FrameSampler::Impl::open_input() {
  ATOMCUT_ASSIGN_OR_RETURN(libav::GuardedInput in, libav::open_guarded_input(path, "video"));
  pb = std::move(in.pb);
  ic = std::move(in.ic);
  const std::string format_name = in.format_name;

  // Cover art (an attached picture in an MP3 or M4A) is not video.
  int best = -1;
  const AVCodec* codec_impl = nullptr;
  bool any_video = false;
  bool any_audio = false;
  for (unsigned i = 0; i < ic->nb_streams; ++i) {
    AVStream* s = ic->streams[i];
    const AVMediaType type = s->codecpar->codec_type;
    any_audio = any_audio || type == AVMEDIA_TYPE_AUDIO;
    if (type == AVMEDIA_TYPE_VIDEO && !(s->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
      any_video = true;
    } else if (type == AVMEDIA_TYPE_VIDEO) {
      s->discard = AVDISCARD_ALL;  // keeps av_find_best_stream from choosing it
    }
  }
  if (!any_video) {
    if (!any_audio) {
      return not_media(path, fmt::format("the {} file has no audio or video stream", format_name));
    }
    return no_video(path);
  }
  for (unsigned i = 0; i < ic->nb_streams; ++i) {
    AVStream* s = ic->streams[i];
    if (s->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
        (s->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
      continue;
    }
    if (s->codecpar->codec_type != AVMEDIA_TYPE_VIDEO) continue;
    if (best < 0) best = static_cast<int>(i);
  }
  const int found = av_find_best_stream(ic.get(), AVMEDIA_TYPE_VIDEO, -1, -1, &codec_impl, 0);
  if (found >= 0 && !(ic->streams[found]->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
    best = found;
  } else {
    codec_impl = avcodec_find_decoder(ic->streams[best]->codecpar->codec_id);
  }
  if (!codec_impl) return corrupt(path, "libav has no decoder for its video codec");
  st = ic->streams[best];
  tb = st->time_base;
  if (!valid(tb)) return corrupt(path, "its video stream has no time base");
  for (unsigned i = 0; i < ic->nb_streams; ++i) {
    if (static_cast<int>(i) != best) ic->streams[i]->discard = AVDISCARD_ALL;
  }
  start_us = ic->start_time != AV_NOPTS_VALUE ? ic->start_time : 0;

  dec.reset(avcodec_alloc_context3(codec_impl));
  if (!dec) return Error::internal("out of memory allocating a video decoder");
  if (const int err = avcodec_parameters_to_context(dec.get(), st->codecpar); err < 0) {
    return corrupt(path,
                   fmt::format("its video parameters are invalid ({})", libav::error_text(err)));
  }
  dec->pkt_timebase = tb;
  dec->thread_count = 0;  // auto: one per core
  dec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  if (opts.fast_decode) {
    dec->skip_loop_filter = AVDISCARD_ALL;
    dec->flags2 |= AV_CODEC_FLAG2_FAST;
  }
  if (const int err = avcodec_open2(dec.get(), codec_impl, nullptr); err < 0) {
    return corrupt(path, fmt::format("the {} decoder does not accept it ({})", codec_impl->name,
                                     libav::error_text(err)));
  }
  pkt.reset(av_packet_alloc());
  frame.reset(av_frame_alloc());
  if (!pkt || !frame || !cur.f || !ahead.f) {
    return Error::internal("out of memory allocating decoder buffers");
  }
  demux_eof = decoder_eof = false;
  consecutive_errors = last_error = 0;
  frames_decoded = packets_read = 0;
  return {};
}

// The next decoded frame into `frame`; false at the end of the stream.
Result<bool> FrameSampler::Impl::decode_next() {
  while (true) {
    if (!decoder_eof) {
      const int r = avcodec_receive_frame(dec.get(), frame.get());
      if (r == 0) {
        consecutive_errors = 0;
        ++frames_decoded;
        return true;
      }
      if (r == AVERROR_EOF) {
        decoder_eof = true;
      } else if (r != AVERROR(EAGAIN)) {
        last_error = r;
        if (++consecutive_errors > kMaxConsecutiveErrors) {
          return corrupt(path, fmt::format("{} {} packets in a row fail to decode ({})",
                                           consecutive_errors, info.codec, libav::error_text(r)));
        }
        continue;
      }
    }
    if (decoder_eof || demux_eof) {
      decoder_eof = true;
      if (frames_decoded == 0 && last_error != 0) {
        return corrupt(path, fmt::format("no {} video decodes ({})", info.codec,
                                         libav::error_text(last_error)));
      }
      return false;
    }
    const int r = av_read_frame(ic.get(), pkt.get());
    if (r < 0) {
      // A read error after the headers (damaged or truncated data) ends the stream as EOF does.
      if (r != AVERROR_EOF) last_error = r;
      demux_eof = true;
      avcodec_send_packet(dec.get(), nullptr);
      continue;
    }
    if (pkt->stream_index != st->index) {
      av_packet_unref(pkt.get());
      continue;
    }
    ++packets_read;
    const int s = avcodec_send_packet(dec.get(), pkt.get());
    av_packet_unref(pkt.get());
    if (s == AVERROR(ENOMEM)) return Error::internal("out of memory decoding video");
    if (s < 0 && s != AVERROR(EAGAIN)) {
      last_error = s;
      if (++consecutive_errors > kMaxConsecutiveErrors) {
        return corrupt(path, fmt::format("{} {} packets in a row fail to decode ({})",
                                         consecutive_errors, info.codec, libav::error_text(s)));
      }
    }
  }
}

// Fills `ahead` (if empty) with the next decoded frame, its time and index; false at the end.
Result<bool> FrameSampler::Impl::fetch_ahead() {
  if (ahead.valid) return true;
  ATOMCUT_ASSIGN_OR_RETURN(bool got, decode_next());
  if (!got) return false;
  int64_t ts = frame_timestamp(frame.get());
  if (ts == AV_NOPTS_VALUE) {
    ts = last_ts == AV_NOPTS_VALUE ? 0 : last_ts + std::max<int64_t>(1, frame_step);
  } else if (last_ts != AV_NOPTS_VALUE && ts <= last_ts) {
    ts = last_ts + 1;  // keeps the timeline increasing (damaged or odd timestamps)
  }
  if (first_ts == AV_NOPTS_VALUE) first_ts = ts;
  if (next_index < 0) {
    if (auto it = keyframe_index.find(ts); it != keyframe_index.end()) next_index = it->second;
  }
  if (next_index < 0 && info.constant_rate && frame_step > 0) {
    next_index = std::max<int64_t>(0, av_rescale_rnd(ts - first_ts, 1, frame_step,
                                                     static_cast<AVRounding>(AV_ROUND_NEAR_INF)));
  }
  last_ts = ts;
  av_frame_unref(ahead.f.get());
  av_frame_move_ref(ahead.f.get(), frame.get());
  ahead.valid = true;
  ahead.ts = ts;
  ahead.index = next_index;
  if (next_index >= 0) {
    if (ahead.f->key_frame) keyframe_index.emplace(ts, next_index);
    ++next_index;
  }
  return true;
}

bool FrameSampler::Impl::at_or_before(int64_t ts, int64_t t_ms) const {
  // ts * tb (s) - start_us / 1e6 <= t_ms / 1e3, in integers.
  const __int128 lhs =
      static_cast<__int128>(ts) * tb.num * 1000000 - static_cast<__int128>(start_us) * tb.den;
  const __int128 rhs = static_cast<__int128>(t_ms) * 1000 * tb.den;
  return lhs <= rhs;
}

int64_t FrameSampler::Impl::to_ms(int64_t ts) const {
  const int64_t us = av_rescale_q(ts, tb, AVRational{1, 1000000}) - start_us;
  return av_rescale_rnd(us, 1, 1000, static_cast<AVRounding>(AV_ROUND_NEAR_INF));
}

int64_t FrameSampler::Impl::duration_of(const HeldFrame& h) const {
  if (h.f->pkt_duration > 0) return h.f->pkt_duration;
  return std::max<int64_t>(1, frame_step);
}

Status FrameSampler::Impl::rewind() {
  cur.clear();
  ahead.clear();
  const int err = avformat_seek_file(ic.get(), st->index, std::numeric_limits<int64_t>::min(),
                                     first_ts, first_ts, 0);
  if (err < 0) {
    // Not seekable: a fresh demuxer from the start.
    dec.reset();
    ic.reset();
    pb.reset();
    ATOMCUT_TRY(open_input());
  } else {
    avcodec_flush_buffers(dec.get());
  }
  demux_eof = decoder_eof = false;
  consecutive_errors = last_error = 0;
  last_ts = AV_NOPTS_VALUE;
  next_index = 0;
  return {};
}

// Positions the decoder so that the next fetched frame is at or before t_ms (or is the first
// frame): a seek to the keyframe before it, retried earlier when it lands late, else the start.
Status FrameSampler::Impl::seek_to(int64_t t_ms) {
  const bool seekable = ic->pb && (ic->pb->seekable & AVIO_SEEKABLE_NORMAL);
  if (!seekable) return rewind();
  for (int attempt = 0; attempt < kSeekAttempts; ++attempt) {
    const int64_t target_ms = t_ms - attempt * kSeekBackoffMs;
    if (target_ms <= 0) break;
    const int64_t target = av_rescale_q(target_ms * 1000 + start_us, AVRational{1, 1000000}, tb);
    cur.clear();
    ahead.clear();
    if (avformat_seek_file(ic.get(), st->index, std::numeric_limits<int64_t>::min(), target, target,
                           0) < 0) {
      break;
    }
    avcodec_flush_buffers(dec.get());
    demux_eof = decoder_eof = false;
    consecutive_errors = last_error = 0;
    last_ts = AV_NOPTS_VALUE;
    next_index = -1;  // derived from the first frame's pts on constant-rate streams
    ATOMCUT_ASSIGN_OR_RETURN(bool got, fetch_ahead());
    if (!got) continue;
    if (at_or_before(ahead.ts, t_ms)) return {};
  }
  return rewind();
}

Status FrameSampler::Impl::convert(const HeldFrame& h, const Shape& to,
                                   std::unique_ptr<SwsContext, SwsFreer>& ctx, VideoFrame& out) {
  const AVFrame* f = h.f.get();
  if (f->width <= 0 || f->height <= 0) return corrupt(path, "a frame has no size");
  const AVPixelFormat dst_fmt =
      to.layout == PixelLayout::kGray8 ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_RGB24;
  const int ch = to.layout == PixelLayout::kGray8 ? 1 : 3;
  ctx.reset(sws_getCachedContext(ctx.release(), f->width, f->height,
                                 static_cast<AVPixelFormat>(f->format), to.scaled_w, to.scaled_h,
                                 dst_fmt, SWS_AREA, nullptr, nullptr, nullptr));
  if (!ctx) {
    const char* name = av_get_pix_fmt_name(static_cast<AVPixelFormat>(f->format));
    return corrupt(path, fmt::format("its pixel format {} cannot be converted", name ? name : "?"));
  }
  out.width = to.out_w;
  out.height = to.out_h;
  out.layout = to.layout;
  out.pts_ms = to_ms(h.ts);
  out.index = h.index;
  out.pixels.resize(static_cast<size_t>(out.width) * out.height * ch);
  const bool rotate = info.rotation != 0;
  uint8_t* dst = out.pixels.data();
  if (rotate) {
    scaled.resize(static_cast<size_t>(to.scaled_w) * to.scaled_h * ch);
    dst = scaled.data();
  }
  uint8_t* dst_planes[4] = {dst, nullptr, nullptr, nullptr};
  int dst_strides[4] = {to.scaled_w * ch, 0, 0, 0};
  const int rows =
      sws_scale(ctx.get(), f->data, f->linesize, 0, f->height, dst_planes, dst_strides);
  if (rows <= 0) return corrupt(path, "a frame cannot be scaled");
  if (!rotate) return {};
  // out(x, y) from the scaled picture (sw x sh) turned clockwise by the rotation.
  const int sw = to.scaled_w;
  const int sh = to.scaled_h;
  const int ow = out.width;
  const int oh = out.height;
  for (int y = 0; y < oh; ++y) {
    uint8_t* row = out.pixels.data() + static_cast<size_t>(y) * ow * ch;
    for (int x = 0; x < ow; ++x) {
      int sx = 0;
      int sy = 0;
      if (info.rotation == 90) {
        sx = y;
        sy = sh - 1 - x;
      } else if (info.rotation == 180) {
        sx = sw - 1 - x;
        sy = sh - 1 - y;
      } else {  // 270
        sx = sw - 1 - y;
        sy = x;
      }
      const uint8_t* src = scaled.data() + (static_cast<size_t>(sy) * sw + sx) * ch;
      for (int c = 0; c < ch; ++c) row[x * ch + c] = src[c];
    }
  }
  return {};
}

FrameSampler::FrameSampler(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FrameSampler::~FrameSampler() = default;

Result<std::unique_ptr<FrameSampler>> FrameSampler::open(const std::string& path,
                                                         FrameSamplerOptions opts) {
  ATOMCUT_TRY(check_size_options(opts));
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->opts = opts;
  ATOMCUT_TRY(impl->open_input());

  Impl& d = *impl;
  VideoStreamInfo& info = d.info;
  const AVCodecParameters* par = d.st->codecpar;
  const AVCodecDescriptor* desc = avcodec_descriptor_get(par->codec_id);
  info.codec = desc ? desc->name : "unknown";
  const AVRational r = d.st->r_frame_rate;
  const AVRational a = d.st->avg_frame_rate;
  const AVRational rate = valid(r) ? r : a;
  if (valid(rate)) {
    info.fps_num = rate.num;
    info.fps_den = rate.den;
    d.frame_step = av_rescale_q(1, AVRational{rate.den, rate.num}, d.tb);
  }
  info.constant_rate = valid(r) && valid(a) && av_cmp_q(r, a) == 0;
  const AVRational ms{1, 1000};
  if (d.st->duration != AV_NOPTS_VALUE && d.st->duration > 0) {
    info.duration_ms = av_rescale_q(d.st->duration, d.tb, ms);
  } else if (d.ic->duration != AV_NOPTS_VALUE && d.ic->duration > 0) {
    info.duration_ms = av_rescale_q(d.ic->duration, AV_TIME_BASE_Q, ms);
  }
  if (d.st->nb_frames > 0) {
    info.estimated_frames = d.st->nb_frames;
  } else if (info.duration_ms > 0 && valid(rate)) {
    info.estimated_frames = av_rescale(info.duration_ms, rate.num, int64_t{1000} * rate.den);
  }

  // The first frame: checks that the video decodes and gives the true picture size.
  ATOMCUT_ASSIGN_OR_RETURN(bool got, d.fetch_ahead());
  if (!got) {
    if (d.packets_read > 0) {
      return corrupt(path,
                     fmt::format("none of its {} {} packets decodes", d.packets_read, info.codec));
    }
    return corrupt(path, fmt::format("no {} frame is found in its data", info.codec));
  }
  const AVFrame* f = d.ahead.f.get();
  int w = f->width;
  int h = f->height;
  AVRational sar = f->sample_aspect_ratio;
  if (!valid(sar)) sar = par->sample_aspect_ratio;
  if (valid(sar) && sar.num != sar.den) {
    w = static_cast<int>(av_rescale(w, sar.num, sar.den));
  }
  info.rotation = stream_rotation(d.st);
  const bool quarter = info.rotation == 90 || info.rotation == 270;
  info.width = quarter ? h : w;
  info.height = quarter ? w : h;
  d.shape =
      fit(info.width, info.height, info.rotation, opts.max_width, opts.max_height, opts.layout);
  info.output_width = d.shape.out_w;
  info.output_height = d.shape.out_h;
  return std::unique_ptr<FrameSampler>(new FrameSampler(std::move(impl)));
}

Result<bool> FrameSampler::next(VideoFrame& out) {
  Impl& d = *impl_;
  ATOMCUT_ASSIGN_OR_RETURN(bool got, d.fetch_ahead());
  if (!got) return false;
  std::swap(d.cur, d.ahead);
  d.ahead.clear();
  ATOMCUT_TRY(d.convert(d.cur, d.shape, d.sws, out));
  return true;
}

Result<bool> FrameSampler::frame_at(int64_t t_ms, VideoFrame& out) {
  if (t_ms < 0) {
    return Error::invalid_argument(fmt::format("t_ms must be >= 0, got {}", t_ms),
                                   {{"field", "t_ms"}, {"value", t_ms}});
  }
  Impl& d = *impl_;
  // Behind the frame returned last: go back.
  if (d.cur.valid && !d.at_or_before(d.cur.ts, t_ms) && d.cur.ts != d.first_ts) {
    ATOMCUT_TRY(d.seek_to(t_ms));
  } else if (!d.cur.valid && d.ahead.valid && !d.at_or_before(d.ahead.ts, t_ms) &&
             d.ahead.ts != d.first_ts) {
    ATOMCUT_TRY(d.seek_to(t_ms));
  } else {
    // Far ahead of the decoder: seek forward.
    const int64_t pos_ts = d.ahead.valid ? d.ahead.ts : d.last_ts;
    if (pos_ts != AV_NOPTS_VALUE && d.at_or_before(pos_ts, t_ms - kSeekAheadMs)) {
      ATOMCUT_TRY(d.seek_to(t_ms));
    }
  }
  while (true) {
    ATOMCUT_ASSIGN_OR_RETURN(bool got, d.fetch_ahead());
    if (!got) break;
    if (d.cur.valid && !d.at_or_before(d.ahead.ts, t_ms)) break;
    std::swap(d.cur, d.ahead);
    d.ahead.clear();
  }
  if (!d.cur.valid) return false;
  if (!d.ahead.valid && d.at_or_before(d.cur.ts + d.duration_of(d.cur), t_ms)) {
    return false;  // after the last frame's display duration
  }
  ATOMCUT_TRY(d.convert(d.cur, d.shape, d.sws, out));
  return true;
}

Status FrameSampler::render_current(const FrameSamplerOptions& size, VideoFrame& out) {
  ATOMCUT_TRY(check_size_options(size));
  Impl& d = *impl_;
  if (!d.cur.valid) {
    return Error::failed_precondition(
        "render_current() needs a frame: call next() or frame_at() "
        "first");
  }
  const VideoStreamInfo& i = d.info;
  const Shape shape =
      fit(i.width, i.height, i.rotation, size.max_width, size.max_height, size.layout);
  return d.convert(d.cur, shape, d.extra_sws, out);
}

const VideoStreamInfo& FrameSampler::info() const { return impl_->info; }

Status for_each_frame(const std::string& path, const FrameSamplerOptions& opts,
                      const FrameCallback& on_frame) {
  ATOMCUT_ASSIGN_OR_RETURN(std::unique_ptr<FrameSampler> sampler, FrameSampler::open(path, opts));
  VideoFrame frame;
  while (true) {
    ATOMCUT_ASSIGN_OR_RETURN(bool got, sampler->next(frame));
    if (!got) return {};
    ATOMCUT_TRY(on_frame(frame));
  }
}

Status sample_every(const std::string& path, int64_t interval_ms, const FrameSamplerOptions& opts,
                    const FrameCallback& on_frame) {
  if (interval_ms < 1) {
    return Error::invalid_argument(fmt::format("interval_ms must be >= 1, got {}", interval_ms),
                                   {{"field", "interval_ms"}, {"value", interval_ms}});
  }
  ATOMCUT_ASSIGN_OR_RETURN(std::unique_ptr<FrameSampler> sampler, FrameSampler::open(path, opts));
  VideoFrame frame;
  for (int64_t t = 0;; t += interval_ms) {
    ATOMCUT_ASSIGN_OR_RETURN(bool got, sampler->frame_at(t, frame));
    if (!got) return {};
    ATOMCUT_TRY(on_frame(frame));
  }
}

Status sample_at(const std::string& path, const std::vector<int64_t>& times_ms,
                 const FrameSamplerOptions& opts, const FrameCallback& on_frame) {
  for (size_t i = 0; i < times_ms.size(); ++i) {
    if (times_ms[i] < 0) {
      return Error::invalid_argument(
          fmt::format("times_ms[{}] must be >= 0, got {}", i, times_ms[i]),
          {{"field", "times_ms"}, {"index", i}, {"value", times_ms[i]}});
    }
  }
  ATOMCUT_ASSIGN_OR_RETURN(std::unique_ptr<FrameSampler> sampler, FrameSampler::open(path, opts));
  VideoFrame frame;
  for (const int64_t t : times_ms) {
    ATOMCUT_ASSIGN_OR_RETURN(bool got, sampler->frame_at(t, frame));
    if (!got) continue;
    ATOMCUT_TRY(on_frame(frame));
  }
  return {};
}

}  // namespace atomcut

#include "engines/audio/audio_decoder.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/channel_layout.h>
#include <libavutil/mathematics.h>
#include <libavutil/samplefmt.h>
#include <libswresample/swresample.h>
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
#include <numeric>
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

constexpr int kMinSampleRate = 1000;
constexpr int kMaxSampleRate = 384000;
// defaults cannot make opening unbounded.
// that turn any text into "video": never followed (as in media_probe).

// Windows starting earlier than this are decoded from the beginning: a seek would save little.
constexpr int64_t kLinearBelowMs = 2000;
// Seeks aim this far before the window, so the codec's state (MDCT overlap, MP3 bit reservoir,
// Opus pre-roll) has settled when the window starts...
constexpr int64_t kSeekPrerollMs = 1000;
// ... and a seek that lands less than this before the window is not trusted.
constexpr int64_t kMinPrerollMs = 200;
// Containers whose timestamps cannot place single samples (Matroska/WebM: 1 ms) are decoded from
// the beginning for windows starting this early, which stays exact.
constexpr int64_t kCoarseLinearBelowMs = 10 * 60 * 1000;
// SWR_CH_MAX, libswresample's channel limit (its header does not export it).
constexpr int kSwrMaxChannels = 64;
// Decode errors in a row after which the audio counts as undecodable (ffmpeg skips bad packets).
constexpr int kMaxConsecutiveErrors = 64;

struct SwrFreer {
  void operator()(SwrContext* s) const { swr_free(&s); }
};

// An owned AVChannelLayout (it may hold a custom channel map).
class Layout {
 public:
  Layout() = default;
  explicit Layout(const AVChannelLayout& src) { av_channel_layout_copy(&l_, &src); }
  ~Layout() { av_channel_layout_uninit(&l_); }
  Layout(const Layout&) = delete;
  Layout& operator=(const Layout&) = delete;
  void assign(const AVChannelLayout& src) { av_channel_layout_copy(&l_, &src); }
  const AVChannelLayout& get() const { return l_; }
  AVChannelLayout* ptr() { return &l_; }

 private:
  AVChannelLayout l_{};
};

Error not_media(const std::string& path, const std::string& why) {
  return libav::not_media_error(path, why);
}

Error corrupt(const std::string& path, const std::string& why) {
  return libav::corrupt_error(path, "audio", why);
}

Error no_audio(const std::string& path) {
  return Error::invalid_argument(
      fmt::format("the asset has no audio: {} contains no audio stream", path),
      {{"reason", "no_audio_stream"}, {"path", path}});
}

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// n * to / from, rounded down (positions at one rate to another).
int64_t rescale_floor(int64_t n, int64_t to, int64_t from) {
  return av_rescale_rnd(n, to, from, static_cast<AVRounding>(AV_ROUND_DOWN));
}

int64_t frame_timestamp(const AVFrame* f) {
  return f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
}

bool is_lfe(const AVChannelLayout& layout, int index) {
  const AVChannel ch = av_channel_layout_channel_from_index(&layout, index);
  return ch == AV_CHAN_LOW_FREQUENCY || ch == AV_CHAN_LOW_FREQUENCY_2;
}

// matrix[i + in * o]: the weight of input channel i in output channel o.
std::vector<double> mix_matrix(const AVChannelLayout& in, int out_channels) {
  const int n = in.nb_channels;
  std::vector<double> m(static_cast<size_t>(n) * out_channels, 0.0);
  // The average of the channels other than LFE (of all of them when all are LFE).
  auto average_into = [&](int o) {
    int counted = 0;
    for (int i = 0; i < n; ++i) counted += is_lfe(in, i) ? 0 : 1;
    for (int i = 0; i < n; ++i) {
      if (counted == 0) {
        m[i + n * o] = 1.0 / n;
      } else if (!is_lfe(in, i)) {
        m[i + n * o] = 1.0 / counted;
      }
    }
  };
  if (out_channels == 1) {
    average_into(0);
    return m;
  }
  if (n == 1) {
    m[0] = m[1] = 1.0;
    return m;
  }
  if (n == 2) {
    m[0] = 1.0;      // L <- in 0
    m[1 + 2] = 1.0;  // R <- in 1
    return m;
  }
  if (in.order == AV_CHANNEL_ORDER_NATIVE && n <= kSwrMaxChannels) {
    const AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
    // libswresample 4.7 normalises all 64 x 64 entries at the given stride, whatever the layouts:
    // it gets a buffer of that size (its internal one), copied out below.
    std::vector<double> full(static_cast<size_t>(kSwrMaxChannels) * kSwrMaxChannels, 0.0);
    if (swr_build_matrix2(&in, &stereo, M_SQRT1_2, M_SQRT1_2, 0.0, 1.0, 1.0, full.data(),
                          kSwrMaxChannels, AV_MATRIX_ENCODING_NONE, nullptr) >= 0) {
      for (int o = 0; o < 2; ++o) {
        for (int i = 0; i < n; ++i) m[i + n * o] = full[i + kSwrMaxChannels * o];
      }
      return m;
    }
  }
  // Channels without known positions: the average on both sides.
  average_into(0);
  average_into(1);
  return m;
}

}  // namespace

struct AudioDecoder::Impl {
  std::string path;
  PcmFormat fmt;
  AudioWindow window;

  // Declared in reverse order of destruction: the demuxer goes before its custom I/O.
  std::unique_ptr<AVIOContext, IoCloser> pb;
  std::unique_ptr<AVFormatContext, FormatCloser> ic;
  std::unique_ptr<AVCodecContext, CodecFreer> dec;
  std::unique_ptr<AVPacket, PacketFreer> pkt;
  std::unique_ptr<AVFrame, FrameFreer> frame;
  std::unique_ptr<SwrContext, SwrFreer> swr;
  AVStream* st = nullptr;

  int64_t source_duration_ms = -1;
  int source_rate = 0;
  int source_channels = 0;
  std::string codec;

  // Decoding.
  bool frame_ready = false;  // `frame` holds a decoded frame not consumed yet
  bool demux_eof = false;    // the decoder was sent its flush packet
  bool decoder_eof = false;
  int consecutive_errors = 0;
  int last_error = 0;
  int64_t frames_decoded = 0;       // since the input was (re)opened
  int64_t packets_read = 0;         // of the audio stream, since the input was (re)opened
  int64_t stream_duration_ms = -1;  // the audio stream's own, -1 unknown

  // Timeline: positions count input samples at `in_rate` from the stream's first decoded sample.
  int64_t origin_pts = AV_NOPTS_VALUE;  // in st->time_base
  int64_t start_offset_us = 0;          // origin on the container's timeline
  int in_rate = 0;
  int64_t next_in = 0;        // position of the next decoded sample
  int64_t skip_in_until = 0;  // decoded samples before this position are not resampled
  // Output: frames at fmt.sample_rate, numbered as in a full decode.
  int64_t out_next = 0;  // number of the resampler's next output frame
  int64_t emit_from = 0;
  int64_t emit_end = std::numeric_limits<int64_t>::max();

  // Resampler, configured for the input it was built for.
  bool swr_started = false;  // out_next is placed (the first resampler of this run was built)
  int swr_rate = 0;
  int swr_format = AV_SAMPLE_FMT_NONE;
  Layout swr_layout;

  std::vector<float> pending;  // resampled frames of the window not handed out yet
  size_t pending_pos = 0;      // in floats
  std::vector<float> convert_buf;
  bool done = false;
  std::optional<Error> deferred_error;

  Status open_input();
  Status start();
  Status reopen_linear();
  Result<bool> next_frame();
  Status process_frame();
  Status configure_resampler(const AVFrame* f, int64_t start_pos);
  Status convert(const uint8_t** in, int count);
  Status flush_resampler();
  void emit(size_t frames);
  int64_t position_of(int64_t ts) const;
};

Status AudioDecoder::Impl::open_input() {
  ATOMCUT_ASSIGN_OR_RETURN(libav::GuardedInput in, libav::open_guarded_input(path, "audio"));
  pb = std::move(in.pb);
  ic = std::move(in.ic);
  const std::string format_name = in.format_name;

  const AVCodec* codec_impl = nullptr;
  const int best = av_find_best_stream(ic.get(), AVMEDIA_TYPE_AUDIO, -1, -1, &codec_impl, 0);
  if (best < 0) {
    bool any_audio = false;
    bool any_video = false;
    for (unsigned i = 0; i < ic->nb_streams; ++i) {
      const AVMediaType type = ic->streams[i]->codecpar->codec_type;
      any_audio = any_audio || type == AVMEDIA_TYPE_AUDIO;
      any_video = any_video || type == AVMEDIA_TYPE_VIDEO;
    }
    if (any_audio) {
      return corrupt(path, best == AVERROR_DECODER_NOT_FOUND
                               ? "libav has no decoder for its audio codec"
                               : "its audio stream has no usable parameters");
    }
    if (!any_video) {
      return not_media(path, fmt::format("the {} file has no audio or video stream", format_name));
    }
    return no_audio(path);
  }
  st = ic->streams[best];
  for (unsigned i = 0; i < ic->nb_streams; ++i) {
    if (static_cast<int>(i) != best) ic->streams[i]->discard = AVDISCARD_ALL;
  }

  dec.reset(avcodec_alloc_context3(codec_impl));
  if (!dec) return Error::internal("out of memory allocating an audio decoder");
  if (const int err = avcodec_parameters_to_context(dec.get(), st->codecpar); err < 0) {
    return corrupt(path,
                   fmt::format("its audio parameters are invalid ({})", libav::error_text(err)));
  }
  dec->pkt_timebase = st->time_base;
  if (const int err = avcodec_open2(dec.get(), codec_impl, nullptr); err < 0) {
    return corrupt(path, fmt::format("the {} decoder does not accept it ({})", codec_impl->name,
                                     libav::error_text(err)));
  }
  pkt.reset(av_packet_alloc());
  frame.reset(av_frame_alloc());
  if (!pkt || !frame) return Error::internal("out of memory allocating decoder buffers");

  const AVCodecDescriptor* desc = avcodec_descriptor_get(st->codecpar->codec_id);
  codec = desc ? desc->name : codec_impl->name;
  source_rate = st->codecpar->sample_rate;
  source_channels = st->codecpar->ch_layout.nb_channels;
  const AVRational ms{1, 1000};
  if (st->duration != AV_NOPTS_VALUE && st->duration > 0 && st->time_base.num > 0) {
    source_duration_ms = stream_duration_ms = av_rescale_q(st->duration, st->time_base, ms);
  } else if (ic->duration != AV_NOPTS_VALUE && ic->duration > 0) {
    source_duration_ms = av_rescale_q(ic->duration, AV_TIME_BASE_Q, ms);
  }
  frame_ready = demux_eof = decoder_eof = false;
  consecutive_errors = last_error = 0;
  frames_decoded = packets_read = 0;
  return {};
}

// The next decoded frame into `frame`; false at the end of the stream.
Result<bool> AudioDecoder::Impl::next_frame() {
  if (frame_ready) {
    frame_ready = false;
    return true;
  }
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
                                           consecutive_errors, codec, libav::error_text(r)));
        }
        continue;
      }
    }
    if (decoder_eof || demux_eof) {
      decoder_eof = true;
      if (frames_decoded == 0 && last_error != 0) {
        return corrupt(
            path, fmt::format("no {} audio decodes ({})", codec, libav::error_text(last_error)));
      }
      return false;
    }
    const int r = av_read_frame(ic.get(), pkt.get());
    if (r < 0) {
      // A read error after the headers (damaged or truncated data) ends the stream as EOF does,
      // as in ffmpeg; it is an error only when nothing decoded.
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
    if (s == AVERROR(ENOMEM)) return Error::internal("out of memory decoding audio");
    if (s < 0 && s != AVERROR(EAGAIN)) {
      last_error = s;
      if (++consecutive_errors > kMaxConsecutiveErrors) {
        return corrupt(path, fmt::format("{} {} packets in a row fail to decode ({})",
                                         consecutive_errors, codec, libav::error_text(s)));
      }
    }
  }
}

int64_t AudioDecoder::Impl::position_of(int64_t ts) const {
  return av_rescale_q_rnd(ts - origin_pts, st->time_base, AVRational{1, in_rate},
                          static_cast<AVRounding>(AV_ROUND_NEAR_INF | AV_ROUND_PASS_MINMAX));
}

// Decodes the first frame (the origin of the timeline), places the window, and seeks when that
// saves work without losing sample accuracy.
Status AudioDecoder::Impl::start() {
  ATOMCUT_ASSIGN_OR_RETURN(bool got, next_frame());
  const int64_t rate = fmt.sample_rate;
  emit_from = av_rescale(window.start_ms, rate, 1000);
  if (window.duration_ms) emit_end = av_rescale(window.start_ms + *window.duration_ms, rate, 1000);
  if (!got) {
    // Nothing decodes although the stream has packets or says it lasts (a header followed by
    // garbage the parser finds no frame in).
    if (packets_read > 0) {
      return corrupt(path, fmt::format("none of its {} {} packets decodes", packets_read, codec));
    }
    if (stream_duration_ms > 0) {
      return corrupt(path, fmt::format("no {} frame is found in its data", codec));
    }
    done = true;  // an audio stream without samples
    return {};
  }
  frame_ready = true;
  origin_pts = frame_timestamp(frame.get());
  if (origin_pts != AV_NOPTS_VALUE && st->time_base.num > 0) {
    start_offset_us = av_rescale_q(origin_pts, st->time_base, AV_TIME_BASE_Q) -
                      (ic->start_time != AV_NOPTS_VALUE ? ic->start_time : 0);
  }
  in_rate = frame->sample_rate;
  if (in_rate <= 0) return corrupt(path, "its audio has no sample rate");
  if (source_rate <= 0) source_rate = in_rate;
  if (source_channels <= 0) source_channels = frame->ch_layout.nb_channels;
  if (emit_end <= emit_from) {  // an empty window
    done = true;
    return {};
  }

  // The resampler starts on the full decode's grid: at input positions whose time is a whole
  // number of output frames, early enough that its filter has settled by the window's start.
  const int64_t start_in = rescale_floor(emit_from, in_rate, rate);
  const int64_t step = in_rate / std::gcd<int64_t>(in_rate, rate);
  const int64_t margin = std::max<int64_t>(in_rate / 20, 128 * ((in_rate + rate - 1) / rate));
  skip_in_until = std::max<int64_t>(0, floor_div(start_in - margin, step) * step);
  next_in = 0;

  const bool coarse = static_cast<int64_t>(st->time_base.num) * in_rate > st->time_base.den;
  const bool seekable = ic->pb && (ic->pb->seekable & AVIO_SEEKABLE_NORMAL);
  const bool seek = origin_pts != AV_NOPTS_VALUE && seekable &&
                    window.start_ms >= (coarse ? kCoarseLinearBelowMs : kLinearBelowMs);
  if (!seek) return {};

  const int64_t target_in = start_in - av_rescale(kSeekPrerollMs, in_rate, 1000);
  const int64_t target =
      origin_pts + av_rescale_q(target_in, AVRational{1, in_rate}, st->time_base);
  av_frame_unref(frame.get());
  frame_ready = false;
  if (avformat_seek_file(ic.get(), st->index, std::numeric_limits<int64_t>::min(), target, target,
                         0) < 0) {
    return reopen_linear();
  }
  avcodec_flush_buffers(dec.get());
  demux_eof = decoder_eof = false;
  consecutive_errors = last_error = 0;
  ATOMCUT_ASSIGN_OR_RETURN(bool landed, next_frame());
  if (!landed) {
    // Nothing after the target: the window starts after the end, or the seek went wrong.
    if (source_duration_ms >= 0 && window.start_ms >= source_duration_ms) {
      done = true;
      return {};
    }
    return reopen_linear();
  }
  const int64_t ts = frame_timestamp(frame.get());
  const int64_t min_preroll = av_rescale(kMinPrerollMs, in_rate, 1000) +
                              av_rescale(std::max(0, st->codecpar->seek_preroll), in_rate,
                                         std::max(1, st->codecpar->sample_rate));
  if (ts == AV_NOPTS_VALUE || frame->sample_rate != in_rate ||
      position_of(ts) > skip_in_until - min_preroll) {
    return reopen_linear();
  }
  next_in = position_of(ts);
  frame_ready = true;
  return {};
}

// Decodes from the beginning instead (a fresh demuxer and decoder, exactly as a full decode).
Status AudioDecoder::Impl::reopen_linear() {
  frame_ready = false;
  dec.reset();
  ic.reset();
  pb.reset();
  ATOMCUT_TRY(open_input());
  ATOMCUT_ASSIGN_OR_RETURN(bool got, next_frame());
  if (!got) return corrupt(path, "the audio stream ended when decoded a second time");
  frame_ready = true;
  next_in = 0;
  return {};
}

Status AudioDecoder::Impl::configure_resampler(const AVFrame* f, int64_t start_pos) {
  Layout in;
  if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
    av_channel_layout_default(in.ptr(), f->ch_layout.nb_channels);
  } else {
    in.assign(f->ch_layout);
  }
  if (in.get().nb_channels != f->ch_layout.nb_channels) {
    return corrupt(path, "its channel layout is invalid");
  }
  AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;  // swr_alloc_set_opts2 takes non-const layouts
  AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
  AVChannelLayout* out_layout = fmt.channels == 1 ? &mono : &stereo;
  SwrContext* raw = nullptr;
  int err = swr_alloc_set_opts2(&raw, out_layout, AV_SAMPLE_FMT_FLT, fmt.sample_rate, in.ptr(),
                                static_cast<AVSampleFormat>(f->format), f->sample_rate, 0, nullptr);
  swr.reset(raw);
  if (err < 0) {
    return corrupt(
        path, fmt::format("its audio format cannot be converted ({})", libav::error_text(err)));
  }
  const std::vector<double> matrix = mix_matrix(in.get(), fmt.channels);
  err = swr_set_matrix(swr.get(), matrix.data(), in.get().nb_channels);
  if (err >= 0) err = swr_init(swr.get());
  if (err < 0) {
    return corrupt(
        path, fmt::format("its audio format cannot be converted ({})", libav::error_text(err)));
  }
  swr_rate = f->sample_rate;
  swr_format = f->format;
  swr_layout.assign(f->ch_layout);
  if (!swr_started) {
    // The first resampler: aligned to the full decode's grid; silence fills up to start_pos.
    const int64_t g = std::gcd<int64_t>(in_rate, fmt.sample_rate);
    const int64_t step = in_rate / g;
    const int64_t i0 = floor_div(start_pos, step) * step;
    if (start_pos > i0) swr_inject_silence(swr.get(), static_cast<int>(start_pos - i0));
    out_next = i0 / step * (fmt.sample_rate / g);
    swr_started = true;
  }  // else a format change midway: the output continues where the last resampler stopped
  return {};
}

void AudioDecoder::Impl::emit(size_t frames) {
  const int64_t first = out_next;
  const int64_t last = out_next + static_cast<int64_t>(frames);
  out_next = last;
  const int64_t lo = std::max(first, emit_from);
  const int64_t hi = std::min(last, emit_end);
  if (lo >= hi) return;
  if (pending_pos == pending.size()) {
    pending.clear();
    pending_pos = 0;
  }
  const size_t ch = static_cast<size_t>(fmt.channels);
  const float* src = convert_buf.data() + static_cast<size_t>(lo - first) * ch;
  pending.insert(pending.end(), src, src + static_cast<size_t>(hi - lo) * ch);
}

Status AudioDecoder::Impl::convert(const uint8_t** in, int count) {
  const int cap = swr_get_out_samples(swr.get(), count);
  if (cap < 0) return Error::internal(fmt::format("resampler: {}", libav::error_text(cap)));
  if (cap == 0) {  // the resampler keeps the input for later
    if (count > 0 && swr_convert(swr.get(), nullptr, 0, in, count) < 0) {
      return Error::internal("resampler failed");
    }
    return {};
  }
  convert_buf.resize(static_cast<size_t>(cap) * fmt.channels);
  uint8_t* out = reinterpret_cast<uint8_t*>(convert_buf.data());
  const int got = swr_convert(swr.get(), &out, cap, in, count);
  if (got < 0) return Error::internal(fmt::format("resampler: {}", libav::error_text(got)));
  emit(static_cast<size_t>(got));
  return {};
}

Status AudioDecoder::Impl::flush_resampler() {
  if (!swr) return {};
  while (true) {
    const int cap = std::max(swr_get_out_samples(swr.get(), 0), 0) + 256;
    convert_buf.resize(static_cast<size_t>(cap) * fmt.channels);
    uint8_t* out = reinterpret_cast<uint8_t*>(convert_buf.data());
    const int got = swr_convert(swr.get(), &out, cap, nullptr, 0);
    if (got < 0) return Error::internal(fmt::format("resampler: {}", libav::error_text(got)));
    if (got == 0) break;
    emit(static_cast<size_t>(got));
  }
  swr.reset();
  return {};
}

Status AudioDecoder::Impl::process_frame() {
  const AVFrame* f = frame.get();
  const int count = f->nb_samples;
  const int channels = f->ch_layout.nb_channels;
  if (count <= 0) return {};
  if (f->sample_rate <= 0 || channels <= 0) return corrupt(path, "a frame has no format");
  if (swr && (f->sample_rate != swr_rate || f->format != swr_format ||
              av_channel_layout_compare(&f->ch_layout, &swr_layout.get()) != 0)) {
    ATOMCUT_TRY(flush_resampler());
  }
  if (f->sample_rate != in_rate) {  // positions move to the new rate
    next_in = av_rescale(next_in, f->sample_rate, in_rate);
    skip_in_until = av_rescale(skip_in_until, f->sample_rate, in_rate);
    in_rate = f->sample_rate;
  }
  const int64_t pos = next_in;
  next_in += count;
  if (pos + count <= skip_in_until) return {};
  const int offset = static_cast<int>(std::max<int64_t>(0, skip_in_until - pos));
  if (!swr) ATOMCUT_TRY(configure_resampler(f, pos + offset));

  const AVSampleFormat sf = static_cast<AVSampleFormat>(f->format);
  const bool planar = av_sample_fmt_is_planar(sf) != 0;
  const size_t stride = static_cast<size_t>(av_get_bytes_per_sample(sf)) * (planar ? 1 : channels);
  std::vector<const uint8_t*> in(planar ? channels : 1);
  for (size_t i = 0; i < in.size(); ++i) in[i] = f->extended_data[i] + stride * offset;
  return convert(in.data(), count - offset);
}

AudioDecoder::AudioDecoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AudioDecoder::~AudioDecoder() = default;

Result<std::unique_ptr<AudioDecoder>> AudioDecoder::open(const std::string& path, PcmFormat fmt,
                                                         AudioWindow window) {
  if (fmt.sample_rate < kMinSampleRate || fmt.sample_rate > kMaxSampleRate) {
    return Error::invalid_argument(fmt::format("sample_rate must be {}..{} Hz, got {}",
                                               kMinSampleRate, kMaxSampleRate, fmt.sample_rate),
                                   {{"field", "sample_rate"}, {"value", fmt.sample_rate}});
  }
  if (fmt.channels != 1 && fmt.channels != 2) {
    return Error::invalid_argument(
        fmt::format("channels must be 1 (mono) or 2 (stereo), got {}", fmt.channels),
        {{"field", "channels"}, {"value", fmt.channels}});
  }
  // Bounded so that positions in samples cannot overflow (about 290 years at 384 kHz).
  constexpr int64_t kMaxMs = int64_t{1} << 52;
  if (window.start_ms < 0 || window.start_ms > kMaxMs) {
    return Error::invalid_argument(
        fmt::format("window start_ms must be 0..{}, got {}", kMaxMs, window.start_ms),
        {{"field", "start_ms"}, {"value", window.start_ms}});
  }
  if (window.duration_ms && (*window.duration_ms < 0 || *window.duration_ms > kMaxMs)) {
    return Error::invalid_argument(
        fmt::format("window duration_ms must be 0..{}, got {}", kMaxMs, *window.duration_ms),
        {{"field", "duration_ms"}, {"value", *window.duration_ms}});
  }
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->fmt = fmt;
  impl->window = window;
  ATOMCUT_TRY(impl->open_input());
  ATOMCUT_TRY(impl->start());
  return std::unique_ptr<AudioDecoder>(new AudioDecoder(std::move(impl)));
}

Result<size_t> AudioDecoder::read(float* out, size_t max_frames) {
  Impl& d = *impl_;
  const size_t ch = static_cast<size_t>(d.fmt.channels);
  size_t written = 0;
  while (written < max_frames) {
    const size_t available = (d.pending.size() - d.pending_pos) / ch;
    if (available > 0) {
      const size_t take = std::min(available, max_frames - written);
      std::memcpy(out + written * ch, d.pending.data() + d.pending_pos, take * ch * sizeof(float));
      d.pending_pos += take * ch;
      written += take;
      continue;
    }
    d.pending.clear();
    d.pending_pos = 0;
    if (d.done) break;
    if (d.out_next >= d.emit_end) {
      d.done = true;
      break;
    }
    Status step = [&]() -> Status {
      ATOMCUT_ASSIGN_OR_RETURN(bool got, d.next_frame());
      if (!got) {
        d.done = true;
        return d.flush_resampler();
      }
      Status s = d.process_frame();
      av_frame_unref(d.frame.get());
      return s;
    }();
    if (!step.ok()) {
      d.done = true;
      d.pending.clear();
      d.pending_pos = 0;
      if (written == 0) return step.take_error();
      d.deferred_error = step.take_error();
      break;
    }
  }
  if (written == 0 && d.deferred_error) {
    Error e = std::move(*d.deferred_error);
    d.deferred_error.reset();
    return e;
  }
  return written;
}

int64_t AudioDecoder::estimated_frames() const {
  const Impl& d = *impl_;
  const int64_t rate = d.fmt.sample_rate;
  int64_t end = d.emit_end;
  if (d.source_duration_ms >= 0) end = std::min(end, av_rescale(d.source_duration_ms, rate, 1000));
  if (end == std::numeric_limits<int64_t>::max()) return -1;
  return std::max<int64_t>(0, end - d.emit_from);
}

const PcmFormat& AudioDecoder::format() const { return impl_->fmt; }
int64_t AudioDecoder::source_duration_ms() const { return impl_->source_duration_ms; }
int AudioDecoder::source_sample_rate() const { return impl_->source_rate; }
int AudioDecoder::source_channels() const { return impl_->source_channels; }
std::string AudioDecoder::codec_name() const { return impl_->codec; }
int64_t AudioDecoder::start_offset_us() const { return impl_->start_offset_us; }

Result<DecodedAudio> decode_audio(const std::string& path, PcmFormat fmt, AudioWindow window,
                                  size_t max_bytes) {
  ATOMCUT_ASSIGN_OR_RETURN(std::unique_ptr<AudioDecoder> decoder,
                           AudioDecoder::open(path, fmt, window));
  const size_t ch = static_cast<size_t>(fmt.channels);
  const size_t max_values = max_bytes / sizeof(float);
  auto too_large = [&](const std::string& how) {
    return Error::invalid_argument(
        fmt::format("the decoded audio of {} {} more than {} bytes; decode it in windows or "
                    "stream it",
                    path, how, max_bytes),
        {{"reason", "too_large"}, {"path", path}, {"max_bytes", max_bytes}});
  };
  DecodedAudio out;
  out.sample_rate = fmt.sample_rate;
  out.channels = fmt.channels;
  out.source_duration_ms = decoder->source_duration_ms();
  const int64_t estimate = decoder->estimated_frames();
  if (estimate > 0) {
    // Container durations can be estimates (VBR MP3 without a header): only a clear excess fails
    // before decoding.
    if (static_cast<double>(estimate) * ch > 2.0 * static_cast<double>(max_values)) {
      return too_large("would take");
    }
    out.samples.reserve(std::min(max_values, static_cast<size_t>(estimate) * ch + 4096 * ch));
  }
  std::vector<float> chunk(size_t{65536} * ch);
  while (true) {
    ATOMCUT_ASSIGN_OR_RETURN(size_t got, decoder->read(chunk.data(), chunk.size() / ch));
    if (got == 0) break;
    if (out.samples.size() + got * ch > max_values) return too_large("takes");
    out.samples.insert(out.samples.end(), chunk.begin(), chunk.begin() + got * ch);
  }
  return out;
}

}  // namespace atomcut

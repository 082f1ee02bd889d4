// Owners for libav objects and error text, shared by the engines that call libav in-process
// (media_probe, audio/audio_decoder). Internal: include it from .cc files only, so libav headers
// stay out of public headers.
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/dict.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
}

#include <fmt/format.h>

#include <array>
#include <string>

namespace atomcut::libav {

// av_strerror's text for a libav error code.
inline std::string error_text(int err) {
  std::array<char, AV_ERROR_MAX_STRING_SIZE> buf{};
  if (av_strerror(err, buf.data(), buf.size()) < 0) return fmt::format("libav error {}", err);
  return buf.data();
}

struct IoCloser {
  void operator()(AVIOContext* pb) const { avio_close(pb); }
};
struct FormatCloser {
  void operator()(AVFormatContext* ic) const { avformat_close_input(&ic); }
};
struct CodecFreer {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct PacketFreer {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct FrameFreer {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};

// An AVDictionary of options, freed on scope exit.
class Dict {
 public:
  Dict() = default;
  ~Dict() { av_dict_free(&d_); }
  Dict(const Dict&) = delete;
  Dict& operator=(const Dict&) = delete;
  void set(const char* key, const char* value) { av_dict_set(&d_, key, value, 0); }
  AVDictionary** get() { return &d_; }

 private:
  AVDictionary* d_ = nullptr;
};

}  // namespace atomcut::libav

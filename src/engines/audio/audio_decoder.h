// In-process audio decoder shared by the audio atoms (libavformat/libavcodec/libswresample; never
// spawns ffmpeg): any file with an audio stream (audio files, the sound of video files, any codec,
// any channel layout) becomes interleaved float PCM at a requested sample rate and channel count.
//
// Streaming with bounded memory: AudioDecoder::read() decodes only as much as it hands out (one
// packet's worth is buffered), so hours of input cost the same memory as seconds.
//
// The timeline: position 0 is the first sample the stream decodes to (after the codec's priming
// samples, e.g. AAC's 1024 or Opus' pre-skip, which libav drops), and output frame k is the
// stream's sound at k / sample_rate seconds. When the audio starts later than the container (a
// video whose sound starts after its picture), start_offset_us() says by how much. A window [start,
// start + duration) is that same range of a full decode, sample for sample (up to the resampler's
// rounding): the decoder seeks to about a second before the start, decodes (to settle the codec's
// state), drops the samples before the start and starts the resampler on the full decode's sample
// grid. Seeking is used when the container's timestamps resolve single samples (MP4, MP3, FLAC,
// Ogg, WAV, MPEG-TS, ...). Matroska and WebM round timestamps to 1 ms: windows starting in their
// first 10 minutes are decoded from the beginning (exact); later ones are seeked to within half a
// millisecond. A seek that lands after its target falls back to decoding from the beginning.
//
// Channels: 1 is the average of the input channels (LFE channels are left out, so a tone only in
// the left channel of a stereo file comes out at half amplitude); 2 keeps stereo as is, copies mono
// to both sides and downmixes more channels with libswresample's standard matrix (centre and
// surrounds at -3 dB, no LFE) scaled so no output can exceed the loudest input. A stream whose
// format changes midway (rate, channels) is followed: the resampler is flushed and rebuilt.
//
// Thread safety: an AudioDecoder is used by one thread at a time; separate instances are
// independent.
#pragma once

#include "core/error.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace atomcut {

struct PcmFormat {
  int sample_rate = 16000;  // 1000..384000
  int channels = 1;         // 1 = mono downmix (average), 2 = stereo
};

struct AudioWindow {
  int64_t start_ms = 0;                // >= 0
  std::optional<int64_t> duration_ms;  // >= 0; none = to the end of the stream
};

class AudioDecoder {
 public:
  // Opens `path`, picks its main audio stream (libav's best audio stream) and decodes far enough
  // to check that it decodes.
  // Errors (all invalid_argument unless said otherwise, details.reason in quotes): not_found (no
  // such file), permission_denied, bad `fmt` or `window`, "not_media" (libav does not recognise the
  // file, or it holds no audio or video stream at all), "no_audio_stream" (media without audio:
  // a silent video, an image), "corrupt" (a recognised file whose headers or audio do not decode).
  static Result<std::unique_ptr<AudioDecoder>> open(const std::string& path, PcmFormat fmt,
                                                    AudioWindow window = {});

  // Fills up to `max_frames` frames (interleaved floats, frames * channels values) and returns the
  // number of frames written: fewer than max_frames only at the end, 0 once the window or stream
  // is exhausted. Damaged packets are skipped as ffmpeg does; an error ("corrupt" when the audio
  // stops decoding altogether) ends the stream: later calls return 0.
  Result<size_t> read(float* out, size_t max_frames);

  // The window's length in frames when known from the container: an estimate (-1 when unknown),
  // for sizing buffers and progress.
  int64_t estimated_frames() const;

  const PcmFormat& format() const;
  int64_t source_duration_ms() const;  // of the audio stream, else the container; -1 unknown
  int source_sample_rate() const;
  int source_channels() const;
  std::string codec_name() const;  // libav's codec name: "aac", "mp3", "opus", "pcm_s16le", ...
  // Where output frame 0 lies on the container's timeline (the one ffmpeg's -ss counts on): the
  // first decoded sample's timestamp minus the container's start time, in microseconds; 0 when
  // either is unknown. About 480000 for an MP4 whose sound starts half a second after its picture.
  int64_t start_offset_us() const;

  ~AudioDecoder();
  AudioDecoder(const AudioDecoder&) = delete;
  AudioDecoder& operator=(const AudioDecoder&) = delete;

 private:
  struct Impl;
  explicit AudioDecoder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct DecodedAudio {
  std::vector<float> samples;  // interleaved, frames * channels values
  int sample_rate = 0;
  int channels = 0;
  int64_t source_duration_ms = -1;
  size_t frames() const { return channels > 0 ? samples.size() / channels : 0; }
};

// The whole window in memory (a convenience for short inputs). The errors of AudioDecoder::open
// and read, plus invalid_argument (details.reason "too_large") when the samples would exceed
// `max_bytes`.
Result<DecodedAudio> decode_audio(const std::string& path, PcmFormat fmt, AudioWindow window = {},
                                  size_t max_bytes = size_t{512} << 20);

}  // namespace atomcut

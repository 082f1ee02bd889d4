// Checks on rendered media made the way a viewer would judge them: decode the file with the ffmpeg
// CLI (no libav* in the tests), then look at the picture shown at a time, the pitch and level heard
// in a stretch of audio, the number of frames, and the loudness (EBU R128 with libebur128).
//
// Times are seconds from the start of the file as a player counts them (ffmpeg's -ss: the
// container's start_time is time 0). Every helper is thread safe (no shared state). On failure
// (the file cannot be read, ffmpeg fails, the time is outside the media) a helper records a gtest
// failure (ADD_FAILURE, with the command and ffmpeg's stderr) and returns the sentinel documented
// beside it; none throws or crashes. Decoded media is held in memory, so they suit test files a
// few seconds long (a minute of 48 kHz stereo is 23 MB; a 1080p RGB frame is 6 MB).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace atomcut::testing {

// What a file holds, counted by decoding it. Fields of a stream the file lacks keep their
// defaults (-1, 0 or ""), and so do all of them when the file cannot be probed (plus a failure).
struct StreamCounts {
  // Video: the first video stream. Frames are decoded (ffprobe -show_frames), not taken from the
  // container's header; video_frame_times_s are their presentation times (best effort timestamp)
  // in display order, relative to the file's start. video_duration_s is the span the frames cover:
  // the end of the last frame (its time plus its packet duration, or 1 / avg frame rate when the
  // packet has none) minus the time of the first. video_start_s is the first frame's time.
  int64_t video_frames = -1;
  double video_duration_s = -1;
  double video_start_s = -1;
  std::vector<double> video_frame_times_s;
  int width = 0, height = 0;  // coded size (ffprobe width / height; rotation not applied)
  std::string video_codec;    // ffprobe codec_name, e.g. "h264"
  std::string pix_fmt;        // e.g. "yuv420p"
  std::string fps_rational;   // avg_frame_rate ("25/1", "30000/1001"), else r_frame_rate

  // Audio: the first audio stream. audio_samples is the number of samples per channel the decoder
  // hands a player: ffmpeg decodes the whole stream to PCM at its own rate and the bytes are
  // counted. The demuxer's trimming applies, so for AAC in MP4/MOV the encoder's priming samples
  // (1024, signalled by the edit list) are NOT counted; FFmpeg 5.1 does not trim the padding at the
  // end, so AAC comes out rounded up to whole 1024-sample frames (at most 1023 samples long). For
  // PCM, FLAC and the like it is exact. audio_duration_s = audio_samples / audio_sample_rate.
  int64_t audio_samples = -1;
  double audio_duration_s = -1;
  // The duration the container declares: the sum of the audio packets' durations (ffprobe
  // -show_packets), leaving out the parts before time 0, which is where an MP4 edit list puts the
  // AAC priming packet (pts -1024). MP4 also shortens the last packet to the real end, so for AAC
  // in MP4 this is exact to the sample where audio_samples is rounded up to a whole frame.
  double audio_packet_duration_s = -1;
  // The audio stream's start_time relative to the file's (0 for AAC in MP4 with an edit list).
  double audio_start_s = -1;
  int audio_sample_rate = 0;
  int audio_channels = 0;
  std::string audio_codec;  // e.g. "aac"
};

// Decodes and counts `path` (ffprobe + ffmpeg, a few hundred ms for a few-second file).
StreamCounts count_streams(const std::string& path);

// An 8-bit RGB colour (full range, as swscale converts the stream's YUV to rgb24, honouring the
// stream's colour matrix and range when it signals them, else BT.601 limited range).
struct Rgb {
  int r = 0, g = 0, b = 0;
  friend bool operator==(const Rgb&, const Rgb&) = default;
};
inline constexpr Rgb kNoRgb{-1000, -1000, -1000};  // the failure sentinel: near no real colour
void PrintTo(const Rgb& c, std::ostream* os);      // "rgb(255, 0, 0)" in gtest messages
std::ostream& operator<<(std::ostream& os, const Rgb& c);

// For EXPECT_TRUE: every channel of `actual` within `tolerance` of `expected`.
::testing::AssertionResult rgb_near(const Rgb& actual, const Rgb& expected, int tolerance = 10);

// The whole frame displayed at `t_s` (the last frame whose time is <= t_s, within 0.5 ms, as a
// player shows it) as rgb24, row-major, width * height * 3 bytes; *width / *height (either may be
// null) get its size. Decoded with an accurate seek, so any t_s works, not only frame starts.
// ffmpeg's autorotation applies (a file tagged "rotate 90" comes out rotated). Fails (returns {}
// and sets the size to 0) when no frame is shown at t_s: before the first frame, or at or after
// the end of the last one.
std::vector<uint8_t> frame_rgb24(const std::string& path, double t_s, int* width, int* height);

// Mean colour (rounded) of the box x box square centred on pixel (x, y) of the frame displayed at
// t_s, clipped to the frame. kNoRgb when decoding fails or (x, y) is outside the frame.
Rgb sample_rgb(const std::string& path, double t_s, int x, int y, int box = 8);

// The same on a frame already decoded by frame_rgb24 (to sample many points of one frame).
Rgb mean_rgb(const std::vector<uint8_t>& rgb24, int width, int height, int x, int y, int box = 8);

// Mean absolute difference of two equally sized byte buffers (e.g. rgb24 frames): 0 for identical,
// 255 at most. NaN (plus a failure) when the sizes differ or both are empty.
double mean_abs_diff(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b);

// Audio of [t_s, t_s + window_s) of the first audio stream, decoded at 48000 Hz. `channel` picks
// one channel (0-based); -1 takes the mean of all channels. Windows reaching past the end of the
// audio use what there is. Decoding starts 0.1 s before t_s, so the codec's warm-up after a seek
// (AAC's overlap) does not leak into the window.

// The frequency (Hz) of the strongest component: FFT of the Hann-windowed, DC-removed signal, the
// peak bin refined by parabolic interpolation and then a Goertzel golden-section search around
// it, so a steady tone is found to well under 0.1 Hz in 0.2 s. Components below 10 Hz are ignored.
// Returns 0 for silence (RMS below -60 dBFS). NaN (plus a failure) when nothing can be decoded in
// the window or the channel does not exist.
double dominant_frequency_hz(const std::string& path, double t_s, double window_s = 0.2,
                             int channel = -1);

// RMS level in dBFS: 20 log10(sqrt(mean(x^2))) with full scale = 1.0, so a full-scale sine reads
// -3.01 dBFS. -infinity for digital silence; NaN (plus a failure) as above.
double rms_dbfs(const std::string& path, double t_s, double window_s, int channel = -1);

// EBU R128 / ITU-R BS.1770 measurements of the whole first audio stream, decoded at the file's
// own rate and channel count, with libebur128's default channel map (L, R, C, LFE ignored, Ls,
// Rs: FFmpeg's 5.1 order; a mono file counts as one channel, like ffmpeg's ebur128 filter).
struct Loudness {
  double integrated_lufs = 0;   // -infinity when the audio is shorter than one 400 ms block
  double lra = 0;               // loudness range, LU
  double true_peak_dbtp = 0;    // max over channels, 4x oversampled (libebur128), dBTP
  double sample_peak_dbfs = 0;  // max |sample| over channels, dBFS
};
// NaN in every field (plus a failure) when the audio cannot be decoded or measured.
Loudness measure_loudness(const std::string& path);

}  // namespace atomcut::testing

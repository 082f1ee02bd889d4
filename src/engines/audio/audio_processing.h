// Audio processing for the audio atoms: basic clean (preprocess), voice enhance and segmenting.
// Clean and enhance are ffmpeg filter chains built here from validated, named options (a client
// never passes filter text or paths to ffmpeg) and run with engines/ffmpeg/ffmpeg_runner; segments
// are cut in-process with the audio decoder (sample-accurate) and written as WAV.
//
// Both chains start with one in-process pass over the input (analyze_audio): the spectrum of its
// quietest stretches is the noise profile handed to ffmpeg's afftdn denoiser as its noise floor
// and band offsets, and the level of its loud stretches sets the voice compressor's threshold.
// Why: afftdn models the noise as a fixed per-bin floor (nf, -80..-20 dB) shaped by 15 band
// offsets; with nf left at its default and its own tracking on (tn=1), it changed the SNR proxy of
// the test speech at 5 dB SNR by less than 1 dB, and a white floor misses coloured noise. The
// profile assumes stationary noise and an input with some pauses: without any, its softest speech
// is taken for noise and lowered too. afftdn delays its output by 2 * (rate / 80) samples and
// drops that much of the end; the chains pad and trim so the output lines up with the input (to
// the sample, measured) and keeps its length.
//
// Every ffmpeg command reads only the given input (file protocol only, first audio stream, no
// video, subtitles, data, metadata or chapters) and writes only the given output (WAV pcm_s16le or
// FLAC s16, the muxer named explicitly), or nothing (the measuring pass of preprocess).
//
// Measured (tests/unit/audio_processing_test.cc, ffmpeg 5.1): see the comments of preprocess_audio
// and voice_enhance.
//
// No HTTP types, no blob store: every function reads a local input file and writes a local output
// file; the audio service stores and registers the result. Thread safe (no shared state).
#pragma once

#include "core/error.h"
#include "engines/audio/audio_decoder.h"
#include "engines/ffmpeg/ffmpeg_runner.h"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace atomcut {

// ---- Input analysis (shared by preprocess and voice enhance) ---------------------------------

// ffmpeg afftdn's noise profile has 15 bands, centred (fixed by afftdn) at 80 120 180 270 410 620
// 930 1400 2100 3150 4750 7100 10700 16000 24000 Hz.
inline constexpr int kNoiseProfileBands = 15;

struct AudioAnalysis {
  int sample_rate = 0;  // the rate and channels it was measured at (the chain's processing ones)
  int channels = 0;
  int64_t frames = 0;
  bool has_signal = false;  // false: digital silence throughout (or empty)
  // Level of the loud blocks (the power mean of the 100 ms blocks at least 6 dB above the noise
  // and within 20 dB of the 95th percentile block): for speech, roughly its active level.
  double active_level_dbfs = -200;
  // Broadband RMS of the quietest 10% of the (not digitally silent) 100 ms blocks.
  double noise_level_dbfs = -200;
  // The noise's power per FFT bin at afftdn's band centres, on afftdn's scale (the variance of a
  // white noise with the same power per bin, in dB, minus 3.01): afftdn's `nf` for that band.
  std::array<double, kNoiseProfileBands> noise_band_db{};
  // The levels (dBFS) of the blocks counted in active_level_dbfs, for the compressor's make-up
  // gain (at most 100000 of them, evenly spread). Not in to_json.
  std::vector<float> active_block_levels_db;
};

// Decodes `input` once at `fmt` (streaming, bounded memory) and measures it. Errors: those of
// AudioDecoder::open / read (not_found, invalid_argument with reason not_media /
// no_audio_stream / corrupt).
Result<AudioAnalysis> analyze_audio(const std::string& input, PcmFormat fmt);

// {"sample_rate", "channels", "has_signal", "active_level_dbfs", "noise_level_dbfs",
// "noise_band_db": [...]} (levels rounded to 0.01 dB) for report meta.
nlohmann::json to_json(const AudioAnalysis& a);

// ---- Preprocess (spec: preprocess_basic_clean) -----------------------------------------------

struct PreprocessOptions {
  bool dc_removal = true;   // 2-pole high-pass at 10 Hz (its step response integrates to 0)
  double highpass_hz = 80;  // 0 = off, else 20..1000 (2-pole Butterworth, 12 dB/octave)
  double lowpass_hz = 0;    // 0 = off, else 1000..24000; left out at >= 0.45 x output rate
  // off | light | medium | strong: afftdn depth 6 / 12 / 20 dB, over-subtraction 0 / 1 / 3 dB
  std::string denoise = "light";
  double peak_dbfs = -1.0;         // peak-safe level: the output's sample peak, -30..0
  std::optional<int> sample_rate;  // output rate, 8000..192000; default: the input's
  std::optional<int> channels;     // 1 | 2; default: the input's (more than 2 -> 2)
  std::string format = "wav";      // wav (pcm_s16le) | flac (s16)
};

// invalid_argument naming the field (details.field "ffmpeg_opts.<key>") for a bad value.
Status validate(const PreprocessOptions& o);

// Strict: unknown keys, wrong types and out-of-range values are invalid_argument naming the field
// (details.field "ffmpeg_opts.<key>"). null or absent -> defaults; anything else that is not an
// object -> invalid_argument (details.field "ffmpeg_opts").
Result<PreprocessOptions> preprocess_options_from_json(const nlohmann::json& j);
nlohmann::json to_json(const PreprocessOptions& o);

struct ProcessReport {
  std::vector<std::string> argv;   // the ffmpeg command(s) run, last one
  std::string filter_chain;        // the -af chain of the final pass (without measuring filters)
  double input_peak_dbfs = -200;   // sample peak of the input (its decoded samples)
  double output_peak_dbfs = -200;  // sample peak of the output, before 16-bit rounding
  double gain_db = 0;              // level change applied for the peak target
  int sample_rate = 0;
  int channels = 0;
  int64_t duration_ms = 0;
  std::string codec;  // pcm_s16le | flac
  // Also kept: "analysis" (to_json(AudioAnalysis)), "passes", "wall_seconds", and per operation
  // "peak_gain_limited" / "lowpass_skipped" /
  // "denoise_skipped" (preprocess) or "options" (voice enhance).
  nlohmann::json extra = nlohmann::json::object();
};

// Cleans `input` into `output` (format from options): channel/rate conversion, DC removal,
// high-pass, low-pass, afftdn with the measured noise profile, then a gain that puts the sample
// peak at options.peak_dbfs, up or down (at most +40 dB: digital silence and near-silence are not
// blown up; extra.peak_gain_limited says so). Three passes: analyze_audio (when denoising), ffmpeg
// measuring the cleaned peak (astats, no output), ffmpeg writing the output with the gain.
// on_progress of `run` sees both ffmpeg passes; the timeout applies to each.
// A DC offset present from the first sample leaves a transient of ~50 ms at the start while the
// 10 Hz high-pass settles; a large offset (0.3 of full scale) can make that transient the peak.
// Measured: a DC offset of 0.3 leaves a mean of 8e-5; 30 Hz rumble -17.2 dB at highpass_hz 80
// (12 dB asserted); 1 kHz unchanged (< 0.01 dB); output peak within 0.001 dB of the target, up
// (+38 dB) or down; pink noise 30 dB under 1 kHz bursts lowered by 5.8 / 8.5 / 12.0 dB (light /
// medium / strong) with the bursts unchanged (< 0.01 dB) and in place (1 sample).
// Errors: invalid_argument (bad options; input has no audio / is not media / corrupt, reason as
// audio_decoder's), not_found, the ffmpeg_error of a failed run.
Result<ProcessReport> preprocess_audio(const std::string& input, const std::string& output,
                                       const PreprocessOptions& options,
                                       const FfmpegRunOptions& run = {});

// ---- Voice enhance (spec: Voice Enhance Engine) -----------------------------------------------

struct VoiceEnhanceOptions {
  std::string mode = "default";    // default | podcast | vlog | phone_recording
  double aggressiveness = 0.5;     // 0..1: denoise depth (and over-subtraction)
  bool preserve_ambience = false;  // lighter denoise that keeps some room tone
};

// invalid_argument naming the field for a bad mode or aggressiveness.
Status validate(const VoiceEnhanceOptions& o);

// Strict parser of {"mode", "aggressiveness", "preserve_ambience"} (null or absent -> defaults;
// unknown keys, wrong types, bad values -> invalid_argument naming the field).
Result<VoiceEnhanceOptions> voice_enhance_options_from_json(const nlohmann::json& j);
nlohmann::json to_json(const VoiceEnhanceOptions& o);

// The ffmpeg -af chain for the options (resample to 48 kHz, high/low-pass, spectral denoise,
// EQ, de-essing, compression, limiter), tuned per mode, for an input measured as `a` (the
// denoiser's profile and the compressor's threshold come from it). The chain keeps the speech
// level (within 3 dB in the tests): loudness normalisation is a separate step.
std::string voice_enhance_filter_chain(const VoiceEnhanceOptions& o, const AudioAnalysis& a);

// The same for a nominal input (speech at -20 dBFS active level over white noise at -60 dBFS):
// what the chain looks like; voice_enhance() measures the real input.
std::string voice_enhance_filter_chain(const VoiceEnhanceOptions& o);

// Runs the chain: `input` -> `output` (WAV pcm_s16le at 48 kHz, the input's channels up to 2).
// Two passes: analyze_audio at 48 kHz, then ffmpeg. Errors as preprocess_audio.
// Measured on real speech (three asterisk prompts, 8 kHz, 500 ms pauses) plus noise at 5 dB SNR
// (active speech over noise), SNR proxy = level of the speech frames minus level of the pauses
// (6.3 dB before for white noise, 5.8 for pink), gain = proxy after - proxy before, speech = level
// of the speech frames against the clean speech's:
//   mode             aggr  ambience | pink: gain  speech | white: gain  speech
//   default          0.5   no       |     +15.2  -1.2   |      +8.7   -0.8
//   podcast          0.5   no       |     +14.7  -1.0   |      +7.1   -0.6
//   vlog             0.5   no       |     +14.7  -1.3   |      +8.0   -0.9
//   phone_recording  0.5   no       |     +17.0  -1.6   |      +8.6   -1.1
//   default          0.1   no       |      +7.9  -1.0   |      +2.5   -0.6
//   default          0.9   no       |     +24.8  -1.4   |     +16.6   -1.1
//   default          0.9   yes      |      +8.3  -1.0   |      +3.2   -0.7
// The compressor gives back 3 to 6 dB of what the denoiser gains (it lifts the pauses by its
// make-up gain while taming the speech peaks); the presence EQ about 1 dB on white noise.
Result<ProcessReport> voice_enhance(const std::string& input, const std::string& output,
                                    const VoiceEnhanceOptions& options,
                                    const FfmpegRunOptions& run = {});

// "voice_enhance_ffmpeg_v1 (ffmpeg <version>)"
std::string voice_enhance_backend_version();

// ---- Segmenting (spec: segment_ffmpeg) --------------------------------------------------

inline constexpr int64_t kMaxSegments = 10000;

struct SegmentSpan {
  int index = 0;
  int64_t start_frame = 0;  // at the source's sample rate
  int64_t end_frame = 0;    // exclusive
  int64_t start_ms = 0;     // start_frame in ms, rounded down
  int64_t end_ms = 0;       // end_frame in ms, rounded up
};

// Segments of `segment_seconds` (0.1..86400) that each start `segment_seconds - overlap_seconds`
// after the previous one (0 <= overlap < segment); the last one ends at total_frames. Boundaries
// are whole samples: a segment is round(segment_seconds * rate) frames, the overlap
// round(overlap_seconds * rate). The last segment may be shorter, and always holds samples the
// one before does not. invalid_argument naming the field (details.field "segment_seconds",
// "overlap_seconds", "sample_rate", "total_frames") for bad numbers, including no audio
// (total_frames 0); more than kMaxSegments segments is invalid_argument too
// (details.segment_count).
Result<std::vector<SegmentSpan>> plan_segments(int64_t total_frames, int sample_rate,
                                               double segment_seconds, double overlap_seconds);

struct SourceAudioInfo {
  int sample_rate = 0;
  int channels = 0;          // written channels (the source's, more than 2 -> 2)
  int64_t total_frames = 0;  // exact, counted by decoding
};

// Decodes the whole input once to count its samples exactly. Errors as AudioDecoder::open/read.
Result<SourceAudioInfo> audio_source_info(const std::string& input);

// Writes [span.start_frame, span.end_frame) of `input` (at its own rate, `info.channels`) to
// `output` as WAV pcm_s16le (RIFF header written here, little-endian; float samples x 32768,
// rounded, clipped, so 16-bit sources come back bit-exact). It seeks to the span (a decode of about
// a second before it), so it costs the same wherever the span is. The samples are those of a full
// decode, exactly for PCM, FLAC, MP3 and for spans starting in the first 2 s; AAC decoded after a
// seek differs in a few samples by 1 LSB, and in its last 1024-sample frame by up to ~180 LSB
// (audio_decoder's windows; measured on a 6 s AAC sweep): prefer write_segments_wav, which has
// neither. Errors: those of the decoder;
// invalid_argument for a span outside the audio or a WAV over 4 GiB (reason "too_large");
// data_loss when the input decodes to fewer samples than `info` counted; internal when `output`
// cannot be written. A partial output is removed.
Status write_segment_wav(const std::string& input, const SourceAudioInfo& info,
                         const SegmentSpan& span, const std::string& output);

// Writes all `spans` (in order of start, as plan_segments gives them) to `outputs` (same size) in
// one sequential decode of the input: sample for sample the full decode for every codec, so the
// segments laid end to end minus their overlaps are the source. Keeps at most 16 files open
// (deeper overlaps take further passes). On any error every output it wrote is removed. Errors
// as write_segment_wav, plus invalid_argument for spans out of order or a size mismatch.
Status write_segments_wav(const std::string& input, const SourceAudioInfo& info,
                          const std::vector<SegmentSpan>& spans,
                          const std::vector<std::string>& outputs);

}  // namespace atomcut

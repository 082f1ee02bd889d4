// The Audio Semantic Timeline engine (spec "Audio Semantic Timeline"): a timeline of speech, music,
// silence and other sound with EBU R128 loudness, from PCM. Pure signal analysis (no I/O, no HTTP
// types). Beats and transcription are not made here (the audio service adds them from
// beat_tracker and asr_pocketsphinx).
//
// How (audio_semantic.cc):
//  - Loudness is measured on the input as given (every channel, its rate) by LoudnessMeter
//    (loudness.h): integrated loudness, LRA and true peak exactly as ffmpeg's ebur128 filter
//    reports them for the same PCM (within 0.01 LU and 0.05 dB, measured), the curve of
//    loudness_window_ms windows and each event's integrated loudness.
//  - The classifier works on a mono 16 kHz version (channel average, polyphase windowed-sinc
//    resampler) in 10 ms frames: webrtc-audio-processing's voice activity decision, energy, and
//    from a 32 ms window (zero-padded 1024-point FFT) spectral flux, flatness, 12 band levels,
//    spectral peaks and the autocorrelation pitch and harmonicity, all within 94 Hz..4 kHz so that
//    telephone-band and full-band recordings look alike. About 56 bytes per frame are kept.
//  - Silence: the frame energy over 50 ms under an adaptive threshold (38 dB under the file's
//    95th-percentile energy, kept within -60..-45 dBFS). Sounds under 60 ms between silences join
//    them; silences shorter than min_silence_ms join the sound around them.
//  - Every 50 ms, 12 features of the surrounding 2 s (silent frames left out): low-energy frame
//    ratio, energy spread, flux mean and variation, flatness, voice activity ratio, persistence of
//    spectral peaks (held notes), pitch held steady vs gliding by 1..8% per 20 ms (intonation),
//    voiced ratio, 2..6 Hz (syllabic) modulation and rhythmic regularity (autocorrelation of the
//    flux at 0.2..1 s). A small neural network (one hidden layer of 8 units) turns them into
//    speech / music / other probabilities.
//  - Each stretch of sound between silences is decoded with a Viterbi pass over those
//    probabilities (a change of kind costs as much as a strong contrary second of evidence),
//    kinds lasting under 1 s join a neighbour, and each change is moved within +-1 s to where
//    1 s windows on either side best match the kinds before and after it plus the largest change
//    of the spectrum (a splice shows to a frame or two).
//  - Confidence: the mean probability of the event's kind over its frames; for silence, how far
//    under the threshold it lies (1 at 20 dB or more); with include_speech_music=false, a sound
//    event's confidence is how far over the threshold it lies.
//
// The network was fitted offline (not at run time) on 2 s and 1 s windows of two thirds of
// Debian's asterisk-core-sounds-en-wav prompts (one speaker, 8 kHz telephone recordings; the
// third left out is what the tests use), the five recordings of asterisk-moh-opsound-wav
// (music), and ffmpeg-generated noises, hum and tones (other). Fitting it on four of the music
// recordings and testing on the fifth gave 93..99% of the windows right; synthesised speech
// (flite, a voice it never saw) 98%. The tests' music excerpts come from those same five
// recordings (no other real music is installed here): the leave-one-out figure is the one to
// trust for unseen music.
//
// Measured (tests/unit/audio_semantic_test.cc, files joined from held-out real speech, real
// music, unseen noises and silence): 98.4..99.8% of 10 ms frames of the right kind; changes at a
// silence within 20 ms of the truth; straight changes from one kind to another within 250 ms
// but one of 21 (400 ms: a music excerpt opening on a note's tail and a pause). Not measured:
// speech over music, singing, full-band speech recordings (only telephone-band and synthesised
// speech are available here). Speed (bench/audio_analysis_bench.cc, one core): about 240x real time
// for a 10-minute AAC 48 kHz stereo file, decoding included (ffmpeg's ebur128 filter alone: 640x).
//
// Streaming with bounded memory: push() any number of chunks, then finish(). Memory is bounded by
// the per-frame features (about 64 bytes per 10 ms with the loudness sub-blocks: 23 MB per hour),
// not by the audio.
//
// Thread safety: one analyzer per thread; separate instances are independent.
#pragma once

#include "core/error.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace atomcut {

struct SemanticOptions {
  // false: events are only "silence" and "other" (sound), no speech/music decision.
  bool include_speech_music = true;
  // Silences shorter than this are not events: they join their neighbours. 0..600000.
  int64_t min_silence_ms = 300;
  // Length of each window of the loudness curve (SemanticAnalysis::loudness). 100..600000.
  int64_t loudness_window_ms = 1000;
};

struct SemanticEvent {
  std::string kind;  // speech | music | silence | other
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  double confidence = 0;  // 0..1
  // Integrated loudness (EBU R128, gated: LoudnessMeter::integrated_lufs) of the event's audio;
  // an event under 400 ms is measured as one block (its mean square). nullopt when everything is
  // under the -70 LUFS gate (digital silence, most silences).
  std::optional<double> loudness_lufs;
};

struct LoudnessWindow {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  // Integrated loudness of the window (as for events: a window under 400 ms is one block);
  // nullopt when all gated out.
  std::optional<double> lufs;
};

struct SemanticAnalysis {
  int64_t duration_ms = 0;
  // Contiguous, ascending, covering [0, duration_ms) exactly; neighbours differ in kind.
  std::vector<SemanticEvent> events;
  std::vector<LoudnessWindow> loudness;   // one per loudness_window_ms (the last may be shorter)
  std::optional<double> integrated_lufs;  // whole input; nullopt for silence
  double true_peak_dbtp = -200;           // whole input
  double loudness_range_lu = 0;
  // "atomcut_semantic_v1 (webrtc-audio-processing 0.3, libebur128 1.2.6)"
  std::string backend_version;
};

class SemanticAnalyzer {
 public:
  // `sample_rate` 8000..192000, `channels` 1..8 (interleaved input). Loudness is measured on the
  // input as given (all channels, its rate), exactly as ffmpeg's ebur128 filter would; the
  // classifier works on a mono 16 kHz version made internally.
  // invalid_argument: rate, channels or options out of range.
  static Result<std::unique_ptr<SemanticAnalyzer>> create(int sample_rate, int channels,
                                                          const SemanticOptions& options = {});
  // Appends `frames` interleaved frames (nominally in [-1, 1]).
  // invalid_argument: null with frames > 0, a non-finite sample (nothing of that call is taken);
  // failed_precondition after finish().
  Status push(const float* interleaved, size_t frames);
  // The analysis of everything pushed (callable once; failed_precondition after that). Empty
  // input: duration 0, no events, no loudness windows. duration_ms is the input's length rounded
  // down to the millisecond; events use a 10 ms grid (the last one ends at duration_ms).
  Result<SemanticAnalysis> finish();

  ~SemanticAnalyzer();
  SemanticAnalyzer(const SemanticAnalyzer&) = delete;
  SemanticAnalyzer& operator=(const SemanticAnalyzer&) = delete;

 private:
  struct Impl;
  explicit SemanticAnalyzer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Convenience over the class for PCM already in memory (the errors of create, push and finish).
Result<SemanticAnalysis> analyse_semantic(const float* interleaved, size_t frames, int sample_rate,
                                          int channels, const SemanticOptions& options = {});

// "atomcut_semantic_v1 (webrtc-audio-processing 0.3, libebur128 <run-time version>)".
std::string semantic_backend_version();

}  // namespace atomcut

#include "engines/audio/audio_semantic.h"

#include "engines/audio/fft.h"

#include "engines/audio/loudness.h"

#include <webrtc/common.h>
#include <webrtc/modules/audio_processing/include/audio_processing.h>
#include <webrtc/modules/interface/module_common_types.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <utility>

namespace atomcut {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kRate = 16000;    // the classifier's rate
constexpr int kHop = 160;       // 10 ms frames
constexpr int kWindow = 512;    // 32 ms analysis window, centred on the frame
constexpr int kFftSize = 1024;  // zero-padded: 15.6 Hz bins, and a linear autocorrelation
constexpr int kBins = kFftSize / 2 + 1;
constexpr int kMaxBin = 256;    // 4 kHz: features ignore what telephone-band audio lacks
constexpr int kMinPeakBin = 6;  // 94 Hz
constexpr int kMinLag = 40;     // 400 Hz
constexpr int kMaxLag = 320;    // 50 Hz

// --- resampling to 16 kHz mono
// --------------------------------------------------------------------

// A polyphase windowed-sinc resampler from any rate to 16 kHz (exact rational ratio, Blackman
// window, 6 zero crossings each side, cutoff at 46% of the lower rate). Streaming.
class Resampler {
 public:
  explicit Resampler(int in_rate) {
    const int g = std::gcd(in_rate, kRate);
    up_ = kRate / g;
    down_ = in_rate / g;
    phases_ = static_cast<int>(std::min<int64_t>(up_, 1024));
    const double fc = 0.46 * std::min(1.0, static_cast<double>(up_) / down_);  // cycles/sample
    half_ = static_cast<int>(std::ceil(6 / (2 * fc)));
    table_.resize(static_cast<size_t>(phases_) * 2 * half_);
    for (int p = 0; p < phases_; ++p) {
      const double frac = static_cast<double>(p) / phases_;
      for (int k = -half_ + 1; k <= half_; ++k) {
        const double t = k - frac;  // input samples from the output instant
        const double x = 2 * fc * t;
        const double sinc = std::abs(x) < 1e-12 ? 1.0 : std::sin(kPi * x) / (kPi * x);
        const double u = (t + half_) / (2.0 * half_);  // 0..1 across the window
        const double w = u <= 0 || u >= 1
                             ? 0.0
                             : 0.42 - 0.5 * std::cos(2 * kPi * u) + 0.08 * std::cos(4 * kPi * u);
        table_[static_cast<size_t>(p) * 2 * half_ + (k + half_ - 1)] =
            static_cast<float>(2 * fc * sinc * w);
      }
    }
    buf_.assign(half_, 0.0f);  // the past before the first sample is silence
    buf_start_ = -half_;
  }

  // Appends the 16 kHz output for `n` more input samples to `out`.
  void push(const float* in, size_t n, std::vector<float>& out) {
    buf_.insert(buf_.end(), in, in + n);
    in_count_ += static_cast<int64_t>(n);
    produce(out, buf_start_ + static_cast<int64_t>(buf_.size()));
  }

  // The rest of the output (every output instant before the end of the input).
  void flush(std::vector<float>& out) {
    buf_.insert(buf_.end(), half_ + 1, 0.0f);
    produce(out, buf_start_ + static_cast<int64_t>(buf_.size()));
  }

 private:
  void produce(std::vector<float>& out, int64_t available_end) {
    const int64_t total_out = in_count_ == 0 ? 0 : ((in_count_ * up_ - 1) / down_) + 1;
    while (next_ < total_out) {
      const int64_t pos = next_ * down_;
      const int64_t i = pos / up_;
      if (i + half_ >= available_end) break;
      const int64_t rem = pos % up_;
      const int p = phases_ == up_ ? static_cast<int>(rem) : static_cast<int>(rem * phases_ / up_);
      const float* h = &table_[static_cast<size_t>(p) * 2 * half_];
      const float* x = &buf_[static_cast<size_t>(i - half_ + 1 - buf_start_)];
      float acc = 0;
      for (int k = 0; k < 2 * half_; ++k) acc += h[k] * x[k];
      out.push_back(acc);
      ++next_;
    }
    // Drop the input no later output needs.
    const int64_t keep_from = (next_ * down_) / up_ - half_ + 1;
    if (keep_from - buf_start_ > 8192) {
      buf_.erase(buf_.begin(), buf_.begin() + (keep_from - buf_start_));
      buf_start_ = keep_from;
    }
  }

  int64_t up_ = 1, down_ = 1;
  int phases_ = 1;
  int half_ = 1;
  std::vector<float> table_;
  std::vector<float> buf_;
  int64_t buf_start_ = 0;
  int64_t in_count_ = 0;
  int64_t next_ = 0;
};

// --- per-frame features
// ----------------------------------------------------------------------------

// What the classifier keeps of each 10 ms frame (40 bytes).
struct FrameFeatures {
  float energy_db = -120;  // mean square of the frame's 160 samples, dBFS
  float flux = 0;          // mean positive change of the log band energies (dB), 94 Hz..4 kHz
  float flatness = 0;      // spectral flatness 94 Hz..4 kHz (0 tonal .. 1 white)
  float harmonicity = 0;   // normalised autocorrelation peak at 50..400 Hz (0..1)
  float lag = 0;           // its lag in samples at 16 kHz (interpolated; 0 when none)
  uint8_t vad = 0;         // webrtc's voice activity decision
  uint8_t peak_count = 0;
  // Log energies of 12 bands from 94 Hz to 4 kHz, 0.5 dB steps from -110 dB (kBandOffsetDb).
  std::array<uint8_t, 12> bands{};
  uint64_t peaks[2] = {0, 0};  // spectral peaks, bit (bin - kMinPeakBin) / 2 (31 Hz steps)
};

struct ApmDeleter {
  void operator()(webrtc::AudioProcessing* p) const { delete p; }
};

class FrameAnalyzer {
 public:
  FrameAnalyzer() : fft_(kFftSize) {
    webrtc::Config config;
    config.Set<webrtc::ExperimentalAgc>(new webrtc::ExperimentalAgc(false));
    apm_.reset(webrtc::AudioProcessing::Create(config));
    if (apm_) {
      apm_->voice_detection()->Enable(true);
      apm_->voice_detection()->set_likelihood(webrtc::VoiceDetection::kLowLikelihood);
      apm_->voice_detection()->set_frame_size_ms(10);
    }
    window_.resize(kWindow);
    for (int i = 0; i < kWindow; ++i) {
      window_[i] = static_cast<float>(0.5 - 0.5 * std::cos(2 * kPi * (i + 0.5) / kWindow));
    }
    // The window's own autocorrelation, to undo its taper in the harmonicity measure.
    window_acf_.resize(kMaxLag + 2);
    for (int lag = 0; lag <= kMaxLag + 1; ++lag) {
      double s = 0;
      for (int i = 0; i + lag < kWindow; ++i) s += window_[i] * window_[i + lag];
      window_acf_[lag] = static_cast<float>(s);
    }
    for (int lag = kMaxLag + 1; lag >= 0; --lag) window_acf_[lag] /= window_acf_[0];
    // Band edges for the flux: 24 bands, log-spaced from 94 Hz to 4 kHz.
    for (int b = 0; b <= kBands; ++b) {
      band_edge_[b] = static_cast<int>(
          std::lround(kMinPeakBin * std::pow(static_cast<double>(kMaxBin) / kMinPeakBin,
                                             static_cast<double>(b) / kBands)));
    }
    for (int b = 1; b <= kBands; ++b) {
      band_edge_[b] = std::max(band_edge_[b], band_edge_[b - 1] + 1);
    }
  }

  bool ok() const { return apm_ != nullptr; }

  // `win` holds kWindow samples centred on the frame; `frame` its kHop samples.
  FrameFeatures analyse(const float* win, const float* frame) {
    FrameFeatures f;
    double sq = 0;
    for (int i = 0; i < kHop; ++i) sq += static_cast<double>(frame[i]) * frame[i];
    f.energy_db = static_cast<float>(10 * std::log10(sq / kHop + 1e-12));

    // Voice activity (webrtc, 16 kHz int16).
    audio_frame_.sample_rate_hz_ = kRate;
    audio_frame_.num_channels_ = 1;
    audio_frame_.samples_per_channel_ = kHop;
    for (int i = 0; i < kHop; ++i) {
      const float v = std::clamp(frame[i] * 32768.0f, -32768.0f, 32767.0f);
      audio_frame_.data_[i] = static_cast<int16_t>(std::lrint(v));
    }
    if (apm_->ProcessStream(&audio_frame_) == 0) {
      f.vad = apm_->voice_detection()->stream_has_voice() ? 1 : 0;
    }

    // Spectrum (zero-padded to kFftSize).
    std::fill(real_.begin(), real_.end(), 0.0f);
    for (int i = 0; i < kWindow; ++i) real_[i] = win[i] * window_[i];
    fft_.forward(real_.data(), spec_.data());
    std::array<float, kBins> power;
    for (int k = 0; k < kBins; ++k) {
      power[k] = spec_[2 * k] * spec_[2 * k] + spec_[2 * k + 1] * spec_[2 * k + 1];
    }

    // Flatness over 94 Hz..4 kHz.
    double log_sum = 0, lin_sum = 0;
    for (int k = kMinPeakBin; k <= kMaxBin; ++k) {
      const double p = power[k] + 1e-10;
      log_sum += std::log(p);
      lin_sum += p;
    }
    const int n = kMaxBin - kMinPeakBin + 1;
    f.flatness = static_cast<float>(std::exp(log_sum / n) / (lin_sum / n));

    // Flux over log band energies; the band pairs' levels.
    std::array<float, kBands> bands;
    std::array<double, kBands> band_energy;
    float flux = 0;
    for (int b = 0; b < kBands; ++b) {
      double e = 0;
      for (int k = band_edge_[b]; k < band_edge_[b + 1]; ++k) e += power[k];
      band_energy[b] = e;
      bands[b] = static_cast<float>(10 * std::log10(e + 1e-9));
      flux += std::max(0.0f, bands[b] - prev_bands_[b]);
    }
    f.flux = first_ ? 0.0f : flux / kBands;
    first_ = false;
    for (int b = 0; b < kBands; b += 2) {
      // Relative to a full-scale sine's peak bin (the window sums to 256).
      const double db =
          10 * std::log10((band_energy[b] + band_energy[b + 1]) / (128.0 * 128.0) + 1e-12);
      f.bands[b / 2] = static_cast<uint8_t>(std::clamp(std::lround(2 * (db + 110)), 0L, 255L));
    }
    prev_bands_ = bands;

    // Spectral peaks: local maxima 6 dB above their +-6 bin (+-94 Hz) neighbourhood and within
    // 40 dB of the frame's largest.
    float top = 0;
    for (int k = kMinPeakBin; k <= kMaxBin; ++k) top = std::max(top, power[k]);
    const float floor = std::max(top * 1e-4f, 1e-7f);
    for (int k = kMinPeakBin; k <= kMaxBin; ++k) {
      const float p = power[k];
      if (p < floor || p <= power[k - 1] || p < power[k + 1]) continue;
      float around = 0;
      for (int j = k - 6; j <= k + 6; ++j) around += power[j];
      if (p < 4 * (around - p) / 12) continue;
      const int bit = (k - kMinPeakBin) / 2;
      f.peaks[bit / 64] |= uint64_t{1} << (bit % 64);
      ++f.peak_count;
    }

    // Harmonicity: the normalised autocorrelation of the band 94 Hz..4 kHz (the transform of the
    // power spectrum, which is real and even).
    for (int k = 0; k < kFftSize; ++k) {
      const int bin = k <= kFftSize / 2 ? k : kFftSize - k;
      real_[k] = bin >= kMinPeakBin && bin <= kMaxBin ? power[bin] : 0.0f;
    }
    fft_.forward(real_.data(), spec_.data());
    const float r0 = spec_[0];
    if (r0 > 1e-9f) {
      std::array<float, kMaxLag + 2> r;
      for (int lag = kMinLag - 1; lag <= kMaxLag + 1; ++lag) {
        r[lag] = spec_[2 * lag] / (r0 * window_acf_[lag]);
      }
      float best = 0;
      int best_lag = 0;
      for (int lag = kMinLag; lag <= kMaxLag; ++lag) {
        if (r[lag] > best && r[lag] >= r[lag - 1] && r[lag] >= r[lag + 1]) {
          best = r[lag];
          best_lag = lag;
        }
      }
      if (best_lag > 0) {
        const float a = r[best_lag - 1], b = r[best_lag], c = r[best_lag + 1];
        const float d = a - 2 * b + c;
        const float shift = d < 0 ? std::clamp(0.5f * (a - c) / d, -0.5f, 0.5f) : 0.0f;
        f.harmonicity = std::min(1.0f, best);
        f.lag = static_cast<float>(best_lag) + shift;
      }
    }
    return f;
  }

 private:
  static constexpr int kBands = 24;
  std::unique_ptr<webrtc::AudioProcessing, ApmDeleter> apm_;
  webrtc::AudioFrame audio_frame_;
  RealFft fft_;
  std::vector<float> window_;
  std::vector<float> window_acf_;
  std::array<float, kFftSize> real_{};
  std::array<float, 2 * kBins> spec_{};
  std::array<int, kBands + 1> band_edge_{};
  std::array<float, kBands> prev_bands_{};
  bool first_ = true;
};

// Mono input at any rate -> 16 kHz -> one FrameFeatures per 10 ms. Streaming.
class FeatureExtractor {
 public:
  explicit FeatureExtractor(int in_rate) : resampler_(in_rate) {
    // The first window is centred on the first frame: the samples before the start are zeros.
    sig_.assign(kWindow / 2 - kHop / 2, 0.0f);
  }
  bool ok() const { return analyzer_.ok(); }

  void push(const float* mono, size_t n) {
    resampler_.push(mono, n, sig_);
    drain(false);
  }
  void finish() {
    resampler_.flush(sig_);
    drain(true);
  }
  std::vector<FrameFeatures> take_frames() { return std::move(frames_); }

 private:
  // Analyses every frame whose window is complete (at the end: every frame that has a sample).
  void drain(bool at_end) {
    constexpr size_t kLead = kWindow / 2 - kHop / 2;  // window samples before the frame
    if (at_end) {
      const size_t have = sig_.size() - pos_;
      if (have > kLead) {
        const size_t frames = (have - kLead + kHop - 1) / kHop;
        sig_.resize(pos_ + (frames - 1) * kHop + kWindow, 0.0f);
        tail_frames_ = frames;
      }
    }
    while (pos_ + kWindow <= sig_.size() && (!at_end || tail_frames_ > 0)) {
      frames_.push_back(analyzer_.analyse(&sig_[pos_], &sig_[pos_ + kLead]));
      pos_ += kHop;
      if (at_end) --tail_frames_;
    }
    if (pos_ > 16384) {
      sig_.erase(sig_.begin(), sig_.begin() + static_cast<std::ptrdiff_t>(pos_));
      pos_ = 0;
    }
  }

  Resampler resampler_;
  FrameAnalyzer analyzer_;
  std::vector<float> sig_;
  size_t pos_ = 0;  // start of the next frame's window in sig_
  size_t tail_frames_ = 0;
  std::vector<FrameFeatures> frames_;
};

// --- silence -------------------------------------------------------------------------------------

// Silence is decided per frame on the energy (mean square, dB re full scale, of the 16 kHz mono
// signal) averaged over 50 ms (5 frames): below
// clamp(loud - kSilenceBelowLoudDb, kSilenceFloorDb, kSilenceCeilingDb), where `loud` is the 95th
// percentile of those energies over the input (its loud passages). So room tone under -60 dBFS is
// silence whatever the level of the rest, a quiet passage of music 30 dB under its loud ones is
// not, and a whole file of soft sound (-50 dBFS) is sound.
constexpr float kSilenceFloorDb = -60;    // always silence below this
constexpr float kSilenceCeilingDb = -45;  // never silence above this
constexpr float kSilenceBelowLoudDb = 38;

struct SilenceMask {
  std::vector<uint8_t> silent;
  std::vector<float> smoothed_db;
  float threshold_db = kSilenceFloorDb;
};

SilenceMask find_silence(const std::vector<FrameFeatures>& frames) {
  SilenceMask m;
  const size_t n = frames.size();
  m.smoothed_db.resize(n);
  m.silent.resize(n);
  for (size_t t = 0; t < n; ++t) {
    double sum = 0;
    int count = 0;
    for (size_t j = t >= 2 ? t - 2 : 0; j < std::min(n, t + 3); ++j, ++count) {
      sum += std::pow(10.0, frames[j].energy_db / 10);
    }
    m.smoothed_db[t] = static_cast<float>(10 * std::log10(sum / count + 1e-12));
  }
  if (n > 0) {
    std::vector<float> sorted = m.smoothed_db;
    const size_t k = std::min(n - 1, n * 95 / 100);
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(k), sorted.end());
    m.threshold_db =
        std::clamp(sorted[k] - kSilenceBelowLoudDb, kSilenceFloorDb, kSilenceCeilingDb);
  }
  for (size_t t = 0; t < n; ++t) m.silent[t] = m.smoothed_db[t] < m.threshold_db ? 1 : 0;
  return m;
}

// --- window features and the classifier
// --------------------------------------------------------------

constexpr int kHalfWindow = 100;   // window features over +-1 s around a frame
constexpr int kFeatureHop = 5;     // computed every 50 ms, interpolated between
constexpr int kPersistFrames = 8;  // a peak is sustained when present for 80 ms more
constexpr int kMinActiveFrames = 10;

enum Feature {
  kLowEnergyRatio,   // frames under half the window's mean energy (speech pauses between syllables)
  kEnergyStd,        // std of the frame energies in dB
  kFluxMean,         // mean spectral flux
  kFluxVariation,    // std / mean of the flux
  kFlatness,         // mean spectral flatness
  kVadRatio,         // webrtc voice activity
  kPeakPersistence,  // share of spectral peaks sustained for 80 ms (held notes)
  kPitchStability,   // share of voiced frame pairs 20 ms apart with the same pitch (within 1%)
  kVoicedRatio,      // frames with harmonicity above 0.6
  kModulation4Hz,    // energy-envelope modulation at 2..6 Hz relative to 1..20 Hz (syllables)
  kRhythm,           // the flux's largest autocorrelation at 0.2..1 s (a beat, a repeated figure)
  kPitchGlide,       // share of voiced frame pairs 20 ms apart whose pitch moved by 1..8%
  kFeatureCount
};

using FeatureVector = std::array<float, kFeatureCount>;

// Per-frame quantities the window features sum, precomputed once.
struct FrameDerived {
  std::vector<uint8_t> sustained;   // peaks of frame t still present in t+1..t+kPersistFrames
  std::vector<int8_t> stable_pair;  // -1 not a voiced pair, 0 pitch jumped, 1 held, 2 glided
};

FrameDerived derive(const std::vector<FrameFeatures>& f) {
  FrameDerived d;
  const size_t n = f.size();
  d.sustained.assign(n, 0);
  d.stable_pair.assign(n, -1);
  for (size_t t = 0; t < n; ++t) {
    if (t + kPersistFrames < n && f[t].peak_count > 0) {
      uint64_t m0 = f[t].peaks[0], m1 = f[t].peaks[1];
      for (size_t j = t + 1; j <= t + kPersistFrames && (m0 | m1); ++j) {
        const uint64_t a = f[j].peaks[0], b = f[j].peaks[1];
        m0 &= a | (a << 1) | (a >> 1) | (b << 63);
        m1 &= b | (b << 1) | (b >> 1) | (a >> 63);
      }
      d.sustained[t] = static_cast<uint8_t>(__builtin_popcountll(m0) + __builtin_popcountll(m1));
    }
    if (t + 2 < n && f[t].harmonicity > 0.6f && f[t + 2].harmonicity > 0.6f && f[t].lag > 0) {
      const float change = std::abs(f[t].lag - f[t + 2].lag) / f[t].lag;
      d.stable_pair[t] = change < 0.01f ? 1 : change < 0.08f ? 2 : 0;
    }
  }
  return d;
}

// The features of frames [a, b), over those that are not silent. Returns false when there are
// too few of them.
bool window_features(const std::vector<FrameFeatures>& f, const FrameDerived& d,
                     const std::vector<uint8_t>& silent, size_t a, size_t b, FeatureVector& out) {
  double lin = 0, db = 0, db2 = 0, flux = 0, flux2 = 0, flat = 0, vad = 0, voiced = 0;
  double peaks = 0, sustained = 0, pairs = 0, stable = 0, glide = 0;
  int active = 0;
  for (size_t t = a; t < b; ++t) {
    if (silent[t]) continue;
    const FrameFeatures& x = f[t];
    ++active;
    lin += std::pow(10.0, x.energy_db / 10);
    db += x.energy_db;
    db2 += static_cast<double>(x.energy_db) * x.energy_db;
    flux += x.flux;
    flux2 += static_cast<double>(x.flux) * x.flux;
    flat += x.flatness;
    vad += x.vad;
    voiced += x.harmonicity > 0.6f ? 1 : 0;
    peaks += x.peak_count;
    sustained += d.sustained[t];
    if (d.stable_pair[t] >= 0) {
      pairs += 1;
      stable += d.stable_pair[t] == 1;
      glide += d.stable_pair[t] == 2;
    }
  }
  if (active < kMinActiveFrames) return false;
  const double na = active;
  const double mean_lin = lin / na;
  int low = 0;
  for (size_t t = a; t < b; ++t) {
    if (!silent[t] && std::pow(10.0, f[t].energy_db / 10) < 0.5 * mean_lin) ++low;
  }
  const double mean_db = db / na;
  const double mean_flux = flux / na;
  out[kLowEnergyRatio] = static_cast<float>(low / na);
  out[kEnergyStd] = static_cast<float>(std::sqrt(std::max(0.0, db2 / na - mean_db * mean_db)));
  out[kFluxMean] = static_cast<float>(mean_flux);
  out[kFluxVariation] = static_cast<float>(
      std::sqrt(std::max(0.0, flux2 / na - mean_flux * mean_flux)) / (mean_flux + 1e-3));
  out[kFlatness] = static_cast<float>(flat / na);
  out[kVadRatio] = static_cast<float>(vad / na);
  out[kPeakPersistence] = static_cast<float>(peaks > 0 ? sustained / peaks : 0);
  out[kPitchStability] = static_cast<float>(pairs >= 5 ? stable / pairs : 0);
  out[kPitchGlide] = static_cast<float>(pairs >= 5 ? glide / pairs : 0);
  out[kVoicedRatio] = static_cast<float>(voiced / na);
  // Modulation of the energy envelope (dB, silent frames at the window's mean) at 1..20 Hz.
  const double len = static_cast<double>(b - a);
  double total = 0, syllabic = 0;
  for (int k = 1; k <= 40; ++k) {
    const double hz = k * 100.0 / len;
    if (hz > 20) break;
    if (hz < 0.9) continue;
    const double sr = std::cos(2 * kPi * k / len), si = -std::sin(2 * kPi * k / len);
    double rr = 1, ri = 0, acc_r = 0, acc_i = 0;
    for (size_t t = a; t < b; ++t) {
      const double e = silent[t] ? 0.0 : f[t].energy_db - mean_db;
      acc_r += e * rr;
      acc_i += e * ri;
      const double nr = rr * sr - ri * si;
      ri = rr * si + ri * sr;
      rr = nr;
    }
    const double p = acc_r * acc_r + acc_i * acc_i;
    total += p;
    if (hz >= 2 && hz <= 6) syllabic += p;
  }
  out[kModulation4Hz] = static_cast<float>(total > 0 ? syllabic / total : 0);
  // Rhythm: the normalised autocorrelation of the flux (silent frames at its mean) at lags of
  // 200 ms to 1 s (at most half the window).
  std::array<float, 2 * kHalfWindow + 1> onset{};
  const size_t m = std::min<size_t>(b - a, onset.size());
  double energy = 0;
  for (size_t i = 0; i < m; ++i) {
    onset[i] = silent[a + i] ? 0.0f : static_cast<float>(f[a + i].flux - mean_flux);
    energy += onset[i] * onset[i];
  }
  double rhythm = 0;
  if (energy > 0) {
    for (size_t lag = 20; lag <= std::min<size_t>(100, m / 2); ++lag) {
      double acc = 0;
      for (size_t i = 0; i + lag < m; ++i) acc += onset[i] * onset[i + lag];
      rhythm = std::max(rhythm, acc / energy * m / (m - lag));
    }
  }
  out[kRhythm] = static_cast<float>(std::min(1.0, rhythm));
  return true;
}

// The model's inputs: the window features and three log terms.
constexpr int kClassCount = 3;  // speech, music, other
constexpr int kModelInputs = kFeatureCount + 3;
using ModelInput = std::array<float, kModelInputs>;

ModelInput model_input(const FeatureVector& v) {
  ModelInput x;
  for (int i = 0; i < kFeatureCount; ++i) x[i] = v[i];
  x[kEnergyStd] = std::min(v[kEnergyStd], 30.0f);
  x[kFeatureCount] = std::log(v[kFluxMean] + 0.05f);
  x[kFeatureCount + 1] = std::log(v[kFlatness] + 0.001f);
  x[kFeatureCount + 2] = std::log(v[kEnergyStd] + 0.5f);
  return x;
}

// A small neural network (one hidden layer of kHidden tanh units, softmax output) fitted offline
// on window features (see the header): inputs standardised with these means and deviations.
constexpr int kHidden = 8;
constexpr float kInputMean[kModelInputs] = {0.338084f, 6.91103f,  1.65467f,  1.14236f,  0.0501794f,
                                            0.92896f,  0.250496f, 0.277159f, 0.828799f, 0.467942f,
                                            0.393309f, 0.23242f,  0.453171f, -3.94771f, 1.73159f};
constexpr float kInputStd[kModelInputs] = {0.182285f, 5.17938f,  0.698803f, 0.531506f, 0.119743f,
                                           0.20869f,  0.17923f,  0.199076f, 0.179135f, 0.194017f,
                                           0.192875f, 0.195116f, 0.470229f, 1.27893f,  0.796092f};
// Hidden units: one weight per input, then the bias.
constexpr float kHiddenWeights[kHidden][kModelInputs + 1] = {
    {0.16736f, 0.13091f, -0.06099f, 0.00897f, -0.06869f, 0.34321f, -0.00621f, -0.31171f, 0.45678f,
     0.18644f, -0.05772f, 0.54571f, 0.00016f, 0.0448f, 0.19461f, -0.41646f},
    {-0.1769f, -0.19439f, -0.15433f, 0.43247f, -0.26115f, 0.14727f, 0.01223f, 0.44264f, -0.20966f,
     -0.01163f, 0.20544f, -0.59703f, 0.46311f, -0.11909f, 0.08505f, 0.17448f},
    {0.16742f, 0.1307f, -0.06109f, 0.00896f, -0.06877f, 0.34263f, -0.00655f, -0.3115f, 0.45646f,
     0.18669f, -0.058f, 0.54469f, 0.00012f, 0.04455f, 0.19447f, -0.41548f},
    {0.12562f, -0.28412f, -0.49698f, 0.03577f, -0.24237f, 0.15108f, -0.60034f, 0.50975f, 0.01484f,
     0.08828f, -0.04861f, -0.52301f, -0.325f, -0.31387f, 0.03786f, 0.12917f},
    {-0.17656f, 0.20598f, 0.31279f, 0.45022f, 0.20726f, 0.27397f, -0.17337f, -0.22196f, -0.09201f,
     -0.12602f, -0.03388f, 0.595f, 0.15523f, 0.14252f, -0.01809f, -0.15853f},
    {0.31365f, -0.18468f, -0.11607f, -0.06907f, -0.41495f, 0.30097f, -0.27337f, -0.19635f, 0.20832f,
     0.09487f, 0.12386f, -0.04572f, 0.21974f, -0.2181f, 0.27484f, 0.62481f},
    {-0.02696f, 0.09118f, -0.1465f, 0.01058f, -0.31053f, 0.26445f, 0.03184f, 0.11269f, 0.08507f,
     0.03806f, 0.26498f, -0.12155f, 0.21404f, -0.05437f, 0.40345f, 0.57961f},
    {-0.31375f, 0.18487f, 0.11614f, 0.06911f, 0.41517f, -0.30105f, 0.27346f, 0.19629f, -0.20833f,
     -0.09484f, -0.12402f, 0.04578f, -0.21984f, 0.21814f, -0.27492f, -0.62512f},
};
// Classes (speech, music, other): one weight per hidden unit, then the bias.
constexpr float kOutputWeights[kClassCount][kHidden + 1] = {
    {1.13894f, -0.53446f, 1.13762f, -0.55435f, 0.621f, 0.44897f, 0.28516f, -0.44879f, -0.08133f},
    {-0.54991f, 1.0885f, -0.54822f, 1.12002f, -0.96324f, 0.75589f, 0.56936f, -0.7564f, -0.0104f},
    {-0.58901f, -0.5539f, -0.58983f, -0.5656f, 0.34233f, -1.2048f, -0.85453f, 1.20533f, 0.09173f},
};

using ClassProbs = std::array<float, kClassCount>;

ClassProbs classify(const FeatureVector& v) {
  const ModelInput x = model_input(v);
  std::array<float, kModelInputs> z;
  for (int i = 0; i < kModelInputs; ++i) z[i] = (x[i] - kInputMean[i]) / kInputStd[i];
  std::array<float, kHidden> hidden;
  for (int h = 0; h < kHidden; ++h) {
    float a = kHiddenWeights[h][kModelInputs];
    for (int i = 0; i < kModelInputs; ++i) a += kHiddenWeights[h][i] * z[i];
    hidden[h] = std::tanh(a);
  }
  std::array<double, kClassCount> out;
  double top = -1e30;
  for (int c = 0; c < kClassCount; ++c) {
    out[c] = kOutputWeights[c][kHidden];
    for (int h = 0; h < kHidden; ++h) out[c] += kOutputWeights[c][h] * hidden[h];
    top = std::max(top, out[c]);
  }
  double sum = 0;
  for (double& e : out) sum += (e = std::exp(e - top));
  ClassProbs p;
  for (int c = 0; c < kClassCount; ++c) p[c] = static_cast<float>(out[c] / sum);
  return p;
}

// Per-frame class probabilities: the window features every kFeatureHop frames, linearly
// interpolated between. Frames whose window has almost no sound get kNoEvidence.
constexpr ClassProbs kNoEvidence = {0.2f, 0.2f, 0.6f};

std::vector<ClassProbs> frame_probabilities(const std::vector<FrameFeatures>& frames,
                                            const FrameDerived& derived,
                                            const std::vector<uint8_t>& silent) {
  const size_t n = frames.size();
  std::vector<ClassProbs> out(n, kNoEvidence);
  if (n == 0) return out;
  std::vector<size_t> centers;
  for (size_t t = 0; t < n; t += kFeatureHop) centers.push_back(t);
  if (centers.back() != n - 1) centers.push_back(n - 1);
  std::vector<ClassProbs> at(centers.size(), kNoEvidence);
  for (size_t i = 0; i < centers.size(); ++i) {
    FeatureVector v;
    const size_t c = centers[i];
    const size_t a = c > kHalfWindow ? c - kHalfWindow : 0;
    if (window_features(frames, derived, silent, a, std::min(n, c + kHalfWindow + 1), v)) {
      at[i] = classify(v);
    }
  }
  for (size_t i = 0; i + 1 < centers.size(); ++i) {
    const size_t a = centers[i], b = centers[i + 1];
    for (size_t t = a; t < b; ++t) {
      const float w = static_cast<float>(t - a) / static_cast<float>(b - a);
      for (int c = 0; c < kClassCount; ++c) out[t][c] = (1 - w) * at[i][c] + w * at[i + 1][c];
    }
  }
  out[n - 1] = at.back();
  return out;
}

// The most likely class sequence over frames [a, b) (Viterbi): each frame's evidence is the log of
// its probability (floored), each change of class costs kSwitchPenalty.
constexpr double kSwitchPenalty = 12;
constexpr double kProbabilityFloor = 0.02;

void decode_classes(const std::vector<ClassProbs>& probs, size_t a, size_t b,
                    std::vector<int8_t>& labels) {
  if (b <= a) return;
  const size_t n = b - a;
  std::vector<std::array<int8_t, kClassCount>> from(n);
  std::array<double, kClassCount> score{};
  for (size_t t = 0; t < n; ++t) {
    std::array<double, kClassCount> next;
    for (int c = 0; c < kClassCount; ++c) {
      int best = c;
      double best_score = score[c];
      for (int p = 0; p < kClassCount; ++p) {
        if (p != c && score[p] - kSwitchPenalty > best_score) {
          best = p;
          best_score = score[p] - kSwitchPenalty;
        }
      }
      from[t][c] = static_cast<int8_t>(best);
      next[c] = best_score + std::log(std::max<double>(probs[a + t][c], kProbabilityFloor));
    }
    score = next;
  }
  int c = static_cast<int>(std::max_element(score.begin(), score.end()) - score.begin());
  for (size_t t = n; t-- > 0;) {
    labels[a + t] = static_cast<int8_t>(c);
    c = from[t][c];
  }
}

// Within [a, b), class runs shorter than kMinClassFrames join a neighbour (the one whose class
// the run's frames find more probable), shortest first.
constexpr size_t kMinClassFrames = 100;

void merge_short_classes(const std::vector<ClassProbs>& probs, size_t a, size_t b,
                         std::vector<int8_t>& labels) {
  for (;;) {
    std::vector<std::pair<size_t, size_t>> spans;
    for (size_t t = a; t < b; ++t) {
      if (t == a || labels[t] != labels[t - 1]) spans.emplace_back(t, t);
      spans.back().second = t + 1;
    }
    if (spans.size() < 2) return;
    size_t shortest = 0;
    for (size_t i = 1; i < spans.size(); ++i) {
      if (spans[i].second - spans[i].first < spans[shortest].second - spans[shortest].first) {
        shortest = i;
      }
    }
    const auto [s0, s1] = spans[shortest];
    if (s1 - s0 >= kMinClassFrames) return;
    int8_t to = 0;
    if (shortest == 0) {
      to = labels[s1];
    } else if (shortest + 1 == spans.size()) {
      to = labels[s0 - 1];
    } else {
      const int8_t left = labels[s0 - 1], right = labels[s1];
      double pl = 0, pr = 0;
      for (size_t t = s0; t < s1; ++t) {
        pl += probs[t][left];
        pr += probs[t][right];
      }
      to = pl >= pr ? left : right;
    }
    std::fill(labels.begin() + static_cast<std::ptrdiff_t>(s0),
              labels.begin() + static_cast<std::ptrdiff_t>(s1), to);
  }
}

// How different the spectra of frames [l0, t) and [t, r1) are (their non-silent frames): the
// squared difference of the mean band levels (dB), damped where the bands vary a lot (divided by
// the two variances plus 2 * (10 dB)^2), averaged over the bands. -1 when either side has fewer
// than kMinActiveFrames frames.
double spectral_change(const std::vector<FrameFeatures>& frames, const std::vector<uint8_t>& silent,
                       size_t l0, size_t t, size_t r1) {
  constexpr int kB = 12;
  std::array<double, kB> sum[2]{}, sq[2]{};
  int count[2] = {0, 0};
  for (size_t i = l0; i < r1; ++i) {
    if (silent[i]) continue;
    const int side = i < t ? 0 : 1;
    ++count[side];
    for (int k = 0; k < kB; ++k) {
      const double v = 0.5 * frames[i].bands[k];  // dB
      sum[side][k] += v;
      sq[side][k] += v * v;
    }
  }
  if (count[0] < kMinActiveFrames || count[1] < kMinActiveFrames) return -1;
  double d = 0;
  for (int k = 0; k < kB; ++k) {
    double mean[2], var[2];
    for (int side = 0; side < 2; ++side) {
      mean[side] = sum[side][k] / count[side];
      var[side] = std::max(0.0, sq[side][k] / count[side] - mean[side] * mean[side]);
    }
    d += (mean[0] - mean[1]) * (mean[0] - mean[1]) / (var[0] + var[1] + 200);
  }
  return d / kB;
}

// Moves each change of class within [a, b) to where the evidence for it is best, within
// kRefineRange frames of it: the window features blur a change over their length. The evidence
// at a candidate frame t sums how much the kRefineWindow frames before t look like the class
// before (the classifier's log probability), how much those after look like the class after,
// and kSpliceWeight times the spectral change at t (a splice of two recordings shows in the
// spectrum to a frame or two).
constexpr size_t kChangeWindow = 50;
constexpr size_t kRefineRange = 100;
constexpr size_t kRefineWindow = 100;
constexpr size_t kRefineStep = 2;
constexpr double kSpliceWeight = 1;

void refine_changes(const std::vector<FrameFeatures>& frames, const FrameDerived& derived,
                    const std::vector<uint8_t>& silent, size_t a, size_t b,
                    std::vector<int8_t>& labels) {
  std::vector<size_t> changes;
  for (size_t t = a + 1; t < b; ++t) {
    if (labels[t] != labels[t - 1]) changes.push_back(t);
  }
  for (size_t i = 0; i < changes.size(); ++i) {
    const size_t t0 = changes[i];
    const int8_t before = labels[t0 - 1], after = labels[t0];
    const size_t lo =
        std::max(i > 0 ? changes[i - 1] + 1 : a + 1, t0 > kRefineRange ? t0 - kRefineRange : 0);
    const size_t hi =
        std::min(i + 1 < changes.size() ? changes[i + 1] - 1 : b - 1, t0 + kRefineRange);
    double best_score = -1e300;
    size_t best = t0;
    for (size_t t = lo; t <= hi; t += kRefineStep) {
      FeatureVector left, right;
      const size_t la = t > a + kRefineWindow ? t - kRefineWindow : a;
      const size_t rb = std::min(b, t + kRefineWindow);
      double score = 0;
      if (window_features(frames, derived, silent, la, t, left)) {
        score += std::log(std::max(classify(left)[before], 1e-4f));
      } else {
        score += std::log(1e-4);
      }
      if (window_features(frames, derived, silent, t, rb, right)) {
        score += std::log(std::max(classify(right)[after], 1e-4f));
      } else {
        score += std::log(1e-4);
      }
      const size_t ca = t > a + kChangeWindow ? t - kChangeWindow : a;
      score += kSpliceWeight * std::max(0.0, spectral_change(frames, silent, ca, t,
                                                             std::min(b, t + kChangeWindow)));
      if (score > best_score) {
        best_score = score;
        best = t;
      }
    }
    if (best < t0) {
      std::fill(labels.begin() + static_cast<std::ptrdiff_t>(best),
                labels.begin() + static_cast<std::ptrdiff_t>(t0), after);
    } else if (best > t0) {
      std::fill(labels.begin() + static_cast<std::ptrdiff_t>(t0),
                labels.begin() + static_cast<std::ptrdiff_t>(best), before);
    }
    changes[i] = best;
  }
}

constexpr int kMinSampleRate = 8000;
constexpr int kMaxSampleRate = 192000;
constexpr int kMaxChannels = 8;
constexpr int64_t kMaxMinSilenceMs = 600000;
constexpr int64_t kMinLoudnessWindowMs = 100;
constexpr int64_t kMaxLoudnessWindowMs = 600000;
// Sounds shorter than this between two silences are part of the silence (clicks, breaths).
constexpr int kMinSoundFrames = 6;
constexpr const char* kVersion = "atomcut_semantic_v1";

constexpr int8_t kSilence = -1;
const char* const kClassNames[kClassCount] = {"speech", "music", "other"};

// Runs of equal values in `v`: (start, end, value).
template <typename T>
std::vector<std::tuple<size_t, size_t, T>> runs(const std::vector<T>& v) {
  std::vector<std::tuple<size_t, size_t, T>> out;
  size_t start = 0;
  for (size_t t = 1; t <= v.size(); ++t) {
    if (t == v.size() || v[t] != v[start]) {
      out.emplace_back(start, t, v[start]);
      start = t;
    }
  }
  return out;
}

}  // namespace

struct SemanticAnalyzer::Impl {
  int sample_rate = 0;
  int channels = 0;
  SemanticOptions options;
  std::unique_ptr<LoudnessMeter> meter;
  std::unique_ptr<FeatureExtractor> features;
  std::vector<float> mono;
  int64_t frames = 0;
  bool finished = false;
};

SemanticAnalyzer::SemanticAnalyzer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SemanticAnalyzer::~SemanticAnalyzer() = default;

Result<std::unique_ptr<SemanticAnalyzer>> SemanticAnalyzer::create(int sample_rate, int channels,
                                                                   const SemanticOptions& options) {
  if (sample_rate < kMinSampleRate || sample_rate > kMaxSampleRate) {
    return Error::invalid_argument(
        "sample_rate (" + std::to_string(sample_rate) + ") must be within [8000, 192000] Hz",
        {{"field", "sample_rate"}});
  }
  if (channels < 1 || channels > kMaxChannels) {
    return Error::invalid_argument(
        "channels (" + std::to_string(channels) + ") must be within [1, 8]",
        {{"field", "channels"}});
  }
  if (options.min_silence_ms < 0 || options.min_silence_ms > kMaxMinSilenceMs) {
    return Error::invalid_argument("min_silence_ms (" + std::to_string(options.min_silence_ms) +
                                       ") must be within [0, 600000]",
                                   {{"field", "min_silence_ms"}});
  }
  if (options.loudness_window_ms < kMinLoudnessWindowMs ||
      options.loudness_window_ms > kMaxLoudnessWindowMs) {
    return Error::invalid_argument("loudness_window_ms (" +
                                       std::to_string(options.loudness_window_ms) +
                                       ") must be within [100, 600000]",
                                   {{"field", "loudness_window_ms"}});
  }
  auto impl = std::make_unique<Impl>();
  impl->sample_rate = sample_rate;
  impl->channels = channels;
  impl->options = options;
  ATOMCUT_ASSIGN_OR_RETURN(impl->meter, LoudnessMeter::create(sample_rate, channels));
  impl->features = std::make_unique<FeatureExtractor>(sample_rate);
  if (!impl->features->ok()) {
    return Error::internal("webrtc-audio-processing could not be initialised");
  }
  return std::unique_ptr<SemanticAnalyzer>(new SemanticAnalyzer(std::move(impl)));
}

Status SemanticAnalyzer::push(const float* interleaved, size_t frames) {
  Impl& m = *impl_;
  if (m.finished) {
    return Error::failed_precondition("push() after finish(): the analysis is complete");
  }
  if (frames == 0) return {};
  // The meter checks the samples (null, non-finite) before it takes any.
  ATOMCUT_TRY(m.meter->add(interleaved, frames));
  m.mono.resize(frames);
  const float scale = 1.0f / static_cast<float>(m.channels);
  for (size_t i = 0; i < frames; ++i) {
    float sum = 0;
    for (int c = 0; c < m.channels; ++c) sum += interleaved[i * m.channels + c];
    m.mono[i] = sum * scale;
  }
  m.features->push(m.mono.data(), frames);
  m.frames += static_cast<int64_t>(frames);
  return {};
}

Result<SemanticAnalysis> SemanticAnalyzer::finish() {
  Impl& m = *impl_;
  if (m.finished) return Error::failed_precondition("finish() was already called");
  m.finished = true;
  m.features->finish();

  SemanticAnalysis out;
  out.backend_version = semantic_backend_version();
  out.duration_ms = m.frames * 1000 / m.sample_rate;
  const LoudnessSummary summary = m.meter->summary();
  out.integrated_lufs = summary.integrated_lufs;
  out.true_peak_dbtp = summary.true_peak_dbtp;
  out.loudness_range_lu = summary.loudness_range_lu;
  for (int64_t start = 0; start < out.duration_ms; start += m.options.loudness_window_ms) {
    const int64_t end = std::min(out.duration_ms, start + m.options.loudness_window_ms);
    out.loudness.push_back({start, end, m.meter->integrated_lufs(start, end)});
  }
  if (out.duration_ms == 0) return out;

  // Frames on the 10 ms grid, cut to the input's duration.
  std::vector<FrameFeatures> frames = m.features->take_frames();
  const auto frame_count = static_cast<size_t>((out.duration_ms + 9) / 10);
  frames.resize(frame_count);
  const SilenceMask silence = find_silence(frames);

  // Silence events: short sounds join the silence around them, then silences shorter than
  // min_silence_ms join the sound around them.
  std::vector<int8_t> silent(frame_count);
  for (size_t t = 0; t < frame_count; ++t) silent[t] = silence.silent[t] ? 1 : 0;
  for (const auto& [a, b, v] : runs(silent)) {
    if (!v && b - a < kMinSoundFrames && a > 0 && b < frame_count) {
      std::fill(silent.begin() + a, silent.begin() + b, 1);
    }
  }
  const auto min_silence_frames = static_cast<size_t>((m.options.min_silence_ms + 9) / 10);
  for (const auto& [a, b, v] : runs(silent)) {
    if (v && b - a < min_silence_frames) std::fill(silent.begin() + a, silent.begin() + b, 0);
  }

  std::vector<int8_t> labels(frame_count, kSilence);
  std::vector<ClassProbs> probs;
  FrameDerived derived;
  if (m.options.include_speech_music) {
    derived = derive(frames);
    probs = frame_probabilities(frames, derived, silence.silent);
  }
  for (const auto& [a, b, v] : runs(silent)) {
    if (v) continue;
    if (m.options.include_speech_music) {
      decode_classes(probs, a, b, labels);
      merge_short_classes(probs, a, b, labels);
      refine_changes(frames, derived, silence.silent, a, b, labels);
    } else {
      std::fill(labels.begin() + a, labels.begin() + b, 2);
    }
  }

  for (const auto& [a, b, label] : runs(labels)) {
    SemanticEvent e;
    e.start_ms = static_cast<int64_t>(a) * 10;
    e.end_ms = std::min<int64_t>(static_cast<int64_t>(b) * 10, out.duration_ms);
    double confidence = 0;
    if (label == kSilence) {
      e.kind = "silence";
      // How far under the threshold: 1 at 20 dB under it or more.
      for (size_t t = a; t < b; ++t) {
        confidence += std::clamp((silence.threshold_db - silence.smoothed_db[t]) / 20.0, 0.0, 1.0);
      }
    } else if (m.options.include_speech_music) {
      e.kind = kClassNames[label];
      for (size_t t = a; t < b; ++t) confidence += probs[t][label];
    } else {
      e.kind = "other";
      // How far over the threshold: 1 at 20 dB over it or more.
      for (size_t t = a; t < b; ++t) {
        confidence += std::clamp((silence.smoothed_db[t] - silence.threshold_db) / 20.0, 0.0, 1.0);
      }
    }
    e.confidence = std::clamp(confidence / static_cast<double>(b - a), 0.0, 1.0);
    e.loudness_lufs = m.meter->integrated_lufs(e.start_ms, e.end_ms);
    if (e.end_ms > e.start_ms) out.events.push_back(std::move(e));
  }
  return out;
}

Result<SemanticAnalysis> analyse_semantic(const float* interleaved, size_t frames, int sample_rate,
                                          int channels, const SemanticOptions& options) {
  ATOMCUT_ASSIGN_OR_RETURN(auto analyzer, SemanticAnalyzer::create(sample_rate, channels, options));
  ATOMCUT_TRY(analyzer->push(interleaved, frames));
  return analyzer->finish();
}

std::string semantic_backend_version() {
  return std::string(kVersion) + " (webrtc-audio-processing 0.3, " + loudness_backend_version() +
         ")";
}

}  // namespace atomcut

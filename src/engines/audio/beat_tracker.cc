#include "engines/audio/beat_tracker.h"

#include <aubio/aubio.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <utility>

namespace atomcut {
namespace {

// The build passes pkg-config's version of aubio (aubio has no run-time version call).
#ifdef ATOMCUT_AUBIO_VERSION
constexpr const char* kAubioVersion = ATOMCUT_AUBIO_VERSION;
#else
constexpr const char* kAubioVersion = "unknown";
#endif

constexpr int kMinSampleRate = 4000;
constexpr int kMaxSampleRate = 384000;
constexpr double kMinTempoBound = 20;
constexpr double kMaxTempoBound = 400;
constexpr float kSilencePeak = 1e-4f;  // -80 dBFS
// Fewer onsets than this make no rhythm: the result is empty, like silence's.
constexpr size_t kMinOnsets = 4;
// A level twice (three times) as fast is the beat when the onsets halfway (a third and two
// thirds of the way) between the beats are at least this strong relative to those on the beats.
constexpr double kSubdivisionRatio = 0.6;
// Dynamic programming: the cost of an interval d is kTightness * log(d / period)^2.
constexpr double kTightness = 300;
constexpr double kPi = 3.14159265358979323846;

// --- aubio objects, owned ---------------------------------------------------------------------

struct AubioDeleter {
  void operator()(fvec_t* p) const { del_fvec(p); }
  void operator()(cvec_t* p) const { del_cvec(p); }
  void operator()(aubio_fft_t* p) const { del_aubio_fft(p); }
  void operator()(aubio_tempo_t* p) const { del_aubio_tempo(p); }
};
template <typename T>
using AubioPtr = std::unique_ptr<T, AubioDeleter>;

// --- small helpers ----------------------------------------------------------------------------

std::pair<double, double> mean_std(const std::vector<float>& v) {
  if (v.empty()) return {0, 0};
  double sum = 0, sq = 0;
  for (float x : v) sum += x;
  const double mean = sum / static_cast<double>(v.size());
  for (float x : v) sq += (x - mean) * (x - mean);
  return {mean, std::sqrt(sq / static_cast<double>(v.size()))};
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t mid = v.size() / 2;
  return v.size() % 2 ? v[mid] : 0.5 * (v[mid - 1] + v[mid]);
}

// The largest value of `x` in frames [center - before, center + after].
float window_max(const std::vector<float>& x, size_t center, size_t before, size_t after) {
  const size_t lo = center > before ? center - before : 0;
  const size_t hi = std::min(x.size(), center + after + 1);
  float best = 0;
  for (size_t i = lo; i < hi; ++i) best = std::max(best, x[i]);
  return best;
}

// Gaussian smoothing with a standard deviation of `sigma` frames.
std::vector<float> smooth(const std::vector<float>& x, double sigma) {
  if (sigma < 0.5) return x;
  const int radius = static_cast<int>(std::ceil(3 * sigma));
  std::vector<double> kernel(2 * radius + 1);
  double total = 0;
  for (int k = -radius; k <= radius; ++k) {
    kernel[k + radius] = std::exp(-0.5 * k * k / (sigma * sigma));
    total += kernel[k + radius];
  }
  const auto n = static_cast<int64_t>(x.size());
  std::vector<float> out(x.size(), 0.f);
  for (int64_t i = 0; i < n; ++i) {
    double sum = 0;
    for (int k = -radius; k <= radius; ++k) {
      const int64_t j = i + k;
      if (j >= 0 && j < n) sum += kernel[k + radius] * x[j];
    }
    out[i] = static_cast<float>(sum / total);
  }
  return out;
}

// Values minus their mean, divided by their standard deviation (all 0 when they are equal).
std::vector<double> standardise(std::vector<double> v) {
  double mean = 0, sq = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  for (double x : v) sq += (x - mean) * (x - mean);
  const double sd = std::sqrt(sq / static_cast<double>(v.size()));
  for (double& x : v) x = sd > 1e-9 ? (x - mean) / sd : 0.0;
  return v;
}

int64_t to_ms(double seconds) {
  return std::max<int64_t>(0, static_cast<int64_t>(std::llround(seconds * 1000.0)));
}

// --- features ---------------------------------------------------------------------------------

// The onset bands (Hz). Each band's flux is normalised on its own, so the few bins of a kick
// drum count as much as the hundreds of bins of a hi-hat.
struct Band {
  double lo_hz;
  double hi_hz;
};
constexpr std::array<Band, 4> kBands = {{{30, 200}, {200, 800}, {800, 3000}, {3000, 12000}}};
constexpr size_t kLowBand = 0;

struct Features {
  double frame_rate = 0;          // onset frames per second
  double frame0_s = 0;            // time of onset frame 0; frame n is at frame0_s + n / frame_rate
  std::vector<float> odf;         // onset strength: the sum of the normalised band fluxes
  std::vector<float> low;         // the lowest band's normalised flux (kick drum, bass)
  std::vector<float> low_energy;  // the lowest band's energy
  std::vector<double> aubio_beats_s;  // aubio_tempo_t's beats
};

// The hop is the power of two nearest (in log terms) to 5.8 ms: 256 samples at 44.1 kHz, 128 at
// 16 kHz, 64 at 8 kHz; the FFT window is 8 hops (2048 at 44.1 kHz). aubio's default sizes (1024 /
// 512) misread tempo; 2048 / 256 reads a 120 BPM click track as 119-120 BPM.
uint_t hop_for(int sample_rate) {
  const double ideal = sample_rate / 172.27;
  uint_t hop = 32;
  while (std::fabs(std::log2(hop * 2.0 / ideal)) < std::fabs(std::log2(hop / ideal))) hop *= 2;
  return hop;
}

Result<Features> extract_features(const float* mono, size_t frames, int sample_rate, float peak) {
  const uint_t hop = hop_for(sample_rate);
  const uint_t buf = hop * 8;
  AubioPtr<fvec_t> in(new_fvec(hop));
  AubioPtr<fvec_t> tempo_out(new_fvec(2));
  AubioPtr<aubio_tempo_t> tempo(
      new_aubio_tempo("default", buf, hop, static_cast<uint_t>(sample_rate)));
  // The onset bands use aubio's FFT directly (its phase vocoder would also compute phases).
  AubioPtr<fvec_t> frame(new_fvec(buf));
  AubioPtr<fvec_t> complex_spectrum(new_fvec(buf));
  AubioPtr<cvec_t> spectrum(new_cvec(buf));
  AubioPtr<aubio_fft_t> fft(new_aubio_fft(buf));
  if (!in || !tempo_out || !tempo || !frame || !complex_spectrum || !spectrum || !fft)
    return Error::internal("aubio: could not create the analysis objects",
                           {{"hop", hop}, {"buffer", buf}, {"sample_rate", sample_rate}});

  Features f;
  f.frame_rate = static_cast<double>(sample_rate) / hop;
  // Onset frame n is computed on the window ending at sample (n + 1) * hop. Measured on click
  // tracks, the log-compressed flux of a transient peaks 0.26 windows after it.
  f.frame0_s = (hop - 0.26 * buf) / sample_rate;

  const size_t n_frames = (frames + hop - 1) / hop;
  const uint_t bins = spectrum->length;
  struct BandBins {
    uint_t k0;
    uint_t k1;  // exclusive
  };
  std::vector<BandBins> band_bins;
  uint_t top_bin = 1;
  for (const Band& band : kBands) {
    const auto k0 = static_cast<uint_t>(std::ceil(band.lo_hz * buf / sample_rate));
    const auto k1 = static_cast<uint_t>(std::ceil(band.hi_hz * buf / sample_rate));
    band_bins.push_back({std::max<uint_t>(1, k0), std::min(bins, k1)});
    top_bin = std::max(top_bin, band_bins.back().k1);
  }
  std::vector<std::vector<float>> band_flux(kBands.size(), std::vector<float>(n_frames, 0.f));
  f.low_energy.assign(n_frames, 0.f);

  std::vector<float> window(buf);
  for (uint_t i = 0; i < buf; ++i)
    window[i] = static_cast<float>(0.5 - 0.5 * std::cos(2 * kPi * i / buf));
  std::vector<float> history(buf, 0.f);  // the last `buf` samples
  // Magnitudes relative to a full-scale sine at the input's peak level; log compression with its
  // knee 60 dB below that.
  const auto scale = static_cast<float>(1.0 / (static_cast<double>(peak) * buf / 4.0));
  std::vector<float> prev(top_bin, 0.f);
  std::vector<float> cur(top_bin, 0.f);
  for (size_t n = 0; n < n_frames; ++n) {
    const size_t pos = n * hop;
    const size_t count = std::min<size_t>(hop, frames - pos);
    std::copy(mono + pos, mono + pos + count, in->data);
    std::fill(in->data + count, in->data + hop, 0.f);

    aubio_tempo_do(tempo.get(), in.get(), tempo_out.get());
    if (tempo_out->data[0] != 0) f.aubio_beats_s.push_back(aubio_tempo_get_last_s(tempo.get()));

    std::copy(history.begin() + hop, history.end(), history.begin());
    std::copy(in->data, in->data + hop, history.end() - hop);
    for (uint_t i = 0; i < buf; ++i) frame->data[i] = history[i] * window[i];
    aubio_fft_do_complex(fft.get(), frame.get(), complex_spectrum.get());
    aubio_fft_get_norm(complex_spectrum.get(), spectrum.get());
    const float* norm = spectrum->norm;
    for (uint_t k = 0; k < top_bin; ++k) cur[k] = std::log1p(1000.f * scale * norm[k]);
    {
      const auto [k0, k1] = band_bins[kLowBand];
      float energy = 0;
      for (uint_t k = k0; k < k1; ++k) energy += (scale * norm[k]) * (scale * norm[k]);
      f.low_energy[n] = energy;
    }
    // No flux until the window is full: the window filling up is no onset.
    const bool window_full = (n + 1) * hop >= buf;
    for (size_t b = 0; b < band_bins.size() && window_full; ++b) {
      const auto [k0, k1] = band_bins[b];
      if (k1 <= k0) continue;
      float sum = 0;
      for (uint_t k = k0; k < k1; ++k) sum += std::max(0.f, cur[k] - prev[k]);
      band_flux[b][n] = sum / static_cast<float>(k1 - k0);
    }
    std::swap(prev, cur);
  }

  f.odf.assign(n_frames, 0.f);
  f.low.assign(n_frames, 0.f);
  for (size_t b = 0; b < band_flux.size(); ++b) {
    const double sd = mean_std(band_flux[b]).second;
    if (sd < 1e-9) continue;  // a band without content (or above Nyquist)
    const auto gain = static_cast<float>(1.0 / sd);
    for (size_t n = 0; n < n_frames; ++n) {
      const float v = band_flux[b][n] * gain;
      f.odf[n] += v;
      if (b == kLowBand) f.low[n] = v;
    }
  }
  return f;
}

// The onset function minus its local mean (+-0.4 s), half-wave rectified.
std::vector<float> detrend(const std::vector<float>& odf, double frame_rate) {
  const size_t n = odf.size();
  const auto half = static_cast<size_t>(std::max(1.0, std::round(0.4 * frame_rate)));
  std::vector<double> prefix(n + 1, 0.0);
  for (size_t i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + odf[i];
  std::vector<float> out(n, 0.f);
  for (size_t i = 0; i < n; ++i) {
    const size_t lo = i > half ? i - half : 0;
    const size_t hi = std::min(n, i + half + 1);
    const double mean = (prefix[hi] - prefix[lo]) / static_cast<double>(hi - lo);
    out[i] = static_cast<float>(std::max(0.0, odf[i] - mean));
  }
  return out;
}

// The number of onsets: upward crossings of a quarter of the onset function's 99th percentile.
size_t count_onsets(const std::vector<float>& onset) {
  std::vector<float> sorted = onset;
  const size_t at = std::min(sorted.size() - 1, sorted.size() * 99 / 100);
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(at), sorted.end());
  const float max = *std::max_element(onset.begin(), onset.end());
  const float threshold = std::max(0.25f * sorted[at], 1e-3f * max);
  size_t count = 0;
  for (size_t i = 0; i < onset.size(); ++i)
    if (onset[i] > threshold && (i == 0 || onset[i - 1] <= threshold)) ++count;
  return count;
}

// --- periodicity ------------------------------------------------------------------------------

// Autocorrelation of the mean-removed signal for lags 0..max_lag, unbiased (divided by the
// overlap) and normalised so that lag 0 is 1.
std::vector<double> autocorrelation(std::vector<float> x, size_t max_lag) {
  const size_t n = x.size();
  max_lag = std::min(max_lag, n - 1);
  const auto mean = static_cast<float>(mean_std(x).first);
  for (float& v : x) v -= mean;
  std::vector<double> a(max_lag + 1, 0.0);
  for (size_t lag = 0; lag <= max_lag; ++lag) {
    double sum = 0;
    const float* p = x.data();
    const float* q = x.data() + lag;
    const size_t m = n - lag;
    for (size_t i = 0; i < m; ++i) sum += static_cast<double>(p[i]) * q[i];
    a[lag] = sum / static_cast<double>(m);
  }
  const double a0 = a[0];
  if (a0 > 0)
    for (double& v : a) v /= a0;
  return a;
}

class Periodicity {
 public:
  // Smooths the autocorrelation with a [1 2 1] / 4 kernel so that a sharp peak (a click track)
  // is still seen between two lags.
  Periodicity(const std::vector<double>& acf, double frame_rate)
      : acf_(acf), frame_rate_(frame_rate) {
    for (size_t l = 1; l + 1 < acf.size(); ++l)
      acf_[l] = 0.25 * acf[l - 1] + 0.5 * acf[l] + 0.25 * acf[l + 1];
  }

  // The (interpolated) autocorrelation at the period of `bpm`; 0 out of range.
  double at(double bpm) const { return at_period(60.0 * frame_rate_ / bpm); }

  // The mean autocorrelation over the first four multiples of the period of `bpm` (those in
  // range): sharper than one lag, and high for every tempo of one metrical family.
  double comb(double bpm) const {
    const double period = 60.0 * frame_rate_ / bpm;
    double sum = 0;
    int count = 0;
    for (int k = 1; k <= 4 && period * k < static_cast<double>(acf_.size() - 1); ++k) {
      sum += at_period(period * k);
      ++count;
    }
    return count ? sum / count : 0;
  }

 private:
  double at_period(double period) const {
    if (period < 1 || period >= static_cast<double>(acf_.size() - 1)) return 0;
    const auto l = static_cast<size_t>(period);
    const double frac = period - static_cast<double>(l);
    return (1 - frac) * acf_[l] + frac * acf_[l + 1];
  }

  std::vector<double> acf_;
  double frame_rate_;
};

// The tempo in [lo, hi] with the best comb score, on a 0.2% grid; 0 when the range is empty.
double comb_peak(const Periodicity& per, double lo, double hi) {
  double best_bpm = 0, best = -2;
  for (double bpm = lo; bpm <= hi * 1.0001; bpm *= 1.002) {
    const double c = per.comb(bpm);
    if (c > best) {
      best = c;
      best_bpm = bpm;
    }
  }
  return best_bpm;
}

// A tempo near `bpm` (+-4%) at its local comb peak, inside the options' range; 0 if none.
double refine(const Periodicity& per, double bpm, const BeatOptions& opt) {
  const double lo = std::max(bpm * 0.96, opt.min_bpm);
  const double hi = std::min(bpm * 1.04, opt.max_bpm);
  return lo <= hi ? comb_peak(per, lo, hi) : 0;
}

// The slowest tempo worth considering: the comb's best tempo in range, or a quarter, third or
// half of it when that level's own periodicity is at least half the strongest of them.
double slowest_level(const Periodicity& per, const BeatOptions& opt) {
  const double best = comb_peak(per, opt.min_bpm, opt.max_bpm);
  std::vector<double> levels;
  for (double ratio : {0.25, 1.0 / 3, 0.5, 1.0}) {
    const double bpm = refine(per, best * ratio, opt);
    if (bpm > 0) levels.push_back(bpm);
  }
  double strongest = 0;
  for (double bpm : levels) strongest = std::max(strongest, per.at(bpm));
  for (double bpm : levels)
    if (per.at(bpm) >= 0.5 * strongest) return bpm;
  return best;
}

// --- beat placement ---------------------------------------------------------------------------

// Dynamic-programming beat tracking (Ellis 2007): the best chain of beats through `score` where
// each beat earns its score and each interval d costs kTightness * log(d / period)^2. A beat that
// is missing from the onsets (or an extra onset) does not move the chain off the grid.
std::vector<size_t> track_beats(const std::vector<float>& score, double period) {
  const size_t n = score.size();
  if (n == 0) return {};
  const auto dmin = static_cast<size_t>(std::max(1.0, std::round(period * 0.5)));
  const auto dmax = std::max(dmin, static_cast<size_t>(std::round(period * 2.0)));
  std::vector<double> penalty(dmax + 1, 0.0);
  for (size_t d = dmin; d <= dmax; ++d) {
    const double l = std::log(static_cast<double>(d) / period);
    penalty[d] = kTightness * l * l;
  }
  std::vector<double> cum(n, 0.0);
  std::vector<int64_t> back(n, -1);
  for (size_t i = 0; i < n; ++i) {
    double best = 0;
    int64_t arg = -1;
    if (i >= dmin) {
      best = -1e300;
      for (size_t m = i > dmax ? i - dmax : 0; m + dmin <= i; ++m) {
        const double v = cum[m] - penalty[i - m];
        if (v > best) {
          best = v;
          arg = static_cast<int64_t>(m);
        }
      }
    }
    // A chain may also start here (the first beat after silence, or at the start of the audio)
    // rather than link to a predecessor that costs more than it brings.
    if (arg >= 0 && best < 0) arg = -1;
    cum[i] = score[i] + (arg >= 0 ? best : 0.0);
    back[i] = arg;
  }
  // The chain ends on the best cumulative score within the last period.
  const size_t tail = std::min(n, static_cast<size_t>(std::ceil(period)));
  size_t end = n - 1;
  for (size_t i = n - tail; i < n; ++i)
    if (cum[i] > cum[end]) end = i;
  std::vector<size_t> beats;
  for (int64_t i = static_cast<int64_t>(end); i >= 0; i = back[i])
    beats.push_back(static_cast<size_t>(i));
  std::reverse(beats.begin(), beats.end());
  return beats;
}

// How strong the onsets at the points dividing each inter-beat interval into `parts` equal
// parts are, relative to those on the beats (mean local maxima within +-window frames; the
// weakest division point counts). Near 1 when those points are beats of a tempo `parts` times
// as fast; well below 1 when they are a lighter subdivision (off-beat hi-hats) or empty.
double subdivision_ratio(const std::vector<float>& score, const std::vector<size_t>& beats,
                         int parts, size_t window) {
  if (beats.size() < 2) return 0;
  double on = 0;
  std::vector<double> off(parts, 0.0);
  for (size_t i = 1; i < beats.size(); ++i) {
    on += window_max(score, beats[i], window, window);
    const double step = static_cast<double>(beats[i] - beats[i - 1]) / parts;
    for (int k = 1; k < parts; ++k) {
      const auto at =
          static_cast<size_t>(std::llround(static_cast<double>(beats[i - 1]) + k * step));
      off[k] += window_max(score, at, window, window);
    }
  }
  const double weakest = *std::min_element(off.begin() + 1, off.end());
  return on > 0 ? weakest / on : 0;
}

struct MetricalLevel {
  double bpm = 0;
  std::vector<size_t> beats;
};

// The beat's metrical level: from the slowest candidate, move to the tempo twice (or three times)
// as fast while the onsets that divide the beats are nearly as strong as the beats themselves,
// the test that tells a half-tempo reading (kick and snare alternating on the beats) from a
// subdivision (off-beat hi-hats).
MetricalLevel choose_level(const Periodicity& per, const std::vector<float>& score,
                           double frame_rate, const BeatOptions& opt) {
  const auto beats_at = [&](double bpm) {
    const double period = 60.0 * frame_rate / bpm;
    return track_beats(smooth(score, period / 32), period);
  };
  const auto window = static_cast<size_t>(std::max(1.0, std::round(0.03 * frame_rate)));
  MetricalLevel level;
  level.bpm = slowest_level(per, opt);
  level.beats = beats_at(level.bpm);
  for (;;) {
    double next = 0, best_ratio = kSubdivisionRatio;
    for (int parts : {2, 3}) {
      const double faster = refine(per, level.bpm * parts, opt);
      if (faster <= 0) continue;
      const double ratio = subdivision_ratio(score, level.beats, parts, window);
      if (ratio >= best_ratio) {
        best_ratio = ratio;
        next = faster;
      }
    }
    if (next <= 0) break;
    level.bpm = next;
    level.beats = beats_at(next);
  }
  return level;
}

// Drops the leading and trailing beats that have no onset near them (silence before and after
// the music).
std::vector<size_t> trim_silent_ends(std::vector<size_t> beats, const std::vector<float>& score,
                                     double frame_rate) {
  if (beats.empty()) return beats;
  const auto reach = static_cast<size_t>(std::round(0.1 * frame_rate));
  std::vector<double> activity;
  for (size_t b : beats) activity.push_back(window_max(score, b, reach, reach));
  const double floor = 0.1 * median(activity);
  size_t first = 0, last = beats.size();
  while (first < last && activity[first] < floor) ++first;
  while (last > first && activity[last - 1] < floor) --last;
  return std::vector<size_t>(beats.begin() + static_cast<std::ptrdiff_t>(first),
                             beats.begin() + static_cast<std::ptrdiff_t>(last));
}

// The global tempo from the inter-beat intervals: the mean of those within 10% of the median
// (the median alone would be quantised to whole frames).
double interval_bpm(const std::vector<size_t>& beats, double frame_rate) {
  std::vector<double> ibi;
  for (size_t i = 1; i < beats.size(); ++i)
    ibi.push_back(static_cast<double>(beats[i] - beats[i - 1]));
  const double med = median(ibi);
  double sum = 0;
  int count = 0;
  for (double d : ibi) {
    if (std::fabs(d / med - 1) <= 0.1) {
      sum += d;
      ++count;
    }
  }
  return 60.0 * frame_rate / (count ? sum / count : med);
}

// The index (0..bpb-1) of the first downbeat among `beats`: the beat position modulo bpb whose
// beats have the strongest low-band accent, judged on two features given equal weight: the
// low-band onset strength at the beat (a kick drum, a new bass note) and the low-band energy
// just after it (in dB, so that a louder kick on the downbeat counts by its ratio).
int downbeat_phase(const Features& f, const std::vector<size_t>& beats, int bpb) {
  if (bpb <= 1) return 0;
  std::vector<double> flux(bpb, 0.0), energy(bpb, 0.0);
  std::vector<int> count(bpb, 0);
  const auto frames = [&](double s) { return static_cast<size_t>(std::round(s * f.frame_rate)); };
  for (size_t i = 0; i < beats.size(); ++i) {
    const size_t p = i % bpb;
    flux[p] += window_max(f.low, beats[i], frames(0.04), frames(0.06));
    energy[p] +=
        10 * std::log10(window_max(f.low_energy, beats[i], frames(0.02), frames(0.1)) + 1e-12);
    ++count[p];
  }
  for (int p = 0; p < bpb; ++p) {
    if (count[p] == 0) continue;
    flux[p] /= count[p];
    energy[p] /= count[p];
  }
  const std::vector<double> zf = standardise(flux);
  const std::vector<double> ze = standardise(energy);
  int best = 0;
  for (int p = 0; p < bpb; ++p) {
    if (zf[p] + ze[p] > zf[best] + ze[best]) best = p;
  }
  return best;
}

Status validate(const float* mono, size_t frames, int sample_rate, const BeatOptions& opt) {
  if (mono == nullptr || frames == 0) return Error::invalid_argument("audio is empty");
  if (sample_rate < kMinSampleRate || sample_rate > kMaxSampleRate)
    return Error::invalid_argument(
        "sample_rate is out of range",
        {{"sample_rate", sample_rate}, {"min", kMinSampleRate}, {"max", kMaxSampleRate}});
  if (opt.beats_per_bar < 1 || opt.beats_per_bar > 16)
    return Error::invalid_argument("beats_per_bar must be in [1, 16]",
                                   {{"beats_per_bar", opt.beats_per_bar}});
  if (!std::isfinite(opt.min_bpm) || !std::isfinite(opt.max_bpm) || opt.min_bpm < kMinTempoBound ||
      opt.max_bpm > kMaxTempoBound || opt.min_bpm >= opt.max_bpm)
    return Error::invalid_argument(
        "min_bpm and max_bpm must satisfy 20 <= min_bpm < max_bpm <= 400",
        {{"min_bpm", opt.min_bpm}, {"max_bpm", opt.max_bpm}});
  for (size_t i = 0; i < frames; ++i)
    if (!std::isfinite(mono[i]))
      return Error::invalid_argument("audio holds a non-finite sample", {{"frame", i}});
  return Status::ok_status();
}

}  // namespace

Result<BeatAnalysis> analyse_beats(const float* mono, size_t frames, int sample_rate,
                                   const BeatOptions& options) {
  ATOMCUT_TRY(validate(mono, frames, sample_rate, options));
  BeatAnalysis result;
  result.backend_version = beat_backend_version();

  float peak = 0;
  for (size_t i = 0; i < frames; ++i) peak = std::max(peak, std::fabs(mono[i]));
  const double duration_s = static_cast<double>(frames) / sample_rate;
  if (peak < kSilencePeak || duration_s < 2 * 60.0 / options.min_bpm) return result;

  ATOMCUT_ASSIGN_OR_RETURN(Features f, extract_features(mono, frames, sample_rate, peak));
  const std::vector<float> onset = detrend(f.odf, f.frame_rate);
  const double onset_sd = mean_std(onset).second;
  if (onset_sd < 1e-6 || count_onsets(onset) < kMinOnsets) return result;

  // Global periodicity: lags up to four periods of the slowest tempo.
  const auto max_lag = static_cast<size_t>(std::ceil(4.2 * 60.0 * f.frame_rate / options.min_bpm));
  const Periodicity per(autocorrelation(onset, max_lag), f.frame_rate);

  // The local score of the beat tracker: the onset function in units of its deviation.
  std::vector<float> score = onset;
  for (float& v : score) v = static_cast<float>(v / onset_sd);
  const MetricalLevel level = choose_level(per, score, f.frame_rate, options);
  const std::vector<size_t> beats = trim_silent_ends(level.beats, score, f.frame_rate);
  if (beats.size() < 2) return result;

  result.bpm = std::clamp(interval_bpm(beats, f.frame_rate), options.min_bpm, options.max_bpm);
  for (size_t b : beats) result.beats_ms.push_back(to_ms(f.frame0_s + b / f.frame_rate));

  // Confidence: the pulse clarity (periodicity at the beat period, 0.5 and above counting as
  // clear) and the agreement of aubio's own beat tracker (its F-measure against ours).
  std::vector<int64_t> aubio_ms;
  for (double s : f.aubio_beats_s) aubio_ms.push_back(to_ms(s));
  const double agreement = beat_f_measure(aubio_ms, result.beats_ms, 70);
  const double clarity = std::clamp(per.at(result.bpm) / 0.5, 0.0, 1.0);
  result.confidence = std::clamp(0.5 * clarity + 0.5 * agreement, 0.0, 1.0);

  const int bpb = options.beats_per_bar;
  for (size_t i = static_cast<size_t>(downbeat_phase(f, beats, bpb)); i < beats.size(); i += bpb) {
    const int64_t ms = result.beats_ms[i];
    result.bars.push_back({ms, static_cast<int>(result.downbeats_ms.size())});
    result.downbeats_ms.push_back(ms);
  }
  return result;
}

double beat_f_measure(const std::vector<int64_t>& detected_ms,
                      const std::vector<int64_t>& reference_ms, int64_t tolerance_ms) {
  if (detected_ms.empty() || reference_ms.empty()) return 0.0;
  std::vector<int64_t> det = detected_ms;
  std::vector<int64_t> ref = reference_ms;
  std::sort(det.begin(), det.end());
  std::sort(ref.begin(), ref.end());
  const int64_t tol = std::max<int64_t>(0, tolerance_ms);
  // Greedy matching in time order is a maximum matching here: every reference beat's window is
  // an interval, and the windows are in the same order as the beats.
  size_t i = 0, j = 0, hits = 0;
  while (i < det.size() && j < ref.size()) {
    if (det[i] < ref[j] - tol) {
      ++i;
    } else if (det[i] > ref[j] + tol) {
      ++j;
    } else {
      ++hits;
      ++i;
      ++j;
    }
  }
  if (hits == 0) return 0.0;
  const double precision = static_cast<double>(hits) / static_cast<double>(det.size());
  const double recall = static_cast<double>(hits) / static_cast<double>(ref.size());
  return 2 * precision * recall / (precision + recall);
}

std::string beat_backend_version() { return std::string("aubio ") + kAubioVersion; }

}  // namespace atomcut

#include "engines/audio/loudness.h"

#include <ebur128.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

namespace atomcut {
namespace {

constexpr int kMinSampleRate = 8000;
constexpr int kMaxSampleRate = 384000;
constexpr int kMaxChannels = 8;
constexpr double kAbsoluteGateLufs = -70;
constexpr double kIntegratedRelativeGateLu = -10;
constexpr double kRangeRelativeGateLu = -20;
constexpr double kRangeLowPercentile = 0.10;
constexpr double kRangeHighPercentile = 0.95;
constexpr double kFloorDb = -200;
constexpr double kPi = 3.14159265358979323846;

double energy_to_lufs(double energy) { return -0.691 + 10 * std::log10(energy); }
double lufs_to_energy(double lufs) { return std::pow(10.0, (lufs + 0.691) / 10); }
const double kAbsoluteGateEnergy = lufs_to_energy(kAbsoluteGateLufs);

double to_db(double linear) {
  return linear > 0 ? std::max(kFloorDb, 20 * std::log10(linear)) : kFloorDb;
}

struct Ebur128Deleter {
  void operator()(ebur128_state* st) const { ebur128_destroy(&st); }
};

// The gated mean of block energies (BS.1770-4 two-stage gating); nullopt when none survives.
// `relative_threshold` receives the relative gate in LUFS when given.
std::optional<double> gated_mean_lufs(const std::vector<double>& blocks, double relative_gate_lu,
                                      double* relative_threshold_lufs = nullptr) {
  double sum = 0;
  size_t count = 0;
  for (double e : blocks) {
    if (e > kAbsoluteGateEnergy) {
      sum += e;
      ++count;
    }
  }
  if (count == 0) return std::nullopt;
  const double threshold_lufs = energy_to_lufs(sum / static_cast<double>(count)) + relative_gate_lu;
  if (relative_threshold_lufs != nullptr) *relative_threshold_lufs = threshold_lufs;
  const double threshold = std::max(lufs_to_energy(threshold_lufs), kAbsoluteGateEnergy);
  sum = 0;
  count = 0;
  for (double e : blocks) {
    if (e > kAbsoluteGateEnergy && e >= threshold) {
      sum += e;
      ++count;
    }
  }
  if (count == 0) return std::nullopt;
  return energy_to_lufs(sum / static_cast<double>(count));
}

// True peak (BS.1770-4 Annex 2): the largest |x| of the signal oversampled 4x (2x from 96 kHz,
// none from 192 kHz) by a windowed-sinc interpolator, 12 input samples per interpolated value
// (Hann window over +-6 samples). Blocks of input whose largest |sample| times the filter's
// gain (the sum of |taps|) cannot beat the peak found so far are skipped: the result is exact,
// and after the first loud passage almost every block is skipped.
class TruePeak {
 public:
  TruePeak(int sample_rate, int channels)
      : channels_(channels),
        factor_(sample_rate < 96000    ? 4
                : sample_rate < 192000 ? 2
                                       : 1),
        history_(static_cast<size_t>(channels), std::vector<float>(kTaps - 1, 0.0f)),
        peak_(static_cast<size_t>(channels), 0.0) {
    for (int p = 1; p < factor_; ++p) {
      const double frac = static_cast<double>(p) / factor_;
      std::array<float, kTaps> h{};
      double gain = 0;
      for (int m = 0; m < kTaps; ++m) {
        const double t = frac - (m - (kTaps / 2 - 1));  // taps at samples n-5 .. n+6
        const double sinc = std::sin(kPi * t) / (kPi * t);
        const double window = 0.5 * (1 + std::cos(kPi * t / (kTaps / 2)));
        h[m] = static_cast<float>(sinc * window);
        gain += std::abs(h[m]);
      }
      taps_.push_back(h);
      gain_ = std::max(gain_, gain);
    }
  }

  void add(const float* interleaved, size_t frames) {
    if (factor_ == 1) return;
    for (int c = 0; c < channels_; ++c) {
      std::vector<float>& x = scratch_;
      x.assign(history_[c].begin(), history_[c].end());
      for (size_t i = 0; i < frames; ++i) x.push_back(interleaved[i * channels_ + c]);
      double& peak = peak_[c];
      // Interpolate between x[n] and x[n + 1] for every n with x[n - 5 .. n + 6] available.
      const size_t count = x.size() - (kTaps - 1);
      for (size_t start = 0; start < count; start += kBlock) {
        const size_t end = std::min(count, start + kBlock);
        float top = 0;
        for (size_t i = start; i < end + kTaps - 1; ++i) top = std::max(top, std::abs(x[i]));
        if (top * gain_ <= peak) continue;
        for (size_t n = start; n < end; ++n) {
          for (const auto& h : taps_) {
            float y = 0;
            for (int m = 0; m < kTaps; ++m) y += h[m] * x[n + m];
            peak = std::max(peak, static_cast<double>(std::abs(y)));
          }
        }
      }
      history_[c].assign(x.end() - (kTaps - 1), x.end());
    }
  }

  double peak() const {
    double p = 0;
    for (double v : peak_) p = std::max(p, v);
    return p;
  }

 private:
  static constexpr int kTaps = 12;
  static constexpr size_t kBlock = 64;
  int channels_;
  int factor_;
  std::vector<std::array<float, kTaps>> taps_;  // one filter per fractional phase 1/f .. (f-1)/f
  double gain_ = 0;
  std::vector<std::vector<float>> history_;  // the last kTaps - 1 samples of each channel
  std::vector<double> peak_;
  std::vector<float> scratch_;
};

}  // namespace

struct LoudnessMeter::Impl {
  std::unique_ptr<ebur128_state, Ebur128Deleter> state;
  std::unique_ptr<TruePeak> true_peak_meter;
  int sample_rate = 0;
  int channels = 0;
  bool true_peak = true;
  size_t sub_frames = 0;        // frames per sub-block
  unsigned long sub_ms = 10;    // its nominal length, as libebur128 is asked for it
  size_t per_block = 40;        // sub-blocks per 400 ms gating block
  size_t per_hop = 10;          // sub-blocks per 100 ms step
  size_t per_short_term = 300;  // sub-blocks per 3 s short-term block
  size_t pending = 0;           // frames of the current, incomplete sub-block
  int64_t frames = 0;
  std::vector<double> energies;  // one channel-weighted mean square per complete sub-block

  // The sub-block index nearest to `ms` (clamped to the complete sub-blocks).
  size_t sub_block_at(int64_t ms) const {
    if (ms <= 0) return 0;
    const double frame = static_cast<double>(ms) * sample_rate / 1000.0;
    const auto index = static_cast<size_t>(std::llround(frame / static_cast<double>(sub_frames)));
    return std::min(index, energies.size());
  }

  double mean_energy(size_t first, size_t count) const {
    double sum = 0;
    for (size_t i = first; i < first + count; ++i) sum += energies[i];
    return sum / static_cast<double>(count);
  }

  // Energies of the blocks of `length` sub-blocks every `per_hop` from `first` inside [first, end).
  std::vector<double> blocks(size_t first, size_t end, size_t length) const {
    std::vector<double> out;
    for (size_t start = first; start + length <= end; start += per_hop) {
      out.push_back(mean_energy(start, length));
    }
    return out;
  }

  std::optional<double> integrated(size_t first, size_t end, double* threshold = nullptr) const {
    if (end <= first) return std::nullopt;
    if (end - first < per_block) {
      const double e = mean_energy(first, end - first);
      if (!(e > kAbsoluteGateEnergy)) return std::nullopt;
      return energy_to_lufs(e);
    }
    return gated_mean_lufs(blocks(first, end, per_block), kIntegratedRelativeGateLu, threshold);
  }
};

LoudnessMeter::LoudnessMeter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LoudnessMeter::~LoudnessMeter() = default;

Result<std::unique_ptr<LoudnessMeter>> LoudnessMeter::create(int sample_rate, int channels,
                                                             bool true_peak) {
  if (sample_rate < kMinSampleRate || sample_rate > kMaxSampleRate) {
    return Error::invalid_argument(
        "sample_rate (" + std::to_string(sample_rate) + ") must be within [8000, 384000] Hz",
        {{"field", "sample_rate"}});
  }
  if (channels < 1 || channels > kMaxChannels) {
    return Error::invalid_argument(
        "channels (" + std::to_string(channels) + ") must be within [1, 8]",
        {{"field", "channels"}});
  }
  auto impl = std::make_unique<Impl>();
  const int mode = EBUR128_MODE_M | EBUR128_MODE_SAMPLE_PEAK;
  impl->state.reset(
      ebur128_init(static_cast<unsigned>(channels), static_cast<unsigned long>(sample_rate), mode));
  if (!impl->state) return Error::internal("libebur128 could not be initialised");
  impl->sample_rate = sample_rate;
  impl->channels = channels;
  impl->true_peak = true_peak;
  if (true_peak) impl->true_peak_meter = std::make_unique<TruePeak>(sample_rate, channels);
  // Sub-blocks must tile the 100 ms grid in whole samples (see the header).
  if (sample_rate % 100 != 0 && sample_rate % 50 == 0) {
    impl->sub_ms = 20;
  } else {
    impl->sub_ms = 10;
  }
  impl->sub_frames = static_cast<size_t>(sample_rate) * impl->sub_ms / 1000;
  impl->per_block = 400 / impl->sub_ms;
  impl->per_hop = 100 / impl->sub_ms;
  impl->per_short_term = 3000 / impl->sub_ms;
  return std::unique_ptr<LoudnessMeter>(new LoudnessMeter(std::move(impl)));
}

Status LoudnessMeter::add(const float* interleaved, size_t frames) {
  if (frames == 0) return {};
  if (interleaved == nullptr) {
    return Error::invalid_argument("samples must not be null when frames > 0",
                                   {{"field", "samples"}});
  }
  Impl& m = *impl_;
  const size_t values = frames * static_cast<size_t>(m.channels);
  for (size_t i = 0; i < values; ++i) {
    if (!std::isfinite(interleaved[i])) {
      return Error::invalid_argument(
          "samples must be finite (sample " + std::to_string(i) + " is not)",
          {{"field", "samples"}, {"index", i}});
    }
  }
  if (m.true_peak_meter) m.true_peak_meter->add(interleaved, frames);
  size_t done = 0;
  while (done < frames) {
    const size_t n = std::min(frames - done, m.sub_frames - m.pending);
    if (ebur128_add_frames_float(m.state.get(), interleaved + done * m.channels, n) !=
        EBUR128_SUCCESS) {
      return Error::internal("libebur128 failed to add frames");
    }
    done += n;
    m.pending += n;
    if (m.pending == m.sub_frames) {
      double lufs = 0;
      if (ebur128_loudness_window(m.state.get(), m.sub_ms, &lufs) != EBUR128_SUCCESS) {
        return Error::internal("libebur128 failed to measure a sub-block");
      }
      m.energies.push_back(std::isfinite(lufs) ? lufs_to_energy(lufs) : 0.0);
      m.pending = 0;
    }
  }
  m.frames += static_cast<int64_t>(frames);
  return {};
}

LoudnessSummary LoudnessMeter::summary() const {
  const Impl& m = *impl_;
  LoudnessSummary s;
  s.duration_ms = m.frames * 1000 / m.sample_rate;
  double threshold = 0;
  s.integrated_lufs = m.energies.size() >= m.per_block
                          ? m.integrated(0, m.energies.size(), &threshold)
                          : std::nullopt;
  if (s.integrated_lufs) s.relative_threshold_lufs = threshold;

  // Loudness range (EBU Tech 3342) on short-term blocks every 100 ms.
  const std::vector<double> short_term = m.blocks(0, m.energies.size(), m.per_short_term);
  double sum = 0;
  size_t count = 0;
  for (double e : short_term) {
    if (e > kAbsoluteGateEnergy) {
      sum += e;
      ++count;
    }
  }
  if (count > 0) {
    const double gate = energy_to_lufs(sum / static_cast<double>(count)) + kRangeRelativeGateLu;
    std::vector<double> kept;
    for (double e : short_term) {
      if (e > kAbsoluteGateEnergy && energy_to_lufs(e) >= gate) kept.push_back(energy_to_lufs(e));
    }
    if (!kept.empty()) {
      std::sort(kept.begin(), kept.end());
      const auto at = [&](double p) {
        const auto rank = static_cast<size_t>(p * static_cast<double>(kept.size()) + 0.5);
        return kept[std::clamp<size_t>(rank, 1, kept.size()) - 1];
      };
      s.lra_low_lufs = at(kRangeLowPercentile);
      s.lra_high_lufs = at(kRangeHighPercentile);
      s.loudness_range_lu = *s.lra_high_lufs - *s.lra_low_lufs;
    }
  }

  double sample_peak = 0, true_peak = 0;
  for (int ch = 0; ch < m.channels; ++ch) {
    double p = 0;
    if (ebur128_sample_peak(m.state.get(), static_cast<unsigned>(ch), &p) == EBUR128_SUCCESS) {
      sample_peak = std::max(sample_peak, p);
    }
  }
  if (m.true_peak_meter) true_peak = m.true_peak_meter->peak();
  s.sample_peak_dbfs = to_db(sample_peak);
  s.true_peak_dbtp = to_db(std::max(true_peak, sample_peak));
  return s;
}

std::optional<double> LoudnessMeter::integrated_lufs(int64_t start_ms, int64_t end_ms) const {
  return impl_->integrated(impl_->sub_block_at(start_ms), impl_->sub_block_at(end_ms));
}

std::optional<double> LoudnessMeter::mean_lufs(int64_t start_ms, int64_t end_ms) const {
  const size_t first = impl_->sub_block_at(start_ms);
  const size_t end = impl_->sub_block_at(end_ms);
  if (end <= first) return std::nullopt;
  const double e = impl_->mean_energy(first, end - first);
  if (!(e > 0)) return std::nullopt;
  return energy_to_lufs(e);
}

int64_t LoudnessMeter::frames_added() const { return impl_->frames; }
int LoudnessMeter::sample_rate() const { return impl_->sample_rate; }
int LoudnessMeter::channels() const { return impl_->channels; }

Result<LoudnessSummary> measure_loudness(const float* interleaved, size_t frames, int sample_rate,
                                         int channels, bool true_peak) {
  ATOMCUT_ASSIGN_OR_RETURN(auto meter, LoudnessMeter::create(sample_rate, channels, true_peak));
  ATOMCUT_TRY(meter->add(interleaved, frames));
  return meter->summary();
}

std::string loudness_backend_version() {
  int major = 0, minor = 0, patch = 0;
  ebur128_get_version(&major, &minor, &patch);
  return "libebur128 " + std::to_string(major) + "." + std::to_string(minor) + "." +
         std::to_string(patch);
}

}  // namespace atomcut

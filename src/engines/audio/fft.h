// The FFTs of the audio engines: radix-2, float, fixed size, no allocation per call. The
// arithmetic is spelled out (std::complex multiplication checks for infinities and NaNs on every
// product, which costs more than the transform).
#pragma once

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

namespace atomcut {

// In-place iterative radix-2 complex FFT of a fixed size (interleaved re, im). The arithmetic is
// spelled out: std::complex multiplication checks for infinities and NaNs on every product.
class Fft {
 public:
  explicit Fft(int n) : n_(n), rev_(n) {
    for (int len = 2; len <= n; len <<= 1) {
      for (int j = 0; j < len / 2; ++j) {
        const double angle = -2 * std::numbers::pi * j / len;
        twiddle_.push_back(static_cast<float>(std::cos(angle)));
        twiddle_.push_back(static_cast<float>(std::sin(angle)));
      }
    }
    int bits = 0;
    while ((1 << bits) < n) ++bits;
    for (int i = 0; i < n; ++i) {
      int r = 0;
      for (int b = 0; b < bits; ++b) r |= ((i >> b) & 1) << (bits - 1 - b);
      rev_[i] = r;
    }
  }
  void forward(float* a) const {
    for (int i = 0; i < n_; ++i) {
      if (i < rev_[i]) {
        std::swap(a[2 * i], a[2 * rev_[i]]);
        std::swap(a[2 * i + 1], a[2 * rev_[i] + 1]);
      }
    }
    const float* tw = twiddle_.data();
    for (int len = 2; len <= n_; len <<= 1) {
      const int half = len / 2;
      for (int i = 0; i < n_; i += len) {
        float* x = a + 2 * i;
        float* y = a + 2 * (i + half);
        for (int j = 0; j < half; ++j) {
          const float wr = tw[2 * j], wi = tw[2 * j + 1];
          const float vr = y[2 * j] * wr - y[2 * j + 1] * wi;
          const float vi = y[2 * j] * wi + y[2 * j + 1] * wr;
          const float ur = x[2 * j], ui = x[2 * j + 1];
          x[2 * j] = ur + vr;
          x[2 * j + 1] = ui + vi;
          y[2 * j] = ur - vr;
          y[2 * j + 1] = ui - vi;
        }
      }
      tw += 2 * half;
    }
  }

 private:
  int n_;
  std::vector<float> twiddle_;  // per stage, (re, im) for j < len / 2
  std::vector<int> rev_;
};

// The FFT of `n` real values through a complex FFT of n / 2: out[0..n/2] as (re, im) pairs.
class RealFft {
 public:
  explicit RealFft(int n) : n_(n), fft_(n / 2), z_(n), twiddle_(n + 2) {
    for (int k = 0; k <= n / 2; ++k) {
      twiddle_[2 * k] = static_cast<float>(std::cos(-2 * std::numbers::pi * k / n));
      twiddle_[2 * k + 1] = static_cast<float>(std::sin(-2 * std::numbers::pi * k / n));
    }
  }
  void forward(const float* in, float* out) {
    const int m = n_ / 2;
    std::copy(in, in + n_, z_.begin());  // pairs of reals read as complex values
    fft_.forward(z_.data());
    for (int k = 0; k <= m; ++k) {
      const int i = k % m, j = (m - k) % m;
      const float ar = z_[2 * i], ai = z_[2 * i + 1];
      const float br = z_[2 * j], bi = -z_[2 * j + 1];  // conj(z[m - k])
      const float er = 0.5f * (ar + br), ei = 0.5f * (ai + bi);
      // odd = -i/2 * (a - b)
      const float orr = 0.5f * (ai - bi), oi = -0.5f * (ar - br);
      const float wr = twiddle_[2 * k], wi = twiddle_[2 * k + 1];
      out[2 * k] = er + orr * wr - oi * wi;
      out[2 * k + 1] = ei + orr * wi + oi * wr;
    }
  }

 private:
  int n_;
  Fft fft_;
  std::vector<float> z_;
  std::vector<float> twiddle_;
};

}  // namespace atomcut

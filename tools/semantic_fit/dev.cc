#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>
#include "engines/audio/audio_decoder.h"
#include "engines/audio/audio_semantic.cc"  // the classifier's own feature code
using namespace atomcut;

// usage: dev label gap_ms file... : concatenates files with gaps, prints window feature vectors
// every 0.5 s
int main(int argc, char** argv) {
  std::string label = argv[1];
  int gap_ms = atoi(argv[2]);
  std::vector<float> all;
  std::mt19937 rng(1);
  std::normal_distribution<float> g(0, 1);
  for (int i = 3; i < argc; ++i) {
    auto d = decode_audio(argv[i], {48000, 1});
    if (!d.ok()) {
      fprintf(stderr, "decode fail %s\n", argv[i]);
      continue;
    }
    all.insert(all.end(), d->samples.begin(), d->samples.end());
    for (int k = 0; k < gap_ms * 48; ++k) all.push_back(0.0003f * g(rng));
  }
  FeatureExtractor fx(48000);
  fx.push(all.data(), all.size());
  fx.finish();
  auto& fr = fx.frames();
  auto sm = find_silence(fr);
  auto der = derive(fr);
  fprintf(stderr, "%s: %.1f s, threshold %.1f dB\n", label.c_str(), fr.size() / 100.0,
          sm.threshold_db);
  for (size_t t = 25; t < fr.size(); t += 50) {
    if (sm.silent[t]) continue;
    const char* names[] = {"lster",   "estd",  "flux",   "fluxcv", "flat",   "vad",
                           "persist", "pstab", "voiced", "mod4",   "rhythm", "glide"};
    const size_t n = fr.size();
    std::pair<size_t, size_t> wins[3] = {{t > 100 ? t - 100 : 0, std::min(n, t + 101)},
                                         {t > 100 ? t - 100 : 0, t},
                                         {t, std::min(n, t + 100)}};
    const char* kinds[3] = {"c", "l", "r"};
    for (int w = 0; w < 3; ++w) {
      if (w > 0 && getenv("CENTRED_ONLY")) continue;
      FeatureVector v;
      if (!window_features(fr, der, sm.silent, wins[w].first, wins[w].second, v)) continue;
      printf("%s %.2f%s", label.c_str(), t / 100.0, kinds[w]);
      for (int k = 0; k < kFeatureCount; ++k) printf(" %s %.4f", names[k], v[k]);
      printf("\n");
    }
  }
}

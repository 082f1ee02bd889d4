// Speech recognition and forced alignment for the Audio atom, on CMU PocketSphinx with its US
// English model (Debian: libpocketsphinx-dev 5prealpha, pocketsphinx-en-us). A pure engine on
// 16 kHz mono PCM: no HTTP types, no file decoding (engines/audio/audio_decoder.h makes the PCM).
//
// recognize():
//  - The input is cut into chunks of about `chunk_seconds`: each cut is placed at the quietest
//    200 ms of the window [chunk_seconds - W, chunk_seconds + W] after the previous cut
//    (W = min(chunk_seconds / 4, 5 s)), so cuts fall into pauses, not into words. Each chunk is
//    one PocketSphinx utterance (n-gram search, then the lattice's best path) with its own
//    cepstral mean, so the result of a chunk does not depend on what came before. Memory is
//    bounded by one chunk: the input is converted to int16 a chunk at a time (never copied whole)
//    and the decoder's features, search and lattice cover one chunk. A chunk whose loudest 100 ms
//    stays below -55 dBFS is not decoded (silence).
//  - Words carry absolute times (10 ms frames) and their lattice posterior as confidence (0..1).
//    Fillers and noise (<s>, </s>, <sil>, [NOISE], ...) are dropped and alternative
//    pronunciations are reported by their base word ("read(2)" -> "read").
//  - Segments: words are grouped into one segment until a pause of 500 ms or more, or a chunk
//    boundary. A segment's confidence is the mean of its words' confidences.
//  - Silence or empty input gives no segments (not an error).
//  - Measured (tests/unit/asr_pocketsphinx_test.cc): WER 2.2% on clean synthesised 16 kHz speech,
//    59% on real 8 kHz telephone prompts upsampled to 16 kHz (the model wants wideband speech);
//    about a quarter of real time on one core.
//
// align(): forced alignment of a known script. The text is normalised (normalise_words) and
// turned into a linear grammar (PocketSphinx FSG search with optional silence and noise between
// words and every pronunciation of each word), decoded over the whole input in one utterance.
// Returns one AsrWord per script word, in order; its confidence is the word's posterior in the
// script-constrained lattice, which is about 1 for every aligned word (it says that the word
// aligned, not how well the audio matches it). Word boundaries come out within about 20 ms of the
// truth (median, on flite words joined by known silences). Errors: invalid_argument when a word is
// not in the pronouncing dictionary (details.oov_words lists them; PocketSphinx 5prealpha has no
// letter-to-sound fallback), when the text has no word, or when the audio cannot be matched to
// the whole script (details.aligned_words / details.script_words). Empty input with a non-empty
// script is invalid_argument too. The whole input is one utterance, so align() is meant for
// caption-sized inputs (the decoder's memory grows with the input length; it is refused beyond
// 10 minutes with invalid_argument).
//
// Thread safety: one decoder per instance; calls on the same instance are serialised by a
// mutex. Separate instances are independent. Note that PocketSphinx's logging is global: create()
// silences it for the process.
#pragma once

#include "core/error.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace atomcut {

struct AsrWord {
  std::string word;  // lower case, as in the dictionary (no "(2)" variant suffix)
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  double confidence = 0;  // 0..1
};

struct AsrSegment {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  std::string text;  // the words joined by single spaces
  double confidence = 0;
  std::vector<AsrWord> words;
};

struct AsrResult {
  std::vector<AsrSegment> segments;
  std::string language = "en";
  std::string model_used;       // "cmusphinx-en-us-ptm-5.2"; "cmusphinx:<acoustic model dir>"
                                // for a model_dir given in the options
  std::string backend_version;  // "pocketsphinx 5prealpha"
  int64_t duration_ms = 0;      // of the input
};

struct AsrOptions {
  // A directory holding the acoustic model folder `en-us/` (mdef, means, ...), `en-us.lm.bin`
  // and `cmudict-en-us.dict` (the layout of Debian's pocketsphinx-en-us), or the acoustic model
  // folder itself with the language model and dictionary beside it or in its parent. Empty:
  // /usr/share/pocketsphinx/model/en-us, then /usr/local/share/pocketsphinx/model/en-us.
  std::string model_dir;
  int chunk_seconds = 30;  // 5..600
};

class PocketsphinxAsr {
 public:
  // unavailable: the model files are missing (details.missing lists the paths) or PocketSphinx
  // refuses them. invalid_argument: chunk_seconds out of range.
  static Result<std::unique_ptr<PocketsphinxAsr>> create(const AsrOptions& options = {});
  ~PocketsphinxAsr();
  PocketsphinxAsr(const PocketsphinxAsr&) = delete;
  PocketsphinxAsr& operator=(const PocketsphinxAsr&) = delete;

  // 16 kHz mono samples, float nominally in [-1, 1] (clipped) or int16. invalid_argument: null
  // with frames > 0, a non-finite sample. internal: PocketSphinx failed.
  Result<AsrResult> recognize(const float* pcm16k_mono, size_t frames);
  Result<AsrResult> recognize(const int16_t* pcm16k_mono, size_t frames);

  // Forced alignment of `text` (see above).
  Result<std::vector<AsrWord>> align(const float* pcm16k_mono, size_t frames,
                                     const std::string& text);
  Result<std::vector<AsrWord>> align(const int16_t* pcm16k_mono, size_t frames,
                                     const std::string& text);

  // Whether `word` (already normalised) is in the pronouncing dictionary.
  bool in_dictionary(const std::string& word);

  const std::string& model_used() const { return model_used_; }
  static std::string backend_version();

 private:
  struct Impl;
  explicit PocketsphinxAsr(std::unique_ptr<Impl> impl, std::string model_used, int chunk_seconds);
  // Exactly one of f and s is used (the other is null); both null with n > 0 is an error.
  Result<AsrResult> recognize_pcm(const float* f, const int16_t* s, size_t n);
  Result<std::vector<AsrWord>> align_pcm(const float* f, const int16_t* s, size_t n,
                                         const std::string& text);

  std::mutex mu_;
  std::unique_ptr<Impl> impl_;
  std::string model_used_;
  int chunk_seconds_ = 30;
};

// Word error rate: the word-level Levenshtein distance (substitutions + deletions + insertions,
// each costing 1) divided by the reference length (so it can exceed 1). Empty reference: 0 when
// the hypothesis is empty too, else 1.
double word_error_rate(const std::vector<std::string>& reference,
                       const std::vector<std::string>& hypothesis);

// Lower-cases ASCII, keeps letters, digits and apostrophes inside words ("don't"), and splits on
// everything else (spaces, punctuation, hyphens). Leading and trailing apostrophes are dropped.
std::vector<std::string> normalise_words(const std::string& text);

}  // namespace atomcut

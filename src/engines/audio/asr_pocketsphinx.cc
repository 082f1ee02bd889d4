#include "engines/audio/asr_pocketsphinx.h"

#include <pocketsphinx.h>
#include <sphinxbase/ckd_alloc.h>
#include <sphinxbase/cmd_ln.h>
#include <sphinxbase/err.h>
#include <sphinxbase/fsg_model.h>
#include <sphinxbase/logmath.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <utility>

namespace atomcut {

namespace fs = std::filesystem;

namespace {

constexpr int kRate = 16000;
constexpr size_t kFrameSamples = kRate / 100;  // PocketSphinx's 10 ms frame
constexpr int64_t kSegmentPauseMs = 500;
constexpr double kSilenceRms = 32768.0 * 0.0017782794;  // -55 dBFS
constexpr size_t kAlignMaxSamples = static_cast<size_t>(kRate) * 600;
constexpr const char* kDefaultModelName = "cmusphinx-en-us-ptm-5.2";
constexpr const char* kAlignSearch = "atomcut_align";

int64_t samples_to_ms(size_t samples) { return static_cast<int64_t>(samples / (kRate / 1000)); }

// Fillers and noise: "<s>", "</s>", "<sil>", "[NOISE]", "++NOISE++", "[BREATH]", ...
bool is_filler(const std::string& w) {
  return w.empty() || w[0] == '<' || w[0] == '[' || (w.size() > 1 && w[0] == '+' && w[1] == '+');
}

// "read(2)" -> "read"
std::string base_word(const char* w) {
  std::string s = w ? w : "";
  if (!s.empty() && s.back() == ')') {
    const auto open = s.rfind('(');
    if (open != std::string::npos && open > 0) s.resize(open);
  }
  return s;
}

void silence_pocketsphinx_logging() {
  static std::once_flag once;
  std::call_once(once, [] { err_set_logfp(nullptr); });
}

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

struct ModelPaths {
  fs::path hmm, lm, dict;
};

// Resolves the three model paths from `dir` (see AsrOptions::model_dir); the paths that are not
// there are appended to `missing`.
ModelPaths resolve_model(const fs::path& dir, std::vector<std::string>& missing) {
  ModelPaths p;
  if (is_file(dir / "mdef")) {
    p.hmm = dir;
    for (const fs::path& d : {dir, dir.parent_path()}) {
      if (p.lm.empty() && is_file(d / "en-us.lm.bin")) p.lm = d / "en-us.lm.bin";
      if (p.dict.empty() && is_file(d / "cmudict-en-us.dict")) p.dict = d / "cmudict-en-us.dict";
    }
    if (p.lm.empty()) missing.push_back((dir.parent_path() / "en-us.lm.bin").string());
    if (p.dict.empty()) missing.push_back((dir.parent_path() / "cmudict-en-us.dict").string());
    return p;
  }
  p.hmm = dir / "en-us";
  p.lm = dir / "en-us.lm.bin";
  p.dict = dir / "cmudict-en-us.dict";
  for (const char* f : {"mdef", "means", "variances", "transition_matrices", "noisedict"}) {
    if (!is_file(p.hmm / f)) missing.push_back((p.hmm / f).string());
  }
  if (!is_file(p.lm)) missing.push_back(p.lm.string());
  if (!is_file(p.dict)) missing.push_back(p.dict.string());
  return p;
}

// --- the PCM source: float or int16, converted to int16 on demand ------------------------------

class Source {
 public:
  Source(const float* f, const int16_t* s, size_t n) : f_(f), s_(s), n_(n) {}
  size_t size() const { return n_; }

  // invalid_argument for a null pointer with samples or a non-finite float sample.
  Status validate() const {
    if (n_ == 0) return {};
    if (f_ == nullptr && s_ == nullptr) return Error::invalid_argument("the pcm pointer is null");
    if (f_ != nullptr) {
      for (size_t i = 0; i < n_; ++i) {
        if (!std::isfinite(f_[i])) {
          return Error::invalid_argument("pcm has a non-finite sample", {{"index", i}});
        }
      }
    }
    return {};
  }

  // Copies samples [from, from + count) as int16 into `out`.
  void fill(size_t from, size_t count, int16_t* out) const {
    if (s_ != nullptr) {
      std::copy(s_ + from, s_ + from + count, out);
      return;
    }
    for (size_t i = 0; i < count; ++i) {
      const float v = std::clamp(f_[from + i], -1.0f, 1.0f) * 32767.0f;
      out[i] = static_cast<int16_t>(std::lrint(v));
    }
  }

  // Sum of squares (int16 scale) of each 10 ms frame in [from, to), (to - from) / 160 values.
  std::vector<double> frame_energies(size_t from, size_t to) const {
    std::vector<double> e;
    e.reserve((to - from) / kFrameSamples + 1);
    std::array<int16_t, kFrameSamples> buf{};
    for (size_t pos = from; pos + kFrameSamples <= to; pos += kFrameSamples) {
      fill(pos, kFrameSamples, buf.data());
      double sum = 0;
      for (int16_t v : buf) sum += static_cast<double>(v) * v;
      e.push_back(sum);
    }
    return e;
  }

 private:
  const float* f_ = nullptr;
  const int16_t* s_ = nullptr;
  size_t n_ = 0;
};

// Sliding sums of `width` consecutive values.
std::vector<double> sliding_sums(const std::vector<double>& v, size_t width) {
  std::vector<double> out;
  if (v.size() < width || width == 0) return out;
  double sum = 0;
  for (size_t i = 0; i < width; ++i) sum += v[i];
  out.push_back(sum);
  for (size_t i = width; i < v.size(); ++i) {
    sum += v[i] - v[i - width];
    out.push_back(sum);
  }
  return out;
}

}  // namespace

// --- the decoder --------------------------------------------------------------------------------

struct PocketsphinxAsr::Impl {
  cmd_ln_t* config = nullptr;
  ps_decoder_t* ps = nullptr;
  std::string default_search;

  ~Impl() {
    if (ps != nullptr) ps_free(ps);
    if (config != nullptr) cmd_ln_free_r(config);
  }

  double posterior(int32 log_prob) const {
    const double p = logmath_exp(ps_get_logmath(ps), log_prob);
    return std::clamp(std::isfinite(p) ? p : 0.0, 0.0, 1.0);
  }

  // Decodes samples [from, to) of `src` as one utterance with the current search; the words
  // (fillers dropped) with times relative to the input's start. The samples go in with one call
  // marked as the full utterance, so the cepstral mean is that of this utterance (batch CMN, as
  // the model's feat.params asks): a chunk decodes the same whatever was decoded before it. Fed
  // in pieces, the first utterance of a decoder runs on the model's initial mean and comes out
  // much worse on band-limited speech.
  Result<std::vector<AsrWord>> decode(const Source& src, size_t from, size_t to) {
    // ps_start_stream resets the frame counter the segment times count from.
    if (ps_start_stream(ps) < 0 || ps_start_utt(ps) < 0) {
      return Error::internal("pocketsphinx: cannot start an utterance");
    }
    std::vector<int16_t> buf(to - from);
    src.fill(from, to - from, buf.data());
    if (ps_process_raw(ps, buf.data(), buf.size(), FALSE, TRUE) < 0) {
      ps_end_utt(ps);
      return Error::internal("pocketsphinx: cannot process audio");
    }
    if (ps_end_utt(ps) < 0) return Error::internal("pocketsphinx: cannot end the utterance");
    std::vector<AsrWord> words;
    int32 score = 0;
    if (ps_get_hyp(ps, &score) == nullptr) return words;
    const int64_t offset_ms = samples_to_ms(from);
    const int frate = cmd_ln_int32_r(config, "-frate");
    for (ps_seg_t* seg = ps_seg_iter(ps); seg != nullptr; seg = ps_seg_next(seg)) {
      const std::string w = base_word(ps_seg_word(seg));
      if (is_filler(w)) continue;
      int sf = 0, ef = 0;
      ps_seg_frames(seg, &sf, &ef);
      int32 ascr = 0, lscr = 0, lback = 0;
      const int32 prob = ps_seg_prob(seg, &ascr, &lscr, &lback);
      AsrWord word;
      word.word = w;
      word.start_ms = offset_ms + static_cast<int64_t>(sf) * 1000 / frate;
      word.end_ms = offset_ms + static_cast<int64_t>(ef + 1) * 1000 / frate;
      word.confidence = posterior(prob);
      words.push_back(std::move(word));
    }
    return words;
  }
};

PocketsphinxAsr::PocketsphinxAsr(std::unique_ptr<Impl> impl, std::string model_used,
                                 int chunk_seconds)
    : impl_(std::move(impl)), model_used_(std::move(model_used)), chunk_seconds_(chunk_seconds) {}

PocketsphinxAsr::~PocketsphinxAsr() = default;

std::string PocketsphinxAsr::backend_version() { return "pocketsphinx 5prealpha"; }

Result<std::unique_ptr<PocketsphinxAsr>> PocketsphinxAsr::create(const AsrOptions& options) {
  if (options.chunk_seconds < 5 || options.chunk_seconds > 600) {
    return Error::invalid_argument("chunk_seconds must be in [5, 600]",
                                   {{"chunk_seconds", options.chunk_seconds}});
  }
  std::vector<std::string> missing;
  ModelPaths paths;
  if (!options.model_dir.empty()) {
    paths = resolve_model(options.model_dir, missing);
  } else {
    for (const char* dir :
         {"/usr/share/pocketsphinx/model/en-us", "/usr/local/share/pocketsphinx/model/en-us"}) {
      std::vector<std::string> m;
      ModelPaths p = resolve_model(dir, m);
      if (m.empty()) {
        paths = std::move(p);
        missing.clear();
        break;
      }
      if (missing.empty()) missing = std::move(m);
    }
  }
  if (!missing.empty()) {
    return Error::unavailable("the pocketsphinx English model (pocketsphinx-en-us) is missing",
                              {{"missing", missing}});
  }
  silence_pocketsphinx_logging();
  auto impl = std::make_unique<Impl>();
  const std::string hmm = paths.hmm.string(), lm = paths.lm.string(), dict = paths.dict.string();
  // -remove_silence no: PocketSphinx's VAD would drop frames and shift the word times.
  // -remove_noise no: its spectral subtraction hurts on band-limited input (telephone speech
  // upsampled to 16 kHz: WER 79% with it, 64% without on 25 asterisk prompts) and is neutral to
  // slightly better on clean 16 kHz speech (flite voices).
  std::vector<std::string> args = {"atomcut", "-hmm",          hmm,  "-lm",
                                   lm,        "-dict",         dict, "-remove_silence",
                                   "no",      "-remove_noise", "no"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  impl->config =
      cmd_ln_parse_r(nullptr, ps_args(), static_cast<int32>(argv.size()), argv.data(), TRUE);
  if (impl->config == nullptr) {
    return Error::unavailable("pocketsphinx refused its configuration", {{"hmm", hmm}});
  }
  impl->ps = ps_init(impl->config);
  if (impl->ps == nullptr) {
    return Error::unavailable("pocketsphinx could not load the model", {{"hmm", hmm}});
  }
  // The n-gram search ps_init made from -lm. (Not asked with ps_get_search, which leaks an
  // iterator in 5prealpha.)
  impl->default_search = "_default";
  if (ps_set_search(impl->ps, impl->default_search.c_str()) < 0) {
    return Error::unavailable("pocketsphinx has no n-gram search", {{"lm", lm}});
  }
  std::string used = options.model_dir.empty() ? std::string(kDefaultModelName)
                                               : "cmusphinx:" + paths.hmm.string();
  return std::unique_ptr<PocketsphinxAsr>(
      new PocketsphinxAsr(std::move(impl), std::move(used), options.chunk_seconds));
}

bool PocketsphinxAsr::in_dictionary(const std::string& word) {
  std::lock_guard<std::mutex> lock(mu_);
  char* pron = ps_lookup_word(impl_->ps, word.c_str());
  if (pron == nullptr) return false;
  ckd_free(pron);
  return true;
}

// --- recognition --------------------------------------------------------------------------------

namespace {

// The loudest 100 ms (RMS, int16 scale) of [from, to).
double loudest_rms(const Source& src, size_t from, size_t to) {
  const std::vector<double> e = src.frame_energies(from, to);
  if (e.empty()) return 0;
  const size_t width = std::min<size_t>(10, e.size());
  const std::vector<double> sums = sliding_sums(e, width);
  const double best = *std::max_element(sums.begin(), sums.end());
  return std::sqrt(best / static_cast<double>(width * kFrameSamples));
}

// The end of the chunk that starts at `start` (see the header).
size_t chunk_end(const Source& src, size_t start, size_t chunk_samples) {
  const size_t n = src.size();
  const size_t window = std::min(chunk_samples / 4, static_cast<size_t>(5 * kRate));
  if (n - start <= chunk_samples + window) return n;
  const size_t lo = start + chunk_samples - window;
  const size_t hi = start + chunk_samples + window;
  const std::vector<double> e = src.frame_energies(lo, hi);
  const size_t width = 20;  // 200 ms
  const std::vector<double> sums = sliding_sums(e, width);
  if (sums.empty()) return start + chunk_samples;
  // The quietest window; ties go to the one nearest the target.
  const size_t target = (sums.size() - 1) / 2;
  size_t best = 0;
  for (size_t i = 1; i < sums.size(); ++i) {
    const auto dist = [&](size_t k) { return k > target ? k - target : target - k; };
    if (sums[i] < sums[best] || (sums[i] == sums[best] && dist(i) < dist(best))) best = i;
  }
  return lo + (best + width / 2) * kFrameSamples;
}

void add_segments(std::vector<AsrWord> words, std::vector<AsrSegment>& out) {
  AsrSegment seg;
  const auto flush = [&] {
    if (seg.words.empty()) return;
    seg.start_ms = seg.words.front().start_ms;
    seg.end_ms = seg.words.back().end_ms;
    double sum = 0;
    for (const AsrWord& w : seg.words) {
      if (!seg.text.empty()) seg.text += ' ';
      seg.text += w.word;
      sum += w.confidence;
    }
    seg.confidence = sum / static_cast<double>(seg.words.size());
    out.push_back(std::move(seg));
    seg = AsrSegment{};
  };
  for (AsrWord& w : words) {
    if (!seg.words.empty() && w.start_ms - seg.words.back().end_ms >= kSegmentPauseMs) flush();
    seg.words.push_back(std::move(w));
  }
  flush();
}

}  // namespace

Result<AsrResult> PocketsphinxAsr::recognize(const float* pcm16k_mono, size_t frames) {
  return recognize_pcm(pcm16k_mono, nullptr, frames);
}

Result<AsrResult> PocketsphinxAsr::recognize(const int16_t* pcm16k_mono, size_t frames) {
  return recognize_pcm(nullptr, pcm16k_mono, frames);
}

Result<AsrResult> PocketsphinxAsr::recognize_pcm(const float* f, const int16_t* s, size_t n) {
  const Source src(f, s, n);
  ATOMCUT_TRY(src.validate());
  AsrResult result;
  result.model_used = model_used_;
  result.backend_version = backend_version();
  result.duration_ms = samples_to_ms(src.size());
  std::lock_guard<std::mutex> lock(mu_);
  if (ps_set_search(impl_->ps, impl_->default_search.c_str()) < 0) {
    return Error::internal("pocketsphinx: cannot select the n-gram search");
  }
  const size_t chunk_samples = static_cast<size_t>(chunk_seconds_) * kRate;
  size_t start = 0;
  while (start < src.size()) {
    const size_t end = chunk_end(src, start, chunk_samples);
    if (loudest_rms(src, start, end) >= kSilenceRms) {
      ATOMCUT_ASSIGN_OR_RETURN(std::vector<AsrWord> words, impl_->decode(src, start, end));
      add_segments(std::move(words), result.segments);
    }
    start = end;
  }
  return result;
}

// --- forced alignment ---------------------------------------------------------------------------

Result<std::vector<AsrWord>> PocketsphinxAsr::align(const float* pcm16k_mono, size_t frames,
                                                    const std::string& text) {
  return align_pcm(pcm16k_mono, nullptr, frames, text);
}

Result<std::vector<AsrWord>> PocketsphinxAsr::align(const int16_t* pcm16k_mono, size_t frames,
                                                    const std::string& text) {
  return align_pcm(nullptr, pcm16k_mono, frames, text);
}

Result<std::vector<AsrWord>> PocketsphinxAsr::align_pcm(const float* f, const int16_t* s, size_t n,
                                                        const std::string& text) {
  const Source src(f, s, n);
  ATOMCUT_TRY(src.validate());
  const std::vector<std::string> script = normalise_words(text);
  if (script.empty()) return Error::invalid_argument("the text to align has no word");
  if (src.size() == 0) return Error::invalid_argument("no audio to align the text to");
  if (src.size() > kAlignMaxSamples) {
    return Error::invalid_argument("align() takes at most 10 minutes of audio",
                                   {{"duration_ms", samples_to_ms(src.size())}});
  }
  std::lock_guard<std::mutex> lock(mu_);
  ps_decoder_t* ps = impl_->ps;
  std::vector<std::string> oov;
  for (const std::string& w : script) {
    char* pron = ps_lookup_word(ps, w.c_str());
    if (pron == nullptr) {
      if (std::find(oov.begin(), oov.end(), w) == oov.end()) oov.push_back(w);
    } else {
      ckd_free(pron);
    }
  }
  if (!oov.empty()) {
    std::string list;
    for (const std::string& w : oov) list += (list.empty() ? "" : ", ") + w;
    return Error::invalid_argument("words not in the pronouncing dictionary: " + list,
                                   {{"oov_words", oov}});
  }

  // A linear grammar: state i -(word i)-> state i + 1; the search adds the alternative
  // pronunciations and optional silence/noise self-loops on every state.
  const auto n_words = static_cast<int32>(script.size());
  fsg_model_t* fsg = fsg_model_init(kAlignSearch, ps_get_logmath(ps), 1.0f, n_words + 1);
  fsg->start_state = 0;
  fsg->final_state = n_words;
  for (int32 i = 0; i < n_words; ++i) {
    const int32 wid = fsg_model_word_add(fsg, script[static_cast<size_t>(i)].c_str());
    fsg_model_trans_add(fsg, i, i + 1, 0, wid);
  }
  const int set = ps_set_fsg(ps, kAlignSearch, fsg);
  fsg_model_free(fsg);  // the search holds its own reference
  if (set < 0) return Error::internal("pocketsphinx: cannot build the alignment grammar");
  const auto restore = [&] {
    ps_set_search(ps, impl_->default_search.c_str());
    ps_unset_search(ps, kAlignSearch);
  };
  if (ps_set_search(ps, kAlignSearch) < 0) {
    restore();
    return Error::internal("pocketsphinx: cannot select the alignment grammar");
  }
  Result<std::vector<AsrWord>> decoded = impl_->decode(src, 0, src.size());
  restore();
  if (!decoded.ok()) return decoded.take_error();
  std::vector<AsrWord> words = std::move(decoded).value();
  bool complete = words.size() == script.size();
  for (size_t i = 0; complete && i < words.size(); ++i) complete = words[i].word == script[i];
  if (!complete) {
    return Error::invalid_argument(
        "the audio does not match the text",
        {{"aligned_words", words.size()}, {"script_words", script.size()}});
  }
  return words;
}

// --- text helpers -------------------------------------------------------------------------------

double word_error_rate(const std::vector<std::string>& reference,
                       const std::vector<std::string>& hypothesis) {
  if (reference.empty()) return hypothesis.empty() ? 0.0 : 1.0;
  std::vector<size_t> prev(hypothesis.size() + 1), cur(hypothesis.size() + 1);
  for (size_t j = 0; j <= hypothesis.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= reference.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= hypothesis.size(); ++j) {
      const size_t sub = prev[j - 1] + (reference[i - 1] == hypothesis[j - 1] ? 0 : 1);
      cur[j] = std::min({sub, prev[j] + 1, cur[j - 1] + 1});
    }
    std::swap(prev, cur);
  }
  return static_cast<double>(prev[hypothesis.size()]) / static_cast<double>(reference.size());
}

std::vector<std::string> normalise_words(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  const auto flush = [&] {
    while (!cur.empty() && cur.back() == '\'') cur.pop_back();
    size_t lead = 0;
    while (lead < cur.size() && cur[lead] == '\'') ++lead;
    if (lead < cur.size()) out.push_back(cur.substr(lead));
    cur.clear();
  };
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || c == '\'') {
      cur += static_cast<char>(std::tolower(c));
    } else {
      flush();
    }
  }
  flush();
  return out;
}

}  // namespace atomcut

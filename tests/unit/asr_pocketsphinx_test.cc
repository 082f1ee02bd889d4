// Tests of the Audio atom's speech recogniser (PocketSphinx, US English model) on real recorded
// speech (Debian's asterisk-core-sounds-en-wav prompts with their transcripts from
// asterisk-core-sounds-en), on speech synthesised here with flite, and of its forced alignment on
// flite words joined by known silences. Accuracy figures and the real-time factor are printed
// ("[ figures  ]" lines); accuracy is asserted against floors measured on this model, time never.
// ASR_TEST_VERBOSE=1 prints every reference and hypothesis.
#include "engines/audio/asr_pocketsphinx.h"

#include "support/subprocess.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

namespace atomcut {
namespace {

namespace fs = std::filesystem;
using atomcut::testing::run_command;

constexpr int kRate = 16000;
const char* const kSoundsDir = "/usr/share/asterisk/sounds/en_US_f_Allison";
const char* const kTranscripts = "/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz";

// --- audio helpers ------------------------------------------------------------------------------

struct Wav {
  int rate = 0;
  std::vector<float> samples;  // mono
};

uint32_t le32(const char* p) {
  return static_cast<uint32_t>(static_cast<unsigned char>(p[0])) |
         static_cast<uint32_t>(static_cast<unsigned char>(p[1])) << 8 |
         static_cast<uint32_t>(static_cast<unsigned char>(p[2])) << 16 |
         static_cast<uint32_t>(static_cast<unsigned char>(p[3])) << 24;
}
uint16_t le16(const char* p) {
  return static_cast<uint16_t>(static_cast<unsigned char>(p[0]) | static_cast<unsigned char>(p[1])
                                                                      << 8);
}

// Reads a 16-bit PCM WAV file (mono, or the first channel); rate 0 when it cannot.
Wav read_wav(const fs::path& path) {
  Wav wav;
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 12 || bytes.compare(0, 4, "RIFF") != 0 || bytes.compare(8, 4, "WAVE") != 0) {
    return wav;
  }
  int channels = 0, bits = 0, rate = 0;
  size_t pos = 12;
  while (pos + 8 <= bytes.size()) {
    const std::string id = bytes.substr(pos, 4);
    const size_t size = le32(bytes.data() + pos + 4);
    const size_t body = pos + 8;
    if (id == "fmt " && body + 16 <= bytes.size()) {
      channels = le16(bytes.data() + body + 2);
      rate = static_cast<int>(le32(bytes.data() + body + 4));
      bits = le16(bytes.data() + body + 14);
    } else if (id == "data" && channels > 0 && bits == 16) {
      const size_t end = std::min(bytes.size(), body + size);
      const size_t stride = 2 * static_cast<size_t>(channels);
      for (size_t p = body; p + stride <= end; p += stride) {
        wav.samples.push_back(static_cast<int16_t>(le16(bytes.data() + p)) / 32768.0f);
      }
      wav.rate = rate;
      return wav;
    }
    pos = body + size + (size & 1);
  }
  return wav;
}

// 2x upsampling by windowed-sinc interpolation (even outputs are the inputs).
std::vector<float> upsample2(const std::vector<float>& x) {
  constexpr int kHalf = 16;  // taps on each side
  constexpr double kPi = 3.14159265358979323846;
  std::vector<double> h(2 * kHalf);
  for (int k = 0; k < 2 * kHalf; ++k) {
    const double t = k - kHalf + 0.5;  // distance of input k - kHalf + 1 .. to the midpoint
    const double window = 0.5 + 0.5 * std::cos(kPi * t / (kHalf + 0.5));
    h[static_cast<size_t>(k)] = std::sin(kPi * t) / (kPi * t) * window;
  }
  const auto n = static_cast<int64_t>(x.size());
  std::vector<float> y(x.size() * 2);
  for (int64_t i = 0; i < n; ++i) {
    y[static_cast<size_t>(2 * i)] = x[static_cast<size_t>(i)];
    double acc = 0;
    for (int k = 0; k < 2 * kHalf; ++k) {
      const int64_t j = i - kHalf + 1 + k;
      if (j >= 0 && j < n) acc += h[static_cast<size_t>(k)] * x[static_cast<size_t>(j)];
    }
    y[static_cast<size_t>(2 * i + 1)] = static_cast<float>(acc);
  }
  return y;
}

// 16 kHz mono float samples of a WAV file (8 kHz is upsampled here, other rates through the
// ffmpeg CLI); empty when it cannot.
std::vector<float> load_16k(const fs::path& path) {
  Wav wav = read_wav(path);
  if (wav.rate == kRate) return std::move(wav.samples);
  if (wav.rate == 8000) return upsample2(wav.samples);
  const auto r = run_command({"ffmpeg", "-nostdin", "-v", "error", "-i", path.string(), "-ar",
                              std::to_string(kRate), "-ac", "1", "-f", "f32le", "-"});
  std::vector<float> out(r.exit_code == 0 ? r.out.size() / sizeof(float) : 0);
  if (!out.empty()) std::memcpy(out.data(), r.out.data(), out.size() * sizeof(float));
  return out;
}

// A scratch directory removed at exit.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "atomcut_asr_XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

bool have_flite() { return run_command({"flite", "-lv"}, 10000).exit_code == 0; }

// flite's `voice` speaking `text`, at 16 kHz; empty when it fails.
std::vector<float> synthesise(const std::string& text, const std::string& voice,
                              const fs::path& dir) {
  const fs::path out = dir / "flite.wav";
  const auto r = run_command({"flite", "-voice", voice, "-t", text, "-o", out.string()}, 30000);
  if (r.exit_code != 0) return {};
  return load_16k(out);
}

std::string join(const std::vector<std::string>& words) {
  std::string s;
  for (const std::string& w : words) s += (s.empty() ? "" : " ") + w;
  return s;
}

std::vector<std::string> hypothesis_words(const AsrResult& r) {
  std::vector<std::string> out;
  for (const AsrSegment& s : r.segments) {
    for (const AsrWord& w : s.words) out.push_back(w.word);
  }
  return out;
}

// Checks what every result must satisfy: ordered words inside the input, segment text and times
// that match their words, confidences in [0, 1], no filler token.
void expect_well_formed(const AsrResult& r) {
  int64_t last_end = 0;
  for (const AsrSegment& s : r.segments) {
    ASSERT_FALSE(s.words.empty());
    EXPECT_EQ(s.start_ms, s.words.front().start_ms);
    EXPECT_EQ(s.end_ms, s.words.back().end_ms);
    std::vector<std::string> words;
    for (const AsrWord& w : s.words) {
      words.push_back(w.word);
      EXPECT_GE(w.start_ms, last_end) << w.word;
      EXPECT_GT(w.end_ms, w.start_ms) << w.word;
      EXPECT_LE(w.end_ms, r.duration_ms + 10) << w.word;
      EXPECT_GE(w.confidence, 0.0);
      EXPECT_LE(w.confidence, 1.0);
      EXPECT_TRUE(w.word.find_first_of("<>[]()+") == std::string::npos) << w.word;
      last_end = w.end_ms;
    }
    EXPECT_EQ(s.text, join(words));
    EXPECT_GE(s.confidence, 0.0);
    EXPECT_LE(s.confidence, 1.0);
  }
}

// --- the shared recogniser ----------------------------------------------------------------------

PocketsphinxAsr* engine() {
  static std::unique_ptr<PocketsphinxAsr> asr = [] {
    auto r = PocketsphinxAsr::create();
    return r.ok() ? std::move(r).value() : nullptr;
  }();
  return asr.get();
}

#define REQUIRE_ENGINE()                                                                  \
  PocketsphinxAsr* asr = engine();                                                        \
  ASSERT_NE(asr, nullptr) << "the pocketsphinx English model is missing (Debian package " \
                             "pocketsphinx-en-us)"

// --- the asterisk prompts -----------------------------------------------------------------------

struct Prompt {
  std::string name;
  std::vector<std::string> reference;
  fs::path wav;
};

std::string gunzip(const char* path) {
  const auto r = run_command({"gzip", "-dc", path}, 30000);
  return r.exit_code == 0 ? r.out : std::string();
}

// The transcript words of a prompt: single digits are spoken as words; prompts with longer
// numbers or non-speech descriptions ("[beep]") are left out (empty).
std::vector<std::string> reference_words(const std::string& text) {
  static const char* const kDigits[] = {"zero", "one", "two",   "three", "four",
                                        "five", "six", "seven", "eight", "nine"};
  if (text.find('[') != std::string::npos) return {};
  std::vector<std::string> out;
  for (const std::string& w : normalise_words(text)) {
    if (std::all_of(w.begin(), w.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      if (w.size() != 1) return {};
      out.push_back(kDigits[w[0] - '0']);
    } else {
      out.push_back(w);
    }
  }
  return out;
}

// The first `count` prompts by sorted name whose file exists and whose transcript has at most
// 16 words (lines "name: text"; names with a folder are left out).
std::vector<Prompt> asterisk_prompts(size_t count) {
  std::map<std::string, std::string> lines;
  std::istringstream in(gunzip(kTranscripts));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == ';') continue;
    const size_t colon = line.find(": ");
    if (colon == std::string::npos) continue;
    const std::string name = line.substr(0, colon);
    if (name.find('/') != std::string::npos) continue;
    lines.emplace(name, line.substr(colon + 2));
  }
  std::vector<Prompt> out;
  for (const auto& [name, text] : lines) {
    if (out.size() == count) break;
    Prompt p{name, reference_words(text), fs::path(kSoundsDir) / (name + ".wav")};
    std::error_code ec;
    if (p.reference.empty() || p.reference.size() > 16 || !fs::is_regular_file(p.wav, ec)) {
      continue;
    }
    out.push_back(std::move(p));
  }
  return out;
}

// Corpus WER: total edit distance over total reference words.
struct WerTally {
  double errors = 0;
  size_t words = 0;
  void add(const std::vector<std::string>& ref, const std::vector<std::string>& hyp) {
    errors += word_error_rate(ref, hyp) * static_cast<double>(ref.size());
    words += ref.size();
  }
  double wer() const { return words == 0 ? 0 : errors / static_cast<double>(words); }
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// --- tests: text helpers ------------------------------------------------------------------------

TEST(AsrText, NormaliseWords) {
  EXPECT_EQ(normalise_words("Hello, World!  Don't  panic."),
            (std::vector<std::string>{"hello", "world", "don't", "panic"}));
  EXPECT_EQ(normalise_words("Call-Forward on 'Busy'... 2 times"),
            (std::vector<std::string>{"call", "forward", "on", "busy", "2", "times"}));
  EXPECT_TRUE(normalise_words("").empty());
  EXPECT_TRUE(normalise_words(" ,.;-- ' ").empty());
}

TEST(AsrText, WordErrorRate) {
  const std::vector<std::string> ref = {"the", "cat", "sat", "on", "the", "mat"};
  EXPECT_DOUBLE_EQ(word_error_rate(ref, ref), 0.0);
  EXPECT_DOUBLE_EQ(word_error_rate(ref, {"the", "cat", "sat", "on", "a", "mat"}), 1.0 / 6);
  EXPECT_DOUBLE_EQ(word_error_rate(ref, {"the", "cat", "on", "the", "mat"}), 1.0 / 6);
  EXPECT_DOUBLE_EQ(word_error_rate(ref, {"the", "black", "cat", "sat", "on", "the", "mat"}),
                   1.0 / 6);
  EXPECT_DOUBLE_EQ(word_error_rate(ref, {}), 1.0);
  EXPECT_DOUBLE_EQ(word_error_rate({"a"}, {"b", "c", "d"}), 3.0);
  EXPECT_DOUBLE_EQ(word_error_rate({}, {}), 0.0);
  EXPECT_DOUBLE_EQ(word_error_rate({}, {"x"}), 1.0);
}

// --- tests: errors and edge cases ---------------------------------------------------------------

TEST(PocketsphinxAsr, MissingModelDirIsUnavailable) {
  TempDir dir;
  AsrOptions options;
  options.model_dir = (dir.path() / "no-such-model").string();
  auto r = PocketsphinxAsr::create(options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_FALSE(r.error().details["missing"].empty());

  options.model_dir = dir.path().string();  // exists, but holds no model
  r = PocketsphinxAsr::create(options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

TEST(PocketsphinxAsr, BadOptionsAndInput) {
  AsrOptions options;
  options.chunk_seconds = 2;
  auto r = PocketsphinxAsr::create(options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);

  REQUIRE_ENGINE();
  auto null_input = asr->recognize(static_cast<const float*>(nullptr), 100);
  ASSERT_FALSE(null_input.ok());
  EXPECT_EQ(null_input.error().code, ErrorCode::kInvalidArgument);
  std::vector<float> nan(1600, 0.f);
  nan[800] = std::nanf("");
  auto bad = asr->recognize(nan.data(), nan.size());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
}

TEST(PocketsphinxAsr, EmptyInputAndSilenceGiveNoSegments) {
  REQUIRE_ENGINE();
  auto empty = asr->recognize(static_cast<const float*>(nullptr), 0);
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_TRUE(empty->segments.empty());
  EXPECT_EQ(empty->duration_ms, 0);
  EXPECT_EQ(empty->language, "en");
  EXPECT_EQ(empty->backend_version, "pocketsphinx 5prealpha");
  EXPECT_NE(empty->model_used.find("en-us"), std::string::npos);

  std::vector<float> zeros(static_cast<size_t>(kRate) * 5, 0.f);
  auto silent = asr->recognize(zeros.data(), zeros.size());
  ASSERT_TRUE(silent.ok()) << silent.error().message;
  EXPECT_TRUE(silent->segments.empty());
  EXPECT_EQ(silent->duration_ms, 5000);

  // Very quiet noise (-75 dBFS RMS) is silence too.
  uint32_t seed = 1;
  for (float& v : zeros) {
    seed = seed * 1664525u + 1013904223u;
    v = (static_cast<float>(seed >> 8) / 16777216.0f - 0.5f) * 0.0006f;
  }
  auto quiet = asr->recognize(zeros.data(), zeros.size());
  ASSERT_TRUE(quiet.ok()) << quiet.error().message;
  EXPECT_TRUE(quiet->segments.empty());

  // So is steady white noise well above the silence gate (-41 dBFS RMS): it is decoded, and the
  // model hears noise, not words.
  for (float& v : zeros) v *= 50.f;
  auto noise = asr->recognize(zeros.data(), zeros.size());
  ASSERT_TRUE(noise.ok()) << noise.error().message;
  EXPECT_TRUE(noise->segments.empty());
}

// --- tests: accuracy on real speech -------------------------------------------------------------

TEST(PocketsphinxAsr, WerOnRecordedPrompts) {
  REQUIRE_ENGINE();
  const size_t count = 50;
  const std::vector<Prompt> prompts = asterisk_prompts(count);
  if (prompts.size() < std::min<size_t>(count, 50))
    GTEST_SKIP() << "asterisk-core-sounds-en(-wav) is not installed";
  WerTally tally;
  double audio_s = 0, decode_s = 0;
  for (const Prompt& p : prompts) {
    const std::vector<float> pcm = load_16k(p.wav);
    ASSERT_FALSE(pcm.empty()) << p.wav;
    const auto t0 = std::chrono::steady_clock::now();
    auto r = asr->recognize(pcm.data(), pcm.size());
    decode_s += seconds_since(t0);
    audio_s += static_cast<double>(pcm.size()) / kRate;
    ASSERT_TRUE(r.ok()) << r.error().message;
    expect_well_formed(*r);
    const std::vector<std::string> hyp = hypothesis_words(*r);
    tally.add(p.reference, hyp);
    if (std::getenv("ASR_TEST_VERBOSE") != nullptr) {
      std::printf("  %-28s %5.2f | %s\n  %-28s       | %s\n", p.name.c_str(),
                  word_error_rate(p.reference, hyp), join(p.reference).c_str(), "",
                  join(hyp).c_str());
    }
  }
  std::printf(
      "[ figures  ] asterisk prompts: %zu prompts, %zu words, %.1f s of speech: WER %.1f%%, "
      "real-time factor %.3f\n",
      prompts.size(), tally.words, audio_s, 100 * tally.wer(), decode_s / audio_s);
  RecordProperty("asterisk_wer", std::to_string(tally.wer()));
  RecordProperty("asterisk_rtf", std::to_string(decode_s / audio_s));
  // Measured 59.2% (8 kHz telephone prompts on a 16 kHz model: most errors are in words the band
  // limit blurs, "conference" -> "counter and"). The floor is the measurement plus 5 points.
  EXPECT_LE(tally.wer(), 0.64);
}

// --- tests: accuracy on synthesised speech ------------------------------------------------------

const char* const kSentences[] = {
    "the quick brown fox jumps over the lazy dog",
    "please call me back after the meeting",
    "we will meet at the station tomorrow morning",
    "the weather is nice today",
    "turn left at the next corner",
    "she bought three apples and a loaf of bread",
    "the children are playing in the garden",
    "can you send me the report by friday",
    "my phone number has changed",
    "the train was late again this evening",
    "he opened the window to let in some fresh air",
    "thank you for your help with the project",
};

TEST(PocketsphinxAsr, WerOnSynthesisedSentences) {
  REQUIRE_ENGINE();
  if (!have_flite()) GTEST_SKIP() << "flite is not installed";
  TempDir dir;
  const char* voice = "slt";  // 16 kHz (flite's default voice, kal, is 8 kHz: WER 25%)
  WerTally tally;
  double audio_s = 0, decode_s = 0;
  for (const char* sentence : kSentences) {
    const std::vector<float> pcm = synthesise(sentence, voice, dir.path());
    ASSERT_FALSE(pcm.empty()) << sentence;
    const auto t0 = std::chrono::steady_clock::now();
    auto r = asr->recognize(pcm.data(), pcm.size());
    decode_s += seconds_since(t0);
    audio_s += static_cast<double>(pcm.size()) / kRate;
    ASSERT_TRUE(r.ok()) << r.error().message;
    expect_well_formed(*r);
    const std::vector<std::string> ref = normalise_words(sentence), hyp = hypothesis_words(*r);
    tally.add(ref, hyp);
    if (std::getenv("ASR_TEST_VERBOSE") != nullptr) {
      std::printf("  %5.2f | %s\n        | %s\n", word_error_rate(ref, hyp), sentence,
                  join(hyp).c_str());
    }
  }
  std::printf(
      "[ figures  ] flite (%s) sentences: %zu sentences, %zu words, %.1f s: WER %.1f%%, "
      "real-time factor %.3f\n",
      voice, std::size(kSentences), tally.words, audio_s, 100 * tally.wer(), decode_s / audio_s);
  RecordProperty("flite_wer", std::to_string(tally.wer()));
  EXPECT_LE(tally.wer(), 0.08);  // measured 2.2% (2 of 89 words) with the slt voice
}

// --- tests: long input in chunks ---------------------------------------------------------------

// Sentences joined by pauses, recognised with 5-second chunks: the chunk cuts fall into the pauses
// (no word lost or doubled: the same WER as sentence by sentence) and the word times are absolute
// (each word lies inside its sentence's span).
TEST(PocketsphinxAsr, LongInputIsRecognisedInChunksWithAbsoluteTimes) {
  if (!have_flite()) GTEST_SKIP() << "flite is not installed";
  AsrOptions options;
  options.chunk_seconds = 5;
  auto created = PocketsphinxAsr::create(options);
  ASSERT_TRUE(created.ok()) << created.error().message;
  PocketsphinxAsr& asr = **created;
  TempDir dir;
  struct Span {
    int64_t start_ms, end_ms;
  };
  std::vector<float> pcm(kRate / 2, 0.f);  // 500 ms lead-in
  std::vector<Span> spans;
  std::vector<std::string> ref;
  for (size_t i = 0; i < 4; ++i) {
    const std::vector<float> s = synthesise(kSentences[i], "slt", dir.path());
    ASSERT_FALSE(s.empty());
    spans.push_back(
        {static_cast<int64_t>(pcm.size()) / 16, static_cast<int64_t>(pcm.size() + s.size()) / 16});
    pcm.insert(pcm.end(), s.begin(), s.end());
    pcm.insert(pcm.end(), static_cast<size_t>(kRate) * (6 + i % 3) / 10, 0.f);  // 0.6-0.8 s
    for (const std::string& w : normalise_words(kSentences[i])) ref.push_back(w);
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto r = asr.recognize(pcm.data(), pcm.size());
  const double decode_s = seconds_since(t0);
  ASSERT_TRUE(r.ok()) << r.error().message;
  expect_well_formed(*r);
  EXPECT_EQ(r->duration_ms, static_cast<int64_t>(pcm.size()) / 16);
  const std::vector<std::string> hyp = hypothesis_words(*r);
  const double wer = word_error_rate(ref, hyp);
  size_t inside = 0, words = 0;
  for (const AsrSegment& seg : r->segments) {
    for (const AsrWord& w : seg.words) {
      ++words;
      const int64_t mid = (w.start_ms + w.end_ms) / 2;
      for (const Span& sp : spans) inside += (mid >= sp.start_ms && mid <= sp.end_ms) ? 1 : 0;
    }
  }
  std::printf(
      "[ figures  ] %.1f s in 5 s chunks: %zu segments, WER %.1f%%, %zu/%zu words inside "
      "their sentence, real-time factor %.3f\n",
      static_cast<double>(pcm.size()) / kRate, r->segments.size(), 100 * wer, inside, words,
      decode_s / (static_cast<double>(pcm.size()) / kRate));
  EXPECT_LE(wer, 0.10);  // measured 3.4% (1 of 29 words)
  EXPECT_EQ(inside, words);
  // A pause of 500 ms or more ends a segment: at least one segment per sentence.
  EXPECT_GE(r->segments.size(), spans.size());
}

// The int16 entry point decodes the same as the float one; an explicit model_dir (either layout)
// loads the same model.
TEST(PocketsphinxAsr, Int16InputAndExplicitModelDir) {
  if (!have_flite()) GTEST_SKIP() << "flite is not installed";
  AsrOptions options;
  options.model_dir = "/usr/share/pocketsphinx/model/en-us/en-us";  // the acoustic model folder
  auto created = PocketsphinxAsr::create(options);
  ASSERT_TRUE(created.ok()) << created.error().message;
  PocketsphinxAsr& asr = **created;
  EXPECT_EQ(asr.model_used(), "cmusphinx:/usr/share/pocketsphinx/model/en-us/en-us");
  EXPECT_TRUE(asr.in_dictionary("weather"));
  EXPECT_FALSE(asr.in_dictionary("zorblaxian"));
  TempDir dir;
  const std::vector<float> pcm = synthesise(kSentences[3], "slt", dir.path());
  ASSERT_FALSE(pcm.empty());
  std::vector<int16_t> pcm16(pcm.size());
  for (size_t i = 0; i < pcm.size(); ++i) {
    pcm16[i] = static_cast<int16_t>(std::lrint(std::clamp(pcm[i], -1.f, 1.f) * 32767.f));
  }
  auto r = asr.recognize(pcm.data(), pcm.size());
  auto r16 = asr.recognize(pcm16.data(), pcm16.size());
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r16.ok()) << r16.error().message;
  EXPECT_EQ(hypothesis_words(*r16), hypothesis_words(*r));
  EXPECT_EQ(join(hypothesis_words(*r)), kSentences[3]);
  ASSERT_EQ(r->segments.size(), 1u);
  EXPECT_EQ(r16->segments[0].start_ms, r->segments[0].start_ms);
  EXPECT_EQ(r16->segments[0].end_ms, r->segments[0].end_ms);

  options.model_dir = "/usr/share/pocketsphinx/model/en-us";  // the package's folder
  created = PocketsphinxAsr::create(options);
  ASSERT_TRUE(created.ok()) << created.error().message;
}

// --- tests: forced alignment --------------------------------------------------------------------

// Removes the leading and trailing frames (10 ms) quieter than -40 dB below the loudest frame.
std::vector<float> trim(const std::vector<float>& x) {
  const size_t frame = kRate / 100;
  std::vector<double> rms;
  for (size_t i = 0; i + frame <= x.size(); i += frame) {
    double sum = 0;
    for (size_t j = i; j < i + frame; ++j) sum += static_cast<double>(x[j]) * x[j];
    rms.push_back(std::sqrt(sum / frame));
  }
  if (rms.empty()) return {};
  const double threshold = *std::max_element(rms.begin(), rms.end()) * 0.01;
  size_t first = 0, last = rms.size();
  while (first < last && rms[first] < threshold) ++first;
  while (last > first && rms[last - 1] < threshold) --last;
  return std::vector<float>(x.begin() + static_cast<std::ptrdiff_t>(first * frame),
                            x.begin() + static_cast<std::ptrdiff_t>(last * frame));
}

struct AlignCase {
  std::vector<float> pcm;
  std::vector<AsrWord> truth;
};

// Each word of `sentence` synthesised on its own, trimmed, and joined by silences of 80-400 ms,
// so each word's start and end are known to the sample.
AlignCase word_by_word(const std::string& sentence, const fs::path& dir) {
  AlignCase c;
  c.pcm.assign(kRate * 3 / 10, 0.f);
  size_t i = 0;
  for (const std::string& w : normalise_words(sentence)) {
    const std::vector<float> s = trim(synthesise(w, "slt", dir));
    if (s.empty()) return {};
    c.truth.push_back({w, static_cast<int64_t>(c.pcm.size()) / 16,
                       static_cast<int64_t>(c.pcm.size() + s.size()) / 16, 1.0});
    c.pcm.insert(c.pcm.end(), s.begin(), s.end());
    c.pcm.insert(c.pcm.end(), static_cast<size_t>(kRate) * (80 + (i++ * 131) % 320) / 1000, 0.f);
  }
  c.pcm.insert(c.pcm.end(), kRate * 3 / 10, 0.f);
  // A faint noise floor (-66 dBFS), as in a real recording.
  uint32_t seed = 7;
  for (float& v : c.pcm) {
    seed = seed * 1664525u + 1013904223u;
    v += (static_cast<float>(seed >> 8) / 16777216.0f - 0.5f) * 0.001f;
  }
  return c;
}

TEST(PocketsphinxAsr, ForcedAlignmentFindsKnownWordBoundaries) {
  REQUIRE_ENGINE();
  if (!have_flite()) GTEST_SKIP() << "flite is not installed";
  TempDir dir;
  std::vector<double> errors;
  for (const char* sentence : {"The quick brown fox jumps over the lazy dog.",
                               "She bought three apples, and a loaf of bread!"}) {
    const AlignCase c = word_by_word(sentence, dir.path());
    ASSERT_FALSE(c.truth.empty());
    auto r = asr->align(c.pcm.data(), c.pcm.size(), sentence);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r->size(), c.truth.size());
    for (size_t i = 0; i < r->size(); ++i) {
      const AsrWord& got = (*r)[i];
      const AsrWord& want = c.truth[i];
      EXPECT_EQ(got.word, want.word);
      EXPECT_GE(got.confidence, 0.0);
      EXPECT_LE(got.confidence, 1.0);
      if (i > 0) {
        EXPECT_GE(got.start_ms, (*r)[i - 1].end_ms);
      }
      errors.push_back(std::abs(static_cast<double>(got.start_ms - want.start_ms)));
      errors.push_back(std::abs(static_cast<double>(got.end_ms - want.end_ms)));
      if (std::getenv("ASR_TEST_VERBOSE") != nullptr) {
        std::printf("  %-8s got %5lld-%5lld want %5lld-%5lld confidence %.3f\n", want.word.c_str(),
                    static_cast<long long>(got.start_ms), static_cast<long long>(got.end_ms),
                    static_cast<long long>(want.start_ms), static_cast<long long>(want.end_ms),
                    got.confidence);
      }
    }
  }
  std::sort(errors.begin(), errors.end());
  const double median = errors[errors.size() / 2];
  const double p90 = errors[errors.size() * 9 / 10];
  std::printf(
      "[ figures  ] forced alignment: %zu word boundaries, median error %.0f ms, 90th "
      "percentile %.0f ms, max %.0f ms\n",
      errors.size(), median, p90, errors.back());
  RecordProperty("alignment_median_error_ms", std::to_string(median));
  EXPECT_LT(median, 50.0);  // measured 20 ms
  EXPECT_LT(p90, 100.0);    // measured 36 ms
}

TEST(PocketsphinxAsr, AlignmentErrors) {
  REQUIRE_ENGINE();
  std::vector<float> pcm(kRate, 0.f);
  auto oov = asr->align(pcm.data(), pcm.size(), "hello zorblaxian world qwxzv");
  ASSERT_FALSE(oov.ok());
  EXPECT_EQ(oov.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(oov.error().message.find("zorblaxian"), std::string::npos);
  EXPECT_EQ(oov.error().details["oov_words"], nlohmann::json::array({"zorblaxian", "qwxzv"}));

  auto no_words = asr->align(pcm.data(), pcm.size(), " ... !");
  ASSERT_FALSE(no_words.ok());
  EXPECT_EQ(no_words.error().code, ErrorCode::kInvalidArgument);

  auto no_audio = asr->align(pcm.data(), 0, "hello");
  ASSERT_FALSE(no_audio.ok());
  EXPECT_EQ(no_audio.error().code, ErrorCode::kInvalidArgument);

  // A second of silence cannot hold this script.
  auto mismatch = asr->align(pcm.data(), pcm.size(),
                             "this sentence is much too long to fit into one second of silence");
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.error().code, ErrorCode::kInvalidArgument);

  // The recogniser still works after an alignment.
  auto after = asr->recognize(pcm.data(), pcm.size());
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_TRUE(after->segments.empty());
}

}  // namespace
}  // namespace atomcut

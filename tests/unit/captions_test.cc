// Captions from timed words: property tests over many seeded random transcripts (every rule of
// captions.h checked on every cue), the exact SRT and WebVTT of a small example, and the SRT read
// back with a small strict parser.
#include "engines/video/captions.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace atomcut {
namespace {

size_t u8len(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// ---- a strict SRT parser: index, "HH:MM:SS,mmm --> HH:MM:SS,mmm", 1+ lines, blank line.

struct ParsedCue {
  int index = 0;
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  std::vector<std::string> lines;
};

std::optional<int64_t> parse_time(const std::string& s, char sep) {
  int h = 0, m = 0, sec = 0, ms = 0;
  char a = 0, b = 0, c = 0;
  if (s.size() != 12 ||
      std::sscanf(s.c_str(), "%2d%c%2d%c%2d%c%3d", &h, &a, &m, &b, &sec, &c, &ms) != 7) {
    return std::nullopt;
  }
  if (a != ':' || b != ':' || c != sep || m > 59 || sec > 59) return std::nullopt;
  return ((h * 60LL + m) * 60 + sec) * 1000 + ms;
}

// nullopt (with the reason in *why) when the text is not well-formed SRT.
std::optional<std::vector<ParsedCue>> parse_srt(const std::string& text, std::string* why) {
  std::vector<ParsedCue> out;
  std::vector<std::string> lines;
  std::string line;
  std::istringstream in(text);
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') {
      *why = "CR in line";
      return std::nullopt;
    }
    lines.push_back(line);
  }
  if (!text.empty() && text.back() != '\n') {
    *why = "no final newline";
    return std::nullopt;
  }
  size_t k = 0;
  while (k < lines.size()) {
    ParsedCue c;
    if (!std::regex_match(lines[k], std::regex("[1-9][0-9]*"))) {
      *why = "bad index line '" + lines[k] + "'";
      return std::nullopt;
    }
    c.index = std::stoi(lines[k++]);
    if (c.index != static_cast<int>(out.size()) + 1) {
      *why = "index out of sequence";
      return std::nullopt;
    }
    if (k >= lines.size() || lines[k].size() != 29 || lines[k].substr(12, 5) != " --> ") {
      *why = "bad timing line";
      return std::nullopt;
    }
    auto s = parse_time(lines[k].substr(0, 12), ',');
    auto e = parse_time(lines[k].substr(17, 12), ',');
    if (!s || !e) {
      *why = "bad time '" + lines[k] + "'";
      return std::nullopt;
    }
    c.start_ms = *s;
    c.end_ms = *e;
    ++k;
    while (k < lines.size() && !lines[k].empty()) c.lines.push_back(lines[k++]);
    if (c.lines.empty()) {
      *why = "cue without text";
      return std::nullopt;
    }
    if (k >= lines.size()) {
      *why = "no blank line after a cue";
      return std::nullopt;
    }
    ++k;  // the blank line
    out.push_back(std::move(c));
  }
  return out;
}

// ---- the rules

struct Transcript {
  std::vector<CaptionWord> words;
  std::vector<int64_t> pause_after;  // gap after word k (ms), last = 0
};

// Realistic speech: word durations grow with length (45-90 ms per character + 60 ms), gaps mostly
// small with pauses and long silences now and then, some punctuation, a few very long words.
Transcript random_transcript(std::mt19937& rng) {
  std::uniform_int_distribution<int> count(1, 260);
  std::uniform_int_distribution<int> len(1, 12);
  std::uniform_int_distribution<int> per_char(45, 90);
  std::uniform_int_distribution<int> percent(0, 99);
  std::uniform_int_distribution<int> small_gap(0, 180);
  std::uniform_int_distribution<int> pause(300, 1400);
  std::uniform_int_distribution<int> silence(1500, 6000);
  std::uniform_int_distribution<int> letter('a', 'z');
  Transcript t;
  int64_t now = std::uniform_int_distribution<int>(0, 5000)(rng);
  const int n = count(rng);
  for (int k = 0; k < n; ++k) {
    int l = len(rng);
    if (percent(rng) < 2) l = std::uniform_int_distribution<int>(43, 120)(rng);
    std::string w;
    for (int c = 0; c < l; ++c) w += static_cast<char>(letter(rng));
    if (percent(rng) < 5) w = "\xC3\xA9t\xC3\xA9" + w;  // "été": multi-byte characters
    const int p = percent(rng);
    if (p < 6)
      w += '.';
    else if (p < 12)
      w += ',';
    const int64_t dur = static_cast<int64_t>(u8len(w)) * per_char(rng) + 60;
    t.words.push_back({w, now, now + std::min<int64_t>(dur, 6500)});
    now = t.words.back().end_ms;
    const int g = percent(rng);
    const int64_t gap = g < 75 ? small_gap(rng) : g < 95 ? pause(rng) : silence(rng);
    t.pause_after.push_back(gap);
    now += gap;
  }
  return t;
}

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

// Every rule of captions.h on `cues` built from `t`.
void check_rules(const Transcript& t, const std::vector<CaptionCue>& cues, const CaptionOptions& o,
                 const std::string& label) {
  SCOPED_TRACE(label);
  ASSERT_FALSE(cues.empty());
  // Text: every word once, in order (words longer than a line come back in pieces).
  std::string joined_words, joined_cues;
  for (const auto& w : t.words) joined_words += w.word;
  std::vector<size_t> cue_of_char;  // for each byte of joined_cues, its cue
  for (size_t c = 0; c < cues.size(); ++c) {
    for (const auto& l : cues[c].lines) {
      for (const auto& piece : split_words(l)) {
        joined_cues += piece;
        cue_of_char.insert(cue_of_char.end(), piece.size(), c);
      }
    }
  }
  ASSERT_EQ(joined_cues, joined_words);
  // Each word starts inside the cue holding its first character.
  size_t at = 0;
  for (const auto& w : t.words) {
    const auto& cue = cues[cue_of_char[at]];
    EXPECT_GE(w.start_ms, cue.start_ms) << w.word;
    EXPECT_LE(w.start_ms, cue.end_ms) << w.word;
    at += w.word.size();
  }
  for (size_t c = 0; c < cues.size(); ++c) {
    const auto& cue = cues[c];
    SCOPED_TRACE("cue " + std::to_string(c));
    ASSERT_GE(cue.lines.size(), 1u);
    EXPECT_LE(cue.lines.size(), static_cast<size_t>(o.max_lines));
    for (const auto& l : cue.lines) {
      EXPECT_LE(u8len(l), static_cast<size_t>(o.max_line_chars)) << l;
      EXPECT_FALSE(l.empty());
      EXPECT_NE(l.front(), ' ');
      EXPECT_NE(l.back(), ' ');
    }
    const int64_t d = cue.end_ms - cue.start_ms;
    EXPECT_LE(d, o.max_cue_ms);
    EXPECT_GE(d, o.min_cue_ms) << "cue " << cue.start_ms << "-" << cue.end_ms;
    if (c + 1 < cues.size()) {
      EXPECT_LE(cue.end_ms, cues[c + 1].start_ms);
      EXPECT_LT(cue.start_ms, cues[c + 1].start_ms);
    }
    // Two lines are balanced: no other break between words gives lines closer in length that
    // both fit (unless the break follows punctuation, which is preferred).
    if (cue.lines.size() == 2) {
      const auto a = u8len(cue.lines[0]);
      const auto b = u8len(cue.lines[1]);
      EXPECT_GT(a + b + 1, static_cast<size_t>(o.max_line_chars)) << "one line would do";
      const bool punct = std::string(".,;:?!").find(cue.lines[0].back()) != std::string::npos;
      std::vector<std::string> ws = split_words(cue.lines[0] + " " + cue.lines[1]);
      size_t best = SIZE_MAX;
      for (size_t k = 1; k < ws.size(); ++k) {
        size_t l0 = 0, l1 = 0;
        for (size_t i = 0; i < ws.size(); ++i) (i < k ? l0 : l1) += u8len(ws[i]) + 1;
        --l0;
        --l1;
        if (l0 <= static_cast<size_t>(o.max_line_chars) &&
            l1 <= static_cast<size_t>(o.max_line_chars)) {
          best = std::min(best, l0 > l1 ? l0 - l1 : l1 - l0);
        }
      }
      if (!punct) {
        EXPECT_EQ(a > b ? a - b : b - a, best) << cue.lines[0] << " / " << cue.lines[1];
      }
    }
  }
  // Pauses: a silence of hard_pause_ms or more never lies inside a cue; most pauses >= 500 ms end
  // a cue.
  size_t pauses = 0, pauses_at_break = 0;
  at = 0;
  for (size_t k = 0; k + 1 < t.words.size(); ++k) {
    const size_t this_cue = cue_of_char[at + t.words[k].word.size() - 1];
    const size_t next_cue = cue_of_char[at + t.words[k].word.size()];
    const int64_t gap = t.words[k + 1].start_ms - t.words[k].end_ms;
    if (gap >= o.hard_pause_ms) {
      EXPECT_NE(this_cue, next_cue) << "silence inside a cue";
    }
    if (gap >= 500) {
      ++pauses;
      pauses_at_break += this_cue != next_cue;
    }
    at += t.words[k].word.size();
  }
  if (pauses >= 10) {
    EXPECT_GE(static_cast<double>(pauses_at_break) / pauses, 0.8)
        << pauses_at_break << " of " << pauses << " pauses end a cue";
  }
}

TEST(CaptionsTest, RandomTranscriptsFollowEveryRule) {
  std::mt19937 rng(20261124);
  const CaptionOptions o;
  size_t cues_seen = 0, two_line = 0;
  for (int trial = 0; trial < 400; ++trial) {
    Transcript t = random_transcript(rng);
    auto cues = build_captions(t.words, o);
    check_rules(t, cues, o, "trial " + std::to_string(trial));
    if (::testing::Test::HasFailure()) return;
    cues_seen += cues.size();
    for (const auto& c : cues) two_line += c.lines.size() == 2;
  }
  // The generator exercises both layouts.
  EXPECT_GT(cues_seen, 2000u);
  EXPECT_GT(two_line, 200u);
}

TEST(CaptionsTest, SrtAndVttOfRandomTranscriptsParseBack) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 100; ++trial) {
    Transcript t = random_transcript(rng);
    auto cues = build_captions(t.words);
    const std::string srt = write_srt(cues);
    std::string why;
    auto parsed = parse_srt(srt, &why);
    ASSERT_TRUE(parsed) << why << "\n" << srt.substr(0, 400);
    ASSERT_EQ(parsed->size(), cues.size());
    for (size_t c = 0; c < cues.size(); ++c) {
      EXPECT_EQ((*parsed)[c].start_ms, cues[c].start_ms);
      EXPECT_EQ((*parsed)[c].end_ms, cues[c].end_ms);
      EXPECT_EQ((*parsed)[c].lines, cues[c].lines);
    }
    const std::string vtt = write_vtt(cues);
    ASSERT_EQ(vtt.rfind("WEBVTT\n\n", 0), 0u);
    EXPECT_EQ(std::count(vtt.begin(), vtt.end(), '>') -
                  static_cast<long>(std::count(srt.begin(), srt.end(), '>')),
              0);
  }
}

TEST(CaptionsTest, SmallExampleExactOutput) {
  // "Hello there." then a 700 ms pause, a longer sentence that needs two lines, a 2 s silence and a
  // single short word at the end. "Hello there." (800 ms) is held to 1 s; the sentence breaks into
  // two balanced lines (36 + 34 characters) rather than at the comma; "Bye" is held to 1 s.
  const std::vector<CaptionWord> words = {
      {"Hello", 1000, 1350},    {"there.", 1400, 1800},  {"This", 2500, 2700},
      {"sentence", 2750, 3200}, {"is", 3250, 3350},      {"long", 3400, 3700},
      {"enough", 3750, 4100},   {"that", 4150, 4300},    {"it", 4350, 4420},
      {"needs", 4450, 4700},    {"two", 4750, 4950},     {"lines", 5000, 5300},
      {"on", 5350, 5450},       {"screen,", 5500, 5950}, {"surely.", 6000, 6500},
      {"Bye", 8500, 8700},
  };
  const auto cues = build_captions(words);
  const std::string srt = write_srt(cues);
  EXPECT_EQ(srt,
            "1\n"
            "00:00:01,000 --> 00:00:02,000\n"
            "Hello there.\n"
            "\n"
            "2\n"
            "00:00:02,500 --> 00:00:06,500\n"
            "This sentence is long enough that it\n"
            "needs two lines on screen, surely.\n"
            "\n"
            "3\n"
            "00:00:08,500 --> 00:00:09,500\n"
            "Bye\n"
            "\n");
  EXPECT_EQ(write_vtt(cues),
            "WEBVTT\n"
            "\n"
            "00:00:01.000 --> 00:00:02.000\n"
            "Hello there.\n"
            "\n"
            "00:00:02.500 --> 00:00:06.500\n"
            "This sentence is long enough that it\n"
            "needs two lines on screen, surely.\n"
            "\n"
            "00:00:08.500 --> 00:00:09.500\n"
            "Bye\n"
            "\n");
}

TEST(CaptionsTest, ShortWordIsHeldOnlyUntilTheNextCue) {
  // "Hi." is said for 200 ms and a 1.6 s silence follows: a cue of its own, held 1 s. The last cue
  // (800 ms of speech) is held 1 s too, unless the media ends before.
  auto held = build_captions({{"Hi.", 0, 200}, {"Next", 1800, 2100}, {"words", 2150, 2600}});
  ASSERT_EQ(held.size(), 2u);
  EXPECT_EQ(held[0].start_ms, 0);
  EXPECT_EQ(held[0].end_ms, 1000);
  EXPECT_EQ(held[1].end_ms, 2800);
  // A limit at the end of the media stops the hold.
  CaptionOptions o;
  o.end_limit_ms = 2700;
  auto limited = build_captions({{"Hi.", 0, 200}, {"Next", 1800, 2100}, {"words", 2150, 2600}}, o);
  ASSERT_EQ(limited.size(), 2u);
  EXPECT_EQ(limited[1].end_ms, 2700);
}

TEST(CaptionsTest, LongWordsSplitAndLongCuesCapped) {
  const std::string w60(60, 'x');
  auto cues = build_captions({{w60, 0, 3000}, {"end", 3100, 3300}});
  ASSERT_FALSE(cues.empty());
  for (const auto& c : cues) {
    for (const auto& l : c.lines) EXPECT_LE(l.size(), 42u);
  }
  EXPECT_EQ(cues[0].lines[0], std::string(30, 'x'));
  // A single word said for 20 s is shown at most 7 s.
  auto one = build_captions({{"ooooh", 0, 20000}});
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].end_ms, 7000);
  // 30 s of steady speech without pauses: every cue at most 7 s.
  std::vector<CaptionWord> steady;
  for (int k = 0; k < 100; ++k) steady.push_back({"ab", k * 300, k * 300 + 250});
  for (const auto& c : build_captions(steady)) EXPECT_LE(c.end_ms - c.start_ms, 7000);
}

TEST(CaptionsTest, FillersEmptyWordsAndDisorderAreHandled) {
  auto cues = build_captions({{"world", 600, 900},
                              {"<sil>", 300, 600},
                              {"[NOISE]", 950, 1000},
                              {"  ", 1000, 1100},
                              {"hello", 0, 300}});
  ASSERT_EQ(cues.size(), 1u);
  ASSERT_EQ(cues[0].lines.size(), 1u);
  EXPECT_EQ(cues[0].lines[0], "hello world");
  EXPECT_TRUE(build_captions({}).empty());
  EXPECT_EQ(write_srt({}), "");
  EXPECT_EQ(write_vtt({}), "WEBVTT\n\n");
}

TEST(CaptionsTest, TimeFormats) {
  EXPECT_EQ(format_srt_time(0), "00:00:00,000");
  EXPECT_EQ(format_srt_time(3723004), "01:02:03,004");
  EXPECT_EQ(format_vtt_time(3723004), "01:02:03.004");
  EXPECT_EQ(format_vtt_time(-5), "00:00:00.000");
  auto cues = build_captions({{"a<b&c", 0, 500}});
  EXPECT_NE(write_vtt(cues).find("a&lt;b&amp;c"), std::string::npos);
  EXPECT_NE(write_srt(cues).find("a<b&c"), std::string::npos);
}

}  // namespace
}  // namespace atomcut

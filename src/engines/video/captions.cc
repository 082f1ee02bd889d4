#include "engines/video/captions.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace atomcut {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// DP costs: one unit is roughly "one character of imbalance".
constexpr double kCueCost = 30;             // each cue: fewer, fuller cues
constexpr double kSentenceBreakBonus = 25;  // a cue ending after . ? !
constexpr double kClauseBreakBonus = 10;    // ... after , ; :
constexpr double kPauseBreakBonus = 30;     // ... at a pause >= pause_ms
constexpr double kShortCuePenalty = 1000;   // a cue that cannot be held min_cue_ms
constexpr int64_t kSoftGapMs = 250;         // gaps inside a cue above this cost (gap - it) / 10

struct Token {
  std::string text;
  size_t chars = 0;  // code points
  int64_t start_ms = 0;
  int64_t end_ms = 0;
};

size_t utf8_length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Byte offsets of the first byte of each code point, plus s.size().
std::vector<size_t> code_point_offsets(const std::string& s) {
  std::vector<size_t> out;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) out.push_back(i);
  }
  out.push_back(s.size());
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

// Trimmed, with inner runs of white space as one space.
std::string clean_word(const std::string& w) {
  std::string out;
  bool pending_space = false;
  for (char c : w) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

bool is_filler(const std::string& w) {
  auto wrapped = [&w](const std::string& open, const std::string& close) {
    return w.size() >= open.size() + close.size() && w.compare(0, open.size(), open) == 0 &&
           w.compare(w.size() - close.size(), close.size(), close) == 0;
  };
  return wrapped("<", ">") || wrapped("[", "]") || wrapped("++", "++");
}

bool ends_sentence(const std::string& w) {
  if (w.empty()) return false;
  char c = w.back();
  if (c == '"' || c == '\'' || c == ')') c = w.size() > 1 ? w[w.size() - 2] : c;
  return c == '.' || c == '?' || c == '!';
}

bool ends_clause(const std::string& w) {
  return !w.empty() && (w.back() == ',' || w.back() == ';' || w.back() == ':');
}

// Cleaned, sorted tokens no longer than a line, with strictly increasing starts.
std::vector<Token> tokenize(const std::vector<CaptionWord>& words, size_t max_chars) {
  std::vector<CaptionWord> sorted;
  sorted.reserve(words.size());
  for (const auto& w : words) {
    std::string text = clean_word(w.word);
    if (text.empty() || is_filler(text)) continue;
    sorted.push_back({std::move(text), w.start_ms, std::max(w.end_ms, w.start_ms)});
  }
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.start_ms < b.start_ms; });
  std::vector<Token> out;
  for (const auto& w : sorted) {
    const size_t len = utf8_length(w.word);
    if (len <= max_chars) {
      out.push_back({w.word, len, w.start_ms, w.end_ms});
      continue;
    }
    // A word longer than a line: equal pieces of at most a line, time shared by length.
    const size_t pieces = (len + max_chars - 1) / max_chars;
    const std::vector<size_t> cp = code_point_offsets(w.word);
    const int64_t span = w.end_ms - w.start_ms;
    size_t from = 0;
    for (size_t p = 0; p < pieces; ++p) {
      const size_t to = len * (p + 1) / pieces;
      Token t;
      t.text = w.word.substr(cp[from], cp[to] - cp[from]);
      t.chars = to - from;
      t.start_ms = w.start_ms + span * static_cast<int64_t>(from) / static_cast<int64_t>(len);
      t.end_ms = w.start_ms + span * static_cast<int64_t>(to) / static_cast<int64_t>(len);
      out.push_back(std::move(t));
      from = to;
    }
  }
  for (size_t k = 1; k < out.size(); ++k) {
    if (out[k].start_ms <= out[k - 1].start_ms) out[k].start_ms = out[k - 1].start_ms + 1;
    out[k].end_ms = std::max(out[k].end_ms, out[k].start_ms);
  }
  return out;
}

// Lines of tokens [i, j) balanced over the fewest lines that hold them (each <= max_chars):
// the split minimising the squared deviation from equal lengths, preferring breaks after
// punctuation.
std::vector<std::string> balance_lines(const std::vector<Token>& t, size_t i, size_t j,
                                       size_t max_chars, int lines_needed) {
  auto line_text = [&t](size_t a, size_t b) {
    std::string s;
    for (size_t k = a; k < b; ++k) {
      if (k > a) s += ' ';
      s += t[k].text;
    }
    return s;
  };
  if (lines_needed <= 1) return {line_text(i, j)};
  const size_t n = j - i;
  size_t total = 0;
  for (size_t k = i; k < j; ++k) total += t[k].chars;
  total += n - 1;
  const double target = static_cast<double>(total) / lines_needed;
  // best[l][k]: lines 0..l-1 hold tokens [i, i+k).
  const auto L = static_cast<size_t>(lines_needed);
  std::vector<std::vector<double>> best(L + 1, std::vector<double>(n + 1, kInf));
  std::vector<std::vector<size_t>> from(L + 1, std::vector<size_t>(n + 1, 0));
  best[0][0] = 0;
  for (size_t l = 1; l <= L; ++l) {
    for (size_t a = 0; a < n; ++a) {
      if (best[l - 1][a] == kInf) continue;
      size_t len = 0;
      for (size_t b = a + 1; b <= n; ++b) {
        len += t[i + b - 1].chars + (b > a + 1 ? 1 : 0);
        if (len > max_chars) break;
        const double dev = static_cast<double>(len) - target;
        double c = best[l - 1][a] + dev * dev;
        if (b < n) {
          const std::string& last = t[i + b - 1].text;
          if (ends_sentence(last))
            c -= 60;
          else if (ends_clause(last))
            c -= 30;
        }
        if (c < best[l][b]) {
          best[l][b] = c;
          from[l][b] = a;
        }
      }
    }
  }
  if (best[L][n] == kInf) return {line_text(i, j)};  // not reached: the caller checked the fit
  std::vector<std::string> lines(L);
  size_t b = n;
  for (size_t l = L; l >= 1; --l) {
    const size_t a = from[l][b];
    lines[l - 1] = line_text(i + a, i + b);
    b = a;
  }
  return lines;
}

}  // namespace

std::vector<CaptionCue> build_captions(const std::vector<CaptionWord>& words,
                                       const CaptionOptions& options) {
  const auto max_chars = static_cast<size_t>(std::clamp(options.max_line_chars, 10, 200));
  const int max_lines = std::clamp(options.max_lines, 1, 4);
  const int64_t max_cue_ms = std::clamp<int64_t>(options.max_cue_ms, 1000, 60000);
  const int64_t min_cue_ms = std::clamp<int64_t>(options.min_cue_ms, 0, max_cue_ms);
  const int64_t pause_ms = std::max<int64_t>(options.pause_ms, 0);
  const int64_t hard_pause_ms = std::max(options.hard_pause_ms, pause_ms);

  const std::vector<Token> t = tokenize(words, max_chars);
  const size_t n = t.size();
  if (n == 0) return {};
  const int64_t no_limit = std::numeric_limits<int64_t>::max();
  const int64_t limit = options.end_limit_ms.value_or(no_limit);
  // The latest a cue ending before token j may be held.
  auto room_until = [&](size_t j) { return j < n ? t[j].start_ms : limit; };

  // best[j]: the cheapest cues for tokens [0, j); cut[j]: where the last of them starts.
  std::vector<double> best(n + 1, kInf);
  std::vector<size_t> cut(n + 1, 0);
  best[0] = 0;
  for (size_t i = 0; i < n; ++i) {
    if (best[i] == kInf) continue;
    // Greedy wrap of [i, j) grows with j: the fewest lines the cue needs.
    int lines = 1;
    size_t line_len = 0;
    double gap_cost = 0;
    size_t chars = 0;
    for (size_t j = i + 1; j <= n; ++j) {
      const Token& w = t[j - 1];
      if (j > i + 1) {
        if (line_len + 1 + w.chars <= max_chars) {
          line_len += 1 + w.chars;
        } else {
          ++lines;
          line_len = w.chars;
        }
        if (lines > max_lines) break;
        if (w.end_ms - t[i].start_ms > max_cue_ms) break;
        const int64_t gap = w.start_ms - t[j - 2].end_ms;
        if (gap >= hard_pause_ms) break;
        if (gap > kSoftGapMs) gap_cost += static_cast<double>(gap - kSoftGapMs) / 10.0;
      } else {
        line_len = w.chars;
      }
      chars += w.chars;
      double c = best[i] + kCueCost + gap_cost;
      // A cue too short to read, even held until the next one.
      const int64_t end =
          std::min(std::min(t[j - 1].end_ms, t[i].start_ms + max_cue_ms), room_until(j));
      const int64_t held = std::max(end, std::min(t[i].start_ms + min_cue_ms, room_until(j)));
      if (held - t[i].start_ms < min_cue_ms) {
        c += kShortCuePenalty + static_cast<double>(min_cue_ms - (held - t[i].start_ms)) / 10.0;
      }
      // Very little text per cue reads choppy.
      if (chars < 12) c += static_cast<double>(12 - chars) * 0.5;
      if (j < n) {
        const int64_t gap = t[j].start_ms - w.end_ms;
        if (gap >= pause_ms) {
          c -= kPauseBreakBonus + static_cast<double>(std::min<int64_t>(gap, 2000)) / 100.0;
        } else {
          c -= static_cast<double>(std::max<int64_t>(gap, 0)) / 40.0;
        }
        if (ends_sentence(w.text))
          c -= kSentenceBreakBonus;
        else if (ends_clause(w.text))
          c -= kClauseBreakBonus;
      }
      if (c < best[j]) {
        best[j] = c;
        cut[j] = i;
      }
    }
  }

  std::vector<std::pair<size_t, size_t>> spans;
  for (size_t j = n; j > 0; j = cut[j]) spans.emplace_back(cut[j], j);
  std::reverse(spans.begin(), spans.end());

  std::vector<CaptionCue> cues;
  cues.reserve(spans.size());
  for (size_t s = 0; s < spans.size(); ++s) {
    const auto [i, j] = spans[s];
    CaptionCue cue;
    cue.start_ms = t[i].start_ms;
    const int64_t room = room_until(j);
    int64_t end = std::min(t[j - 1].end_ms, cue.start_ms + max_cue_ms);
    if (end - cue.start_ms < min_cue_ms) end = cue.start_ms + min_cue_ms;
    end = std::min(end, room);
    cue.end_ms = std::max(end, cue.start_ms);
    int lines = 1;
    size_t line_len = t[i].chars;
    for (size_t k = i + 1; k < j; ++k) {
      if (line_len + 1 + t[k].chars <= max_chars) {
        line_len += 1 + t[k].chars;
      } else {
        ++lines;
        line_len = t[k].chars;
      }
    }
    cue.lines = balance_lines(t, i, j, max_chars, lines);
    cues.push_back(std::move(cue));
  }
  return cues;
}

namespace {

std::string format_time(int64_t ms, char sep) {
  ms = std::max<int64_t>(ms, 0);
  return fmt::format("{:02}:{:02}:{:02}{}{:03}", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60, sep,
                     ms % 1000);
}

std::string vtt_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

std::string format_srt_time(int64_t ms) { return format_time(ms, ','); }
std::string format_vtt_time(int64_t ms) { return format_time(ms, '.'); }

std::string write_srt(const std::vector<CaptionCue>& cues) {
  std::string out;
  for (size_t k = 0; k < cues.size(); ++k) {
    const auto& c = cues[k];
    out += fmt::format("{}\n{} --> {}\n", k + 1, format_srt_time(c.start_ms),
                       format_srt_time(c.end_ms));
    for (const auto& l : c.lines) out += l + "\n";
    out += "\n";
  }
  return out;
}

std::string write_vtt(const std::vector<CaptionCue>& cues) {
  std::string out = "WEBVTT\n\n";
  for (const auto& c : cues) {
    out += fmt::format("{} --> {}\n", format_vtt_time(c.start_ms), format_vtt_time(c.end_ms));
    for (const auto& l : c.lines) out += vtt_escape(l) + "\n";
    out += "\n";
  }
  return out;
}

}  // namespace atomcut

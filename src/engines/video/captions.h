// Captions from timed words (spec "Video regions, visual meta, and captions (Phase V01)": the SRT
// and WebVTT that GET /video/captions/{artifact_id}/srt|vtt serve). Pure functions, no I/O.
//
// build_captions() groups a transcript's words into cues that follow the usual subtitle rules:
//   - at most 2 lines of at most 42 characters each (a word longer than a line is cut into
//     line-sized pieces, its time shared between them by length);
//   - each cue shown 1 to 7 s: a cue is never longer than 7 s, and a short one (a single short
//     word) is held up to 1 s when there is room before the next cue;
//   - cues break where the speaker pauses (a gap >= pause_ms) and after sentence or clause
//     punctuation, chosen over the whole transcript by dynamic programming; a pause of
//     hard_pause_ms or more always ends a cue;
//   - the two lines of a cue are balanced (the break nearest the middle, preferring punctuation);
//   - cues never overlap (end <= next start) and start times strictly increase.
// Every word appears exactly once, in order.
//
// Thread safe (no state).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace atomcut {

struct CaptionWord {
  std::string word;
  int64_t start_ms = 0;
  int64_t end_ms = 0;
};

struct CaptionCue {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  std::vector<std::string> lines;  // 1 or 2
};

struct CaptionOptions {
  int max_line_chars = 42;       // 10..200
  int max_lines = 2;             // 1..4
  int64_t min_cue_ms = 1000;     // a cue is held at least this long when there is room
  int64_t max_cue_ms = 7000;     // a cue never lasts longer
  int64_t pause_ms = 400;        // a gap this long is a preferred break
  int64_t hard_pause_ms = 1500;  // a gap this long always ends a cue
  // The end of the media (cues are not held past it); unset: no limit.
  std::optional<int64_t> end_limit_ms;
};

// The cues for `words` (any order; words that are empty or ASR fillers such as "<sil>" or
// "[NOISE]" are dropped; an end before its start is taken as the start). Options out of range are
// clamped to the ranges above.
std::vector<CaptionCue> build_captions(const std::vector<CaptionWord>& words,
                                       const CaptionOptions& options = {});

// "HH:MM:SS,mmm" (SRT) / "HH:MM:SS.mmm" (WebVTT); negative times are written as 0.
std::string format_srt_time(int64_t ms);
std::string format_vtt_time(int64_t ms);

// SubRip: per cue its 1-based index, "start --> end", its lines, a blank line. "" for no cues.
std::string write_srt(const std::vector<CaptionCue>& cues);
// WebVTT: "WEBVTT", a blank line, then per cue "start --> end", its lines (&, <, > escaped), a
// blank line.
std::string write_vtt(const std::vector<CaptionCue>& cues);

}  // namespace atomcut

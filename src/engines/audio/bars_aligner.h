// Maps transcript words onto a beat/bar grid (spec `align/audio_text_bars`): which bar and beat
// each word starts on, for captions that land on the beat and beat-driven edits. A pure function.
#pragma once

#include "engines/audio/asr_pocketsphinx.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

namespace atomcut {

struct BeatGrid {
  double bpm = 0;
  int beats_per_bar = 4;
  std::vector<int64_t> beats_ms;      // ascending
  std::vector<int64_t> downbeats_ms;  // ascending, each one of beats_ms
};

// Reads {"bpm", "beats_ms" | "beats", "downbeats_ms" | "downbeats", "beats_per_bar"?} (the
// beat_features summary or a client's own grid). invalid_argument naming the field (prefixed with
// `field_prefix`) for wrong types, negative or unsorted times.
Result<BeatGrid> beat_grid_from_json(const nlohmann::json& j, const std::string& field_prefix);

// The bars document:
//   {"bpm", "beats_per_bar", "bar_count", "word_count",
//    "bars": [{"index", "start_ms", "end_ms", "beats_ms": [...], "text",
//              "words": [{"word", "start_ms", "end_ms", "confidence", "beat_index",
//              "beat_position",
//                         "source_index"}]}],
//    "words_outside_grid": [...same word objects with "bar_index": null...]}
// A bar runs from its downbeat to the next (the last one lasts as long as the one before, or
// beats_per_bar beats at bpm). A word belongs to the bar its start falls in; beat_index is the
// last beat at or before its start (0-based in the bar); beat_position is that plus the fraction
// of the way to the next beat (so 2.5 = halfway between the bar's third and fourth beats).
// Words before the first downbeat or after the last bar are listed in words_outside_grid.
// `source_index` says which transcript (of `transcripts`) the word came from.
nlohmann::json align_words_to_bars(const std::vector<std::vector<AsrWord>>& transcripts,
                                   const BeatGrid& grid);

}  // namespace atomcut

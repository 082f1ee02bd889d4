#include "engines/audio/bars_aligner.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace atomcut {

namespace {

Result<std::vector<int64_t>> read_times(const nlohmann::json& j, const char* a, const char* b,
                                        const std::string& prefix) {
  const char* name = j.contains(a) ? a : b;
  std::vector<int64_t> out;
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return out;
  const std::string field = prefix + name;
  if (!it->is_array()) {
    return Error::invalid_argument(fmt::format("{} must be an array of milliseconds", field),
                                   {{"field", field}});
  }
  for (size_t i = 0; i < it->size(); ++i) {
    const auto& v = (*it)[i];
    if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < 0 ||
        v.get<double>() > 1e12) {
      return Error::invalid_argument(
          fmt::format("{}[{}] must be a time in milliseconds >= 0", field, i), {{"field", field}});
    }
    out.push_back(static_cast<int64_t>(std::llround(v.get<double>())));
    if (out.size() > 1 && out.back() < out[out.size() - 2]) {
      return Error::invalid_argument(fmt::format("{} must be in ascending order", field),
                                     {{"field", field}});
    }
  }
  return out;
}

nlohmann::json word_json(const AsrWord& w, size_t source) {
  return {{"word", w.word},
          {"start_ms", w.start_ms},
          {"end_ms", w.end_ms},
          {"confidence", w.confidence},
          {"source_index", source}};
}

}  // namespace

Result<BeatGrid> beat_grid_from_json(const nlohmann::json& j, const std::string& prefix) {
  if (!j.is_object()) {
    return Error::invalid_argument(fmt::format("{} must be a JSON object", prefix),
                                   {{"field", prefix}});
  }
  BeatGrid g;
  const std::string p = prefix.empty() ? "" : prefix + ".";
  if (auto it = j.find("bpm"); it != j.end() && !it->is_null()) {
    if (!it->is_number() || it->get<double>() < 0 || it->get<double>() > 1000) {
      return Error::invalid_argument(fmt::format("{}bpm must be a number in 0..1000", p),
                                     {{"field", p + "bpm"}});
    }
    g.bpm = it->get<double>();
  }
  if (auto it = j.find("beats_per_bar"); it != j.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > 16) {
      return Error::invalid_argument(fmt::format("{}beats_per_bar must be a whole number 1..16", p),
                                     {{"field", p + "beats_per_bar"}});
    }
    g.beats_per_bar = it->get<int>();
  }
  ATOMCUT_ASSIGN_OR_RETURN(g.beats_ms, read_times(j, "beats_ms", "beats", p));
  ATOMCUT_ASSIGN_OR_RETURN(g.downbeats_ms, read_times(j, "downbeats_ms", "downbeats", p));
  if (g.downbeats_ms.empty() && !g.beats_ms.empty()) {
    for (size_t i = 0; i < g.beats_ms.size(); i += static_cast<size_t>(g.beats_per_bar)) {
      g.downbeats_ms.push_back(g.beats_ms[i]);
    }
  }
  return g;
}

nlohmann::json align_words_to_bars(const std::vector<std::vector<AsrWord>>& transcripts,
                                   const BeatGrid& grid) {
  struct Placed {
    AsrWord w;
    size_t source;
  };
  std::vector<Placed> words;
  for (size_t s = 0; s < transcripts.size(); ++s) {
    for (const auto& w : transcripts[s]) words.push_back({w, s});
  }
  std::stable_sort(words.begin(), words.end(),
                   [](const Placed& a, const Placed& b) { return a.w.start_ms < b.w.start_ms; });

  const auto& downs = grid.downbeats_ms;
  const double beat_ms = grid.bpm > 0 ? 60000.0 / grid.bpm : 0;
  nlohmann::json bars = nlohmann::json::array();
  for (size_t i = 0; i < downs.size(); ++i) {
    int64_t end = 0;
    if (i + 1 < downs.size()) {
      end = downs[i + 1];
    } else if (i > 0) {
      end = downs[i] + (downs[i] - downs[i - 1]);
    } else {
      end = downs[i] + static_cast<int64_t>(std::llround(beat_ms * grid.beats_per_bar));
    }
    nlohmann::json beats = nlohmann::json::array();
    for (int64_t b : grid.beats_ms) {
      if (b >= downs[i] && b < end) beats.push_back(b);
    }
    if (beats.empty()) beats.push_back(downs[i]);
    bars.push_back({{"index", static_cast<int64_t>(i)},
                    {"start_ms", downs[i]},
                    {"end_ms", end},
                    {"beats_ms", beats},
                    {"words", nlohmann::json::array()},
                    {"text", ""}});
  }

  nlohmann::json outside = nlohmann::json::array();
  size_t placed = 0;
  for (const auto& p : words) {
    const int64_t t = p.w.start_ms;
    // The bar whose [start, end) holds t.
    auto it = std::upper_bound(downs.begin(), downs.end(), t);
    if (it == downs.begin() || bars.empty()) {
      auto j = word_json(p.w, p.source);
      j["bar_index"] = nullptr;
      outside.push_back(std::move(j));
      continue;
    }
    const size_t bi = static_cast<size_t>(it - downs.begin()) - 1;
    auto& bar = bars[bi];
    if (t >= bar["end_ms"].get<int64_t>()) {
      auto j = word_json(p.w, p.source);
      j["bar_index"] = nullptr;
      outside.push_back(std::move(j));
      continue;
    }
    const auto& beats = bar["beats_ms"];
    size_t k = 0;
    while (k + 1 < beats.size() && beats[k + 1].get<int64_t>() <= t) ++k;
    const int64_t b0 = beats[k].get<int64_t>();
    const int64_t b1 =
        k + 1 < beats.size() ? beats[k + 1].get<int64_t>() : bar["end_ms"].get<int64_t>();
    const double frac = b1 > b0 ? static_cast<double>(t - b0) / static_cast<double>(b1 - b0) : 0.0;
    auto j = word_json(p.w, p.source);
    j["beat_index"] = static_cast<int64_t>(k);
    j["beat_position"] = std::round((static_cast<double>(k) + frac) * 1000.0) / 1000.0;
    std::string text = bar["text"].get<std::string>();
    bar["text"] = text.empty() ? p.w.word : text + " " + p.w.word;
    bar["words"].push_back(std::move(j));
    ++placed;
  }
  return {{"bpm", grid.bpm},
          {"beats_per_bar", grid.beats_per_bar},
          {"bar_count", bars.size()},
          {"word_count", words.size()},
          {"words_placed", placed},
          {"bars", std::move(bars)},
          {"words_outside_grid", std::move(outside)}};
}

}  // namespace atomcut

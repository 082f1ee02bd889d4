// The bars aligner: words land in the bar and on the beat their start falls in; words outside the
// grid are listed apart; grids are read from beat_features summaries or clients' own JSON.
#include "engines/audio/bars_aligner.h"

#include <gtest/gtest.h>

namespace atomcut {
namespace {

AsrWord word(const char* w, int64_t s, int64_t e) { return AsrWord{w, s, e, 0.9}; }

BeatGrid grid_120(int bars) {
  BeatGrid g;
  g.bpm = 120;
  for (int i = 0; i < bars * 4; ++i) g.beats_ms.push_back(1000 + i * 500);
  for (int i = 0; i < bars; ++i) g.downbeats_ms.push_back(1000 + i * 2000);
  return g;
}

TEST(BarsAligner, WordsLandOnTheirBarAndBeat) {
  const std::vector<std::vector<AsrWord>> t = {
      {word("one", 1000, 1200), word("two", 1740, 1900), word("three", 3250, 3400)},
      {word("four", 4999, 5100)}};
  auto doc = align_words_to_bars(t, grid_120(2));
  ASSERT_EQ(doc["bar_count"], 2);
  EXPECT_EQ(doc["word_count"], 4);
  EXPECT_EQ(doc["words_placed"], 4);
  const auto& b0 = doc["bars"][0];
  EXPECT_EQ(b0["start_ms"], 1000);
  EXPECT_EQ(b0["end_ms"], 3000);
  EXPECT_EQ(b0["text"], "one two");
  EXPECT_EQ(b0["words"][0]["beat_index"], 0);
  EXPECT_DOUBLE_EQ(b0["words"][0]["beat_position"].get<double>(), 0.0);
  EXPECT_EQ(b0["words"][1]["beat_index"], 1);  // 1740: between beats 1500 and 2000
  EXPECT_NEAR(b0["words"][1]["beat_position"].get<double>(), 1.48, 1e-9);
  const auto& b1 = doc["bars"][1];
  EXPECT_EQ(b1["end_ms"], 5000);  // the last bar lasts as long as the one before
  EXPECT_EQ(b1["text"], "three four");
  EXPECT_EQ(b1["words"][1]["beat_index"], 3);
  EXPECT_EQ(b1["words"][1]["source_index"], 1);
}

TEST(BarsAligner, WordsOutsideTheGridAreListedApart) {
  auto doc =
      align_words_to_bars({{word("early", 200, 400), word("late", 5000, 5200)}}, grid_120(2));
  EXPECT_EQ(doc["words_placed"], 0);
  ASSERT_EQ(doc["words_outside_grid"].size(), 2u);
  EXPECT_TRUE(doc["words_outside_grid"][0]["bar_index"].is_null());
  // No grid at all: no bars, every word outside.
  auto none = align_words_to_bars({{word("a", 0, 10)}}, BeatGrid{});
  EXPECT_EQ(none["bar_count"], 0);
  EXPECT_EQ(none["words_outside_grid"].size(), 1u);
}

TEST(BarsAligner, GridFromJson) {
  auto g =
      beat_grid_from_json({{"bpm", 90}, {"beats_ms", {0, 667, 1333, 2000, 2667}}}, "beat_meta");
  ASSERT_TRUE(g.ok()) << g.error().message;
  // Without downbeats every beats_per_bar-th beat starts a bar.
  EXPECT_EQ(g->downbeats_ms, (std::vector<int64_t>{0, 2667}));
  auto spec = beat_grid_from_json({{"bpm", 120}, {"beats", {0, 500}}, {"downbeats", {0}}}, "b");
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->beats_ms.size(), 2u);

  for (const nlohmann::json& bad :
       {nlohmann::json{{"beats_ms", "x"}}, nlohmann::json{{"beats_ms", {500, 100}}},
        nlohmann::json{{"beats_ms", {-5}}}, nlohmann::json{{"bpm", -1}},
        nlohmann::json{{"beats_per_bar", 0}}, nlohmann::json::array()}) {
    auto r = beat_grid_from_json(bad, "beat_meta");
    ASSERT_FALSE(r.ok()) << bad.dump();
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().details.value("field", std::string()).find("beat_meta"), std::string::npos);
  }
}

}  // namespace
}  // namespace atomcut

// Captions and auto masks over real HTTP against the real binary. Captions: a testsrc2 video with
// flite speech (two sentences with a long silence between) goes through POST
// /video/captions/generate; the SRT is fetched, parsed strictly and checked against the spoken
// words and every subtitle rule; the WebVTT too; clip windows, the stub backend, the cache, silent
// media, other tenants and bad bodies. Masks: a red square drawn on noise is cut out by POST
// /video/masks/auto from a box and from points; the PNG fetched through Media v2 is single channel
// (ffprobe: gray) and matches the square (IoU); feathering, mask_type, the cache, GET
// /video/masks/{id}, other tenants and bad prompts.
#include "integration/api_fixture.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <regex>
#include <set>

namespace atomcut::testing {
namespace {

constexpr const char* kSentenceA = "the quick brown fox jumps over the lazy dog";
constexpr const char* kSentenceB = "thank you for your help with the project";
constexpr int64_t kLeadMs = 1000;
constexpr int64_t kSilenceMs = 1800;
// The red square in the mask video (320x240).
constexpr int kSqX = 100, kSqY = 60, kSqW = 120, kSqH = 100;

int64_t duration_ms_of(const std::string& path) {
  auto r = run_command(
      {"ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path});
  return r.exit_code == 0 ? static_cast<int64_t>(std::atof(r.out.c_str()) * 1000) : -1;
}

struct Cue {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  std::vector<std::string> lines;
};

std::optional<int64_t> parse_time(const std::string& s, char sep) {
  static const std::regex re("([0-9]{2}):([0-5][0-9]):([0-5][0-9])[,.]([0-9]{3})");
  std::smatch m;
  if (s.size() != 12 || s[8] != sep || !std::regex_match(s, m, re)) return std::nullopt;
  return ((std::stoll(m[1]) * 60 + std::stoll(m[2])) * 60 + std::stoll(m[3])) * 1000 +
         std::stoll(m[4]);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  size_t from = 0;
  while (from < text.size()) {
    size_t nl = text.find('\n', from);
    if (nl == std::string::npos) nl = text.size();
    out.push_back(text.substr(from, nl - from));
    from = nl + 1;
  }
  return out;
}

// Strict SubRip (index, times, text lines, blank line) or WebVTT ("WEBVTT", blank, then cues
// without indexes); nullopt with the reason in *why otherwise.
std::optional<std::vector<Cue>> parse_subtitles(const std::string& text, bool vtt,
                                                std::string* why) {
  std::vector<Cue> out;
  if (!text.empty() && text.back() != '\n') {
    *why = "no final newline";
    return std::nullopt;
  }
  if (text.find('\r') != std::string::npos) {
    *why = "CR";
    return std::nullopt;
  }
  const std::vector<std::string> ls = lines_of(text);
  size_t k = 0;
  if (vtt) {
    if (ls.size() < 2 || ls[0] != "WEBVTT" || !ls[1].empty()) {
      *why = "no WEBVTT header";
      return std::nullopt;
    }
    k = 2;
  }
  while (k < ls.size()) {
    if (!vtt) {
      if (ls[k] != std::to_string(out.size() + 1)) {
        *why = "bad index '" + ls[k] + "'";
        return std::nullopt;
      }
      ++k;
    }
    if (k >= ls.size() || ls[k].size() != 29 || ls[k].substr(12, 5) != " --> ") {
      *why = "bad timing line";
      return std::nullopt;
    }
    auto s = parse_time(ls[k].substr(0, 12), vtt ? '.' : ',');
    auto e = parse_time(ls[k].substr(17), vtt ? '.' : ',');
    if (!s || !e) {
      *why = "bad time in '" + ls[k] + "'";
      return std::nullopt;
    }
    Cue c{*s, *e, {}};
    ++k;
    while (k < ls.size() && !ls[k].empty()) c.lines.push_back(ls[k++]);
    if (c.lines.empty() || k >= ls.size()) {
      *why = "cue without text or without its blank line";
      return std::nullopt;
    }
    ++k;
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<std::string> words_in(const std::vector<Cue>& cues) {
  std::vector<std::string> out;
  for (const auto& c : cues) {
    for (const auto& l : c.lines) {
      std::istringstream in(l);
      std::string w;
      while (in >> w) out.push_back(w);
    }
  }
  return out;
}

void expect_cue_rules(const std::vector<Cue>& cues) {
  for (size_t k = 0; k < cues.size(); ++k) {
    const Cue& c = cues[k];
    EXPECT_GE(c.lines.size(), 1u);
    EXPECT_LE(c.lines.size(), 2u);
    for (const auto& l : c.lines) EXPECT_LE(l.size(), 42u) << l;
    EXPECT_GE(c.end_ms - c.start_ms, 1000) << k;
    EXPECT_LE(c.end_ms - c.start_ms, 7000) << k;
    if (k + 1 < cues.size()) {
      EXPECT_LE(c.end_ms, cues[k + 1].start_ms);
      EXPECT_LT(c.start_ms, cues[k + 1].start_ms);
    }
  }
}

size_t hits(const std::vector<std::string>& words, const std::string& sentence) {
  std::istringstream in(sentence);
  std::string w;
  size_t n = 0;
  while (in >> w) n += std::count(words.begin(), words.end(), w) > 0;
  return n;
}

class CaptionsApiTest : public ApiSuite {
 protected:
  httplib::Result get(const std::string& path, const httplib::Headers* h = nullptr) {
    return c_->Get(path, h ? *h : a());
  }
  // The mask PNG as 8-bit gray pixels (through the ffmpeg CLI), checked to be 320x240 gray.
  std::vector<uint8_t> mask_pixels(const std::string& artifact_id) {
    const std::string png = fetch(artifact_id, ".png");
    auto probe = run_command({"ffprobe", "-v", "error", "-show_entries",
                              "stream=codec_name,pix_fmt,width,height", "-of", "csv=p=0", png});
    EXPECT_EQ(probe.out, "png,320,240,gray\n");
    auto raw = run_command({"ffmpeg", "-nostdin", "-v", "error", "-i", png, "-f", "rawvideo",
                            "-pix_fmt", "gray", "-"});
    return std::vector<uint8_t>(raw.out.begin(), raw.out.end());
  }

  // ---- media, made once ------------------------------------------------------------------

  // testsrc2 320x240 with sound: 1 s silence, sentence A, 1.8 s silence, sentence B, 1 s silence.
  static const std::string& speech_video() {
    static std::string path;
    if (path.empty()) {
      const std::string wa = tmp("a.wav"), wb = tmp("b.wav");
      if (!run_ok({"flite", "-voice", "slt", "-t", kSentenceA, "-o", wa}) ||
          !run_ok({"flite", "-voice", "slt", "-t", kSentenceB, "-o", wb})) {
        return path;
      }
      a_ms_ = duration_ms_of(wa);
      b_ms_ = duration_ms_of(wb);
      const std::string wav = tmp("speech.wav");
      if (!run_ok({"ffmpeg", "-nostdin", "-v", "error", "-y", "-i", wa, "-i", wb, "-filter_complex",
                   fmt::format("[0:a]aresample=16000,adelay={}[x];[1:a]aresample=16000,adelay={},"
                               "apad=pad_dur=1[y];[x][y]concat=n=2:v=0:a=1",
                               kLeadMs, kSilenceMs),
                   "-ac", "1", wav})) {
        return path;
      }
      const std::string out = tmp("speech.mp4");
      if (run_ok({"ffmpeg",    "-nostdin", "-v",
                  "error",     "-y",       "-f",
                  "lavfi",     "-i",       "testsrc2=s=320x240:r=25",
                  "-i",        wav,        "-shortest",
                  "-c:v",      "libx264",  "-preset",
                  "ultrafast", "-pix_fmt", "yuv420p",
                  "-c:a",      "aac",      "-b:a",
                  "96k",       out})) {
        path = out;
      }
    }
    return path;
  }
  // 3 s of colour noise with a red square at (100, 60) 120x100, no sound.
  static const std::string& square_video() {
    static std::string path;
    if (path.empty()) {
      const std::string out = tmp("square.mp4");
      if (run_ok({"ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                  "color=c=0x607080:s=320x240:r=25:d=3,format=yuv444p,"
                  "noise=c0s=60:c1s=50:c2s=50:allf=t+u,"
                  "drawbox=x=100:y=60:w=120:h=100:color=0xE02020:t=fill",
                  "-c:v", "libx264", "-preset", "ultrafast", "-crf", "12", "-pix_fmt", "yuv444p",
                  out})) {
        path = out;
      }
    }
    return path;
  }
  static std::vector<uint8_t> square_truth() {
    std::vector<uint8_t> t(320u * 240u, 0);
    for (int y = kSqY; y < kSqY + kSqH; ++y) {
      for (int x = kSqX; x < kSqX + kSqW; ++x) t[static_cast<size_t>(y) * 320 + x] = 255;
    }
    return t;
  }
  static double iou(const std::vector<uint8_t>& m, const std::vector<uint8_t>& t) {
    if (m.size() != t.size()) return 0;
    size_t i = 0, u = 0;
    for (size_t k = 0; k < m.size(); ++k) {
      i += m[k] >= 128 && t[k] >= 128;
      u += m[k] >= 128 || t[k] >= 128;
    }
    return u ? static_cast<double>(i) / u : 0;
  }

  static int64_t a_ms_, b_ms_;
};

int64_t CaptionsApiTest::a_ms_ = 0;
int64_t CaptionsApiTest::b_ms_ = 0;

TEST_F(CaptionsApiTest, CaptionsFromSpeechAreWellFormedSubtitlesOfTheSpokenWords) {
  const std::string video = speech_video();
  ASSERT_FALSE(video.empty());
  const std::string id = upload_asset(video, "speech.mp4");
  ASSERT_FALSE(id.empty());

  auto out = post_expect("/video/captions/generate", {{"asset_id", id}}, 201);
  const std::string tr = out.value("artifact_id", "");
  ASSERT_FALSE(tr.empty()) << out.dump();
  EXPECT_EQ(out["kind"], "asr_transcript");
  EXPECT_EQ(out["asset_id"], id);
  EXPECT_EQ(out["backend"], "pocketsphinx");
  const auto& m = out["meta"];
  EXPECT_EQ(m["backend_type"], "pocketsphinx");
  EXPECT_FALSE(m.value("backend_version", "").empty());
  EXPECT_FALSE(m.value("model_used", "").empty());
  EXPECT_FALSE(m.value("cache_key", "").empty());
  EXPECT_EQ(m["language"], "en");
  const int64_t total_ms = kLeadMs + a_ms_ + kSilenceMs + b_ms_ + 1000;
  EXPECT_NEAR(m["duration_ms"].get<double>(), static_cast<double>(total_ms), 300);
  EXPECT_EQ(out["srt_url"], "/video/captions/" + tr + "/srt");
  EXPECT_EQ(out["vtt_url"], "/video/captions/" + tr + "/vtt");

  auto srt = get(out["srt_url"].get<std::string>());
  ASSERT_TRUE(srt);
  ASSERT_EQ(srt->status, 200) << srt->body;
  EXPECT_EQ(srt->get_header_value("Content-Type"), "application/x-subrip; charset=utf-8");
  std::string why;
  auto cues = parse_subtitles(srt->body, false, &why);
  ASSERT_TRUE(cues) << why << "\n" << srt->body;
  std::printf("[ figure ] SRT:\n%s", srt->body.c_str());
  ASSERT_GE(cues->size(), 2u);
  EXPECT_EQ(out["cue_count"].get<size_t>(), cues->size());
  expect_cue_rules(*cues);
  const auto words = words_in(*cues);
  EXPECT_GE(hits(words, kSentenceA), 7u) << srt->body;
  EXPECT_GE(hits(words, kSentenceB), 6u) << srt->body;
  // The long silence between the sentences ends a cue: no cue spans it.
  const int64_t silence_from = kLeadMs + a_ms_;
  const int64_t silence_to = silence_from + kSilenceMs;
  for (const auto& c : *cues) {
    EXPECT_FALSE(c.start_ms < silence_from && c.end_ms > silence_to)
        << c.start_ms << "-" << c.end_ms << " spans the silence " << silence_from << "-"
        << silence_to;
  }
  // Cues lie within the speech (after the lead-in, before the end of the media).
  EXPECT_GE(cues->front().start_ms, kLeadMs - 300);
  EXPECT_LE(cues->back().end_ms, total_ms + 100);

  auto vtt = get(out["vtt_url"].get<std::string>());
  ASSERT_TRUE(vtt);
  ASSERT_EQ(vtt->status, 200);
  EXPECT_EQ(vtt->get_header_value("Content-Type"), "text/vtt; charset=utf-8");
  auto vcues = parse_subtitles(vtt->body, true, &why);
  ASSERT_TRUE(vcues) << why << "\n" << vtt->body;
  ASSERT_EQ(vcues->size(), cues->size());
  for (size_t k = 0; k < cues->size(); ++k) {
    EXPECT_EQ((*vcues)[k].start_ms, (*cues)[k].start_ms);
    EXPECT_EQ((*vcues)[k].end_ms, (*cues)[k].end_ms);
    EXPECT_EQ((*vcues)[k].lines, (*cues)[k].lines);
  }

  // The same request is served from the cache; the transcript is a Media v2 artifact.
  auto again = post_expect("/video/captions/generate", {{"asset_id", id}}, 200);
  EXPECT_EQ(again["artifact_id"], tr);
  EXPECT_EQ(again["cache_hit"], true);
  auto art = get("/media-v2/artifacts/" + tr);
  ASSERT_TRUE(art && art->status == 200);

  // A clip over sentence B only: its captions hold only B's words, in clip time.
  auto project = post_expect("/video/projects", {{"title", "captions"}}, 201);
  auto seq = post_expect("/video/projects/" + project.value("id", "") + "/sequences",
                         {{"name", "s"}, {"timebase", 25}}, 201);
  auto track = post_expect("/video/sequences/" + seq.value("id", "") + "/tracks",
                           {{"kind", "video"}, {"order", 0}}, 201);
  const int64_t in_ms = silence_to - 300;
  auto clip = post_expect(
      "/video/tracks/" + track.value("id", "") + "/clips",
      {{"asset_id", id}, {"in_ms", in_ms}, {"out_ms", total_ms - 200}, {"start_ms_on_timeline", 0}},
      201);
  const std::string clip_id = clip.value("id", "");
  auto by_clip = post_expect("/video/captions/generate", {{"clip_id", clip_id}}, 200);
  EXPECT_EQ(by_clip["artifact_id"], tr);
  EXPECT_EQ(by_clip["clip_id"], clip_id);
  EXPECT_EQ(by_clip["srt_url"], "/video/captions/" + tr + "/srt?clip_id=" + clip_id);
  auto clip_srt = get(by_clip["srt_url"].get<std::string>());
  ASSERT_TRUE(clip_srt && clip_srt->status == 200);
  auto ccues = parse_subtitles(clip_srt->body, false, &why);
  ASSERT_TRUE(ccues) << why;
  ASSERT_FALSE(ccues->empty());
  expect_cue_rules(*ccues);
  EXPECT_LE(ccues->front().start_ms, 800);
  EXPECT_LE(ccues->back().end_ms, total_ms - 200 - in_ms);
  const auto clip_words = words_in(*ccues);
  EXPECT_GE(hits(clip_words, kSentenceB), 6u) << clip_srt->body;
  EXPECT_LE(hits(clip_words, "quick brown fox jumps lazy dog"), 0u) << clip_srt->body;
  EXPECT_EQ(get("/video/captions/" + tr + "/vtt?clip_id=" + clip_id)->status, 200);
  EXPECT_EQ(get("/video/captions/" + tr + "/srt?clip_id=clp_missing")->status, 404);
  post_error("/video/captions/generate", {{"clip_id", clip_id}, {"asset_id", "ast_other"}}, 400);

  // The stub backend by name: an empty transcript that says so, and empty but valid subtitles.
  auto stub = post_expect("/video/captions/generate", {{"asset_id", id}, {"backend", "stub"}}, 201);
  EXPECT_EQ(stub["meta"]["backend_type"], "stub");
  EXPECT_EQ(stub["cue_count"], 0);
  EXPECT_NE(stub["artifact_id"], tr);
  auto stub_srt = get(stub["srt_url"].get<std::string>());
  ASSERT_TRUE(stub_srt && stub_srt->status == 200);
  EXPECT_EQ(stub_srt->body, "");
  EXPECT_EQ(get(stub["vtt_url"].get<std::string>())->body, "WEBVTT\n\n");

  // Other tenants see nothing.
  auto hb = b();
  EXPECT_EQ(error_code_of(post("/video/captions/generate", {{"asset_id", id}}, &hb)), "not_found");
  auto other = get("/video/captions/" + tr + "/srt", &hb);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
  EXPECT_EQ(error_code_of(other), "not_found");
  EXPECT_EQ(get("/video/captions/" + tr + "/vtt", &hb)->status, 404);
  EXPECT_EQ(get("/video/captions/art_missing/srt")->status, 404);
}

// Real recorded speech (asterisk-core-sounds-en, Allison, 8 kHz): two prompts with 1.6 s of
// silence between, under a testsrc2 picture. Recognition of 8 kHz telephone prompts is rough, so
// the words are checked loosely; the subtitle rules and the break at the silence hold exactly.
TEST_F(CaptionsApiTest, CaptionsOfRealRecordedSpeech) {
  const std::string dir = "/usr/share/asterisk/sounds/en_US_f_Allison";
  const std::string p1 = dir + "/privacy-prompt.wav", p2 = dir + "/vm-intro.wav";
  if (!std::filesystem::exists(p1) || !std::filesystem::exists(p2)) {
    GTEST_SKIP() << "asterisk-core-sounds-en-wav is not installed";
  }
  const int64_t d1 = duration_ms_of(p1);
  const std::string out = tmp("allison.mp4");
  ASSERT_TRUE(run_ok({"ffmpeg",
                      "-nostdin",
                      "-v",
                      "error",
                      "-y",
                      "-f",
                      "lavfi",
                      "-i",
                      "testsrc2=s=320x240:r=25",
                      "-i",
                      p1,
                      "-i",
                      p2,
                      "-filter_complex",
                      "[1:a]aresample=16000,apad=pad_dur=1.6[x];[2:a]aresample=16000[y];"
                      "[x][y]concat=n=2:v=0:a=1[a]",
                      "-map",
                      "0:v",
                      "-map",
                      "[a]",
                      "-shortest",
                      "-c:v",
                      "libx264",
                      "-preset",
                      "ultrafast",
                      "-c:a",
                      "aac",
                      out}));
  const std::string id = upload_asset(out, "allison.mp4");
  ASSERT_FALSE(id.empty());
  auto gen = post_expect("/video/captions/generate", {{"asset_id", id}}, 201);
  auto srt = get("/video/captions/" + gen.value("artifact_id", "") + "/srt");
  ASSERT_TRUE(srt && srt->status == 200);
  std::string why;
  auto cues = parse_subtitles(srt->body, false, &why);
  ASSERT_TRUE(cues) << why << "\n" << srt->body;
  std::printf("[ figure ] SRT of real speech:\n%s", srt->body.c_str());
  ASSERT_GE(cues->size(), 2u);
  expect_cue_rules(*cues);
  for (const auto& c : *cues) {
    EXPECT_FALSE(c.start_ms < d1 - 100 && c.end_ms > d1 + 1700) << "a cue spans the silence";
  }
  const auto words = words_in(*cues);
  const size_t h = hits(words, "please enter your phone number starting with the area code") +
                   hits(words,
                        "please leave your message after the tone when done hang up or "
                        "press the pound key");
  std::printf("[ figure ] real speech: %zu of 26 reference words found\n", h);
  EXPECT_GE(h, 8u);
}

TEST_F(CaptionsApiTest, CaptionsRefuseSilentMediaAndBadBodies) {
  const std::string silent = tmp("silent.mp4");
  ASSERT_TRUE(
      run_ok({"ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
              "testsrc2=s=160x120:r=25:d=2", "-c:v", "libx264", "-preset", "ultrafast", silent}));
  const std::string id = upload_asset(silent, "silent.mp4");
  ASSERT_FALSE(id.empty());
  auto e = post_error("/video/captions/generate", {{"asset_id", id}}, 400);
  EXPECT_EQ(e["details"]["reason"], "no_audio_stream");

  post_error("/video/captions/generate", nlohmann::json::object(), 400);
  post_error("/video/captions/generate", {{"asset_id", 5}}, 400);
  post_error("/video/captions/generate", {{"asset_id", id}, {"language", "fr"}}, 400);
  post_error("/video/captions/generate", {{"asset_id", id}, {"language", 7}}, 400);
  auto eb = post_error("/video/captions/generate", {{"asset_id", id}, {"backend", "whisper"}}, 400);
  EXPECT_TRUE(eb["details"]["available"].is_array()) << eb.dump();
  post_error("/video/captions/generate", {{"asset_id", "../../etc"}}, 400);
  post_error("/video/captions/generate", nlohmann::json::array({1, 2}), 400);
  EXPECT_EQ(error_code_of(post("/video/captions/generate", {{"asset_id", "ast_missing"}})),
            "not_found");
  EXPECT_EQ(error_code_of(post("/video/captions/generate", {{"clip_id", "clp_missing"}})),
            "not_found");
}

TEST_F(CaptionsApiTest, AutoMasksCutOutTheObjectAsGrayPngs) {
  const std::string video = square_video();
  ASSERT_FALSE(video.empty());
  const std::string id = upload_asset(video, "square.mp4");
  ASSERT_FALSE(id.empty());
  const auto truth = square_truth();

  const nlohmann::json box = {
      {"x", 90.0 / 320}, {"y", 50.0 / 240}, {"width", 140.0 / 320}, {"height", 120.0 / 240}};
  auto out = post_expect("/video/masks/auto",
                         {{"asset_id", id}, {"timestamp_ms", 1000}, {"box", box}}, 201);
  const std::string mid = out.value("artifact_id", "");
  ASSERT_FALSE(mid.empty()) << out.dump();
  EXPECT_EQ(out["kind"], "mask");
  const auto& m = out["meta"];
  EXPECT_EQ(m["mask_type"], "object");
  EXPECT_EQ(m["feather_radius"], 0);
  EXPECT_TRUE(std::regex_match(m.value("selection_hash", ""), std::regex("[0-9a-f]{64}")));
  EXPECT_EQ(m["point_count"], 0);
  EXPECT_EQ(m["positive_point_count"], 0);
  EXPECT_EQ(m["negative_point_count"], 0);
  EXPECT_EQ(m["stroke_count"], 0);
  EXPECT_EQ(m["timestamp_ms"], 1000);
  EXPECT_EQ(m["width"], 320);
  EXPECT_EQ(m["height"], 240);
  EXPECT_EQ(m["backend_version"].get<std::string>().rfind("grabcut_opencv_", 0), 0u);
  EXPECT_FALSE(m.value("model_used", "").empty());
  EXPECT_FALSE(m.value("cache_key", "").empty());
  EXPECT_NEAR(m["coverage"].get<double>(), 120.0 * 100 / (320 * 240), 0.03);
  const auto px = mask_pixels(mid);
  ASSERT_EQ(px.size(), truth.size());
  const double box_iou = iou(px, truth);
  std::printf("[ figure ] box prompt on the video frame: IoU %.3f\n", box_iou);
  EXPECT_GE(box_iou, 0.85);

  // Identical request: the same artifact (200).
  auto again = post_expect("/video/masks/auto",
                           {{"asset_id", id}, {"timestamp_ms", 1000}, {"box", box}}, 200);
  EXPECT_EQ(again["artifact_id"], mid);
  EXPECT_EQ(again["cache_hit"], true);

  // Points: two on the square, one off it.
  auto pts = post_expect("/video/masks/auto",
                         {{"asset_id", id},
                          {"timestamp_ms", 2000},
                          {"points",
                           {{{"x", 0.5}, {"y", 0.45}, {"label", "positive"}},
                            {{"x", 0.6}, {"y", 0.55}},
                            {{"x", 0.1}, {"y", 0.9}, {"label", "negative"}}}}},
                         201);
  EXPECT_EQ(pts["meta"]["point_count"], 3);
  EXPECT_EQ(pts["meta"]["positive_point_count"], 2);
  EXPECT_EQ(pts["meta"]["negative_point_count"], 1);
  EXPECT_NE(pts["meta"]["selection_hash"], m["selection_hash"]);
  const double pts_iou = iou(mask_pixels(pts["artifact_id"]), truth);
  std::printf("[ figure ] point prompt on the video frame: IoU %.3f\n", pts_iou);
  EXPECT_GE(pts_iou, 0.8);

  // Feathered: a new artifact, same selection, soft edge.
  auto soft = post_expect(
      "/video/masks/auto",
      {{"asset_id", id}, {"timestamp_ms", 1000}, {"box", box}, {"feather_radius", 6}}, 201);
  EXPECT_NE(soft["artifact_id"], mid);
  EXPECT_EQ(soft["meta"]["feather_radius"], 6);
  EXPECT_EQ(soft["meta"]["selection_hash"], m["selection_hash"]);
  const auto spx = mask_pixels(soft["artifact_id"]);
  EXPECT_GT(std::count_if(spx.begin(), spx.end(), [](uint8_t v) { return v > 0 && v < 255; }), 400);
  EXPECT_GE(iou(spx, truth), 0.85);

  // mask_type face: a region mask, stored under regions/.
  auto face = post_expect(
      "/video/masks/auto",
      {{"asset_id", id}, {"timestamp_ms", 1000}, {"box", box}, {"mask_type", "face"}}, 201);
  EXPECT_NE(face["uri"].get<std::string>().find("/regions/"), std::string::npos) << face["uri"];

  // The stub backend by name.
  auto stub =
      post_expect("/video/masks/auto", {{"asset_id", id}, {"box", box}, {"backend", "stub"}}, 201);
  EXPECT_EQ(stub["meta"]["backend_type"], "stub");

  // GET /video/masks/{id}.
  auto got = get("/video/masks/" + mid);
  ASSERT_TRUE(got && got->status == 200);
  auto gj = body_json(got);
  EXPECT_EQ(gj["artifact_id"], mid);
  EXPECT_EQ(gj["asset_id"], id);
  EXPECT_EQ(gj["meta"]["selection_hash"], m["selection_hash"]);
  EXPECT_EQ(gj["content_url"], "/media-v2/artifacts/" + mid + "/content");
  auto hb = b();
  EXPECT_EQ(get("/video/masks/" + mid, &hb)->status, 404);
  EXPECT_EQ(error_code_of(post("/video/masks/auto", {{"asset_id", id}, {"box", box}}, &hb)),
            "not_found");
  EXPECT_EQ(get("/video/masks/art_missing")->status, 404);
}

// A real photograph uploaded as an image asset: the cup and saucer of skimage's coffee.png cut out
// from a loose box, against an outline drawn by hand once (two ellipses).
TEST_F(CaptionsApiTest, AutoMaskOnARealPhotographImageAsset) {
  const std::string photo = "/usr/lib/python3/dist-packages/skimage/data/coffee.png";
  if (!std::filesystem::exists(photo)) GTEST_SKIP() << "python3-skimage is not installed";
  const std::string id = upload_asset(photo, "coffee.png");
  ASSERT_FALSE(id.empty());
  auto out = post_expect(
      "/video/masks/auto",
      {{"asset_id", id},
       {"box",
        {{"x", 60.0 / 600}, {"y", 8.0 / 400}, {"width", 440.0 / 600}, {"height", 390.0 / 400}}}},
      201);
  ASSERT_EQ(out["meta"]["width"], 600);
  ASSERT_EQ(out["meta"]["height"], 400);
  const std::string png = fetch(out.value("artifact_id", ""), ".png");
  auto probe = run_command(
      {"ffprobe", "-v", "error", "-show_entries", "stream=pix_fmt", "-of", "csv=p=0", png});
  EXPECT_EQ(probe.out, "gray\n");
  auto raw = run_command(
      {"ffmpeg", "-nostdin", "-v", "error", "-i", png, "-f", "rawvideo", "-pix_fmt", "gray", "-"});
  std::vector<uint8_t> px(raw.out.begin(), raw.out.end());
  std::vector<uint8_t> outline(600u * 400u, 0);
  for (int y = 0; y < 400; ++y) {
    for (int x = 0; x < 600; ++x) {
      const double sx = (x - 278) / 203.0, sy = (y - 228) / 162.0;
      const double cx = (x - 290) / 118.0, cy = (y - 110) / 92.0;
      if (sx * sx + sy * sy <= 1 || cx * cx + cy * cy <= 1) outline[y * 600u + x] = 255;
    }
  }
  const double photo_iou = iou(px, outline);
  std::printf("[ figure ] coffee.png image asset: IoU %.3f against the hand outline\n", photo_iou);
  EXPECT_GE(photo_iou, 0.8);
  // Past the only picture of a still image.
  auto past = post_error(
      "/video/masks/auto",
      {{"asset_id", id}, {"timestamp_ms", 5000}, {"points", {{{"x", 0.5}, {"y", 0.5}}}}}, 400);
  EXPECT_EQ(past["details"]["reason"], "past_end");
}

TEST_F(CaptionsApiTest, AutoMasksRefuseBadPrompts) {
  const std::string video = square_video();
  ASSERT_FALSE(video.empty());
  const std::string id = upload_asset(video, "square.mp4");
  ASSERT_FALSE(id.empty());
  const nlohmann::json box = {{"x", 0.2}, {"y", 0.2}, {"width", 0.5}, {"height", 0.5}};
  auto field = [&](const nlohmann::json& body) {
    return post_error("/video/masks/auto", body, 400)["details"].value("field", "");
  };
  EXPECT_EQ(field({{"asset_id", id}}), "box");
  EXPECT_EQ(
      field({{"asset_id", id}, {"box", {{"x", 0.9}, {"y", 0.1}, {"width", 0.5}, {"height", 0.2}}}}),
      "box");
  EXPECT_EQ(
      field({{"asset_id", id}, {"box", {{"x", 0.1}, {"y", 0.1}, {"width", -1}, {"height", 0.2}}}}),
      "box");
  EXPECT_EQ(field({{"asset_id", id}, {"box", {{"x", 0.1}}}}), "box");
  EXPECT_EQ(field({{"asset_id", id}, {"box", "everything"}}), "box");
  EXPECT_EQ(field({{"asset_id", id}, {"points", {{{"x", 1.5}, {"y", 0.5}}}}}), "points[0]");
  EXPECT_EQ(field({{"asset_id", id}, {"points", {{{"x", 0.5}, {"y", 0.5}, {"label", "maybe"}}}}}),
            "points[0].label");
  EXPECT_EQ(
      field({{"asset_id", id}, {"points", {{{"x", 0.5}, {"y", 0.5}, {"label", "negative"}}}}}),
      "points");
  EXPECT_EQ(field({{"asset_id", id}, {"points", "centre"}}), "points");
  EXPECT_EQ(field({{"asset_id", id}, {"box", box}, {"feather_radius", 500}}), "feather_radius");
  EXPECT_EQ(field({{"asset_id", id}, {"box", box}, {"feather_radius", 2.5}}), "feather_radius");
  EXPECT_EQ(field({{"asset_id", id}, {"box", box}, {"mask_type", "blob"}}), "mask_type");
  EXPECT_EQ(field({{"asset_id", id}, {"box", box}, {"timestamp_ms", -5}}), "timestamp_ms");
  EXPECT_EQ(field({{"box", box}}), "asset_id");
  auto past = post_error("/video/masks/auto",
                         {{"asset_id", id}, {"box", box}, {"timestamp_ms", 60000}}, 400);
  EXPECT_EQ(past["details"]["reason"], "past_end");
  EXPECT_EQ(past["details"]["field"], "timestamp_ms");
  auto eb =
      post_error("/video/masks/auto", {{"asset_id", id}, {"box", box}, {"backend", "sam"}}, 400);
  EXPECT_TRUE(eb["details"]["available"].is_array());
  EXPECT_EQ(error_code_of(post("/video/masks/auto", {{"asset_id", "ast_missing"}, {"box", box}})),
            "not_found");
  // Sound has no pictures.
  const std::string tone = tmp("tone.wav");
  ASSERT_TRUE(run_ok({"ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                      "sine=frequency=440:duration=1", tone}));
  const std::string audio_id = upload_asset(tone, "tone.wav");
  auto e = post_error("/video/masks/auto", {{"asset_id", audio_id}, {"box", box}}, 400);
  EXPECT_EQ(e["details"]["reason"], "no_video_stream");
  post_error("/video/masks/auto", nlohmann::json::array(), 400);
}

}  // namespace
}  // namespace atomcut::testing

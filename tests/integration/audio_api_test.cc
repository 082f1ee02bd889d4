// The audio atoms over real HTTP against the real binary: ingest, preprocess, segment,
// beat-features, asr, align (bars and forced alignment), voice-enhance and the semantic timeline,
// on media made here with ffmpeg and flite and on real recordings from Debian packages. Outputs
// are fetched back through Media v2 and checked like a user would (samples, levels, durations,
// transcripts, tempo); every atom's cache rule, backend choice, tenant isolation and bad input are
// covered. Media is short (a few seconds) so the binary stays within a minute or two.
#include "integration/api_fixture.h"
#include "support/media_checks.h"
#include "support/subprocess.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

namespace atomcut::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kAllisonDir = "/usr/share/asterisk/sounds/en_US_f_Allison";
constexpr const char* kMohDir = "/usr/share/asterisk/moh";
constexpr const char* kSentence = "the quick brown fox jumps over the lazy dog";

// Mono 16 kHz float samples of any media file (through the ffmpeg CLI).
std::vector<float> pcm16k(const std::string& path) {
  auto r = run_command({"ffmpeg", "-nostdin", "-v", "error", "-i", path, "-ac", "1", "-ar", "16000",
                        "-f", "f32le", "-"},
                       60000);
  std::vector<float> out(r.out.size() / sizeof(float));
  if (!out.empty()) std::memcpy(out.data(), r.out.data(), out.size() * sizeof(float));
  return out;
}

double mean_of(const std::vector<float>& x) {
  double s = 0;
  for (float v : x) s += v;
  return x.empty() ? 0 : s / static_cast<double>(x.size());
}

double peak_dbfs(const std::vector<float>& x) {
  float p = 0;
  for (float v : x) p = std::max(p, std::fabs(v));
  return p > 0 ? 20 * std::log10(p) : -200;
}

std::vector<std::string> words_of(const nlohmann::json& transcript) {
  std::vector<std::string> out;
  for (const auto& s : transcript["segments"]) {
    for (const auto& w : s["words"]) out.push_back(w["word"].get<std::string>());
  }
  return out;
}

class AudioApiTest : public ApiSuite {
 protected:
  // Uploads through /audio/ingest; returns the asset id ("" on failure).
  std::string ingest(const std::string& path, const std::string& name,
                     const httplib::Headers* h = nullptr) {
    httplib::MultipartFormDataItems items;
    items.push_back({"file", slurp(path), name, "application/octet-stream"});
    auto r = c_->Post("/audio/ingest", h ? *h : a(), items);
    EXPECT_TRUE(r);
    if (!r) return "";
    EXPECT_EQ(r->status, 201) << r->body;
    return body_json(r).value("asset_id", "");
  }
  size_t artifact_count(const std::string& asset_id) {
    auto j = get_ok("/media-v2/assets/" + asset_id);
    return j.contains("artifacts") ? j["artifacts"].size() : 0;
  }

  // ---- media made once per suite ----------------------------------------------------------

  // flite (16 kHz voice) speaking kSentence, 1 s of silence either side.
  static std::string speech() {
    static std::string path;
    if (path.empty()) {
      const std::string raw = tmp_->path() + "/flite_raw.wav";
      if (!run_ok({"flite", "-voice", "slt", "-t", kSentence, "-o", raw})) return "";
      path = ffmpeg_make(tmp_->path() + "/speech.wav",
                         {"-i", raw, "-af", "adelay=1000,apad=pad_dur=1", "-ar", "16000"});
    }
    return path;
  }
  // Clicks at 120 BPM with an accented downbeat every 4 beats, 10 s, 44.1 kHz.
  static std::string clicks() {
    static std::string path;
    if (path.empty()) {
      path = ffmpeg_make(
          tmp_->path() + "/clicks.wav",
          {"-f", "lavfi", "-i",
           "aevalsrc='if(lt(mod(t,0.5),0.02),(0.4+0.5*lt(mod(t,2),0.02))*sin(2*PI*1200*t)*"
           "exp(-200*mod(t,0.5)),0)':s=44100:d=10"});
    }
    return path;
  }
  // 4 s of speech (an asterisk prompt, 3.5 s, padded), 2 s of silence, 4 s of music (asterisk moh).
  static std::string mixed() {
    static std::string path;
    if (path.empty()) {
      const std::string sp = std::string(kAllisonDir) + "/privacy-prompt.wav";
      const std::string mu = std::string(kMohDir) + "/macroform-robot_dity.wav";
      if (!fs::exists(sp) || !fs::exists(mu)) return "";
      path = ffmpeg_make(tmp_->path() + "/mixed.wav",
                         {"-i", sp, "-i", mu, "-filter_complex",
                          "[0:a]aresample=16000,atrim=0:4,apad=whole_dur=4[s];"
                          "anullsrc=r=16000:cl=mono,atrim=0:2[z];"
                          "[1:a]aresample=16000,atrim=10:14,asetpts=N/SR/TB[m];"
                          "[s][z][m]concat=n=3:v=0:a=1",
                          "-ac", "1"});
    }
    return path;
  }
};

TEST_F(AudioApiTest, BackendsListEveryAtomWithVersions) {
  auto j = get_ok("/audio/backends");
  std::set<std::string> atoms, names;
  for (const auto& b : j["items"]) {
    atoms.insert(b["atom"].get<std::string>());
    names.insert(b["atom"].get<std::string>() + "/" + b["name"].get<std::string>());
    EXPECT_FALSE(b["backend_version"].get<std::string>().empty()) << b.dump();
  }
  for (const char* atom : {"preprocess", "segment", "beat_features", "asr", "align",
                           "voice_enhance", "semantic_timeline"}) {
    EXPECT_TRUE(atoms.count(atom)) << atom;
  }
  for (const char* n : {"asr/pocketsphinx", "asr/stub", "beat_features/aubio", "voice_enhance/stub",
                        "semantic_timeline/signal", "semantic_timeline/stub"}) {
    EXPECT_TRUE(names.count(n)) << n;
  }
}

TEST_F(AudioApiTest, IngestTakesSoundAndRefusesSilentMediaLeavingNothing) {
  const std::string id = ingest(fixture("audio_stereo.mp3"), "tone.mp3");
  ASSERT_FALSE(id.empty());
  auto asset = get_ok("/media-v2/assets/" + id);
  EXPECT_EQ(asset["kind"], "audio");
  EXPECT_EQ(asset["audio_channels"], 2);

  // A video with sound is fine too.
  EXPECT_FALSE(ingest(fixture("video_h264_aac.mp4"), "v.mp4").empty());

  auto before = get_ok("/media-v2/assets?limit=1000")["items"].size();
  for (const char* f : {"video_only.mp4", "image.png", "not_media.txt"}) {
    httplib::MultipartFormDataItems items;
    items.push_back({"file", slurp(fixture(f)), f, "application/octet-stream"});
    auto r = c_->Post("/audio/ingest", a(), items);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << f << " " << r->body;
    EXPECT_EQ(error_code_of(r), "invalid_argument");
  }
  EXPECT_EQ(get_ok("/media-v2/assets?limit=1000")["items"].size(), before);
}

TEST_F(AudioApiTest, PreprocessCleansToAPeakSafeLevelAndCaches) {
  // 0.25 DC offset, 30 Hz rumble and a 1 kHz tone.
  const std::string src = ffmpeg_make(
      tmp("dirty.wav"),
      {"-f", "lavfi", "-i", "aevalsrc='0.25+0.2*sin(2*PI*30*t)+0.3*sin(2*PI*1000*t)':s=48000:d=3"});
  const std::string id = ingest(src, "dirty.wav");
  ASSERT_FALSE(id.empty());
  auto out = post_expect("/audio/preprocess",
                         {{"asset_id", id}, {"ffmpeg_opts", {{"peak_dbfs", -3.0}}}}, 201);
  EXPECT_EQ(out["kind"], "audio_clean");
  EXPECT_EQ(out["start_ms"], 0);
  EXPECT_EQ(out["cache_hit"], false);
  EXPECT_FALSE(out["meta"]["cache_key"].get<std::string>().empty());
  EXPECT_EQ(out["meta"]["source_asset_id"], id);
  const std::string path = fetch(out["artifact_id"], ".wav");
  auto pcm = pcm16k(path);
  ASSERT_GT(pcm.size(), 16000u * 2);
  EXPECT_NEAR(mean_of(std::vector<float>(pcm.begin() + 8000, pcm.end())), 0.0, 0.01);
  EXPECT_NEAR(peak_dbfs(pcm), -3.0, 0.6);
  EXPECT_NEAR(dominant_frequency_hz(path, 1.5), 1000.0, 20.0);

  // The same request again: the same artifact, 200, nothing new.
  const size_t n = artifact_count(id);
  auto again = post_expect("/audio/preprocess",
                           {{"asset_id", id}, {"ffmpeg_opts", {{"peak_dbfs", -3.0}}}}, 200);
  EXPECT_EQ(again["artifact_id"], out["artifact_id"]);
  EXPECT_EQ(again["cache_hit"], true);
  EXPECT_EQ(artifact_count(id), n);

  // Named options only: raw filter text, unknown options, paths, absurd values are refused.
  EXPECT_EQ(post_error("/audio/preprocess", {{"asset_id", id}, {"ffmpeg_opts", "-af volume=9"}},
                       400)["details"]["field"],
            "ffmpeg_opts");
  post_error("/audio/preprocess", {{"asset_id", id}, {"ffmpeg_opts", {{"af", "volume=9"}}}}, 400);
  post_error("/audio/preprocess", {{"asset_id", id}, {"ffmpeg_opts", {{"highpass_hz", 1e9}}}}, 400);
  EXPECT_EQ(post_error("/audio/preprocess", {{"asset_id", id}, {"output_dir", "/tmp"}},
                       400)["details"]["field"],
            "output_dir");
  post_error("/audio/preprocess", nlohmann::json::object(), 400);
  EXPECT_EQ(artifact_count(id), n);
}

TEST_F(AudioApiTest, SegmentsAreSampleAccurateAndReassembleTheSource) {
  const std::string src = fixture("audio.flac");  // 1.0 s, 48 kHz stereo
  const std::string id = ingest(src, "tone.flac");
  ASSERT_FALSE(id.empty());
  auto out =
      post_expect("/audio/segment",
                  {{"asset_id", id}, {"segment_seconds", 0.4}, {"overlap_seconds", 0.1}}, 201);
  ASSERT_EQ(out["segment_count"], 3) << out.dump();  // starts 0, 0.3, 0.6; the last ends at 1.0
  const std::vector<std::pair<int64_t, int64_t>> want = {{0, 400}, {300, 700}, {600, 1000}};
  std::vector<float> joined;
  for (size_t i = 0; i < 3; ++i) {
    const auto& s = out["segments"][i];
    EXPECT_EQ(s["kind"], "audio_segment");
    EXPECT_EQ(s["start_ms"], want[i].first);
    EXPECT_EQ(s["end_ms"], want[i].second);
    EXPECT_EQ(s["meta"]["segment_index"], i);
    const std::string p = fetch(s["artifact_id"], ".wav");
    auto probe = ffprobe_json(p);
    ASSERT_TRUE(probe.is_object());
    EXPECT_EQ(probe["streams"][0]["sample_rate"], "48000");
    EXPECT_EQ(probe["streams"][0]["channels"], 2);
    const int64_t frames = s["meta"]["frames"];
    EXPECT_EQ(frames, (want[i].second - want[i].first) * 48);
    EXPECT_EQ(probe["streams"][0].value("duration_ts", int64_t{-1}), frames);
  }
  auto again =
      post_expect("/audio/segment",
                  {{"asset_id", id}, {"segment_seconds", 0.4}, {"overlap_seconds", 0.1}}, 200);
  EXPECT_EQ(again["segments"][2]["artifact_id"], out["segments"][2]["artifact_id"]);

  post_error("/audio/segment", {{"asset_id", id}}, 400);
  post_error("/audio/segment", {{"asset_id", id}, {"segment_seconds", 1}, {"overlap_seconds", 1}},
             400);
  post_error("/audio/segment", {{"asset_id", id}, {"segment_seconds", -5}}, 400);
  post_error("/audio/segment", {{"asset_id", id}, {"segment_seconds", 0.0001}}, 400);
}

TEST_F(AudioApiTest, BeatFeaturesFindTheTempoAndBars) {
  const std::string id = ingest(clicks(), "clicks.wav");
  ASSERT_FALSE(id.empty());
  auto out = post_expect("/audio/beat-features", {{"asset_id", id}}, 201);
  EXPECT_EQ(out["kind"], "beat_features");
  EXPECT_NEAR(out["bpm"].get<double>(), 120.0, 2.4) << out.dump();
  const auto& bf = out["meta"]["beat_features"];
  EXPECT_NEAR(bf["bpm"].get<double>(), 120.0, 2.4);
  ASSERT_GE(bf["beats_ms"].size(), 16u);
  // Beats on the clicks (every 500 ms) within 70 ms.
  int on = 0;
  for (const auto& t : bf["beats_ms"]) {
    const int64_t ms = t.get<int64_t>();
    const int64_t off = ms % 500;
    if (std::min(off, 500 - off) <= 70) ++on;
  }
  EXPECT_GE(on, static_cast<int>(bf["beats_ms"].size()) - 1);
  // Downbeats every 2 s, on the accented clicks.
  ASSERT_GE(bf["downbeats_ms"].size(), 3u);
  for (const auto& t : bf["downbeats_ms"]) {
    const int64_t off = t.get<int64_t>() % 2000;
    EXPECT_LE(std::min(off, 2000 - off), 70) << bf["downbeats_ms"].dump();
  }
  EXPECT_EQ(out["grid"].size(), bf["downbeats_ms"].size());

  auto again = post_expect("/audio/beat-features", {{"asset_id", id}}, 200);
  EXPECT_EQ(again["artifact_id"], out["artifact_id"]);
  // The stub names itself.
  auto stub = post_expect("/audio/beat-features", {{"asset_id", id}, {"backend", "stub"}}, 201);
  EXPECT_EQ(stub["meta"]["backend_type"], "stub");
  EXPECT_EQ(stub["bpm"], 0.0);
  post_error("/audio/beat-features", {{"asset_id", id}, {"backend", "madmom"}}, 400);
  post_error("/audio/beat-features", {{"asset_id", id}, {"min_bpm", 300}, {"max_bpm", 100}}, 400);
  post_error("/audio/beat-features", nlohmann::json::object(), 400);
}

TEST_F(AudioApiTest, AsrTranscribesSpeechWithTheSpecsMeta) {
  const std::string sp = speech();
  ASSERT_FALSE(sp.empty());
  const std::string id = ingest(sp, "speech.wav");
  ASSERT_FALSE(id.empty());
  auto out = post_expect("/audio/asr", {{"asset_ids", {id}}}, 201);
  ASSERT_EQ(out["items"].size(), 1u);
  EXPECT_EQ(out["kind"], "asr_transcript");
  const auto& m = out["meta"];
  EXPECT_EQ(m["backend_type"], "pocketsphinx");
  EXPECT_EQ(m["requested_backend"], "default");
  EXPECT_FALSE(m["model_used"].get<std::string>().empty());
  EXPECT_FALSE(m["backend_version"].get<std::string>().empty());
  EXPECT_EQ(m["language"], "en");
  EXPECT_NEAR(m["duration_ms"].get<double>(), 2000 + 2600, 1200);
  EXPECT_GE(m["segment_count"].get<int>(), 1);
  EXPECT_FALSE(m["cache_key"].get<std::string>().empty());
  auto doc = fetch_json(out["artifact_id"]);
  auto words = words_of(doc);
  std::vector<std::string> ref = {"the",  "quick", "brown", "fox", "jumps",
                                  "over", "the",   "lazy",  "dog"};
  size_t hit = 0;
  for (const auto& w : ref) hit += std::count(words.begin(), words.end(), w) > 0;
  EXPECT_GE(hit, 7u) << doc["text"];
  // Word times lie inside the speech (after the 1 s lead-in) and ascend.
  int64_t last = 0;
  for (const auto& s : doc["segments"]) {
    for (const auto& w : s["words"]) {
      EXPECT_GE(w["start_ms"].get<int64_t>(), 800);
      EXPECT_GE(w["start_ms"].get<int64_t>(), last);
      last = w["start_ms"];
    }
  }
  EXPECT_EQ(post_expect("/audio/asr", {{"asset_ids", {id}}}, 200)["artifact_id"],
            out["artifact_id"]);

  auto stub = post_expect("/audio/asr", {{"asset_id", id}, {"model_name", "stub"}}, 201);
  EXPECT_EQ(stub["meta"]["backend_type"], "stub");
  EXPECT_EQ(stub["meta"]["requested_backend"], "stub");
  EXPECT_EQ(stub["meta"]["segment_count"], 0);

  auto e = post_error("/audio/asr", {{"asset_ids", {id}}, {"model_name", "large-v3"}}, 400);
  EXPECT_TRUE(e["details"]["available"].is_array());
  post_error("/audio/asr", {{"asset_ids", {id}}, {"device", "cuda"}}, 400);
  post_error("/audio/asr", {{"asset_ids", {id}}, {"language", "fr"}}, 400);
  post_error("/audio/asr", {{"asset_ids", nlohmann::json::array()}}, 400);
  post_error("/audio/asr", {{"asset_ids", "not-a-list"}}, 400);
  EXPECT_EQ(error_code_of(post("/audio/asr", {{"asset_ids", {"ast_missing"}}})), "not_found");
}

TEST_F(AudioApiTest, AlignMapsWordsOntoBarsAndForcedAlignmentTimesAScript) {
  const std::string id = ingest(speech(), "speech2.wav");
  ASSERT_FALSE(id.empty());
  auto asr = post_expect("/audio/asr", {{"asset_id", id}}, 201);
  const std::string asr_id = asr["artifact_id"];
  // A 60 BPM grid from 0: a bar every 4 s.
  nlohmann::json grid = {{"bpm", 60}, {"beats_ms", nlohmann::json::array()}};
  for (int i = 0; i < 8; ++i) grid["beats_ms"].push_back(i * 1000);
  auto bars =
      post_expect("/audio/align", {{"asr_artifact_ids", {asr_id}}, {"beat_meta", grid}}, 201);
  EXPECT_EQ(bars["kind"], "bars");
  EXPECT_EQ(bars["bar_count"], 2);
  auto doc = fetch_json(bars["artifact_id"]);
  auto transcript = fetch_json(asr_id);
  size_t placed = 0;
  for (const auto& bar : doc["bars"]) {
    for (const auto& w : bar["words"]) {
      ++placed;
      const int64_t t = w["start_ms"];
      EXPECT_GE(t, bar["start_ms"].get<int64_t>());
      EXPECT_LT(t, bar["end_ms"].get<int64_t>());
      EXPECT_EQ(w["beat_index"].get<int64_t>(), (t - bar["start_ms"].get<int64_t>()) / 1000);
    }
  }
  EXPECT_EQ(placed, words_of(transcript).size());
  EXPECT_EQ(post_expect("/audio/align", {{"asr_artifact_ids", {asr_id}}, {"beat_meta", grid}},
                        200)["artifact_id"],
            bars["artifact_id"]);
  // Not a transcript; nothing given.
  post_error("/audio/align", {{"asr_artifact_ids", {bars["artifact_id"]}}}, 400);
  post_error("/audio/align", nlohmann::json::object(), 400);

  // Forced alignment of the known script: one timed word per script word, in order, inside the
  // speech.
  auto forced = post_expect("/audio/align",
                            {{"asset_id", id},
                             {"text",
                              "The quick brown fox jumps "
                              "over the lazy dog."}},
                            201);
  EXPECT_EQ(forced["kind"], "asr_transcript");
  EXPECT_EQ(forced["meta"]["mode"], "forced_alignment");
  ASSERT_EQ(forced["words"].size(), 9u) << forced.dump();
  int64_t prev_end = 0;
  for (const auto& w : forced["words"]) {
    EXPECT_GE(w["start_ms"].get<int64_t>(), prev_end);
    EXPECT_GT(w["end_ms"].get<int64_t>(), w["start_ms"].get<int64_t>());
    prev_end = w["end_ms"];
  }
  EXPECT_GE(forced["words"][0]["start_ms"].get<int64_t>(), 850);
  EXPECT_LE(forced["words"][8]["end_ms"].get<int64_t>(), 1000 + 2800);
  auto oov = post_error("/audio/align", {{"asset_id", id}, {"text", "the qwxzzy fox"}}, 400);
  EXPECT_TRUE(oov["details"].contains("oov_words")) << oov.dump();
}

TEST_F(AudioApiTest, VoiceEnhanceProcessesWithTheSpecsMetaAndCacheKey) {
  const std::string noisy =
      ffmpeg_make(tmp("noisy.wav"),
                  {"-i", speech(), "-f", "lavfi", "-i", "anoisesrc=c=white:a=0.02:r=16000:d=5",
                   "-filter_complex", "[0:a][1:a]amix=inputs=2:duration=first:normalize=0"});
  const std::string id = ingest(noisy, "noisy.wav");
  ASSERT_FALSE(id.empty());
  auto out = post_expect("/audio/voice-enhance",
                         {{"asset_id", id}, {"mode", "podcast"}, {"aggressiveness", 0.7}}, 201);
  EXPECT_EQ(out["kind"], "audio_voice_enhanced");
  const auto& m = out["meta"];
  EXPECT_EQ(m["mode"], "podcast");
  EXPECT_EQ(m["aggressiveness"], 0.7);
  EXPECT_EQ(m["preserve_ambience"], false);
  EXPECT_EQ(m["backend_type"], "ffmpeg");
  EXPECT_EQ(m["voice_enhance_cache_key"].get<std::string>(),
            fmt::format("{}||podcast|0.7|false|{}", id, m["backend_version"].get<std::string>()));
  const std::string path = fetch(out["artifact_id"], ".wav");
  // Quieter in the pauses (noise removed) relative to the speech.
  const double pause_before = rms_dbfs(noisy, 0.3, 0.5);
  const double speech_before = rms_dbfs(noisy, 1.5, 1.5);
  const double pause_after = rms_dbfs(path, 0.3, 0.5);
  const double speech_after = rms_dbfs(path, 1.5, 1.5);
  EXPECT_GT((speech_after - pause_after) - (speech_before - pause_before), 6.0)
      << "before " << speech_before << "/" << pause_before << " after " << speech_after << "/"
      << pause_after;

  auto got = get_ok("/audio/voice-enhance/" + out["artifact_id"].get<std::string>());
  EXPECT_EQ(got["uri"], out["uri"]);
  EXPECT_EQ(got["meta"]["mode"], "podcast");
  EXPECT_EQ(post_expect("/audio/voice-enhance",
                        {{"asset_id", id}, {"mode", "podcast"}, {"aggressiveness", 0.7}},
                        200)["artifact_id"],
            out["artifact_id"]);
  auto stub = post_expect("/audio/voice-enhance", {{"asset_id", id}, {"backend", "stub"}}, 201);
  EXPECT_EQ(stub["meta"]["backend_type"], "stub");
  EXPECT_EQ(stub["meta"]["model_used"], "voice_enhance_stub_v1");

  // The render hook: a dialogue track takes the enhanced sound, a music track keeps the original.
  auto project = post_expect("/video/projects", {{"title", "ve"}}, 201);
  auto seq = post_expect("/video/projects/" + project.value("id", "") + "/sequences",
                         {{"name", "s"}, {"timebase", 25}}, 201);
  auto dialogue = post_expect("/video/sequences/" + seq.value("id", "") + "/tracks",
                              {{"kind", "audio"}, {"order", 0}, {"audio_role", "dialogue"}}, 201);
  auto clip = post_expect(
      "/video/tracks/" + dialogue.value("id", "") + "/clips",
      {{"asset_id", id}, {"in_ms", 0}, {"out_ms", 4000}, {"start_ms_on_timeline", 0}}, 201);
  nlohmann::json req = {{"project_id", project["id"]},
                        {"render_profile", "draft_480p_fast"},
                        {"use_voice_enhanced_audio", true},
                        {"voice_enhance_mode", "podcast"}};
  auto dry = post_expect("/video/render/dry-run", req, 200);
  const auto& sel = dry["plan"]["meta"]["audio_voice_enhance_selection"][clip.value("id", "")];
  EXPECT_EQ(sel["source"], "voice_enhanced") << dry["plan"]["meta"].dump();
  EXPECT_EQ(sel["artifact_id"], out["artifact_id"]);
  auto rendered = post_expect("/video/render", req, 201);
  req["use_voice_enhanced_audio"] = false;
  auto plain = post_expect("/video/render", req, 201);
  auto render_path = [&](const nlohmann::json& r) {
    auto asset = get_ok("/media-v2/assets/" + r.value("asset_id", ""));
    std::string uri = asset.value("source_uri", "");
    return uri.rfind("file://", 0) == 0 ? uri.substr(7) : uri;
  };
  const std::string with_ve = render_path(rendered), without = render_path(plain);
  // Same speech level (within 3 dB), noisier pauses without the enhanced sound.
  EXPECT_NEAR(rms_dbfs(with_ve, 1.5, 1.5), rms_dbfs(without, 1.5, 1.5), 3.0);
  EXPECT_LT(rms_dbfs(with_ve, 0.3, 0.5), rms_dbfs(without, 0.3, 0.5) - 6.0);
  // A mode without an artifact keeps the original and warns when asked to.
  req["use_voice_enhanced_audio"] = true;
  req["voice_enhance_mode"] = "vlog";
  req["voice_enhance_if_available_only"] = false;
  auto missing = post_expect("/video/render/dry-run", req, 200);
  EXPECT_EQ(
      missing["plan"]["meta"]["audio_voice_enhance_selection"][clip.value("id", "")]["source"],
      "original");
  EXPECT_EQ(missing["plan"]["meta"]["voice_enhance_warnings"].size(), 1u);
  req["voice_enhance_mode"] = "karaoke";
  post_error("/video/render/dry-run", req, 400);

  EXPECT_EQ(post_error("/audio/voice-enhance", {{"asset_id", id}, {"mode", "karaoke"}},
                       400)["details"]["field"],
            "mode");
  post_error("/audio/voice-enhance", {{"asset_id", id}, {"aggressiveness", 2}}, 400);
  post_error("/audio/voice-enhance", {{"asset_id", id}, {"preserve_ambience", "yes"}}, 400);
  // A semantic artifact is not a voice-enhance one.
  EXPECT_EQ(get_status("/audio/voice-enhance/art_nope", a()), 404);
}

TEST_F(AudioApiTest, SemanticTimelineFindsSpeechSilenceAndMusicAndSlicesByClip) {
  const std::string mix = mixed();
  if (mix.empty()) GTEST_SKIP() << "asterisk sounds are not installed";
  const std::string id = ingest(mix, "mixed.wav");
  ASSERT_FALSE(id.empty());
  auto out = post_expect("/audio/semantic-timeline/analyze", {{"asset_id", id}}, 201);
  const std::string sem_id = out["audio_semantic_artifact_id"];
  const auto& m = out["meta"];
  for (const char* f :
       {"model_used", "backend", "backend_version", "backend_type", "semantic_version",
        "audio_semantic_cache_key", "include_beats", "include_speech_music", "min_silence_ms",
        "loudness_window_ms", "speed_change_limit", "backend_info", "cache_key", "cache_hit"}) {
    EXPECT_TRUE(m.contains(f)) << f;
  }
  EXPECT_EQ(m["cache_hit"], false);
  EXPECT_EQ(m["audio_semantic_cache_key"].get<std::string>(),
            fmt::format("{}|{}|{}||true|true|300|1000|{}|", kTenantA, kEnv, id,
                        m["backend_version"].get<std::string>()));
  auto doc = get_ok("/audio/semantic-timeline/" + sem_id);
  ASSERT_TRUE(doc["events"].is_array());
  EXPECT_NEAR(doc["duration_ms"].get<double>(), 10000, 50);
  // The kind at the middle of each part.
  auto kind_at = [&doc](int64_t t) {
    for (const auto& e : doc["events"]) {
      if (e["start_ms"].get<int64_t>() <= t && t < e["end_ms"].get<int64_t>()) {
        return e["kind"].get<std::string>();
      }
    }
    return std::string("<none>");
  };
  EXPECT_EQ(kind_at(1500), "speech") << doc["events"].dump();
  EXPECT_EQ(kind_at(5000), "silence") << doc["events"].dump();
  EXPECT_EQ(kind_at(8000), "music") << doc["events"].dump();
  for (const auto& e : doc["events"]) {
    if (e["kind"] != "silence" &&
        e["end_ms"].get<int64_t>() - e["start_ms"].get<int64_t>() >= 1000) {
      EXPECT_TRUE(e["loudness_lufs"].is_number()) << e.dump();
    }
  }
  EXPECT_EQ(doc["loudness"].size(), 10u);

  auto again = post_expect("/audio/semantic-timeline/analyze", {{"asset_id", id}}, 200);
  EXPECT_EQ(again["audio_semantic_artifact_id"], sem_id);
  EXPECT_EQ(again["meta"]["cache_hit"], true);
  auto stub =
      post_expect("/audio/semantic-timeline/analyze", {{"asset_id", id}, {"backend", "stub"}}, 201);
  EXPECT_EQ(stub["meta"]["backend_type"], "stub");
  EXPECT_EQ(stub["meta"]["semantic_version"], "audio_semantic_stub_v1");
  post_error("/audio/semantic-timeline/analyze", {{"asset_id", id}, {"min_silence_ms", -1}}, 400);
  post_error("/audio/semantic-timeline/analyze", {{"asset_id", id}, {"loudness_window_ms", 0}},
             400);

  // By clip: a clip over 3..9 s at speed 2 sees clip-relative times.
  auto project = post_expect("/video/projects", {{"title", "p"}}, 201);
  auto seq = post_expect("/video/projects/" + project.value("id", "") + "/sequences",
                         {{"name", "s"}, {"timebase", 30}}, 201);
  auto track = post_expect("/video/sequences/" + seq.value("id", "") + "/tracks",
                           {{"kind", "audio"}, {"order", 0}}, 201);
  auto clip = post_expect("/video/tracks/" + track.value("id", "") + "/clips",
                          {{"asset_id", id},
                           {"in_ms", 3000},
                           {"out_ms", 9000},
                           {"start_ms_on_timeline", 0},
                           {"speed", 2.0}},
                          201);
  auto by = get_ok("/audio/semantic-timeline/by-clip/" + clip["id"].get<std::string>());
  EXPECT_EQ(by["meta"]["clip_relative"], true);
  EXPECT_EQ(by["meta"]["speed_change"], 2.0);
  EXPECT_EQ(by["meta"]["speed_change_limit"], 1.05);
  EXPECT_EQ(by["meta"]["speed_change_limited"], true);
  EXPECT_EQ(by["meta"]["clip_window_ms"]["start_ms"], 3000);
  EXPECT_EQ(by["duration_ms"], 3000);
  ASSERT_FALSE(by["events"].empty());
  EXPECT_EQ(by["events"].front()["start_ms"], 0);
  EXPECT_EQ(by["events"].back()["end_ms"], 3000);
  for (const auto& e : by["events"]) {
    // Each clip event maps back to the source: (source - in) / speed.
    const int64_t src = std::max<int64_t>(e["source_start_ms"].get<int64_t>(), 3000);
    EXPECT_NEAR(e["start_ms"].get<double>(), (src - 3000) / 2.0, 1.0);
  }

  // Tenants: B sees none of it.
  auto hb = b();
  EXPECT_EQ(get_status("/audio/semantic-timeline/" + sem_id, hb), 404);
  EXPECT_EQ(get_status("/audio/semantic-timeline/by-clip/" + clip["id"].get<std::string>(), hb),
            404);
  EXPECT_EQ(error_code_of(post("/audio/semantic-timeline/analyze", {{"asset_id", id}}, &hb)),
            "not_found");
  EXPECT_EQ(error_code_of(post("/audio/preprocess", {{"asset_id", id}}, &hb)), "not_found");
  EXPECT_EQ(error_code_of(post("/audio/asr", {{"asset_ids", {id}}}, &hb)), "not_found");
  EXPECT_EQ(error_code_of(post("/audio/voice-enhance", {{"asset_id", id}}, &hb)), "not_found");
}

TEST_F(AudioApiTest, MediaWithoutUsableSoundIsAClearError) {
  // Registered through Media v2 (which keeps anything), then refused by every audio atom.
  auto silent = upload(*c_, a(), fixture("video_only.mp4"), "silent.mp4");
  ASSERT_TRUE(silent && silent->status == 201);
  const std::string sid = body_json(silent)["asset_id"];
  auto broken = upload(*c_, a(), fixture("truncated.mp4"), "broken.mp4");
  ASSERT_TRUE(broken && broken->status == 201);
  const std::string bid = body_json(broken)["asset_id"];
  for (const std::string& id : {sid, bid}) {
    for (const auto& [path, body] : std::vector<std::pair<std::string, nlohmann::json>>{
             {"/audio/preprocess", {{"asset_id", id}}},
             {"/audio/segment", {{"asset_id", id}, {"segment_seconds", 1}}},
             {"/audio/beat-features", {{"asset_id", id}}},
             {"/audio/asr", {{"asset_ids", {id}}}},
             {"/audio/voice-enhance", {{"asset_id", id}}},
             {"/audio/semantic-timeline/analyze", {{"asset_id", id}}}}) {
      auto e = post_error(path, body, 400);
      EXPECT_TRUE(e["details"].contains("reason")) << path << " " << e.dump();
    }
    EXPECT_EQ(artifact_count(id), 0u);
  }
}

}  // namespace
}  // namespace atomcut::testing

#include "engines/audio/audio_service.h"

#include "core/ids.h"
#include "core/sha256.h"
#include "engines/audio/asr_pocketsphinx.h"
#include "engines/audio/audio_decoder.h"
#include "engines/audio/audio_processing.h"
#include "engines/audio/audio_semantic.h"
#include "engines/audio/bars_aligner.h"
#include "engines/audio/beat_tracker.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace atomcut {

namespace fs = std::filesystem;

namespace {

constexpr int kAsrRate = 16000;
constexpr int kAnalysisRate = 48000;
constexpr const char* kSemanticVersion = "audio_semantic_v1";
constexpr const char* kSemanticStubVersion = "audio_semantic_stub_v1";
constexpr const char* kAsrStubVersion = "asr_stub_v1";
constexpr const char* kBeatStubVersion = "beat_features_stub_v1";
constexpr const char* kVoiceStubVersion = "voice_enhance_stub_v1";
constexpr const char* kSegmentVersion = "segment_native_v1";
constexpr const char* kBarsVersion = "audio_text_bars_v1";
constexpr double kSpeedChangeLimit = 1.05;

std::string num_key(double v) { return fmt::format("{}", v); }
std::string bool_key(bool v) { return v ? "true" : "false"; }

int64_t now_steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

nlohmann::json words_json(const std::vector<AsrWord>& words) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& w : words) {
    out.push_back({{"word", w.word},
                   {"start_ms", w.start_ms},
                   {"end_ms", w.end_ms},
                   {"confidence", w.confidence}});
  }
  return out;
}

// Where a pocketsphinx model is expected (asr_pocketsphinx's default search order).
bool asr_model_present(const std::string& dir) {
  std::vector<std::string> dirs;
  if (!dir.empty()) {
    dirs.push_back(dir);
  } else {
    dirs = {"/usr/share/pocketsphinx/model/en-us", "/usr/local/share/pocketsphinx/model/en-us"};
  }
  std::error_code ec;
  for (const auto& d : dirs) {
    if (fs::exists(fs::path(d) / "en-us" / "mdef", ec) || fs::exists(fs::path(d) / "mdef", ec)) {
      return true;
    }
  }
  return false;
}

// The quietest 200 ms (10 ms hops) of pcm[from, to): where a long input is cut between chunks.
size_t quietest_cut(const std::vector<float>& pcm, size_t from, size_t to) {
  const size_t hop = kAsrRate / 100;
  const size_t win = kAsrRate / 5;
  size_t best = to;
  double best_energy = 1e300;
  for (size_t s = from; s + win <= to; s += hop) {
    double e = 0;
    for (size_t i = s; i < s + win; ++i) e += static_cast<double>(pcm[i]) * pcm[i];
    if (e < best_energy) {
      best_energy = e;
      best = s + win / 2;
    }
  }
  return best;
}

}  // namespace

bool AudioOutcome::all_cached() const {
  return std::all_of(outputs.begin(), outputs.end(), [](const auto& o) { return o.cache_hit; });
}

AudioService::AudioService(MediaService& media, TimelineService& timeline,
                           AudioServiceOptions options)
    : media_(media), timeline_(timeline), options_(std::move(options)), artifacts_(media) {
  const std::string ff = ffmpeg_version();
  const bool has_ff = !ff.empty() && ff != "unknown";
  const bool has_model = asr_model_present(options_.asr_model_dir);
  auto add = [this](std::string atom, std::string name, std::string version, bool available,
                    bool is_default, std::string detail) {
    registry_.add({std::move(atom), std::move(name), std::move(version), available, is_default,
                   std::move(detail)});
  };
  add("preprocess", "ffmpeg", fmt::format("preprocess_ffmpeg_v1 (ffmpeg {})", ff), has_ff, true,
      has_ff ? "DC removal, high-pass, FFT denoise, peak-safe level (ffmpeg filter chain)"
             : "the ffmpeg CLI is not installed");
  add("segment", "native", kSegmentVersion, true, true,
      "sample-accurate cuts by the in-process decoder, 16-bit WAV");
  add("beat_features", "aubio", beat_backend_version(), true, true,
      "aubio onsets and tempo tracking, autocorrelation tempo, dynamic-programming beat grid");
  add("beat_features", "stub", kBeatStubVersion, true, false, "no analysis: bpm 0, no beats");
  add("asr", "pocketsphinx", PocketsphinxAsr::backend_version(), has_model, true,
      has_model ? "CMU PocketSphinx with the US English model (pocketsphinx-en-us)"
                : "the pocketsphinx-en-us model is not installed");
  add("asr", "stub", kAsrStubVersion, true, false, "no recognition: an empty transcript");
  add("align", "bars", kBarsVersion, true, true, "transcript words onto the beat/bar grid");
  add("align", "pocketsphinx", PocketsphinxAsr::backend_version(), has_model, true,
      has_model ? "forced alignment of a known text (asset_id + text)"
                : "the pocketsphinx-en-us model is not installed");
  add("voice_enhance", "ffmpeg", voice_enhance_backend_version(), has_ff, true,
      has_ff ? "high/low-pass, FFT denoise, compression, presence EQ, de-essing per mode"
             : "the ffmpeg CLI is not installed");
  add("voice_enhance", "stub", kVoiceStubVersion, true, false,
      "no processing: the input's sound as 16-bit WAV");
  add("semantic_timeline", "signal", semantic_backend_version(), true, true,
      "speech/music/silence from voice activity (webrtc-audio-processing) and spectral and "
      "rhythmic features, EBU R128 loudness (libebur128), beats (aubio)");
  add("semantic_timeline", "stub", kSemanticStubVersion, true, false,
      "no analysis: one 'other' event over the whole input");
}

AudioService::~AudioService() = default;

std::vector<AsrWord> asr_transcript_words(const nlohmann::json& doc) {
  std::vector<AsrWord> out;
  auto number_ms = [](const nlohmann::json& w, const char* f, int64_t def) {
    auto it = w.find(f);
    return it != w.end() && it->is_number() ? static_cast<int64_t>(std::llround(it->get<double>()))
                                            : def;
  };
  auto take = [&](const nlohmann::json& words) {
    if (!words.is_array()) return;
    for (const auto& w : words) {
      if (!w.is_object() || !w.contains("word") || !w["word"].is_string()) continue;
      AsrWord a;
      a.word = w["word"].get<std::string>();
      a.start_ms = number_ms(w, "start_ms", 0);
      a.end_ms = number_ms(w, "end_ms", a.start_ms);
      auto c = w.find("confidence");
      a.confidence = c != w.end() && c->is_number() ? c->get<double>() : 0.0;
      out.push_back(std::move(a));
    }
  };
  if (doc.contains("segments") && doc["segments"].is_array()) {
    for (const auto& s : doc["segments"]) {
      if (s.is_object() && s.contains("words")) take(s["words"]);
    }
  } else if (doc.contains("words")) {
    take(doc["words"]);
  }
  return out;
}

Result<AnalysisInput> AudioService::resolve_audio(const Scope& scope, const AudioSourceRef& ref) {
  return artifacts_.resolve(scope, ref.asset_id, ref.artifact_id, NeedStream::kAudio);
}

std::vector<BackendInfo> AudioService::backends() const { return registry_.all(); }

Result<MediaAsset> AudioService::check_ingested(const RequestContext& ctx,
                                                const MediaAsset& asset) {
  if (asset.audio_channels.value_or(0) > 0) return asset;
  const std::string kind(media_kind_name(asset.kind));
  (void)media_.delete_asset(scope_of(ctx), asset.id);
  return Error::invalid_argument(
      fmt::format("the file has no audio stream ({}); /audio/ingest takes audio, or video with "
                  "sound (use /media-v2/assets for other media)",
                  kind),
      {{"field", "file"},
       {"reason", asset.kind == MediaKind::kOther ? "not_media" : "no_audio_stream"}});
}

// ---- preprocess
// ----------------------------------------------------------------------------------

namespace {

nlohmann::json report_meta(const ProcessReport& r) {
  nlohmann::json m = {{"filter_chain", r.filter_chain},
                      {"input_peak_dbfs", r.input_peak_dbfs},
                      {"output_peak_dbfs", r.output_peak_dbfs},
                      {"gain_db", r.gain_db},
                      {"sample_rate", r.sample_rate},
                      {"channels", r.channels},
                      {"codec", r.codec},
                      {"duration_ms", r.duration_ms}};
  if (r.extra.is_object() && !r.extra.empty()) m["report"] = r.extra;
  return m;
}

}  // namespace

Result<AudioOutcome> AudioService::preprocess(const RequestContext& ctx,
                                              const AudioPreprocessRequest& q) {
  ATOMCUT_ASSIGN_OR_RETURN(PreprocessOptions opts, preprocess_options_from_json(q.ffmpeg_opts));
  ATOMCUT_ASSIGN_OR_RETURN(ChosenBackend backend, registry_.choose("preprocess", q.backend));
  ATOMCUT_ASSIGN_OR_RETURN(AnalysisInput in, resolve_audio(scope_of(ctx), q.source));
  const nlohmann::json opts_json = to_json(opts);
  const std::string key = join_cache_key(
      {"audio_clean", in.asset.id, in.artifact_key(), opts_json.dump(), backend.info.version});
  AudioOutcome out;
  if (auto hit = artifacts_.find_cached(scope_of(ctx), in.asset.id, "audio_clean", key)) {
    out.outputs.push_back({*hit, true, {}});
    return out;
  }
  nlohmann::json meta = source_meta(in);
  meta["cache_key"] = key;
  meta["backend_type"] = backend.info.name;
  meta["backend_version"] = backend.info.version;
  meta["options"] = opts_json;
  FfmpegRunOptions run;
  run.timeout_ms = options_.ffmpeg_timeout_ms;
  ATOMCUT_ASSIGN_OR_RETURN(DerivedArtifact a,
                           artifacts_.store_file(
                               ctx, in.asset.id, "audio_clean", "audio_clean." + opts.format,
                               [&](const std::string& path) -> Result<nlohmann::json> {
                                 ATOMCUT_ASSIGN_OR_RETURN(
                                     ProcessReport r, preprocess_audio(in.path, path, opts, run));
                                 return report_meta(r);
                               },
                               std::move(meta), 0, std::nullopt));
  out.outputs.push_back({std::move(a), false, {}});
  return out;
}

// ---- segment
// -------------------------------------------------------------------------------------

Result<AudioOutcome> AudioService::segment(const RequestContext& ctx,
                                           const AudioSegmentRequest& q) {
  ATOMCUT_ASSIGN_OR_RETURN(ChosenBackend backend, registry_.choose("segment", std::nullopt));
  // The numbers are checked before any decoding.
  if (auto check = plan_segments(1, 8000, q.segment_seconds, q.overlap_seconds); !check.ok()) {
    return check.take_error();
  }
  ATOMCUT_ASSIGN_OR_RETURN(AnalysisInput in, resolve_audio(scope_of(ctx), q.source));
  const std::string key =
      join_cache_key({"audio_segment", in.asset.id, in.artifact_key(), num_key(q.segment_seconds),
                      num_key(q.overlap_seconds), backend.info.version});
  AudioOutcome out;
  {
    auto asset = media_.get_asset(scope_of(ctx), in.asset.id);
    if (asset.ok()) {
      std::vector<DerivedArtifact> hits;
      for (const auto& a : asset->artifacts) {
        if (a.kind == "audio_segment" && a.meta.value("cache_key", std::string()) == key) {
          hits.push_back(a);
        }
      }
      if (!hits.empty() &&
          static_cast<int64_t>(hits.size()) == hits.front().meta.value("segment_count", -1)) {
        std::sort(hits.begin(), hits.end(), [](const auto& a, const auto& b) {
          return a.meta.value("segment_index", 0) < b.meta.value("segment_index", 0);
        });
        for (auto& h : hits) out.outputs.push_back({std::move(h), true, {}});
        return out;
      }
    }
  }
  ATOMCUT_ASSIGN_OR_RETURN(SourceAudioInfo info, audio_source_info(in.path));
  ATOMCUT_ASSIGN_OR_RETURN(
      std::vector<SegmentSpan> spans,
      plan_segments(info.total_frames, info.sample_rate, q.segment_seconds, q.overlap_seconds));
  // One sequential decode writes every segment (exact for every codec), then each is published.
  const fs::path dir = fs::temp_directory_path() / fmt::format("atomcut-seg-{}", new_id("tmp"));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error::internal(fmt::format("cannot create '{}': {}", dir.string(), ec.message()));
  struct DirGuard {
    fs::path p;
    ~DirGuard() {
      std::error_code e;
      fs::remove_all(p, e);
    }
  } guard{dir};
  std::vector<std::string> files;
  for (const auto& span : spans) {
    files.push_back((dir / fmt::format("segment_{:05d}.wav", span.index)).string());
  }
  ATOMCUT_TRY(write_segments_wav(in.path, info, spans, files));
  for (size_t i = 0; i < spans.size(); ++i) {
    const SegmentSpan& span = spans[i];
    nlohmann::json meta = source_meta(in);
    meta["cache_key"] = key;
    meta["backend_type"] = backend.info.name;
    meta["backend_version"] = backend.info.version;
    meta["segment_index"] = span.index;
    meta["segment_count"] = spans.size();
    meta["segment_seconds"] = q.segment_seconds;
    meta["overlap_seconds"] = q.overlap_seconds;
    meta["start_frame"] = span.start_frame;
    meta["end_frame"] = span.end_frame;
    meta["frames"] = span.end_frame - span.start_frame;
    meta["sample_rate"] = info.sample_rate;
    meta["channels"] = info.channels;
    meta["codec"] = "pcm_s16le";
    ATOMCUT_ASSIGN_OR_RETURN(
        DerivedArtifact a,
        artifacts_.store_file(
            ctx, in.asset.id, "audio_segment", fs::path(files[i]).filename().string(),
            [&](const std::string& path) -> Result<nlohmann::json> {
              std::error_code e;
              fs::rename(files[i], path, e);
              if (e) {
                e.clear();
                fs::copy_file(files[i], path, fs::copy_options::overwrite_existing, e);
              }
              if (e) {
                return Error::internal(
                    fmt::format("cannot publish segment {}: {}", i, e.message()));
              }
              return nlohmann::json::object();
            },
            std::move(meta), in.offset_ms() + span.start_ms, in.offset_ms() + span.end_ms));
    out.outputs.push_back({std::move(a), false, {}});
  }
  return out;
}

// ---- beat features
// -------------------------------------------------------------------------------

namespace {

nlohmann::json beat_summary(const BeatAnalysis& b, int beats_per_bar, int64_t duration_ms) {
  nlohmann::json grid = nlohmann::json::array();
  for (size_t i = 0; i < b.bars.size(); ++i) {
    const int64_t end = i + 1 < b.bars.size() ? b.bars[i + 1].start_ms : -1;
    nlohmann::json bar = {{"index", b.bars[i].index}, {"start_ms", b.bars[i].start_ms}};
    bar["end_ms"] = end >= 0 ? nlohmann::json(end) : nlohmann::json(nullptr);
    grid.push_back(std::move(bar));
  }
  return {{"bpm", std::round(b.bpm * 100.0) / 100.0},
          {"confidence", b.confidence},
          {"beats_per_bar", beats_per_bar},
          {"beat_count", b.beats_ms.size()},
          {"beats_ms", b.beats_ms},
          {"downbeats_ms", b.downbeats_ms},
          {"grid", grid},
          {"duration_ms", duration_ms},
          {"backend_version", b.backend_version}};
}

}  // namespace

Result<AudioOutcome> AudioService::beat_features(const RequestContext& ctx,
                                                 const AudioBeatRequest& q) {
  ATOMCUT_ASSIGN_OR_RETURN(ChosenBackend backend, registry_.choose("beat_features", q.backend));
  std::vector<AnalysisInput> inputs;
  for (const auto& ref : q.sources) {
    ATOMCUT_ASSIGN_OR_RETURN(AnalysisInput in, resolve_audio(scope_of(ctx), ref));
    inputs.push_back(std::move(in));
  }
  AudioOutcome out;
  for (const auto& in : inputs) {
    const std::string key = join_cache_key(
        {"beat_features", in.asset.id, in.artifact_key(), std::to_string(q.beats_per_bar),
         num_key(q.min_bpm), num_key(q.max_bpm), backend.info.name, backend.info.version});
    if (auto hit = artifacts_.find_cached(scope_of(ctx), in.asset.id, "beat_features", key)) {
      nlohmann::json summary = hit->meta.value("beat_features", nlohmann::json::object());
      out.outputs.push_back({*hit, true, std::move(summary)});
      continue;
    }
    BeatAnalysis beats;
    int64_t duration_ms = 0;
    const int64_t t0 = now_steady_ms();
    if (!backend.stub()) {
      ATOMCUT_ASSIGN_OR_RETURN(DecodedAudio pcm, decode_audio(in.path, {kAsrRate, 1}));
      duration_ms = static_cast<int64_t>(pcm.frames()) * 1000 / kAsrRate;
      BeatOptions bo;
      bo.beats_per_bar = q.beats_per_bar;
      bo.min_bpm = q.min_bpm;
      bo.max_bpm = q.max_bpm;
      ATOMCUT_ASSIGN_OR_RETURN(beats,
                               analyse_beats(pcm.samples.data(), pcm.frames(), kAsrRate, bo));
    } else {
      ATOMCUT_ASSIGN_OR_RETURN(auto dec, AudioDecoder::open(in.path, {kAsrRate, 1}));
      duration_ms = std::max<int64_t>(0, dec->source_duration_ms());
      beats.backend_version = backend.info.version;
    }
    nlohmann::json summary = beat_summary(beats, q.beats_per_bar, duration_ms);
    nlohmann::json meta = source_meta(in);
    meta["cache_key"] = key;
    meta["backend_type"] = backend.info.name;
    meta["requested_backend"] = backend.requested;
    meta["backend_version"] = backend.info.version;
    if (backend.fallback_reason) meta["fallback_reason"] = *backend.fallback_reason;
    meta["model_used"] = backend.stub() ? kBeatStubVersion : "atomcut_beats_v1";
    meta["duration_ms"] = duration_ms;
    meta["processing_ms"] = now_steady_ms() - t0;
    meta["beat_features"] = summary;
    ATOMCUT_ASSIGN_OR_RETURN(DerivedArtifact a,
                             artifacts_.store_json(ctx, in.asset.id, "beat_features", summary,
                                                   std::move(meta), 0, duration_ms));
    out.outputs.push_back({std::move(a), false, std::move(summary)});
  }
  return out;
}

// ---- ASR
// -----------------------------------------------------------------------------------------

Result<PocketsphinxAsr*> AudioService::recognizer() {
  // Called with asr_mu_ held.
  if (asr_) return asr_.get();
  if (asr_error_) return *asr_error_;
  AsrOptions o;
  o.model_dir = options_.asr_model_dir;
  auto r = PocketsphinxAsr::create(o);
  if (!r.ok()) {
    asr_error_ = r.error();
    return r.take_error();
  }
  asr_ = std::move(r).value();
  return asr_.get();
}

namespace {

nlohmann::json segments_json(const std::vector<AsrSegment>& segments) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : segments) {
    out.push_back({{"start_ms", s.start_ms},
                   {"end_ms", s.end_ms},
                   {"text", s.text},
                   {"confidence", s.confidence},
                   {"words", words_json(s.words)}});
  }
  return out;
}

void shift(AsrSegment& s, int64_t ms) {
  s.start_ms += ms;
  s.end_ms += ms;
  for (auto& w : s.words) {
    w.start_ms += ms;
    w.end_ms += ms;
  }
}

}  // namespace

Result<AudioOutput> AudioService::asr_one(const RequestContext& ctx, const AnalysisInput& in,
                                          const ChosenBackend& backend, const AudioAsrRequest& q) {
  std::string model_used = kAsrStubVersion;
  if (!backend.stub()) {
    std::lock_guard lock(asr_mu_);
    ATOMCUT_ASSIGN_OR_RETURN(PocketsphinxAsr * asr, recognizer());
    model_used = asr->model_used();
  }
  const std::string key =
      join_cache_key({"asr_transcript", in.asset.id, in.artifact_key(), backend.info.name,
                      backend.info.version, model_used, q.language});
  if (auto hit = artifacts_.find_cached(scope_of(ctx), in.asset.id, "asr_transcript", key)) {
    return AudioOutput{*hit, true, {}};
  }
  const int64_t t0 = now_steady_ms();
  std::vector<AsrSegment> segments;
  int64_t total_frames = 0;
  ATOMCUT_ASSIGN_OR_RETURN(auto dec, AudioDecoder::open(in.path, {kAsrRate, 1}));
  if (!backend.stub()) {
    // Long inputs: windows of about two minutes, each cut at its quietest 200 ms near the end, so
    // memory stays bounded and no word is split.
    constexpr size_t kWindow = size_t{kAsrRate} * 120;
    constexpr size_t kSearch = size_t{kAsrRate} * 5;
    std::vector<float> buf;
    buf.reserve(kWindow);
    int64_t offset_frames = 0;
    bool eof = false;
    while (!eof || !buf.empty()) {
      if (!eof) {
        const size_t have = buf.size();
        buf.resize(kWindow);
        ATOMCUT_ASSIGN_OR_RETURN(size_t n, dec->read(buf.data() + have, kWindow - have));
        buf.resize(have + n);
        total_frames += static_cast<int64_t>(n);
        eof = buf.size() < kWindow;
      }
      const size_t cut = eof ? buf.size() : quietest_cut(buf, buf.size() - kSearch, buf.size());
      AsrResult r;
      {
        std::lock_guard lock(asr_mu_);
        ATOMCUT_ASSIGN_OR_RETURN(PocketsphinxAsr * asr, recognizer());
        ATOMCUT_ASSIGN_OR_RETURN(r, asr->recognize(buf.data(), cut));
      }
      const int64_t shift_ms = offset_frames * 1000 / kAsrRate;
      for (auto& s : r.segments) {
        shift(s, shift_ms);
        segments.push_back(std::move(s));
      }
      offset_frames += static_cast<int64_t>(cut);
      buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(cut));
    }
  } else {
    std::vector<float> sink(size_t{kAsrRate});
    for (;;) {
      ATOMCUT_ASSIGN_OR_RETURN(size_t n, dec->read(sink.data(), sink.size()));
      if (n == 0) break;
      total_frames += static_cast<int64_t>(n);
    }
  }
  const int64_t duration_ms = total_frames * 1000 / kAsrRate;
  std::string text;
  size_t word_count = 0;
  for (const auto& s : segments) {
    if (!s.text.empty()) text += (text.empty() ? "" : " ") + s.text;
    word_count += s.words.size();
  }
  nlohmann::json doc = {{"asset_id", in.asset.id},
                        {"artifact_id", in.artifact ? nlohmann::json(in.artifact->id) : nullptr},
                        {"language", q.language},
                        {"duration_ms", duration_ms},
                        {"text", text},
                        {"segments", segments_json(segments)},
                        {"model_used", model_used},
                        {"backend_version", backend.info.version}};
  nlohmann::json meta = source_meta(in);
  meta["cache_key"] = key;
  meta["backend_type"] = backend.info.name;
  meta["requested_backend"] = backend.requested;
  meta["model_used"] = model_used;
  meta["backend_version"] = backend.info.version;
  if (backend.fallback_reason) meta["fallback_reason"] = *backend.fallback_reason;
  meta["language"] = q.language;
  meta["device"] = "cpu";
  meta["compute_type"] = q.compute_type.value_or("default");
  meta["duration_ms"] = duration_ms;
  meta["segment_count"] = segments.size();
  meta["word_count"] = word_count;
  meta["source_start_ms"] = in.offset_ms();
  const int64_t took = now_steady_ms() - t0;
  meta["processing_ms"] = took;
  meta["real_time_factor"] =
      took > 0 ? std::round(static_cast<double>(duration_ms) / took * 100) / 100 : 0.0;
  ATOMCUT_ASSIGN_OR_RETURN(
      DerivedArtifact a,
      artifacts_.store_json(ctx, in.asset.id, "asr_transcript", doc, std::move(meta),
                            in.offset_ms(), in.offset_ms() + duration_ms));
  return AudioOutput{
      std::move(a),
      false,
      {{"text", text}, {"segment_count", segments.size()}, {"word_count", word_count}}};
}

Result<AudioOutcome> AudioService::asr(const RequestContext& ctx, const AudioAsrRequest& q) {
  ATOMCUT_ASSIGN_OR_RETURN(ChosenBackend backend, registry_.choose("asr", q.model_name));
  std::vector<AnalysisInput> inputs;
  for (const auto& ref : q.sources) {
    ATOMCUT_ASSIGN_OR_RETURN(AnalysisInput in, resolve_audio(scope_of(ctx), ref));
    inputs.push_back(std::move(in));
  }
  AudioOutcome out;
  for (const auto& in : inputs) {
    ATOMCUT_ASSIGN_OR_RETURN(AudioOutput o, asr_one(ctx, in, backend, q));
    out.outputs.push_back(std::move(o));
  }
  return out;
}

// ---- align
// ---------------------------------------------------------------------------------------

Result<AudioOutcome> AudioService::align(const RequestContext& ctx, const AudioAlignRequest& q) {
  AudioOutcome out;
  if (q.forced()) {
    ATOMCUT_ASSIGN_OR_RETURN(AudioOutput o, forced_align(ctx, q));
    out.outputs.push_back(std::move(o));
  } else {
    ATOMCUT_ASSIGN_OR_RETURN(AudioOutput o, bars(ctx, q));
    out.outputs.push_back(std::move(o));
  }
  return out;
}

Result<AudioOutput> AudioService::forced_align(const RequestContext& ctx,
                                               const AudioAlignRequest& q) {
  ATOMCUT_ASSIGN_OR_RETURN(ChosenBackend backend,
                           registry_.choose("align", std::string("pocketsphinx")));
  ATOMCUT_ASSIGN_OR_RETURN(AnalysisInput in, resolve_audio(scope_of(ctx), *q.source));
  const std::string key = join_cache_key({"forced_alignment", in.asset.id, in.artifact_key(),
                                          sha256_hex(*q.text), backend.info.version});
  if (auto hit = artifacts_.find_cached(scope_of(ctx), in.asset.id, "asr_transcript", key)) {
    return AudioOutput{*hit, true, {}};
  }
  // align() decodes the whole input as one utterance: it is meant for caption-sized inputs.
  ATOMCUT_ASSIGN_OR_RETURN(DecodedAudio pcm,
                           decode_audio(in.path, {kAsrRate, 1}, {}, size_t{kAsrRate} * 4 * 601));
  const int64_t t0 = now_steady_ms();
  std::vector<AsrWord> words;
  std::string model_used;
  {
    std::lock_guard lock(asr_mu_);
    ATOMCUT_ASSIGN_OR_RETURN(PocketsphinxAsr * asr, recognizer());
    model_used = asr->model_used();
    auto r = asr->align(pcm.samples.data(), pcm.frames(), *q.text);
    if (!r.ok()) {
      Error e = r.take_error();
      if (!e.details.contains("field")) e.details["field"] = "text";
      return e;
    }
    words = std::move(r).value();
  }
  const int64_t duration_ms = static_cast<int64_t>(pcm.frames()) * 1000 / kAsrRate;
  std::string text;
  for (const auto& w : words) text += (text.empty() ? "" : " ") + w.word;
  AsrSegment seg;
  if (!words.empty()) {
    seg.start_ms = words.front().start_ms;
    seg.end_ms = words.back().end_ms;
    seg.text = text;
    seg.confidence = 1.0;
    for (const auto& w : words) seg.confidence = std::min(seg.confidence, w.confidence);
    seg.words = words;
  }
  std::vector<AsrSegment> segments;
  if (!words.empty()) segments.push_back(seg);
  nlohmann::json doc = {{"asset_id", in.asset.id},
                        {"artifact_id", in.artifact ? nlohmann::json(in.artifact->id) : nullptr},
                        {"language", "en"},
                        {"duration_ms", duration_ms},
                        {"text", text},
                        {"script", *q.text},
                        {"mode", "forced_alignment"},
                        {"segments", segments_json(segments)},
                        {"model_used", model_used},
                        {"backend_version", backend.info.version}};
  nlohmann::json meta = source_meta(in);
  meta["cache_key"] = key;
  meta["mode"] = "forced_alignment";
  meta["backend_type"] = "pocketsphinx_align";
  meta["requested_backend"] = "pocketsphinx";
  meta["model_used"] = model_used;
  meta["backend_version"] = backend.info.version;
  meta["language"] = "en";
  meta["duration_ms"] = duration_ms;
  meta["segment_count"] = segments.size();
  meta["word_count"] = words.size();
  meta["processing_ms"] = now_steady_ms() - t0;
  ATOMCUT_ASSIGN_OR_RETURN(
      DerivedArtifact a,
      artifacts_.store_json(ctx, in.asset.id, "asr_transcript", doc, std::move(meta),
                            in.offset_ms(), in.offset_ms() + duration_ms));
  return AudioOutput{
      std::move(a), false, {{"words", words_json(words)}, {"word_count", words.size()}}};
}

Result<AudioOutput> AudioService::bars(const RequestContext& ctx, const AudioAlignRequest& q) {
  ATOMCUT_ASSIGN_OR_RETURN(ChosenBackend backend, registry_.choose("align", std::string("bars")));
  const Scope scope = scope_of(ctx);
  std::vector<std::vector<AsrWord>> transcripts;
  std::optional<AnalysisInput> first;
  for (size_t i = 0; i < q.asr_artifact_ids.size(); ++i) {
    const std::string& id = q.asr_artifact_ids[i];
    ATOMCUT_ASSIGN_OR_RETURN(ArtifactWithParent a, media_.get_artifact(scope, id));
    if (a.artifact.kind != "asr_transcript") {
      return Error::invalid_argument(
          fmt::format("asr_artifact_ids[{}]: artifact {} is a {} artifact, not asr_transcript", i,
                      id, a.artifact.kind),
          {{"field", fmt::format("asr_artifact_ids[{}]", i)}});
    }
    if (first && a.parent.id != first->asset.id) {
      return Error::invalid_argument(
          "asr_artifact_ids must all be transcripts of the same asset (one bar grid)",
          {{"field", fmt::format("asr_artifact_ids[{}]", i)}});
    }
    ATOMCUT_ASSIGN_OR_RETURN(nlohmann::json doc, artifacts_.read_json(scope, a.artifact));
    // Words on the asset's timeline (a transcript of a segment starts at the segment's start).
    std::vector<AsrWord> words = asr_transcript_words(doc);
    const int64_t shift_ms = a.artifact.meta.value("source_start_ms", int64_t{0});
    for (auto& w : words) {
      w.start_ms += shift_ms;
      w.end_ms += shift_ms;
    }
    transcripts.push_back(std::move(words));
    if (!first) first = AnalysisInput{a.parent, a.artifact, ""};
  }
  // The grid: beat_meta inline or by artifact, else the asset's newest beat_features artifact,
  // else a beat analysis of the asset now.
  BeatGrid grid;
  std::string grid_source;
  nlohmann::json beat_meta = q.beat_meta;
  if (beat_meta.is_object() && beat_meta.contains("artifact_id")) {
    if (!beat_meta["artifact_id"].is_string()) {
      return Error::invalid_argument("beat_meta.artifact_id must be a string",
                                     {{"field", "beat_meta.artifact_id"}});
    }
    const std::string id = beat_meta["artifact_id"].get<std::string>();
    ATOMCUT_ASSIGN_OR_RETURN(ArtifactWithParent b, media_.get_artifact(scope, id));
    if (b.artifact.kind != "beat_features") {
      return Error::invalid_argument(
          fmt::format("beat_meta.artifact_id: artifact {} is {}, not beat_features", id,
                      b.artifact.kind),
          {{"field", "beat_meta.artifact_id"}});
    }
    beat_meta = b.artifact.meta.value("beat_features", nlohmann::json::object());
    grid_source = id;
  }
  if (!beat_meta.is_object() || beat_meta.empty()) {
    auto asset = media_.get_asset(scope, first->asset.id);
    if (asset.ok()) {
      for (auto it = asset->artifacts.rbegin(); it != asset->artifacts.rend(); ++it) {
        if (it->kind == "beat_features" && !it->meta.contains("source_artifact_kind")) {
          beat_meta = it->meta.value("beat_features", nlohmann::json::object());
          grid_source = it->id;
          break;
        }
      }
    }
  }
  if (!beat_meta.is_object() || beat_meta.empty()) {
    AudioBeatRequest bq;
    bq.sources.push_back({first->asset.id, std::nullopt});
    ATOMCUT_ASSIGN_OR_RETURN(AudioOutcome b, beat_features(ctx, bq));
    beat_meta = b.outputs.front().summary;
    grid_source = b.outputs.front().artifact.id;
  } else if (grid_source.empty()) {
    grid_source = "beat_meta";
  }
  ATOMCUT_ASSIGN_OR_RETURN(grid, beat_grid_from_json(beat_meta, "beat_meta"));

  nlohmann::json ids = q.asr_artifact_ids;
  const std::string key = join_cache_key(
      {"bars", first->asset.id, ids.dump(), sha256_hex(beat_meta.dump()), backend.info.version});
  if (auto hit = artifacts_.find_cached(scope, first->asset.id, "bars", key)) {
    return AudioOutput{*hit, true, {}};
  }
  nlohmann::json doc = align_words_to_bars(transcripts, grid);
  doc["asset_id"] = first->asset.id;
  doc["asr_artifact_ids"] = ids;
  doc["beat_source"] = grid_source;
  nlohmann::json meta = {
      {"source_asset_id", first->asset.id}, {"asr_artifact_ids", ids},
      {"beat_source", grid_source},         {"cache_key", key},
      {"backend_type", backend.info.name},  {"backend_version", backend.info.version},
      {"model_used", kBarsVersion},         {"bpm", grid.bpm},
      {"bar_count", doc["bar_count"]},      {"word_count", doc["word_count"]},
      {"words_placed", doc["words_placed"]}};
  AnalysisInput in{first->asset, std::nullopt, ""};
  std::optional<int64_t> start, end;
  if (!grid.downbeats_ms.empty() && !doc["bars"].empty()) {
    start = grid.downbeats_ms.front();
    end = doc["bars"].back()["end_ms"].get<int64_t>();
  }
  ATOMCUT_ASSIGN_OR_RETURN(DerivedArtifact a, artifacts_.store_json(ctx, in.asset.id, "bars", doc,
                                                                    std::move(meta), start, end));
  return AudioOutput{std::move(a),
                     false,
                     {{"bpm", grid.bpm},
                      {"bar_count", doc["bar_count"]},
                      {"word_count", doc["word_count"]},
                      {"words_placed", doc["words_placed"]}}};
}

// ---- voice enhance
// -------------------------------------------------------------------------------

Result<AudioOutcome> AudioService::voice_enhance(const RequestContext& ctx,
                                                 const VoiceEnhanceRequest& q) {
  ATOMCUT_ASSIGN_OR_RETURN(ChosenBackend backend, registry_.choose("voice_enhance", q.backend));
  ATOMCUT_ASSIGN_OR_RETURN(AnalysisInput in, resolve_audio(scope_of(ctx), q.source));
  // The spec's key: asset_id|artifact_id|mode|aggressiveness|preserve_ambience|backend_version.
  const std::string key =
      join_cache_key({in.asset.id, in.artifact_key(), q.mode, num_key(q.aggressiveness),
                      bool_key(q.preserve_ambience), backend.info.version});
  AudioOutcome out;
  if (auto hit = artifacts_.find_cached(scope_of(ctx), in.asset.id, "audio_voice_enhanced", key)) {
    out.outputs.push_back({*hit, true, {}});
    return out;
  }
  VoiceEnhanceOptions vo;
  vo.mode = q.mode;
  vo.aggressiveness = q.aggressiveness;
  vo.preserve_ambience = q.preserve_ambience;
  ATOMCUT_TRY(validate(vo));
  nlohmann::json meta = source_meta(in);
  meta["mode"] = q.mode;
  meta["aggressiveness"] = q.aggressiveness;
  meta["preserve_ambience"] = q.preserve_ambience;
  meta["target_speaker_id"] =
      q.target_speaker_id ? nlohmann::json(*q.target_speaker_id) : nlohmann::json(nullptr);
  meta["model_used"] = backend.stub() ? kVoiceStubVersion : "voice_enhance_ffmpeg_v1";
  meta["backend_type"] = backend.info.name;
  meta["requested_backend"] = backend.requested;
  meta["backend_version"] = backend.info.version;
  if (backend.fallback_reason) meta["fallback_reason"] = *backend.fallback_reason;
  meta["voice_enhance_cache_key"] = key;
  meta["cache_key"] = key;
  FfmpegRunOptions run;
  run.timeout_ms = options_.ffmpeg_timeout_ms;
  ATOMCUT_ASSIGN_OR_RETURN(
      DerivedArtifact a,
      artifacts_.store_file(
          ctx, in.asset.id, "audio_voice_enhanced", "voice_enhanced.wav",
          [&](const std::string& path) -> Result<nlohmann::json> {
            if (backend.stub()) {
              ATOMCUT_ASSIGN_OR_RETURN(SourceAudioInfo info, audio_source_info(in.path));
              SegmentSpan all;
              all.end_frame = info.total_frames;
              all.end_ms =
                  info.sample_rate > 0
                      ? (info.total_frames * 1000 + info.sample_rate - 1) / info.sample_rate
                      : 0;
              ATOMCUT_TRY(write_segment_wav(in.path, info, all, path));
              return nlohmann::json{
                  {"duration_ms",
                   info.sample_rate > 0 ? info.total_frames * 1000 / info.sample_rate : 0},
                  {"sample_rate", info.sample_rate},
                  {"channels", info.channels}};
            }
            ATOMCUT_ASSIGN_OR_RETURN(ProcessReport r,
                                     atomcut::voice_enhance(in.path, path, vo, run));
            return report_meta(r);
          },
          std::move(meta), 0, std::nullopt));
  out.outputs.push_back({std::move(a), false, {}});
  return out;
}

Result<nlohmann::json> AudioService::get_voice_enhance(const Scope& scope,
                                                       const std::string& artifact_id) {
  ATOMCUT_ASSIGN_OR_RETURN(ArtifactWithParent a,
                           artifacts_.artifact_of_kind(scope, artifact_id, "audio_voice_enhanced"));
  return nlohmann::json{{"artifact_id", a.artifact.id},
                        {"asset_id", a.parent.id},
                        {"uri", a.artifact.uri},
                        {"meta", a.artifact.meta},
                        {"artifact", to_json(a.artifact)}};
}

// ---- semantic timeline
// ---------------------------------------------------------------------------

namespace {

nlohmann::json opt_num(const std::optional<double>& v) {
  return v ? nlohmann::json(std::round(*v * 100.0) / 100.0) : nlohmann::json(nullptr);
}

nlohmann::json beat_events(const BeatAnalysis& b) {
  nlohmann::json out = nlohmann::json::array();
  size_t bar = 0;
  int64_t beat_in_bar = -1;
  for (int64_t t : b.beats_ms) {
    while (bar < b.bars.size() && b.bars[bar].start_ms <= t) {
      ++bar;
      beat_in_bar = -1;
    }
    ++beat_in_bar;
    nlohmann::json e = {{"time_ms", t}, {"subdivision", 1}};
    if (bar == 0) {
      e["bar_index"] = nullptr;  // before the first downbeat
      e["beat_index"] = nullptr;
    } else {
      e["bar_index"] = b.bars[bar - 1].index;
      e["beat_index"] = beat_in_bar;
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

Result<AudioOutcome> AudioService::semantic_analyze(const RequestContext& ctx,
                                                    const AudioSemanticRequest& q) {
  ATOMCUT_ASSIGN_OR_RETURN(ChosenBackend backend, registry_.choose("semantic_timeline", q.backend));
  ATOMCUT_ASSIGN_OR_RETURN(AnalysisInput in, resolve_audio(scope_of(ctx), q.source));
  std::string key = join_cache_key(
      {ctx.tenant_id, ctx.env, in.asset.id, in.artifact_key(), bool_key(q.include_beats),
       bool_key(q.include_speech_music), std::to_string(q.min_silence_ms),
       std::to_string(q.loudness_window_ms), backend.info.version, ctx.user_id.value_or("")});
  if (q.include_transcription) key += "|transcription";
  AudioOutcome out;
  if (auto hit =
          artifacts_.find_cached(scope_of(ctx), in.asset.id, "audio_semantic_timeline", key)) {
    out.outputs.push_back({*hit, true, {}});
    return out;
  }
  const int64_t t0 = now_steady_ms();
  ATOMCUT_ASSIGN_OR_RETURN(auto dec, AudioDecoder::open(in.path, {kAnalysisRate, 2}));
  const int channels = std::min(2, std::max(1, dec->source_channels()));
  if (channels != 2) {
    ATOMCUT_ASSIGN_OR_RETURN(dec, AudioDecoder::open(in.path, {kAnalysisRate, channels}));
  }
  SemanticAnalysis sem;
  if (!backend.stub()) {
    SemanticOptions so;
    so.include_speech_music = q.include_speech_music;
    so.min_silence_ms = q.min_silence_ms;
    so.loudness_window_ms = q.loudness_window_ms;
    ATOMCUT_ASSIGN_OR_RETURN(auto analyzer, SemanticAnalyzer::create(kAnalysisRate, channels, so));
    std::vector<float> chunk(size_t{8192} * static_cast<size_t>(channels));
    for (;;) {
      ATOMCUT_ASSIGN_OR_RETURN(size_t n, dec->read(chunk.data(), 8192));
      if (n == 0) break;
      ATOMCUT_TRY(analyzer->push(chunk.data(), n));
    }
    ATOMCUT_ASSIGN_OR_RETURN(sem, analyzer->finish());
  } else {
    std::vector<float> chunk(size_t{8192} * static_cast<size_t>(channels));
    int64_t frames = 0;
    for (;;) {
      ATOMCUT_ASSIGN_OR_RETURN(size_t n, dec->read(chunk.data(), 8192));
      if (n == 0) break;
      frames += static_cast<int64_t>(n);
    }
    sem.duration_ms = frames * 1000 / kAnalysisRate;
    if (sem.duration_ms > 0) sem.events.push_back({"other", 0, sem.duration_ms, 0.0, std::nullopt});
    sem.backend_version = backend.info.version;
  }

  BeatAnalysis beats;
  std::optional<DecodedAudio> pcm16;
  if ((q.include_beats || q.include_transcription) && !backend.stub()) {
    ATOMCUT_ASSIGN_OR_RETURN(DecodedAudio p, decode_audio(in.path, {kAsrRate, 1}));
    pcm16 = std::move(p);
  }
  if (q.include_beats && pcm16) {
    ATOMCUT_ASSIGN_OR_RETURN(beats,
                             analyse_beats(pcm16->samples.data(), pcm16->frames(), kAsrRate));
  }
  nlohmann::json events = nlohmann::json::array();
  std::map<std::string, int64_t> counts;
  for (const auto& e : sem.events) {
    nlohmann::json ev = {{"kind", e.kind},
                         {"start_ms", e.start_ms},
                         {"end_ms", e.end_ms},
                         {"speaker_id", nullptr},
                         {"loudness_lufs", opt_num(e.loudness_lufs)},
                         {"confidence", std::round(e.confidence * 1000.0) / 1000.0}};
    if (q.include_transcription && e.kind == "speech" && pcm16) {
      const size_t a = static_cast<size_t>(e.start_ms) * kAsrRate / 1000;
      const size_t b = std::min(pcm16->frames(), static_cast<size_t>(e.end_ms) * kAsrRate / 1000);
      std::string text;
      if (b > a) {
        std::lock_guard lock(asr_mu_);
        auto asr = recognizer();
        if (asr.ok()) {
          auto r = (*asr)->recognize(pcm16->samples.data() + a, b - a);
          if (r.ok()) {
            for (const auto& s : r->segments) text += (text.empty() ? "" : " ") + s.text;
          }
        }
      }
      ev["transcription"] = text;
    }
    counts[e.kind] += e.end_ms - e.start_ms;
    events.push_back(std::move(ev));
  }
  nlohmann::json loudness = nlohmann::json::array();
  for (const auto& w : sem.loudness) {
    loudness.push_back({{"start_ms", w.start_ms}, {"end_ms", w.end_ms}, {"lufs", opt_num(w.lufs)}});
  }
  nlohmann::json backend_info = {
      {"backend", backend.info.name},
      {"backend_version", backend.info.version},
      {"dependencies",
       {{"webrtc_audio_processing", {{"available", true}, {"version", "0.3"}}},
        {"libebur128", {{"available", true}}},
        {"aubio", {{"available", true}, {"version", beat_backend_version()}}},
        {"pocketsphinx",
         {{"available", asr_model_present(options_.asr_model_dir)},
          {"version", PocketsphinxAsr::backend_version()}}}}}};
  nlohmann::json meta = source_meta(in);
  meta["model_used"] = backend.stub() ? kSemanticStubVersion : "atomcut_semantic_v1";
  meta["backend"] = backend.info.name;
  meta["backend_type"] = backend.info.name;
  meta["requested_backend"] = backend.requested;
  meta["backend_version"] = backend.info.version;
  if (backend.fallback_reason) meta["fallback_reason"] = *backend.fallback_reason;
  meta["semantic_version"] = backend.stub() ? kSemanticStubVersion : kSemanticVersion;
  meta["audio_semantic_cache_key"] = key;
  meta["cache_key"] = key;
  meta["include_beats"] = q.include_beats;
  meta["include_speech_music"] = q.include_speech_music;
  meta["include_transcription"] = q.include_transcription;
  meta["min_silence_ms"] = q.min_silence_ms;
  meta["loudness_window_ms"] = q.loudness_window_ms;
  meta["speed_change_limit"] = kSpeedChangeLimit;
  meta["backend_info"] = backend_info;
  meta["duration_ms"] = sem.duration_ms;
  meta["event_count"] = sem.events.size();
  meta["kind_ms"] = counts;
  meta["integrated_lufs"] = opt_num(sem.integrated_lufs);
  meta["true_peak_dbtp"] = std::round(sem.true_peak_dbtp * 100.0) / 100.0;
  meta["loudness_range_lu"] = std::round(sem.loudness_range_lu * 100.0) / 100.0;
  meta["bpm"] = std::round(beats.bpm * 100.0) / 100.0;
  meta["processing_ms"] = now_steady_ms() - t0;
  nlohmann::json doc = {{"asset_id", in.asset.id},
                        {"artifact_id", in.artifact ? nlohmann::json(in.artifact->id) : nullptr},
                        {"duration_ms", sem.duration_ms},
                        {"events", std::move(events)},
                        {"beats", q.include_beats ? beat_events(beats) : nlohmann::json::array()},
                        {"loudness", std::move(loudness)},
                        {"meta", meta}};
  ATOMCUT_ASSIGN_OR_RETURN(
      DerivedArtifact a,
      artifacts_.store_json(ctx, in.asset.id, "audio_semantic_timeline", doc, meta, in.offset_ms(),
                            in.offset_ms() + sem.duration_ms));
  out.outputs.push_back({std::move(a), false, {}});
  return out;
}

Result<nlohmann::json> AudioService::semantic_get(const Scope& scope,
                                                  const std::string& artifact_id) {
  ATOMCUT_ASSIGN_OR_RETURN(
      ArtifactWithParent a,
      artifacts_.artifact_of_kind(scope, artifact_id, "audio_semantic_timeline"));
  ATOMCUT_ASSIGN_OR_RETURN(nlohmann::json doc, artifacts_.read_json(scope, a.artifact));
  doc["audio_semantic_artifact_id"] = a.artifact.id;
  doc["uri"] = a.artifact.uri;
  doc["meta"] = a.artifact.meta;
  return doc;
}

Result<nlohmann::json> AudioService::semantic_by_clip(
    const Scope& scope, const std::string& clip_id, const std::optional<std::string>& artifact_id) {
  ATOMCUT_ASSIGN_OR_RETURN(ClipSource clip, timeline_.clip_source(scope, clip_id));
  const std::string& asset_id = clip.asset_id;
  const std::optional<std::string>& clip_artifact = clip.artifact_id;
  const int64_t in_ms = clip.in_ms;
  const int64_t out_ms = clip.out_ms;
  const double speed = clip.speed;

  std::optional<DerivedArtifact> sem;
  if (artifact_id) {
    ATOMCUT_ASSIGN_OR_RETURN(ArtifactWithParent a, media_.get_artifact(scope, *artifact_id));
    if (a.artifact.kind != "audio_semantic_timeline" || a.parent.id != asset_id) {
      return Error::invalid_argument(
          fmt::format("artifact_id {} is not an audio_semantic_timeline of the clip's asset {}",
                      *artifact_id, asset_id),
          {{"field", "artifact_id"}});
    }
    sem = std::move(a.artifact);
  } else {
    ATOMCUT_ASSIGN_OR_RETURN(AssetWithArtifacts a, media_.get_asset(scope, asset_id));
    const nlohmann::json want = clip_artifact ? nlohmann::json(*clip_artifact) : nullptr;
    for (auto it = a.artifacts.rbegin(); it != a.artifacts.rend(); ++it) {
      if (it->kind == "audio_semantic_timeline" &&
          it->meta.value("source_artifact_id", nlohmann::json(nullptr)) == want) {
        sem = *it;
        break;
      }
    }
    if (!sem) {
      return Error::failed_precondition(
          fmt::format("asset {} has no audio_semantic_timeline for the clip's source yet: POST "
                      "/audio/semantic-timeline/analyze first",
                      asset_id),
          {{"asset_id", asset_id}, {"clip_id", clip_id}});
    }
  }
  ATOMCUT_ASSIGN_OR_RETURN(nlohmann::json doc, artifacts_.read_json(scope, *sem));
  auto rel = [&clip](int64_t t) { return clip.clip_ms(t); };
  nlohmann::json events = nlohmann::json::array();
  for (const auto& e : doc.value("events", nlohmann::json::array())) {
    const int64_t s = e.value("start_ms", int64_t{0});
    const int64_t t = e.value("end_ms", int64_t{0});
    if (t <= in_ms || s >= out_ms) continue;
    nlohmann::json c = e;
    c["start_ms"] = rel(std::max(s, in_ms));
    c["end_ms"] = rel(std::min(t, out_ms));
    c["source_start_ms"] = s;
    c["source_end_ms"] = t;
    events.push_back(std::move(c));
  }
  nlohmann::json beats = nlohmann::json::array();
  for (const auto& b : doc.value("beats", nlohmann::json::array())) {
    const int64_t t = b.value("time_ms", int64_t{0});
    if (t < in_ms || t >= out_ms) continue;
    nlohmann::json c = b;
    c["time_ms"] = rel(t);
    c["source_time_ms"] = t;
    beats.push_back(std::move(c));
  }
  nlohmann::json meta = sem->meta;
  meta["clip_id"] = clip_id;
  meta["clip_window_ms"] = {{"start_ms", in_ms}, {"end_ms", out_ms}};
  meta["clip_relative"] = true;
  meta["speed_change_limit"] = kSpeedChangeLimit;
  meta["speed_change"] = speed;
  meta["speed_change_limited"] = speed != 1.0;
  meta["speed_change_within_limit"] =
      speed <= kSpeedChangeLimit && speed >= 1.0 / kSpeedChangeLimit;
  return nlohmann::json{{"asset_id", asset_id},
                        {"artifact_id", clip_artifact ? nlohmann::json(*clip_artifact) : nullptr},
                        {"audio_semantic_artifact_id", sem->id},
                        {"clip_id", clip_id},
                        {"duration_ms", rel(out_ms)},
                        {"events", std::move(events)},
                        {"beats", std::move(beats)},
                        {"meta", std::move(meta)}};
}

}  // namespace atomcut

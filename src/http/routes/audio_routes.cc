// The audio atoms' routes (spec "HTTP Audio Service Atom", "Audio Semantic Timeline", "Voice
// Enhance Engine"). New outputs answer 201; a request served entirely from the cache answers 200.
#include "http/error_mapping.h"
#include "http/routes/routes.h"

namespace atomcut::http {

namespace {

nlohmann::json output_json(const AudioOutput& o) {
  const auto& a = o.artifact;
  nlohmann::json j = {{"artifact_id", a.id},
                      {"asset_id", a.parent_asset_id},
                      {"kind", a.kind},
                      {"uri", a.uri},
                      {"start_ms", a.start_ms ? nlohmann::json(*a.start_ms) : nullptr},
                      {"end_ms", a.end_ms ? nlohmann::json(*a.end_ms) : nullptr},
                      {"cache_hit", o.cache_hit},
                      {"meta", a.meta}};
  j["meta"]["cache_hit"] = o.cache_hit;
  for (const auto& [k, v] : o.summary.items()) {
    if (!j.contains(k)) j[k] = v;
  }
  return j;
}

int status_of(const AudioOutcome& out) { return out.all_cached() ? 200 : 201; }

// {"items": [...]} plus, for a single input, the item's fields at the top level.
nlohmann::json items_json(const AudioOutcome& out) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& o : out.outputs) items.push_back(output_json(o));
  nlohmann::json body = items.size() == 1 ? items[0] : nlohmann::json::object();
  body["items"] = items;
  body["cache_hit"] = out.all_cached();
  return body;
}

template <typename Req, typename Parse, typename Run>
void add_json_post(HttpServer& s, const char* path, Parse parse, Run run) {
  const RouteOptions json_opts{.auth = true, .context = true, .body = BodyMode::kJson};
  s.add_route("POST", path, json_opts,
              [parse, run](ApiRequest& req, httplib::Response& res) -> Status {
                ATOMCUT_ASSIGN_OR_RETURN(Req q, parse(req.body));
                ATOMCUT_ASSIGN_OR_RETURN(AudioOutcome out, run(req.context(), q));
                reply_json(res, status_of(out), items_json(out));
                return {};
              });
}

}  // namespace

nlohmann::json backends_json(const std::vector<BackendInfo>& backends) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& b : backends) {
    items.push_back({{"atom", b.atom},
                     {"name", b.name},
                     {"backend_version", b.version},
                     {"available", b.available},
                     {"default", b.is_default},
                     {"detail", b.detail}});
  }
  return {{"items", items}};
}

void register_audio_routes(HttpServer& s, MediaService& media, AudioService& audio) {
  const RouteOptions stream_opts{.auth = true, .context = true, .body = BodyMode::kStream};
  const RouteOptions json_opts{.auth = true, .context = true, .body = BodyMode::kJson};
  const RouteOptions no_body{.auth = true, .context = true, .body = BodyMode::kNone};

  s.add_route("POST", "/audio/ingest", stream_opts,
              [&media, &audio](ApiRequest& req, httplib::Response& res) -> Status {
                ATOMCUT_ASSIGN_OR_RETURN(MediaAsset a, create_asset_from_request(media, req));
                ATOMCUT_ASSIGN_OR_RETURN(MediaAsset checked,
                                         audio.check_ingested(req.context(), a));
                reply_json(res, 201, to_json(checked));
                return {};
              });

  auto* a = &audio;
  add_json_post<AudioPreprocessRequest>(
      s, "/audio/preprocess", audio_preprocess_request_from_json,
      [a](const RequestContext& c, const AudioPreprocessRequest& q) {
        return a->preprocess(c, q);
      });
  s.add_route(
      "POST", "/audio/segment", json_opts, [a](ApiRequest& req, httplib::Response& res) -> Status {
        ATOMCUT_ASSIGN_OR_RETURN(AudioSegmentRequest q, audio_segment_request_from_json(req.body));
        ATOMCUT_ASSIGN_OR_RETURN(AudioOutcome out, a->segment(req.context(), q));
        nlohmann::json segments = nlohmann::json::array();
        for (const auto& o : out.outputs) segments.push_back(output_json(o));
        reply_json(res, status_of(out),
                   {{"asset_id", out.outputs.empty()
                                     ? nlohmann::json(nullptr)
                                     : nlohmann::json(out.outputs[0].artifact.parent_asset_id)},
                    {"segment_count", segments.size()},
                    {"segments", segments},
                    {"cache_hit", out.all_cached()}});
        return {};
      });
  add_json_post<AudioBeatRequest>(
      s, "/audio/beat-features", audio_beat_request_from_json,
      [a](const RequestContext& c, const AudioBeatRequest& q) { return a->beat_features(c, q); });
  add_json_post<AudioAsrRequest>(
      s, "/audio/asr", audio_asr_request_from_json,
      [a](const RequestContext& c, const AudioAsrRequest& q) { return a->asr(c, q); });
  add_json_post<AudioAlignRequest>(
      s, "/audio/align", audio_align_request_from_json,
      [a](const RequestContext& c, const AudioAlignRequest& q) { return a->align(c, q); });
  add_json_post<VoiceEnhanceRequest>(s, "/audio/voice-enhance", voice_enhance_request_from_json,
                                     [a](const RequestContext& c, const VoiceEnhanceRequest& q) {
                                       return a->voice_enhance(c, q);
                                     });
  s.add_route("GET", "/audio/voice-enhance/{artifact_id}", no_body,
              [a](ApiRequest& req, httplib::Response& res) -> Status {
                ATOMCUT_ASSIGN_OR_RETURN(
                    nlohmann::json j, a->get_voice_enhance(req.scope(), req.param("artifact_id")));
                reply_json(res, 200, j);
                return {};
              });

  s.add_route("POST", "/audio/semantic-timeline/analyze", json_opts,
              [a](ApiRequest& req, httplib::Response& res) -> Status {
                ATOMCUT_ASSIGN_OR_RETURN(AudioSemanticRequest q,
                                         audio_semantic_request_from_json(req.body));
                ATOMCUT_ASSIGN_OR_RETURN(AudioOutcome out, a->semantic_analyze(req.context(), q));
                const AudioOutput& o = out.outputs.front();
                nlohmann::json meta = o.artifact.meta;
                meta["cache_hit"] = o.cache_hit;
                reply_json(res, status_of(out),
                           {{"audio_semantic_artifact_id", o.artifact.id},
                            {"artifact_id", o.artifact.id},
                            {"asset_id", o.artifact.parent_asset_id},
                            {"uri", o.artifact.uri},
                            {"cache_hit", o.cache_hit},
                            {"meta", meta}});
                return {};
              });
  s.add_route("GET", "/audio/semantic-timeline/by-clip/{clip_id}", no_body,
              [a](ApiRequest& req, httplib::Response& res) -> Status {
                ATOMCUT_ASSIGN_OR_RETURN(nlohmann::json j,
                                         a->semantic_by_clip(req.scope(), req.param("clip_id"),
                                                             req.query("artifact_id")));
                reply_json(res, 200, j);
                return {};
              });
  s.add_route("GET", "/audio/semantic-timeline/{artifact_id}", no_body,
              [a](ApiRequest& req, httplib::Response& res) -> Status {
                ATOMCUT_ASSIGN_OR_RETURN(nlohmann::json j,
                                         a->semantic_get(req.scope(), req.param("artifact_id")));
                reply_json(res, 200, j);
                return {};
              });

  s.add_route("GET", "/audio/backends", no_body,
              [a](ApiRequest&, httplib::Response& res) -> Status {
                reply_json(res, 200, backends_json(a->backends()));
                return {};
              });
}

}  // namespace atomcut::http

// Route registration, one function per engine. Each maps HTTP to engine calls and back; no
// business rules live here.
#pragma once

#include "engines/audio/audio_service.h"
#include "engines/media/media_service.h"
#include "engines/render/render_service.h"
#include "engines/timeline/preset_service.h"
#include "engines/timeline/timeline_service.h"
#include "engines/video/caption_service.h"
#include "engines/video/frame_grab_service.h"
#include "engines/video/region_service.h"
#include "engines/video/visual_meta_service.h"
#include "http/http_server.h"

#include <string>

namespace atomcut::http {

struct SystemInfo {
  std::string version;
  std::string libav_version;  // "libavformat 59.27.100 / libavcodec ..."
  std::string database_url;   // without credentials
  std::string blob_url;
};

// GET /healthz, GET /version (no auth, no tenant context).
void register_system_routes(HttpServer& server, SystemInfo info);

// The Media Atom v2 routes under /media-v2/.
void register_media_routes(HttpServer& server, MediaService& media);

// Registers an asset from a POST /media-v2/assets request: multipart/form-data with a 'file' part
// (and tenant_id/env/user_id, kind, source_ref, tags fields) or JSON with source_uri. Resolves the
// request context. Shared by /audio/ingest.
Result<MediaAsset> create_asset_from_request(MediaService& media, ApiRequest& req);

// The Timeline / Project atom: /video/projects, /video/sequences, /video/tracks, /video/clips,
// /video/transitions, /video/filter-stacks.
void register_timeline_routes(HttpServer& server, TimelineService& timeline);

// Filter and motion presets: /video/presets/filters, /video/presets/motion (create, list with
// limit/cursor/tag, get, delete). Built-ins are listed first and are read-only.
void register_preset_routes(HttpServer& server, PresetService& presets);
// The Render atom: POST /video/render/dry-run (plan and ffmpeg command), POST /video/render
// (execute and register; 201), GET /video/render/profiles.
void register_render_routes(HttpServer& server, RenderService& render);
// The audio atoms: POST /audio/ingest, /audio/preprocess, /audio/segment, /audio/beat-features,
// /audio/asr, /audio/align, /audio/voice-enhance (+ GET by artifact),
// /audio/semantic-timeline/analyze, GET /audio/semantic-timeline/{artifact_id} and
// /audio/semantic-timeline/by-clip/{clip_id}, GET /audio/backends.
void register_audio_routes(HttpServer& server, MediaService& media, AudioService& audio);

// Visual meta: POST /video/visual-meta/analyze, GET /video/visual-meta/{artifact_id},
// GET /video/visual-meta/by-clip/{clip_id}, POST /video/visual-meta/reframe-suggestion.
void register_visual_meta_routes(HttpServer& server, VisualMetaService& visual_meta);
// Face regions and anonymisation: POST /video/regions, POST /video/anonymise/faces.
void register_region_routes(HttpServer& server, RegionService& regions);
// Captions and masks: POST /video/captions/generate, GET /video/captions/{artifact_id}/srt|vtt,
// POST /video/masks/auto, GET /video/masks/{artifact_id}.
void register_caption_routes(HttpServer& server, CaptionService& captions, MaskService& masks);
// Frame grab: POST /video/frames/grab.
void register_frame_routes(HttpServer& server, FrameGrabService& frames);
// GET /video/backends: every video analysis atom's backends (as GET /audio/backends).
void register_video_backend_routes(HttpServer& server, VisualMetaService& visual_meta,
                                   RegionService& regions, CaptionService& captions,
                                   MaskService& masks);

// {items: [{atom, name, backend_version, available, default, detail}]}
nlohmann::json backends_json(const std::vector<BackendInfo>& backends);

}  // namespace atomcut::http

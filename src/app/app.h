// App: the composition root. config -> stores -> engines -> HTTP routes. Nothing else owns
// long-lived objects; the CLI and the tests build an App (or just the parts they need).
#pragma once

#include "core/config.h"
#include "core/error.h"
#include "engines/audio/audio_service.h"
#include "engines/media/api_key_service.h"
#include "engines/media/media_service.h"
#include "engines/render/render_service.h"
#include "engines/timeline/preset_service.h"
#include "engines/timeline/timeline_service.h"
#include "engines/video/caption_service.h"
#include "engines/video/frame_grab_service.h"
#include "engines/video/region_service.h"
#include "engines/video/visual_meta_service.h"
#include "http/http_server.h"
#include "storage/blob_store.h"
#include "storage/metadata_store.h"

#include <memory>

namespace atomcut {

inline constexpr const char* kAtomcutVersion = "0.1.0";

// Configures spdlog: the default logger (stderr) at config.log_level and the "access" logger
// (config.access_log: '-' for stdout, 'off', or a file path).
Status setup_logging(const Config& config);

// The stores alone, for CLI commands that need no server (keys).
struct Stores {
  std::unique_ptr<MetadataStore> metadata;
  std::unique_ptr<BlobStore> blobs;
};
// Creates the data dir and opens the stores named by config (which must be finalized).
Result<Stores> open_stores(const Config& config);

class App {
 public:
  // Finalizes the config, opens the stores and wires engines and routes.
  static Result<std::unique_ptr<App>> create(Config config);

  const Config& config() const { return config_; }
  MediaService& media() { return *media_; }
  ApiKeyService& keys() { return *keys_; }
  TimelineService& timeline() { return *timeline_; }
  PresetService& presets() { return *presets_; }
  RenderService& render() { return *render_; }
  AudioService& audio() { return *audio_; }
  http::HttpServer& server() { return *server_; }

 private:
  App() = default;
  Config config_;
  Stores stores_;
  std::unique_ptr<MediaService> media_;
  std::unique_ptr<ApiKeyService> keys_;
  std::unique_ptr<TimelineService> timeline_;
  std::unique_ptr<PresetService> presets_;
  std::unique_ptr<RenderService> render_;
  std::unique_ptr<AudioService> audio_;
  std::unique_ptr<VisualMetaService> visual_meta_;
  std::unique_ptr<RegionService> regions_;
  std::unique_ptr<CaptionService> captions_;
  std::unique_ptr<MaskService> masks_;
  std::unique_ptr<FrameGrabService> frames_;
  std::unique_ptr<http::HttpServer> server_;
};

}  // namespace atomcut

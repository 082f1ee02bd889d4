#include "app/app.h"

#include "engines/media/libav_info.h"
#include "http/routes/routes.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include <filesystem>

namespace atomcut {

Status setup_logging(const Config& config) {
  auto level = spdlog::level::from_str(config.log_level);
  if (level == spdlog::level::off && config.log_level != "off") {
    return Error::invalid_argument(
        fmt::format("log level '{}' must be one of trace, debug, info, warn, error, critical, off",
                    config.log_level));
  }
  auto main = spdlog::stderr_logger_mt("atomcut");
  main->set_level(level);
  main->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(main);
  std::shared_ptr<spdlog::logger> access;
  try {
    if (config.access_log == "off") {
      access = std::make_shared<spdlog::logger>("access",
                                                std::make_shared<spdlog::sinks::null_sink_mt>());
      access->set_level(spdlog::level::off);
    } else if (config.access_log == "-") {
      access = std::make_shared<spdlog::logger>("access",
                                                std::make_shared<spdlog::sinks::stdout_sink_mt>());
    } else {
      access = std::make_shared<spdlog::logger>(
          "access", std::make_shared<spdlog::sinks::basic_file_sink_mt>(config.access_log));
    }
  } catch (const spdlog::spdlog_ex& e) {
    return Error::invalid_argument(
        fmt::format("access log '{}' cannot be opened: {}", config.access_log, e.what()));
  }
  access->set_pattern("%v");
  access->flush_on(spdlog::level::info);
  spdlog::register_logger(access);
  return {};
}

Result<Stores> open_stores(const Config& config) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    return Error::unavailable(
        fmt::format("cannot create data dir '{}': {}", config.data_dir, ec.message()));
  }
  Stores s;
  ATOMCUT_ASSIGN_OR_RETURN(s.metadata, open_metadata_store(config.database_url));
  ATOMCUT_ASSIGN_OR_RETURN(s.blobs, open_blob_store(config.blob_url));
  return s;
}

Result<std::unique_ptr<App>> App::create(Config config) {
  ATOMCUT_TRY(config.finalize());
  std::unique_ptr<App> app(new App());
  app->config_ = config;
  ATOMCUT_ASSIGN_OR_RETURN(app->stores_, open_stores(app->config_));
  MediaServiceOptions media_options{app->config_.import_roots, app->config_.import_mode,
                                    app->config_.probe_timeout_ms};
  app->media_ =
      std::make_unique<MediaService>(*app->stores_.metadata, *app->stores_.blobs, media_options);
  app->keys_ = std::make_unique<ApiKeyService>(*app->stores_.metadata);
  app->timeline_ = std::make_unique<TimelineService>(*app->stores_.metadata);
  app->presets_ = std::make_unique<PresetService>(*app->stores_.metadata);
  app->render_ =
      std::make_unique<RenderService>(*app->media_, *app->timeline_,
                                      RenderServiceOptions{app->config_.render_timeout_s * 1000,
                                                           app->config_.render_max_concurrent});
  AudioServiceOptions audio_options;
  audio_options.ffmpeg_timeout_ms = app->config_.render_timeout_s * 1000;
  app->audio_ = std::make_unique<AudioService>(*app->media_, *app->timeline_, audio_options);
  const Config& c = app->config_;
  app->visual_meta_ = std::make_unique<VisualMetaService>(
      *app->media_, *app->timeline_,
      VisualMetaServiceOptions{c.video_visual_meta_backend, c.video_regions_min_confidence});
  app->regions_ = std::make_unique<RegionService>(
      *app->media_, *app->timeline_,
      RegionServiceOptions{c.video_region_backend, c.video_regions_min_confidence});
  app->captions_ = std::make_unique<CaptionService>(
      *app->media_, *app->timeline_, *app->audio_, CaptionServiceOptions{c.video_captions_backend});
  app->masks_ = std::make_unique<MaskService>(*app->media_);
  app->frames_ = std::make_unique<FrameGrabService>(*app->media_);
  app->server_ = std::make_unique<http::HttpServer>(app->config_, app->keys_.get());
  http::register_system_routes(*app->server_,
                               http::SystemInfo{kAtomcutVersion, libav_version_string(),
                                                app->config_.database_url, app->config_.blob_url});
  http::register_media_routes(*app->server_, *app->media_);
  http::register_timeline_routes(*app->server_, *app->timeline_);
  http::register_preset_routes(*app->server_, *app->presets_);
  http::register_render_routes(*app->server_, *app->render_);
  http::register_audio_routes(*app->server_, *app->media_, *app->audio_);
  http::register_visual_meta_routes(*app->server_, *app->visual_meta_);
  http::register_region_routes(*app->server_, *app->regions_);
  http::register_caption_routes(*app->server_, *app->captions_, *app->masks_);
  http::register_frame_routes(*app->server_, *app->frames_);
  http::register_video_backend_routes(*app->server_, *app->visual_meta_, *app->regions_,
                                      *app->captions_, *app->masks_);
  return app;
}

}  // namespace atomcut

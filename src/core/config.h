// Server configuration. Every setting has a flag (cli/) and an environment variable; a flag wins
// over the variable, the variable over the default. docs/configuration.md lists them all.
#pragma once

#include "core/error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace atomcut {

struct Config {
  std::string data_dir = "./atomcut-data";  // ATOMCUT_DATA_DIR
  std::string listen = "127.0.0.1:8080";    // ATOMCUT_LISTEN (host:port; port 0 = any free)
  std::string database_url;  // ATOMCUT_DATABASE_URL (default sqlite://<data_dir>/atomcut.db)
  std::string blob_url;      // ATOMCUT_BLOB_URL (default file://<data_dir>/blobs)
  std::vector<std::string> import_roots;   // ATOMCUT_IMPORT_ROOTS (':'-separated absolute dirs)
  std::string import_mode = "copy";        // ATOMCUT_IMPORT_MODE: copy | reference
  int http_threads = 64;                   // ATOMCUT_HTTP_THREADS (one per keep-alive connection)
  int worker_threads = 2;                  // ATOMCUT_WORKERS (background jobs)
  uint64_t max_upload_bytes = 8ull << 30;  // ATOMCUT_MAX_UPLOAD_BYTES (multipart bodies)
  uint64_t max_json_bytes = 4ull << 20;    // ATOMCUT_MAX_JSON_BYTES (JSON bodies)
  int read_timeout_s = 30;                 // ATOMCUT_READ_TIMEOUT_S
  int write_timeout_s = 30;                // ATOMCUT_WRITE_TIMEOUT_S
  int probe_timeout_ms = 15000;            // ATOMCUT_PROBE_TIMEOUT_MS
  int render_timeout_s = 7200;             // ATOMCUT_RENDER_TIMEOUT_S (one ffmpeg run)
  int render_max_concurrent = 2;           // ATOMCUT_RENDER_MAX_CONCURRENT (renders at once)
  // Video analysis backends (the spec's variable names; ATOMCUT_-prefixed forms are read too).
  std::string video_visual_meta_backend;      // VIDEO_VISUAL_META_BACKEND (empty: built-in default)
  std::string video_region_backend;           // VIDEO_REGION_BACKEND (empty: opencv_face_detector)
  double video_regions_min_confidence = 0.5;  // VIDEO_REGIONS_MIN_CONFIDENCE, 0..1
  std::string video_captions_backend;         // VIDEO_CAPTIONS_BACKEND (empty: pocketsphinx)
  bool no_auth = false;                       // ATOMCUT_NO_AUTH=1 (loopback listen only)
  std::string log_level = "info";             // ATOMCUT_LOG_LEVEL
  std::string access_log = "-";               // ATOMCUT_ACCESS_LOG: '-' stdout, 'off', or a file

  // Applies ATOMCUT_* environment variables over the current values.
  Status apply_environment();
  // Fills database_url / blob_url from data_dir when unset and checks every value.
  Status finalize();
  // host and port of `listen`.
  Result<std::pair<std::string, int>> listen_host_port() const;
};

// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(const std::string& host);

}  // namespace atomcut

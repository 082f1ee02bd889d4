#include "core/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

namespace atomcut {
namespace {

template <typename T>
Status parse_number(const char* name, const std::string& text, T& out, T min_value) {
  T v{};
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v < min_value) {
    return Error::invalid_argument(
        fmt::format("{}='{}' must be a whole number >= {}", name, text, min_value));
  }
  out = v;
  return {};
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

Status Config::apply_environment() {
  auto get = [](const char* name) -> const char* {
    const char* v = std::getenv(name);
    return (v && *v) ? v : nullptr;
  };
  if (auto v = get("ATOMCUT_DATA_DIR")) data_dir = v;
  if (auto v = get("ATOMCUT_LISTEN")) listen = v;
  if (auto v = get("ATOMCUT_DATABASE_URL")) database_url = v;
  if (auto v = get("ATOMCUT_BLOB_URL")) blob_url = v;
  if (auto v = get("ATOMCUT_IMPORT_ROOTS")) import_roots = split(v, ':');
  if (auto v = get("ATOMCUT_IMPORT_MODE")) import_mode = v;
  if (auto v = get("ATOMCUT_HTTP_THREADS"))
    ATOMCUT_TRY(parse_number("ATOMCUT_HTTP_THREADS", v, http_threads, 1));
  if (auto v = get("ATOMCUT_WORKERS"))
    ATOMCUT_TRY(parse_number("ATOMCUT_WORKERS", v, worker_threads, 1));
  if (auto v = get("ATOMCUT_MAX_UPLOAD_BYTES"))
    ATOMCUT_TRY(parse_number("ATOMCUT_MAX_UPLOAD_BYTES", v, max_upload_bytes, uint64_t{1}));
  if (auto v = get("ATOMCUT_MAX_JSON_BYTES"))
    ATOMCUT_TRY(parse_number("ATOMCUT_MAX_JSON_BYTES", v, max_json_bytes, uint64_t{1}));
  if (auto v = get("ATOMCUT_READ_TIMEOUT_S"))
    ATOMCUT_TRY(parse_number("ATOMCUT_READ_TIMEOUT_S", v, read_timeout_s, 1));
  if (auto v = get("ATOMCUT_WRITE_TIMEOUT_S"))
    ATOMCUT_TRY(parse_number("ATOMCUT_WRITE_TIMEOUT_S", v, write_timeout_s, 1));
  if (auto v = get("ATOMCUT_PROBE_TIMEOUT_MS"))
    ATOMCUT_TRY(parse_number("ATOMCUT_PROBE_TIMEOUT_MS", v, probe_timeout_ms, 100));
  if (auto v = get("ATOMCUT_RENDER_TIMEOUT_S"))
    ATOMCUT_TRY(parse_number("ATOMCUT_RENDER_TIMEOUT_S", v, render_timeout_s, 1));
  if (auto v = get("ATOMCUT_RENDER_MAX_CONCURRENT"))
    ATOMCUT_TRY(parse_number("ATOMCUT_RENDER_MAX_CONCURRENT", v, render_max_concurrent, 1));
  auto video = [&get](const char* name) -> const char* {
    if (auto v = get((std::string("ATOMCUT_") + name).c_str())) return v;
    return get(name);
  };
  if (auto v = video("VIDEO_VISUAL_META_BACKEND")) video_visual_meta_backend = v;
  if (auto v = video("VIDEO_REGION_BACKEND")) video_region_backend = v;
  if (auto v = video("VIDEO_CAPTIONS_BACKEND")) video_captions_backend = v;
  if (auto v = video("VIDEO_REGIONS_MIN_CONFIDENCE")) {
    char* end = nullptr;
    double d = std::strtod(v, &end);
    if (end == v || *end != '\0' || !(d >= 0 && d <= 1)) {
      return Error::invalid_argument(
          fmt::format("VIDEO_REGIONS_MIN_CONFIDENCE '{}' must be a number in [0, 1]", v));
    }
    video_regions_min_confidence = d;
  }
  if (auto v = get("ATOMCUT_NO_AUTH")) no_auth = std::string(v) == "1" || std::string(v) == "true";
  if (auto v = get("ATOMCUT_LOG_LEVEL")) log_level = v;
  if (auto v = get("ATOMCUT_ACCESS_LOG")) access_log = v;
  return {};
}

Result<std::pair<std::string, int>> Config::listen_host_port() const {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Error::invalid_argument(fmt::format("listen '{}' must be host:port", listen));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  int port = 0;
  ATOMCUT_TRY(parse_number("listen port", listen.substr(colon + 1), port, 0));
  if (port > 65535) return Error::invalid_argument("listen port must be 0..65535");
  return std::make_pair(host, port);
}

Status Config::finalize() {
  namespace fs = std::filesystem;
  if (data_dir.empty()) return Error::invalid_argument("data dir must not be empty");
  std::error_code ec;
  fs::path abs = fs::absolute(data_dir, ec);
  if (ec) return Error::invalid_argument(fmt::format("data dir '{}': {}", data_dir, ec.message()));
  data_dir = abs.lexically_normal().string();
  if (!data_dir.empty() && data_dir.size() > 1 && data_dir.back() == '/') data_dir.pop_back();
  if (database_url.empty()) database_url = "sqlite://" + data_dir + "/atomcut.db";
  if (blob_url.empty()) blob_url = "file://" + data_dir + "/blobs";
  for (auto& root : import_roots) {
    fs::path p(root);
    if (!p.is_absolute()) {
      return Error::invalid_argument(
          fmt::format("import root '{}' must be an absolute path", root));
    }
    fs::path canon = fs::weakly_canonical(p, ec);
    if (ec) return Error::invalid_argument(fmt::format("import root '{}': {}", root, ec.message()));
    root = canon.string();
  }
  if (import_mode != "copy" && import_mode != "reference") {
    return Error::invalid_argument(
        fmt::format("import mode '{}' must be copy or reference", import_mode));
  }
  ATOMCUT_ASSIGN_OR_RETURN(auto hp, listen_host_port());
  if (no_auth && !is_loopback_host(hp.first)) {
    return Error::failed_precondition(
        fmt::format("--no-auth is only allowed on a loopback listen address, not '{}'", hp.first));
  }
  return {};
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost") return true;
  // Only literal addresses: a name such as "127.example.com" may resolve anywhere.
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
  }
  return false;
}

}  // namespace atomcut

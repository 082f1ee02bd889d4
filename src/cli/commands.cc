#include "cli/commands.h"

#include "app/app.h"
#include "engines/media/libav_info.h"
#include "engines/media/media_probe.h"

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <fmt/format.h>

#include <pthread.h>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

namespace atomcut {
namespace {

int fail(const Error& e) {
  std::cerr << "atomcut: " << error_code_name(e.code) << ": " << e.message << "\n";
  if (!e.details.empty()) std::cerr << "  details: " << e.details.dump() << "\n";
  return e.code == ErrorCode::kInvalidArgument ? 2 : 1;
}

void add_store_options(CLI::App* cmd, Config& config) {
  cmd->add_option("--data-dir", config.data_dir,
                  "Data directory: SQLite database and blobs (env ATOMCUT_DATA_DIR)");
  cmd->add_option("--database-url", config.database_url,
                  "Metadata store URL, default sqlite://DATA_DIR/atomcut.db "
                  "(env ATOMCUT_DATABASE_URL)");
  cmd->add_option("--blob-url", config.blob_url,
                  "Blob store URL, default file://DATA_DIR/blobs (env ATOMCUT_BLOB_URL)");
}

int run_serve(Config config, const std::string& port_file) {
  // Signals are taken by a dedicated thread so that shutdown runs outside a signal handler.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  if (Status st = setup_logging(config); !st.ok()) return fail(st.error());
  auto app = App::create(std::move(config));
  if (!app.ok()) return fail(app.error());
  auto port = (*app)->server().bind();
  if (!port.ok()) return fail(port.error());
  const Config& c = (*app)->config();
  auto hp = c.listen_host_port();
  spdlog::info("atomcut {} listening on http://{}:{} (data dir {}, database {}, blobs {}, auth {})",
               kAtomcutVersion, hp->first, *port, c.data_dir, c.database_url, c.blob_url,
               c.no_auth ? "OFF" : "on");
  if (!c.no_auth) {
    auto keys = (*app)->keys().list(std::nullopt);
    if (keys.ok() && keys->empty()) {
      spdlog::warn(
          "no API keys exist yet; create one with: atomcut keys create --tenant t_example --env "
          "dev --data-dir {}  (or serve with --no-auth on loopback)",
          c.data_dir);
    }
  }
  if (!port_file.empty()) {
    std::ofstream(port_file + ".tmp") << *port << "\n";
    std::rename((port_file + ".tmp").c_str(), port_file.c_str());
  }
  std::thread signals([&app, set] {
    int sig = 0;
    sigwait(&set, &sig);
    spdlog::info("signal {} received, shutting down", sig);
    (*app)->render().cancel_all();  // running ffmpeg renders stop and clean up
    (*app)->server().stop();
  });
  (*app)->server().serve();
  // serve() returned: stop() was called (by the signal thread) or the listener failed.
  pthread_kill(signals.native_handle(), SIGTERM);
  signals.join();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App cli{"atomcut: a self-hostable engine for video and audio editing"};
  cli.require_subcommand(1);
  cli.set_version_flag("--version", std::string("atomcut ") + kAtomcutVersion);

  Config config;
  if (Status st = config.apply_environment(); !st.ok()) return fail(st.error());

  // serve
  std::string port_file;
  auto* serve =
      cli.add_subcommand("serve", "Run the HTTP server (embedded default: SQLite + local files)");
  serve->add_option("--listen", config.listen,
                    "host:port to listen on, default 127.0.0.1:8080; port 0 picks a free port "
                    "(env ATOMCUT_LISTEN)");
  add_store_options(serve, config);
  serve->add_option("--import-root", config.import_roots,
                    "Directory whose files may be registered by file:// URI; repeatable "
                    "(env ATOMCUT_IMPORT_ROOTS, ':'-separated)");
  serve
      ->add_option("--import-mode", config.import_mode,
                   "copy (default): imported files are copied into the blob store; reference: "
                   "kept in place (env ATOMCUT_IMPORT_MODE)")
      ->check(CLI::IsMember({"copy", "reference"}));
  serve
      ->add_option("--http-threads", config.http_threads,
                   "HTTP worker threads; each keep-alive connection holds one (env "
                   "ATOMCUT_HTTP_THREADS, default 64)")
      ->check(CLI::Range(1, 4096));
  serve
      ->add_option("--workers", config.worker_threads,
                   "Background job workers (env ATOMCUT_WORKERS, default 2)")
      ->check(CLI::Range(1, 256));
  serve->add_option("--max-upload-bytes", config.max_upload_bytes,
                    "Largest request body, uploads included (env ATOMCUT_MAX_UPLOAD_BYTES, "
                    "default 8 GiB)");
  serve->add_option("--max-json-bytes", config.max_json_bytes,
                    "Largest JSON body (env ATOMCUT_MAX_JSON_BYTES, default 4 MiB)");
  serve->add_option("--read-timeout", config.read_timeout_s,
                    "Socket read timeout in seconds (env ATOMCUT_READ_TIMEOUT_S, default 30)");
  serve->add_option("--write-timeout", config.write_timeout_s,
                    "Socket write timeout in seconds (env ATOMCUT_WRITE_TIMEOUT_S, default 30)");
  serve->add_option("--probe-timeout-ms", config.probe_timeout_ms,
                    "Longest a media probe may take (env ATOMCUT_PROBE_TIMEOUT_MS, default 15000)");
  serve->add_option("--render-timeout", config.render_timeout_s,
                    "Longest one render's ffmpeg run may take, in seconds (env "
                    "ATOMCUT_RENDER_TIMEOUT_S, default 7200)");
  serve->add_option("--render-max-concurrent", config.render_max_concurrent,
                    "Renders that may run at once; more are refused with 429 (env "
                    "ATOMCUT_RENDER_MAX_CONCURRENT, default 2)");
  serve->add_flag("--no-auth", config.no_auth,
                  "Turn API-key checking off (local work only: refused unless --listen is "
                  "loopback; env ATOMCUT_NO_AUTH=1)");
  serve->add_option("--log-level", config.log_level,
                    "trace|debug|info|warn|error|critical|off (env ATOMCUT_LOG_LEVEL)");
  serve->add_option("--access-log", config.access_log,
                    "One JSON line per request: '-' stdout (default), 'off', or a file path "
                    "(env ATOMCUT_ACCESS_LOG)");
  serve->add_option("--port-file", port_file,
                    "Write the bound port to this file once listening (useful with port 0)");

  // probe
  std::string probe_file;
  int probe_timeout = config.probe_timeout_ms;
  auto* probe = cli.add_subcommand("probe", "Probe a media file in-process and print JSON");
  probe->add_option("FILE", probe_file, "Media file")->required();
  probe->add_option("--timeout-ms", probe_timeout, "Probe time limit in milliseconds");

  // keys
  auto* keys = cli.add_subcommand("keys", "Manage API keys (works while the server runs)");
  keys->require_subcommand(1);
  std::string key_tenant, key_env, key_label, key_id;
  bool key_json = false;
  auto* kcreate = keys->add_subcommand(
      "create", "Create an API key bound to one tenant and env; prints the key as the last word");
  kcreate->add_option("--tenant", key_tenant, "Tenant id (t_...)")->required();
  kcreate->add_option("--env", key_env, "dev|stage|prod")->required();
  kcreate->add_option("--label", key_label, "Free-text label");
  add_store_options(kcreate, config);
  auto* klist = keys->add_subcommand("list", "List API keys (never their secrets)");
  klist->add_option("--tenant", key_tenant, "Only this tenant (needs --env)");
  klist->add_option("--env", key_env, "Only this env (needs --tenant)");
  klist->add_flag("--json", key_json, "Print JSON");
  add_store_options(klist, config);
  auto* krevoke = keys->add_subcommand("revoke", "Revoke an API key by id (key_...)");
  krevoke->add_option("KEY_ID", key_id, "Key id")->required();
  add_store_options(krevoke, config);

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }

  if (serve->parsed()) return run_serve(config, port_file);

  if (probe->parsed()) {
    auto result = probe_media(probe_file, ProbeOptions{probe_timeout});
    if (!result.ok()) return fail(result.error());
    std::cout << to_json(result.value()).dump(2) << "\n";
    return 0;
  }

  // keys: open only the stores.
  if (Status st = config.finalize(); !st.ok()) return fail(st.error());
  auto stores = open_stores(config);
  if (!stores.ok()) return fail(stores.error());
  ApiKeyService service(*stores->metadata);
  if (kcreate->parsed()) {
    auto created = service.create(Scope{key_tenant, key_env}, key_label);
    if (!created.ok()) return fail(created.error());
    std::cout << "created API key " << created->key.id << " for tenant " << key_tenant << " env "
              << key_env << " (store it now; it is not shown again):\n"
              << created->secret << "\n";
    return 0;
  }
  if (klist->parsed()) {
    std::optional<Scope> scope;
    if (!key_tenant.empty() || !key_env.empty()) {
      if (key_tenant.empty() || key_env.empty()) {
        return fail(Error::invalid_argument("--tenant and --env go together"));
      }
      scope = Scope{key_tenant, key_env};
    }
    auto list = service.list(scope);
    if (!list.ok()) return fail(list.error());
    if (key_json) {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& k : *list) arr.push_back(to_json(k));
      std::cout << arr.dump(2) << "\n";
    } else {
      for (const auto& k : *list) {
        std::cout << fmt::format("{}  {}  {}  {}...  {}  {}\n", k.id, k.tenant_id, k.env,
                                 k.key_prefix, k.revoked_at_ms ? "revoked" : "active", k.label);
      }
    }
    return 0;
  }
  if (krevoke->parsed()) {
    if (Status st = service.revoke(key_id); !st.ok()) return fail(st.error());
    std::cout << "revoked " << key_id << "\n";
    return 0;
  }
  return 0;
}

}  // namespace atomcut

// stekd: the stek key server. Reads its TOML configuration, opens the sealed store, and
// serves agents and admins until SIGINT or SIGTERM. See docs/operating.md.
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include "stek/clock.h"
#include "stek/hardening.h"
#include "stek/seal.h"

#include "config.h"
#include "file_store.h"
#include "key_server.h"
#include "key_service.h"

int main(int argc, char** argv) {
  CLI::App app{
      "stekd: the stek key server. Makes session ticket keys for every domain of a fleet,\n"
      "stores them sealed, and hands each authenticated stek-agent its own domain's ring.\n"
      "Configuration: docs/configuration.md; operation: docs/operating.md."};
  std::string config_path;
  bool check_only = false;
  std::string log_level = "info";
  app.add_option("--config,-c", config_path, "TOML configuration file")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_flag("--check-config", check_only,
               "Validate the configuration, the KEK and the state file, then exit");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  bool allow_core_dumps = false;
  app.add_flag("--allow-core-dumps", allow_core_dumps,
               "Debugging only: leave core dumps enabled (also STEK_ALLOW_CORE_DUMPS=1); a core "
               "may then hold key material. Logged as a warning");
  app.set_version_flag("--version", "stekd 0.1.0");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help/--version: 0; usage errors: 2
  }
  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ stekd %l: %v", spdlog::pattern_time_type::utc);
  // Before any secret is read: no core dumps, secrets in locked memory (docs/operating.md).
  const auto hardening = stek::harden_process(
      {.allow_core_dumps = allow_core_dumps || stek::core_dumps_allowed_by_env()});
  for (const std::string& w : hardening.warnings) spdlog::warn("{}", w);

  auto config = stek::server::load_server_config(config_path);
  if (!config.ok()) {
    spdlog::critical("configuration: {}", config.error().message);
    return 2;
  }
  auto kek = stek::load_kek(config->kek_file);
  if (!kek.ok()) {
    spdlog::critical("KEK: {}", kek.error().message);
    return 1;
  }
  auto schedule = stek::Schedule::make(config->schedule);
  if (!schedule.ok()) {
    spdlog::critical("schedule: {}", schedule.error().message);
    return 2;
  }
  stek::SystemClock clock;
  stek::SystemRandom random;
  std::unique_ptr<stek::server::AuditSink> audit;
  if (config->audit_path.empty()) {
    audit = std::make_unique<stek::server::MemoryAuditLog>();
  } else {
    auto file = stek::server::FileAuditLog::open(config->audit_path, clock);
    if (!file.ok()) {
      spdlog::critical("{}", file.error().message);
      return 1;
    }
    audit = std::move(file).value();
  }
  stek::server::FileStore store(config->store_path, std::move(kek).value(), random);
  if (check_only) {
    auto state = store.load();
    if (!state.ok()) {
      spdlog::critical("{}", state.error().message);
      return 1;
    }
    spdlog::info("configuration, KEK and state file are valid (generation {}, {} epoch secrets)",
                 state->generation, state->epoch_secrets.size());
    return 0;
  }
  stek::server::KeyService keys(*schedule, config->domains, store, random, *audit,
                                config->max_clock_step);
  if (auto started = keys.start(clock.now(), clock.elapsed_ms()); !started.ok()) {
    spdlog::critical("{}", started.error().message);
    return 1;
  }
  boost::asio::io_context io;
  stek::server::KeyServer server(io, *config, keys, clock, *audit);
  if (auto ok = server.start(); !ok.ok()) {
    spdlog::critical("{}", ok.error().message);
    return 1;
  }
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: stopping", sig);
    server.stop();
  });
  spdlog::info("stekd ready: {} domains, interval {} s, history {}, lookahead {}",
               config->domains.size(), schedule->interval(), schedule->history(),
               schedule->lookahead());
  io.run();
  spdlog::info("stopped");
  return 0;
}

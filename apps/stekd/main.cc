// stekd: the stek key server. Reads its TOML configuration, opens the sealed store, and
// serves agents and admins until SIGINT or SIGTERM; SIGHUP reopens the log and audit files
// (logrotate) and re-reads the client CA, CRLs and deny-list. See docs/operating.md.
#include <csignal>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "stek/clock.h"
#include "stek/hardening.h"
#include "stek/seal.h"

#include "audit.h"
#include "config.h"
#include "config_check.h"
#include "dev.h"
#include "etcd_replica.h"
#include "etcd_setup.h"
#include "file_store.h"
#include "key_server.h"
#include "key_service.h"
#include "log_format.h"
#include "notify.h"
#include "schedule_change.h"

namespace {

// The process log (src/log): standard output, or (the end of) --log-file. Called again on
// SIGHUP, it opens the file by name anew, so a log moved away by logrotate is let go.
bool open_log(const stek::log::LogOptions& options) {
  if (auto opened = stek::log::use_log(options); !opened.ok()) {
    spdlog::error("{}", opened.error().message);
    return false;
  }
  return true;
}

// SIGHUP: reopen the log and audit files; again for every later SIGHUP.
void on_hangup(boost::asio::signal_set& hup, const stek::log::LogOptions& logging,
               stek::server::AuditSink& audit, stek::server::KeyServer& server) {
  hup.async_wait([&hup, &logging, &audit, &server](const boost::system::error_code& ec, int) {
    if (ec) return;
    if (!logging.file.empty()) open_log(logging);
    if (auto reopened = audit.reopen(); !reopened.ok()) {
      spdlog::error("{}", reopened.error().message);
    } else {
      spdlog::info("SIGHUP: log and audit files reopened");
      (void)audit.record("files_reopened", {{"signal", "SIGHUP"}});
    }
    // The client CA, CRLs and deny-list, read again.
    server.reload();
    on_hangup(hup, logging, audit, server);
  });
}

// The configured store: the sealed state file and the deny-list file beside it, or a prefix in
// etcd holding both (docs/etcd.md).
struct OpenedStore {
  std::unique_ptr<stek::server::FileStore> file;           // null on etcd
  std::unique_ptr<stek::server::FileDenyStore> file_deny;  // null on etcd
  stek::server::EtcdParts etcd;                            // empty with the file store
  stek::server::Store& store() const {
    return file ? static_cast<stek::server::Store&>(*file) : *etcd.store;
  }
  stek::server::DenyStore& deny() const {
    return file_deny ? static_cast<stek::server::DenyStore&>(*file_deny) : *etcd.deny;
  }
};

stek::Result<OpenedStore> open_store(const stek::server::ServerConfig& config, stek::Kek kek,
                                     stek::Random& random, bool init) {
  OpenedStore opened;
  if (config.store_backend == "etcd") {
    STEK_ASSIGN_OR_RETURN(opened.etcd,
                          stek::server::open_etcd(config, std::move(kek), random, init));
  } else {
    opened.file = std::make_unique<stek::server::FileStore>(
        config.store_path, std::move(kek), random,
        stek::server::FileStoreOptions{.generation_file = config.generation_file, .init = init});
    opened.file_deny = std::make_unique<stek::server::FileDenyStore>(
        stek::server::DenyList::beside(config.store_path));
  }
  return opened;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "stekd: the stek key server. Makes session ticket keys for every domain of a fleet,\n"
      "stores them sealed, and hands each authenticated stek-agent its own domain's ring.\n"
      "Configuration: docs/configuration.md; operation: docs/operating.md."};
  std::string config_path;
  bool check_only = false;
  bool init = false;
  std::string log_level = "info";
  std::string log_file;
  auto* config_option = app.add_option("--config,-c", config_path, "TOML configuration file")
                            ->check(CLI::ExistingFile);
  bool dev = false;
  std::string dev_dir;
  std::uint16_t dev_port = 8443;
  auto* dev_flag =
      app.add_flag("--dev", dev,
                   "DEVELOPMENT ONLY: no files needed. Makes a development PKI, KEK, configuration "
                   "(interval 60 s, domain \"dev\") and state in a temporary directory, serves on "
                   "127.0.0.1 and prints how to attach stek-agent, nginx and stekctl");
  config_option->excludes(dev_flag);
  app.add_option("--dev-dir", dev_dir,
                 "With --dev: the directory for its files (default: a new one on /dev/shm or "
                 "in the temporary directory)")
      ->needs(dev_flag);
  app.add_option("--dev-port", dev_port, "With --dev: the API port on 127.0.0.1 (0: any free port)")
      ->capture_default_str()
      ->needs(dev_flag);
  app.add_flag("--check-config", check_only,
               "Validate the configuration, the KEK, the state file (and that its keys were made "
               "under the configured interval), every TLS file (certificate, "
               "key, client CA, CRLs), the deny-list and the directories stekd writes in, then "
               "exit: 0 if all is well, 1 (or 2 for the configuration itself) if not. Binds "
               "nothing and writes nothing, not even --log-file");
  app.add_flag("--init", init,
               "Make a new state file: needed on the first start, refused when one exists. "
               "A missing state file is otherwise an error (docs/operating.md)");
  app.add_option("--log-level", log_level, "Least severe level that is logged")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.add_option("--log-file", log_file,
                 "Append the log to this file instead of standard output; reopened on SIGHUP");
  std::string log_format = "text";
  app.add_option("--log-format", log_format,
                 "Log lines as text (\"<RFC 3339 UTC time> stekd <level>: <message>\") or as one "
                 "JSON object per line (time, level, program, message)")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
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
  if (config_path.empty() && !dev) {
    std::cerr << "stekd: --config is required (or --dev for a development server)\n";
    return 2;
  }
  std::optional<stek::dev::DevSetup> dev_setup;
  if (dev) {
    auto setup = stek::dev::make_dev_setup(dev_dir, dev_port);
    if (!setup.ok()) {
      std::cerr << "stekd --dev: " << setup.error().message << "\n";
      return 1;
    }
    dev_setup = std::move(setup).value();
    config_path = dev_setup->config.string();
    init = true;
  }
  spdlog::set_level(spdlog::level::from_str(log_level));
  const stek::log::LogOptions logging{.program = "stekd",
                                      .format = *stek::log::parse_log_format(log_format),
                                      .file = check_only ? "" : log_file,
                                      .to_stderr = false};
  // --check-config writes nothing: its log goes to standard output, and the log file's directory
  // is only checked.
  if (!open_log(logging)) return 1;
  // Before any secret is read: no core dumps, secrets in locked memory (docs/operating.md).
  const auto hardening = stek::harden_process(
      {.allow_core_dumps = allow_core_dumps || stek::core_dumps_allowed_by_env()});
  for (const std::string& w : hardening.warnings) spdlog::warn("{}", w);
  // OpenSSL writes to the agents' sockets itself (src/server/tls_socket.h): a write to a socket
  // its peer has reset must fail with EPIPE, not end stekd and every agent's long poll.
  ::signal(SIGPIPE, SIG_IGN);

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
  if (check_only) {
    // Before the audit log is opened (which would create it): nothing is written.
    auto opened = open_store(*config, std::move(kek).value(), random, init);
    if (!opened.ok()) {
      spdlog::critical("{}", opened.error().message);
      return 1;
    }
    stek::server::Store& checked = opened->store();
    auto state = checked.load();
    if (!state.ok()) spdlog::critical("{}", state.error().message);
    // The same refusal a start would meet: keys made under another interval.
    stek::Status interval =
        state.ok() ? stek::server::check_interval(*state, schedule->params(), checked.describe())
                   : stek::Status{};
    if (!interval.ok()) spdlog::critical("schedule: {}", interval.error().message);
    // The deny-list file is one of the files checked below; on etcd, the record is read here.
    bool denied_ok = true;
    if (opened->etcd.deny) {
      if (auto denied = opened->etcd.deny->load(); !denied.ok()) {
        spdlog::critical("deny-list: {}", denied.error().message);
        denied_ok = false;
      }
    }
    const auto problems = stek::server::check_server_files(*config, log_file);
    for (const auto& p : problems) spdlog::critical("{}", p.message);
    if (!state.ok() || !interval.ok() || !denied_ok || !problems.empty()) return 1;
    spdlog::info(
        "configuration, KEK, state ({}: generation {}, {} epoch secrets), TLS files ({} CRL "
        "files) and directories are valid",
        checked.describe(), state->generation, state->epoch_secrets.size(), config->tls_crl.size());
    return 0;
  }
  std::unique_ptr<stek::server::AuditSink> audit;
  if (config->audit_path.empty()) {
    audit = std::make_unique<stek::server::LogAuditLog>(clock);
  } else {
    auto file = stek::server::FileAuditLog::open(config->audit_path, clock);
    if (!file.ok()) {
      spdlog::critical("{}", file.error().message);
      return 1;
    }
    audit = std::move(file).value();
  }
  auto opened = open_store(*config, std::move(kek).value(), random, init);
  if (!opened.ok()) {
    spdlog::critical("{}", opened.error().message);
    return 1;
  }
  auto& [file_store, file_deny, etcd] = *opened;
  if (file_store) {
    // Temp files of commits a kill -9 cut short hold secrets erased since: erase them first.
    if (auto removed = file_store->remove_leftovers(); !removed.ok()) {
      spdlog::critical("{}", removed.error().message);
      return 1;
    } else if (*removed > 0) {
      spdlog::warn("erased {} temporary state files left by an interrupted write", *removed);
    }
  }
  stek::server::Store& store = opened->store();
  // Fail closed from the start: a stekd whose audit cannot be written does not serve.
  const auto& params = schedule->params();
  if (auto loaded = audit->record("config_loaded", {{"config", config_path},
                                                    {"pid", ::getpid()},
                                                    {"domains", config->domains},
                                                    {"per_host", config->per_host_domains},
                                                    {"interval", params.interval},
                                                    {"history", params.history},
                                                    {"lookahead", params.lookahead}});
      !loaded.ok()) {
    spdlog::critical("{}", loaded.error().message);
    return 1;
  }
  if (etcd.store) {
    // A deny-list file from single-box days is merged into the shared list, never forgotten.
    const auto old_file = stek::server::DenyList::beside(config->store_path);
    auto merged = stek::server::merge_deny_file(old_file, *etcd.deny, *audit);
    if (!merged.ok()) {
      spdlog::critical("deny-list file {}: {}", old_file.string(), merged.error().message);
      return 1;
    }
    if (!merged->empty()) {
      spdlog::warn("merged {} hosts of {} into the deny-list in {} (the file is now {}.merged)",
                   merged->size(), old_file.string(), etcd.deny->describe(), old_file.string());
    }
  }
  stek::server::KeyService keys(*schedule, config->domains, store, random, *audit,
                                config->max_clock_step);
  keys.set_per_host(config->per_host_domains);
  boost::asio::io_context io;
  stek::server::KeyServer server(io, *config, keys, opened->deny(), clock, *audit);
  // Replicas on etcd: only the leader makes and erases secrets; every replica reloads what
  // any of them commits (docs/etcd.md).
  std::unique_ptr<stek::server::EtcdReplica> replica;
  if (etcd.store) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    replica = std::make_unique<stek::server::EtcdReplica>(
        io, *etcd.replica_transport, random,
        stek::server::EtcdReplicaOptions{.prefix = config->etcd_prefix,
                                         .id = std::string(host) + "/" + std::to_string(::getpid()),
                                         .lease_ttl = config->etcd_lease_ttl,
                                         .poll = std::chrono::milliseconds(config->etcd_poll_ms)},
        stek::server::EtcdReplicaActions{
            .reload = [&server] { server.reload_state(); },
            .maintain = [&server] { server.maintain_now(); },
            .reload_denied = [&server] { return server.reload_denied(); }});
    server.set_replica_hooks({.leads = [&replica] { return replica->leads(); },
                              .role = [&replica] { return replica->role(); },
                              .problem = [&replica] { return replica->problem(); }});
  }
  // A replica starts as a follower: it loads what is stored and makes nothing until it leads.
  stek::Status loaded;
  if (replica) {
    if (auto refreshed = keys.refresh(clock.now(), clock.elapsed_ms(), true); !refreshed.ok())
      loaded = refreshed.error();
  } else {
    loaded = keys.start(clock.now(), clock.elapsed_ms());
  }
  if (!loaded.ok()) {
    spdlog::critical("{}", loaded.error().message);
    return 1;
  }
  boost::asio::signal_set hangup(io, SIGHUP);
  on_hangup(hangup, logging, *audit, server);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: stopping", sig);
    stek::service::notify_stopping();
    (void)audit->record("stekd_stopping", {{"signal", sig}});
    hangup.cancel();
    if (replica) replica->stop();
    server.stop();
  });
  // Only now the port opens: a SIGHUP (a reload) from the moment anyone can see stekd up finds
  // its handler in place instead of the default action, which ends the process.
  if (auto ok = server.start(); !ok.ok()) {
    spdlog::critical("{}", ok.error().message);
    return 1;
  }
  if (dev_setup) {
    auto banner = stek::dev::attach_instructions(*dev_setup, server.port(), server.metrics_port());
    if (!banner.ok()) {
      spdlog::critical("{}", banner.error().message);
      return 1;
    }
    std::cout << *banner << std::flush;
    spdlog::warn("DEVELOPMENT MODE: not for production; files in {}", dev_setup->dir.string());
  }
  spdlog::info("stekd ready: {} domains, interval {} s, history {}, lookahead {}",
               config->domains.size(), schedule->interval(), schedule->history(),
               schedule->lookahead());
  if (auto started = audit->record(
          "stekd_started",
          {{"pid", ::getpid()}, {"port", server.port()}, {"metrics_port", server.metrics_port()}});
      !started.ok()) {
    spdlog::critical("{}", started.error().message);
    return 1;
  }
  if (replica) replica->start();
  // Bound and listening: systemd (Type=notify) may start what is ordered after stekd.
  stek::service::notify_ready("serving " + std::to_string(config->domains.size()) +
                              " domains on port " + std::to_string(server.port()));
  io.run();
  if (replica) replica->stop();
  (void)audit->record("stekd_stopped", {{"pid", ::getpid()}});
  if (dev_setup && dev_dir.empty()) {
    // --dev's own temporary directory goes with it: secrets, CA key, state.
    std::error_code ec;
    std::filesystem::remove_all(dev_setup->dir, ec);
  }
  spdlog::info("stopped");
  return 0;
}

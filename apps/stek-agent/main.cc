// stek-agent: keeps one TLS host's session ticket keys fresh and feeds its servers.
// Flags and logging are set up here; the work is in src/agent.
#include <iostream>

#include <CLI/CLI.hpp>
#include <signal.h>
#include <spdlog/spdlog.h>

#include "stek/hardening.h"

#include "agent.h"
#include "config.h"
#include "log_format.h"

int main(int argc, char** argv) {
  CLI::App app{
      "stek-agent: keeps this host's TLS session ticket keys fresh by long-polling stekd,\n"
      "rotates them at every epoch boundary (also while stekd is unreachable), and feeds\n"
      "each configured sink (nginx, HAProxy, Apache, Traffic Server, h2o, any command, stek's\n"
      "json ring file). It measures this host's clock skew against stekd at every answer:\n"
      "a warning beyond a quarter of the interval, /healthz 503 beyond half of it.\n"
      "Each sink's status (last applied ring version, last success, last error) is in\n"
      "/metrics; /healthz is 503 naming the sink while its last apply failed. A missing or\n"
      "stale pid_file (reload = \"signal\") is a warning in the log, /metrics and /healthz.\n"
      "SIGHUP re-reads --config: sinks are added, removed or rebuilt (the held ring is\n"
      "applied to new ones) and log_level changes; if the file does not parse or a sink\n"
      "cannot be built, the running configuration stays (the log says why). Other keys\n"
      "(servers, domain, tls, directories, timeouts, metrics_listen) need a restart; the\n"
      "log says so. Every SIGHUP also re-applies every sink and reloads its server.\n"
      "See docs/stek-agent.md."};
  app.set_version_flag("--version", "stek-agent 0.1.0");
  std::string config_path;
  bool check_only = false;
  std::string ring_file;
  std::string log_level;
  app.add_option("--config,-c", config_path, "TOML configuration file")->required();
  app.add_flag("--check-config", check_only,
               "Check the configuration (certificates, domain, tmpfs directories, sinks), print "
               "what the agent would do and the start-up's pid_file warnings (missing or "
               "stale), and exit: 0 if usable, 1 if not");
  app.add_option("--ring-file", ring_file,
                 "Testing/offline source: read this stek ring file (re-read every second; a newer "
                 "version replaces the held ring) instead of polling stekd; servers and tls are "
                 "then not used");
  app.add_option("--log-level", log_level, "Overrides log_level from the configuration");
  std::string log_format = "text";
  app.add_option("--log-format", log_format,
                 "Log lines (on stderr) as text (\"<RFC 3339 UTC time> stek-agent <level>: "
                 "<message>\") or as one JSON object per line (time, level, program, message)")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  bool allow_core_dumps = false;
  app.add_flag("--allow-core-dumps", allow_core_dumps,
               "Debugging only: leave core dumps enabled (also STEK_ALLOW_CORE_DUMPS=1); a core "
               "may then hold key material. Logged as a warning");
  app.footer(stek::agent::config_reference_text());
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help/--version: 0; usage errors: 2
  }

  // stderr only (journald under systemd): the agent has no log file to reopen.
  if (auto logging = stek::log::use_log({.program = "stek-agent",
                                         .format = *stek::log::parse_log_format(log_format),
                                         .file = "",
                                         .to_stderr = true});
      !logging.ok()) {
    std::cerr << "stek-agent: " << logging.error().message << "\n";
    return 1;
  }
  // Before any key is read: no core dumps, keys in locked memory (docs/operating.md).
  const auto hardening = stek::harden_process(
      {.allow_core_dumps = allow_core_dumps || stek::core_dumps_allowed_by_env()});
  for (const std::string& w : hardening.warnings) spdlog::warn("{}", w);

  auto config = stek::agent::load_config(config_path);
  if (!config.ok()) {
    std::cerr << "stek-agent: " << config.error().message << "\n";
    return 1;
  }
  spdlog::set_level(spdlog::level::from_str(log_level.empty() ? config->log_level : log_level));
  ::signal(SIGPIPE, SIG_IGN);

  stek::agent::AgentOptions options{std::move(config).value(), std::nullopt, config_path,
                                    !log_level.empty()};
  if (!ring_file.empty()) options.ring_file = ring_file;
  stek::SystemClock clock;
  stek::SystemRandom random;
  auto agent = stek::agent::Agent::create(std::move(options), clock, random);
  if (!agent.ok()) {
    std::cerr << "stek-agent: " << agent.error().message << "\n";
    return 1;
  }
  if (check_only) {
    std::cout << (*agent)->describe() << "configuration OK\n";
    return 0;
  }
  return (*agent)->run();
}

// Agent: keeps this host's key ring fresh and every sink fed. One thread, one io_context:
// the long-poll to stekd, the epoch-boundary timer, the metrics listener and signals all
// run on it, so rotation happens on time even while a long-poll is in flight.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "stek/clock.h"
#include "stek/random.h"

#include "config.h"
#include "metrics.h"

namespace stek::agent {

struct AgentOptions {
  AgentConfig config;
  // Testing and offline source: read this ring file (re-read every second) instead of
  // polling stekd. The file must hold the configured domain's ring, like stekd's answer.
  std::optional<std::filesystem::path> ring_file;
  // The file `config` was read from: SIGHUP re-reads it (empty: SIGHUP only re-applies).
  std::filesystem::path config_path;
  // log_level was set on the command line: a re-read configuration does not change it.
  bool log_level_fixed = false;
};

class Agent {
 public:
  // Checks everything that can be checked before running: the domain (from the config or
  // the client certificate), the certificate and key, tmpfs directories, sinks, the
  // metrics address. Errors say what to change.
  static Result<std::unique_ptr<Agent>> create(AgentOptions options, const Clock& clock,
                                               Random& random);
  ~Agent();

  const std::string& domain() const;
  // What create() found, in a few lines, for --check-config.
  std::string describe() const;

  // Runs until SIGTERM or SIGINT; returns the process exit code. SIGHUP re-reads the
  // configuration file (sinks and log_level; see config_reload.h), keeping the running one
  // when the new one does not parse or a sink cannot be built, then re-applies every sink.
  int run();

  const Metrics& metrics() const;

 private:
  struct Impl;
  explicit Agent(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace stek::agent

// Telling a TLS server to re-read its key files: a signal to the pid in a pid file, or a
// command such as `nginx -s reload`.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stek/result.h"

namespace stek::agent {

class Reloader {
 public:
  virtual ~Reloader() = default;
  // Asks the server to reload. True when it was asked; false when it is not running (it
  // will read the current files when it starts).
  virtual Result<bool> reload() = 0;
};

// Sends `signal` (SIGHUP for nginx) to the pid written in pid_file.
class SignalReloader final : public Reloader {
 public:
  SignalReloader(std::filesystem::path pid_file, int signal);
  Result<bool> reload() override;

 private:
  std::filesystem::path pid_file_;
  int signal_;
};

// Runs argv (no shell; argv[0] looked up in PATH) and waits for it, at most `timeout`;
// success is exit status 0.
class CommandReloader final : public Reloader {
 public:
  CommandReloader(std::vector<std::string> argv, std::chrono::milliseconds timeout);
  Result<bool> reload() override;

 private:
  std::vector<std::string> argv_;
  std::chrono::milliseconds timeout_;
};

// A reload the server is owed: after its files changed, or when forced. A reload that fails
// stays owed, so the next apply asks again; without a reloader (someone else reloads) nothing
// is ever asked.
class OwedReload {
 public:
  explicit OwedReload(std::unique_ptr<Reloader> reloader) : reloader_(std::move(reloader)) {}
  void owe() { owed_ = true; }
  // The server confirmed the change some other way (HAProxy's runtime API): nothing is owed.
  void forgive() { owed_ = false; }
  bool can_reload() const { return reloader_ != nullptr; }
  // Reloads when `changed` or when a reload is owed. True when the server was asked; an
  // error leaves the reload owed.
  Result<bool> settle(bool changed);

 private:
  std::unique_ptr<Reloader> reloader_;
  bool owed_ = false;
};

// What is wrong with a pid file that a SignalReloader would signal: missing, not a process
// id, or naming no running process (a stale file). Nothing when a signal would reach a
// process. A reload then does nothing, which is only right while the server is stopped.
std::optional<std::string> pid_file_problem(const std::filesystem::path& pid_file);

// Runs argv as CommandReloader does; exposed for tests.
Status run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

}  // namespace stek::agent

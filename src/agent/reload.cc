// Reloading servers by signal or command.
#include "reload.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stek/file.h"

extern char** environ;

namespace stek::agent {

SignalReloader::SignalReloader(std::filesystem::path pid_file, int signal)
    : pid_file_(std::move(pid_file)), signal_(signal) {}

namespace {

// The process id in a pid file; nullopt when the file does not exist.
Result<std::optional<pid_t>> read_pid_file(const std::filesystem::path& pid_file) {
  std::error_code ec;
  if (!std::filesystem::exists(pid_file, ec)) return std::optional<pid_t>();
  auto bytes = read_file(pid_file, 64);
  if (!bytes.ok()) return bytes.error();
  std::string_view text(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  long pid = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), pid);
  if (err != std::errc() || end != text.data() + text.size() || pid <= 1 || pid > 4194304) {
    return make_error(Errc::bad_format, pid_file.string() + ": does not hold a process id");
  }
  return std::optional<pid_t>(static_cast<pid_t>(pid));
}

}  // namespace

Result<bool> SignalReloader::reload() {
  STEK_ASSIGN_OR_RETURN(std::optional<pid_t> pid, read_pid_file(pid_file_));
  if (!pid) return false;
  if (::kill(*pid, signal_) != 0) {
    if (errno == ESRCH) return false;  // a stale pid file: the server is not running
    return make_error(Errc::io, "cannot signal process " + std::to_string(*pid) + " from " +
                                    pid_file_.string() + ": " + std::strerror(errno));
  }
  return true;
}

std::optional<std::string> pid_file_problem(const std::filesystem::path& pid_file) {
  auto pid = read_pid_file(pid_file);
  if (!pid.ok()) return "pid_file " + pid.error().message;
  if (!*pid) return "pid_file " + pid_file.string() + " does not exist";
  // Signal 0 only asks whether the process exists; EPERM means it does (another user's).
  if (::kill(**pid, 0) != 0 && errno == ESRCH) {
    return "pid_file " + pid_file.string() + " names process " + std::to_string(**pid) +
           ", which is not running (a stale file)";
  }
  return std::nullopt;
}

CommandReloader::CommandReloader(std::vector<std::string> argv, std::chrono::milliseconds timeout)
    : argv_(std::move(argv)), timeout_(timeout) {}

Result<bool> CommandReloader::reload() {
  STEK_TRY(run_command(argv_, timeout_));
  return true;
}

Status run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  if (argv.empty()) return make_error(Errc::invalid_argument, "empty command");
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  // The agent's sockets (stekd connections, the metrics listener) stay with the agent.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return make_error(Errc::io, "cannot run " + argv[0] + ": " + std::strerror(rc));
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) {
      return make_error(Errc::io, "waiting for " + argv[0] + ": " + std::strerror(errno));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return make_error(Errc::io, argv[0] + " did not finish within " +
                                      std::to_string(timeout.count()) + " ms and was killed");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  if (WIFEXITED(status)) {
    return make_error(Errc::io,
                      argv[0] + " exited with status " + std::to_string(WEXITSTATUS(status)));
  }
  return make_error(Errc::io,
                    argv[0] + " was killed by signal " + std::to_string(WTERMSIG(status)));
}

Result<bool> OwedReload::settle(bool changed) {
  if (!reloader_ || !(changed || owed_)) return false;
  auto asked = reloader_->reload();
  owed_ = !asked.ok();
  return asked;
}

}  // namespace stek::agent

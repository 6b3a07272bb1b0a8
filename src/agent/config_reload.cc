// Comparing the running configuration with a re-read one (SIGHUP).
#include "config_reload.h"

#include <algorithm>

namespace stek::agent {

std::vector<std::string> restart_only_changes(const AgentConfig& a, const AgentConfig& b) {
  std::vector<std::string> changed;
  auto note = [&](bool differs, const char* key) {
    if (differs) changed.emplace_back(key);
  };
  note(a.servers != b.servers, "servers");
  note(a.domain != b.domain, "domain");
  note(a.tls.cert != b.tls.cert, "tls.cert");
  note(a.tls.key != b.tls.key, "tls.key");
  note(a.tls.ca != b.tls.ca, "tls.ca");
  note(a.cache_dir != b.cache_dir, "cache_dir");
  note(a.applied_state != b.applied_state, "applied_state");
  note(a.allow_persistent_cache != b.allow_persistent_cache, "allow_persistent_cache");
  note(a.poll_timeout != b.poll_timeout, "poll_timeout");
  note(a.connect_timeout != b.connect_timeout, "connect_timeout");
  note(a.read_grace != b.read_grace, "read_grace");
  note(a.backoff_initial != b.backoff_initial, "backoff_initial");
  note(a.backoff_max != b.backoff_max, "backoff_max");
  note(a.backoff_jitter != b.backoff_jitter, "backoff_jitter");
  note(a.metrics_listen != b.metrics_listen, "metrics_listen");
  return changed;
}

SinkPlan plan_sinks(const std::vector<SinkConfig>& running, const std::vector<SinkConfig>& next) {
  SinkPlan plan;
  std::vector<bool> taken(running.size(), false);
  for (std::size_t n = 0; n < next.size(); ++n) {
    bool found = false;
    for (std::size_t r = 0; r < running.size() && !found; ++r) {
      if (!taken[r] && running[r] == next[n]) {
        taken[r] = found = true;
        plan.kept.push_back(r);
      }
    }
    if (!found) plan.added.push_back(n);
  }
  for (std::size_t r = 0; r < running.size(); ++r) {
    if (!taken[r]) plan.removed.push_back(r);
  }
  std::sort(plan.kept.begin(), plan.kept.end());  // in running order, as the sinks run
  return plan;
}

std::optional<std::filesystem::path> signal_pid_file(const SinkConfig& sink) {
  return std::visit(
      [](const auto& c) -> std::optional<std::filesystem::path> {
        if constexpr (requires { c.pid_file; }) {
          if (c.reload == ReloadMode::signal) return c.pid_file;
        }
        return std::nullopt;
      },
      sink);
}

}  // namespace stek::agent

// What a SIGHUP can change in a running agent: its sinks (added, removed, rebuilt when their
// table changed) and log_level. Everything else (identity, servers, directories, timeouts,
// the metrics address) is read once at start; a change there is reported as needing a
// restart. Pure functions over two configurations, unit-tested.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "config.h"

namespace stek::agent {

// The configuration keys whose new value takes effect only after a restart, in the order of
// config_reference(); empty when none changed.
std::vector<std::string> restart_only_changes(const AgentConfig& running, const AgentConfig& next);

// How to go from the running sinks to the next configuration's: a sink whose table is
// unchanged keeps running (and its status); the others are removed or built anew.
struct SinkPlan {
  std::vector<std::size_t> kept;     // indices into `running`, ascending
  std::vector<std::size_t> removed;  // indices into `running`
  std::vector<std::size_t> added;    // indices into `next`
};
SinkPlan plan_sinks(const std::vector<SinkConfig>& running, const std::vector<SinkConfig>& next);

// The pid file a sink signals to reload its server (reload = "signal"), if it does.
std::optional<std::filesystem::path> signal_pid_file(const SinkConfig& sink);

}  // namespace stek::agent

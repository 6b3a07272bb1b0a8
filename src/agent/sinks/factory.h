// The sinks a configuration lists, built and checked before the agent runs.
#pragma once

#include <memory>
#include <vector>

#include "../config.h"
#include "../sink.h"

namespace stek::agent {

// Builds one sink per [[sink]] table, checking what can be checked before running: key
// directories exist and are on tmpfs (unless allow_persistent), nginx's include directory
// and nginx_conf exist; writes nginx's keyless include when it is missing. Errors name the
// setting to change.
Result<std::vector<std::unique_ptr<Sink>>> make_sinks(const std::vector<SinkConfig>& configs,
                                                      bool allow_persistent);

}  // namespace stek::agent

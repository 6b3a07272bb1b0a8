// stek-agent's small status page (GET / on its metrics listener): its domain, the ring
// version it holds, the current epoch, its runway as an end time, and each sink's health.
// Read from the agent's Metrics (numbers, names and error texts: never key bytes); every
// string escaped.
#pragma once

#include <optional>
#include <string>

#include "stek/schedule.h"

#include "metrics.h"
#include "metrics_listener.h"

namespace stek::agent {

struct AgentPageFacts {
  UnixSeconds now = 0;
  std::string host;                       // stek:host: of tls.cert; empty when it names none
  std::optional<UnixSeconds> runway_end;  // keys run out then; none while no key covers now
  net::HealthReport health{true, ""};     // what /healthz answers
};

std::string render_agent_status_page(const Metrics& m, const AgentPageFacts& facts);

}  // namespace stek::agent

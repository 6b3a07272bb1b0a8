// The agent registry: connection counts, last seen, what agents claim and were served,
// staleness.
#include "agent_registry.h"

namespace stek::server {

AgentRegistry::AgentRegistry(const Clock& clock, std::size_t connections_per_identity,
                             std::int64_t stale_after)
    : clock_(clock),
      connections_per_identity_(connections_per_identity),
      stale_after_(stale_after) {}

bool AgentRegistry::connected(const Identity& id, const std::string& address, bool fleet_agent) {
  const bool within_limit = ++per_identity_[id.key()] <= connections_per_identity_;
  if (id.kind == Identity::Kind::agent && fleet_agent) {
    AgentRecord& a = agents_[id.name];
    a.domains = id.domains;
    a.address = address;
    a.last_seen = clock_.now();
    ++a.connections;
  }
  return within_limit;
}

void AgentRegistry::disconnected(const Identity& id) {
  auto it = per_identity_.find(id.key());
  if (it != per_identity_.end() && --it->second == 0) per_identity_.erase(it);
  if (id.kind == Identity::Kind::agent) {
    auto a = agents_.find(id.name);
    if (a != agents_.end() && a->second.connections > 0) --a->second.connections;
  }
}

void AgentRegistry::saw(const Identity& id) {
  AgentRecord& a = agents_[id.name];
  a.domains = id.domains;
  a.last_seen = clock_.now();
}

void AgentRegistry::claims(const std::string& host, std::uint64_t version, Epoch e) {
  AgentRecord& a = agents_[host];
  a.claimed_ring_version = version;
  a.holds_through_epoch = e;
}

void AgentRegistry::served(const std::string& host, ServedRing ring) {
  ring.at = clock_.now();
  AgentRecord& a = agents_[host];
  a.holds_through_epoch = ring.through_epoch;  // the legacy field: the latest of both
  a.served = std::move(ring);
}

bool AgentRegistry::is_stale(const AgentRecord& a, Epoch current) const {
  const std::optional<Epoch> through =
      a.served ? std::optional<Epoch>(a.served->through_epoch) : a.holds_through_epoch;
  return clock_.now() - a.last_seen > stale_after_ || (through && *through < current + 1);
}

AgentCounts AgentRegistry::counts(Epoch current) const {
  AgentCounts c;
  c.known = agents_.size();
  for (const auto& [host, a] : agents_) {
    c.connected += a.connections > 0;
    c.stale += is_stale(a, current);
  }
  return c;
}

}  // namespace stek::server

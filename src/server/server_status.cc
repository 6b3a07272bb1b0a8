// Taking the status snapshot.
#include "server_status.h"

namespace stek::server {

ServerStatus collect_status(const KeyService& keys, const AgentRegistry& agents, UnixSeconds now,
                            const AuditSink* audit) {
  ServerStatus s;
  s.now = now;
  s.healthy = keys.healthy(now);
  s.epoch = keys.current_epoch();
  s.schedule = keys.schedule().params();
  s.served_schedule = keys.served_schedule().params();
  s.lifetime_hint = keys.schedule().lifetime_hint();
  s.epochs_held = keys.epochs_held();
  if (s.epochs_held) {
    const Schedule& served = keys.served_schedule();
    s.erase_due = served.epoch_start(s.epochs_held->first + served.history() + 1);
  }
  s.epoch_secrets_held = keys.epoch_secrets_held();
  s.erasures_total = keys.erasures_total();
  s.clock_step_alarm = keys.clock_guard().alarmed();
  s.clock_offset = keys.clock_guard().offset();
  s.clock_steps_refused = keys.clock_guard().refused_total();
  for (const std::string& d : keys.domains()) {
    s.domains.push_back(
        {d, keys.ring_version(d), keys.secret_version(d), keys.per_host(d), {}, false});
  }
  for (const auto& [host, a] : agents.agents()) {
    s.agents.push_back({host, a.domains, a.address, a.last_seen, a.holds_through_epoch,
                        a.connections > 0, agents.is_stale(a, s.epoch), a.claimed_ring_version,
                        a.served});
  }
  s.agent_counts = agents.counts(s.epoch);
  if (audit != nullptr) {
    s.audit_failures_total = audit->failures_total();
    s.audit_failing = audit->failing();
  }
  return s;
}

void add_key_labels(ServerStatus& s, const KeyService& keys) {
  const ScheduleParams& p = s.served_schedule.value_or(s.schedule);
  if (p.history + 1 + p.lookahead > static_cast<std::int64_t>(kMaxTimelineSlots)) return;
  for (DomainStatus& d : s.domains) {
    if (d.per_host) continue;
    auto ring = keys.ring(d.name);
    if (!ring.ok()) continue;
    for (const RingKey& k : ring->keys()) {
      if (!k.meta.epoch) continue;
      d.keys[*k.meta.epoch] = {k.key.name_hex(), k.meta.secret_version.value_or(0)};
    }
    d.keys_known = true;
  }
}

}  // namespace stek::server

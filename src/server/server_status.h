// ServerStatus: one snapshot of what stekd shows about itself (schedule, domains, agents),
// taken from the key service and the agent registry. The status page, /metrics
// and the admin API render it; tests build one by hand.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "stek/schedule.h"

#include "agent_registry.h"
#include "audit.h"
#include "key_service.h"
#include "status_timeline.h"

namespace stek::server {

struct DomainStatus {
  std::string name;
  std::uint64_t ring_version = 0;
  std::uint32_t secret_version = 0;
  bool per_host = false;  // domains.per_host: each host has keys of its own
  // Filled by add_key_labels (the status page): the name and secret version of each epoch's
  // key, no key bytes. `keys_known` false: not looked up (or per host, or too many).
  std::map<Epoch, KeyLabel> keys;
  bool keys_known = false;
};

struct AgentStatus {
  std::string host;
  std::vector<std::string> domains;
  std::string address;
  UnixSeconds last_seen = 0;
  std::optional<Epoch> holds_through_epoch;  // claimed by the agent (wait=)
  bool connected = false;
  bool stale = false;
  std::optional<std::uint64_t> claimed_ring_version;
  std::optional<ServedRing> served;  // what this stekd sent it
};

struct ServerStatus {
  UnixSeconds now = 0;
  bool healthy = false;
  Epoch epoch = 0;
  ScheduleParams schedule{};
  // Keys are kept and served under it (wider while a schedule change lasts); unset: `schedule`.
  std::optional<ScheduleParams> served_schedule;
  std::int64_t lifetime_hint = 0;
  std::optional<EpochRange> epochs_held;
  // When the oldest epoch secret held must be erased: the start of the first epoch in which it
  // decrypts nothing, H + 1 epochs after its own under the schedule served (during a change of
  // schedule, the wider one). None while no secret is held.
  std::optional<UnixSeconds> erase_due;
  std::size_t epoch_secrets_held = 0;
  std::uint64_t erasures_total = 0;
  bool clock_step_alarm = false;          // a wall-clock step is being refused
  std::int64_t clock_offset = 0;          // wall clock minus trusted time, seconds
  std::uint64_t clock_steps_refused = 0;  // readings refused since start
  std::vector<DomainStatus> domains;
  std::vector<AgentStatus> agents;  // by host id
  AgentCounts agent_counts;
  std::uint64_t audit_failures_total = 0;  // audit events that could not be written
  bool audit_failing = false;              // the last audit write failed
  std::size_t long_polls_waiting = 0;      // parked on the wait list (KeyServer fills it in)
  std::string health_text;                 // /healthz's line (KeyServer fills it in)
  bool health_failing = false;  // /healthz answers 503 (KeyServer fills it in; /metrics too)
};

// `audit`, when given, adds the audit log's failure count and state.
ServerStatus collect_status(const KeyService& keys, const AgentRegistry& agents, UnixSeconds now,
                            const AuditSink* audit = nullptr);

// For the status page: the key name and secret version of every epoch of each domain's ring,
// read from the ring stekd serves (derived, then wiped; only names are kept). Skipped for
// host-scoped domains (names differ per host) and when the window is wider than the
// timeline draws one by one.
void add_key_labels(ServerStatus& s, const KeyService& keys);

}  // namespace stek::server

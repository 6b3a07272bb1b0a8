// AgentRegistry: what stekd knows about the agents of its fleet (last seen, address, the
// newest epoch each holds, open connections) and the per-identity connection limit. A plain
// class with an injected clock: no sockets, no key service.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "stek/clock.h"
#include "stek/schedule.h"

#include "identity.h"

namespace stek::server {

// What stekd itself sent an agent: the operator's proof that a rotation reached the host.
struct ServedRing {
  std::uint64_t ring_version = 0;              // wire value, as in X-Stek-Ring-Version
  std::vector<std::uint32_t> secret_versions;  // domain secret versions of its keys, ascending
  Epoch through_epoch = 0;                     // the newest epoch whose key it holds
  UnixSeconds at = 0;
};

struct AgentRecord {
  std::vector<std::string> domains;
  std::string address;
  UnixSeconds last_seen = 0;
  // The newest epoch the agent holds, from its last request's wait= (CLAIMED: any client can
  // claim anything) or from the last ring sent, whichever came last. Kept for the API.
  std::optional<Epoch> holds_through_epoch;
  // CLAIMED by the agent: the version it waits on (wait=).
  std::optional<std::uint64_t> claimed_ring_version;
  // SERVED by this stekd process (nothing yet after a restart of stekd).
  std::optional<ServedRing> served;
  std::size_t connections = 0;
};

struct AgentCounts {
  std::size_t known = 0;
  std::size_t connected = 0;
  std::size_t stale = 0;
};

class AgentRegistry {
 public:
  // stale_after: seconds without a request after which an agent counts as stale.
  AgentRegistry(const Clock& clock, std::size_t connections_per_identity, std::int64_t stale_after);

  // A client with this identity connected. `fleet_agent`: an agent identity of a configured
  // domain (anything else is only counted against its limit). Returns false when the identity
  // now has more connections than its limit: that connection's requests get 429.
  bool connected(const Identity& id, const std::string& address, bool fleet_agent);
  // A connection counted by connected() closed.
  void disconnected(const Identity& id);

  // The agent asked for its ring now.
  void saw(const Identity& id);
  // The agent says (wait=) it holds ring version `version`, with keys up to epoch `e`.
  void claims(const std::string& host, std::uint64_t version, Epoch e);
  // stekd sent the agent this ring.
  void served(const std::string& host, ServedRing ring);

  // Not seen within stale_after, or holding no key for the epoch after `current`: as served
  // by this stekd when it served one, else as claimed.
  bool is_stale(const AgentRecord& a, Epoch current) const;
  AgentCounts counts(Epoch current) const;
  const std::map<std::string, AgentRecord>& agents() const { return agents_; }

 private:
  const Clock& clock_;
  std::size_t connections_per_identity_;
  std::int64_t stale_after_;
  std::map<std::string, std::size_t> per_identity_;  // by Identity::key()
  std::map<std::string, AgentRecord> agents_;        // by host id
};

}  // namespace stek::server

// Leadership among stekd replicas on one etcd prefix: the leader holds PREFIX/leader, made
// only if absent (create_revision == 0) and attached to an etcd lease that it keeps alive.
// When the leader dies its lease expires after the TTL, etcd deletes the key and the next
// replica to try takes it. Leadership only decides who makes and erases secrets on schedule;
// safety never depends on it: every commit is a compare-and-swap (etcd_store.h).
#pragma once

#include <cstdint>
#include <string>

#include "stek/random.h"
#include "stek/result.h"

#include "etcd_transport.h"

namespace stek::server {

// The key the leader holds under `prefix`; the store skips it when it reads the state.
inline std::string etcd_leader_key(const std::string& prefix) {
  return prefix + "/leader";
}

class EtcdLeader {
 public:
  // `id` names this replica in the leader key (host name and pid); `ttl_seconds` >= 1.
  // Lease IDs are drawn from `random` below 2^53: the gateway (etcd 3.4) loses precision on
  // the larger IDs it assigns itself, so a lease it granted could not be kept alive.
  EtcdLeader(etcd::Transport& transport, Random& random, std::string prefix, std::string id,
             std::int64_t ttl_seconds);

  // One round: keeps the lease alive (or grants a new one), then takes the leader key if it
  // is free. Returns whether this replica leads now. An error (etcd unreachable, no quorum)
  // also means "not leading".
  Result<bool> step();
  // Gives leadership up at once (on a clean stop): the lease and the key go with it.
  void resign();

  bool leads() const { return leads_; }
  const std::string& holder() const { return holder_; }  // the leader's id; "" when unknown

 private:
  Status keep_lease();

  etcd::Transport& transport_;
  Random& random_;
  std::string key_;
  std::string id_;
  std::int64_t ttl_;
  std::int64_t lease_ = 0;
  bool leads_ = false;
  std::string holder_;
};

}  // namespace stek::server

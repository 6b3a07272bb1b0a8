// The deny-list of hosts in etcd, shared by every replica: one record, PREFIX/deny, holding
//   {"stek_etcd_deny": 1, "kek_id": "<hex>", "sealed": "<base64>"}
// where `sealed` is {"denied_hosts": [...]} sealed under the KEK like every record of the etcd
// store (AES-256-GCM), with associated data "stek/etcd/v1 deny <its key> version <V>", V
// being the etcd version the put gives the key. So a value copied to another key does not
// open, and neither does an old value put back (a replay that would lift a denial): its etcd
// version has moved on. A change reads the record and writes it back by compare-and-swap on
// its mod_revision (create_revision 0 when there is none), reading again after losing to
// another replica, so two denials made at once on two replicas both land.
// Replicas learn of a change through their poll (etcd_replica.h), which reads this key's
// revision in the same request as the manifest's.
#pragma once

#include <cstdint>
#include <mutex>
#include <set>
#include <string>

#include "stek/random.h"
#include "stek/seal.h"

#include "deny_store.h"
#include "etcd_transport.h"
#include "etcd_wire.h"

namespace stek::server {

// PREFIX/deny.
std::string etcd_deny_key(const std::string& prefix);

// The record's value for `hosts`, sealed for a put that makes etcd version `version` of `key`.
Result<std::string> encode_deny_record(const Kek& kek, const std::string& key, std::int64_t version,
                                       const std::set<std::string>& hosts, Random& random);
// The hosts of a record as etcd returned it. Errc::integrity when it does not open (damaged,
// another KEK, or an old value put back), Errc::bad_format when it is no deny record.
Result<std::set<std::string>> decode_deny_record(const Kek& kek, const etcd::KeyValue& kv);

class EtcdDenyStore final : public DenyStore {
 public:
  // Errors: Errc::io (etcd unreachable, no quorum), Errc::integrity (see decode_deny_record),
  // Errc::rollback (the record went back to an older version than this process saw, or is
  // gone after being seen), Errc::conflict (an update lost `max_attempts` races in a row).
  EtcdDenyStore(etcd::Transport& transport, Kek kek, Random& random, std::string prefix,
                int max_attempts = 16);

  Result<std::set<std::string>> load() override;
  Result<bool> update(const std::string& host, bool deny) override;
  std::string describe() const override;

 private:
  struct Read {
    std::set<std::string> hosts;
    std::int64_t mod_revision = 0;  // 0: no record yet
    std::int64_t version = 0;
  };
  // A linearizable read of the record, checked against what this process saw before.
  Result<Read> read();

  etcd::Transport& transport_;
  Kek kek_;
  Random& random_;
  std::string key_;
  int max_attempts_;
  std::int64_t seen_create_ = 0;  // the record's create_revision and version last seen
  std::int64_t seen_version_ = 0;
  std::mutex mu_;
};

}  // namespace stek::server

// The leader key under an etcd lease.
#include "etcd_leader.h"

#include "etcd_wire.h"

namespace stek::server {

EtcdLeader::EtcdLeader(etcd::Transport& transport, Random& random, std::string prefix,
                       std::string id, std::int64_t ttl_seconds)
    : transport_(transport),
      random_(random),
      key_(etcd_leader_key(prefix)),
      id_(std::move(id)),
      ttl_(ttl_seconds) {}

Status EtcdLeader::keep_lease() {
  if (lease_ != 0) {
    STEK_ASSIGN_OR_RETURN(
        SecretString body,
        transport_.post("/v3/lease/keepalive", etcd::lease_id_request(lease_).dump()));
    STEK_ASSIGN_OR_RETURN(etcd::LeaseResult kept, etcd::parse_lease_keepalive(body));
    if (kept.ttl > 0) return {};
    lease_ = 0;  // expired (this replica stalled longer than the TTL): a new one
  }
  std::uint8_t bytes[6];
  STEK_TRY(random_.fill(bytes));
  std::int64_t id = 1;  // never 0: that asks etcd to choose
  for (std::uint8_t b : bytes) id = (id << 8) | b;
  STEK_ASSIGN_OR_RETURN(
      SecretString body,
      transport_.post("/v3/lease/grant", etcd::lease_grant_request(ttl_, id).dump()));
  STEK_ASSIGN_OR_RETURN(etcd::LeaseResult granted, etcd::parse_lease_grant(body));
  lease_ = granted.id;
  return {};
}

Result<bool> EtcdLeader::step() {
  leads_ = false;
  if (auto kept = keep_lease(); !kept.ok()) return kept.error();
  const etcd::Operation take{etcd::Operation::Kind::put, key_, id_, lease_};
  const etcd::Compare free{key_, etcd::Compare::Target::create_revision, 0};
  STEK_ASSIGN_OR_RETURN(
      SecretString body,
      transport_.post("/v3/kv/txn", etcd::txn_request({free}, {take}, key_).dump()));
  STEK_ASSIGN_OR_RETURN(etcd::TxnResult txn, etcd::parse_txn(body));
  if (txn.succeeded) {
    holder_ = id_;
  } else if (!txn.failure_range.empty()) {
    const etcd::KeyValue& kv = txn.failure_range.front();
    holder_ = std::string(kv.value.data(), kv.value.size());
    // Ours only if held under the lease kept alive now (not an expired one of ours).
    if (holder_ == id_ && kv.lease != lease_) holder_ += " (an older lease)";
  } else {
    holder_.clear();
  }
  leads_ = holder_ == id_;
  return leads_;
}

void EtcdLeader::resign() {
  if (lease_ != 0) {
    (void)transport_.post("/v3/lease/revoke", etcd::lease_id_request(lease_).dump());
  }
  lease_ = 0;
  leads_ = false;
}

}  // namespace stek::server

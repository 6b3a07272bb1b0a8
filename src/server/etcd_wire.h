// etcd v3's JSON gateway, as stekd speaks it: the request bodies of /v3/kv/range, /v3/kv/txn
// and /v3/lease/*, and parsers of their answers. Keys and values travel base64-encoded and
// 64-bit numbers as decimal strings; fields equal to zero or false are left out of answers
// (proto3), so a missing field reads as its zero value. No I/O here (etcd_transport.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "stek/result.h"
#include "stek/secret.h"

namespace stek::server::etcd {

struct KeyValue {
  std::string key;
  SecretString value;  // sealed records are not secret, but a value may be anything
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
  std::int64_t version = 0;  // puts since the key was made: 1 for a value never replaced
  std::int64_t lease = 0;
};

struct RangeResult {
  std::int64_t revision = 0;  // the store's revision when it answered
  std::vector<KeyValue> kvs;
  bool more = false;
};

// One comparison of a transaction.
struct Compare {
  enum class Target { create_revision, mod_revision };
  std::string key;
  Target target = Target::mod_revision;
  std::int64_t revision = 0;  // compared for equality
};

struct Operation {
  enum class Kind { put, erase };
  Kind kind = Kind::put;
  std::string key;
  std::string value;       // put only
  std::int64_t lease = 0;  // put only; 0: none
};

struct TxnResult {
  bool succeeded = false;
  std::int64_t revision = 0;
  // The answer of the first failure operation when it was a range (who holds a key).
  std::vector<KeyValue> failure_range;
};

// Request bodies.
nlohmann::json range_request(std::string_view key, bool prefix, bool serializable);
// Ranges over `failure_range_key` when the comparisons fail ("" : nothing on failure).
nlohmann::json txn_request(const std::vector<Compare>& compares, const std::vector<Operation>& ops,
                           std::string_view failure_range_key = {});
// A read-only transaction of one serializable range per key: one request, one snapshot of
// the member that answers it (also without quorum), so what it shows of several keys is
// consistent: a change to one key and a later change to another are seen in that order.
nlohmann::json read_txn_request(const std::vector<std::string>& keys);
// `id`: the lease's ID, chosen by the caller (etcd_leader.h says why).
nlohmann::json lease_grant_request(std::int64_t ttl_seconds, std::int64_t id);
nlohmann::json lease_id_request(std::int64_t id);  // keepalive and revoke

// Parsers of answers: Errc::bad_format for anything not shaped as etcd answers; an answer
// carrying an "error" or "message" field (the gateway's errors) is Errc::io with it.
Result<RangeResult> parse_range(std::string_view body);
Result<TxnResult> parse_txn(std::string_view body);
// The ranges of a read_txn_request's answer, in the order of its keys.
Result<std::vector<RangeResult>> parse_read_txn(std::string_view body, std::size_t keys);
// The lease's ID and TTL; TTL <= 0 after a keepalive: the lease has expired.
struct LeaseResult {
  std::int64_t id = 0;
  std::int64_t ttl = 0;
};
Result<LeaseResult> parse_lease_grant(std::string_view body);
Result<LeaseResult> parse_lease_keepalive(std::string_view body);

// The first key after every key that starts with `prefix` (etcd's range_end for a prefix).
std::string prefix_end(std::string_view prefix);

}  // namespace stek::server::etcd

// One stekd replica on etcd: a worker thread that, every poll interval, takes part in the
// leader election (etcd_leader.h) and polls the revisions of the manifest and of the deny-list
// record (etcd_deny_store.h) in one serializable read. A new manifest revision (a commit by
// any replica: maintenance, rotate-domain-secret) makes the key server reload the state and
// wake its waiting agents; a new deny-list revision makes it reload the deny-list first and
// end the long polls of hosts it now denies. The leader also runs maintenance.
// The key service itself is only ever used on the io_context's thread: the worker posts.
//
// A bounded poll rather than an etcd watch: the gateway's watch is a stream, and the HTTPS
// client reads whole answers (docs/etcd.md). The poll is one small read per interval.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>

#include "etcd_leader.h"
#include "etcd_transport.h"

namespace stek::server {

struct EtcdReplicaOptions {
  std::string prefix;
  std::string id;                       // this replica, in the leader key
  std::int64_t lease_ttl = 5;           // seconds (store.lease_ttl)
  std::chrono::milliseconds poll{500};  // store.poll_interval_ms
};

struct EtcdReplicaActions {
  std::function<void()> reload;    // the state changed in etcd: load it, wake agents
  std::function<void()> maintain;  // this replica leads: make and erase on schedule
  // The deny-list changed in etcd: load it, end the polls of the hosts it now denies; false
  // when it could not be read. Runs before `reload` of the same round, and while it fails no
  // state is reloaded (both are tried again next round): a host denied before a rotation
  // never gets the rotated ring because its replica was slow to read the denial.
  std::function<bool()> reload_denied;
};

class EtcdReplica {
 public:
  // `transport` is this object's own (not the store's): a stalled etcd blocks only the worker.
  EtcdReplica(boost::asio::io_context& io, etcd::Transport& transport, Random& random,
              EtcdReplicaOptions options, EtcdReplicaActions actions);
  ~EtcdReplica();

  void start();
  // Stops the worker (within one request's timeout) and resigns leadership.
  void stop();

  bool leads() const { return leads_; }
  // "leader" or "follower (leader: ID)", for /healthz and logs.
  std::string role() const;
  // Why etcd is not usable now and since how long; nullopt while every round succeeds.
  std::optional<std::string> problem() const;

 private:
  void run();
  void round();

  boost::asio::io_context& io_;
  etcd::Transport& transport_;
  EtcdReplicaOptions options_;
  EtcdReplicaActions actions_;
  EtcdLeader leader_;
  std::atomic<bool> leads_{false};
  std::int64_t seen_revision_ = -1;
  std::int64_t seen_deny_revision_ = -1;
  std::atomic<bool> retry_reload_{false};  // the last reload_denied failed

  mutable std::mutex mu_;  // guards the fields below
  std::string holder_;
  std::optional<std::string> failure_;
  std::chrono::steady_clock::time_point failing_since_;
  bool stopping_ = false;
  std::condition_variable wake_;
  std::thread worker_;
};

}  // namespace stek::server

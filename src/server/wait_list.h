// WaitList: agents' long-polls parked until their domain's ring changes (domain -> waiting
// connections). Waking goes through an injected function (the transport's wake in stekd, a
// recorder in tests); a waiter leaves the list when its answer is taken or its connection closes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "http_handler.h"

namespace stek::server {

class WaitList {
 public:
  struct Waiter {
    std::string domain;
    std::uint64_t version = 0;     // the ring version the agent holds
    std::int64_t received_ms = 0;  // when the request arrived (KeyringApi's steady time)
  };
  using Wake = std::function<void(ConnectionId)>;

  explicit WaitList(Wake wake) : wake_(std::move(wake)) {}

  void add(ConnectionId id, Waiter waiter);
  // Removes the connection's waiter and returns it (none if it has none): when the wait ends
  // or the connection closes.
  std::optional<Waiter> take(ConnectionId id);
  // Wakes every connection waiting on `domain`, once.
  void ring_changed(const std::string& domain);
  // Wakes one waiting connection (its host was just denied), if it waits.
  void wake(ConnectionId id);
  // Wakes every waiting connection (a new epoch changes every ring).
  void all_rings_changed();
  std::size_t size() const { return waiters_.size(); }
  // No waiter and no index entry: what every finished poll must leave behind.
  bool empty() const { return waiters_.empty() && unwoken_.empty(); }

 private:
  Wake wake_;
  std::map<ConnectionId, Waiter> waiters_;
  std::map<std::string, std::set<ConnectionId>> unwoken_;  // by domain
};

}  // namespace stek::server

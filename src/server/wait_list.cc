// The long-poll wait list.
#include "wait_list.h"

#include <vector>

namespace stek::server {

void WaitList::add(ConnectionId id, Waiter waiter) {
  take(id);  // one wait per connection
  unwoken_[waiter.domain].insert(id);
  waiters_.emplace(id, std::move(waiter));
}

std::optional<WaitList::Waiter> WaitList::take(ConnectionId id) {
  auto it = waiters_.find(id);
  if (it == waiters_.end()) return std::nullopt;
  Waiter w = std::move(it->second);
  waiters_.erase(it);
  if (auto d = unwoken_.find(w.domain); d != unwoken_.end()) {
    d->second.erase(id);
    if (d->second.empty()) unwoken_.erase(d);
  }
  return w;
}

void WaitList::ring_changed(const std::string& domain) {
  auto it = unwoken_.find(domain);
  if (it == unwoken_.end()) return;
  // Out of the index before waking, so a wake that calls back into the list sees it settled.
  const std::set<ConnectionId> ids = std::move(it->second);
  unwoken_.erase(it);
  for (const ConnectionId id : ids) wake_(id);
}

void WaitList::wake(ConnectionId id) {
  auto it = waiters_.find(id);
  if (it == waiters_.end()) return;
  auto d = unwoken_.find(it->second.domain);
  if (d == unwoken_.end() || d->second.erase(id) == 0) return;  // already woken
  if (d->second.empty()) unwoken_.erase(d);
  wake_(id);
}

void WaitList::all_rings_changed() {
  std::vector<std::string> domains;
  for (const auto& [d, ids] : unwoken_) domains.push_back(d);
  for (const auto& d : domains) ring_changed(d);
}

}  // namespace stek::server

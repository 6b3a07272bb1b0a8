// SessionCache: STEK-less mode's sessions, serialised, by id, bounded in count and time.
#include "session_cache.h"

#include <algorithm>

namespace stek::openssl::detail {

bool SessionCache::add(const SSL_SESSION* session) {
  unsigned int id_len = 0;
  const unsigned char* id = SSL_SESSION_get_id(session, &id_len);
  const int der_len = i2d_SSL_SESSION(session, nullptr);
  if (id_len == 0 || der_len <= 0) return false;
  Entry entry;
  entry.id.assign(reinterpret_cast<const char*>(id), id_len);
  entry.der = SecretBytes(static_cast<std::size_t>(der_len));
  unsigned char* out = entry.der.data();
  if (i2d_SSL_SESSION(session, &out) != der_len) return false;
  // The session's own clock (OpenSSL's time()), so expiry matches OpenSSL's own check.
  entry.expires_at = static_cast<UnixSeconds>(SSL_SESSION_get_time(session)) +
                     static_cast<UnixSeconds>(SSL_SESSION_get_timeout(session));

  std::lock_guard lock(mu_);
  if (auto it = by_id_.find(entry.id); it != by_id_.end()) erase_locked(it->second);
  while (by_id_.size() >= capacity_ && !order_.empty()) erase_locked(std::prev(order_.end()));
  order_.push_front(std::move(entry));
  by_id_.emplace(order_.front().id, order_.begin());
  return true;
}

UniquePtr<SSL_SESSION> SessionCache::find(const unsigned char* id, std::size_t id_len) {
  const std::string key(reinterpret_cast<const char*>(id), id_len);
  std::lock_guard lock(mu_);
  const auto it = by_id_.find(key);
  if (it == by_id_.end()) return nullptr;
  if (clock_.now() >= it->second->expires_at) {
    erase_locked(it->second);
    return nullptr;
  }
  const unsigned char* in = it->second->der.data();
  return UniquePtr<SSL_SESSION>(
      d2i_SSL_SESSION(nullptr, &in, static_cast<long>(it->second->der.size())));
}

void SessionCache::forget(const unsigned char* id, std::size_t id_len) {
  std::lock_guard lock(mu_);
  if (auto it = by_id_.find(std::string(reinterpret_cast<const char*>(id), id_len));
      it != by_id_.end()) {
    erase_locked(it->second);
  }
}

std::size_t SessionCache::size() const {
  std::lock_guard lock(mu_);
  return by_id_.size();
}

void SessionCache::erase_locked(List::iterator it) {
  by_id_.erase(it->id);
  order_.erase(it);  // SecretBytes wipes the serialised session
}

}  // namespace stek::openssl::detail

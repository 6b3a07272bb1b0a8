// Internal: the server-side session cache behind STEK-less mode (enable_stateful_tickets).
// libstek keeps the sessions itself, through OpenSSL's external-cache callbacks, instead of in
// OpenSSL's internal cache, because OpenSSL removes a session from its internal cache whenever
// a connection is freed without the server having sent close_notify (ssl_clear_bad_session):
// a client that closes first, or drops the TCP connection, would never resume TLS 1.2.
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

#include <openssl/ssl.h>

#include "stek/clock.h"
#include "stek/ossl_ptr.h"
#include "stek/secret.h"

namespace stek::openssl::detail {

// Sessions by id, serialised (they hold the master secret: wiped when dropped), bounded to
// `capacity` (the oldest added is dropped first) and to each session's own timeout.
// Thread-safe.
class SessionCache {
 public:
  SessionCache(std::size_t capacity, const Clock& clock) : capacity_(capacity), clock_(clock) {}

  // Stores a copy of the session; false if it has no id or cannot be serialised.
  bool add(const SSL_SESSION* session);
  // A new SSL_SESSION for the id, or null if unknown or expired.
  UniquePtr<SSL_SESSION> find(const unsigned char* id, std::size_t id_len);
  void forget(const unsigned char* id, std::size_t id_len);
  std::size_t size() const;

 private:
  struct Entry {
    std::string id;
    SecretBytes der;
    UnixSeconds expires_at = 0;
  };
  using List = std::list<Entry>;

  void erase_locked(List::iterator it);

  const std::size_t capacity_;
  const Clock& clock_;
  mutable std::mutex mu_;
  List order_;  // front: newest
  std::unordered_map<std::string, List::iterator> by_id_;
};

}  // namespace stek::openssl::detail

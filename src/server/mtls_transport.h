// MtlsTransport: stekd's HTTPS port on Boost.Beast. Accepts TLS connections that must present
// a client certificate (checked against the client CA and CRLs, revocation.h), reads HTTP/1.1
// requests within size and time limits, and writes what the HttpHandler answers. Knows nothing of
// keys or paths. One asio event loop: thousands of long polls cost a timer and a socket each, not a
// thread. Clients that have not proved an identity yet (handshake under way, or no verified
// certificate) have a budget and a deadline of their own, so idle sockets cannot crowd agents
// out; out of file descriptors, accepting pauses (net/accept_backoff.h) instead of spinning.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "stek/result.h"

#include "config.h"
#include "http_handler.h"
#include "tls_context.h"

namespace boost::asio {
class io_context;
}

namespace stek::server {

struct TransportLimits {
  std::size_t max_connections = 20000;
  // Connections without a verified identity yet: at this many, accepting one more closes the
  // oldest of them.
  std::size_t max_unauthenticated = 1000;
  std::size_t header_bytes = 8192;  // larger headers: 431
  std::size_t body_bytes = 4096;    // larger bodies: 413
  // For the TLS handshake, and for the first request of a client without an identity.
  std::chrono::seconds handshake_timeout{10};
  std::chrono::seconds idle_timeout{60};  // between requests, and for each read and write
};

struct TransportStats {
  std::uint64_t connections_open = 0;
  std::uint64_t connections_unauthenticated = 0;  // within max_unauthenticated
  std::uint64_t unauthenticated_dropped = 0;      // closed to make room for a newer one
  std::uint64_t accept_failures = 0;              // accepts that paused the loop (EMFILE, ...)
  bool accept_paused = false;                     // until an accept succeeds again
  std::map<unsigned, std::uint64_t> requests_by_status;  // every response sent
};

class TransportState;  // defined in mtls_transport.cc, shared with the connections

class MtlsTransport {
 public:
  // `handler` must outlive the transport.
  MtlsTransport(boost::asio::io_context& io, HttpHandler& handler, TransportLimits limits);
  // Closes every connection; the handler is not called afterwards.
  ~MtlsTransport();

  // Loads the TLS files, binds and starts accepting.
  Status start(const Endpoint& listen, const TlsFiles& tls);
  // Stops accepting and closes every connection.
  void stop();
  // Ends a long poll on this connection (if it has one) soon, on the event loop: the
  // handler's resume() gives the answer.
  void wake(ConnectionId id);
  // Re-reads the client CA and CRL files when they changed (always when `force`: SIGHUP),
  // and closes every open connection whose certificate a new CRL revokes, long polls
  // included. Also done once a second. On a file that cannot be loaded
  // the trust in use is kept and the error returned.
  Status reload_trust(bool force);
  // Called for each connection that reload_trust closes (stekd logs and audits it).
  void on_revoked(std::function<void(const Peer&)> f);

  std::uint16_t port() const;
  const TransportStats& stats() const;

 private:
  std::shared_ptr<TransportState> state_;
};

}  // namespace stek::server

// MtlsTransport: stekd's HTTPS port on Boost.Beast. Accepts TLS connections that must present
// a client certificate (checked against the client CA and CRLs, revocation.h), reads HTTP/1.1
// requests within size and time limits, and writes what the HttpHandler answers. Knows nothing of
// keys or paths. One asio event loop: thousands of long polls cost a timer and a socket each, not a
// thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "stek/result.h"

#include "config.h"
#include "http_handler.h"

namespace boost::asio {
class io_context;
}

namespace stek::server {

struct TransportLimits {
  std::size_t max_connections = 20000;
  std::size_t header_bytes = 8192;  // larger headers: 431
  std::size_t body_bytes = 4096;    // larger bodies: 413
  std::chrono::seconds handshake_timeout{10};
  std::chrono::seconds idle_timeout{60};  // between requests, and for each read and write
};

struct TlsFiles {
  std::filesystem::path cert;              // server certificate chain (PEM)
  std::filesystem::path key;               // its private key
  std::filesystem::path client_ca;         // CA that client certificates must chain to
  std::vector<std::filesystem::path> crl;  // CRLs client certificates are checked against
};

struct TransportStats {
  std::uint64_t connections_open = 0;
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
  // included. Also done at every accept and once a second. On a file that cannot be loaded
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

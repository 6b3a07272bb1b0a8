// Test support: full TLS handshakes between an OpenSSL client and server in one process over
// a memory BIO pair (no sockets, no threads), a throwaway certificate, and a way to put
// arbitrary ticket bytes into a client session. Used by unit tests, the fuzz target and the
// benchmarks; not part of the library's API.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <openssl/ssl.h>

#include "stek/bytes.h"
#include "stek/ossl_ptr.h"

namespace stek::testing {

using SslCtxPtr = UniquePtr<SSL_CTX>;
using SessionPtr = UniquePtr<SSL_SESSION>;

// A P-256 key and a self-signed certificate for "localhost", made once per process.
struct TestIdentity {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
};
const TestIdentity& test_identity();

// version: TLS1_2_VERSION or TLS1_3_VERSION (min = max).
SslCtxPtr make_server_ctx(int version);
SslCtxPtr make_client_ctx(int version);

struct Handshake {
  bool ok = false;       // both sides finished the handshake
  bool resumed = false;  // the server resumed (SSL_session_reused)
  std::string error;     // what failed, if !ok
  SessionPtr session;    // the client's newest session (with the newest ticket)
  Bytes ticket() const;  // that session's ticket, empty if none
  std::string ticket_name_hex() const;
};

struct HandshakeOptions {
  SSL_SESSION* resume = nullptr;               // offer this session
  std::function<void(SSL*)> configure_client;  // before the handshake
  std::function<void(SSL*)> configure_server;
  // Called after each round of the handshake pump (client step, server step): lets a test
  // change the server's keys between the flights of one handshake.
  std::function<void(int round)> between_rounds;
  // false: the server's SSL is freed without SSL_shutdown (no close_notify from the server),
  // as when a client drops the connection first.
  bool server_shutdown = true;
};

// Runs one handshake and lets the client read the server's TLS 1.3 tickets.
Handshake handshake(SSL_CTX* server, SSL_CTX* client, const HandshakeOptions& options = {});

// A copy of session whose ticket is replaced by ticket (any bytes, any length): for forged,
// truncated and bit-flipped tickets. Rewrites the session's DER encoding.
SessionPtr with_ticket(SSL_SESSION* session, ByteView ticket);

}  // namespace stek::testing

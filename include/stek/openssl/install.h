// libstek on an SSL_CTX: install() serves tickets from TicketKeys through OpenSSL's ticket key
// callback with safe defaults; enable_stateful_tickets() is the STEK-less alternative.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include <openssl/ssl.h>

#include "stek/bytes.h"
#include "stek/clock.h"
#include "stek/key.h"
#include "stek/openssl/ticket_keys.h"
#include "stek/result.h"

namespace stek::openssl {

enum class EarlyData {
  off,  // default: no 0-RTT
  // 0-RTT with OpenSSL's anti-replay: OpenSSL then makes TLS 1.3 tickets single-use and
  // stateful (server cache), so the ring is NOT used for TLS 1.3 tickets and 0-RTT works only
  // on the server that issued the ticket.
  single_use,
  // 0-RTT on ring tickets with SSL_OP_NO_ANTI_REPLAY: any server of the domain accepts the
  // same early data again for the ticket's lifetime. Only for requests that are safe to
  // replay (RFC 8470); see docs/libstek.md.
  replayable,
};

struct InstallOptions {
  // Lifetime hint and session timeout. Default: H x I of the ring's schedule (the standard
  // schedule's 18 h if none is loaded yet). Always capped at 7 days (RFC 8446).
  std::optional<std::chrono::seconds> lifetime;
  EarlyData early_data = EarlyData::off;
  std::uint32_t max_early_data = 16384;  // when early data is on
  // TLS 1.3 resumption without (EC)DHE (psk_ke) has no forward secrecy against a stolen
  // STEK. Off: the callback refuses tickets on connections that allow it.
  bool allow_psk_ke = false;
  // Issue a new ticket after every TLS 1.3 resumption, not only when the key was not the
  // current one. With a ticket key callback OpenSSL sends a TLS 1.3 ticket after a resumption
  // only when the callback asks for renewal (nginx's never does for its current key); OpenSSL's
  // built-in keys always renew. Clients that use a ticket once (RFC 8446 C.4; OpenSSL, GnuTLS
  // and BoringSSL clients) otherwise get a full handshake every other time (measured:
  // BM_ResumeLibstekNoFresh13). TLS 1.2 renews only for non-current keys either way.
  bool fresh_tls13_tickets = true;
  // Count final outcomes (MAC failures) with SSL_CTX_set_session_ticket_cb. Turn off if the
  // application installs its own session ticket callbacks.
  bool observe_outcomes = true;
  // Session id context to set (nginx interop: see nginx_session_id_context). Empty: unchanged.
  Bytes session_id_context;
};

// Serves tickets from keys on ctx: clears SSL_OP_NO_TICKET and SSL_OP_ALLOW_NO_DHE_KEX, sets
// the session timeout and early data per options, and installs the ticket key callback. The
// SSL_CTX holds a reference to keys. With SNI, install on every SSL_CTX a connection may switch
// to.
Status install(SSL_CTX* ctx, std::shared_ptr<TicketKeys> keys, const InstallOptions& options = {});

// The session id context nginx 1.x sets on a server block (measured against nginx 1.22, see
// docs/libstek.md): SHA-1 over the module's name ("HTTP" for http, "STREAM" for stream), then the
// SHA-1 of each certificate's DER in the order of its ssl_certificate directives, then the
// SHA-1 of each client CA name when client certificates are verified. OpenSSL refuses to resume
// a session made under another context, so a libstek server that shares keys with nginx must
// set the same one (InstallOptions::session_id_context).
Result<Bytes> nginx_session_id_context(std::span<X509* const> certificates,
                                       const STACK_OF(X509_NAME) * client_cas = nullptr,
                                       std::string_view module = "HTTP");
// The same for the certificate loaded into ctx and its client CA list.
Result<Bytes> nginx_session_id_context(SSL_CTX* ctx, std::string_view module = "HTTP");

// STEK-less mode.

struct StatefulOptions {
  std::size_t cache_size = 20480;          // sessions held; the oldest are evicted beyond it
  std::chrono::seconds timeout{2 * 3600};  // session lifetime, capped at 7 days
  const Clock* clock = nullptr;            // expiry checks; default: the system clock
  // This server's prefix: every session id (the TLS 1.2 id, each TLS 1.3 ticket) begins with
  // these 16 bytes, followed by 16 random ones, so a load balancer that routes by a ticket's
  // first 16 bytes (contrib/haproxy/stek_route.lua, docs/routing.md) sends a resuming client
  // back to this server. Unique per server; not secret. Unset: OpenSSL's 32 random bytes.
  std::optional<KeyName> server_prefix = std::nullopt;
};
// STEK-less: tickets are opaque ids of sessions held in this process's cache (TLS 1.3
// stateful tickets, TLS 1.2 session ids). Nothing in a ticket can be decrypted by anyone.
// Resumption works only on this process; with options.server_prefix a load balancer can route
// each resuming client back to it.
// The sessions are kept by libstek (serialised, wiped when dropped), not in OpenSSL's internal
// cache, so a session stays resumable when its connection ends without the server's
// close_notify (OpenSSL's internal cache drops it then). Replaces the SSL_CTX's session cache
// callbacks; sets an info callback (to forget sessions after fatal alerts) unless one is set.
Status enable_stateful_tickets(SSL_CTX* ctx, const StatefulOptions& options = {});
// Sessions held now for ctx in STEK-less mode (0 if the mode is not enabled on ctx).
std::size_t stateful_sessions(const SSL_CTX* ctx);

}  // namespace stek::openssl

// What stek-scan records: one Connection per TLS connection it makes, one PskKeProbe per
// psk_ke test, and the ScanData of a whole run. Plain values: the analysis and the
// reports are pure functions of them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stek/key.h"

#include "layout.h"
#include "ticket.h"

namespace stek::scan {

using Millis = std::int64_t;  // Unix time in milliseconds

struct Endpoint {
  std::string host;  // name or address, as given
  std::uint16_t port = 443;
  std::string sni;            // empty: no server_name extension
  bool sni_in_label = false;  // vhosts: one address under several names
  std::string label() const;  // host:port ([v6]:port); sni@host:port when sni_in_label
};

// How one connection ended. Everything but `ok` means no TLS session was made.
enum class ProbeStatus {
  ok,                // handshake completed
  resolve_failed,    // the name did not resolve within the timeout
  refused,           // TCP connection refused
  connect_timeout,   // no TCP connection within the timeout
  connect_failed,    // any other socket error (unreachable network, ...)
  not_tls,           // the peer answered, but not with TLS
  handshake_failed,  // TLS alert or protocol error during the handshake
  timeout,           // the handshake did not finish within the timeout
  closed,            // the peer closed the connection during the handshake
};
std::string_view probe_status_name(ProbeStatus s);

enum class ConnKind {
  fresh,    // offers no ticket: what the server issues now
  resume,   // offers this endpoint's previous ticket
  cross,    // offers a ticket another endpoint (or server name, vhosts) issued
  retired,  // offers the oldest ticket of a key name the endpoint stopped issuing
  aged,     // offers an older ticket of this endpoint, whatever its layout (end of a watch)
};
std::string_view conn_kind_name(ConnKind k);

struct TicketSeen {
  std::size_t length = 0;
  // The key name (or Java's 4-byte key id, zero-padded) under the layout guessed for the
  // endpoint from all its tickets (settle_layouts); unset when no name is in clear.
  std::optional<KeyName> key_name;
  TicketShape shape;                // length and first 16 bytes, to judge the layout
  LayoutGuess layout;               // from this ticket alone
  std::uint32_t lifetime_hint = 0;  // seconds
  ZeroKeyCheck zero_key;
};

struct CertCheck {
  bool verified = false;
  std::string error;  // why verification failed; empty when verified
};

struct Connection {
  Millis time_ms = 0;  // when the connection started
  std::int64_t duration_ms = 0;
  std::string endpoint;  // Endpoint::label()
  std::string sni;
  ConnKind kind = ConnKind::fresh;
  ProbeStatus status = ProbeStatus::ok;
  std::string detail;       // human-readable cause when status != ok
  std::string tls_version;  // "TLSv1.3"
  std::string cipher;
  std::optional<CertCheck> cert;  // full handshakes only
  // The ticket offered for resumption, if any.
  std::optional<KeyName> offered_key_name;
  std::optional<TicketShape> offered_shape;
  bool offered_ticket = false;
  std::string offered_from;  // endpoint that issued it
  Millis offered_issued_ms = 0;
  bool resumed = false;
  bool renewed = false;  // resumed, and the server sent a new ticket on this connection
  std::vector<TicketSeen> tickets;
};

enum class PskKeResult {
  accepted,      // the server resumed with psk_ke alone: no (EC)DHE, no forward secrecy
  rejected,      // it refused psk_ke but resumed the same ticket with psk_dhe_ke
  inconclusive,  // it refused psk_ke and also the psk_dhe_ke control (ticket not usable)
  error,         // the probe itself failed (connection, timeout, malformed reply)
  not_tested,    // no TLS 1.3 ticket to offer (TLS 1.2 only, or no ticket)
};
std::string_view psk_ke_result_name(PskKeResult r);

struct PskKeProbe {
  Millis time_ms = 0;
  std::string endpoint;
  std::optional<KeyName> ticket_key_name;
  PskKeResult result = PskKeResult::error;
  std::string detail;          // what the server answered to psk_ke
  std::string control_detail;  // what it answered to psk_dhe_ke, when that was tried
};

enum class Mode { once, watch, compare, vhosts };
std::string_view mode_name(Mode m);

struct ScanData {
  Mode mode = Mode::once;
  Millis started_ms = 0;
  Millis finished_ms = 0;
  std::int64_t every_ms = 0;     // watch: time between steps
  std::int64_t duration_ms = 0;  // watch: requested duration
  bool interrupted = false;      // stopped early (SIGINT)
  std::vector<Endpoint> endpoints;
  std::map<std::string, LayoutGuess> layouts;  // per endpoint label, from all its tickets
  std::vector<Connection> connections;
  std::vector<PskKeProbe> psk_ke;
};

}  // namespace stek::scan

// What a load balancer can read from the first bytes of a TLS connection to route a resuming
// client back to the server that issued its ticket: the key name (first 16 bytes) of the TLS
// 1.3 pre_shared_key first identity, else of the TLS 1.2 SessionTicket, else the first 16
// bytes of the legacy session id (where a STEK-less libstek server puts its server prefix).
// The C++ twin of contrib/haproxy/stek_route.lua, with the same rules (docs/routing.md), for
// tests and fuzzing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "stek/key.h"

namespace stek::route {

// Per-connection verdict; only `routed` carries a key name.
enum class HelloVerdict {
  routed,      // a ticket, PSK identity or session id of at least 16 bytes: `name` is its first 16
  no_ticket,   // a well-formed ClientHello that offers none of them (or only shorter ones)
  incomplete,  // fewer bytes than the record announces, or a hello split over records
  malformed,   // not a TLS ClientHello, bad lengths, duplicate ticket or PSK extensions
};

// Where a routed name was read. A session id names a server only when a STEK-less server
// chose it (a TLS 1.2 resumption); TLS 1.3 clients send 32 random bytes there, which no map
// holds, so such a connection is balanced as usual.
enum class NameSource { none, psk_identity, session_ticket, session_id };

struct HelloRoute {
  HelloVerdict verdict = HelloVerdict::malformed;
  KeyName name{};
  NameSource source = NameSource::none;
};

// Largest TLS record plaintext (RFC 8446 5.1); a longer record is malformed.
inline constexpr std::size_t kMaxRecord = 16384;

// Reads the start of a connection (the first record must hold the whole ClientHello).
// Reads nothing beyond `start`; never fails otherwise.
HelloRoute ticket_key_name(std::span<const std::uint8_t> start);

}  // namespace stek::route

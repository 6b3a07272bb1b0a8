// Which TLS stack's ticket layout a ticket has, from its bytes and length alone, and where
// its key name (or key id) is. The layouts, as measured on Debian 12's servers:
//   OpenSSL/BoringSSL-style  name 16 | IV 16 | AES-CBC (n * 16) | HMAC-SHA256 32    len % 16 == 0
//   GnuTLS 3.7               name 16 | IV 16 | len 2 | AES-CBC (len) | HMAC-SHA1 20   len % 16 == 6
//   NSS 3.87                 name 16 | IV 16 | len 2 | AES-CBC (len) | HMAC-SHA256 32 len % 16 == 2
//   Go crypto/tls < 1.21     name 16 | IV 16 | AES-CTR (any length) | HMAC-SHA256 32
//   Java JSSE (OpenJDK 17)   key id 4 | IV 12 | AES-GCM (any length) | tag 16
// s2n and rustls 0.23 also put a 16-byte name first, then a 12-byte nonce and AES-GCM; they
// cannot be told from Go by bytes and are reported as "go" when the length does not fit a
// stricter layout (the key name is found all the same). One ticket says little; several tickets of
// one endpoint say more: tickets under one key share their key name and differ right after it (the
// IV). Pure functions over untrusted bytes.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "stek/bytes.h"
#include "stek/key.h"

namespace stek::scan {

enum class TicketLayout {
  unknown,  // no key name in clear that stek-scan can find
  openssl,  // also BoringSSL, nginx, HAProxy, Apache, libstek
  gnutls,
  nss,
  go,    // Go crypto/tls before 1.21 (Caddy 2.6), or another 16-byte-name-first layout
  java,  // OpenJDK JSSE: a 4-byte key id
};
std::string_view layout_name(TicketLayout l);

enum class Confidence { low, medium, high };
std::string_view confidence_name(Confidence c);

inline constexpr std::size_t kTicketHeadSize = 16;

// What stek-scan keeps of a ticket to judge its layout: its length and first 16 bytes (a
// key name and the start of an IV: public, sent in clear; never plaintext or keys).
struct TicketShape {
  std::size_t length = 0;
  std::array<std::uint8_t, kTicketHeadSize> head{};
  bool operator==(const TicketShape&) const = default;
};
TicketShape shape_of(ByteView ticket);

struct LayoutGuess {
  TicketLayout layout = TicketLayout::unknown;
  Confidence confidence = Confidence::low;
  std::string reason;             // the evidence, for people
  std::size_t name_size() const;  // bytes of key name or id at the start; 0 for unknown
};

// From one ticket: its length, and the length field GnuTLS and NSS write.
LayoutGuess guess_ticket_layout(ByteView ticket);

// From all tickets one endpoint issued (in time order): the per-ticket guesses, and which
// prefixes tickets share. Tickets under one key share their name and differ after it.
LayoutGuess guess_endpoint_layout(std::span<const TicketShape> tickets,
                                  std::span<const LayoutGuess> per_ticket);

// The key name (or id, zero-padded to 16 bytes) of a ticket under a guessed layout.
std::optional<KeyName> key_name_under(const LayoutGuess& layout, const TicketShape& ticket);

}  // namespace stek::scan

// Session tickets as a client sees them. OpenSSL-family servers (nginx, HAProxy, Apache,
// libstek, and OpenSSL's own default) lay a ticket out as
//   key name (16) | IV (16) | AES-CBC ciphertext (n * 16) | HMAC-SHA256 (32)
// with the HMAC over everything before it. Pure functions over untrusted bytes: every
// length is checked, nothing throws, and no key or plaintext byte ever leaves this file.
#pragma once

#include <cstddef>
#include <optional>

#include "stek/key.h"
#include "stek/secret.h"

namespace stek::scan {

// The layout's sizes are kTicketIvSize, kTicketMacSize, ... in stek/key.h.

struct TicketParts {
  KeyName name;
  ByteView iv;
  ByteView ciphertext;
  ByteView mac;
  ByteView authenticated;  // name | IV | ciphertext: what the HMAC covers
};

// Splits a ticket whose length fits the OpenSSL-family layout; nullopt when it cannot be
// one (then the first 16 bytes are not known to be a key name). A length that fits is
// evidence, not proof: other formats may happen to have such a length.
std::optional<TicketParts> split_openssl_ticket(ByteView ticket);

// Result of trying all-zero keys on one observed ticket.
struct ZeroKeyCheck {
  bool applicable = false;  // the ticket has the OpenSSL-family layout
  bool hmac_zero = false;   // its HMAC-SHA256 verifies under an all-zero key
  int aes_zero_bits = 0;    // 128 or 256: it decrypts under an all-zero AES-CBC key to
                            // one well-formed DER structure; 0 otherwise
  bool found() const { return hmac_zero || aes_zero_bits != 0; }
};

// Tries HMAC-SHA256 with all-zero keys of 16 and 32 bytes (the sizes nginx, HAProxy,
// Apache and libstek use) and AES-128-CBC / AES-256-CBC with all-zero keys. The decrypted
// session (which holds the session's master secret) is wiped and never returned.
ZeroKeyCheck check_zero_key(ByteView ticket);

}  // namespace stek::scan

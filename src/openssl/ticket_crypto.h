// Internal: the OpenSSL algorithms behind stek tickets, fetched once per process, and the key
// setup shared by TicketCodec and the SSL_CTX callback so both produce the same tickets.
#pragma once

#include <openssl/evp.h>

#include "stek/key.h"

namespace stek::openssl::detail {

struct Algorithms {
  EVP_CIPHER* aes128_cbc = nullptr;
  EVP_CIPHER* aes256_cbc = nullptr;
  EVP_MAC* hmac = nullptr;
  bool ok() const { return aes128_cbc && aes256_cbc && hmac; }
};

// Fetched on first use and kept for the life of the process (fetching per ticket costs a
// lookup in OpenSSL's method store on every handshake).
const Algorithms& algorithms();

// AES-256-CBC for 32-byte AES keys, AES-128-CBC for 16-byte ones.
const EVP_CIPHER* cipher_for(const TicketKey& key);

// Initialises an HMAC-SHA256 context with the key's HMAC key (digest and key in one call, as
// OpenSSL's ticket callback contract expects for a fresh context). Returns false on failure.
bool init_ticket_hmac(EVP_MAC_CTX* mac, const TicketKey& key);

}  // namespace stek::openssl::detail

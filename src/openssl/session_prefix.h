// Internal: session ids of a STEK-less server that begin with its server prefix. A load
// balancer reads the first 16 bytes of a TLS 1.3 ticket (here the session id) or of a TLS 1.2
// session id in the clear, where it reads a key name from a STEK ticket, and routes the
// resuming client back to the one server that holds the session (docs/routing.md).
#pragma once

#include <cstdint>
#include <span>

#include "stek/key.h"
#include "stek/random.h"
#include "stek/result.h"

namespace stek::openssl::detail {

// Random bytes after the prefix: 128 bits, so ids of one server never collide in practice.
inline constexpr std::size_t kSessionIdRandomMin = 16;

// Writes `prefix` then random bytes over all of `id`. Refuses an id with fewer than
// kSessionIdRandomMin bytes after the prefix (OpenSSL offers 32: 16 + 16).
Status fill_prefixed_session_id(const KeyName& prefix, std::span<std::uint8_t> id, Random& random);

}  // namespace stek::openssl::detail

// Random: the one source of random bytes. Injected so tests can pin bytes.
#pragma once

#include <cstdint>
#include <span>

#include "stek/key.h"
#include "stek/result.h"
#include "stek/secret.h"

namespace stek {

class Random {
 public:
  virtual ~Random() = default;
  // Fills out with cryptographically strong random bytes.
  virtual Status fill(std::span<std::uint8_t> out) = 0;
};

// OpenSSL's DRBG (RAND_bytes).
class SystemRandom final : public Random {
 public:
  Status fill(std::span<std::uint8_t> out) override;
};

Result<SecretBytes> random_secret(Random& random, std::size_t n);
// A fresh random key of the given product size, checked for hygiene.
Result<TicketKey> random_ticket_key(Random& random, KeySize size);

}  // namespace stek

// Random bytes from OpenSSL's DRBG, and fresh random keys.
#include "stek/random.h"

#include <algorithm>

#include <openssl/rand.h>

#include "stek/key.h"

namespace stek {

Status SystemRandom::fill(std::span<std::uint8_t> out) {
  if (out.empty()) return {};
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    return make_error(Errc::crypto, "RAND_bytes failed: the system random source is unavailable");
  }
  return {};
}

Result<SecretBytes> random_secret(Random& random, std::size_t n) {
  SecretBytes out(n);
  STEK_TRY(random.fill(out.mutable_view()));
  return out;
}

Result<TicketKey> random_ticket_key(Random& random, KeySize size) {
  const std::size_t part = secret_size(size);
  STEK_ASSIGN_OR_RETURN(SecretBytes all, random_secret(random, kKeyNameSize + 2 * part));
  KeyName name{};
  std::copy_n(all.data(), kKeyNameSize, name.begin());
  return TicketKey::make(name, SecretBytes::copy_of(all.view(16, part)),
                         SecretBytes::copy_of(all.view(16 + part, part)));
}

}  // namespace stek

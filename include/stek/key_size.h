// The one place that says how big a ticket key's secrets are for each KeySize.
#pragma once

#include <cstddef>

#include "stek/key.h"

namespace stek {

// Bytes of each secret (HMAC key, AES key) in a key of this size: 16 or 32.
constexpr std::size_t secret_size(KeySize size) {
  return size == KeySize::k80 ? 32 : 16;
}
static_assert(kKeyNameSize + 2 * secret_size(KeySize::k48) == 48);
static_assert(kKeyNameSize + 2 * secret_size(KeySize::k80) == 80);

}  // namespace stek

// Internal: a lifetime in seconds as SSL_CTX_set_timeout takes it, within stek's bounds.
#pragma once

#include <algorithm>
#include <cstdint>

#include "stek/schedule.h"

namespace stek::openssl::detail {

inline long capped_seconds(std::int64_t seconds) {
  return static_cast<long>(std::clamp<std::int64_t>(seconds, 1, kMaxTicketLifetime));
}

}  // namespace stek::openssl::detail

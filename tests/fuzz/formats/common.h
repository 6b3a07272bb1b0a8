// Shared by the format fuzz targets: the fixed "now" they read with, and ring invariants
// every successfully parsed ring must satisfy.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "stek/formats.h"
#include "stek/ring.h"

namespace stek::fuzz {

// Inside epoch 498754 of the default schedule; the h2o seeds are valid at this time.
inline constexpr UnixSeconds kNow = 1795514407;

[[noreturn]] inline void fail(const char* what) {
  // The message names the broken invariant only; never key bytes.
  std::fprintf(stderr, "invariant violated: %s\n", what);
  std::abort();
}

inline void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

// What KeyRing::make promises: one encrypting key first, canonical role order, no expired
// keys, unique names, and find() agreeing with a linear scan.
inline void check_ring(const KeyRing& ring) {
  check(ring.size() > 0, "ring is empty");
  check(ring.encrypting().meta.role == KeyRole::encrypt, "first key does not encrypt");
  int encrypting = 0;
  int last_rank = 0;
  for (const RingKey& k : ring.keys()) {
    const KeyRole r = k.meta.role;
    check(r != KeyRole::expired, "expired key in ring");
    encrypting += r == KeyRole::encrypt;
    const int rank = r == KeyRole::encrypt   ? 0
                     : r == KeyRole::next    ? 1
                     : r == KeyRole::decrypt ? 2
                                             : 3;
    check(rank >= last_rank, "keys out of canonical order");
    last_rank = rank;
    auto m = ring.find(k.key.name());
    if (role_decrypts(r)) {
      check(m.has_value(), "decrypting key not found by name");
      check(m->key == &k, "find returned another key");
      check(m->renew == (r != KeyRole::encrypt), "wrong renew decision");
    } else {
      check(!m.has_value(), "pending key found by name");
    }
  }
  check(encrypting == 1, "not exactly one encrypting key");
}

// Same names, roles and key bytes, in the same order.
inline bool same_keys(const KeyRing& a, const KeyRing& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const RingKey& x = a.keys()[i];
    const RingKey& y = b.keys()[i];
    if (x.key.name() != y.key.name() || x.meta.role != y.meta.role ||
        !x.key.hmac_key().equals(y.key.hmac_key().view()) ||
        !x.key.aes_key().equals(y.key.aes_key().view())) {
      return false;
    }
  }
  return true;
}

}  // namespace stek::fuzz

// Key rings for libstek's OpenSSL tests: random keys with epochs and a schedule, as stek-agent
// would hand them to a host.
#pragma once

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "stek/formats.h"
#include "stek/random.h"
#include "stek/ring.h"

namespace stek::openssl::test {

// The time the tests are set at.
inline constexpr UnixSeconds kNow = 1'700'000'000;

// Keys for epochs first..last (newest first) of one domain, roles as of t.
inline KeyRing make_ring(const Schedule& schedule, UnixSeconds t, Epoch first, Epoch last,
                         KeySize size = KeySize::k80, std::uint64_t version = 1) {
  SystemRandom random;
  std::vector<RingKey> keys;
  for (Epoch e = last; e >= first; --e) {
    auto key = random_ticket_key(random, size);
    EXPECT_TRUE(key.ok());
    KeyMeta meta;
    meta.epoch = e;
    meta.domain = "test";
    meta.role = schedule.role(e, t);
    if (meta.role == KeyRole::expired) continue;
    keys.push_back({std::move(key).value(), meta});
  }
  RingInfo info;
  info.schedule = schedule.params();
  info.version = version;
  auto ring = KeyRing::make(std::move(keys), info);
  EXPECT_TRUE(ring.ok()) << ring.error().message;
  return std::move(ring).value();
}

// The full window a host holds at t: e-H .. e+L.
inline KeyRing make_window_ring(const Schedule& schedule, UnixSeconds t,
                                KeySize size = KeySize::k80, std::uint64_t version = 1) {
  const EpochRange w = schedule.held_window(t);
  return make_ring(schedule, t, w.first, w.last, size, version);
}

// The key of one epoch in a ring.
inline const RingKey& key_of_epoch(const KeyRing& ring, Epoch e) {
  for (const RingKey& k : ring.keys()) {
    if (k.meta.epoch == e) return k;
  }
  ADD_FAILURE() << "no key for epoch " << e;
  return ring.encrypting();
}

inline std::string json_of(const KeyRing& ring) {
  auto bytes = write_key_file(Format::json, ring);
  EXPECT_TRUE(bytes.ok());
  return std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size());
}

}  // namespace stek::openssl::test

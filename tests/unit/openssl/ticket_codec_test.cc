// TicketCodec: OpenSSL-layout tickets sealed and opened outside a handshake.
#include <numeric>

#include <gtest/gtest.h>

#include "stek/bytes.h"
#include "stek/openssl.h"

#include "ring_fixtures.h"

namespace stek::openssl {
namespace {

using test::make_window_ring;

using test::kNow;

TicketKey counting_key(std::size_t part) {
  KeyName name;
  std::iota(name.begin(), name.end(), 0);
  Bytes hmac(part);
  Bytes aes(part);
  std::iota(hmac.begin(), hmac.end(), 0x20);
  std::iota(aes.begin(), aes.end(), 0x40);
  auto key = TicketKey::make(name, SecretBytes::copy_of(hmac), SecretBytes::copy_of(aes));
  EXPECT_TRUE(key.ok());
  return std::move(key).value();
}

TicketCodec codec() {
  return std::move(TicketCodec::make()).value();
}

ByteView text(std::string_view s) {
  return as_bytes(s);
}

// Vectors computed independently with Python's `cryptography` package: name = 00..0f,
// HMAC key = 20.., AES key = 40.. (32 or 16 bytes counting up), IV = 60..6f,
// ciphertext = AES-CBC(PKCS#7("stek ticket test vector")), MAC = HMAC-SHA256(name|IV|ct).
TEST(TicketCodec, MatchesIndependentVectorFor80ByteKey) {
  const TicketKey key = counting_key(32);
  Bytes iv(16);
  std::iota(iv.begin(), iv.end(), 0x60);
  auto t = codec().seal_with(key, iv, text("stek ticket test vector"));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(to_hex(*t),
            "000102030405060708090a0b0c0d0e0f606162636465666768696a6b6c6d6e6f2982a09eff8c980a369a"
            "d97fa070cb39fb70f277c5cb4caf02f7af79bae4874a453c75073b188e359b5801427648cdb2b3211c3a"
            "eba03924118aab45ac109c2f");
}

TEST(TicketCodec, MatchesIndependentVectorFor48ByteKey) {
  const TicketKey key = counting_key(16);
  Bytes iv(16);
  std::iota(iv.begin(), iv.end(), 0x60);
  auto t = codec().seal_with(key, iv, text("stek ticket test vector"));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(to_hex(*t),
            "000102030405060708090a0b0c0d0e0f606162636465666768696a6b6c6d6e6f0ebb3651ea990edcadc2"
            "41eb76d5da945113a5115d1c359d35cc93aae1ad3d72fb4b04f773a99762bd84865de0e217199eef33b3"
            "25d485487a702c27df802fb5");
}

TEST(TicketCodec, OpensWhatItSeals) {
  for (KeySize size : {KeySize::k80, KeySize::k48}) {
    const KeyRing ring = make_window_ring(Schedule::standard(), kNow, size);
    SystemRandom random;
    TicketCodec c = codec();
    for (std::size_t n : {0, 1, 15, 16, 17, 200, 1000}) {
      Bytes plain(n, 0x5a);
      auto sealed = c.seal(ring, plain, random);
      ASSERT_TRUE(sealed.ok());
      EXPECT_EQ(sealed->size(), 16 + 16 + (n / 16 + 1) * 16 + 32);
      OpenedTicket opened = c.open(ring, *sealed);
      ASSERT_EQ(opened.result, TicketResult::ok) << n;
      EXPECT_TRUE(constant_time_equal(opened.plaintext(), plain));
    }
  }
}

TEST(TicketCodec, AsksRenewalForEveryKeyButTheCurrentOne) {
  const Schedule schedule = Schedule::standard();
  const KeyRing ring = make_window_ring(schedule, kNow);
  TicketCodec c = codec();
  Bytes iv(16, 1);
  iv[0] = 2;
  const Epoch e = schedule.epoch_at(kNow);
  for (const RingKey& k : ring.keys()) {
    auto sealed = c.seal_with(k.key, iv, text("session"));
    ASSERT_TRUE(sealed.ok());
    const TicketResult got = c.open(ring, *sealed).result;
    const Epoch ke = *k.meta.epoch;
    if (ke == e) {
      EXPECT_EQ(got, TicketResult::ok);
    } else if (ke >= e - schedule.history() && ke <= e + 1) {
      EXPECT_EQ(got, TicketResult::renew) << "epoch " << ke;
    } else {
      EXPECT_EQ(got, TicketResult::unknown_key)
          << "pending key of epoch " << ke << " must not open";
    }
  }
}

TEST(TicketCodec, KeyOfAnotherRingIsUnknown) {
  const KeyRing mine = make_window_ring(Schedule::standard(), kNow);
  const KeyRing theirs = make_window_ring(Schedule::standard(), kNow);
  SystemRandom random;
  TicketCodec c = codec();
  auto sealed = c.seal(theirs, text("session"), random);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(c.open(mine, *sealed).result, TicketResult::unknown_key);
}

TEST(TicketCodec, EveryTruncationIsRejected) {
  const KeyRing ring = make_window_ring(Schedule::standard(), kNow);
  SystemRandom random;
  TicketCodec c = codec();
  auto sealed = c.seal(ring, Bytes(150, 7), random);
  ASSERT_TRUE(sealed.ok());
  for (std::size_t n = 0; n < sealed->size(); ++n) {
    const TicketResult r = c.open(ring, ByteView(sealed->data(), n)).result;
    EXPECT_TRUE(r == TicketResult::invalid || r == TicketResult::unknown_key) << n;
  }
  Bytes longer = *sealed;
  longer.push_back(0);
  EXPECT_EQ(c.open(ring, longer).result, TicketResult::invalid);
}

TEST(TicketCodec, EveryBitFlipIsRejected) {
  const KeyRing ring = make_window_ring(Schedule::standard(), kNow);
  SystemRandom random;
  TicketCodec c = codec();
  auto sealed = c.seal(ring, Bytes(40, 9), random);
  ASSERT_TRUE(sealed.ok());
  for (std::size_t i = 0; i < sealed->size() * 8; ++i) {
    Bytes t = *sealed;
    t[i / 8] ^= static_cast<std::uint8_t>(1u << (i % 8));
    const TicketResult r = c.open(ring, t).result;
    if (i < 16 * 8) {
      EXPECT_EQ(r, TicketResult::unknown_key) << "bit " << i;  // the name changed
    } else {
      EXPECT_EQ(r, TicketResult::invalid) << "bit " << i;
    }
  }
}

TEST(TicketCodec, ForgedMacUnderKnownNameIsInvalid) {
  const KeyRing ring = make_window_ring(Schedule::standard(), kNow);
  Bytes forged(kMinTicketSize + 64, 0x33);
  std::copy_n(ring.encrypting().key.name().begin(), kKeyNameSize, forged.begin());
  EXPECT_EQ(codec().open(ring, forged).result, TicketResult::invalid);
}

TEST(TicketCodec, RefusesBadIvSize) {
  auto t = codec().seal_with(counting_key(32), Bytes(12, 1), text("x"));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, Errc::bad_size);
}

TEST(TicketCodec, SealsUnderTheEncryptingKey) {
  const KeyRing ring = make_window_ring(Schedule::standard(), kNow);
  SystemRandom random;
  auto sealed = codec().seal(ring, text("s"), random);
  ASSERT_TRUE(sealed.ok());
  EXPECT_TRUE(std::equal(ring.encrypting().key.name().begin(), ring.encrypting().key.name().end(),
                         sealed->begin()));
}

}  // namespace
}  // namespace stek::openssl

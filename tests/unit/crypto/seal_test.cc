// Sealing at rest (AES-256-GCM under the KEK): layout, round trip, and that any change to the
// key, the associated data or any byte of the sealed record is Errc::integrity.
#include "stek/seal.h"

#include <string>

#include <gtest/gtest.h>

#include "stek/bytes.h"

#include "testing/keys.h"

namespace stek {
namespace {

using testing::pattern_bytes;

// Hands out one fixed byte for every request (the nonce), or fails.
class FixedRandom final : public Random {
 public:
  Status fill(std::span<std::uint8_t> out) override {
    if (fail) return make_error(Errc::crypto, "no randomness in this test");
    for (auto& b : out) b = 0xa5;
    return {};
  }
  bool fail = false;
};

Kek kek(std::uint64_t seed) {
  return make_kek(pattern_bytes(seed, kKekSize)).value();
}

TEST(SealTest, SealedRecordIsNonceCiphertextTagAndOpensAgain) {
  FixedRandom random;
  const SecretBytes secret = pattern_bytes(1, 32);
  auto sealed = seal(kek(7), secret.view(), "stek/state/v1 epoch 5", random);
  ASSERT_TRUE(sealed.ok());
  ASSERT_EQ(sealed->size(), kSealNonceSize + 32 + kSealTagSize);
  EXPECT_EQ(to_hex(ByteView(sealed->data(), kSealNonceSize)), "a5a5a5a5a5a5a5a5a5a5a5a5");
  EXPECT_FALSE(ByteView(sealed->data() + kSealNonceSize, 32).size() == 0);
  EXPECT_FALSE(secret.equals(ByteView(sealed->data() + kSealNonceSize, 32)));
  auto opened = unseal(kek(7), *sealed, "stek/state/v1 epoch 5");
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_TRUE(opened->equals(secret.view()));
}

TEST(SealTest, EmptyPlaintextRoundTrips) {
  SystemRandom random;
  auto sealed = seal(kek(7), ByteView{}, "aad", random);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->size(), kSealNonceSize + kSealTagSize);
  auto opened = unseal(kek(7), *sealed, "aad");
  ASSERT_TRUE(opened.ok());
  EXPECT_TRUE(opened->empty());
}

TEST(SealTest, FlippedBitAnywhereIsAnIntegrityError) {
  SystemRandom random;
  const SecretBytes secret = pattern_bytes(2, 32);
  const Bytes sealed = seal(kek(7), secret.view(), "aad", random).value();
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    Bytes bad = sealed;
    bad[i] ^= 0x01;
    auto r = unseal(kek(7), bad, "aad");
    ASSERT_FALSE(r.ok()) << "byte " << i;
    EXPECT_EQ(r.error().code, Errc::integrity) << "byte " << i;
  }
}

TEST(SealTest, OtherKekOrOtherAssociatedDataIsAnIntegrityError) {
  SystemRandom random;
  const Bytes sealed =
      seal(kek(7), pattern_bytes(3, 32).view(), "stek/state/v1 epoch 5", random).value();
  EXPECT_EQ(unseal(kek(8), sealed, "stek/state/v1 epoch 5").error().code, Errc::integrity);
  EXPECT_EQ(unseal(kek(7), sealed, "stek/state/v1 epoch 6").error().code, Errc::integrity);
  EXPECT_EQ(unseal(kek(7), sealed, "").error().code, Errc::integrity);
}

TEST(SealTest, TruncatedRecordIsAnIntegrityError) {
  SystemRandom random;
  const Bytes sealed = seal(kek(7), pattern_bytes(4, 32).view(), "aad", random).value();
  for (std::size_t n : {std::size_t{0}, kSealNonceSize + kSealTagSize - 1, sealed.size() - 1}) {
    auto r = unseal(kek(7), ByteView(sealed.data(), n), "aad");
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.error().code, Errc::integrity) << n;
  }
}

TEST(SealTest, NoRandomnessMeansNoSealedRecord) {
  FixedRandom random;
  random.fail = true;
  auto r = seal(kek(7), pattern_bytes(5, 32).view(), "aad", random);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::crypto);
}

TEST(KekTest, KekIsExactly32BytesOfRealKeyMaterial) {
  EXPECT_EQ(make_kek(pattern_bytes(1, 31)).error().code, Errc::bad_size);
  EXPECT_EQ(make_kek(pattern_bytes(1, 33)).error().code, Errc::bad_size);
  EXPECT_EQ(make_kek(SecretBytes(32)).error().code, Errc::weak_key);
}

TEST(KekTest, IdIsAStablePublicFingerprintThatTellsKeksApart) {
  const Kek a = kek(1);
  EXPECT_EQ(a.id.size(), 16u);
  EXPECT_EQ(kek(1).id, a.id);
  EXPECT_NE(kek(2).id, a.id);
  EXPECT_EQ(a.id.find(to_hex(a.key.view(0, 8))), std::string::npos);
}

}  // namespace
}  // namespace stek

// HKDF-SHA256 against RFC 5869, the stek/v1 derivation K(d,e) against a pinned vector, the
// info string's exact bytes, and domain id validation.
#include "stek/derive.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "stek/bytes.h"

#include "testing/keys.h"

namespace stek {
namespace {

using testing::counting_bytes;

SecretBytes hex(std::string_view text) {
  return from_hex(text).value();
}

SecretBytes filled(std::size_t n, std::uint8_t value) {
  SecretBytes s(n);
  for (std::size_t i = 0; i < n; ++i) s.data()[i] = value;
  return s;
}

std::string okm_hex(const Result<SecretBytes>& r) {
  if (!r.ok()) return "<error: " + r.error().message + ">";
  return to_hex(r->view());
}

// RFC 5869 appendix A.1: basic test case with SHA-256.
TEST(HkdfSha256Test, MatchesRfc5869CaseA1) {
  EXPECT_EQ(okm_hex(hkdf_sha256(hex("000102030405060708090a0b0c").view(), filled(22, 0x0b).view(),
                                hex("f0f1f2f3f4f5f6f7f8f9").view(), 42)),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
            "34007208d5b887185865");
}

// RFC 5869 appendix A.2: longer inputs and outputs (80-byte salt, IKM and info).
TEST(HkdfSha256Test, MatchesRfc5869CaseA2) {
  EXPECT_EQ(okm_hex(hkdf_sha256(counting_bytes(0x60, 80).view(), counting_bytes(0x00, 80).view(),
                                counting_bytes(0xb0, 80).view(), 82)),
            "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
            "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
            "cc30c58179ec3e87c14c01d5c1f3434f1d87");
}

// RFC 5869 appendix A.3: zero-length salt and info.
TEST(HkdfSha256Test, MatchesRfc5869CaseA3) {
  EXPECT_EQ(okm_hex(hkdf_sha256(ByteView{}, filled(22, 0x0b).view(), ByteView{}, 42)),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
            "9d201395faa4b61a96c8");
}

TEST(HkdfSha256Test, ShorterOutputIsAPrefixOfLongerOutput) {
  SecretBytes salt = counting_bytes(1, 32);
  SecretBytes ikm = counting_bytes(2, 32);
  const std::string long_okm = okm_hex(hkdf_sha256(salt.view(), ikm.view(), ByteView{}, 100));
  const std::string short_okm = okm_hex(hkdf_sha256(salt.view(), ikm.view(), ByteView{}, 33));
  EXPECT_EQ(long_okm.substr(0, 66), short_okm);
}

TEST(HkdfSha256Test, RejectsOutputLengthOutsideRfcLimit) {
  SecretBytes ikm = counting_bytes(2, 32);
  auto zero = hkdf_sha256(ByteView{}, ikm.view(), ByteView{}, 0);
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().code, Errc::invalid_argument);
  auto too_long = hkdf_sha256(ByteView{}, ikm.view(), ByteView{}, 255 * 32 + 1);
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().message, "HKDF-SHA256 output length 8161 is out of 1..8160");
  auto longest = hkdf_sha256(ByteView{}, ikm.view(), ByteView{}, 255 * 32);
  ASSERT_TRUE(longest.ok());
  EXPECT_EQ(longest->size(), 8160u);
}

TEST(DerivationInfoTest, IsLabelDomainAndBigEndianEpoch) {
  auto info = derivation_info("eu-west", 498754);
  ASSERT_TRUE(info.ok());
  // "stek/v1" 0x00 "eu-west" 0x00, then 498754 = 0x79c42 as 8 bytes big-endian.
  EXPECT_EQ(to_hex(*info), to_hex(as_bytes("stek/v1")) + "00" + to_hex(as_bytes("eu-west")) + "00" +
                               "0000000000079c42");
  auto big = derivation_info("x", (Epoch{1} << 40) + 7);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(to_hex(*big).substr(to_hex(*big).size() - 16), "0000010000000007");
}

TEST(DerivationInfoTest, RefusesInvalidDomains) {
  EXPECT_FALSE(derivation_info("", 1).ok());
  EXPECT_FALSE(derivation_info(std::string("a\0b", 3), 1).ok());
}

// Pinned vector for stek/v1. The expected bytes were computed by an independent Python
// implementation of RFC 5869 HKDF and of DESIGN.md's info string (hmac + hashlib only, no
// code shared with stek): tests/integration/test_derivation_vector.py, which also checks
// this same vector.
TEST(DeriveTicketKeyTest, MatchesPinnedVector) {
  SecretBytes epoch_secret = counting_bytes(0x00, 32);
  SecretBytes domain_secret = counting_bytes(0x20, 32);
  auto key = derive_ticket_key(domain_secret.view(), epoch_secret.view(), "eu-west", 498754);
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(key->name_hex(), "b779a8474b56f44d2a2f547be2d50636");
  EXPECT_EQ(to_hex(key->hmac_key().view()),
            "22c2a514037f17cd6fd691e8abc1206691481c19730d0bbfb792e932b8b6222c");
  EXPECT_EQ(to_hex(key->aes_key().view()),
            "8eca1a72f3a6880a43da15c9715b9b0da6972ab1af8dd2a4c5f4240a75f61584");
  EXPECT_EQ(key->size(), KeySize::k80);
}

TEST(DeriveTicketKeyTest, IsTheHkdfOutputSplitNameHmacAes) {
  SecretBytes g = testing::pattern_bytes(1, 32);
  SecretBytes d = testing::pattern_bytes(2, 32);
  auto okm = hkdf_sha256(d.view(), g.view(), derivation_info("b", 9).value(), 80);
  auto key = derive_ticket_key(d.view(), g.view(), "b", 9);
  ASSERT_TRUE(okm.ok());
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->name_hex(), to_hex(okm->view(0, 16)));
  EXPECT_TRUE(key->hmac_key().equals(okm->view(16, 32)));
  EXPECT_TRUE(key->aes_key().equals(okm->view(48, 32)));
}

TEST(DeriveTicketKeyTest, FortyEightByteKeyIsTheFirstSixteenBytesOfEach) {
  SecretBytes g = counting_bytes(0x00, 32);
  SecretBytes d = counting_bytes(0x20, 32);
  auto full = derive_ticket_key(d.view(), g.view(), "eu-west", 498754, KeySize::k80);
  auto small = derive_ticket_key(d.view(), g.view(), "eu-west", 498754, KeySize::k48);
  ASSERT_TRUE(full.ok());
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->size(), KeySize::k48);
  EXPECT_EQ(small->name(), full->name());
  EXPECT_TRUE(small->hmac_key().equals(full->hmac_key().view(0, 16)));
  EXPECT_TRUE(small->aes_key().equals(full->aes_key().view(0, 16)));
  EXPECT_EQ(to_hex(small->hmac_key().view()), "22c2a514037f17cd6fd691e8abc12066");
  EXPECT_EQ(to_hex(small->aes_key().view()), "8eca1a72f3a6880a43da15c9715b9b0d");
}

TEST(DeriveTicketKeyTest, IsDeterministic) {
  SecretBytes g = testing::pattern_bytes(1, 32);
  SecretBytes d = testing::pattern_bytes(2, 32);
  TicketKey a = derive_ticket_key(d.view(), g.view(), "eu-west", 7).value();
  TicketKey b = derive_ticket_key(d.view(), g.view(), "eu-west", 7).value();
  EXPECT_EQ(a.name(), b.name());
  EXPECT_TRUE(a.same_material(b));
}

// Two keys share nothing: different name, different HMAC key, different AES key.
void expect_unrelated(const TicketKey& a, const TicketKey& b) {
  EXPECT_NE(a.name(), b.name());
  EXPECT_FALSE(a.hmac_key().equals(b.hmac_key().view()));
  EXPECT_FALSE(a.aes_key().equals(b.aes_key().view()));
}

TEST(DeriveTicketKeyTest, DifferentDomainsGetUnrelatedKeys) {
  SecretBytes g = testing::pattern_bytes(1, 32);
  SecretBytes d = testing::pattern_bytes(2, 32);
  TicketKey a = derive_ticket_key(d.view(), g.view(), "eu-west", 7).value();
  expect_unrelated(a, derive_ticket_key(d.view(), g.view(), "us-east", 7).value());
  // The NUL separator keeps "eu-west" + epoch from colliding with a longer domain.
  expect_unrelated(a, derive_ticket_key(d.view(), g.view(), "eu-west2", 7).value());
  expect_unrelated(a, derive_ticket_key(d.view(), g.view(), "eu-wes", 7).value());
}

TEST(DeriveTicketKeyTest, DifferentEpochsGetUnrelatedKeys) {
  SecretBytes g = testing::pattern_bytes(1, 32);
  SecretBytes d = testing::pattern_bytes(2, 32);
  TicketKey a = derive_ticket_key(d.view(), g.view(), "eu-west", 7).value();
  expect_unrelated(a, derive_ticket_key(d.view(), g.view(), "eu-west", 8).value());
  expect_unrelated(a,
                   derive_ticket_key(d.view(), g.view(), "eu-west", 7 + (Epoch{1} << 32)).value());
}

TEST(DeriveTicketKeyTest, DifferentSecretsGetUnrelatedKeys) {
  SecretBytes g = testing::pattern_bytes(1, 32);
  SecretBytes d = testing::pattern_bytes(2, 32);
  TicketKey a = derive_ticket_key(d.view(), g.view(), "eu-west", 7).value();
  SecretBytes g2 = g.clone();
  g2.data()[31] ^= 1;
  SecretBytes d2 = d.clone();
  d2.data()[0] ^= 1;
  expect_unrelated(a, derive_ticket_key(d.view(), g2.view(), "eu-west", 7).value());
  expect_unrelated(a, derive_ticket_key(d2.view(), g.view(), "eu-west", 7).value());
  // Salt and IKM are not interchangeable.
  expect_unrelated(a, derive_ticket_key(g.view(), d.view(), "eu-west", 7).value());
}

TEST(DeriveTicketKeyTest, RefusesSecretsOfTheWrongSize) {
  SecretBytes good = testing::pattern_bytes(1, 32);
  SecretBytes short_secret = testing::pattern_bytes(2, 31);
  SecretBytes long_secret = testing::pattern_bytes(2, 33);
  auto r1 = derive_ticket_key(short_secret.view(), good.view(), "a", 1);
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.error().code, Errc::bad_size);
  EXPECT_EQ(r1.error().message, "domain secret is 31 bytes, expected 32");
  auto r2 = derive_ticket_key(good.view(), long_secret.view(), "a", 1);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().message, "epoch secret is 33 bytes, expected 32");
}

TEST(DeriveTicketKeyTest, RefusesPlaceholderSecrets) {
  SecretBytes good = testing::pattern_bytes(1, 32);
  auto zero = derive_ticket_key(filled(32, 0).view(), good.view(), "a", 1);
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().code, Errc::weak_key);
  EXPECT_EQ(zero.error().message, "domain secret is all zero bytes: refusing a placeholder key");
  auto repeated = derive_ticket_key(good.view(), filled(32, 0x42).view(), "a", 1);
  ASSERT_FALSE(repeated.ok());
  EXPECT_EQ(repeated.error().message,
            "epoch secret is one byte repeated: refusing a placeholder key");
}

TEST(DeriveTicketKeyTest, RefusesInvalidDomainWithoutQuotingSecrets) {
  SecretBytes g = testing::pattern_bytes(1, 32);
  SecretBytes d = testing::pattern_bytes(2, 32);
  auto r = derive_ticket_key(d.view(), g.view(), "bad\x01", 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_EQ(r.error().message.find(to_hex(g.view()).substr(0, 8)), std::string::npos);
  EXPECT_EQ(r.error().message.find(to_hex(d.view()).substr(0, 8)), std::string::npos);
}

// --- domain ids

void expect_domain_refused(std::string_view domain, const std::string& message) {
  auto s = validate_domain_id(domain);
  ASSERT_FALSE(s.ok()) << to_hex(as_bytes(domain));
  EXPECT_EQ(s.error().code, Errc::invalid_argument);
  EXPECT_EQ(s.error().message, message) << to_hex(as_bytes(domain));
}

TEST(DomainIdTest, AcceptsAsciiAndMultiByteUtf8) {
  for (std::string_view d :
       {"eu-west", "x", "tenant-42.example", "\xc3\xbc-tenant/\xce\xb2",  // ü-tenant/β
        "\xe6\x9d\xb1\xe4\xba\xac",                                       // 東京
        "\xf0\x9f\x98\x80",                                               // U+1F600
        "\xc2\xa0",                                                       // U+00A0, not a control
        "\xed\x9f\xbf",         // U+D7FF, below surrogates
        "\xee\x80\x80",         // U+E000, above surrogates
        "\xf4\x8f\xbf\xbf"}) {  // U+10FFFF, the last
    EXPECT_TRUE(validate_domain_id(d).ok()) << to_hex(as_bytes(d));
  }
}

TEST(DomainIdTest, AcceptsUpTo255Bytes) {
  EXPECT_TRUE(validate_domain_id(std::string(255, 'a')).ok());
  std::string wide;
  for (int i = 0; i < 85; ++i) wide += "\xe6\x9d\xb1";  // 85 three-byte characters
  EXPECT_EQ(wide.size(), 255u);
  EXPECT_TRUE(validate_domain_id(wide).ok());
}

TEST(DomainIdTest, RefusesEmptyAndOverlongIds) {
  expect_domain_refused("", "domain id must be 1 to 255 bytes, got 0");
  expect_domain_refused(std::string(256, 'a'), "domain id must be 1 to 255 bytes, got 256");
}

TEST(DomainIdTest, RefusesNulAndAsciiControlCharacters) {
  expect_domain_refused(std::string("eu\0west", 7), "domain id has a control character at byte 2");
  expect_domain_refused("\teu", "domain id has a control character at byte 0");
  expect_domain_refused("eu\n", "domain id has a control character at byte 2");
  expect_domain_refused("eu\x1f", "domain id has a control character at byte 2");
  expect_domain_refused("eu\x7f", "domain id has a control character at byte 2");
}

TEST(DomainIdTest, RefusesC1ControlCharacters) {
  // U+0080..U+009F are control characters too, encoded in two bytes.
  expect_domain_refused("a\xc2\x80", "domain id has a control character at byte 1");
  expect_domain_refused("a\xc2\x85", "domain id has a control character at byte 1");
  expect_domain_refused("\xc2\x9f", "domain id has a control character at byte 0");
}

TEST(DomainIdTest, RefusesMalformedUtf8) {
  expect_domain_refused("\xff", "domain id is not valid UTF-8 at byte 0");
  expect_domain_refused("a\x80", "domain id is not valid UTF-8 at byte 1");     // lone continuation
  expect_domain_refused("ab\xc3", "domain id is not valid UTF-8 at byte 2");    // truncated
  expect_domain_refused("\xe2\x82", "domain id is not valid UTF-8 at byte 0");  // truncated
  expect_domain_refused("\xc3(", "domain id is not valid UTF-8 at byte 1");     // bad continuation
  expect_domain_refused("\xe2\x28\xa1", "domain id is not valid UTF-8 at byte 1");
  expect_domain_refused("\xf8\x88\x80\x80\x80",
                        "domain id is not valid UTF-8 at byte 0");  // 5 bytes
}

TEST(DomainIdTest, RefusesOverlongEncodings) {
  expect_domain_refused("\xc0\x80", "domain id is not valid UTF-8 at byte 0");  // NUL, overlong
  expect_domain_refused("\xc1\xbf", "domain id is not valid UTF-8 at byte 0");
  expect_domain_refused("a\xe0\x80\xaf", "domain id is not valid UTF-8 at byte 1");  // '/'
  expect_domain_refused("\xf0\x82\x82\xac", "domain id is not valid UTF-8 at byte 0");
}

TEST(DomainIdTest, RefusesSurrogatesAndCodePointsAboveUnicode) {
  expect_domain_refused("\xed\xa0\x80", "domain id is not valid UTF-8 at byte 0");  // U+D800
  expect_domain_refused("\xed\xbf\xbf", "domain id is not valid UTF-8 at byte 0");  // U+DFFF
  expect_domain_refused("\xf4\x90\x80\x80", "domain id is not valid UTF-8 at byte 0");
  expect_domain_refused("\xf5\x80\x80\x80", "domain id is not valid UTF-8 at byte 0");
}

}  // namespace
}  // namespace stek

// TicketKey hygiene: sizes, all-zero and repeated-byte material, HMAC key equal to the AES
// key, and error messages that never carry key bytes.
#include "stek/key.h"

#include <string>

#include <gtest/gtest.h>

#include "stek/bytes.h"

#include "testing/keys.h"

namespace stek {
namespace {

using testing::counting_bytes;
using testing::make_key;
using testing::name_from;
using testing::pattern_bytes;

const KeyName kName = name_from(counting_bytes(0x10, 16));

SecretBytes filled(std::size_t n, std::uint8_t value) {
  SecretBytes s(n);
  for (std::size_t i = 0; i < n; ++i) s.data()[i] = value;
  return s;
}

void expect_refused(Result<TicketKey> r, Errc code, const std::string& message) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, code);
  EXPECT_EQ(r.error().message, message);
}

TEST(TicketKeyTest, AcceptsBothProductSizes) {
  auto k48 = TicketKey::make(kName, pattern_bytes(1, 16), pattern_bytes(2, 16));
  ASSERT_TRUE(k48.ok());
  EXPECT_EQ(k48->size(), KeySize::k48);
  EXPECT_EQ(k48->hmac_key().size(), 16u);
  EXPECT_EQ(k48->aes_key().size(), 16u);
  auto k80 = TicketKey::make(kName, pattern_bytes(1, 32), pattern_bytes(2, 32));
  ASSERT_TRUE(k80.ok());
  EXPECT_EQ(k80->size(), KeySize::k80);
  EXPECT_EQ(k80->name(), kName);
  EXPECT_EQ(k80->name_hex(), "101112131415161718191a1b1c1d1e1f");
  EXPECT_TRUE(k80->hmac_key().equals(pattern_bytes(1, 32).view()));
  EXPECT_TRUE(k80->aes_key().equals(pattern_bytes(2, 32).view()));
}

TEST(TicketKeyTest, MixedAndH2oPaddedSizesHaveNoProductSize) {
  auto padded = TicketKey::make(kName, pattern_bytes(1, 64), pattern_bytes(2, 32));
  ASSERT_TRUE(padded.ok());
  EXPECT_EQ(padded->size(), std::nullopt);
  auto mixed = TicketKey::make(kName, pattern_bytes(1, 32), pattern_bytes(2, 16));
  ASSERT_TRUE(mixed.ok());
  EXPECT_EQ(mixed->size(), std::nullopt);
}

TEST(TicketKeyTest, RefusesWrongSizes) {
  expect_refused(TicketKey::make(kName, pattern_bytes(1, 32), pattern_bytes(2, 24)), Errc::bad_size,
                 "AES key is 24 bytes, expected 16 or 32");
  expect_refused(TicketKey::make(kName, pattern_bytes(1, 32), SecretBytes()), Errc::bad_size,
                 "AES key is 0 bytes, expected 16 or 32");
  expect_refused(TicketKey::make(kName, pattern_bytes(1, 48), pattern_bytes(2, 32)), Errc::bad_size,
                 "HMAC key is 48 bytes, expected 16, 32 or 64");
  expect_refused(TicketKey::make(kName, pattern_bytes(1, 15), pattern_bytes(2, 16)), Errc::bad_size,
                 "HMAC key is 15 bytes, expected 16, 32 or 64");
}

TEST(TicketKeyTest, RefusesAllZeroName) {
  expect_refused(TicketKey::make(KeyName{}, pattern_bytes(1, 32), pattern_bytes(2, 32)),
                 Errc::weak_key, "key name is all zero bytes: refusing a placeholder key");
}

TEST(TicketKeyTest, RefusesRepeatedByteName) {
  KeyName name;
  name.fill(0x41);
  expect_refused(TicketKey::make(name, pattern_bytes(1, 32), pattern_bytes(2, 32)), Errc::weak_key,
                 "key name is one byte repeated: refusing a placeholder key");
}

TEST(TicketKeyTest, RefusesAllZeroOrRepeatedHmacKey) {
  expect_refused(TicketKey::make(kName, filled(32, 0), pattern_bytes(2, 32)), Errc::weak_key,
                 "HMAC key is all zero bytes: refusing a placeholder key");
  expect_refused(TicketKey::make(kName, filled(16, 0xff), pattern_bytes(2, 16)), Errc::weak_key,
                 "HMAC key is one byte repeated: refusing a placeholder key");
}

TEST(TicketKeyTest, RefusesAllZeroOrRepeatedAesKey) {
  expect_refused(TicketKey::make(kName, pattern_bytes(1, 32), filled(32, 0)), Errc::weak_key,
                 "AES key is all zero bytes: refusing a placeholder key");
  expect_refused(TicketKey::make(kName, pattern_bytes(1, 16), filled(16, 0x11)), Errc::weak_key,
                 "AES key is one byte repeated: refusing a placeholder key");
}

TEST(TicketKeyTest, AcceptsKeysThatOnlyAlmostRepeat) {
  SecretBytes hmac = filled(32, 0);
  hmac.data()[31] = 1;
  SecretBytes aes = filled(32, 0x11);
  aes.data()[0] = 0x12;
  EXPECT_TRUE(TicketKey::make(kName, std::move(hmac), std::move(aes)).ok());
}

TEST(TicketKeyTest, RefusesHmacKeyEqualToAesKey) {
  expect_refused(TicketKey::make(kName, pattern_bytes(9, 32), pattern_bytes(9, 32)), Errc::weak_key,
                 "HMAC key and AES key are the same bytes");
  expect_refused(TicketKey::make(kName, pattern_bytes(9, 16), pattern_bytes(9, 16)), Errc::weak_key,
                 "HMAC key and AES key are the same bytes");
  // h2o's 64-byte HMAC key whose meaningful part is the AES key.
  SecretBytes padded(64);
  SecretBytes aes = pattern_bytes(9, 32);
  for (std::size_t i = 0; i < 32; ++i) padded.data()[i] = aes.data()[i];
  expect_refused(TicketKey::make(kName, std::move(padded), std::move(aes)), Errc::weak_key,
                 "HMAC key and AES key are the same bytes");
}

TEST(TicketKeyTest, SameMaterialWhenEitherHalfRepeats) {
  TicketKey a = make_key(1);
  TicketKey b = make_key(2);
  EXPECT_FALSE(a.same_material(b));
  EXPECT_TRUE(a.same_material(a.clone()));
  KeyName other = b.name();
  auto same_hmac = TicketKey::make(other, a.hmac_key().clone(), b.aes_key().clone());
  auto same_aes = TicketKey::make(other, b.hmac_key().clone(), a.aes_key().clone());
  ASSERT_TRUE(same_hmac.ok());
  ASSERT_TRUE(same_aes.ok());
  EXPECT_TRUE(a.same_material(*same_hmac));
  EXPECT_TRUE(a.same_material(*same_aes));
}

TEST(TicketKeyTest, CloneCopiesNameAndBoth) {
  TicketKey a = make_key(3);
  TicketKey b = a.clone();
  EXPECT_EQ(a.name(), b.name());
  EXPECT_TRUE(a.hmac_key().equals(b.hmac_key().view()));
  EXPECT_TRUE(a.aes_key().equals(b.aes_key().view()));
  EXPECT_NE(a.hmac_key().data(), b.hmac_key().data());
}

TEST(TicketKeyTest, ErrorsNeverCarryKeyBytes) {
  SecretBytes hmac = pattern_bytes(5, 32);
  const std::string hmac_hex = to_hex(hmac.view());
  auto r = TicketKey::make(kName, std::move(hmac), pattern_bytes(6, 24));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.find(hmac_hex.substr(0, 8)), std::string::npos);
  auto same = TicketKey::make(kName, pattern_bytes(5, 32), pattern_bytes(5, 32));
  ASSERT_FALSE(same.ok());
  EXPECT_EQ(same.error().message.find(hmac_hex.substr(0, 8)), std::string::npos);
}

TEST(KeyNameTest, HexRoundTrip) {
  auto parsed = parse_key_name_hex("101112131415161718191A1B1C1D1E1F");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, kName);
  EXPECT_EQ(key_name_hex(*parsed), "101112131415161718191a1b1c1d1e1f");
}

TEST(KeyNameTest, RefusesWrongLengthOrBadDigits) {
  auto short_name = parse_key_name_hex("1011");
  ASSERT_FALSE(short_name.ok());
  EXPECT_EQ(short_name.error().code, Errc::bad_size);
  EXPECT_EQ(short_name.error().message, "key name has 4 hex digits, expected 32");
  auto bad = parse_key_name_hex("1011121314151617181920212223242x");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::bad_format);
}

TEST(CheckKeyMaterialTest, NamesWhatItChecked) {
  const std::uint8_t zeros[4] = {};
  auto r = check_key_material("domain secret", zeros);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "domain secret is all zero bytes: refusing a placeholder key");
  auto empty = check_key_material("epoch secret", ByteView{});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, Errc::bad_size);
  const std::uint8_t fine[2] = {1, 2};
  EXPECT_TRUE(check_key_material("x", fine).ok());
}

}  // namespace
}  // namespace stek

// Ring identities: the pinned encoding, what they cover (and that key bytes are not part of
// it), and their text form.
#include "api/ring_id.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "testing/expect.h"
#include "testing/keys.h"

namespace stek::api {
namespace {

using stek::testing::expect_error;
using stek::testing::pattern_bytes;

// A key named name_byte, name_byte + 1, ..., name_byte + 15, with key bytes from `bytes_seed`.
RingKey id_key(std::uint8_t name_byte, Epoch epoch, std::uint32_t secret_version,
               std::uint64_t bytes_seed = 1) {
  KeyName name{};
  for (std::size_t i = 0; i < name.size(); ++i) name[i] = static_cast<std::uint8_t>(name_byte + i);
  auto key =
      TicketKey::make(name, pattern_bytes(bytes_seed, 32), pattern_bytes(bytes_seed + 1, 32));
  KeyMeta meta;
  meta.domain = "eu";
  meta.epoch = epoch;
  meta.secret_version = secret_version;
  return {std::move(key).value(), meta};
}

std::vector<RingKey> two_keys(std::uint64_t bytes_seed = 1) {
  std::vector<RingKey> keys;
  keys.push_back(id_key(0x10, 100, 1, bytes_seed));
  keys.push_back(id_key(0x20, 101, 1, bytes_seed + 10));
  return keys;
}

constexpr std::uint64_t kVersion = (std::uint64_t{100} << 20) | 1;  // epoch 100, secret 1

std::string id_of(std::string_view domain, std::uint64_t version,
                  const std::vector<RingKey>& keys) {
  auto id = RingId::of(domain, version, keys);
  EXPECT_TRUE(id.ok()) << id.error().message;
  return id.ok() ? to_string(*id) : std::string();
}

TEST(RingId, MatchesTheDigestOfTheDocumentedEncoding) {
  // Derived independently with Python's hashlib: sha256(b"stek/ring-id/v1\0" +
  // (2).to_bytes(4) + b"eu" + (104857601).to_bytes(8) + (2).to_bytes(4) +
  // for (e, v, n) in [(100, 1, 0x10), (101, 1, 0x20)]: e.to_bytes(8) + v.to_bytes(4) +
  // bytes(range(n, n + 16))), all big-endian (docs/api.md, "Ring identity").
  EXPECT_EQ(id_of("eu", kVersion, two_keys()),
            "fd0bb36fe4db802ffe55ebddf225cc26d5ba8f81bd4fedaaa4c547ee9dd4103f");
}

TEST(RingId, DoesNotDependOnTheOrderOfTheKeys) {
  auto keys = two_keys();
  const std::string forward = id_of("eu", kVersion, keys);
  std::reverse(keys.begin(), keys.end());
  EXPECT_EQ(id_of("eu", kVersion, keys), forward);
}

TEST(RingId, CoversNoKeyBytesSoItRevealsNone) {
  // Same names, epochs and versions, other HMAC and AES bytes: the same identity. The
  // identity says only what tickets already show (key names) and the ring's metadata.
  EXPECT_EQ(id_of("eu", kVersion, two_keys(1)), id_of("eu", kVersion, two_keys(500)));
}

TEST(RingId, ChangesWithTheDomainVersionAndEveryKeysNameEpochAndSecretVersion) {
  const std::string base = id_of("eu", kVersion, two_keys());
  EXPECT_NE(id_of("us", kVersion, two_keys()), base);
  EXPECT_NE(id_of("eu", kVersion + 1, two_keys()), base);
  auto renamed = two_keys();
  renamed[1] = id_key(0x21, 101, 1, 11);
  EXPECT_NE(id_of("eu", kVersion, renamed), base);
  auto moved = two_keys();
  moved[1].meta.epoch = 102;
  EXPECT_NE(id_of("eu", kVersion, moved), base);
  auto rotated = two_keys();
  rotated[0].meta.secret_version = 2;
  EXPECT_NE(id_of("eu", kVersion, rotated), base);
  auto fewer = two_keys();
  fewer.pop_back();
  EXPECT_NE(id_of("eu", kVersion, fewer), base);
}

TEST(RingId, RefusesAKeyWithoutAnEpoch) {
  auto keys = two_keys();
  keys[0].meta.epoch.reset();
  stek::testing::expect_error_containing(RingId::of("eu", kVersion, keys), Errc::invalid_argument,
                                         "has no epoch");
}

TEST(RingId, ItsTextIs64HexDigitsAndParsesBack) {
  auto id = RingId::of("eu", kVersion, two_keys());
  ASSERT_TRUE(id.ok());
  const std::string text = to_string(*id);
  EXPECT_EQ(text.size(), 64u);
  EXPECT_EQ(short_string(*id), text.substr(0, 12));
  auto back = parse_ring_id(text, "X-Stek-Ring-Id");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, *id);
  std::string upper = text;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  auto from_upper = parse_ring_id(upper, "X-Stek-Ring-Id");
  ASSERT_TRUE(from_upper.ok());
  EXPECT_EQ(*from_upper, *id);
}

TEST(RingId, ParsingRefusesTheWrongLengthAndNonHex) {
  expect_error(parse_ring_id("abc", "X-Stek-Ring-Id"), Errc::bad_format,
               "X-Stek-Ring-Id must be 64 hex digits");
  expect_error(parse_ring_id(std::string(63, 'a') + "g", "ring_id"), Errc::bad_format,
               "ring_id must be hex digits");
}

}  // namespace
}  // namespace stek::api

// Raw binary key files: the exact byte layout of nginx (48 and 80 bytes), Apache httpd and
// Traffic Server, which key encrypts, and precise errors for wrong sizes and weak keys.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "stek/bytes.h"
#include "stek/formats.h"

#include "testing/expect.h"
#include "testing/keys.h"

namespace stek {
namespace {

using testing::counting_bytes;
using testing::expect_error;
using testing::make_counting_key;
using testing::make_key;
using testing::names_of;
using testing::ring_key;
using testing::roles_of;

// Hex of the counting key's parts (see testing/keys.h): name from 0x10, HMAC from 0x40,
// AES from 0x80.
std::string name_hex() {
  return to_hex(counting_bytes(0x10, 16).view());
}
std::string hmac_hex(std::size_t n) {
  return to_hex(counting_bytes(0x40, n).view());
}
std::string aes_hex(std::size_t n) {
  return to_hex(counting_bytes(0x80, n).view());
}

KeyRing one_key_ring(TicketKey key) {
  std::vector<RingKey> keys;
  keys.push_back(ring_key(std::move(key), KeyRole::encrypt));
  return KeyRing::make(std::move(keys)).value();
}

std::string written_hex(Format format, const KeyRing& ring) {
  auto bytes = write_key_file(format, ring);
  if (!bytes.ok()) return "<error: " + bytes.error().message + ">";
  return to_hex(bytes->view());
}

SecretBytes unhex(const std::string& hex) {
  return from_hex(hex).value();
}

TEST(RawFormatTest, Nginx48IsNameThenAesThenHmac) {
  EXPECT_EQ(written_hex(Format::nginx48, one_key_ring(make_counting_key(KeySize::k48))),
            name_hex() + aes_hex(16) + hmac_hex(16));
}

TEST(RawFormatTest, Nginx80IsNameThenHmacThenAes) {
  EXPECT_EQ(written_hex(Format::nginx80, one_key_ring(make_counting_key(KeySize::k80))),
            name_hex() + hmac_hex(32) + aes_hex(32));
}

TEST(RawFormatTest, ApacheIsNameThenHmacThenAes) {
  EXPECT_EQ(written_hex(Format::apache, one_key_ring(make_counting_key(KeySize::k48))),
            name_hex() + hmac_hex(16) + aes_hex(16));
}

TEST(RawFormatTest, AtsRecordIsNameThenHmacThenAes) {
  EXPECT_EQ(written_hex(Format::ats, one_key_ring(make_counting_key(KeySize::k48))),
            name_hex() + hmac_hex(16) + aes_hex(16));
}

void expect_reads_counting_key(Format format, const std::string& file_hex, std::size_t part) {
  SecretBytes file = unhex(file_hex);
  auto ring = read_key_file(format, file.view());
  ASSERT_TRUE(ring.ok()) << ring.error().message;
  ASSERT_EQ(ring->size(), 1u);
  const TicketKey& k = ring->encrypting().key;
  EXPECT_EQ(k.name_hex(), name_hex());
  EXPECT_EQ(to_hex(k.hmac_key().view()), hmac_hex(part));
  EXPECT_EQ(to_hex(k.aes_key().view()), aes_hex(part));
}

TEST(RawFormatTest, ReadsEachLayoutFromHandBuiltBytes) {
  expect_reads_counting_key(Format::nginx48, name_hex() + aes_hex(16) + hmac_hex(16), 16);
  expect_reads_counting_key(Format::nginx80, name_hex() + hmac_hex(32) + aes_hex(32), 32);
  expect_reads_counting_key(Format::apache, name_hex() + hmac_hex(16) + aes_hex(16), 16);
  expect_reads_counting_key(Format::ats, name_hex() + hmac_hex(16) + aes_hex(16), 16);
}

TEST(RawFormatTest, SameFortyEightBytesAreDifferentKeysInNginxAndApache) {
  SecretBytes file = unhex(name_hex() + aes_hex(16) + hmac_hex(16));
  KeyRing as_nginx = read_key_file(Format::nginx48, file.view()).value();
  KeyRing as_apache = read_key_file(Format::apache, file.view()).value();
  EXPECT_EQ(as_nginx.encrypting().key.name(), as_apache.encrypting().key.name());
  EXPECT_TRUE(
      as_nginx.encrypting().key.aes_key().equals(as_apache.encrypting().key.hmac_key().view()));
  EXPECT_FALSE(
      as_nginx.encrypting().key.aes_key().equals(as_apache.encrypting().key.aes_key().view()));
}

TEST(RawFormatTest, AtsFirstKeyEncryptsAndTheRestDecrypt) {
  std::vector<RingKey> keys;
  keys.push_back(ring_key(make_key(1, KeySize::k48), KeyRole::decrypt));
  keys.push_back(ring_key(make_key(2, KeySize::k48), KeyRole::encrypt));
  keys.push_back(ring_key(make_key(3, KeySize::k48), KeyRole::decrypt));
  KeyRing ring = KeyRing::make(std::move(keys)).value();
  auto bytes = write_key_file(Format::ats, ring);
  ASSERT_TRUE(bytes.ok());
  ASSERT_EQ(bytes->size(), 3u * 48);
  // Record order: the encrypting key, then the decrypting keys in ring order.
  EXPECT_EQ(to_hex(bytes->view(0, 16)), make_key(2, KeySize::k48).name_hex());
  EXPECT_EQ(to_hex(bytes->view(48, 16)), make_key(1, KeySize::k48).name_hex());
  EXPECT_EQ(to_hex(bytes->view(96, 16)), make_key(3, KeySize::k48).name_hex());
  EXPECT_EQ(to_hex(bytes->view(96 + 16, 16)), to_hex(make_key(3, KeySize::k48).hmac_key().view()));
  KeyRing back = read_key_file(Format::ats, bytes->view()).value();
  EXPECT_EQ(names_of(back), names_of(ring));
  EXPECT_EQ(roles_of(back),
            (std::vector<KeyRole>{KeyRole::encrypt, KeyRole::decrypt, KeyRole::decrypt}));
}

TEST(RawFormatTest, RefusesWrongFileSizesWithExactMessages) {
  SecretBytes b47 = testing::pattern_bytes(1, 47);
  SecretBytes b48 = testing::pattern_bytes(1, 48);
  SecretBytes b80 = testing::pattern_bytes(1, 80);
  SecretBytes b100 = testing::pattern_bytes(1, 100);
  expect_error(read_key_file(Format::nginx48, b47.view()), Errc::bad_size,
               "nginx48: file is 47 bytes, expected 48");
  expect_error(read_key_file(Format::nginx48, b80.view()), Errc::bad_size,
               "nginx48: file is 80 bytes, expected 48 (an 80-byte file is nginx80)");
  expect_error(read_key_file(Format::nginx80, b48.view()), Errc::bad_size,
               "nginx80: file is 48 bytes, expected 80 (a 48-byte file is nginx48)");
  expect_error(read_key_file(Format::nginx80, b47.view()), Errc::bad_size,
               "nginx80: file is 47 bytes, expected 80");
  expect_error(read_key_file(Format::apache, b80.view()), Errc::bad_size,
               "apache: file is 80 bytes, expected 48");
  expect_error(read_key_file(Format::apache, ByteView{}), Errc::bad_size,
               "apache: file is 0 bytes, expected 48");
  expect_error(read_key_file(Format::ats, b100.view()), Errc::bad_size,
               "ats: file is 100 bytes, expected a non-zero multiple of 48");
  expect_error(read_key_file(Format::ats, ByteView{}), Errc::bad_size,
               "ats: file is 0 bytes, expected a non-zero multiple of 48");
}

TEST(RawFormatTest, RefusesAllZeroFile) {
  SecretBytes zeros(80);
  expect_error(read_key_file(Format::nginx80, zeros.view()), Errc::weak_key,
               "nginx80: key 1: key name is all zero bytes: refusing a placeholder key");
}

TEST(RawFormatTest, RefusesWeakKeyInAnyAtsRecordAndSaysWhich) {
  SecretBytes file(96);
  SecretBytes good = testing::pattern_bytes(1, 48);
  std::copy(good.data(), good.data() + 48, file.data());
  SecretBytes name = testing::pattern_bytes(2, 16);
  std::copy(name.data(), name.data() + 16, file.data() + 48);  // HMAC and AES stay zero
  expect_error(read_key_file(Format::ats, file.view()), Errc::weak_key,
               "ats: key 2: HMAC key is all zero bytes: refusing a placeholder key");
}

TEST(RawFormatTest, RefusesAtsFileWithTheSameKeyTwice) {
  SecretBytes one = testing::pattern_bytes(1, 48);
  SecretBytes file(96);
  std::copy(one.data(), one.data() + 48, file.data());
  std::copy(one.data(), one.data() + 48, file.data() + 48);
  expect_error(read_key_file(Format::ats, file.view()), Errc::duplicate_key,
               "ats: key name " + to_hex(one.view(0, 16)) + " appears twice (keys 1 and 2)");
}

TEST(RawFormatTest, ErrorsNeverCarryKeyBytes) {
  // A file whose HMAC and AES halves are equal: refused, and the message names no bytes.
  SecretBytes file = unhex(name_hex() + aes_hex(32) + aes_hex(32));
  auto r = read_key_file(Format::nginx80, file.view());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.find(aes_hex(32).substr(0, 8)), std::string::npos);
  EXPECT_EQ(r.error().message, "nginx80: key 1: HMAC key and AES key are the same bytes");
}

}  // namespace
}  // namespace stek

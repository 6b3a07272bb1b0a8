// HAProxy's tls-ticket-keys file: base64 lines of name | AES | HMAC, oldest first; the
// penultimate line encrypts and the last is the pre-shared next key.
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "stek/bytes.h"
#include "stek/formats.h"

#include "testing/expect.h"
#include "testing/keys.h"

namespace stek {
namespace {

using testing::expect_error;
using testing::make_key;
using testing::make_ring;
using testing::names_of;
using testing::roles_of;

std::vector<std::string> lines_of(const SecretBytes& bytes) {
  std::vector<std::string> out;
  std::istringstream in(testing::text_of(bytes));
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string decoded_hex(const std::string& line) {
  auto raw = from_base64(line);
  if (!raw.ok()) return "<error: " + raw.error().message + ">";
  return to_hex(raw->view());
}

// name | AES | HMAC, as HAProxy's struct tls_sess_key_128/256 lays them out.
std::string record_hex(const TicketKey& k) {
  return k.name_hex() + to_hex(k.aes_key().view()) + to_hex(k.hmac_key().view());
}

std::string line_for(const TicketKey& k) {
  SecretBytes raw = from_hex(record_hex(k)).value();
  return testing::text_of(to_base64(raw.view()));
}

SecretBytes file_of(const std::vector<std::string>& lines, const std::string& eol = "\n") {
  std::string text;
  for (const std::string& l : lines) text += l + eol;
  return SecretBytes::copy_of(as_bytes(text));
}

TEST(HaproxyFormatTest, LinesAreOldestFirstThenEncryptingThenNext) {
  // Seeds: 1 encrypt, 2 next, 3 newer decrypt, 4 older decrypt.
  KeyRing ring = make_ring({KeyRole::encrypt, KeyRole::next, KeyRole::decrypt, KeyRole::decrypt});
  auto bytes = write_key_file(Format::haproxy80, ring);
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  std::vector<std::string> lines = lines_of(*bytes);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(decoded_hex(lines[0]), record_hex(make_key(4)));
  EXPECT_EQ(decoded_hex(lines[1]), record_hex(make_key(3)));
  EXPECT_EQ(decoded_hex(lines[2]), record_hex(make_key(1)));  // penultimate: encrypts
  EXPECT_EQ(decoded_hex(lines[3]), record_hex(make_key(2)));  // last: next
  EXPECT_EQ(testing::text_of(*bytes).back(), '\n');
}

TEST(HaproxyFormatTest, LineLengthsMatchRecordSize) {
  KeyRing ring80 = make_ring({KeyRole::encrypt, KeyRole::next, KeyRole::decrypt});
  for (const std::string& l : lines_of(write_key_file(Format::haproxy80, ring80).value())) {
    EXPECT_EQ(l.size(), 108u);  // base64 of 80 bytes
  }
  KeyRing ring48 = make_ring({KeyRole::encrypt, KeyRole::next, KeyRole::decrypt}, KeySize::k48);
  for (const std::string& l : lines_of(write_key_file(Format::haproxy48, ring48).value())) {
    EXPECT_EQ(l.size(), 64u);  // base64 of 48 bytes
  }
}

TEST(HaproxyFormatTest, FortyEightByteRecordIsNameAesHmac) {
  TicketKey k = testing::make_counting_key(KeySize::k48);
  const std::string want = to_hex(testing::counting_bytes(0x10, 16).view()) +
                           to_hex(testing::counting_bytes(0x80, 16).view()) +
                           to_hex(testing::counting_bytes(0x40, 16).view());
  EXPECT_EQ(record_hex(k), want);
  std::vector<RingKey> keys;
  keys.push_back(testing::ring_key(std::move(k), KeyRole::encrypt));
  keys.push_back(testing::ring_key(make_key(2, KeySize::k48), KeyRole::next));
  keys.push_back(testing::ring_key(make_key(3, KeySize::k48), KeyRole::decrypt));
  auto bytes = write_key_file(Format::haproxy48, KeyRing::make(std::move(keys)).value());
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(decoded_hex(lines_of(*bytes)[1]), want);
}

TEST(HaproxyFormatTest, ReadsRolesFromLinePositions) {
  SecretBytes file = file_of({line_for(make_key(5)), line_for(make_key(4)), line_for(make_key(3)),
                              line_for(make_key(2)), line_for(make_key(1))});
  auto ring = read_key_file(Format::haproxy80, file.view());
  ASSERT_TRUE(ring.ok()) << ring.error().message;
  // Canonical order: encrypt (penultimate line), next (last line), then older lines newest
  // first.
  EXPECT_EQ(names_of(*ring),
            (std::vector<std::string>{make_key(2).name_hex(), make_key(1).name_hex(),
                                      make_key(3).name_hex(), make_key(4).name_hex(),
                                      make_key(5).name_hex()}));
  EXPECT_EQ(roles_of(*ring),
            (std::vector<KeyRole>{KeyRole::encrypt, KeyRole::next, KeyRole::decrypt,
                                  KeyRole::decrypt, KeyRole::decrypt}));
  const TicketKey& enc = ring->encrypting().key;
  EXPECT_TRUE(enc.aes_key().equals(make_key(2).aes_key().view()));
  EXPECT_TRUE(enc.hmac_key().equals(make_key(2).hmac_key().view()));
}

TEST(HaproxyFormatTest, ToleratesCrlfBlankLinesAndNoFinalNewline) {
  std::string text = "\r\n" + line_for(make_key(3)) + "\r\n\r\n" + line_for(make_key(2)) + "\r\n" +
                     line_for(make_key(1));
  SecretBytes file = SecretBytes::copy_of(as_bytes(text));
  auto ring = read_key_file(Format::haproxy80, file.view());
  ASSERT_TRUE(ring.ok()) << ring.error().message;
  EXPECT_EQ(ring->encrypting().key.name(), make_key(2).name());
  EXPECT_EQ(ring->size(), 3u);
}

TEST(HaproxyFormatTest, RefusesFewerThanThreeKeys) {
  expect_error(read_key_file(Format::haproxy80,
                             file_of({line_for(make_key(2)), line_for(make_key(1))}).view()),
               Errc::bad_format,
               "haproxy80: file has 2 keys; HAProxy needs at least 3 (TLS_TICKETS_NO)");
  expect_error(read_key_file(Format::haproxy80, ByteView{}), Errc::bad_format,
               "haproxy80: file has 0 keys; HAProxy needs at least 3 (TLS_TICKETS_NO)");
}

TEST(HaproxyFormatTest, RefusesBadBase64AndSaysWhichLine) {
  std::string bad = line_for(make_key(2));
  bad[10] = '-';
  expect_error(read_key_file(Format::haproxy80,
                             file_of({line_for(make_key(3)), bad, line_for(make_key(1))}).view()),
               Errc::bad_format,
               "haproxy80: line 2: base64 text has an invalid character at offset 10");
  std::string truncated = line_for(make_key(1)).substr(0, 107);
  expect_error(
      read_key_file(Format::haproxy80,
                    file_of({line_for(make_key(3)), line_for(make_key(2)), truncated}).view()),
      Errc::bad_format,
      "haproxy80: line 3: base64 text has 107 characters, expected a multiple of 4");
}

TEST(HaproxyFormatTest, RefusesRecordsOfTheOtherSize) {
  SecretBytes file = file_of({line_for(make_key(3)), line_for(make_key(2)), line_for(make_key(1))});
  expect_error(read_key_file(Format::haproxy48, file.view()), Errc::bad_size,
               "haproxy48: line 1: key record is 80 bytes, expected 48");
}

TEST(HaproxyFormatTest, RefusesWeakKeyLine) {
  SecretBytes zeros(80);
  const std::string zero_line = testing::text_of(to_base64(zeros.view()));
  expect_error(
      read_key_file(Format::haproxy80,
                    file_of({line_for(make_key(3)), zero_line, line_for(make_key(1))}).view()),
      Errc::weak_key, "haproxy80: line 2: key name is all zero bytes: refusing a placeholder key");
}

TEST(HaproxyFormatTest, WritingRefusesRingWithoutNextKey) {
  KeyRing ring = make_ring({KeyRole::encrypt, KeyRole::decrypt, KeyRole::decrypt});
  expect_error(write_key_file(Format::haproxy80, ring), Errc::unsupported,
               "haproxy80: HAProxy encrypts with the penultimate line and needs a next key on "
               "the last line; the ring has no next key");
}

// The first interval after stekd's first start: no previous key. The current key fills the
// previous line (HAProxy needs three), and reading the file back gives the same two keys.
TEST(HaproxyFormatTest, WritingAYoungRingRepeatsTheCurrentKeyAsPrevious) {
  KeyRing ring = make_ring({KeyRole::encrypt, KeyRole::next, KeyRole::pending});
  auto bytes = write_key_file(Format::haproxy80, ring);
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  std::vector<std::string> lines = lines_of(*bytes);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], lines[1]);
  EXPECT_EQ(decoded_hex(lines[1]), record_hex(ring.encrypting().key));
  auto back = read_key_file(Format::haproxy80, bytes->view());
  ASSERT_TRUE(back.ok()) << back.error().message;
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ(back->encrypting().key.name(), ring.encrypting().key.name());
  EXPECT_EQ(back->keys()[1].meta.role, KeyRole::next);
}

TEST(HaproxyFormatTest, WritingLeavesPendingKeysOut) {
  KeyRing ring = make_ring({KeyRole::encrypt, KeyRole::next, KeyRole::decrypt, KeyRole::pending});
  auto bytes = write_key_file(Format::haproxy80, ring);
  ASSERT_TRUE(bytes.ok());
  std::vector<std::string> lines = lines_of(*bytes);
  ASSERT_EQ(lines.size(), 3u);
  for (const std::string& l : lines) EXPECT_NE(decoded_hex(l), record_hex(make_key(4)));
}

}  // namespace
}  // namespace stek

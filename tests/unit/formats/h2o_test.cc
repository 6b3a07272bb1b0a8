// h2o's session ticket file (ssl-session-resumption, ticket-store: file): a YAML list of
// {name, cipher, hash, key, not_before, not_after}; key = AES key | HMAC key padded to the
// SHA-256 block (64 bytes). h2o encrypts with the newest key whose not_before has passed.
#include <limits>
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
using testing::expect_error_containing;
using testing::make_key;
using testing::names_of;
using testing::roles_of;

struct Entry {
  std::string name = to_hex(counting_bytes(0x10, 16).view());
  std::string cipher = "aes-256-cbc";
  std::string hash = "sha256";
  std::string key = to_hex(counting_bytes(0x80, 32).view()) +
                    to_hex(counting_bytes(0x40, 32).view()) + std::string(64, '0');
  std::string not_before = "1000";
  std::string not_after = "2000";
};

std::string yaml(const std::vector<Entry>& entries) {
  std::string out;
  for (const Entry& e : entries) {
    out += "- name: " + e.name + "\n  cipher: " + e.cipher + "\n  hash: " + e.hash +
           "\n  key: " + e.key + "\n  not_before: " + e.not_before +
           "\n  not_after: " + e.not_after + "\n";
  }
  return out;
}

// An entry for make_key(seed) valid from not_before to not_after.
Entry entry_for(std::uint64_t seed, UnixSeconds not_before, UnixSeconds not_after) {
  TicketKey k = make_key(seed);
  Entry e;
  e.name = k.name_hex();
  e.key = to_hex(k.aes_key().view()) + to_hex(k.hmac_key().view()) + std::string(64, '0');
  e.not_before = std::to_string(not_before);
  e.not_after = std::to_string(not_after);
  return e;
}

Result<KeyRing> read_at(const std::string& text, UnixSeconds now) {
  return read_key_file(Format::h2o, as_bytes(text), ReadOptions{now});
}

TEST(H2oFormatTest, WritesOneEntryPerKeyWithAesThenPaddedHmac) {
  std::vector<RingKey> keys;
  RingKey rk = testing::ring_key(testing::make_counting_key(KeySize::k80), KeyRole::encrypt);
  rk.meta.not_before = 1000;
  rk.meta.not_after = 2000;
  keys.push_back(std::move(rk));
  auto bytes = write_key_file(Format::h2o, KeyRing::make(std::move(keys)).value());
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  EXPECT_EQ(testing::text_of(*bytes), yaml({Entry{}}));
}

TEST(H2oFormatTest, WritesAes128KeysWithTheirCipherName) {
  std::vector<RingKey> keys;
  RingKey rk = testing::ring_key(testing::make_counting_key(KeySize::k48), KeyRole::encrypt);
  rk.meta.not_before = 1000;
  rk.meta.not_after = 2000;
  keys.push_back(std::move(rk));
  auto bytes = write_key_file(Format::h2o, KeyRing::make(std::move(keys)).value());
  ASSERT_TRUE(bytes.ok());
  Entry want;
  want.cipher = "aes-128-cbc";
  want.key = to_hex(counting_bytes(0x80, 16).view()) + to_hex(counting_bytes(0x40, 16).view()) +
             std::string(96, '0');
  EXPECT_EQ(testing::text_of(*bytes), yaml({want}));
}

TEST(H2oFormatTest, ReadsZeroPaddedHmacAsTheShortKey) {
  auto ring = read_at(yaml({Entry{}}), 1500);
  ASSERT_TRUE(ring.ok()) << ring.error().message;
  const TicketKey& k = ring->encrypting().key;
  EXPECT_EQ(k.name_hex(), to_hex(counting_bytes(0x10, 16).view()));
  EXPECT_TRUE(k.aes_key().equals(counting_bytes(0x80, 32).view()));
  EXPECT_TRUE(k.hmac_key().equals(counting_bytes(0x40, 32).view()));
  EXPECT_EQ(k.size(), KeySize::k80);
  EXPECT_EQ(ring->encrypting().meta.not_before, 1000);
  EXPECT_EQ(ring->encrypting().meta.not_after, 2000);
}

TEST(H2oFormatTest, KeepsAFullSixtyFourByteHmacKey) {
  Entry e;
  e.key = to_hex(counting_bytes(0x80, 32).view()) + to_hex(counting_bytes(0x01, 64).view());
  auto ring = read_at(yaml({e}), 1500);
  ASSERT_TRUE(ring.ok()) << ring.error().message;
  EXPECT_EQ(ring->encrypting().key.hmac_key().size(), 64u);
  EXPECT_EQ(ring->encrypting().key.size(), std::nullopt);
}

TEST(H2oFormatTest, AcceptsTheUpperCaseNamesH2oItselfWrites) {
  // h2o serialises cipher and hash with OBJ_nid2sn: "AES-256-CBC", "SHA256".
  Entry e;
  e.cipher = "AES-256-CBC";
  e.hash = "SHA256";
  EXPECT_TRUE(read_at(yaml({e}), 1500).ok());
}

TEST(H2oFormatTest, NewestStartedKeyEncryptsFutureKeysAreNextOthersDecrypt) {
  const std::string text = yaml({entry_for(1, 1000, 5000), entry_for(2, 2000, 6000),
                                 entry_for(3, 3000, 7000), entry_for(4, 4000, 8000)});
  auto ring = read_at(text, 3000);
  ASSERT_TRUE(ring.ok()) << ring.error().message;
  EXPECT_EQ(names_of(*ring),
            (std::vector<std::string>{make_key(3).name_hex(), make_key(4).name_hex(),
                                      make_key(2).name_hex(), make_key(1).name_hex()}));
  EXPECT_EQ(roles_of(*ring), (std::vector<KeyRole>{KeyRole::encrypt, KeyRole::next,
                                                   KeyRole::decrypt, KeyRole::decrypt}));
  // One second earlier, key 2 still encrypts and key 3 is next.
  auto before = read_at(text, 2999);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->encrypting().key.name(), make_key(2).name());
}

TEST(H2oFormatTest, DropsKeysWhoseNotAfterHasPassed) {
  const std::string text = yaml({entry_for(1, 1000, 2500), entry_for(2, 2000, 6000)});
  auto at_end = read_at(text, 2500);  // not_after is inclusive
  ASSERT_TRUE(at_end.ok());
  EXPECT_EQ(at_end->size(), 2u);
  auto after = read_at(text, 2501);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(names_of(*after), (std::vector<std::string>{make_key(2).name_hex()}));
}

TEST(H2oFormatTest, RefusesFileWithNoKeyValidNow) {
  const std::string text = yaml({entry_for(1, 1000, 2000), entry_for(2, 1500, 2500)});
  expect_error(read_at(text, 999), Errc::not_found, "h2o: no key is valid for encryption at 999");
  expect_error(read_at(text, 2501), Errc::not_found, "h2o: no key is valid for encryption at 2501");
}

TEST(H2oFormatTest, NeedsTheCurrentTime) {
  expect_error(read_key_file(Format::h2o, as_bytes(yaml({Entry{}}))), Errc::invalid_argument,
               "h2o: reading h2o files needs the current time to pick roles");
}

TEST(H2oFormatTest, RefusesMissingFields) {
  for (const char* field : {"name", "cipher", "hash", "key", "not_before", "not_after"}) {
    std::string text = yaml({Entry{}});
    const std::string label = std::string("  ") + field + ": ";
    std::size_t at = text.find(field == std::string("name") ? "- name: " : label);
    ASSERT_NE(at, std::string::npos);
    std::size_t end = text.find('\n', at);
    // Keep the list item marker when removing the first field.
    text.replace(at, end - at, field == std::string("name") ? "- other: x" : "  other: x");
    expect_error(read_at(text, 1500), Errc::bad_format,
                 std::string("h2o: entry 1: missing field \"") + field + "\"");
  }
}

TEST(H2oFormatTest, RefusesCiphersOtherThanAesCbc) {
  Entry e;
  e.cipher = "chacha20";
  expect_error(read_at(yaml({e}), 1500), Errc::unsupported,
               "h2o: entry 1: cipher \"chacha20\" is not aes-128-cbc or aes-256-cbc");
}

TEST(H2oFormatTest, RefusesHashesOtherThanSha256) {
  Entry e;
  e.hash = "sha1";
  expect_error(read_at(yaml({Entry{}, e}), 1500), Errc::unsupported,
               "h2o: entry 2: hash \"sha1\" is not sha256");
}

TEST(H2oFormatTest, RefusesKeyOfTheWrongLength) {
  Entry e;
  e.key = e.key.substr(0, 190);
  expect_error(read_at(yaml({e}), 1500), Errc::bad_size,
               "h2o: entry 1: key has 190 hex digits, expected 192");
  Entry aes128;
  aes128.cipher = "aes-128-cbc";  // wants 16 + 64 bytes, the entry has 32 + 64
  expect_error(read_at(yaml({aes128}), 1500), Errc::bad_size,
               "h2o: entry 1: key has 192 hex digits, expected 160");
}

TEST(H2oFormatTest, RefusesNonHexKeyWithoutQuotingIt) {
  Entry e;
  e.key[100] = 'x';
  auto r = read_at(yaml({e}), 1500);
  expect_error(r, Errc::bad_format, "h2o: entry 1: hex text has a non-hex character at offset 100");
}

TEST(H2oFormatTest, RefusesBadTimes) {
  Entry e;
  e.not_before = "yesterday";
  expect_error(read_at(yaml({e}), 1500), Errc::bad_format,
               "h2o: entry 1: field \"not_before\" is not a Unix time in seconds");
  Entry negative;
  negative.not_after = "-5";
  expect_error(read_at(yaml({negative}), 1500), Errc::bad_format,
               "h2o: entry 1: field \"not_after\" is not a Unix time in seconds");
  Entry reversed;
  reversed.not_before = "3000";
  expect_error(read_at(yaml({reversed}), 1500), Errc::bad_format,
               "h2o: entry 1: not_after is before not_before");
}

TEST(H2oFormatTest, RefusesNonListDocumentsAndBadYaml) {
  expect_error(read_at("name: x\n", 1500), Errc::bad_format, "h2o: top level is not a list");
  expect_error(read_at("- [a\n", 1500), Errc::bad_format, "h2o: not valid YAML (line 2)");
  expect_error(read_at("- x\n", 1500), Errc::bad_format, "h2o: entry 1: entry is not a mapping");
  Entry e;
  e.name = "[1, 2]";
  expect_error(read_at(yaml({e}), 1500), Errc::bad_format,
               "h2o: entry 1: field \"name\" is not a scalar");
}

TEST(H2oFormatTest, YamlErrorsNeverQuoteTheKey) {
  Entry e;
  std::string text = yaml({e});
  // Break the YAML right after the key: an unterminated quoted scalar.
  text.replace(text.find("  not_before"), 0, "  \"broken: ");
  auto r = read_at(text, 1500);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.find(e.key.substr(0, 16)), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find(e.key.substr(e.key.size() / 2, 16)), std::string::npos);
}

TEST(H2oFormatTest, ReadsTheForeverNotAfterH2oUses) {
  // h2o parses times as uint64; its own test file uses 2^64-1 for "never expires".
  const std::string text = yaml({entry_for(1, 0, 0)});
  std::string forever = text;
  forever.replace(forever.find("not_after: 0"), 12, "not_after: 18446744073709551615");
  auto ring = read_at(forever, 1795514400);
  ASSERT_TRUE(ring.ok()) << ring.error().message;
  EXPECT_EQ(ring->encrypting().meta.not_after, std::numeric_limits<UnixSeconds>::max());
  std::string beyond = text;
  beyond.replace(beyond.find("not_after: 0"), 12, "not_after: 18446744073709551616");
  expect_error(read_at(beyond, 1795514400), Errc::bad_format,
               "h2o: entry 1: field \"not_after\" is not a Unix time in seconds");
}

TEST(H2oFormatTest, BreaksNotBeforeTiesByKeyNameAsH2oDoes) {
  // h2o sorts by not_before, newest first, then by name (memcmp): the smaller name encrypts.
  const bool one_is_smaller = make_key(1).name() < make_key(2).name();
  const KeyName want = one_is_smaller ? make_key(1).name() : make_key(2).name();
  for (const std::string& text : {yaml({entry_for(1, 1000, 5000), entry_for(2, 1000, 5000)}),
                                  yaml({entry_for(2, 1000, 5000), entry_for(1, 1000, 5000)})}) {
    auto ring = read_at(text, 1500);
    ASSERT_TRUE(ring.ok()) << ring.error().message;
    EXPECT_EQ(ring->encrypting().key.name(), want);
  }
}

TEST(H2oFormatTest, WritingRefusesKeysWithoutTimes) {
  KeyRing ring = testing::make_ring({KeyRole::encrypt});
  expect_error_containing(write_key_file(Format::h2o, ring), Errc::unsupported,
                          "h2o needs not_before and not_after for every key; key " +
                              ring.encrypting().key.name_hex() + " has none");
}

}  // namespace
}  // namespace stek

// Across formats: every format round-trips what it can express, conversions keep which key
// encrypts and refuse what the target cannot express, and detect_format tells formats apart.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "stek/bytes.h"
#include "stek/formats.h"
#include "stek/schedule.h"

#include "testing/expect.h"
#include "testing/keys.h"

namespace stek {

// Lets GoogleTest print formats by name in failure messages.
inline void PrintTo(Format format, std::ostream* os) {
  *os << format_name(format);
}

namespace {

using testing::expect_error;
using testing::expect_error_containing;
using testing::make_key;
using testing::make_ring;
using testing::names_of;
using testing::roles_of;

// The ring a host holds at `now` under I = 60 s, H = 3, L = 2: epochs 97..102, with times.
constexpr UnixSeconds kNow = 100 * 60 + 7;
KeyRing scheduled_ring(KeySize size) {
  const Schedule s = Schedule::make({60, 3, 2}).value();
  std::vector<RingKey> keys;
  for (Epoch e = 97; e <= 102; ++e) {
    RingKey rk = testing::ring_key(make_key(static_cast<std::uint64_t>(e), size), s.role(e, kNow));
    rk.meta.epoch = e;
    keys.push_back(std::move(rk));
  }
  // at() also sets not_before and not_after from the schedule.
  return KeyRing::make(std::move(keys)).value().at(s, kNow).value();
}

// The ring each format can express in full, so that write-then-read gives it back.
KeyRing expressible_ring(Format f) {
  switch (f) {
    case Format::nginx48:
    case Format::apache:
      return make_ring({KeyRole::encrypt}, KeySize::k48);
    case Format::nginx80:
      return make_ring({KeyRole::encrypt}, KeySize::k80);
    case Format::ats:
      return make_ring({KeyRole::encrypt, KeyRole::decrypt, KeyRole::decrypt}, KeySize::k48);
    case Format::haproxy48:
      return make_ring({KeyRole::encrypt, KeyRole::next, KeyRole::decrypt, KeyRole::decrypt},
                       KeySize::k48);
    case Format::haproxy80:
      return make_ring({KeyRole::encrypt, KeyRole::next, KeyRole::decrypt, KeyRole::decrypt});
    case Format::h2o: {
      // Pending keys are not written to servers; h2o gets the rest.
      KeyRing full = scheduled_ring(KeySize::k80);
      std::vector<RingKey> keys;
      for (const RingKey& k : full.keys()) {
        if (k.meta.role != KeyRole::pending) keys.push_back(k.clone());
      }
      return KeyRing::make(std::move(keys)).value();
    }
    case Format::json:
      return scheduled_ring(KeySize::k80);
  }
  return make_ring({KeyRole::encrypt});
}

class RoundTripTest : public ::testing::TestWithParam<Format> {};

TEST_P(RoundTripTest, WriteThenReadGivesTheSameNamesRolesAndBytes) {
  const Format f = GetParam();
  KeyRing ring = expressible_ring(f);
  auto bytes = write_key_file(f, ring, {kNow});
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  auto back = read_key_file(f, bytes->view(), {kNow});
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(names_of(*back), names_of(ring));
  EXPECT_EQ(roles_of(*back), roles_of(ring));
  ASSERT_EQ(back->size(), ring.size());
  for (std::size_t i = 0; i < ring.size(); ++i) {
    EXPECT_TRUE(back->keys()[i].key.hmac_key().equals(ring.keys()[i].key.hmac_key().view()));
    EXPECT_TRUE(back->keys()[i].key.aes_key().equals(ring.keys()[i].key.aes_key().view()));
  }
  // Writing what was read gives the same file.
  auto again = write_key_file(f, *back, {kNow});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->equals(bytes->view()));
}

INSTANTIATE_TEST_SUITE_P(EveryFormat, RoundTripTest, ::testing::ValuesIn(kAllFormats),
                         [](const ::testing::TestParamInfo<Format>& param_info) {
                           return std::string(format_name(param_info.param));
                         });

TEST(FormatNameTest, NamesRoundTripAndUnknownNamesAreRefused) {
  for (Format f : kAllFormats) {
    auto parsed = parse_format_name(format_name(f));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, f);
  }
  EXPECT_EQ(format_names(), "nginx48, nginx80, haproxy48, haproxy80, apache, ats, h2o, json");
  expect_error(parse_format_name("nginx"), Errc::invalid_argument,
               "unknown format \"nginx\" (expected one of nginx48, nginx80, haproxy48, haproxy80, "
               "apache, ats, h2o, json)");
}

TEST(FormatNameTest, KeySizesOfFormats) {
  EXPECT_EQ(format_key_size(Format::nginx48), KeySize::k48);
  EXPECT_EQ(format_key_size(Format::nginx80), KeySize::k80);
  EXPECT_EQ(format_key_size(Format::haproxy48), KeySize::k48);
  EXPECT_EQ(format_key_size(Format::haproxy80), KeySize::k80);
  EXPECT_EQ(format_key_size(Format::apache), KeySize::k48);
  EXPECT_EQ(format_key_size(Format::ats), KeySize::k48);
  EXPECT_EQ(format_key_size(Format::h2o), std::nullopt);
  EXPECT_EQ(format_key_size(Format::json), std::nullopt);
}

// --- conversions

Result<KeyRing> convert(Format from, Format to, const KeyRing& ring) {
  auto a = write_key_file(from, ring, {kNow});
  if (!a.ok()) return a.error();
  auto r1 = read_key_file(from, a->view(), {kNow});
  if (!r1.ok()) return r1.error();
  auto b = write_key_file(to, *r1, {kNow});
  if (!b.ok()) return b.error();
  return read_key_file(to, b->view(), {kNow});
}

TEST(ConversionTest, HaproxyToAtsKeepsTheEncryptingKeyFirst) {
  KeyRing ring = expressible_ring(Format::haproxy48);
  auto ats = convert(Format::haproxy48, Format::ats, ring);
  ASSERT_TRUE(ats.ok()) << ats.error().message;
  EXPECT_EQ(ats->encrypting().key.name(), ring.encrypting().key.name());
  EXPECT_EQ(ats->size(), 4u);  // the next key goes along as a decrypting key
}

TEST(ConversionTest, JsonToHaproxyKeepsEncryptingAndNext) {
  KeyRing ring = scheduled_ring(KeySize::k80);
  auto ha = convert(Format::json, Format::haproxy80, ring);
  ASSERT_TRUE(ha.ok()) << ha.error().message;
  EXPECT_EQ(ha->encrypting().key.name(), ring.encrypting().key.name());
  EXPECT_EQ(ha->keys()[1].meta.role, KeyRole::next);
  EXPECT_EQ(ha->keys()[1].key.name(), ring.keys()[1].key.name());
  EXPECT_EQ(ha->size(), 5u);  // the pending key is left out
}

TEST(ConversionTest, JsonToH2oKeepsTheEncryptingKey) {
  KeyRing ring = scheduled_ring(KeySize::k48);
  auto h2o = convert(Format::json, Format::h2o, ring);
  ASSERT_TRUE(h2o.ok()) << h2o.error().message;
  EXPECT_EQ(h2o->encrypting().key.name(), ring.encrypting().key.name());
  EXPECT_EQ(h2o->encrypting().key.size(), KeySize::k48);
}

TEST(ConversionTest, RefusesSeveralKeysIntoOneKeyFormats) {
  KeyRing ring80 = make_ring({KeyRole::encrypt, KeyRole::next, KeyRole::decrypt});
  const std::string tail =
      ": holds exactly one key per file, the ring has 3 keys a server uses; write the "
      "encrypting key alone (stekctl convert --only-encrypting) or use a format that holds "
      "several";
  expect_error(write_key_file(Format::nginx80, ring80), Errc::unsupported, "nginx80" + tail);
  KeyRing ring48 = make_ring({KeyRole::encrypt, KeyRole::next, KeyRole::decrypt}, KeySize::k48);
  expect_error(write_key_file(Format::nginx48, ring48), Errc::unsupported, "nginx48" + tail);
  expect_error(write_key_file(Format::apache, ring48), Errc::unsupported, "apache" + tail);
}

TEST(ConversionTest, OneKeyFormatsIgnorePendingKeys) {
  KeyRing ring = make_ring({KeyRole::encrypt, KeyRole::pending});
  auto bytes = write_key_file(Format::nginx80, ring);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->size(), 80u);
}

TEST(ConversionTest, RefusesToShrinkOrGrowKeys) {
  KeyRing ring80 = make_ring({KeyRole::encrypt});
  const std::string name80 = ring80.encrypting().key.name_hex();
  expect_error(write_key_file(Format::nginx48, ring80), Errc::unsupported,
               "nginx48: key " + name80 +
                   " is not a 48-byte key; converting between AES-128 and AES-256 keys would "
                   "make a different key (derive one with --format instead)");
  expect_error_containing(write_key_file(Format::apache, ring80), Errc::unsupported,
                          "is not a 48-byte key");
  expect_error_containing(write_key_file(Format::ats, ring80), Errc::unsupported,
                          "is not a 48-byte key");
  KeyRing ring48 = make_ring({KeyRole::encrypt}, KeySize::k48);
  expect_error_containing(write_key_file(Format::nginx80, ring48), Errc::unsupported,
                          "is not a 80-byte key");
  KeyRing ha48 = make_ring({KeyRole::encrypt, KeyRole::next, KeyRole::decrypt}, KeySize::k48);
  expect_error_containing(write_key_file(Format::haproxy80, ha48), Errc::unsupported,
                          "is not a 80-byte key");
}

TEST(ConversionTest, RefusesRingsWithoutNextKeyForHaproxy) {
  KeyRing ats = expressible_ring(Format::ats);
  auto r = convert(Format::ats, Format::haproxy48, ats);
  expect_error_containing(r, Errc::unsupported, "the ring has no next key");
}

TEST(ConversionTest, RefusesRawKeysIntoH2oForWantOfTimes) {
  auto r = convert(Format::nginx80, Format::h2o, expressible_ring(Format::nginx80));
  expect_error_containing(r, Errc::unsupported, "h2o needs not_before and not_after");
}

TEST(ConversionTest, KeepsPaddedH2oKeysOutOfFixedSizeFormats) {
  const std::string yaml =
      "- name: " + make_key(1).name_hex() +
      "\n  cipher: aes-256-cbc\n  hash: sha256\n  key: " + to_hex(make_key(1).aes_key().view()) +
      to_hex(testing::pattern_bytes(9, 64).view()) + "\n  not_before: 0\n  not_after: 100\n";
  KeyRing ring = read_key_file(Format::h2o, as_bytes(yaml), {50}).value();
  expect_error_containing(write_key_file(Format::nginx80, ring), Errc::unsupported,
                          "is not a 80-byte key");
  // JSON keeps the 64-byte HMAC key as it is.
  auto json = write_key_file(Format::json, ring);
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(read_key_file(Format::json, json->view()).value().encrypting().key.hmac_key().size(),
            64u);
}

// --- detection

Result<Format> detect(const SecretBytes& bytes) {
  return detect_format(bytes.view());
}

TEST(DetectFormatTest, RecognisesEachTextFormat) {
  for (Format f : {Format::haproxy48, Format::haproxy80, Format::h2o, Format::json}) {
    auto bytes = write_key_file(f, expressible_ring(f), {kNow});
    ASSERT_TRUE(bytes.ok());
    auto d = detect(*bytes);
    ASSERT_TRUE(d.ok()) << format_name(f) << ": " << d.error().message;
    EXPECT_EQ(*d, f);
  }
}

TEST(DetectFormatTest, RecognisesTextFormatsAfterLeadingWhitespace) {
  auto json = write_key_file(Format::json, expressible_ring(Format::json));
  std::string text = "\n\t  " + testing::text_of(*json);
  EXPECT_EQ(detect_format(as_bytes(text)).value(), Format::json);
  auto ha = write_key_file(Format::haproxy80, expressible_ring(Format::haproxy80));
  std::string crlf = testing::text_of(*ha);
  crlf.insert(crlf.find('\n'), "\r");
  EXPECT_EQ(detect_format(as_bytes(crlf)).value(), Format::haproxy80);
}

TEST(DetectFormatTest, RecognisesRawSizes) {
  auto n80 = write_key_file(Format::nginx80, expressible_ring(Format::nginx80));
  EXPECT_EQ(detect(*n80).value(), Format::nginx80);
  auto ats = write_key_file(Format::ats, expressible_ring(Format::ats));
  EXPECT_EQ(detect(*ats).value(), Format::ats);
}

TEST(DetectFormatTest, CallsFortyEightRawBytesAmbiguous) {
  auto n48 = write_key_file(Format::nginx48, expressible_ring(Format::nginx48));
  expect_error(detect(*n48), Errc::invalid_argument,
               "48 raw bytes could be nginx48, apache or ats: the byte order after the name "
               "differs, so pass --format");
}

TEST(DetectFormatTest, RefusesWhatItCannotTell) {
  expect_error(detect_format(as_bytes("hello world\n")), Errc::bad_format,
               "cannot tell the format of 12 bytes; pass --format (nginx48, nginx80, haproxy48, "
               "haproxy80, apache, ats, h2o, json)");
  expect_error_containing(detect_format(ByteView{}), Errc::bad_format,
                          "cannot tell the format of 0 bytes");
  SecretBytes odd = testing::pattern_bytes(3, 81);
  expect_error_containing(detect(odd), Errc::bad_format, "cannot tell the format of 81 bytes");
}

TEST(DetectFormatTest, RawKeysWhoseFirstByteLooksLikeTextStayRaw) {
  // A random key name starts with '{' or '-' one time in 128: such a file is still raw.
  for (char first : {'{', '-', ' ', '\n'}) {
    SecretBytes raw = testing::pattern_bytes(5, 80);
    raw.data()[0] = static_cast<std::uint8_t>(first);
    if (first == ' ' || first == '\n') raw.data()[1] = '{';
    auto d = detect(raw);
    ASSERT_TRUE(d.ok()) << "first byte " << int(first) << ": " << d.error().message;
    EXPECT_EQ(*d, Format::nginx80) << "first byte " << int(first);
    SecretBytes ats = testing::pattern_bytes(6, 96);
    ats.data()[0] = static_cast<std::uint8_t>(first);
    EXPECT_EQ(detect(ats).value(), Format::ats) << "first byte " << int(first);
  }
}

}  // namespace
}  // namespace stek

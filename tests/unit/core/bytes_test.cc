// Hex and base64 codecs: known vectors, round trips over every byte value, and malformed
// input (odd length, bad characters, bad padding) refused with a precise error.
#include "stek/bytes.h"

#include <string>

#include <gtest/gtest.h>

#include "testing/keys.h"

namespace stek {
namespace {

std::string b64(std::string_view plain) {
  SecretBytes out = to_base64(as_bytes(plain));
  return std::string(as_chars(out.view()));
}

std::string unb64(std::string_view text) {
  auto out = from_base64(text);
  if (!out.ok()) return "<error: " + out.error().message + ">";
  return std::string(as_chars(out->view()));
}

void expect_bad_format(const Result<SecretBytes>& r, const std::string& message) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::bad_format);
  EXPECT_EQ(r.error().message, message);
}

TEST(HexTest, EncodesLowerCase) {
  const std::uint8_t raw[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
  EXPECT_EQ(to_hex(raw), "00017f80abff");
  SecretString s = to_hex_secret(raw);
  EXPECT_EQ(std::string(s.data(), s.size()), "00017f80abff");
  EXPECT_EQ(to_hex(ByteView{}), "");
}

TEST(HexTest, DecodesEitherCase) {
  auto lower = from_hex("00017f80abff");
  auto upper = from_hex("00017F80ABFF");
  ASSERT_TRUE(lower.ok());
  ASSERT_TRUE(upper.ok());
  const std::uint8_t want[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
  EXPECT_TRUE(lower->equals(want));
  EXPECT_TRUE(upper->equals(want));
  auto empty = from_hex("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(HexTest, RoundTripsEveryByteValue) {
  SecretBytes all = testing::counting_bytes(0, 256);
  auto back = from_hex(to_hex(all.view()));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->equals(all.view()));
}

TEST(HexTest, RejectsOddLength) {
  expect_bad_format(from_hex("abc"), "hex text has 3 digits, expected an even number");
  expect_bad_format(from_hex("0"), "hex text has 1 digits, expected an even number");
}

TEST(HexTest, RejectsNonHexCharactersAndSaysWhere) {
  expect_bad_format(from_hex("zz00"), "hex text has a non-hex character at offset 0");
  expect_bad_format(from_hex("00z0"), "hex text has a non-hex character at offset 2");
  expect_bad_format(from_hex("000g"), "hex text has a non-hex character at offset 3");
  expect_bad_format(from_hex("00 0"), "hex text has a non-hex character at offset 2");
  expect_bad_format(from_hex("0x00"), "hex text has a non-hex character at offset 1");
  expect_bad_format(from_hex(std::string("00\0"
                                         "0",
                                         4)),
                    "hex text has a non-hex character at offset 2");
}

// RFC 4648 section 10.
TEST(Base64Test, EncodesRfc4648Vectors) {
  EXPECT_EQ(b64(""), "");
  EXPECT_EQ(b64("f"), "Zg==");
  EXPECT_EQ(b64("fo"), "Zm8=");
  EXPECT_EQ(b64("foo"), "Zm9v");
  EXPECT_EQ(b64("foob"), "Zm9vYg==");
  EXPECT_EQ(b64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(b64("foobar"), "Zm9vYmFy");
}

TEST(Base64Test, DecodesRfc4648Vectors) {
  EXPECT_EQ(unb64(""), "");
  EXPECT_EQ(unb64("Zg=="), "f");
  EXPECT_EQ(unb64("Zm8="), "fo");
  EXPECT_EQ(unb64("Zm9v"), "foo");
  EXPECT_EQ(unb64("Zm9vYg=="), "foob");
  EXPECT_EQ(unb64("Zm9vYmE="), "fooba");
  EXPECT_EQ(unb64("Zm9vYmFy"), "foobar");
}

TEST(Base64Test, RoundTripsEveryByteValueAtEveryLengthModThree) {
  for (std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{48},
                        std::size_t{80}, std::size_t{256}}) {
    SecretBytes raw = testing::counting_bytes(static_cast<std::uint8_t>(n), n);
    SecretBytes text = to_base64(raw.view());
    EXPECT_EQ(text.size(), 4 * ((n + 2) / 3));
    auto back = from_base64(as_chars(text.view()));
    ASSERT_TRUE(back.ok()) << n;
    EXPECT_TRUE(back->equals(raw.view())) << n;
  }
}

TEST(Base64Test, DecodesTheFullAlphabet) {
  // Every character of the standard alphabet, including + and /.
  const std::string text = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  auto raw = from_base64(text);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->size(), 48u);
  SecretBytes again = to_base64(raw->view());
  EXPECT_EQ(std::string(as_chars(again.view())), text);
}

TEST(Base64Test, RejectsLengthNotAMultipleOfFour) {
  expect_bad_format(from_base64("Zg="), "base64 text has 3 characters, expected a multiple of 4");
  expect_bad_format(from_base64("Zm9vY"), "base64 text has 5 characters, expected a multiple of 4");
  expect_bad_format(from_base64("Zg"), "base64 text has 2 characters, expected a multiple of 4");
}

TEST(Base64Test, RejectsCharactersOutsideTheStandardAlphabet) {
  expect_bad_format(from_base64("Zm9-"), "base64 text has an invalid character at offset 3");
  expect_bad_format(from_base64("Zm_v"), "base64 text has an invalid character at offset 2");
  expect_bad_format(from_base64("Zm9v Zm9v"),
                    "base64 text has 9 characters, expected a multiple of 4");
  expect_bad_format(from_base64("Zm 9"), "base64 text has an invalid character at offset 2");
  expect_bad_format(from_base64("Zm9\n"), "base64 text has an invalid character at offset 3");
  expect_bad_format(from_base64(std::string("Zm\0v", 4)),
                    "base64 text has an invalid character at offset 2");
  expect_bad_format(from_base64("Zm9\xc3"), "base64 text has an invalid character at offset 3");
}

TEST(Base64Test, RejectsMisplacedPadding) {
  // '=' anywhere but the last two positions.
  expect_bad_format(from_base64("===="), "base64 text has an invalid character at offset 0");
  expect_bad_format(from_base64("Z==="), "base64 text has an invalid character at offset 1");
  expect_bad_format(from_base64("Zg==Zg=="), "base64 text has an invalid character at offset 2");
  expect_bad_format(from_base64("Zm=v"), "base64 padding is malformed");
}

TEST(Base64Test, MessagesNeverQuoteTheInput) {
  const std::string secretish = "c2VjcmV0IGtleSBieXRlcw=?";
  auto r = from_base64(secretish);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.find("c2Vj"), std::string::npos);
}

TEST(TextViewTest, AsCharsAndAsBytesShareStorage) {
  const std::string text = "abc";
  ByteView bytes = as_bytes(text);
  ASSERT_EQ(bytes.size(), 3u);
  EXPECT_EQ(bytes[0], 'a');
  EXPECT_EQ(as_chars(bytes), text);
  EXPECT_EQ(as_chars(bytes).data(), text.data());
}

}  // namespace
}  // namespace stek

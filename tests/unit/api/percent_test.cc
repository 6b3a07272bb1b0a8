// The percent codec: what it leaves alone, what it escapes, and how malformed escapes fail.
#include "api/percent.h"

#include <gtest/gtest.h>

#include "testing/expect.h"

namespace stek::api {
namespace {

using stek::testing::expect_error;

TEST(PercentCodec, LeavesUnreservedCharactersAndEscapesTheRestInUpperCaseHex) {
  EXPECT_EQ(percent_encode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(percent_encode("eu west/1"), "eu%20west%2F1");
  EXPECT_EQ(percent_encode("a+b&c=d%"), "a%2Bb%26c%3Dd%25");
  EXPECT_EQ(percent_encode("\xc3\xa9"), "%C3%A9");  // UTF-8 e-acute
  EXPECT_EQ(percent_encode(std::string("\0", 1)), "%00");
}

TEST(PercentCodec, EscapesExtraBytesOnRequest) {
  EXPECT_EQ(percent_encode("a~b.c", "~"), "a%7Eb.c");
}

TEST(PercentCodec, EveryByteSurvivesARoundTrip) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  auto back = percent_decode(percent_encode(all));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, all);
  auto form = percent_decode(percent_encode(all), Plus::space);
  ASSERT_TRUE(form.ok());
  EXPECT_EQ(*form, all);  // '+' is always escaped, so form decoding gives the same bytes
}

TEST(PercentCodec, DecodesEitherCaseOfHexDigit) {
  EXPECT_EQ(*percent_decode("%2f%2F%c3%A9"), "//\xc3\xa9");
}

TEST(PercentCodec, PlusIsLiteralExceptInFormEncoding) {
  EXPECT_EQ(*percent_decode("a+b"), "a+b");
  EXPECT_EQ(*percent_decode("a+b", Plus::space), "a b");
  EXPECT_EQ(*percent_decode("a%2Bb", Plus::space), "a+b");
}

TEST(PercentCodec, RefusesMalformedEscapesAndSaysWhere) {
  expect_error(percent_decode("abc%"), Errc::bad_format, "truncated percent escape at offset 3");
  expect_error(percent_decode("abc%4"), Errc::bad_format, "truncated percent escape at offset 3");
  expect_error(percent_decode("%G0"), Errc::bad_format,
               "percent escape at offset 0 is not %XX (hex)");
  expect_error(percent_decode("x%0g"), Errc::bad_format,
               "percent escape at offset 1 is not %XX (hex)");
  expect_error(percent_decode("%%41"), Errc::bad_format,
               "percent escape at offset 0 is not %XX (hex)");
  EXPECT_FALSE(percent_decode("% 41").ok());
  EXPECT_FALSE(percent_decode("%-1").ok());
}

TEST(PercentCodec, DecodesEscapedNulAndPercent) {
  EXPECT_EQ(*percent_decode("%00%25"), std::string("\0%", 2));
}

TEST(QuoteForMessage, KeepsPrintableAsciiAndEscapesTheRest) {
  EXPECT_EQ(quote_for_message("eu-west"), "\"eu-west\"");
  EXPECT_EQ(quote_for_message("a\nb\"\\\xff"), "\"a\\x0Ab\\x22\\x5C\\xFF\"");
  EXPECT_EQ(quote_for_message(std::string(100, 'x')), "\"" + std::string(64, 'x') + "\"...");
}

}  // namespace
}  // namespace stek::api

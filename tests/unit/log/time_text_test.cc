// The one timestamp format: RFC 3339, UTC, "Z".
#include "time_text.h"

#include <gtest/gtest.h>

namespace stek::log {
namespace {

// 1'800'000'000 s is 2027-01-15T08:00:00Z (date -u -d @1800000000).
TEST(TimeText, MillisecondsAreRfc3339InUtc) {
  EXPECT_EQ(rfc3339_utc_ms(1'800'000'000'123), "2027-01-15T08:00:00.123Z");
  EXPECT_EQ(rfc3339_utc_ms(0), "1970-01-01T00:00:00.000Z");
}

TEST(TimeText, NegativeMillisecondsRoundDown) {
  EXPECT_EQ(rfc3339_utc_ms(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(rfc3339_utc_ms(-1000), "1969-12-31T23:59:59.000Z");
}

TEST(TimeText, WholeSecondsHaveNoFraction) {
  EXPECT_EQ(rfc3339_utc(1'800'000'000), "2027-01-15T08:00:00Z");
  EXPECT_EQ(rfc3339_utc(1'800'000'000 - 1), "2027-01-15T07:59:59Z");
}

}  // namespace
}  // namespace stek::log

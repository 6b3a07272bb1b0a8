// Backoff: exponential per round, capped, jitter within its bounds.
#include "backoff.h"

#include <gtest/gtest.h>

#include "fakes.h"

namespace stek::agent {
namespace {

using std::chrono::milliseconds;
using testing::ByteRandom;

TEST(Backoff, DoublesEachRoundUntilTheCap) {
  ByteRandom random;
  Backoff b({milliseconds(1000), milliseconds(10000), 0.0}, random);
  EXPECT_EQ(b.delay(1), milliseconds(1000));
  EXPECT_EQ(b.delay(2), milliseconds(2000));
  EXPECT_EQ(b.delay(3), milliseconds(4000));
  EXPECT_EQ(b.delay(4), milliseconds(8000));
  EXPECT_EQ(b.delay(5), milliseconds(10000));
  EXPECT_EQ(b.delay(500), milliseconds(10000));  // no overflow for long outages
  EXPECT_EQ(random.calls, 0) << "no jitter, no random bytes";
}

TEST(Backoff, JitterStaysWithinItsBounds) {
  ByteRandom random;
  Backoff b({milliseconds(1000), milliseconds(60000), 0.5}, random);
  random.set(0x00);  // lowest draw
  EXPECT_EQ(b.delay(1), milliseconds(500));
  EXPECT_EQ(b.delay(3), milliseconds(2000));
  random.set(0xff);  // highest draw: just under the full delay
  EXPECT_GE(b.delay(1), milliseconds(999));
  EXPECT_LE(b.delay(1), milliseconds(1000));
  EXPECT_GE(b.delay(10), milliseconds(59999));
  EXPECT_LE(b.delay(10), milliseconds(60000));
  random.set(0x80);  // the middle
  EXPECT_NEAR(static_cast<double>(b.delay(2).count()), 1500.0, 2.0);
}

TEST(Backoff, FullJitterMayReachZeroButNotExceedTheDelay) {
  ByteRandom random(0);
  Backoff b({milliseconds(1000), milliseconds(4000), 1.0}, random);
  EXPECT_EQ(b.delay(2), milliseconds(0));
  random.set(0xff);
  EXPECT_LE(b.delay(2), milliseconds(2000));
}

TEST(Backoff, FailingRandomSourceFallsBackToTheFullDelay) {
  ByteRandom random;
  random.fail = true;
  Backoff b({milliseconds(1000), milliseconds(60000), 0.5}, random);
  EXPECT_EQ(b.delay(2), milliseconds(2000));
}

}  // namespace
}  // namespace stek::agent

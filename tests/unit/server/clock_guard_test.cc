// ClockGuard: which time stekd trusts when the wall clock steps forward or back, measured
// against a clock that does not step. Boundaries at max_step - 1, max_step, max_step + 1.
#include "clock_guard.h"

#include <gtest/gtest.h>

namespace stek::server {
namespace {

constexpr UnixSeconds kT0 = 1'800'000'000;
constexpr std::int64_t kBound = 180;

TEST(ClockGuardTest, FirstReadingIsTrusted) {
  ClockGuard g(kBound);
  EXPECT_EQ(g.observe(kT0, 5'000), kT0);
  EXPECT_FALSE(g.alarmed());
}

TEST(ClockGuardTest, WallClockThatKeepsPaceWithElapsedTimeIsTrusted) {
  ClockGuard g(kBound);
  g.observe(kT0, 0);
  EXPECT_EQ(g.observe(kT0 + 3600, 3'600'000), kT0 + 3600);
  EXPECT_FALSE(g.alarmed());
  EXPECT_EQ(g.refused_total(), 0u);
}

TEST(ClockGuardTest, ForwardStepUpToTheBoundIsAcceptedOneMoreIsRefused) {
  ClockGuard at(kBound);
  at.observe(kT0, 0);
  EXPECT_EQ(at.observe(kT0 + 10 + kBound, 10'000), kT0 + 10 + kBound);
  EXPECT_FALSE(at.alarmed());

  ClockGuard over(kBound);
  over.observe(kT0, 0);
  EXPECT_EQ(over.observe(kT0 + 10 + kBound + 1, 10'000), kT0 + 10);
  EXPECT_TRUE(over.alarmed());
  EXPECT_EQ(over.offset(), kBound + 1);
  EXPECT_EQ(over.refused_total(), 1u);
}

TEST(ClockGuardTest, RefusedForwardStepFollowsElapsedTimeAndRecoversWhenTheClockIsRight) {
  ClockGuard g(kBound);
  g.observe(kT0, 0);
  EXPECT_EQ(g.observe(kT0 + 600, 0), kT0);
  EXPECT_EQ(g.observe(kT0 + 630, 30'000), kT0 + 30);  // still 600 s ahead: elapsed time counts
  EXPECT_TRUE(g.alarmed());
  EXPECT_EQ(g.observe(kT0 + 60, 60'000), kT0 + 60);  // stepped back: right again
  EXPECT_FALSE(g.alarmed());
  EXPECT_EQ(g.refused_total(), 2u);
}

TEST(ClockGuardTest, SmallBackwardStepHoldsTheTrustedTimeWithoutAlarm) {
  ClockGuard g(kBound);
  g.observe(kT0, 0);
  EXPECT_EQ(g.observe(kT0 - kBound, 1'000), kT0);
  EXPECT_FALSE(g.alarmed());
  EXPECT_EQ(g.offset(), -kBound);
}

TEST(ClockGuardTest, LargeBackwardStepHoldsTheTrustedTimeWithAlarmUntilTheClockCatchesUp) {
  ClockGuard g(kBound);
  g.observe(kT0, 0);
  EXPECT_EQ(g.observe(kT0 - 600, 1'000), kT0);
  EXPECT_TRUE(g.alarmed());
  // The wall clock runs on from its stepped-back time; the trusted time never goes back.
  EXPECT_EQ(g.observe(kT0 - 600 + 419, 420'000), kT0);
  EXPECT_TRUE(g.alarmed());
  EXPECT_EQ(g.observe(kT0 - 600 + 420, 421'000), kT0);
  EXPECT_FALSE(g.alarmed());
  EXPECT_EQ(g.observe(kT0 + 1, 602'000), kT0 + 1);
  EXPECT_FALSE(g.alarmed());
}

TEST(ClockGuardTest, RestoredTimeIsAFloorAfterARestart) {
  ClockGuard g(kBound);
  g.restore(kT0);
  EXPECT_EQ(g.observe(kT0 - 600, 5'000), kT0);
  EXPECT_TRUE(g.alarmed());
}

TEST(ClockGuardTest, GapForwardAfterARestartIsDowntimeNotAStep) {
  ClockGuard g(kBound);
  g.restore(kT0);
  EXPECT_EQ(g.observe(kT0 + 86400, 5'000), kT0 + 86400);
  EXPECT_FALSE(g.alarmed());
}

TEST(ClockGuardTest, WithoutAClockThatDoesNotStepOnlyBackwardStepsAreChecked) {
  ClockGuard g(kBound);
  g.observe(kT0, std::nullopt);
  EXPECT_EQ(g.observe(kT0 + 6000, std::nullopt), kT0 + 6000);
  EXPECT_FALSE(g.alarmed());
}

TEST(ClockGuardTest, BoundZeroTurnsTheForwardCheckOff) {
  ClockGuard g(0);
  g.observe(kT0, 0);
  EXPECT_EQ(g.observe(kT0 + 6000, 1'000), kT0 + 6000);
  EXPECT_FALSE(g.alarmed());
}

}  // namespace
}  // namespace stek::server

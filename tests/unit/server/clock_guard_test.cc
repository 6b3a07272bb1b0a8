// ClockGuard: which time stekd trusts when the wall clock steps forward or back, measured
// against a clock that does not step. Boundaries at max_step - 1, max_step, max_step + 1.
#include "clock_guard.h"

#include <gtest/gtest.h>

namespace stek::server {
namespace {

constexpr UnixSeconds kGuardStart = 1'800'000'000;
constexpr std::int64_t kGuardBound = 180;

TEST(ClockGuardTest, FirstReadingIsTrusted) {
  ClockGuard g(kGuardBound);
  EXPECT_EQ(g.observe(kGuardStart, 5'000), kGuardStart);
  EXPECT_FALSE(g.alarmed());
}

TEST(ClockGuardTest, WallClockThatKeepsPaceWithElapsedTimeIsTrusted) {
  ClockGuard g(kGuardBound);
  g.observe(kGuardStart, 0);
  EXPECT_EQ(g.observe(kGuardStart + 3600, 3'600'000), kGuardStart + 3600);
  EXPECT_FALSE(g.alarmed());
  EXPECT_EQ(g.refused_total(), 0u);
}

TEST(ClockGuardTest, ForwardStepUpToTheBoundIsAcceptedOneMoreIsRefused) {
  ClockGuard at(kGuardBound);
  at.observe(kGuardStart, 0);
  EXPECT_EQ(at.observe(kGuardStart + 10 + kGuardBound, 10'000), kGuardStart + 10 + kGuardBound);
  EXPECT_FALSE(at.alarmed());

  ClockGuard over(kGuardBound);
  over.observe(kGuardStart, 0);
  EXPECT_EQ(over.observe(kGuardStart + 10 + kGuardBound + 1, 10'000), kGuardStart + 10);
  EXPECT_TRUE(over.alarmed());
  EXPECT_EQ(over.offset(), kGuardBound + 1);
  EXPECT_EQ(over.refused_total(), 1u);
}

TEST(ClockGuardTest, RefusedForwardStepFollowsElapsedTimeAndRecoversWhenTheClockIsRight) {
  ClockGuard g(kGuardBound);
  g.observe(kGuardStart, 0);
  EXPECT_EQ(g.observe(kGuardStart + 600, 0), kGuardStart);
  EXPECT_EQ(g.observe(kGuardStart + 630, 30'000),
            kGuardStart + 30);  // still 600 s ahead: elapsed time counts
  EXPECT_TRUE(g.alarmed());
  EXPECT_EQ(g.observe(kGuardStart + 60, 60'000), kGuardStart + 60);  // stepped back: right again
  EXPECT_FALSE(g.alarmed());
  EXPECT_EQ(g.refused_total(), 2u);
}

TEST(ClockGuardTest, SmallBackwardStepHoldsTheTrustedTimeWithoutAlarm) {
  ClockGuard g(kGuardBound);
  g.observe(kGuardStart, 0);
  EXPECT_EQ(g.observe(kGuardStart - kGuardBound, 1'000), kGuardStart);
  EXPECT_FALSE(g.alarmed());
  EXPECT_EQ(g.offset(), -kGuardBound);
}

TEST(ClockGuardTest, LargeBackwardStepHoldsTheTrustedTimeWithAlarmUntilTheClockCatchesUp) {
  ClockGuard g(kGuardBound);
  g.observe(kGuardStart, 0);
  EXPECT_EQ(g.observe(kGuardStart - 600, 1'000), kGuardStart);
  EXPECT_TRUE(g.alarmed());
  // The wall clock runs on from its stepped-back time; the trusted time never goes back.
  EXPECT_EQ(g.observe(kGuardStart - 600 + 419, 420'000), kGuardStart);
  EXPECT_TRUE(g.alarmed());
  EXPECT_EQ(g.observe(kGuardStart - 600 + 420, 421'000), kGuardStart);
  EXPECT_FALSE(g.alarmed());
  EXPECT_EQ(g.observe(kGuardStart + 1, 602'000), kGuardStart + 1);
  EXPECT_FALSE(g.alarmed());
}

TEST(ClockGuardTest, RestoredTimeIsAFloorAfterARestart) {
  ClockGuard g(kGuardBound);
  g.restore(kGuardStart);
  EXPECT_EQ(g.observe(kGuardStart - 600, 5'000), kGuardStart);
  EXPECT_TRUE(g.alarmed());
}

TEST(ClockGuardTest, GapForwardAfterARestartIsDowntimeNotAStep) {
  ClockGuard g(kGuardBound);
  g.restore(kGuardStart);
  EXPECT_EQ(g.observe(kGuardStart + 86400, 5'000), kGuardStart + 86400);
  EXPECT_FALSE(g.alarmed());
}

TEST(ClockGuardTest, WithoutAClockThatDoesNotStepOnlyBackwardStepsAreChecked) {
  ClockGuard g(kGuardBound);
  g.observe(kGuardStart, std::nullopt);
  EXPECT_EQ(g.observe(kGuardStart + 6000, std::nullopt), kGuardStart + 6000);
  EXPECT_FALSE(g.alarmed());
}

TEST(ClockGuardTest, BoundZeroTurnsTheForwardCheckOff) {
  ClockGuard g(0);
  g.observe(kGuardStart, 0);
  EXPECT_EQ(g.observe(kGuardStart + 6000, 1'000), kGuardStart + 6000);
  EXPECT_FALSE(g.alarmed());
}

}  // namespace
}  // namespace stek::server

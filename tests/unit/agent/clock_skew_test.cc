// The clock-skew estimate from one exchange with stekd, the bounds of a schedule (I/2, warning
// at I/4), the alarm levels at the bounds (t-1, t, t+1 ms), and the rate-limited log. Times
// are plain numbers: no clock is read.
#include "clock_skew.h"

#include <gtest/gtest.h>

#include "fakes.h"
#include "ring_keeper.h"
#include "testing/fixed_clock.h"

namespace stek::agent {
namespace {

constexpr std::int64_t kT0 = 1'800'000'000'000;                // ms since the Unix epoch
const Schedule kSchedule = *Schedule::make(testing::kParams);  // I = 60 s

SkewEstimate exact(std::int64_t skew_ms, std::int64_t uncertainty_ms = 0) {
  return {skew_ms, uncertainty_ms, kT0};
}

TEST(ClockSkew, ImmediateAnswerGivesServerTimeMinusTheMidpoint) {
  // stekd is 5 s ahead; the exchange took 100 ms.
  const auto e = estimate_skew({kT0, kT0 + 100, kT0 + 50 + 5000, 0});
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->skew_ms, 5000);
  EXPECT_EQ(e->uncertainty_ms, 50);
  EXPECT_EQ(e->at_ms, kT0 + 100);
}

TEST(ClockSkew, LongPollHoldIsTakenOutOfTheRoundTrip) {
  // Held 60 s, 20 ms on the network; this host is 3 s ahead of stekd.
  const auto e = estimate_skew({kT0, kT0 + 60'020, kT0 + 60'010 - 3000, 60'000});
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->skew_ms, -3000);
  EXPECT_EQ(e->uncertainty_ms, 10);
}

TEST(ClockSkew, TrueSkewLiesWithinTheUncertaintyWhateverTheDelays) {
  for (const std::int64_t skew : {-45'000, -1, 0, 7, 30'000}) {
    for (const std::int64_t up : {0, 1, 10, 90, 900}) {
      for (const std::int64_t down : {0, 3, 10, 500}) {
        for (const std::int64_t held : {0, 250, 60'000}) {
          // Sent at kT0 (host clock); stekd reads it `up` ms later, answers `held` ms after
          // that, and the answer takes `down` ms back.
          const std::int64_t server = kT0 + up + held + skew;
          const auto e = estimate_skew({kT0, kT0 + up + held + down, server, held});
          ASSERT_TRUE(e.has_value());
          EXPECT_LE(std::abs(e->skew_ms - skew), e->uncertainty_ms)
              << "skew " << skew << " up " << up << " down " << down << " held " << held;
          EXPECT_LE(e->uncertainty_ms, (up + down + 1) / 2 + 1);
        }
      }
    }
  }
}

TEST(ClockSkew, HoldLongerThanTheRoundTripCountsAsAllOfIt) {
  // stekd says it held the request 5 s of a 1 s exchange: read at kT0, answered at kT0 + 1 s.
  const auto e = estimate_skew({kT0, kT0 + 1000, kT0 + 1000, 5000});
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->uncertainty_ms, 0);
  EXPECT_EQ(e->skew_ms, 0);
}

TEST(ClockSkew, HostClockGoingBackDuringTheExchangeGivesNoEstimate) {
  EXPECT_FALSE(estimate_skew({kT0, kT0 - 1, kT0, 0}).has_value());
}

TEST(ClockSkew, BoundIsHalfTheIntervalAndTheWarningHalfOfThat) {
  const SkewBounds b = skew_bounds(kSchedule);
  EXPECT_DOUBLE_EQ(b.limit_seconds, 30);
  EXPECT_DOUBLE_EQ(b.warn_seconds, 15);
  const SkewBounds odd = skew_bounds(*Schedule::make({5, 2, 2}));
  EXPECT_DOUBLE_EQ(odd.limit_seconds, 2.5);
  EXPECT_DOUBLE_EQ(odd.warn_seconds, 1.25);
}

TEST(ClockSkew, LevelsChangeJustPastEachBoundInBothDirections) {
  const SkewBounds b = skew_bounds(kSchedule);
  for (const std::int64_t sign : {1, -1}) {
    EXPECT_EQ(skew_level(exact(sign * 14'999), b), SkewLevel::ok);
    EXPECT_EQ(skew_level(exact(sign * 15'000), b), SkewLevel::ok);
    EXPECT_EQ(skew_level(exact(sign * 15'001), b), SkewLevel::warn);
    EXPECT_EQ(skew_level(exact(sign * 29'999), b), SkewLevel::warn);
    EXPECT_EQ(skew_level(exact(sign * 30'000), b), SkewLevel::warn);
    EXPECT_EQ(skew_level(exact(sign * 30'001), b), SkewLevel::alarm);
  }
}

TEST(ClockSkew, WarnsOnWhatTheUncertaintyAllowsButAlarmsOnlyOnWhatItProves) {
  const SkewBounds b = skew_bounds(kSchedule);
  EXPECT_EQ(skew_level(exact(14'990, 10), b), SkewLevel::ok);
  EXPECT_EQ(skew_level(exact(14'990, 11), b), SkewLevel::warn);
  EXPECT_EQ(skew_level(exact(30'010, 10), b), SkewLevel::warn);
  EXPECT_EQ(skew_level(exact(30'011, 10), b), SkewLevel::alarm);
  // A slow answer on a loaded host: 2 s either way proves nothing.
  EXPECT_EQ(skew_level(exact(-2'000, 2'000), skew_bounds(*Schedule::make({1, 2, 2}))),
            SkewLevel::warn);
}

TEST(ClockSkew, DescriptionSaysWhichWayTheHostIsOff) {
  EXPECT_EQ(describe_skew(exact(-45'002, 1)),
            "this host's clock is 45.002 s ahead of stekd's (+- 0.001 s)");
  EXPECT_EQ(describe_skew(exact(1'500, 20)),
            "this host's clock is 1.500 s behind stekd's (+- 0.020 s)");
}

// A sample that makes `skew_ms` with no uncertainty.
SkewSample sample(std::int64_t skew_ms) {
  return {kT0, kT0, kT0 + skew_ms, 0};
}

TEST(SkewWatch, NothingToJudgeWithoutAnEstimateOrASchedule) {
  SkewWatch no_estimate;
  EXPECT_FALSE(no_estimate.evaluate(&kSchedule, kT0).has_value());
  EXPECT_EQ(no_estimate.level(), SkewLevel::ok);
  SkewWatch w;
  w.observe(sample(-45'000));
  EXPECT_FALSE(w.evaluate(nullptr, kT0).has_value());  // no ring held: no bound known
  EXPECT_EQ(w.level(), SkewLevel::ok);
  EXPECT_FALSE(w.bounds().has_value());
  ASSERT_TRUE(w.estimate().has_value());
  EXPECT_EQ(w.estimate()->skew_ms, -45'000);
}

TEST(SkewWatch, KeepsTheLatestEstimate) {
  SkewWatch w;
  w.observe(sample(-45'000));
  w.observe(sample(200));
  ASSERT_TRUE(w.estimate().has_value());
  EXPECT_EQ(w.estimate()->skew_ms, 200);
  w.observe({kT0, kT0 - 5, kT0, 0});  // no estimate from this one: the previous stays
  EXPECT_EQ(w.estimate()->skew_ms, 200);
}

TEST(SkewWatch, AlarmIsLoggedAtOnceThenAtMostOncePerPeriod) {
  SkewWatch w;
  w.observe(sample(-45'000));
  auto first = w.evaluate(&kSchedule, kT0);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->level, SkewLevel::alarm);
  EXPECT_EQ(w.level(), SkewLevel::alarm);
  EXPECT_FALSE(w.evaluate(&kSchedule, kT0 + 1000).has_value());
  EXPECT_FALSE(w.evaluate(&kSchedule, kT0 + SkewWatch::kLogEveryMs - 1).has_value());
  auto again = w.evaluate(&kSchedule, kT0 + SkewWatch::kLogEveryMs);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->level, SkewLevel::alarm);
}

TEST(SkewWatch, WorseLevelIsLoggedAtOnceMilderOnesWaitForThePeriod) {
  SkewWatch w;
  w.observe(sample(20'000));
  ASSERT_EQ(w.evaluate(&kSchedule, kT0)->level, SkewLevel::warn);
  w.observe(sample(40'000));
  auto worse = w.evaluate(&kSchedule, kT0 + 1000);
  ASSERT_TRUE(worse.has_value());
  EXPECT_EQ(worse->level, SkewLevel::alarm);
  // Flapping back and forth across the warning does not flood the log.
  int lines = 0;
  for (int i = 0; i < 100; ++i) {
    w.observe(sample(i % 2 ? 20'000 : 100));
    if (w.evaluate(&kSchedule, kT0 + 2000 + i * 1000)) ++lines;
  }
  EXPECT_EQ(lines, 0);
  EXPECT_EQ(w.level(), SkewLevel::warn);  // the latest sample's level, logged or not
  w.observe(sample(100));
  auto back = w.evaluate(&kSchedule, kT0 + 1000 + SkewWatch::kLogEveryMs);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->level, SkewLevel::ok);
  EXPECT_FALSE(w.evaluate(&kSchedule, kT0 + 10 * SkewWatch::kLogEveryMs).has_value());
}

TEST(RingKeeper, TakesTheClockSampleIntoItsMetricsAndAlarms) {
  // I = 60 s: this host 45 s ahead of stekd is beyond the bound of 30 s.
  testing::TempDir dir;
  FixedClock clock(kT0 / 1000);
  std::vector<std::unique_ptr<Sink>> sinks;
  sinks.push_back(std::make_unique<testing::RecordingSink>());
  RingKeeper keeper("eu", RingCache(dir.path(), "eu"), std::move(sinks), clock);
  const Epoch e = kSchedule.epoch_at(clock.now());
  RingUpdate update = testing::ring_update(testing::make_ring("eu", e - 2, e + 2, clock.now(), 1),
                                           "eu", clock.now());
  update.clock = SkewSample{kT0, kT0 + 4, kT0 + 2 - 45'000, 0};
  EXPECT_TRUE(keeper.apply(std::move(update)));
  const Metrics& m = keeper.metrics();
  ASSERT_TRUE(m.clock_skew.has_value());
  EXPECT_EQ(m.clock_skew->skew_ms, -45'000);
  EXPECT_EQ(m.clock_skew->uncertainty_ms, 2);
  ASSERT_TRUE(m.clock_skew_bounds.has_value());
  EXPECT_DOUBLE_EQ(m.clock_skew_bounds->limit_seconds, 30);
  EXPECT_EQ(m.clock_skew_level, SkewLevel::alarm);
  const std::string text = render_prometheus(m);
  EXPECT_NE(text.find("stek_agent_clock_skew_seconds{domain=\"eu\"} -45\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("stek_agent_clock_skew_uncertainty_seconds{domain=\"eu\"} 0.002\n"),
            std::string::npos);
  EXPECT_NE(text.find("stek_agent_clock_skew_limit_seconds{domain=\"eu\"} 30\n"),
            std::string::npos);
  EXPECT_NE(text.find("stek_agent_clock_skew_alarm{domain=\"eu\"} 2\n"), std::string::npos);

  // A later answer from a corrected clock clears it; an update without a sample keeps it.
  RingUpdate corrected;
  corrected.sync = RingUpdate::Sync::answered;
  corrected.clock = SkewSample{kT0, kT0 + 4, kT0 + 2 + 3, 0};
  EXPECT_FALSE(keeper.apply(std::move(corrected)));
  EXPECT_EQ(keeper.metrics().clock_skew_level, SkewLevel::ok);
  EXPECT_EQ(keeper.metrics().clock_skew->skew_ms, 3);
  EXPECT_FALSE(keeper.apply(RingUpdate{}));
  EXPECT_EQ(keeper.metrics().clock_skew->skew_ms, 3);
}

}  // namespace
}  // namespace stek::agent

// until_next_boundary: timers wake just after an epoch boundary, never before it, and never
// later than the cap, whatever the sub-second phase of the clock.
#include "stek/clock.h"

#include <gtest/gtest.h>

#include "testing/fixed_clock.h"

namespace stek {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class MillisClock final : public Clock {
 public:
  explicit MillisClock(std::int64_t ms) : ms_(ms) {}
  UnixSeconds now() const override { return ms_ / 1000; }
  std::int64_t now_ms() const override { return ms_; }

 private:
  std::int64_t ms_;
};

Schedule every(std::int64_t interval) {
  auto s = Schedule::make({.interval = interval, .history = 2, .lookahead = 1});
  EXPECT_TRUE(s.ok()) << s.error().message;
  return *s;
}

TEST(UntilNextBoundary, WakesJustAfterTheBoundaryFromAnyPhase) {
  const Schedule s = every(10);
  for (std::int64_t ms : {100'000, 100'001, 100'900, 104'999, 109'000, 109'994}) {
    const MillisClock clock(ms);
    const milliseconds d = until_next_boundary(s, clock, seconds(60));
    const std::int64_t wake = ms + d.count();
    EXPECT_GE(wake, 110'000) << "from " << ms;         // never before the boundary
    EXPECT_LE(wake, 110'000 + 50) << "from " << ms;    // and only just after it
    EXPECT_EQ(wake / 1000 / 10, 11) << "from " << ms;  // now() on waking is in the new epoch
  }
}

TEST(UntilNextBoundary, IsCappedSoASteppedClockIsNoticed) {
  const Schedule s = every(3600);
  const MillisClock clock(7'200'000 + 1);
  EXPECT_EQ(until_next_boundary(s, clock, seconds(30)), milliseconds(30'000));
}

TEST(UntilNextBoundary, ASecondGrainClockStillWakesAfterTheBoundary) {
  const Schedule s = every(10);
  const FixedClock clock(105);
  const milliseconds d = until_next_boundary(s, clock, seconds(60));
  EXPECT_GE(105'000 + d.count(), 110'000);
}

}  // namespace
}  // namespace stek

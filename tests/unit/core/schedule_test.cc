// Key schedule: epoch arithmetic (negative times too), each key's role at t-1, t and t+1
// around every boundary of its life, the held window, lifetime hint, runway, and the
// validation of schedule parameters.
#include "stek/schedule.h"

#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "testing/keys.h"

namespace stek {
namespace {

Schedule make_schedule(std::int64_t interval, std::int64_t history, std::int64_t lookahead) {
  return Schedule::make({interval, history, lookahead}).value();
}

// Schedules and key epochs the boundary tests walk through: the default, a short one, one
// with no history, the shortest interval where t-1, t and t+1 around a boundary are not all
// in different epochs (2 s), and key epochs on both sides of the Unix epoch.
const std::vector<ScheduleParams> kSchedules = {{3600, 18, 2}, {60, 3, 1}, {7, 0, 4}, {2, 5, 2}};
const std::vector<Epoch> kKeyEpochs = {498754, 1, 0, -1, -7};

// Expects the key of epoch k to have roles before/at/after at t-1, t and t+1 for boundary t.
void expect_roles(const Schedule& s, Epoch k, UnixSeconds t, KeyRole before, KeyRole at,
                  KeyRole after) {
  SCOPED_TRACE(::testing::Message() << "I=" << s.interval() << " H=" << s.history()
                                    << " L=" << s.lookahead() << " k=" << k << " t=" << t);
  EXPECT_EQ(s.role(k, t - 1), before);
  EXPECT_EQ(s.role(k, t), at);
  EXPECT_EQ(s.role(k, t + 1), after);
}

TEST(ScheduleTest, EpochIsFloorOfUnixTimeOverInterval) {
  const Schedule s = Schedule::standard();
  EXPECT_EQ(s.epoch_at(0), 0);
  EXPECT_EQ(s.epoch_at(1), 0);
  EXPECT_EQ(s.epoch_at(3599), 0);
  EXPECT_EQ(s.epoch_at(3600), 1);
  EXPECT_EQ(s.epoch_at(3601), 1);
  // 2026-11-24T10:00:00Z and one second before.
  EXPECT_EQ(s.epoch_at(1795514400), 498754);
  EXPECT_EQ(s.epoch_at(1795514399), 498753);
}

TEST(ScheduleTest, EpochFloorsNegativeTimesRatherThanTruncating) {
  const Schedule s = Schedule::standard();
  EXPECT_EQ(s.epoch_at(-1), -1);
  EXPECT_EQ(s.epoch_at(-3599), -1);
  EXPECT_EQ(s.epoch_at(-3600), -1);
  EXPECT_EQ(s.epoch_at(-3601), -2);
  EXPECT_EQ(s.epoch_at(-7200), -2);
  const Schedule seven = make_schedule(7, 1, 1);
  EXPECT_EQ(seven.epoch_at(-6), -1);
  EXPECT_EQ(seven.epoch_at(-7), -1);
  EXPECT_EQ(seven.epoch_at(-8), -2);
  EXPECT_EQ(seven.epoch_at(-14), -2);
  EXPECT_EQ(seven.epoch_at(-15), -3);
}

TEST(ScheduleTest, EveryTimeLiesInsideTheEpochItMapsTo) {
  for (const ScheduleParams& p : kSchedules) {
    const Schedule s = Schedule::make(p).value();
    for (UnixSeconds t = -3 * p.interval - 5; t <= 3 * p.interval + 5; ++t) {
      const Epoch e = s.epoch_at(t);
      ASSERT_LE(s.epoch_start(e), t) << "I=" << p.interval << " t=" << t;
      ASSERT_LT(t, s.epoch_start(e + 1)) << "I=" << p.interval << " t=" << t;
      ASSERT_EQ(s.next_boundary(t), s.epoch_start(e + 1));
    }
  }
}

TEST(ScheduleTest, KeyIsPendingUntilTheEpochBeforeItsOwn) {
  for (const ScheduleParams& p : kSchedules) {
    const Schedule s = Schedule::make(p).value();
    for (Epoch k : kKeyEpochs) {
      expect_roles(s, k, s.epoch_start(k - 1), KeyRole::pending, KeyRole::next, KeyRole::next);
      // Held keys further ahead (up to e+L) and keys beyond the window are pending too.
      EXPECT_EQ(s.role(k, s.epoch_start(k - s.lookahead())),
                s.lookahead() == 1 ? KeyRole::next : KeyRole::pending);
      EXPECT_EQ(s.role(k, s.epoch_start(k - 100)), KeyRole::pending);
    }
  }
}

TEST(ScheduleTest, RotatesExactlyAtEpochBoundary) {
  for (const ScheduleParams& p : kSchedules) {
    const Schedule s = Schedule::make(p).value();
    for (Epoch k : kKeyEpochs) {
      expect_roles(s, k, s.epoch_start(k), KeyRole::next, KeyRole::encrypt, KeyRole::encrypt);
      EXPECT_EQ(s.not_before(k), s.epoch_start(k));
    }
  }
}

TEST(ScheduleTest, BecomesDecryptOnlyWhenTheNextEpochStarts) {
  for (const ScheduleParams& p : kSchedules) {
    if (p.history == 0) continue;  // see ExpiresAtEndOfOwnEpochWithZeroHistory
    const Schedule s = Schedule::make(p).value();
    for (Epoch k : kKeyEpochs) {
      expect_roles(s, k, s.epoch_start(k + 1), KeyRole::encrypt, KeyRole::decrypt,
                   KeyRole::decrypt);
    }
  }
}

TEST(ScheduleTest, ExpiresWhenEpochPlusHistoryEnds) {
  for (const ScheduleParams& p : kSchedules) {
    if (p.history == 0) continue;
    const Schedule s = Schedule::make(p).value();
    for (Epoch k : kKeyEpochs) {
      const UnixSeconds end = s.epoch_start(k + s.history() + 1);
      expect_roles(s, k, end, KeyRole::decrypt, KeyRole::expired, KeyRole::expired);
      EXPECT_EQ(s.not_after(k), end - 1);
      EXPECT_EQ(s.role(k, end + 100 * s.interval()), KeyRole::expired);
    }
  }
}

TEST(ScheduleTest, ExpiresAtEndOfOwnEpochWithZeroHistory) {
  const Schedule s = make_schedule(7, 0, 4);
  for (Epoch k : kKeyEpochs) {
    expect_roles(s, k, s.epoch_start(k + 1), KeyRole::encrypt, KeyRole::expired, KeyRole::expired);
    EXPECT_EQ(s.not_after(k), s.epoch_start(k + 1) - 1);
  }
}

TEST(ScheduleTest, KeyDecryptsThroughoutItsValidity) {
  const Schedule s = make_schedule(60, 3, 1);
  const Epoch k = 10;
  for (UnixSeconds t = s.not_before(k) - 60; t <= s.not_after(k) + 60; ++t) {
    const bool valid = t >= s.not_before(k) && t <= s.not_after(k);
    ASSERT_EQ(role_decrypts(s.role(k, t)) && s.role(k, t) != KeyRole::next, valid) << "t=" << t;
  }
}

TEST(ScheduleTest, HeldWindowSpansHistoryBackAndLookaheadForward) {
  const Schedule s = Schedule::standard();
  const UnixSeconds t = s.epoch_start(498754);
  EpochRange w = s.held_window(t);
  EXPECT_EQ(w.first, 498754 - 18);
  EXPECT_EQ(w.last, 498754 + 2);
  // It moves by one epoch exactly at the boundary.
  EXPECT_EQ(s.held_window(t - 1).first, 498753 - 18);
  EXPECT_EQ(s.held_window(t - 1).last, 498753 + 2);
  EXPECT_EQ(s.held_window(t + 1).first, w.first);
  EXPECT_EQ(s.held_window(t + 1).last, w.last);
  EXPECT_TRUE(w.contains(w.first));
  EXPECT_TRUE(w.contains(w.last));
  EXPECT_FALSE(w.contains(w.first - 1));
  EXPECT_FALSE(w.contains(w.last + 1));
}

TEST(ScheduleTest, HeldWindowHoldsExactlyTheKeysThatAreNotExpired) {
  for (const ScheduleParams& p : kSchedules) {
    const Schedule s = Schedule::make(p).value();
    for (UnixSeconds t :
         {UnixSeconds{-1}, UnixSeconds{0}, UnixSeconds{1795514399}, UnixSeconds{1795514400}}) {
      const EpochRange w = s.held_window(t);
      EXPECT_EQ(w.last - w.first + 1, p.history + 1 + p.lookahead);
      for (Epoch k = w.first; k <= w.last; ++k) EXPECT_NE(s.role(k, t), KeyRole::expired);
      EXPECT_EQ(s.role(w.first - 1, t), KeyRole::expired);
      EXPECT_EQ(s.role(w.last, t), p.lookahead == 1 ? KeyRole::next : KeyRole::pending);
    }
  }
}

TEST(ScheduleTest, LifetimeHintIsHistoryTimesInterval) {
  EXPECT_EQ(Schedule::standard().lifetime_hint(), 64800);
  EXPECT_EQ(make_schedule(60, 5, 1).lifetime_hint(), 300);
  EXPECT_EQ(make_schedule(7, 0, 4).lifetime_hint(), 0);
  EXPECT_EQ(make_schedule(3600, 168, 2).lifetime_hint(), kMaxTicketLifetime);
}

TEST(ScheduleTest, LifetimeHintNeverOutlivesTheKeyThatIssuedTheTicket) {
  for (const ScheduleParams& p : kSchedules) {
    const Schedule s = Schedule::make(p).value();
    const Epoch k = 42;
    for (UnixSeconds t = s.epoch_start(k); t < s.epoch_start(k + 1); t += 1 + p.interval / 50) {
      EXPECT_LE(t + s.lifetime_hint(), s.not_after(k));
    }
    // A ticket from the last second of the epoch is good for exactly the hint.
    EXPECT_EQ(s.epoch_start(k + 1) - 1 + s.lifetime_hint(), s.not_after(k));
  }
}

TEST(ScheduleTest, RunwayLastsUntilTheLastHeldEpochEnds) {
  const Schedule s = Schedule::standard();
  const UnixSeconds start = s.epoch_start(498754);
  EXPECT_EQ(s.runway(start), 3 * 3600);
  EXPECT_EQ(s.runway(start + 1), 3 * 3600 - 1);
  EXPECT_EQ(s.runway(start - 1), 1 + 2 * 3600);
  for (const ScheduleParams& p : kSchedules) {
    const Schedule sp = Schedule::make(p).value();
    for (UnixSeconds t : {UnixSeconds{-5}, UnixSeconds{0}, UnixSeconds{1795514400}}) {
      const Epoch last_held = sp.held_window(t).last;
      // The last second of the runway still has a held key; the next second needs one more.
      EXPECT_EQ(sp.epoch_at(t + sp.runway(t) - 1), last_held);
      EXPECT_EQ(sp.epoch_at(t + sp.runway(t)), last_held + 1);
    }
  }
}

TEST(ScheduleTest, MakeAcceptsTheDesignDefaults) {
  auto s = Schedule::make(ScheduleParams{});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->interval(), 3600);
  EXPECT_EQ(s->history(), 18);
  EXPECT_EQ(s->lookahead(), 2);
  EXPECT_EQ(Schedule::standard().params().interval, s->params().interval);
  EXPECT_EQ(Schedule::standard().params().history, s->params().history);
  EXPECT_EQ(Schedule::standard().params().lookahead, s->params().lookahead);
}

void expect_rejected(const ScheduleParams& p, const std::string& mentions) {
  auto s = Schedule::make(p);
  ASSERT_FALSE(s.ok()) << "I=" << p.interval << " H=" << p.history << " L=" << p.lookahead;
  EXPECT_EQ(s.error().code, Errc::invalid_argument);
  EXPECT_NE(s.error().message.find(mentions), std::string::npos) << s.error().message;
}

TEST(ScheduleTest, MakeRejectsIntervalBelowOneSecond) {
  expect_rejected({0, 18, 2}, "interval");
  expect_rejected({-3600, 18, 2}, "interval");
  EXPECT_TRUE(Schedule::make({1, 18, 2}).ok());
}

TEST(ScheduleTest, MakeRejectsLookaheadBelowOne) {
  expect_rejected({3600, 18, 0}, "lookahead");
  expect_rejected({3600, 18, -1}, "lookahead");
  EXPECT_TRUE(Schedule::make({3600, 18, 1}).ok());
}

TEST(ScheduleTest, MakeRejectsNegativeHistory) {
  expect_rejected({3600, -1, 2}, "history");
  EXPECT_TRUE(Schedule::make({3600, 0, 2}).ok());
}

TEST(ScheduleTest, MakeRejectsTicketLifetimeAboveSevenDays) {
  expect_rejected({3600, 169, 2}, "7 days");
  EXPECT_TRUE(Schedule::make({3600, 168, 2}).ok());  // exactly 604800 s
  expect_rejected({1, 604801, 1}, "7 days");
  EXPECT_TRUE(Schedule::make({1, 604800, 1}).ok());
  expect_rejected({604801, 1, 1}, "7 days");
  EXPECT_TRUE(Schedule::make({604800, 1, 1}).ok());
  // Large enough to overflow H*I if it were computed naively.
  expect_rejected({std::numeric_limits<std::int64_t>::max() / 2, 4, 1}, "7 days");
}

TEST(ScheduleTest, MakeRejectsIntervalsWhoseWindowArithmeticWouldOverflow) {
  // With H = 0 the 7-day bound says nothing about I; a huge I must still not make
  // runway(), not_after() or epoch_start() overflow for ordinary times.
  const std::int64_t huge = std::numeric_limits<std::int64_t>::max() / 4;
  expect_rejected({huge, 0, 10}, "interval");
  expect_rejected({std::numeric_limits<std::int64_t>::max(), 0, 1}, "interval");
  // The largest accepted interval leaves the arithmetic in range.
  auto ok = Schedule::make({kMaxTicketLifetime * 10, 0, 10});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->runway(0), 11 * kMaxTicketLifetime * 10);
}

TEST(ScheduleTest, RoleNamesRoundTrip) {
  for (KeyRole r :
       {KeyRole::pending, KeyRole::next, KeyRole::encrypt, KeyRole::decrypt, KeyRole::expired}) {
    auto parsed = parse_key_role(key_role_name(r));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, r);
  }
  auto bad = parse_key_role("current");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::bad_format);
}

TEST(ScheduleTest, OnlyNextEncryptAndDecryptOpenTickets) {
  EXPECT_FALSE(role_decrypts(KeyRole::pending));
  EXPECT_TRUE(role_decrypts(KeyRole::next));
  EXPECT_TRUE(role_decrypts(KeyRole::encrypt));
  EXPECT_TRUE(role_decrypts(KeyRole::decrypt));
  EXPECT_FALSE(role_decrypts(KeyRole::expired));
}

}  // namespace
}  // namespace stek

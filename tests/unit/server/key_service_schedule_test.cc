// KeyService across schedule changes (issue 10, Deliver 9): the state records the schedule its
// secrets were made under; a shorter history or look-ahead keeps (and serves) every key live
// under either schedule until the old one's last key has expired, tested at t-1 / t / t+1 of
// that end; another interval is refused; states of earlier releases are read and recorded.
#include <set>

#include <gtest/gtest.h>

#include "key_service.h"
#include "memory_audit_log.h"
#include "memory_store.h"
#include "testing/keys.h"

namespace stek::server {
namespace {

using testing::InMemoryStore;

constexpr std::int64_t kSchedI = 60;
constexpr Epoch kSchedE = 1000;
constexpr UnixSeconds sched_start(Epoch e) {
  return e * kSchedI;
}

class ScheduleRandom final : public Random {
 public:
  Status fill(std::span<std::uint8_t> out) override {
    SecretBytes b = stek::testing::pattern_bytes(++draws_, out.size());
    std::copy(b.view().begin(), b.view().end(), out.begin());
    return {};
  }

 private:
  std::uint64_t draws_ = 0;
};

class KeyServiceScheduleTest : public ::testing::Test {
 protected:
  KeyService& under(ScheduleParams p) {
    services_.push_back(std::make_unique<KeyService>(
        Schedule::make(p).value(), std::vector<std::string>{"eu"}, store, random, audit));
    return *services_.back();
  }
  // Runs H = 2, L = 2 from epoch E to E + 4: the store holds epochs E+2 .. E+6.
  void run_old_schedule(ScheduleParams p = {kSchedI, 2, 2}) {
    KeyService& old = under(p);
    ASSERT_TRUE(old.start(sched_start(kSchedE) + 5).ok());
    for (Epoch e = kSchedE + 1; e <= kSchedE + 4; ++e)
      ASSERT_TRUE(old.maintain(sched_start(e)).ok());
  }
  std::set<Epoch> stored() const {
    std::set<Epoch> out;
    for (const auto& [e, g] : store.state().epoch_secrets) out.insert(e);
    return out;
  }
  std::set<Epoch> ring_epochs(const KeyService& keys) const {
    std::set<Epoch> out;
    const KeyRing ring = keys.ring("eu").value();
    for (const RingKey& k : ring.keys()) out.insert(*k.meta.epoch);
    return out;
  }
  std::int64_t ring_history(const KeyService& keys) const {
    return keys.ring("eu").value().info().schedule->history;
  }
  std::size_t events(const std::string& name) const {
    std::size_t n = 0;
    for (const auto& ev : audit.events) n += ev["event"] == name ? 1 : 0;
    return n;
  }

  InMemoryStore store;
  ScheduleRandom random;
  MemoryAuditLog audit;

 private:
  std::vector<std::unique_ptr<KeyService>> services_;
};

TEST_F(KeyServiceScheduleTest, StateRecordsTheScheduleItsSecretsAreMadeUnder) {
  ASSERT_TRUE(under({kSchedI, 2, 2}).start(sched_start(kSchedE)).ok());
  ASSERT_TRUE(store.state().schedule.has_value());
  EXPECT_EQ(store.state().schedule->history, 2);
  EXPECT_EQ(store.state().schedule->lookahead, 2);
  EXPECT_FALSE(store.state().previous_schedule.has_value());
  EXPECT_EQ(events("schedule_recorded"), 1u);
}

TEST_F(KeyServiceScheduleTest, ShorterHistoryKeepsAndServesOldKeysUntilTheOldScheduleEnds) {
  run_old_schedule();
  KeyService& keys = under({kSchedI, 0, 2});
  ASSERT_TRUE(keys.start(sched_start(kSchedE + 4)).ok());
  // The newest key made under H = 2 is E+6: it opens tickets until E+8 ends.
  const UnixSeconds end = sched_start(kSchedE + 9);
  ASSERT_TRUE(store.state().previous_schedule.has_value());
  EXPECT_EQ(store.state().previous_schedule->live_until, end - 1);
  EXPECT_EQ(store.state().previous_schedule->params.history, 2);
  EXPECT_EQ(store.state().schedule->history, 0);
  EXPECT_EQ(events("schedule_changed"), 1u);
  EXPECT_EQ(stored().count(kSchedE + 2), 1u);
  // Hosts get the old keys, and a schedule under which they keep them.
  EXPECT_EQ(ring_epochs(keys),
            (std::set<Epoch>{kSchedE + 2, kSchedE + 3, kSchedE + 4, kSchedE + 5, kSchedE + 6}));
  EXPECT_EQ(ring_history(keys), 2);
  EXPECT_EQ(keys.schedule().history(), 0);

  // t-1: each old key still goes at its old deadline, E+6 .. E+8 are held.
  ASSERT_TRUE(keys.maintain(end - 1).ok());
  EXPECT_EQ(*stored().begin(), kSchedE + 6);
  EXPECT_TRUE(keys.previous_schedule().has_value());
  EXPECT_EQ(ring_history(keys), 2);
  EXPECT_EQ(events("schedule_transition_ended"), 0u);

  // t: the transition is over; the new history applies to everything.
  ASSERT_TRUE(keys.maintain(end).value());
  EXPECT_EQ(*stored().begin(), kSchedE + 9);
  EXPECT_FALSE(store.state().previous_schedule.has_value());
  EXPECT_FALSE(keys.previous_schedule().has_value());
  EXPECT_EQ(ring_history(keys), 0);
  EXPECT_EQ(ring_epochs(keys), (std::set<Epoch>{kSchedE + 9, kSchedE + 10, kSchedE + 11}));
  EXPECT_EQ(events("schedule_transition_ended"), 1u);

  // t+1: nothing more to do.
  EXPECT_FALSE(keys.maintain(end + 1).value());
  EXPECT_EQ(events("schedule_transition_ended"), 1u);
}

TEST_F(KeyServiceScheduleTest, TransitionSurvivesARestartWithTheNewSchedule) {
  run_old_schedule();
  ASSERT_TRUE(under({kSchedI, 0, 2}).start(sched_start(kSchedE + 4)).ok());
  KeyService& again = under({kSchedI, 0, 2});
  ASSERT_TRUE(again.start(sched_start(kSchedE + 5)).ok());
  EXPECT_EQ(*stored().begin(), kSchedE + 3);
  EXPECT_EQ(again.served_schedule().history(), 2);
  EXPECT_EQ(events("schedule_changed"), 1u);
}

TEST_F(KeyServiceScheduleTest, LongerHistoryNeedsNoTransition) {
  run_old_schedule();
  KeyService& keys = under({kSchedI, 4, 2});
  ASSERT_TRUE(keys.start(sched_start(kSchedE + 4)).ok());
  EXPECT_FALSE(store.state().previous_schedule.has_value());
  EXPECT_EQ(store.state().schedule->history, 4);
  EXPECT_EQ(events("schedule_changed"), 1u);
  EXPECT_EQ(ring_history(keys), 4);
}

TEST_F(KeyServiceScheduleTest, ShorterLookaheadKeepsThePendingKeysInTheRing) {
  run_old_schedule();
  KeyService& keys = under({kSchedI, 2, 1});
  ASSERT_TRUE(keys.start(sched_start(kSchedE + 4)).ok());
  ASSERT_TRUE(store.state().previous_schedule.has_value());
  EXPECT_EQ(store.state().previous_schedule->live_until, sched_start(kSchedE + 9) - 1);
  EXPECT_EQ(keys.ring("eu").value().info().schedule->lookahead, 2);
  EXPECT_EQ(ring_epochs(keys).count(kSchedE + 6), 1u);
}

TEST_F(KeyServiceScheduleTest, SecondChangeDuringATransitionKeepsTheFirstSchedulesKeys) {
  run_old_schedule({kSchedI, 4, 2});  // epochs E .. E+6
  ASSERT_TRUE(under({kSchedI, 2, 2}).start(sched_start(kSchedE + 4)).ok());
  KeyService& keys = under({kSchedI, 0, 2});
  ASSERT_TRUE(keys.start(sched_start(kSchedE + 5)).ok());
  ASSERT_TRUE(store.state().previous_schedule.has_value());
  EXPECT_EQ(store.state().previous_schedule->params.history, 4);
  // E+6, the newest key made under H = 4, opens tickets until E+10 ends; E+7 (made under
  // H = 2) until E+9 ends.
  EXPECT_EQ(store.state().previous_schedule->live_until, sched_start(kSchedE + 11) - 1);
  EXPECT_EQ(*stored().begin(), kSchedE + 1);
  EXPECT_EQ(ring_history(keys), 4);
}

TEST_F(KeyServiceScheduleTest, AnotherIntervalIsRefusedAndNothingChanges) {
  run_old_schedule();
  const int commits = store.commits;
  const std::set<Epoch> before = stored();
  KeyService& keys = under({120, 2, 2});
  auto started = keys.start(sched_start(kSchedE + 5));
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, Errc::invalid_argument);
  EXPECT_NE(started.error().message.find("schedule.interval = 60"), std::string::npos)
      << started.error().message;
  EXPECT_NE(started.error().message.find("Changing the schedule"), std::string::npos);
  EXPECT_EQ(store.commits, commits);
  EXPECT_EQ(stored(), before);
  EXPECT_FALSE(keys.maintain(sched_start(kSchedE + 5)).ok());
  EXPECT_EQ(store.commits, commits);
}

TEST_F(KeyServiceScheduleTest, StateOfAnEarlierReleaseKeepsWhatItsEpochsShowWasLive) {
  run_old_schedule();
  store.write_as_other([](StoreState& s) { s.schedule.reset(); });
  KeyService& keys = under({kSchedI, 0, 2});
  ASSERT_TRUE(keys.start(sched_start(kSchedE + 4)).ok());
  // Held E+2 .. E+6 at epoch E+4: made under H >= 2.
  EXPECT_EQ(stored().count(kSchedE + 2), 1u);
  ASSERT_TRUE(store.state().previous_schedule.has_value());
  EXPECT_EQ(store.state().previous_schedule->params.history, 2);
  EXPECT_EQ(store.state().schedule->history, 0);
  EXPECT_EQ(events("schedule_recorded"), 2u);
}

TEST_F(KeyServiceScheduleTest, StateOfAnEarlierReleaseUnderAnotherIntervalIsRefused) {
  run_old_schedule();
  store.write_as_other([](StoreState& s) { s.schedule.reset(); });
  auto started = under({120, 2, 2}).start(sched_start(kSchedE + 5));
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, Errc::invalid_argument);
  EXPECT_NE(started.error().message.find("another interval"), std::string::npos);
}

}  // namespace
}  // namespace stek::server

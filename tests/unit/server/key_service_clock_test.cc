// KeyService under wall-clock steps (issue 10): a forward step beyond
// schedule.max_clock_step erases nothing live at the trusted time and is alarmed; a step back
// never moves the epoch back nor makes a second secret for an epoch, also across a restart.
#include <map>

#include <gtest/gtest.h>

#include "key_service.h"
#include "memory_audit_log.h"
#include "memory_store.h"
#include "testing/keys.h"

namespace stek::server {
namespace {

using testing::InMemoryStore;

constexpr ScheduleParams kClockParams{60, 2, 2};  // I = 60 s, H = 2, L = 2
constexpr std::int64_t kStepBound = 180;          // 3 intervals, the default
constexpr UnixSeconds kT0 = 1000 * 60 + 5;

class CountingRandom final : public Random {
 public:
  Status fill(std::span<std::uint8_t> out) override {
    SecretBytes b = stek::testing::pattern_bytes(++draws, out.size());
    std::copy(b.view().begin(), b.view().end(), out.begin());
    return {};
  }
  std::uint64_t draws = 0;
};

class KeyServiceClockTest : public ::testing::Test {
 protected:
  std::unique_ptr<KeyService> make() {
    return std::make_unique<KeyService>(Schedule::make(kClockParams).value(),
                                        std::vector<std::string>{"eu"}, store, random, audit,
                                        kStepBound);
  }
  // Every epoch's secret as first seen: a second, different secret for one epoch fails.
  void expect_one_secret_per_epoch() {
    for (const auto& [e, g] : store.state().epoch_secrets) {
      auto [it, fresh] = seen.try_emplace(e, g.clone());
      if (!fresh) {
        EXPECT_TRUE(it->second.equals(g.view())) << "epoch " << e << " got a 2nd secret";
      }
    }
  }

  InMemoryStore store;
  CountingRandom random;
  MemoryAuditLog audit;
  std::map<Epoch, SecretBytes> seen;
};

TEST_F(KeyServiceClockTest, ForwardStepBeyondTheBoundErasesNothingAndAlarms) {
  auto keys = make();
  ASSERT_TRUE(keys->start(kT0, 0).ok());
  const std::uint64_t draws = random.draws;
  const auto held = store.state().epoch_secrets.size();
  const Epoch epoch = keys->current_epoch();

  ASSERT_TRUE(keys->maintain(kT0 + 600, 1'000).ok());
  EXPECT_TRUE(keys->clock_guard().alarmed());
  EXPECT_TRUE(keys->healthy(kT0 + 600));  // still serves the ring of the trusted time
  EXPECT_EQ(keys->current_epoch(), epoch);
  EXPECT_EQ(keys->erasures_total(), 0u);
  EXPECT_EQ(store.state().epoch_secrets.size(), held);
  EXPECT_EQ(random.draws, draws);
  expect_one_secret_per_epoch();
}

TEST_F(KeyServiceClockTest, StepForwardThenBackKeepsOneSecretPerEpochAndRecovers) {
  auto keys = make();
  ASSERT_TRUE(keys->start(kT0, 0).ok());
  expect_one_secret_per_epoch();
  ASSERT_TRUE(keys->maintain(kT0 + 600, 1'000).ok());
  // Real time moves on by one interval while the wall clock is still 600 s ahead.
  ASSERT_TRUE(keys->maintain(kT0 + 660, 61'000).ok());
  EXPECT_TRUE(keys->clock_guard().alarmed());
  EXPECT_EQ(keys->current_epoch(), Schedule::make(kClockParams)->epoch_at(kT0 + 60));
  expect_one_secret_per_epoch();
  // The clock is put right.
  ASSERT_TRUE(keys->maintain(kT0 + 62, 62'000).ok());
  EXPECT_FALSE(keys->clock_guard().alarmed());
  EXPECT_TRUE(keys->healthy(kT0 + 62));
  EXPECT_EQ(keys->erasures_total(), 0u);  // nothing has expired yet
  expect_one_secret_per_epoch();
}

TEST_F(KeyServiceClockTest, TrustedTimeIsCommittedAndHoldsTheEpochAfterARestart) {
  auto first = make();
  ASSERT_TRUE(first->start(kT0, 0).ok());
  ASSERT_TRUE(first->maintain(kT0 + 600, 600'000).ok());  // time really passed: accepted
  EXPECT_EQ(store.state().trusted_time, kT0 + 600);
  const Epoch epoch = first->current_epoch();
  expect_one_secret_per_epoch();

  auto restarted = make();
  ASSERT_TRUE(restarted->start(kT0, 0).ok());  // the clock went back 600 s across a restart
  EXPECT_EQ(restarted->current_epoch(), epoch);
  EXPECT_TRUE(restarted->clock_guard().alarmed());
  EXPECT_EQ(restarted->ring("eu")->encrypting().meta.epoch, epoch);
  expect_one_secret_per_epoch();
}

}  // namespace
}  // namespace stek::server

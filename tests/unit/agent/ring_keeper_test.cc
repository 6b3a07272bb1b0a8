// The agent's decisions (RingKeeper) driven by a fake ring source and a fixed clock: what
// sinks get at each boundary, when keys are erased, how the runway runs down, what the cache
// and the metrics say.
#include "ring_keeper.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "stek/file.h"

#include "fakes.h"
#include "testing/fixed_clock.h"
#include "times.h"

namespace stek::agent {
namespace {

using std::chrono::milliseconds;
using testing::FakeSource;
using testing::make_ring;
using testing::RecordingSink;
using testing::ring_update;
using testing::TempDir;

// I = 60 s, H = 2, L = 2 (testing::kParams). Epoch kE starts at kE * 60.
using test::kE;
constexpr UnixSeconds kStart = kE * 60;
using test::kT;

UnixSeconds boundary(Epoch e) {
  return e * 60;
}

struct Keeper {
  explicit Keeper(UnixSeconds now = kT, bool failing_sink = false) : clock(now) {
    auto s = std::make_unique<RecordingSink>("recording");
    s->fail = failing_sink;
    sink = s.get();
    calls = s->calls;
    std::vector<std::unique_ptr<Sink>> sinks;
    sinks.push_back(std::move(s));
    keeper =
        std::make_unique<RingKeeper>("eu", RingCache(dir.path(), "eu"), std::move(sinks), clock);
  }
  // The source brings ring `version` with keys first..last, as stekd would at the clock's now.
  void deliver(Epoch first, Epoch last, std::uint64_t version) {
    source.push(ring_update(make_ring("eu", first, last, clock.now(), version), "eu", clock.now()));
    EXPECT_TRUE(keeper->apply(source.next(keeper->held())));
  }
  // A timer fired at t.
  void at(UnixSeconds t) {
    clock.set(t);
    keeper->refresh_due();
  }
  const RecordingSink::Call& last() const { return calls->back(); }
  Epoch oldest_served() const {
    return *std::min_element(last().epochs.begin(), last().epochs.end());
  }

  TempDir dir;
  FixedClock clock;
  FakeSource source;
  RecordingSink* sink = nullptr;
  std::shared_ptr<std::vector<RecordingSink::Call>> calls;
  std::unique_ptr<RingKeeper> keeper;
};

TEST(RingKeeper, ANewRingFromTheSourceReachesEverySinkAndTheMetrics) {
  Keeper k;
  k.deliver(kE - 2, kE + 2, 7);
  ASSERT_EQ(k.calls->size(), 1u);
  EXPECT_EQ(k.last().encrypting, kE);
  EXPECT_EQ(k.last().epochs.size(), 5u);  // pending ones too: each sink picks its own
  const Metrics& m = k.keeper->metrics();
  EXPECT_EQ(m.domain, "eu");
  EXPECT_EQ(m.rings_accepted, 1u);
  EXPECT_EQ(m.ring_version, 7u);
  EXPECT_EQ(m.last_sync, kT);
  EXPECT_TRUE(m.serving);
  EXPECT_EQ(m.keys_held, 5u);
  EXPECT_EQ(m.keys_served, 5u);
  EXPECT_EQ(m.current_epoch, kE);
  EXPECT_EQ(m.sinks.at("recording").writes, 1u);
  // The source is asked next with the held version.
  k.source.next(k.keeper->held());
  EXPECT_EQ(k.source.held_versions.back(), std::optional<std::uint64_t>(7));
}

TEST(RingKeeper, NothingIsWrittenBeforeTheFirstRing) {
  Keeper k;
  k.keeper->refresh("SIGHUP");
  EXPECT_TRUE(k.calls->empty());
  EXPECT_FALSE(k.keeper->next_refresh().has_value());
  EXPECT_FALSE(k.keeper->apply(k.source.next(k.keeper->held())));  // "nothing new"
  EXPECT_EQ(k.source.held_versions.back(), std::nullopt);
}

TEST(RingKeeper, RotatesTheEncryptingKeyExactlyAtTheEpochBoundary) {
  Keeper k;
  k.deliver(kE - 2, kE + 2, 7);
  k.at(boundary(kE + 1) - 1);
  EXPECT_EQ(k.last().encrypting, kE);
  k.at(boundary(kE + 1));
  EXPECT_EQ(k.last().encrypting, kE + 1);
  EXPECT_EQ(k.last().epoch, kE + 1);
  k.at(boundary(kE + 1) + 1);
  EXPECT_EQ(k.last().encrypting, kE + 1);
  EXPECT_EQ(k.keeper->metrics().current_epoch, kE + 1);
}

TEST(RingKeeper, ErasesAnExpiredKeyAtTheBoundaryAfterItsLastEpochNotBefore) {
  // With H = 2, K(e - 2) decrypts through epoch e and is gone from epoch e + 1 on.
  Keeper k;
  k.deliver(kE - 2, kE + 2, 7);
  k.at(boundary(kE + 1) - 1);
  EXPECT_EQ(k.keeper->metrics().keys_erased, 0u);
  EXPECT_EQ(k.keeper->metrics().keys_held, 5u);
  EXPECT_EQ(k.oldest_served(), kE - 2);
  k.at(boundary(kE + 1));
  EXPECT_EQ(k.keeper->metrics().keys_erased, 1u);
  EXPECT_EQ(k.keeper->metrics().keys_held, 4u);
  EXPECT_EQ(k.oldest_served(), kE - 1);
  k.at(boundary(kE + 1) + 1);
  EXPECT_EQ(k.keeper->metrics().keys_erased, 1u);  // each key is erased once
  EXPECT_EQ(k.keeper->held()->epochs().back(), kE - 1);
}

TEST(RingKeeper, RunwayRunsDownWhileTheSourceIsSilentThenNoKeyIsServed) {
  Keeper k;
  k.deliver(kE - 2, kE + 2, 7);  // keys through epoch e + 2: runway to the start of e + 3
  EXPECT_EQ(k.keeper->metrics().runway_seconds, boundary(kE + 3) - kT);
  k.at(boundary(kE + 2));
  EXPECT_EQ(k.keeper->metrics().runway_seconds, 60);
  EXPECT_TRUE(k.keeper->metrics().serving);
  EXPECT_EQ(k.last().encrypting, kE + 2);
  EXPECT_TRUE(std::filesystem::exists(k.keeper->cache().path()));

  k.at(boundary(kE + 3) - 1);
  EXPECT_EQ(k.keeper->metrics().runway_seconds, 1);
  k.at(boundary(kE + 3));  // no key for epoch e + 3: never an expired one instead
  const Metrics& m = k.keeper->metrics();
  EXPECT_FALSE(m.serving);
  EXPECT_EQ(m.runway_seconds, 0);
  EXPECT_EQ(m.keys_served, 0u);
  EXPECT_EQ(k.last().encrypting, std::nullopt);
  EXPECT_EQ(k.last().epoch, kE + 3);
  EXPECT_FALSE(std::filesystem::exists(k.keeper->cache().path()));

  // stekd is back: a newer ring restores service at once.
  k.deliver(kE + 1, kE + 5, 8);
  EXPECT_TRUE(k.keeper->metrics().serving);
  EXPECT_EQ(k.last().encrypting, kE + 3);
  EXPECT_EQ(k.keeper->metrics().runway_seconds, boundary(kE + 6) - boundary(kE + 3));
}

TEST(RingKeeper, RunwayEndIsTheSameTimeAtEveryRefreshUntilANewRingMovesIt) {
  Keeper k;
  k.deliver(kE - 2, kE + 2, 7);
  EXPECT_EQ(k.keeper->metrics().runway_end, boundary(kE + 3));
  EXPECT_EQ(k.keeper->metrics().interval, 60);
  k.at(boundary(kE + 2));  // the countdown moved, the end did not
  EXPECT_EQ(k.keeper->metrics().runway_end, boundary(kE + 3));
  k.at(boundary(kE + 3));  // no key covers now: 0, as the countdown
  EXPECT_EQ(k.keeper->metrics().runway_end, 0);
  k.deliver(kE + 1, kE + 5, 8);
  EXPECT_EQ(k.keeper->metrics().runway_end, boundary(kE + 6));
}

TEST(RingKeeper, AFailedSyncIsCountedAndKeepsTheHeldRing) {
  Keeper k;
  k.deliver(kE - 2, kE + 2, 7);
  RingUpdate failed;
  failed.sync = RingUpdate::Sync::failed;
  k.source.push(std::move(failed));
  k.clock.advance(5);
  EXPECT_FALSE(k.keeper->apply(k.source.next(k.keeper->held())));
  const Metrics& m = k.keeper->metrics();
  EXPECT_EQ(m.sync_failures, 1u);
  EXPECT_EQ(m.last_sync, kT);  // the last good answer
  EXPECT_EQ(m.ring_version, 7u);
  EXPECT_EQ(k.keeper->held()->version(), 7u);
  EXPECT_EQ(k.calls->size(), 1u);  // nothing rewritten
}

TEST(RingKeeper, AnAnswerWithoutANewRingStillCountsAsASync) {
  Keeper k;
  k.deliver(kE - 2, kE + 2, 7);
  RingUpdate current;
  current.sync = RingUpdate::Sync::answered;  // stekd's 304
  k.source.push(std::move(current));
  k.clock.advance(30);
  EXPECT_FALSE(k.keeper->apply(k.source.next(k.keeper->held())));
  EXPECT_EQ(k.keeper->metrics().last_sync, kT + 30);
  EXPECT_EQ(k.keeper->metrics().rings_accepted, 1u);
}

TEST(RingKeeper, ARestartedAgentServesTheCachedRing) {
  TempDir shared;
  FixedClock clock(kT);
  {
    RingKeeper first("eu", RingCache(shared.path(), "eu"), {}, clock);
    first.apply(ring_update(make_ring("eu", kE - 2, kE + 2, kT, 7), "eu", kT));
  }
  clock.set(boundary(kE + 1) + 3);
  auto sink = std::make_unique<RecordingSink>();
  auto calls = sink->calls;
  std::vector<std::unique_ptr<Sink>> sinks;
  sinks.push_back(std::move(sink));
  RingKeeper restarted("eu", RingCache(shared.path(), "eu"), std::move(sinks), clock);
  restarted.load_cache();
  ASSERT_TRUE(restarted.held().has_value());
  EXPECT_EQ(restarted.held()->version(), 7u);
  ASSERT_EQ(calls->size(), 1u);
  EXPECT_EQ(calls->back().encrypting, kE + 1);  // roles as of now, not as cached
  EXPECT_EQ(restarted.metrics().last_sync, 0);  // the cache is no sync with stekd
}

TEST(RingKeeper, ADamagedCacheIsErasedAndNothingIsServed) {
  Keeper k;
  const auto path = k.keeper->cache().path();
  ASSERT_TRUE(write_file_atomic(path, as_bytes(std::string_view("{not json")), 0600).ok());
  k.keeper->load_cache();
  EXPECT_FALSE(k.keeper->held().has_value());
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(k.calls->empty());
}

TEST(RingKeeper, ACachedRingThatNoLongerCoversNowIsErased) {
  TempDir shared;
  FixedClock clock(kT);
  {
    RingKeeper first("eu", RingCache(shared.path(), "eu"), {}, clock);
    first.apply(ring_update(make_ring("eu", kE - 2, kE + 2, kT, 7), "eu", kT));
  }
  clock.set(boundary(kE + 3));  // down for longer than the runway
  RingKeeper restarted("eu", RingCache(shared.path(), "eu"), {}, clock);
  restarted.load_cache();
  EXPECT_FALSE(restarted.held().has_value());
  EXPECT_FALSE(std::filesystem::exists(restarted.cache().path()));
}

TEST(RingKeeper, NextRefreshIsJustPastTheNextBoundary) {
  Keeper k;
  k.deliver(kE - 2, kE + 2, 7);
  const auto due = k.keeper->next_refresh();
  ASSERT_TRUE(due.has_value());
  EXPECT_GE(*due, milliseconds(50'000));
  EXPECT_LE(*due, milliseconds(50'100));
}

TEST(RingKeeper, AFailedSinkIsRetriedSoonAndCountedUntilItRecovers) {
  Keeper k(kT, /*failing_sink=*/true);
  k.deliver(kE - 2, kE + 2, 7);
  EXPECT_EQ(k.keeper->metrics().sinks.at("recording").failures, 1u);
  ASSERT_TRUE(k.keeper->next_refresh().has_value());
  EXPECT_LE(*k.keeper->next_refresh(), std::chrono::milliseconds(RingKeeper::kSinkRetry));
  k.sink->fail = false;
  k.at(kT + 5);  // the retry
  ASSERT_EQ(k.calls->size(), 1u);
  EXPECT_EQ(k.last().encrypting, kE);
  EXPECT_EQ(k.keeper->metrics().sinks.at("recording").failures, 1u);
  EXPECT_GT(*k.keeper->next_refresh(), std::chrono::milliseconds(RingKeeper::kSinkRetry));
}

}  // namespace
}  // namespace stek::agent

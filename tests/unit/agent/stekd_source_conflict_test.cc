// The split-brain guard at the stekd source, with a scripted client: a server the agent has
// not seen agree with its held ring is asked for its ring at once and compared; conflicting
// answers are refused, unless the held keys no longer serve.
#include <gtest/gtest.h>

#include "api/ring_version.h"
#include "fakes.h"
#include "stekd_source.h"
#include "testing/fixed_clock.h"
#include "times.h"

namespace stek::agent {
namespace {

using std::chrono::milliseconds;
using test::kE;
using test::kT;

constexpr std::uint8_t kStekdA = 0x5a;  // the secrets of stekd a
constexpr std::uint8_t kStekdB = 0x70;  // and of stekd b, with state of its own
const std::string kUrlA = "https://a.example:8443";
const std::string kUrlB = "https://b.example:8443";

std::uint64_t packed(Epoch e) {
  return api::RingVersion::make(e, 1)->wire();
}

// The ring stekd makes 10 s into `epoch` (it holds no expired key then).
KeyRing stekd_ring(std::uint8_t secrets, Epoch epoch) {
  return testing::make_ring("eu", epoch - 2, epoch + 2, epoch * 60 + 10, packed(epoch),
                            testing::kParams, secrets);
}

// A 200 as stekd sends it: the ring, its version and its identity in the headers.
PollAnswer ring_200(const KeyRing& ring) {
  PollAnswer a;
  a.status = 200;
  a.ring_version = ring.info().version;
  a.ring_id = *api::RingId::of("eu", ring.info().version, ring.keys());
  a.body = testing::ring_json(ring);
  return a;
}

PollAnswer not_modified(const KeyRing& ring) {
  PollAnswer a;
  a.status = 304;
  a.ring_version = ring.info().version;
  a.ring_id = *api::RingId::of("eu", ring.info().version, ring.keys());
  return a;
}

struct TwoStekds {
  TwoStekds() {
    auto c = std::make_unique<testing::ScriptedClient>();
    client = c.get();
    asked = c->asked;
    std::vector<ServerUrl> servers{*parse_server_url(kUrlA), *parse_server_url(kUrlB)};
    random.fail = true;  // no jitter: the full delay
    source = std::make_unique<StekdSource>(std::move(c), std::move(servers), "eu", 30,
                                           Backoff(BackoffPolicy{}, random), clock);
  }
  // The agent takes a's ring; the next poll is a long poll of a.
  std::optional<HeldRing> hold_from_a(Epoch epoch = kE) {
    client->push(ring_200(stekd_ring(kStekdA, epoch)));
    RingUpdate u = source->next(std::nullopt);
    EXPECT_TRUE(u.ring.has_value());
    return std::move(u.ring);
  }
  // a goes away: the poll in flight fails and the source moves on to b.
  void lose_a(const std::optional<HeldRing>& held) {
    client->push(make_error(Errc::io, "connection reset"));
    EXPECT_EQ(source->next(held).sync, RingUpdate::Sync::failed);
  }
  FixedClock clock{kT};
  testing::ByteRandom random;
  testing::ScriptedClient* client = nullptr;
  std::shared_ptr<std::vector<testing::ScriptedClient::Asked>> asked;
  std::unique_ptr<StekdSource> source;
};

TEST(StekdSourceSplitBrain, AServerReachedByFailoverIsAskedForItsRingBeforeItIsLongPolled) {
  TwoStekds s;
  const std::optional<HeldRing> held = s.hold_from_a();
  s.client->push(not_modified(stekd_ring(kStekdA, kE)));
  EXPECT_EQ(s.source->next(held).sync, RingUpdate::Sync::answered);
  EXPECT_EQ(s.asked->back().wait, held->version());  // a agreed: long-polled
  s.lose_a(held);

  s.client->push(ring_200(stekd_ring(kStekdA, kE)));  // b: the same keys (one store behind both)
  RingUpdate u = s.source->next(held);
  EXPECT_EQ(s.asked->back().server, kUrlB);
  EXPECT_EQ(s.asked->back().wait, std::nullopt);
  EXPECT_EQ(u.sync, RingUpdate::Sync::answered);
  EXPECT_FALSE(u.ring.has_value());
  EXPECT_EQ(u.conflict, std::nullopt);
  EXPECT_EQ(u.server, kUrlB);

  s.client->push(not_modified(stekd_ring(kStekdA, kE)));
  EXPECT_EQ(s.source->next(held).sync, RingUpdate::Sync::answered);
  EXPECT_EQ(s.asked->back().wait, held->version());  // b agreed: long-polled now
}

TEST(StekdSourceSplitBrain, ASecondStekdWithOtherKeysForTheHeldVersionIsRefused) {
  TwoStekds s;
  const std::optional<HeldRing> held = s.hold_from_a();
  s.lose_a(held);
  s.client->push(ring_200(stekd_ring(kStekdB, kE)));
  RingUpdate u = s.source->next(held);
  EXPECT_EQ(u.sync, RingUpdate::Sync::failed);
  EXPECT_FALSE(u.ring.has_value());
  ASSERT_TRUE(u.conflict.has_value());
  EXPECT_NE(u.conflict->find("two secrets for one epoch"), std::string::npos) << *u.conflict;
  EXPECT_EQ(u.server, kUrlB);
  EXPECT_EQ(u.pause, milliseconds(1000));  // a round of both servers failed: backoff

  // The next epoch's ring of b contradicts the held look-ahead keys just as well.
  s.client->push(make_error(Errc::io, "connection refused"));  // a
  s.source->next(held);
  s.client->push(ring_200(stekd_ring(kStekdB, kE + 1)));
  RingUpdate newer = s.source->next(held);
  EXPECT_EQ(newer.sync, RingUpdate::Sync::failed);
  EXPECT_TRUE(newer.conflict.has_value());
  EXPECT_FALSE(newer.ring.has_value());
}

TEST(StekdSourceSplitBrain, ANotModifiedStatingAnotherIdentityForTheHeldVersionIsAConflict) {
  // One URL in front of two stekds (a load balancer): the long poll lands on the other one.
  TwoStekds s;
  const std::optional<HeldRing> held = s.hold_from_a();
  s.client->push(not_modified(stekd_ring(kStekdB, kE)));
  RingUpdate u = s.source->next(held);
  EXPECT_EQ(u.sync, RingUpdate::Sync::failed);
  ASSERT_TRUE(u.conflict.has_value());
  EXPECT_NE(u.conflict->find("one version, two sets of keys"), std::string::npos) << *u.conflict;
  EXPECT_EQ(u.server, kUrlA);
}

TEST(StekdSourceSplitBrain, AServerBehindOnTheSameHistoryIsNoConflict) {
  TwoStekds s;
  const std::optional<HeldRing> held = s.hold_from_a(kE);
  s.lose_a(held);
  s.client->push(ring_200(stekd_ring(kStekdA, kE - 1)));  // b is an epoch behind
  RingUpdate u = s.source->next(held);
  EXPECT_EQ(u.sync, RingUpdate::Sync::answered);
  EXPECT_FALSE(u.ring.has_value());
  EXPECT_EQ(u.conflict, std::nullopt);
  s.client->push(not_modified(stekd_ring(kStekdA, kE - 1)));
  EXPECT_EQ(s.source->next(held).sync, RingUpdate::Sync::answered);
  EXPECT_EQ(s.asked->back().wait, held->version());  // b waits until it has a newer ring
}

TEST(StekdSourceSplitBrain, AServerBehindOnAnotherHistoryIsAConflict) {
  TwoStekds s;
  const std::optional<HeldRing> held = s.hold_from_a(kE);
  s.lose_a(held);
  s.client->push(ring_200(stekd_ring(kStekdB, kE - 1)));
  RingUpdate u = s.source->next(held);
  EXPECT_EQ(u.sync, RingUpdate::Sync::failed);
  EXPECT_TRUE(u.conflict.has_value());
}

TEST(StekdSourceSplitBrain, AHeldRingFromTheCacheIsComparedBeforeTheFirstLongPoll) {
  TwoStekds s;
  auto cached = HeldRing::accept(stekd_ring(kStekdA, kE), "eu", kT);
  ASSERT_TRUE(cached.ok());
  const std::optional<HeldRing> held(std::move(cached).value());
  s.client->push(ring_200(stekd_ring(kStekdB, kE)));
  RingUpdate u = s.source->next(held);
  EXPECT_EQ(s.asked->back().wait, std::nullopt);
  EXPECT_EQ(u.sync, RingUpdate::Sync::failed);
  EXPECT_TRUE(u.conflict.has_value());
}

TEST(StekdSourceSplitBrain, OnceTheHeldKeysNoLongerServeAConflictingRingIsTaken) {
  TwoStekds s;
  const std::optional<HeldRing> held = s.hold_from_a(kE);  // keys for kE-2..kE+2
  s.clock.set((kE + 3) * 60 + 1);                          // runway gone: no key for kE+3
  s.lose_a(held);
  s.client->push(ring_200(stekd_ring(kStekdB, kE + 3)));
  RingUpdate u = s.source->next(held);
  EXPECT_EQ(u.sync, RingUpdate::Sync::answered);
  ASSERT_TRUE(u.ring.has_value());
  EXPECT_EQ(u.ring->version(), packed(kE + 3));
  EXPECT_TRUE(u.conflict.has_value());  // still counted and reported
}

TEST(StekdSourceSplitBrain, AHeaderIdentityThatIsNotTheKeysIsAFailedSyncNotAConflict) {
  TwoStekds s;
  PollAnswer lying = ring_200(stekd_ring(kStekdA, kE));
  lying.ring_id = *api::RingId::of("eu", packed(kE), stekd_ring(kStekdB, kE).keys());
  s.client->push(std::move(lying));
  RingUpdate u = s.source->next(std::nullopt);
  EXPECT_EQ(u.sync, RingUpdate::Sync::failed);
  EXPECT_FALSE(u.ring.has_value());
  EXPECT_EQ(u.conflict, std::nullopt);
}

}  // namespace
}  // namespace stek::agent

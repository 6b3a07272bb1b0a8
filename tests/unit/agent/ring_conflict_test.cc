// The split-brain guard's decisions: which answered rings contradict the held one, the
// identity a held ring keeps (also through the cache), and the alarm RingKeeper raises.
#include "ring_conflict.h"

#include <gtest/gtest.h>

#include "api/ring_version.h"
#include "fakes.h"
#include "ring_keeper.h"
#include "testing/fixed_clock.h"
#include "times.h"

namespace stek::agent {
namespace {

using test::kE;
using test::kT;
using testing::make_ring;

// Two histories of key secrets: what two stekds with separate state make.
constexpr std::uint8_t kHistoryA = 0x5a;
constexpr std::uint8_t kHistoryB = 0x70;

std::uint64_t wire_version(Epoch e, std::uint32_t secret_version) {
  return api::RingVersion::make(e, secret_version)->wire();
}

KeyRing history_ring(std::uint8_t history, Epoch first, Epoch last, std::uint64_t version,
                     UnixSeconds now = kT) {
  return make_ring("eu", first, last, now, version, testing::kParams, history);
}

// `ring` with every key of domain secret version `secret_version` and ring version `version`.
KeyRing resecreted(const KeyRing& ring, std::uint32_t secret_version, std::uint64_t version) {
  std::vector<RingKey> keys;
  for (const RingKey& k : ring.keys()) {
    keys.push_back(k.clone());
    keys.back().meta.secret_version = secret_version;
  }
  RingInfo info = ring.info();
  info.version = version;
  return *KeyRing::make(std::move(keys), info);
}

HeldRing held_of(const KeyRing& ring, UnixSeconds now = kT,
                 StatedId stated = StatedId::must_match) {
  auto held = HeldRing::accept(ring, "eu", now, stated);
  EXPECT_TRUE(held.ok()) << held.error().message;
  return std::move(held).value();
}

const std::uint64_t kV = wire_version(kE, 1);
// A time in epoch kE-1, when a server one epoch behind made its ring.
constexpr UnixSeconds kBehind = (kE - 1) * 60 + 10;

TEST(RingConflict, NoneBetweenAnswersOfOneHistory) {
  const HeldRing held = held_of(history_ring(kHistoryA, kE - 2, kE + 2, kV));
  EXPECT_EQ(find_conflict(held, held_of(history_ring(kHistoryA, kE - 2, kE + 2, kV))),
            std::nullopt);
  EXPECT_EQ(find_conflict(
                held, held_of(history_ring(kHistoryA, kE - 1, kE + 3, wire_version(kE + 1, 1)))),
            std::nullopt);  // the next epoch's ring
  EXPECT_EQ(find_conflict(held, held_of(history_ring(kHistoryA, kE - 3, kE + 1,
                                                     wire_version(kE - 1, 1), kBehind))),
            std::nullopt);  // a server one epoch behind
}

TEST(RingConflict, OneVersionWithOtherKeysIsTwoSecretsForOneEpoch) {
  const HeldRing held = held_of(history_ring(kHistoryA, kE - 2, kE + 2, kV));
  auto c = find_conflict(held, held_of(history_ring(kHistoryB, kE - 2, kE + 2, kV)));
  ASSERT_TRUE(c.has_value());
  EXPECT_NE(c->find("two secrets for one epoch"), std::string::npos) << *c;
  EXPECT_NE(c->find("ring version " + std::to_string(kV) + " answered"), std::string::npos) << *c;
}

TEST(RingConflict, ANewerOrAnOlderRingOfAnotherHistoryConflicts) {
  const HeldRing held = held_of(history_ring(kHistoryA, kE - 2, kE + 2, kV));
  EXPECT_TRUE(find_conflict(
      held, held_of(history_ring(kHistoryB, kE - 1, kE + 3, wire_version(kE + 1, 1)))));
  EXPECT_TRUE(find_conflict(
      held, held_of(history_ring(kHistoryB, kE - 3, kE + 1, wire_version(kE - 1, 1), kBehind))));
}

TEST(RingConflict, AKeyNameOnAnotherEpochConflicts) {
  const KeyRing a = history_ring(kHistoryA, kE - 2, kE + 2, kV);
  std::vector<RingKey> keys;
  for (const RingKey& k : a.keys()) {
    keys.push_back(k.clone());
    if (*k.meta.epoch == kE + 2) keys.back().meta.epoch = kE + 3;  // same name, next epoch
  }
  RingInfo info = a.info();
  info.version = wire_version(kE + 1, 1);
  const HeldRing moved = held_of(*KeyRing::make(std::move(keys), info));
  auto c = find_conflict(held_of(a), moved);
  ASSERT_TRUE(c.has_value());
  EXPECT_NE(c->find("is held as"), std::string::npos) << *c;
}

TEST(RingConflict, ASecretRotationIsNoConflictButASecretVersionGoingBackIs) {
  const KeyRing a = history_ring(kHistoryA, kE - 2, kE + 2, kV);
  // stekctl rotate-domain-secret: every epoch on secret version 2, ring version (kE, 2).
  const KeyRing rotated =
      resecreted(history_ring(kHistoryB, kE - 2, kE + 2, 0), 2, wire_version(kE, 2));
  EXPECT_EQ(find_conflict(held_of(a), held_of(rotated)), std::nullopt);
  // A server still on secret version 1 that is behind is no conflict either...
  EXPECT_EQ(find_conflict(held_of(rotated), held_of(a)), std::nullopt);
  // ... but one whose newer ring goes back to version 1 missed the rotation.
  auto c = find_conflict(held_of(rotated),
                         held_of(history_ring(kHistoryA, kE - 1, kE + 3, wire_version(kE + 1, 1))));
  ASSERT_TRUE(c.has_value());
  EXPECT_NE(c->find("missed a secret rotation"), std::string::npos) << *c;
}

TEST(RingConflict, OneVersionWithAnotherKeySetConflictsByItsIdentity) {
  // Keys that agree where both have them, but not the same set: the identities differ.
  const HeldRing held = held_of(history_ring(kHistoryA, kE - 2, kE + 2, kV));
  auto c = find_conflict(held, held_of(history_ring(kHistoryA, kE - 1, kE + 2, kV)));
  ASSERT_TRUE(c.has_value());
  EXPECT_NE(c->find("one version, two sets of keys"), std::string::npos) << *c;
}

TEST(RingConflict, AStatedIdentityConflictsOnlyForTheHeldVersion) {
  const HeldRing held = held_of(history_ring(kHistoryA, kE - 2, kE + 2, kV));
  const HeldRing other = held_of(history_ring(kHistoryB, kE - 2, kE + 2, kV));
  ASSERT_TRUE(held.id() && other.id());
  EXPECT_NE(*held.id(), *other.id());
  EXPECT_TRUE(find_conflict(held, kV, *other.id()).has_value());
  EXPECT_EQ(find_conflict(held, kV, *held.id()), std::nullopt);
  EXPECT_EQ(find_conflict(held, kV - 1, *other.id()), std::nullopt);  // an older version's
}

TEST(HeldRingIdentity, IsComputedFromTheKeysAndARingStatingAnotherIsRefused) {
  const KeyRing a = history_ring(kHistoryA, kE - 2, kE + 2, kV);
  const HeldRing held = held_of(a);
  ASSERT_TRUE(held.id().has_value());
  EXPECT_EQ(*held.id(), *api::RingId::of("eu", kV, a.keys()));
  // What stekd states in "ring_id" must be what its keys give.
  std::vector<RingKey> keys;
  for (const RingKey& k : a.keys()) keys.push_back(k.clone());
  RingInfo info = a.info();
  info.id = api::to_string(*held_of(history_ring(kHistoryB, kE - 2, kE + 2, kV)).id());
  auto refused = HeldRing::accept(*KeyRing::make(std::move(keys), info), "eu", kT);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::integrity) << refused.error().message;
}

TEST(HeldRingIdentity, ATrustedRingKeepsItsStatedIdentityAfterKeysExpired) {
  const HeldRing held = held_of(history_ring(kHistoryA, kE - 2, kE + 2, kV));
  const UnixSeconds later = (kE + 1) * 60 + 5;  // epoch kE-2 has expired (H = 2)
  auto served = held.at(later);
  ASSERT_TRUE(served.ok());
  ASSERT_EQ(served->size(), 4u);
  EXPECT_EQ(served->info().id, api::to_string(*held.id()));
  const HeldRing kept = held_of(*served, later, StatedId::trusted);
  EXPECT_EQ(kept.id(), held.id());
  // Its keys alone no longer give that identity: a whole ring from stekd would be refused.
  EXPECT_FALSE(HeldRing::accept(*served, "eu", later).ok());
}

struct ConflictKeeper {
  explicit ConflictKeeper(const std::filesystem::path& cache_dir) : clock(kT) {
    auto s = std::make_unique<testing::RecordingSink>("recording");
    calls = s->calls;
    std::vector<std::unique_ptr<Sink>> sinks;
    sinks.push_back(std::move(s));
    keeper =
        std::make_unique<RingKeeper>("eu", RingCache(cache_dir, "eu"), std::move(sinks), clock);
  }
  void take_from(const std::string& server, const KeyRing& ring) {
    RingUpdate u = testing::ring_update(ring, "eu", clock.now());
    u.from = server;
    u.server = server;
    EXPECT_TRUE(keeper->apply(std::move(u)));
  }
  FixedClock clock;
  std::shared_ptr<std::vector<testing::RecordingSink::Call>> calls;
  std::unique_ptr<RingKeeper> keeper;
};

TEST(RingKeeperConflicts, AConflictRaisesTheAlarmNamingBothServersUntilThatServerAgrees) {
  testing::TempDir dir(true);
  ConflictKeeper k(dir.path());
  k.take_from("https://a.example:8443", history_ring(kHistoryA, kE - 2, kE + 2, kV));
  const std::size_t applied = k.calls->size();

  RingUpdate refused;
  refused.sync = RingUpdate::Sync::failed;
  refused.server = "https://b.example:8443";
  refused.conflict = "epoch 1 has key x in the answer and key y held";
  EXPECT_FALSE(k.keeper->apply(std::move(refused)));
  const Metrics& m = k.keeper->metrics();
  EXPECT_EQ(m.ring_conflicts, 1u);
  EXPECT_EQ(m.ring_conflict,
            "ring conflict: https://b.example:8443 disagrees with the held ring from "
            "https://a.example:8443: epoch 1 has key x in the answer and key y held");
  EXPECT_EQ(m.ring_version, kV);  // the held ring stays, and the sinks saw nothing new
  EXPECT_EQ(k.calls->size(), applied);
  EXPECT_NE(render_prometheus(m).find("stek_agent_ring_conflicts_total{domain=\"eu\"} 1"),
            std::string::npos);

  RingUpdate other_server;  // a's answers say nothing about b
  other_server.sync = RingUpdate::Sync::answered;
  other_server.server = "https://a.example:8443";
  k.keeper->apply(std::move(other_server));
  EXPECT_FALSE(k.keeper->metrics().ring_conflict.empty());

  RingUpdate agrees;
  agrees.sync = RingUpdate::Sync::answered;
  agrees.server = "https://b.example:8443";
  k.keeper->apply(std::move(agrees));
  EXPECT_EQ(k.keeper->metrics().ring_conflict, "");
  EXPECT_EQ(k.keeper->metrics().ring_conflicts, 1u);
}

TEST(RingKeeperConflicts, TheCacheKeepsTheIdentityOfTheVersionReceived) {
  testing::TempDir dir(true);
  const KeyRing a = history_ring(kHistoryA, kE - 2, kE + 2, kV);
  const api::RingId received = *api::RingId::of("eu", kV, a.keys());
  {
    ConflictKeeper k(dir.path());
    k.take_from("https://a.example:8443", a);
    k.clock.set((kE + 1) * 60 + 5);  // epoch kE-2 expires; the cache then holds 4 keys
    k.keeper->refresh_due();
  }
  ConflictKeeper restarted(dir.path());
  restarted.clock.set((kE + 1) * 60 + 6);
  restarted.keeper->load_cache();
  ASSERT_TRUE(restarted.keeper->held().has_value());
  EXPECT_EQ(restarted.keeper->held()->size(), 4u);
  EXPECT_EQ(restarted.keeper->held()->id(), received);
}

}  // namespace
}  // namespace stek::agent

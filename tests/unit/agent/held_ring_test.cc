// HeldRing: roles re-derived at every boundary, expiry, runway, and what is refused.
#include "held_ring.h"

#include <gtest/gtest.h>

#include "fakes.h"
#include "times.h"

namespace stek::agent {
namespace {

using testing::make_ring;

using test::kE;
constexpr UnixSeconds kBoundary = (kE + 1) * 60;  // start of epoch E+1 at I = 60 s

HeldRing held(Epoch first, Epoch last, UnixSeconds now = kE * 60 + 10) {
  auto r = HeldRing::accept(make_ring("eu", first, last, now, 5), "eu", now);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return std::move(r).value();
}

Epoch encrypting_epoch(const HeldRing& h, UnixSeconds t) {
  auto ring = h.at(t);
  EXPECT_TRUE(ring.ok()) << ring.error().message;
  return ring.ok() ? *ring->encrypting().meta.epoch : -1;
}

TEST(HeldRing, RotatesExactlyAtEpochBoundary) {
  const HeldRing h = held(kE - 2, kE + 2);
  EXPECT_EQ(encrypting_epoch(h, kBoundary - 1), kE);
  EXPECT_EQ(encrypting_epoch(h, kBoundary), kE + 1);
  EXPECT_EQ(encrypting_epoch(h, kBoundary + 1), kE + 1);
}

TEST(HeldRing, ServedRingIsInNginxOrderWithoutExpiredKeys) {
  const HeldRing h = held(kE - 2, kE + 2);
  auto ring = h.at(kBoundary);  // epoch E+1: E-2 has expired (H = 2)
  ASSERT_TRUE(ring.ok());
  std::vector<std::pair<KeyRole, Epoch>> got;
  for (const RingKey& k : ring->keys()) got.emplace_back(k.meta.role, *k.meta.epoch);
  const std::vector<std::pair<KeyRole, Epoch>> want = {{KeyRole::encrypt, kE + 1},
                                                       {KeyRole::next, kE + 2},
                                                       {KeyRole::decrypt, kE},
                                                       {KeyRole::decrypt, kE - 1}};
  EXPECT_EQ(got, want);
}

TEST(HeldRing, ErasesKeysThatExpiredAndOnlyThose) {
  HeldRing h = held(kE - 2, kE + 2);
  EXPECT_TRUE(h.erase_expired(kBoundary - 1).empty());
  EXPECT_EQ(h.size(), 5u);
  const auto erased = h.erase_expired(kBoundary);
  ASSERT_EQ(erased.size(), 1u);
  EXPECT_EQ(h.size(), 4u);
  EXPECT_EQ(h.epochs().back(), kE - 1);
  EXPECT_TRUE(h.erase_expired(kBoundary).empty());
}

TEST(HeldRing, RunwayCountsTheUnbrokenRunOfHeldEpochs) {
  const HeldRing h = held(kE - 2, kE + 2);
  // Keys through E+2: runway ends when epoch E+3 starts.
  EXPECT_EQ(h.runway(kBoundary - 1), 2 * 60 + 1);
  EXPECT_EQ(h.runway(kBoundary), 2 * 60);
  EXPECT_EQ(h.runway((kE + 3) * 60 - 1), 1);
  EXPECT_EQ(h.runway((kE + 3) * 60), 0);
}

TEST(HeldRing, RunsOutOfKeysAfterTheLastHeldEpoch) {
  HeldRing h = held(kE - 2, kE + 2);
  const UnixSeconds out = (kE + 3) * 60;
  EXPECT_TRUE(h.at(out - 1).ok());
  auto none = h.at(out);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("no key for the current epoch"), std::string::npos);
  // The decrypt-only keys stay held until they expire themselves, but are not served.
  h.erase_expired(out);
  EXPECT_EQ(h.size(), 2u);  // E+1 and E+2 open tickets until E+3 and E+4 end
  h.erase_expired((kE + 5) * 60);
  EXPECT_TRUE(h.empty());
}

TEST(HeldRing, RefusesRingWithoutSchedule) {
  KeyRing ring = make_ring("eu", kE - 1, kE + 1, kE * 60, 5);
  RingInfo info = ring.info();
  info.schedule.reset();
  std::vector<RingKey> keys;
  for (const RingKey& k : ring.keys()) keys.push_back(k.clone());
  auto bare = KeyRing::make(std::move(keys), info);
  ASSERT_TRUE(bare.ok());
  EXPECT_FALSE(HeldRing::accept(*bare, "eu", kE * 60).ok());
}

TEST(HeldRing, RefusesKeyWithoutEpochAndRingWithoutVersion) {
  KeyRing ring = make_ring("eu", kE - 1, kE + 1, kE * 60, 5);
  std::vector<RingKey> keys;
  for (const RingKey& k : ring.keys()) keys.push_back(k.clone());
  keys.back().meta.epoch.reset();
  auto no_epoch = KeyRing::make(std::move(keys), ring.info());
  ASSERT_TRUE(no_epoch.ok());
  EXPECT_FALSE(HeldRing::accept(*no_epoch, "eu", kE * 60).ok());
  EXPECT_FALSE(HeldRing::accept(make_ring("eu", kE - 1, kE + 1, kE * 60, 0), "eu", kE * 60).ok());
}

}  // namespace
}  // namespace stek::agent

// The sync state machine: which answers replace the held ring, and failover between servers.
#include "sync.h"

#include <gtest/gtest.h>

#include "stek/bytes.h"

#include "fakes.h"
#include "times.h"

namespace stek::agent {
namespace {

using std::chrono::milliseconds;
using testing::ByteRandom;
using testing::make_ring;
using testing::ring_json;

constexpr UnixSeconds kNow = 1'800'000'010;  // epoch 30'000'000 at I = 60 s
using test::kE;

PollAnswer ok_answer(const KeyRing& ring, std::optional<std::uint64_t> header = std::nullopt) {
  PollAnswer a;
  a.status = 200;
  a.ring_version = header ? header : std::optional<std::uint64_t>(ring.info().version);
  a.body = ring_json(ring);
  return a;
}

std::optional<HeldRing> held_version(std::uint64_t version) {
  auto held = HeldRing::accept(make_ring("eu", kE - 2, kE + 2, kNow, version), "eu", kNow);
  EXPECT_TRUE(held.ok());
  return std::move(held).value();
}

TEST(CheckAnswer, AcceptsTheFirstRing) {
  auto r =
      check_answer(ok_answer(make_ring("eu", kE - 2, kE + 2, kNow, 7)), std::nullopt, "eu", kNow);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->version(), 7u);
  EXPECT_EQ((*r)->size(), 5u);
}

TEST(CheckAnswer, AcceptsOnlyNewerVersions) {
  const auto held = held_version(10);
  EXPECT_FALSE(
      check_answer(ok_answer(make_ring("eu", kE - 2, kE + 2, kNow, 9)), held, "eu", kNow).ok());
  EXPECT_FALSE(
      check_answer(ok_answer(make_ring("eu", kE - 2, kE + 2, kNow, 10)), held, "eu", kNow).ok());
  auto newer = check_answer(ok_answer(make_ring("eu", kE - 2, kE + 2, kNow, 11)), held, "eu", kNow);
  ASSERT_TRUE(newer.ok()) << newer.error().message;
  EXPECT_EQ((*newer)->version(), 11u);
}

TEST(CheckAnswer, NotModifiedKeepsTheHeldRing) {
  PollAnswer a;
  a.status = 304;
  auto r = check_answer(a, held_version(10), "eu", kNow);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  // A 304 to an agent that holds nothing (and so sent no wait) is a server bug.
  EXPECT_FALSE(check_answer(a, std::nullopt, "eu", kNow).ok());
}

TEST(CheckAnswer, RejectsRingOfAnotherDomain) {
  auto r =
      check_answer(ok_answer(make_ring("us", kE - 2, kE + 2, kNow, 11)), std::nullopt, "eu", kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("\"us\""), std::string::npos) << r.error().message;
}

TEST(CheckAnswer, RejectsRingWithOneForeignKey) {
  // Every key must match, not just the first: a ring is refused whole.
  KeyRing eu = make_ring("eu", kE - 2, kE + 2, kNow, 11);
  std::vector<RingKey> keys;
  for (const RingKey& k : eu.keys()) keys.push_back(k.clone());
  keys.back().meta.domain = "us";
  auto mixed = KeyRing::make(std::move(keys), eu.info());
  ASSERT_TRUE(mixed.ok());
  EXPECT_FALSE(check_answer(ok_answer(*mixed), std::nullopt, "eu", kNow).ok());
  std::vector<RingKey> nameless;
  for (const RingKey& k : eu.keys()) nameless.push_back(k.clone());
  nameless.front().meta.domain.reset();
  auto no_domain = KeyRing::make(std::move(nameless), eu.info());
  ASSERT_TRUE(no_domain.ok());
  EXPECT_FALSE(check_answer(ok_answer(*no_domain), std::nullopt, "eu", kNow).ok());
}

TEST(CheckAnswer, RejectsVersionHeaderThatDisagreesWithTheBody) {
  auto r = check_answer(ok_answer(make_ring("eu", kE - 2, kE + 2, kNow, 11), 12), std::nullopt,
                        "eu", kNow);
  EXPECT_FALSE(r.ok());
}

TEST(CheckAnswer, RejectsRingThatDoesNotCoverTheCurrentEpoch) {
  // Keys only for epochs far ahead: this host's clock (or stekd's) is wrong.
  KeyRing future = make_ring("eu", kE + 5, kE + 7, (kE + 6) * 60, 11);
  auto r = check_answer(ok_answer(future), std::nullopt, "eu", kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("clock"), std::string::npos) << r.error().message;
}

TEST(CheckAnswer, ErrorStatusesAreFailuresNamingTheCause) {
  PollAnswer a;
  a.status = 403;
  auto r = check_answer(a, std::nullopt, "eu", kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("403"), std::string::npos);
  for (int status : {400, 404, 429, 500, 503}) {
    a.status = status;
    EXPECT_FALSE(check_answer(a, std::nullopt, "eu", kNow).ok()) << status;
  }
}

TEST(CheckAnswer, MalformedRingErrorQuotesNoKeyBytes) {
  KeyRing ring = make_ring("eu", kE - 2, kE + 2, kNow, 11);
  PollAnswer a = ok_answer(ring);
  std::string text(reinterpret_cast<const char*>(a.body.data()), a.body.size());
  text.back() = ',';  // damage the end of the document
  text += "}";
  a.body = SecretBytes::copy_of(as_bytes(text));
  auto r = check_answer(a, std::nullopt, "eu", kNow);
  ASSERT_FALSE(r.ok());
  for (const RingKey& k : ring.keys()) {
    SecretBytes b64 = to_base64(k.key.aes_key().view());
    const std::string aes(reinterpret_cast<const char*>(b64.data()), b64.size());
    EXPECT_EQ(r.error().message.find(aes.substr(0, 12)), std::string::npos);
  }
}

TEST(ServerRotation, FailsOverInConfigurationOrderThenBacksOff) {
  ByteRandom random(0);  // lowest jitter draw: d / 2
  ServerRotation r({"a", "b", "c"},
                   Backoff({milliseconds(1000), milliseconds(60000), 0.5}, random));
  EXPECT_EQ(r.current(), "a");
  EXPECT_EQ(r.on_failure(), milliseconds(0));
  EXPECT_EQ(r.current(), "b");
  EXPECT_EQ(r.on_failure(), milliseconds(0));
  EXPECT_EQ(r.current(), "c");
  // A whole round failed: wait round 1's delay before the next round starts at a.
  EXPECT_EQ(r.on_failure(), milliseconds(500));
  EXPECT_EQ(r.current(), "a");
  EXPECT_EQ(r.on_failure(), milliseconds(0));
  EXPECT_EQ(r.on_failure(), milliseconds(0));
  EXPECT_EQ(r.on_failure(), milliseconds(1000));  // round 2: twice as long
  EXPECT_EQ(r.current(), "a");
  EXPECT_EQ(r.consecutive_failures(), 6);
}

TEST(ServerRotation, StaysOnTheServerThatAnswers) {
  ByteRandom random(0);
  ServerRotation r({"a", "b", "c"},
                   Backoff({milliseconds(1000), milliseconds(60000), 0.5}, random));
  r.on_failure();
  ASSERT_EQ(r.current(), "b");
  r.on_success();
  EXPECT_EQ(r.current(), "b");
  EXPECT_EQ(r.consecutive_failures(), 0);
  // A fresh streak of failures starts a fresh round: no wait until all three failed again.
  EXPECT_EQ(r.on_failure(), milliseconds(0));
  EXPECT_EQ(r.current(), "c");
  EXPECT_EQ(r.on_failure(), milliseconds(0));
  EXPECT_EQ(r.on_failure(), milliseconds(500));
  EXPECT_EQ(r.current(), "b");
}

TEST(ServerRotation, SingleServerBacksOffAfterEveryFailureUpToTheCap) {
  ByteRandom random(0xff);
  ServerRotation r({"only"}, Backoff({milliseconds(1000), milliseconds(4000), 0.5}, random));
  const milliseconds expected[] = {milliseconds(1000), milliseconds(2000), milliseconds(4000),
                                   milliseconds(4000)};
  for (milliseconds want : expected) {
    const milliseconds got = r.on_failure();
    EXPECT_LE(got, want);
    EXPECT_GE(got, want - milliseconds(1));
    EXPECT_EQ(r.current(), "only");
  }
}

}  // namespace
}  // namespace stek::agent

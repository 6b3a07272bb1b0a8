// The stekd ring source with a scripted client: what it asks, what each answer means, how it
// fails over and backs off.
#include "stekd_source.h"

#include <gtest/gtest.h>

#include "fakes.h"
#include "testing/fixed_clock.h"
#include "times.h"

namespace stek::agent {
namespace {

using std::chrono::milliseconds;
using testing::ByteRandom;
using testing::make_ring;
using testing::ring_json;
using testing::ScriptedClient;

using test::kE;
using test::kT;

PollAnswer ring_answer(std::uint64_t version) {
  PollAnswer a;
  a.status = 200;
  a.ring_version = version;
  a.body = ring_json(make_ring("eu", kE - 2, kE + 2, kT, version));
  return a;
}

PollAnswer status_answer(int status) {
  PollAnswer a;
  a.status = status;
  return a;
}

ByteRandom failing_random() {
  ByteRandom r;
  r.fail = true;
  return r;
}

struct Source {
  explicit Source(std::vector<std::string> urls = {"https://a.example:8443",
                                                   "https://b.example:8443"}) {
    auto c = std::make_unique<ScriptedClient>();
    client = c.get();
    asked = c->asked;
    std::vector<ServerUrl> servers;
    for (const auto& u : urls) servers.push_back(*parse_server_url(u));
    BackoffPolicy policy;  // 1 s, doubling, up to 60 s, jitter 0.5
    source = std::make_unique<StekdSource>(std::move(c), std::move(servers), "eu", 30,
                                           Backoff(policy, random), clock);
  }
  FixedClock clock{kT};
  ByteRandom random = failing_random();  // no jitter: the full delay
  ScriptedClient* client = nullptr;
  std::shared_ptr<std::vector<ScriptedClient::Asked>> asked;
  std::unique_ptr<StekdSource> source;
};

TEST(StekdSource, AsksWithTheHeldVersionAndTakesOnlyANewerRing) {
  Source s;
  s.client->push(ring_answer(7));
  RingUpdate first = s.source->next(std::nullopt);
  EXPECT_EQ(first.sync, RingUpdate::Sync::answered);
  ASSERT_TRUE(first.ring.has_value());
  EXPECT_EQ(first.ring->version(), 7u);
  EXPECT_EQ(first.from, "https://a.example:8443");
  EXPECT_EQ(first.pause, milliseconds(0));  // the long-poll itself is the wait

  s.client->push(status_answer(304));
  RingUpdate second = s.source->next(first.ring);
  EXPECT_EQ(second.sync, RingUpdate::Sync::answered);
  EXPECT_FALSE(second.ring.has_value());

  ASSERT_EQ(s.asked->size(), 2u);
  EXPECT_EQ((*s.asked)[0].wait, std::nullopt);
  EXPECT_EQ((*s.asked)[0].domain, "eu");
  EXPECT_EQ((*s.asked)[1].wait, std::optional<std::uint64_t>(7));
  EXPECT_EQ((*s.asked)[1].server, "https://a.example:8443");  // stays on a server that answers
}

TEST(StekdSource, FailsOverAtOnceAndBacksOffOnlyAfterAWholeRoundFailed) {
  Source s;
  s.client->push(make_error(Errc::io, "connection refused"));
  s.client->push(status_answer(503));
  s.client->push(status_answer(403));
  RingUpdate a = s.source->next(std::nullopt);
  EXPECT_EQ(a.sync, RingUpdate::Sync::failed);
  EXPECT_EQ(a.pause, milliseconds(0));  // b is untried
  RingUpdate b = s.source->next(std::nullopt);
  EXPECT_EQ(b.sync, RingUpdate::Sync::failed);
  EXPECT_EQ(b.pause, milliseconds(1000));  // round 1 failed: backoff_initial
  RingUpdate again = s.source->next(std::nullopt);
  EXPECT_EQ(again.sync, RingUpdate::Sync::failed);
  EXPECT_EQ(again.pause, milliseconds(0));
  ASSERT_EQ(s.asked->size(), 3u);
  EXPECT_EQ((*s.asked)[0].server, "https://a.example:8443");
  EXPECT_EQ((*s.asked)[1].server, "https://b.example:8443");
  EXPECT_EQ((*s.asked)[2].server, "https://a.example:8443");
}

TEST(StekdSource, ARingThatIsNotNewerIsAFailedSync) {
  Source s;
  s.client->push(ring_answer(7));
  RingUpdate first = s.source->next(std::nullopt);
  s.client->push(ring_answer(7));  // 200 promises a newer ring
  RingUpdate replay = s.source->next(first.ring);
  EXPECT_EQ(replay.sync, RingUpdate::Sync::failed);
  EXPECT_FALSE(replay.ring.has_value());
}

TEST(StekdSource, APollEndedByShutdownIsNoFailure) {
  Source s;
  s.client->push(make_error(Errc::io, "cancelled"));
  s.source->cancel();
  EXPECT_EQ(s.client->cancels, 1);
  RingUpdate u = s.source->next(std::nullopt);
  EXPECT_EQ(u.sync, RingUpdate::Sync::none);
  EXPECT_EQ(u.pause, milliseconds(0));
}

TEST(StekdSource, AnAnswerThatStatesStekdsTimeIsAClockSampleEvenWhenRefused) {
  Source s;
  PollAnswer ring = ring_answer(7);
  ring.server_time_ms = kT * 1000 + 45'000;
  ring.held_ms = 0;
  s.client->push(std::move(ring));
  const RingUpdate first = s.source->next(std::nullopt);
  ASSERT_TRUE(first.clock.has_value());
  EXPECT_EQ(first.clock->sent_ms, kT * 1000);  // the fixed clock does not move
  EXPECT_EQ(first.clock->received_ms, kT * 1000);
  EXPECT_EQ(first.clock->server_ms, kT * 1000 + 45'000);

  PollAnswer refused = status_answer(503);
  refused.server_time_ms = kT * 1000 + 1;
  refused.held_ms = 30'000;
  s.client->push(std::move(refused));
  const RingUpdate second = s.source->next(first.ring);
  EXPECT_EQ(second.sync, RingUpdate::Sync::failed);
  ASSERT_TRUE(second.clock.has_value());
  EXPECT_EQ(second.clock->held_ms, 30'000);

  s.client->push(status_answer(304));  // an older stekd states no time: no sample
  EXPECT_FALSE(s.source->next(first.ring).clock.has_value());
}

TEST(StekdSource, DescribesEveryServer) {
  Source s;
  EXPECT_EQ(s.source->describe(),
            "server: https://a.example:8443\nserver: https://b.example:8443\n");
}

}  // namespace
}  // namespace stek::agent

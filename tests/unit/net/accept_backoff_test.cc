// The accept loop's backoff: which errors pause it, how long, and when an episode is logged.
#include "accept_backoff.h"

#include <cerrno>
#include <vector>

#include <gtest/gtest.h>

namespace stek::net {
namespace {

using std::chrono::milliseconds;

TEST(AcceptBackoff, OutOfDescriptorsPausesFrom50msDoublingTo1s) {
  AcceptBackoff b;
  std::vector<long> delays;
  for (int i = 0; i < 8; ++i) delays.push_back(b.failed(EMFILE).delay.count());
  EXPECT_EQ(delays, (std::vector<long>{50, 100, 200, 400, 800, 1000, 1000, 1000}));
  EXPECT_TRUE(b.paused());
}

TEST(AcceptBackoff, OnlyTheFirstFailureOfAnEpisodeIsToBeLogged) {
  AcceptBackoff b;
  EXPECT_TRUE(b.failed(EMFILE).episode_started);
  EXPECT_FALSE(b.failed(ENFILE).episode_started);
  EXPECT_FALSE(b.failed(EMFILE).episode_started);
  EXPECT_EQ(b.succeeded(), std::optional<std::uint64_t>(3));
  EXPECT_TRUE(b.failed(EMFILE).episode_started);
}

TEST(AcceptBackoff, SuccessEndsTheEpisodeAndResetsThePause) {
  AcceptBackoff b;
  b.failed(EMFILE);
  b.failed(EMFILE);
  ASSERT_TRUE(b.succeeded().has_value());
  EXPECT_FALSE(b.paused());
  EXPECT_EQ(b.failed(ENOBUFS).delay, milliseconds(50));
  EXPECT_EQ(b.failures_total(), 3u);
}

TEST(AcceptBackoff, SuccessWithoutAFailureEndsNoEpisode) {
  AcceptBackoff b;
  EXPECT_FALSE(b.succeeded().has_value());
}

TEST(AcceptBackoff, ErrorsOfOneClientAcceptAgainAtOnce) {
  AcceptBackoff b;
  for (int e : {ECONNABORTED, EPROTO, EPERM, EINTR, EAGAIN}) {
    const auto p = b.failed(e);
    EXPECT_EQ(p.delay, milliseconds(0)) << e;
    EXPECT_FALSE(p.episode_started) << e;
  }
  EXPECT_FALSE(b.paused());
  EXPECT_EQ(b.failures_total(), 0u);
}

TEST(AcceptBackoff, UnknownErrorsPauseToo) {
  AcceptBackoff b;
  EXPECT_EQ(b.failed(ENOMEM).delay, milliseconds(50));
  EXPECT_EQ(b.failed(EINVAL).delay, milliseconds(100));
}

}  // namespace
}  // namespace stek::net

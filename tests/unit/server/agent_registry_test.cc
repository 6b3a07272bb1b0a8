// The agent registry with a fixed clock: connection limits, records, staleness boundaries.
#include "agent_registry.h"

#include <gtest/gtest.h>

#include "testing/fixed_clock.h"

namespace stek::server {
namespace {

constexpr UnixSeconds kT = 1'800'000'000;
constexpr std::int64_t kStaleAfter = 600;

Identity web1() {
  return {Identity::Kind::agent, "web1", {"eu-west"}};
}

TEST(AgentRegistry, RefusesTheConnectionThatGoesOverTheIdentityLimit) {
  FixedClock clock(kT);
  AgentRegistry r(clock, 2, kStaleAfter);
  EXPECT_TRUE(r.connected(web1(), "a:1", true));
  EXPECT_TRUE(r.connected(web1(), "a:2", true));
  EXPECT_FALSE(r.connected(web1(), "a:3", true));
  r.disconnected(web1());
  r.disconnected(web1());
  EXPECT_TRUE(r.connected(web1(), "a:4", true));
}

TEST(AgentRegistry, AdminAndHostOfTheSameNameHaveSeparateLimits) {
  FixedClock clock(kT);
  AgentRegistry r(clock, 1, kStaleAfter);
  EXPECT_TRUE(r.connected(web1(), "a:1", true));
  EXPECT_TRUE(r.connected({Identity::Kind::admin, "web1", {}}, "a:2", false));
}

TEST(AgentRegistry, RecordsOnlyAgentsOfConfiguredDomains) {
  FixedClock clock(kT);
  AgentRegistry r(clock, 4, kStaleAfter);
  r.connected({Identity::Kind::agent, "stranger", {"ap-south"}}, "a:1", false);
  r.connected({Identity::Kind::admin, "ops", {}}, "a:2", false);
  EXPECT_TRUE(r.agents().empty());
  r.connected(web1(), "192.0.2.1:5", true);
  ASSERT_EQ(r.agents().size(), 1u);
  const AgentRecord& a = r.agents().at("web1");
  EXPECT_EQ(a.address, "192.0.2.1:5");
  EXPECT_EQ(a.domains, std::vector<std::string>{"eu-west"});
  EXPECT_EQ(a.last_seen, kT);
  EXPECT_EQ(a.connections, 1u);
}

TEST(AgentRegistry, KeepsTheRecordAfterTheLastConnectionCloses) {
  FixedClock clock(kT);
  AgentRegistry r(clock, 4, kStaleAfter);
  r.connected(web1(), "a:1", true);
  r.disconnected(web1());
  r.disconnected(web1());  // never below zero
  EXPECT_EQ(r.agents().at("web1").connections, 0u);
  const AgentCounts c = r.counts(100);
  EXPECT_EQ(c.known, 1u);
  EXPECT_EQ(c.connected, 0u);
}

TEST(AgentRegistry, StaleExactlyWhenNotSeenForMoreThanStaleAfter) {
  FixedClock clock(kT);
  AgentRegistry r(clock, 4, kStaleAfter);
  r.saw(web1());
  const AgentRecord& a = r.agents().at("web1");
  clock.set(kT + kStaleAfter - 1);
  EXPECT_FALSE(r.is_stale(a, 100));
  clock.set(kT + kStaleAfter);
  EXPECT_FALSE(r.is_stale(a, 100));
  clock.set(kT + kStaleAfter + 1);
  EXPECT_TRUE(r.is_stale(a, 100));
}

TEST(AgentRegistry, StaleWhenItHoldsNoKeyForTheNextEpoch) {
  FixedClock clock(kT);
  AgentRegistry r(clock, 4, kStaleAfter);
  r.saw(web1());
  const AgentRecord& a = r.agents().at("web1");
  EXPECT_FALSE(r.is_stale(a, 100));  // holds nothing known yet: judged by time only
  r.claims("web1", 7, 101);
  EXPECT_FALSE(r.is_stale(a, 100));
  r.claims("web1", 7, 100);
  EXPECT_TRUE(r.is_stale(a, 100));
  EXPECT_EQ(r.counts(100).stale, 1u);
  EXPECT_EQ(r.counts(99).stale, 0u);
}

TEST(AgentRegistry, KeepsWhatWasServedApartFromWhatTheAgentClaims) {
  FixedClock clock(kT);
  AgentRegistry r(clock, 4, kStaleAfter);
  r.saw(web1());
  r.served("web1", {.ring_version = 42, .secret_versions = {1, 2}, .through_epoch = 102});
  r.claims("web1", 999999, 5000);  // any client can claim anything in wait=
  const AgentRecord& a = r.agents().at("web1");
  ASSERT_TRUE(a.served.has_value());
  EXPECT_EQ(a.served->ring_version, 42u);
  EXPECT_EQ(a.served->secret_versions, (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(a.served->at, kT);
  EXPECT_EQ(a.claimed_ring_version, 999999u);
  EXPECT_EQ(a.holds_through_epoch, 5000);
}

TEST(AgentRegistry, StalenessFollowsTheServedRingNotTheClaim) {
  FixedClock clock(kT);
  AgentRegistry r(clock, 4, kStaleAfter);
  r.saw(web1());
  r.served("web1", {.ring_version = 42, .secret_versions = {1}, .through_epoch = 100});
  r.claims("web1", 999999, 5000);
  EXPECT_TRUE(r.is_stale(r.agents().at("web1"), 100));
}

}  // namespace
}  // namespace stek::server

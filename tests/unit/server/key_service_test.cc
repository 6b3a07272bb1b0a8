// KeyService driven without I/O: an in-memory store, a fixed clock, scripted randomness and
// the in-memory audit log. Covers creation and look-ahead, erasure at t-1 / t / t+1 of every
// boundary, secret versions and rotation, ring versions, and compare-and-swap retries.
#include "key_service.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "stek/clock.h"
#include "stek/derive.h"

#include "memory_audit_log.h"
#include "memory_store.h"
#include "testing/fixed_clock.h"
#include "testing/keys.h"

namespace stek::server {
namespace {

using stek::testing::pattern_bytes;
using testing::InMemoryStore;

constexpr ScheduleParams kParams{60, 2, 2};  // I = 60 s, H = 2, L = 2
constexpr Epoch kE = 1000;                   // the epoch every test starts in
constexpr UnixSeconds start_of(Epoch e) {
  return e * kParams.interval;
}

// Draw n (1, 2, ...) returns pattern_bytes(n, size): a test can name every secret made.
class ScriptedRandom final : public Random {
 public:
  Status fill(std::span<std::uint8_t> out) override {
    if (fail) return make_error(Errc::crypto, "no randomness in this test");
    SecretBytes b = pattern_bytes(++draws, out.size());
    std::copy(b.view().begin(), b.view().end(), out.begin());
    return {};
  }
  std::uint64_t draws = 0;
  bool fail = false;
};

class KeyServiceTest : public ::testing::Test {
 protected:
  KeyService& service(std::vector<std::string> domains = {"eu", "us"}) {
    services_.push_back(std::make_unique<KeyService>(Schedule::make(kParams).value(),
                                                     std::move(domains), store, random, audit));
    return *services_.back();
  }
  KeyService& started(std::vector<std::string> domains = {"eu", "us"}) {
    KeyService& s = service(std::move(domains));
    EXPECT_TRUE(s.start(clock.now()).ok());
    return s;
  }
  std::set<Epoch> stored_epochs() const {
    std::set<Epoch> out;
    for (const auto& [e, g] : store.state().epoch_secrets) out.insert(e);
    return out;
  }
  std::vector<std::uint32_t> stored_versions(const std::string& domain) const {
    std::vector<std::uint32_t> out;
    auto it = store.state().domains.find(domain);
    if (it != store.state().domains.end())
      for (const DomainSecret& v : it->second) out.push_back(v.version);
    return out;
  }
  // The values of `field` in audit events named `event`, in order, of the commits that took
  // effect: lines are written before each commit, and a commit that then does not happen is
  // followed by commit_not_done with its generation.
  std::vector<std::int64_t> audited(const std::string& event,
                                    const std::string& field = "epoch") const {
    std::set<std::int64_t> not_done;
    for (const auto& ev : audit.events)
      if (ev["event"] == "commit_not_done") not_done.insert(ev["generation"].get<std::int64_t>());
    std::vector<std::int64_t> out;
    for (const auto& ev : audit.events)
      if (ev["event"] == event && !not_done.contains(ev["generation"].get<std::int64_t>()))
        out.push_back(ev[field].get<std::int64_t>());
    return out;
  }

  InMemoryStore store;
  ScriptedRandom random;
  MemoryAuditLog audit;
  FixedClock clock{start_of(kE) + 5};

 private:
  std::vector<std::unique_ptr<KeyService>> services_;
};

TEST_F(KeyServiceTest, StartCreatesCurrentAndLookaheadEpochsAndOneSecretPerDomain) {
  KeyService& keys = started();
  EXPECT_EQ(stored_epochs(), (std::set<Epoch>{kE, kE + 1, kE + 2}));
  EXPECT_EQ(stored_versions("eu"), std::vector<std::uint32_t>{1});
  EXPECT_EQ(stored_versions("us"), std::vector<std::uint32_t>{1});
  EXPECT_EQ(store.state().domains.at("eu")[0].start_epoch, kAllEpochs);
  EXPECT_EQ(store.state().generation, 1u);
  EXPECT_EQ(audited("epoch_secret_created"), (std::vector<std::int64_t>{kE, kE + 1, kE + 2}));
  EXPECT_EQ(audited("domain_secret_created", "secret_version"), (std::vector<std::int64_t>{1, 1}));
  EXPECT_EQ(keys.current_epoch(), kE);
  EXPECT_TRUE(keys.healthy(clock.now()));
}

TEST_F(KeyServiceTest, SecretsAreDrawnFromTheInjectedRandomEpochsFirst) {
  started();
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(store.state().epoch_secrets.at(kE + i).equals(pattern_bytes(1 + i, 32).view()));
  EXPECT_TRUE(store.state().domains.at("eu")[0].secret.equals(pattern_bytes(4, 32).view()));
  EXPECT_TRUE(store.state().domains.at("us")[0].secret.equals(pattern_bytes(5, 32).view()));
}

TEST_F(KeyServiceTest, RingKeysAreTheStekV1DerivationOfTheStoredSecrets) {
  KeyService& keys = started();
  auto ring = keys.ring("eu");
  ASSERT_TRUE(ring.ok()) << ring.error().message;
  auto expected =
      derive_ticket_key(pattern_bytes(4, 32).view(), pattern_bytes(1, 32).view(), "eu", kE);
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(ring->encrypting().key.name_hex(), expected->name_hex());
  EXPECT_TRUE(ring->encrypting().key.aes_key().equals(expected->aes_key().view()));
  EXPECT_EQ(*ring->encrypting().meta.domain, "eu");
  EXPECT_EQ(*ring->encrypting().meta.secret_version, 1u);
}

TEST_F(KeyServiceTest, MaintainWithinAnEpochChangesNothing) {
  KeyService& keys = started();
  auto changed = keys.maintain(start_of(kE + 1) - 1);
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(*changed);
  EXPECT_EQ(store.commits, 1);
}

TEST_F(KeyServiceTest, CreatesTheNextLookaheadEpochExactlyAtTheBoundary) {
  KeyService& keys = started();
  const UnixSeconds t = start_of(kE + 1);
  EXPECT_FALSE(keys.maintain(t - 1).value());
  EXPECT_EQ(*stored_epochs().rbegin(), kE + 2);
  EXPECT_TRUE(keys.maintain(t).value());
  EXPECT_EQ(*stored_epochs().rbegin(), kE + 3);
  EXPECT_EQ(keys.current_epoch(), kE + 1);
  EXPECT_FALSE(keys.maintain(t + 1).value());
  EXPECT_EQ(audited("epoch_secret_created"),
            (std::vector<std::int64_t>{kE, kE + 1, kE + 2, kE + 3}));
}

TEST_F(KeyServiceTest, ErasesAnEpochSecretOnceEpochPlusHistoryHasEnded) {
  KeyService& keys = started();
  // Epoch kE opens tickets until kE + H ends: erased when kE + H + 1 begins.
  const UnixSeconds t = start_of(kE + kParams.history + 1);
  ASSERT_TRUE(keys.maintain(t - 1).ok());
  EXPECT_EQ(stored_epochs().count(kE), 1u);
  EXPECT_EQ(keys.erasures_total(), 0u);
  ASSERT_TRUE(keys.maintain(t).ok());
  EXPECT_EQ(stored_epochs().count(kE), 0u);
  EXPECT_EQ(*stored_epochs().begin(), kE + 1);
  EXPECT_EQ(audited("epoch_secret_erased"), std::vector<std::int64_t>{kE});
  EXPECT_EQ(keys.erasures_total(), 1u);
  ASSERT_TRUE(keys.maintain(t + 1).ok());
  EXPECT_EQ(keys.erasures_total(), 1u);
  EXPECT_EQ(keys.epochs_held()->first, kE + 1);
  EXPECT_EQ(keys.epochs_held()->last, kE + kParams.history + 1 + kParams.lookahead);
}

TEST_F(KeyServiceTest, RingHoldsHistoryCurrentNextAndPendingKeys) {
  KeyService& keys = started();
  const Epoch e = kE + 3;
  ASSERT_TRUE(keys.maintain(start_of(e)).ok());
  auto ring = keys.ring("us");
  ASSERT_TRUE(ring.ok()) << ring.error().message;
  std::vector<std::pair<Epoch, KeyRole>> got;
  for (const RingKey& k : ring->keys()) got.emplace_back(*k.meta.epoch, k.meta.role);
  EXPECT_EQ(got, (std::vector<std::pair<Epoch, KeyRole>>{{e, KeyRole::encrypt},
                                                         {e + 1, KeyRole::next},
                                                         {e - 1, KeyRole::decrypt},
                                                         {e - 2, KeyRole::decrypt},
                                                         {e + 2, KeyRole::pending}}));
}

TEST_F(KeyServiceTest, RingVersionIsEpochTimesTwoToTheTwentyPlusSecretVersion) {
  KeyService& keys = started();
  EXPECT_EQ(keys.ring_version("eu"), (static_cast<std::uint64_t>(kE) << 20) + 1);
  ASSERT_TRUE(keys.maintain(start_of(kE + 1)).ok());
  EXPECT_EQ(keys.ring_version("eu"), (static_cast<std::uint64_t>(kE + 1) << 20) + 1);
  ASSERT_TRUE(keys.rotate_domain_secret("eu", start_of(kE + 1) + 1, "admin:ops").ok());
  EXPECT_EQ(keys.ring_version("eu"), (static_cast<std::uint64_t>(kE + 1) << 20) + 2);
  EXPECT_EQ(keys.ring_version("us"), (static_cast<std::uint64_t>(kE + 1) << 20) + 1);
  EXPECT_EQ(keys.ring("eu")->info().version, keys.ring_version("eu"));
}

TEST_F(KeyServiceTest, RingDocumentIsCachedUntilTheRingVersionChanges) {
  KeyService& keys = started();
  auto first = keys.ring_document("eu");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(keys.ring_document("eu").value(), *first);
  ASSERT_TRUE(keys.maintain(start_of(kE + 1)).ok());
  EXPECT_NE(keys.ring_document("eu").value(), *first);
}

TEST_F(KeyServiceTest, CompromiseRotationReplacesEveryVersionAtOnce) {
  KeyService& keys = started();
  const std::vector<std::string> before = stek::testing::names_of(keys.ring("eu").value());
  auto version = keys.rotate_domain_secret("eu", clock.now(), "admin:ops");
  ASSERT_TRUE(version.ok()) << version.error().message;
  EXPECT_EQ(*version, 2u);
  EXPECT_EQ(stored_versions("eu"), std::vector<std::uint32_t>{2});
  EXPECT_EQ(store.state().domains.at("eu")[0].start_epoch, kAllEpochs);
  EXPECT_EQ(stored_versions("us"), std::vector<std::uint32_t>{1});
  EXPECT_EQ(audited("domain_secret_rotated", "secret_version"), std::vector<std::int64_t>{2});
  EXPECT_EQ(audited("domain_secret_erased", "secret_version"), std::vector<std::int64_t>{1});
  EXPECT_EQ(audit.events.back()["actor"], "admin:ops");
  const std::vector<std::string> after = stek::testing::names_of(keys.ring("eu").value());
  ASSERT_EQ(after.size(), before.size());
  for (const std::string& name : after)
    EXPECT_EQ(std::count(before.begin(), before.end(), name), 0);
}

TEST_F(KeyServiceTest, RotatingAnUnconfiguredDomainIsNotFoundAndCommitsNothing) {
  KeyService& keys = started();
  auto r = keys.rotate_domain_secret("mars", clock.now(), "admin:ops");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::not_found);
  EXPECT_EQ(store.commits, 1);
}

TEST_F(KeyServiceTest, RotationStopsAtTheSecretVersionLimit) {
  store.write_as_other([](StoreState& s) {
    s.domains["eu"].push_back(
        {api::RingVersion::kMaxSecretVersion, kAllEpochs, pattern_bytes(90, 32)});
  });
  KeyService& keys = started();
  auto r = keys.rotate_domain_secret("eu", clock.now(), "admin:ops");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unsupported);
  EXPECT_EQ(stored_versions("eu"), std::vector<std::uint32_t>{api::RingVersion::kMaxSecretVersion});
}

TEST_F(KeyServiceTest, ScheduledReplacementKeepsTheOldVersionWhileALiveEpochUsesIt) {
  // v1 for every epoch, v2 from kE + 1 on: v1 is live while epoch kE is, so until kE + H ends.
  store.write_as_other([](StoreState& s) {
    s.domains["eu"].push_back({1, kAllEpochs, pattern_bytes(90, 32)});
    s.domains["eu"].push_back({2, kE + 1, pattern_bytes(91, 32)});
  });
  KeyService& keys = started({"eu"});
  auto ring = keys.ring("eu");
  ASSERT_TRUE(ring.ok());
  for (const RingKey& k : ring->keys())
    EXPECT_EQ(*k.meta.secret_version, *k.meta.epoch == kE ? 1u : 2u);
  const UnixSeconds t = start_of(kE + kParams.history + 1);
  ASSERT_TRUE(keys.maintain(t - 1).ok());
  EXPECT_EQ(stored_versions("eu"), (std::vector<std::uint32_t>{1, 2}));
  ASSERT_TRUE(keys.maintain(t).ok());
  EXPECT_EQ(stored_versions("eu"), std::vector<std::uint32_t>{2});
  EXPECT_EQ(audited("domain_secret_erased", "secret_version"), std::vector<std::int64_t>{1});
  EXPECT_EQ(audit.events.back()["reason"], "no live epoch uses it");
  ASSERT_TRUE(keys.maintain(t + 1).ok());
  EXPECT_EQ(stored_versions("eu"), std::vector<std::uint32_t>{2});
  EXPECT_EQ(keys.secret_version("eu"), 2u);
}

TEST_F(KeyServiceTest, ErasesTheSecretsOfADomainNoLongerConfigured) {
  started({"eu", "us"});
  KeyService& keys = started({"eu"});
  EXPECT_EQ(store.state().domains.count("us"), 0u);
  EXPECT_EQ(audit.events.back()["reason"], "domain no longer configured");
  EXPECT_FALSE(keys.ring("us").ok());
}

TEST_F(KeyServiceTest, RestartBringsBackTheSameKeysWithoutCommitting) {
  const auto before = stek::testing::names_of(started().ring("eu").value());
  const auto after = stek::testing::names_of(started().ring("eu").value());
  EXPECT_EQ(after, before);
  EXPECT_EQ(store.commits, 1);
}

TEST_F(KeyServiceTest, MaintainWithoutStartBuildsOnTheStoredState) {
  store.write_as_other([](StoreState& s) { s.epoch_secrets.emplace(kE, pattern_bytes(99, 32)); });
  KeyService& keys = service();
  ASSERT_TRUE(keys.maintain(clock.now()).ok());
  EXPECT_TRUE(store.state().epoch_secrets.at(kE).equals(pattern_bytes(99, 32).view()));
  EXPECT_EQ(stored_epochs(), (std::set<Epoch>{kE, kE + 1, kE + 2}));
}

TEST_F(KeyServiceTest, ADamagedStoreStopsStartAndCommitsNothing) {
  store.load_error = make_error(Errc::integrity, "state file is damaged");
  auto s = service().start(clock.now());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Errc::integrity);
  EXPECT_EQ(store.commits, 0);
}

TEST_F(KeyServiceTest, NoRandomnessMeansNoCommit) {
  random.fail = true;
  KeyService& keys = service();
  auto s = keys.start(clock.now());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Errc::crypto);
  EXPECT_EQ(store.commits, 0);
  EXPECT_FALSE(keys.healthy(clock.now()));
}

TEST_F(KeyServiceTest, AFailedCommitLeavesServiceStateAndAuditUntouched) {
  KeyService& keys = started();
  store.commit_error = make_error(Errc::io, "disk full");
  auto r = keys.maintain(start_of(kE + 1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::io);
  EXPECT_EQ(keys.epochs_held()->last, kE + 2);
  EXPECT_EQ(audited("epoch_secret_created").size(), 3u);
}

TEST_F(KeyServiceTest, HealthyOnlyWhileTheCurrentEpochSecretIsHeld) {
  KeyService& keys = started();
  EXPECT_TRUE(keys.healthy(start_of(kE + kParams.lookahead + 1) - 1));
  EXPECT_FALSE(keys.healthy(start_of(kE + kParams.lookahead + 1)));
}

TEST_F(KeyServiceTest, RetryAdoptsTheEpochSecretAnotherWriterCreatedFirst) {
  store.lose_next_commits(1, [](StoreState& s) {
    s.epoch_secrets.emplace(kE, pattern_bytes(99, 32));
    s.domains["eu"].push_back({1, kAllEpochs, pattern_bytes(98, 32)});
  });
  KeyService& keys = started();
  EXPECT_EQ(store.lost_commits, 1);
  EXPECT_EQ(store.commits, 2);
  // One secret per epoch, ever: the other writer's, not a second one.
  EXPECT_TRUE(store.state().epoch_secrets.at(kE).equals(pattern_bytes(99, 32).view()));
  EXPECT_TRUE(store.state().domains.at("eu")[0].secret.equals(pattern_bytes(98, 32).view()));
  EXPECT_EQ(audited("epoch_secret_created"), (std::vector<std::int64_t>{kE + 1, kE + 2}));
  EXPECT_EQ(audited("domain_secret_created", "secret_version"), std::vector<std::int64_t>{1});
  EXPECT_EQ(keys.ring_version("eu"), (static_cast<std::uint64_t>(kE) << 20) + 1);
}

TEST_F(KeyServiceTest, SucceedsWhenTheLastRetryWins) {
  store.lose_next_commits(7);
  EXPECT_TRUE(service().start(clock.now()).ok());
  EXPECT_EQ(store.commits, 8);
  EXPECT_EQ(stored_epochs().size(), 3u);
}

TEST_F(KeyServiceTest, MaintenanceThatLosesEveryCompareAndSwapIsAConflict) {
  store.lose_next_commits(8);
  KeyService& keys = service();
  auto s = keys.start(clock.now());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Errc::conflict);
  EXPECT_EQ(store.commits, 8);
  EXPECT_TRUE(store.state().epoch_secrets.empty());
  EXPECT_TRUE(audited("epoch_secret_created").empty());
  // The next round starts afresh and succeeds.
  ASSERT_TRUE(keys.maintain(clock.now()).ok());
  EXPECT_EQ(stored_epochs().size(), 3u);
}

TEST_F(KeyServiceTest, RotationThatLosesEveryCompareAndSwapIsAConflict) {
  KeyService& keys = started();
  store.lose_next_commits(8);
  auto r = keys.rotate_domain_secret("eu", clock.now(), "admin:ops");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::conflict);
  EXPECT_EQ(stored_versions("eu"), std::vector<std::uint32_t>{1});
  EXPECT_TRUE(audited("domain_secret_rotated", "secret_version").empty());
}

TEST_F(KeyServiceTest, ClockSteppedBackKeepsTheEpochAndMakesNoSecretAgain) {
  KeyService& keys = started();
  const Epoch later = kE + 10;
  ASSERT_TRUE(keys.maintain(start_of(later)).ok());
  const auto held = stored_epochs();
  ASSERT_EQ(held.count(kE), 0u);
  EXPECT_FALSE(keys.maintain(start_of(kE)).value());
  EXPECT_EQ(stored_epochs(), held) << "an erased epoch was made again with a new secret";
  EXPECT_EQ(keys.current_epoch(), later);
  EXPECT_EQ(keys.ring("eu")->encrypting().meta.epoch, later);
}

TEST_F(KeyServiceTest, ClockSteppedBackAcrossARestartKeepsTheEpochAndMakesNoSecretAgain) {
  ASSERT_TRUE(started().maintain(start_of(kE + 10)).ok());
  const auto held = stored_epochs();
  KeyService& restarted = service();
  ASSERT_TRUE(restarted.start(start_of(kE)).ok());
  EXPECT_EQ(stored_epochs(), held) << "an erased epoch was made again with a new secret";
  // The committed trusted time holds the epoch: it serves the keys it served before.
  EXPECT_EQ(restarted.current_epoch(), kE + 10);
  EXPECT_EQ(restarted.ring("eu")->encrypting().meta.epoch, kE + 10);
}

TEST_F(KeyServiceTest, AStateMadeAgainNumbersSecretVersionsAboveTheLostOnes) {
  // What stekd --init finds after a state file at secret version 5 was lost: the counter's
  // generation and highest version (FileStore), nothing else.
  store.write_as_other([](StoreState& s) {
    s.generation = 40;
    s.secret_version_base = 5;
  });
  KeyService& keys = started();
  EXPECT_EQ(stored_versions("eu"), std::vector<std::uint32_t>{6});
  EXPECT_EQ(stored_versions("us"), std::vector<std::uint32_t>{6});
  // Above every ring version the lost state served in this epoch: running agents take it.
  EXPECT_GT(keys.ring_version("eu"), (static_cast<std::uint64_t>(kE) << 20) + 5);
  EXPECT_EQ(audited("domain_secret_created", "secret_version"), (std::vector<std::int64_t>{6, 6}));
  EXPECT_EQ(keys.rotate_domain_secret("eu", clock.now(), "admin:ops").value(), 7u);
}

TEST_F(KeyServiceTest, ADomainDroppedAndAddedAgainNeverReusesItsVersions) {
  KeyService& first = started({"eu", "us"});
  ASSERT_TRUE(first.rotate_domain_secret("us", clock.now(), "admin:ops").ok());
  const std::uint64_t served = first.ring_version("us");  // secret version 2
  started({"eu"});
  EXPECT_EQ(store.state().secret_version_base, 2u);
  KeyService& again = started({"eu", "us"});
  EXPECT_EQ(stored_versions("us"), std::vector<std::uint32_t>{3});
  EXPECT_GT(again.ring_version("us"), served);
}

TEST_F(KeyServiceTest, AShorterHistoryKeepsEpochSecretsTicketsWereIssuedUnder) {
  // issue 10, Deliver 9: tickets issued under history H = 2 stay resumable until their key's
  // epoch + 2 ends; a restart with H = 0 used to erase those keys at once. The state records
  // the schedule its secrets were made under (key_service_schedule_test.cc: the transition).
  KeyService& keys = started();
  ASSERT_TRUE(keys.maintain(start_of(kE + 4)).ok());
  ASSERT_EQ(stored_epochs().count(kE + 2), 1u);
  KeyService shorter(Schedule::make({kParams.interval, 0, kParams.lookahead}).value(), {"eu", "us"},
                     store, random, audit);
  ASSERT_TRUE(shorter.start(start_of(kE + 4)).ok());
  EXPECT_EQ(stored_epochs().count(kE + 2), 1u) << "a key still live under H = 2 was erased";
}

TEST_F(KeyServiceTest, NothingIsCommittedWhenTheAuditCannotBeWritten) {
  KeyService& keys = started();
  const int commits = store.commits;
  audit.fail = true;
  auto r = keys.rotate_domain_secret("eu", clock.now(), "admin:ops");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::io);
  EXPECT_EQ(store.commits, commits);
  EXPECT_EQ(stored_versions("eu"), std::vector<std::uint32_t>{1});
  EXPECT_EQ(keys.secret_version("eu"), 1u);
  auto m = keys.maintain(start_of(kE + 1));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(store.commits, commits);
  EXPECT_EQ(stored_epochs(), (std::set<Epoch>{kE, kE + 1, kE + 2}));
  EXPECT_EQ(audit.failures_total(), 2u);
  EXPECT_TRUE(audit.failing());
  // Once the audit can be written again, the same change goes through.
  audit.fail = false;
  ASSERT_TRUE(keys.rotate_domain_secret("eu", clock.now(), "admin:ops").ok());
  EXPECT_FALSE(audit.failing());
  EXPECT_EQ(audited("domain_secret_rotated", "secret_version"), std::vector<std::int64_t>{2});
}

TEST_F(KeyServiceTest, EveryLineOfACommitIsWrittenBeforeTheStoreIsChanged) {
  KeyService& keys = started();
  const std::size_t before = audit.events.size();
  store.commit_error = make_error(Errc::io, "disk full");
  ASSERT_FALSE(keys.rotate_domain_secret("eu", clock.now(), "admin:ops").ok());
  ASSERT_GE(audit.events.size(), before + 2);
  EXPECT_EQ(audit.events[before]["event"], "domain_secret_rotated");
  EXPECT_EQ(audit.events.back()["event"], "commit_not_done");
  EXPECT_EQ(audit.events.back()["generation"], audit.events[before]["generation"]);
}

}  // namespace
}  // namespace stek::server

// The etcd store against a fake gateway (fake_etcd.h): round trip, sealing under each
// record's key, compare-and-swap between replicas (the manifest and each new record's key),
// erasure, and every swap or replay an operator with write access to etcd could try.
#include "etcd_store.h"

#include <gtest/gtest.h>

#include "stek/bytes.h"

#include "fake_etcd.h"
#include "testing/keys.h"

namespace stek::server {
namespace {

using stek::testing::pattern_bytes;
using testing::FakeEtcd;

Kek etcd_kek(std::uint64_t seed) {
  return make_kek(pattern_bytes(seed, kKekSize)).value();
}

StoreState etcd_sample(std::uint64_t generation) {
  StoreState s;
  s.generation = generation;
  s.trusted_time = 1'700'000'000;
  s.schedule = ScheduleParams{3600, 2, 2};
  s.epoch_secrets.emplace(1000, pattern_bytes(11, 32));
  s.epoch_secrets.emplace(1001, pattern_bytes(12, 32));
  s.domains["eu"].push_back({1, kAllEpochs, pattern_bytes(13, 32)});
  s.domains["eu"].push_back({2, 1001, pattern_bytes(14, 32)});
  return s;
}

struct EtcdRig {
  FakeEtcd etcd;
  SystemRandom random;
  std::unique_ptr<EtcdStore> open(bool init = true, std::uint64_t kek_seed = 1) {
    return std::make_unique<EtcdStore>(etcd, etcd_kek(kek_seed), random,
                                       EtcdStoreOptions{"/stek/test", init});
  }
};

TEST(EtcdStore, EmptyPrefixIsAnErrorWithoutInitAndAnEmptyStateWithIt) {
  EtcdRig rig;
  EXPECT_EQ(rig.open(false)->load().error().code, Errc::not_found);
  auto state = rig.open(true)->load();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->generation, 0u);
}

TEST(EtcdStore, AReplicaStartingWhileTheFirstLeadsBeforeItsFirstCommitFindsAnEmptyState) {
  // The first replica took the leader key and has not committed the state yet: the prefix
  // holds only that key, which is no record of the state (seen: a replica refused to start).
  EtcdRig rig;
  rig.etcd.put("/stek/test/leader", "replica-1", 7);
  auto state = rig.open(true)->load();
  ASSERT_TRUE(state.ok()) << state.error().message;
  EXPECT_EQ(state->generation, 0u);
  EXPECT_EQ(rig.open(false)->load().error().code, Errc::not_found);
  rig.etcd.put("/stek/test/epoch/1000", "stray");  // a record without a manifest is damage
  EXPECT_EQ(rig.open(true)->load().error().code, Errc::integrity);
}

TEST(EtcdStore, CommittedStateLoadsBackInAnotherReplicaWithEverySecretSealed) {
  EtcdRig rig;
  auto a = rig.open();
  ASSERT_TRUE(a->load().ok());
  ASSERT_TRUE(a->commit(etcd_sample(1), 0).value());
  auto state = rig.open()->load();
  ASSERT_TRUE(state.ok()) << state.error().message;
  EXPECT_EQ(state->generation, 1u);
  EXPECT_EQ(state->trusted_time, 1'700'000'000);
  ASSERT_TRUE(state->schedule.has_value());
  EXPECT_EQ(state->schedule->lookahead, 2);
  EXPECT_TRUE(state->epoch_secrets.at(1001).equals(pattern_bytes(12, 32).view()));
  ASSERT_EQ(state->domains["eu"].size(), 2u);
  EXPECT_EQ(state->domains["eu"][1].start_epoch, 1001);
  EXPECT_TRUE(state->domains["eu"][1].secret.equals(pattern_bytes(14, 32).view()));
  // One key per record, and no secret byte in any value.
  EXPECT_EQ(rig.etcd.keys.count("/stek/test/epoch/1000"), 1u);
  EXPECT_EQ(rig.etcd.keys.count("/stek/test/domain/eu/2"), 1u);
  const SecretBytes secret = pattern_bytes(12, 32);
  const std::string needle(as_chars(secret.view()).substr(0, 8));
  for (const auto& [key, entry] : rig.etcd.keys) {
    EXPECT_EQ(entry.value.find(needle), std::string::npos) << key;
    SecretString hex = to_hex_secret(secret.view());
    EXPECT_EQ(entry.value.find(std::string(hex.data(), 16)), std::string::npos) << key;
  }
}

TEST(EtcdStore, SecondReplicaCreatingTheSameEpochLosesAndTheFirstSecretStays) {
  EtcdRig rig;
  auto a = rig.open();
  auto b = rig.open();
  ASSERT_TRUE(a->load().ok());
  ASSERT_TRUE(b->load().ok());
  StoreState first;
  first.generation = 1;
  first.epoch_secrets.emplace(5, pattern_bytes(21, 32));
  StoreState second;
  second.generation = 1;
  second.epoch_secrets.emplace(5, pattern_bytes(22, 32));
  ASSERT_TRUE(a->commit(first, 0).value());
  EXPECT_FALSE(b->commit(second, 0).value());
  auto state = b->load();
  ASSERT_TRUE(state.ok());
  EXPECT_TRUE(state->epoch_secrets.at(5).equals(pattern_bytes(21, 32).view()));
}

TEST(EtcdStore, CommitIsRefusedWhenTheRecordKeyAppearedEvenIfTheManifestDidNotMove) {
  EtcdRig rig;
  auto a = rig.open();
  ASSERT_TRUE(a->load().ok());
  StoreState next;
  next.generation = 1;
  next.epoch_secrets.emplace(5, pattern_bytes(23, 32));
  rig.etcd.before_txn = [](FakeEtcd& e) { e.put("/stek/test/epoch/5", "made elsewhere"); };
  EXPECT_FALSE(a->commit(next, 0).value());
  EXPECT_EQ(rig.etcd.keys.at("/stek/test/epoch/5").value, "made elsewhere");
  EXPECT_EQ(rig.etcd.keys.count("/stek/test/manifest"), 0u);
}

TEST(EtcdStore, ErasedSecretsAreDeletedFromEtcdInTheSameTransaction) {
  EtcdRig rig;
  auto a = rig.open();
  ASSERT_TRUE(a->load().ok());
  ASSERT_TRUE(a->commit(etcd_sample(1), 0).value());
  StoreState next = etcd_sample(2);
  next.epoch_secrets.erase(1000);
  next.epoch_secrets.emplace(1002, pattern_bytes(15, 32));
  const int txns = rig.etcd.txns;
  ASSERT_TRUE(a->commit(next, 1).value());
  EXPECT_EQ(rig.etcd.txns, txns + 1);
  EXPECT_EQ(rig.etcd.keys.count("/stek/test/epoch/1000"), 0u);
  auto state = rig.open()->load();
  ASSERT_TRUE(state.ok()) << state.error().message;
  EXPECT_EQ(state->generation, 2u);
  EXPECT_EQ(state->epoch_secrets.count(1000), 0u);
  EXPECT_TRUE(state->epoch_secrets.at(1002).equals(pattern_bytes(15, 32).view()));
}

TEST(EtcdStore, RecordCopiedToAnotherKeyDoesNotOpen) {
  EtcdRig rig;
  auto a = rig.open();
  ASSERT_TRUE(a->load().ok());
  ASSERT_TRUE(a->commit(etcd_sample(1), 0).value());
  const std::string moved = rig.etcd.keys.at("/stek/test/epoch/1000").value;
  rig.etcd.keys.erase("/stek/test/epoch/1001");
  rig.etcd.put("/stek/test/epoch/1001", moved);
  EXPECT_EQ(rig.open()->load().error().code, Errc::integrity);
}

TEST(EtcdStore, RecordPutBackUnderItsOwnKeyIsRefused) {
  EtcdRig rig;
  auto a = rig.open();
  ASSERT_TRUE(a->load().ok());
  ASSERT_TRUE(a->commit(etcd_sample(1), 0).value());
  const std::string same = rig.etcd.keys.at("/stek/test/epoch/1000").value;
  rig.etcd.put("/stek/test/epoch/1000", same);  // version 2: replaced
  EXPECT_EQ(rig.open()->load().error().code, Errc::integrity);
}

TEST(EtcdStore, OldManifestPutBackIsARollbackEvenForAFreshReplica) {
  EtcdRig rig;
  auto a = rig.open();
  ASSERT_TRUE(a->load().ok());
  ASSERT_TRUE(a->commit(etcd_sample(1), 0).value());
  const std::string old = rig.etcd.keys.at("/stek/test/manifest").value;
  StoreState next = etcd_sample(2);
  next.epoch_secrets.erase(1000);
  ASSERT_TRUE(a->commit(next, 1).value());
  rig.etcd.put("/stek/test/manifest", old);
  EXPECT_EQ(a->load().error().code, Errc::rollback);
  EXPECT_EQ(rig.open()->load().error().code, Errc::rollback);
}

TEST(EtcdStore, StateOfAnotherKekIsAnIntegrityErrorNamingBothIds) {
  EtcdRig rig;
  auto a = rig.open();
  ASSERT_TRUE(a->load().ok());
  ASSERT_TRUE(a->commit(etcd_sample(1), 0).value());
  auto other = rig.open(true, 2)->load();
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, Errc::integrity);
  EXPECT_NE(other.error().message.find("another KEK"), std::string::npos);
}

TEST(EtcdStore, UnreachableEtcdIsAnIoErrorAndNothingIsCommitted) {
  EtcdRig rig;
  auto a = rig.open();
  ASSERT_TRUE(a->load().ok());
  rig.etcd.fail = make_error(Errc::io, "no quorum");
  EXPECT_EQ(a->commit(etcd_sample(1), 0).error().code, Errc::io);
  rig.etcd.fail.reset();
  EXPECT_TRUE(rig.etcd.keys.empty());
}

}  // namespace
}  // namespace stek::server

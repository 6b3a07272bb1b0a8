// The deny-list record in etcd against a fake gateway (fake_etcd.h): its codec (sealed, bound
// to its key and etcd version), compare-and-swap between replicas (two denials at once both
// land, a writer that always comes first ends in a conflict), what an operator with write
// access to etcd could try (a copied or replayed value, a deleted record), the replicas' poll
// read of the manifest and the record in one transaction, and the merge of an old deny file.
#include "etcd_deny_store.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <unistd.h>

#include "deny_list.h"
#include "etcd_store.h"
#include "fake_etcd.h"
#include "memory_audit_log.h"
#include "testing/keys.h"

namespace stek::server {
namespace {

using stek::testing::pattern_bytes;
using testing::FakeEtcd;

constexpr const char* kDenyPrefix = "/stek/test";
constexpr const char* kDenyKey = "/stek/test/deny";

Kek deny_kek(std::uint64_t seed = 1) {
  return make_kek(pattern_bytes(seed, kKekSize)).value();
}

std::set<std::string> hosts_of(std::initializer_list<const char*> names) {
  return {names.begin(), names.end()};
}

// The record as etcd would return it after `version` puts.
etcd::KeyValue deny_kv(const std::string& key, std::int64_t version, const std::string& value) {
  etcd::KeyValue kv;
  kv.key = key;
  kv.value = SecretString(value.begin(), value.end());
  kv.create_revision = 2;
  kv.mod_revision = 1 + version;
  kv.version = version;
  return kv;
}

struct DenyRig {
  FakeEtcd etcd;
  SystemRandom random;
  std::unique_ptr<EtcdDenyStore> replica(int max_attempts = 16, std::uint64_t kek_seed = 1) {
    return std::make_unique<EtcdDenyStore>(etcd, deny_kek(kek_seed), random, kDenyPrefix,
                                           max_attempts);
  }
};

TEST(EtcdDenyRecord, RoundTripsTheHostsSealedWithNoHostIdInTheClear) {
  SystemRandom random;
  const auto value =
      encode_deny_record(deny_kek(), kDenyKey, 3, hosts_of({"web1", "web2"}), random);
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(value->find("web1"), std::string::npos);
  EXPECT_NE(value->find("\"stek_etcd_deny\":1"), std::string::npos);
  auto hosts = decode_deny_record(deny_kek(), deny_kv(kDenyKey, 3, *value));
  ASSERT_TRUE(hosts.ok()) << hosts.error().message;
  EXPECT_EQ(*hosts, hosts_of({"web1", "web2"}));
}

TEST(EtcdDenyRecord, AValueCopiedUnderAnotherKeyOrPutBackAtAnotherVersionDoesNotOpen) {
  SystemRandom random;
  const auto value = encode_deny_record(deny_kek(), kDenyKey, 3, hosts_of({"web1"}), random);
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(decode_deny_record(deny_kek(), deny_kv("/stek/other/deny", 3, *value)).error().code,
            Errc::integrity);
  // An old list put back (to lift a denial) is a later put: its etcd version moved on.
  EXPECT_EQ(decode_deny_record(deny_kek(), deny_kv(kDenyKey, 4, *value)).error().code,
            Errc::integrity);
}

TEST(EtcdDenyRecord, AnotherKekIsNamedAndGarbageIsNoRecord) {
  SystemRandom random;
  const auto value = encode_deny_record(deny_kek(1), kDenyKey, 1, hosts_of({"web1"}), random);
  auto other = decode_deny_record(deny_kek(2), deny_kv(kDenyKey, 1, *value));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, Errc::integrity);
  EXPECT_NE(other.error().message.find("another KEK"), std::string::npos);
  EXPECT_EQ(
      decode_deny_record(deny_kek(), deny_kv(kDenyKey, 1, "{\"denied_hosts\": []}")).error().code,
      Errc::bad_format);
  EXPECT_EQ(decode_deny_record(deny_kek(), deny_kv(kDenyKey, 1, "not json")).error().code,
            Errc::bad_format);
}

TEST(EtcdDenyStore, NothingStoredIsAnEmptyList) {
  DenyRig rig;
  auto hosts = rig.replica()->load();
  ASSERT_TRUE(hosts.ok());
  EXPECT_TRUE(hosts->empty());
}

TEST(EtcdDenyStore, AHostDeniedThroughOneReplicaIsDeniedByAnotherAndRemovedThroughIt) {
  DenyRig rig;
  auto a = rig.replica();
  auto b = rig.replica();
  auto added = a->update("web1", true);
  ASSERT_TRUE(added.ok()) << added.error().message;
  EXPECT_TRUE(*added);
  EXPECT_EQ(*b->load(), hosts_of({"web1"}));
  EXPECT_EQ(rig.etcd.keys.at(kDenyKey).version, 1);
  auto removed = b->update("web1", false);
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(*removed);
  EXPECT_TRUE(a->load()->empty());
  EXPECT_EQ(rig.etcd.keys.at(kDenyKey).version, 2);
}

TEST(EtcdDenyStore, AHostAlreadyAsAskedWritesNothing) {
  DenyRig rig;
  auto a = rig.replica();
  ASSERT_TRUE(a->update("web1", true).ok());
  const int txns = rig.etcd.txns;
  auto again = a->update("web1", true);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  EXPECT_FALSE(*a->update("web9", false));
  EXPECT_EQ(rig.etcd.txns, txns);
}

TEST(EtcdDenyStore, TwoReplicasDenyingAtOnceBothLand) {
  DenyRig rig;
  auto a = rig.replica();
  auto b = rig.replica();
  // B's denial commits between A's read and A's write: A's compare-and-swap fails, A reads
  // again and writes both.
  rig.etcd.before_txn = [&](FakeEtcd&) { ASSERT_TRUE(b->update("web2", true).ok()); };
  auto added = a->update("web1", true);
  ASSERT_TRUE(added.ok()) << added.error().message;
  EXPECT_TRUE(*added);
  EXPECT_EQ(*a->load(), hosts_of({"web1", "web2"}));
  EXPECT_EQ(*b->load(), hosts_of({"web1", "web2"}));
  EXPECT_EQ(rig.etcd.txns, 3);  // B's, A's lost one, A's second
}

TEST(EtcdDenyStore, TheFirstRecordIsMadeOnlyIfNoReplicaMadeItFirst) {
  DenyRig rig;
  auto a = rig.replica();
  auto b = rig.replica();
  rig.etcd.before_txn = [&](FakeEtcd&) { ASSERT_TRUE(b->update("web2", true).ok()); };
  ASSERT_TRUE(a->update("web1", true).ok());
  EXPECT_EQ(*a->load(), hosts_of({"web1", "web2"}));
  EXPECT_EQ(rig.etcd.keys.at(kDenyKey).version, 2);
}

// A writer that always commits just before the store's transaction.
struct AlwaysFirst {
  FakeEtcd& etcd;
  EtcdDenyStore& other;
  int writes = 0;
  void arm() {
    etcd.before_txn = [this](FakeEtcd&) {
      const std::string host = "web" + std::to_string(100 + writes++);
      ASSERT_TRUE(other.update(host, true).ok());
      arm();
    };
  }
};

TEST(EtcdDenyStore, AnUpdateThatLosesEveryRaceGivesUpWithAConflict) {
  DenyRig rig;
  auto a = rig.replica(4);
  auto b = rig.replica();
  AlwaysFirst first{rig.etcd, *b};
  first.arm();
  auto added = a->update("web1", true);
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().code, Errc::conflict);
  rig.etcd.before_txn = nullptr;
  EXPECT_EQ(first.writes, 4);
  EXPECT_FALSE(b->load()->contains("web1"));  // nothing half-written
}

TEST(EtcdDenyStore, ARecordDeletedOrMadeAgainAfterBeingSeenIsARollback) {
  DenyRig rig;
  auto a = rig.replica();
  ASSERT_TRUE(a->update("web1", true).ok());
  const FakeEtcd::Entry kept = rig.etcd.keys.at(kDenyKey);
  rig.etcd.keys.erase(kDenyKey);
  EXPECT_EQ(a->load().error().code, Errc::rollback);
  EXPECT_EQ(a->update("web2", true).error().code, Errc::rollback);
  // Put back by hand: a new key (another create_revision), its value at version 1 again.
  rig.etcd.put(kDenyKey, kept.value);
  EXPECT_EQ(a->load().error().code, Errc::rollback);
}

TEST(EtcdDenyStore, TheStateStoreTakesADenyListBeforeItsFirstCommitForNoRecordOfTheState) {
  DenyRig rig;
  ASSERT_TRUE(rig.replica()->update("web1", true).ok());
  EtcdStore store(rig.etcd, deny_kek(), rig.random, EtcdStoreOptions{kDenyPrefix, true});
  auto state = store.load();
  ASSERT_TRUE(state.ok()) << state.error().message;
  EXPECT_EQ(state->generation, 0u);
}

TEST(EtcdDenyStore, ThePollReadsTheManifestAndTheRecordInOneTransaction) {
  DenyRig rig;
  rig.etcd.put("/stek/test/manifest", "m");
  ASSERT_TRUE(rig.replica()->update("web1", true).ok());
  const std::vector<std::string> keys = {"/stek/test/manifest", kDenyKey};
  auto body = rig.etcd.post("/v3/kv/txn", etcd::read_txn_request(keys).dump());
  ASSERT_TRUE(body.ok());
  auto ranges = etcd::parse_read_txn(*body, keys.size());
  ASSERT_TRUE(ranges.ok()) << ranges.error().message;
  ASSERT_EQ(ranges->size(), 2u);
  EXPECT_EQ((*ranges)[0].kvs.at(0).mod_revision, 2);
  EXPECT_EQ((*ranges)[1].kvs.at(0).mod_revision, rig.etcd.keys.at(kDenyKey).mod_revision);
  const auto request = etcd::read_txn_request(keys);
  EXPECT_TRUE(request["compare"].empty());
  EXPECT_EQ(request["success"][1]["request_range"]["serializable"], true);
  EXPECT_FALSE(etcd::parse_read_txn(*body, 3).ok());
}

class DenyFileMerge : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("stek-deny-merge-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    file_ = DenyList::beside(dir_ / "state.json");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::filesystem::path file_;
  DenyRig rig;
  MemoryAuditLog audit;
};

TEST_F(DenyFileMerge, HostsOfAnOldFileAreAuditedAddedAndTheFileSetAside) {
  std::ofstream(file_) << "{\"denied_hosts\": [\"web1\", \"web2\"]}";
  auto shared = rig.replica();
  ASSERT_TRUE(shared->update("web2", true).ok());
  auto merged = merge_deny_file(file_, *shared, audit);
  ASSERT_TRUE(merged.ok()) << merged.error().message;
  EXPECT_EQ(*merged, std::vector<std::string>{"web1"});
  EXPECT_EQ(*shared->load(), hosts_of({"web1", "web2"}));
  ASSERT_EQ(audit.events.size(), 1u);
  EXPECT_EQ(audit.events[0]["event"], "deny_list_merged");
  EXPECT_EQ(audit.events[0]["hosts"], nlohmann::json::array({"web1"}));
  EXPECT_FALSE(std::filesystem::exists(file_));
  EXPECT_TRUE(std::filesystem::exists(file_.string() + ".merged"));
  // The next start finds no file: a host removed meanwhile stays removed.
  ASSERT_TRUE(shared->update("web1", false).ok());
  EXPECT_TRUE(merge_deny_file(file_, *shared, audit)->empty());
  EXPECT_EQ(*shared->load(), hosts_of({"web2"}));
}

TEST_F(DenyFileMerge, AnUnauditableMergeChangesNothingAndAMalformedFileIsAnError) {
  std::ofstream(file_) << "{\"denied_hosts\": [\"web1\"]}";
  auto shared = rig.replica();
  audit.fail = true;
  EXPECT_FALSE(merge_deny_file(file_, *shared, audit).ok());
  EXPECT_TRUE(shared->load()->empty());
  EXPECT_TRUE(std::filesystem::exists(file_));
  audit.fail = false;
  std::ofstream(file_) << "{\"denied_hosts\": 7}";
  EXPECT_EQ(merge_deny_file(file_, *shared, audit).error().code, Errc::bad_format);
  EXPECT_TRUE(std::filesystem::exists(file_));
}

}  // namespace
}  // namespace stek::server

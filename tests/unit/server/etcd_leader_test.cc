// Leadership among replicas over the fake gateway: the first to try leads, the others follow
// and name the leader, a leader whose lease expired is replaced, resigning hands over at once,
// and an unreachable etcd means not leading.
#include "etcd_leader.h"

#include <gtest/gtest.h>

#include "fake_etcd.h"

namespace stek::server {
namespace {

using testing::FakeEtcd;

TEST(EtcdLeader, FirstReplicaLeadsAndTheOthersFollowNamingIt) {
  FakeEtcd etcd;
  SystemRandom random;
  EtcdLeader a(etcd, random, "/stek", "a", 5);
  EtcdLeader b(etcd, random, "/stek", "b", 5);
  EXPECT_TRUE(a.step().value());
  EXPECT_FALSE(b.step().value());
  EXPECT_EQ(b.holder(), "a");
  EXPECT_TRUE(a.step().value());  // keeps leading while its lease lives
}

TEST(EtcdLeader, AnotherReplicaTakesOverWhenTheLeadersLeaseExpires) {
  FakeEtcd etcd;
  SystemRandom random;
  EtcdLeader a(etcd, random, "/stek", "a", 5);
  EtcdLeader b(etcd, random, "/stek", "b", 5);
  ASSERT_TRUE(a.step().value());
  ASSERT_FALSE(b.step().value());
  const std::int64_t lease = etcd.keys.at("/stek/leader").lease;
  etcd.expire(lease);  // a stopped keeping it alive
  EXPECT_TRUE(b.step().value());
  EXPECT_FALSE(a.step().value());  // a comes back: a new lease, and it follows
  EXPECT_EQ(a.holder(), "b");
}

TEST(EtcdLeader, ResigningHandsOverAtTheNextStep) {
  FakeEtcd etcd;
  SystemRandom random;
  EtcdLeader a(etcd, random, "/stek", "a", 5);
  EtcdLeader b(etcd, random, "/stek", "b", 5);
  ASSERT_TRUE(a.step().value());
  a.resign();
  EXPECT_FALSE(a.leads());
  EXPECT_TRUE(b.step().value());
}

TEST(EtcdLeader, UnreachableEtcdMeansNotLeading) {
  FakeEtcd etcd;
  SystemRandom random;
  EtcdLeader a(etcd, random, "/stek", "a", 5);
  ASSERT_TRUE(a.step().value());
  etcd.fail = make_error(Errc::io, "no quorum");
  EXPECT_FALSE(a.step().ok());
  EXPECT_FALSE(a.leads());
}

}  // namespace
}  // namespace stek::server

// Parsers of the gateway's answers: proto3 leaves zero fields out, numbers come as strings,
// errors come as {"error": ...}, and anything else shaped wrong is bad_format.
#include "etcd_wire.h"

#include <gtest/gtest.h>

namespace stek::server::etcd {
namespace {

TEST(EtcdWire, RangeAnswerWithoutKvsIsEmptyAndNumbersComeAsStrings) {
  auto empty = parse_range(R"({"header":{"revision":"42"}})");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->revision, 42);
  EXPECT_TRUE(empty->kvs.empty());
  auto one = parse_range(
      R"({"header":{"revision":"9"},"kvs":[{"key":"YQ==","value":"Yg==","create_revision":"3","mod_revision":"7","version":"2"}]})");
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->kvs.size(), 1u);
  EXPECT_EQ(one->kvs[0].key, "a");
  EXPECT_EQ(std::string(one->kvs[0].value.data(), one->kvs[0].value.size()), "b");
  EXPECT_EQ(one->kvs[0].create_revision, 3);
  EXPECT_EQ(one->kvs[0].mod_revision, 7);
  EXPECT_EQ(one->kvs[0].version, 2);
  EXPECT_EQ(one->kvs[0].lease, 0);
}

TEST(EtcdWire, TxnWithoutSucceededFieldFailedAndCarriesTheFailureRange) {
  auto failed = parse_txn(
      R"({"header":{"revision":"5"},"responses":[{"response_range":{"kvs":[{"key":"bA==","value":"eA==","lease":"77"}]}}]})");
  ASSERT_TRUE(failed.ok());
  EXPECT_FALSE(failed->succeeded);
  ASSERT_EQ(failed->failure_range.size(), 1u);
  EXPECT_EQ(failed->failure_range[0].lease, 77);
  auto won = parse_txn(R"({"header":{"revision":"6"},"succeeded":true})");
  ASSERT_TRUE(won.ok());
  EXPECT_TRUE(won->succeeded);
  EXPECT_EQ(won->revision, 6);
}

TEST(EtcdWire, GatewayErrorsAreIoAndMalformedAnswersAreBadFormat) {
  EXPECT_EQ(parse_range(R"({"error":"etcdserver: no leader","code":14})").error().code, Errc::io);
  EXPECT_EQ(parse_range("not json").error().code, Errc::bad_format);
  EXPECT_EQ(parse_range(R"({"kvs":[{"key":"%%%"}]})").error().code, Errc::bad_format);
  EXPECT_EQ(parse_range(R"({"header":{"revision":"12x"}})").error().code, Errc::bad_format);
  EXPECT_EQ(parse_txn(R"({"responses":5})").error().code, Errc::bad_format);
}

TEST(EtcdWire, KeepaliveOfAnExpiredLeaseHasNoTtl) {
  auto alive = parse_lease_keepalive(R"({"result":{"ID":"8","TTL":"5"}})");
  ASSERT_TRUE(alive.ok());
  EXPECT_EQ(alive->ttl, 5);
  auto gone = parse_lease_keepalive("{\"result\":{\"ID\":\"8\"}}\n{\"result\":{}}");
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->ttl, 0);
  EXPECT_FALSE(parse_lease_grant(R"({"ID":"0"})").ok());
}

TEST(EtcdWire, PrefixEndIsTheNextKeyAfterThePrefix) {
  EXPECT_EQ(prefix_end("/stek/"), "/stek0");
  EXPECT_EQ(prefix_end(std::string("a\xff", 2)), "b");
}

TEST(EtcdWire, TxnRequestComparesCreateAndModRevisionsAsStrings) {
  const auto body = txn_request(
      {{"k", Compare::Target::create_revision, 0}, {"m", Compare::Target::mod_revision, 12}},
      {{Operation::Kind::put, "k", "v", 9}, {Operation::Kind::erase, "o"}}, "k");
  EXPECT_EQ(body["compare"][0]["target"], "CREATE");
  EXPECT_EQ(body["compare"][0]["create_revision"], "0");
  EXPECT_EQ(body["compare"][1]["mod_revision"], "12");
  EXPECT_EQ(body["success"][0]["request_put"]["lease"], "9");
  EXPECT_TRUE(body["success"][1].contains("request_delete_range"));
  EXPECT_TRUE(body["failure"][0].contains("request_range"));
}

}  // namespace
}  // namespace stek::server::etcd

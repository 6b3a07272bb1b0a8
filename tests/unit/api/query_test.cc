// Query strings and the keyring long-poll query, as stek-agent builds it and stekd reads it.
#include "api/query.h"

#include <gtest/gtest.h>

#include "api/http.h"
#include "testing/expect.h"

namespace stek::api {
namespace {

using stek::testing::expect_error;

TEST(Query, SplitsPairsAndFormDecodesNamesAndValues) {
  auto q = parse_query("a=1&b=x%20y&c=p+q&d&&e=");
  ASSERT_TRUE(q.ok()) << q.error().message;
  EXPECT_EQ(*q, (QueryParams{{"a", "1"}, {"b", "x y"}, {"c", "p q"}, {"d", ""}, {"e", ""}}));
  EXPECT_TRUE(parse_query("")->empty());
  EXPECT_EQ(parse_query("k=a=b")->at("k"), "a=b");  // only the first '=' splits
}

TEST(Query, RefusesANameGivenTwice) {
  expect_error(parse_query("wait=1&wait=2"), Errc::bad_format,
               "query parameter \"wait\" given twice");
  // Also when the two spellings decode to one name.
  EXPECT_FALSE(parse_query("wait=1&w%61it=2").ok());
}

TEST(Query, RefusesMalformedEscapes) {
  expect_error(parse_query("domain=eu%2"), Errc::bad_format,
               "query parameter \"domain\": truncated percent escape at offset 2");
  EXPECT_FALSE(parse_query("d%zz=1").ok());
}

TEST(KeyringQuery, BuildsTheTargetTheAgentSendsToday) {
  KeyringQuery q{"eu-west", RingVersion::from_wire(522981474305), 60};
  EXPECT_EQ(keyring_target(q), "/v1/keyring?domain=eu-west&wait=522981474305&timeout=60");
  q.wait.reset();
  EXPECT_EQ(keyring_target(q), "/v1/keyring?domain=eu-west&timeout=60");
  q.domain = "tenant a/b+c";
  EXPECT_EQ(keyring_target(q), "/v1/keyring?domain=tenant%20a%2Fb%2Bc&timeout=60");
  EXPECT_EQ(keyring_target({}), "/v1/keyring");
}

TEST(KeyringQuery, WhatTheAgentBuildsTheServerReadsBack) {
  for (const KeyringQuery& q :
       {KeyringQuery{"eu-west", RingVersion::from_wire(7), 300},
        KeyringQuery{"\xc3\xa9t\xc3\xa9 / +~%", std::nullopt, 1},
        KeyringQuery{std::nullopt, RingVersion::from_wire(UINT64_MAX), std::nullopt},
        KeyringQuery{}}) {
    const std::string target = keyring_target(q);
    const Target t = split_target(target);
    EXPECT_EQ(t.path, kKeyringPath);
    auto back = parse_keyring_query(t.query);
    ASSERT_TRUE(back.ok()) << target << ": " << back.error().message;
    EXPECT_EQ(*back, q) << target;
  }
}

TEST(KeyringQuery, EmptyDomainMeansTheCertificatesOnlyDomain) {
  auto q = parse_keyring_query("domain=&timeout=5");
  ASSERT_TRUE(q.ok());
  EXPECT_FALSE(q->domain.has_value());
  EXPECT_EQ(q->timeout, 5u);
}

TEST(KeyringQuery, RefusesUnknownParametersAndBadNumbers) {
  expect_error(parse_keyring_query("domain=a&color=red"), Errc::bad_format,
               "unknown query parameter \"color\"");
  expect_error(parse_keyring_query("x%FF=1"), Errc::bad_format,
               "unknown query parameter \"x\\xFF\"");  // never raw bytes in a message
  expect_error(parse_keyring_query("wait=abc"), Errc::bad_format,
               "wait must be a non-negative integer");
  expect_error(parse_keyring_query("wait=-1"), Errc::bad_format,
               "wait must be a non-negative integer");
  expect_error(parse_keyring_query("wait=18446744073709551616"), Errc::bad_format,
               "wait is out of range");
  for (const char* bad : {"timeout=0", "timeout=", "timeout=-5", "timeout=1.5", "timeout=x",
                          "timeout=18446744073709551616"}) {
    expect_error(parse_keyring_query(bad), Errc::bad_format, "timeout must be a positive integer");
  }
  EXPECT_EQ(parse_keyring_query("timeout=18446744073709551615")->timeout, UINT64_MAX);
}

TEST(KeyringQuery, RefusesAParameterGivenTwice) {
  EXPECT_FALSE(parse_keyring_query("domain=a&domain=b").ok());
}

}  // namespace
}  // namespace stek::api

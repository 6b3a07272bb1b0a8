// The certificate identity codec: one rule for stekd, stek-agent and stekctl pki.
#include "api/identity.h"

#include <gtest/gtest.h>

#include "cert_fixture.h"
#include "testing/expect.h"

namespace stek::api {
namespace {

using stek::testing::cert_with_uris;
using stek::testing::expect_error;
using Uris = std::vector<std::string>;

Identity agent(std::string host, std::vector<std::string> domains) {
  return {Identity::Kind::agent, std::move(host), std::move(domains)};
}
Identity admin(std::string name) {
  return {Identity::Kind::admin, std::move(name), {}};
}

TEST(IdentityCodec, ReadsAHostWithItsDomainsSorted) {
  auto id = identity_from_uris(
      Uris{"stek:host:web1", "stek:domain:us-east", "stek:domain:eu-west", "https://other"});
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(*id, agent("web1", {"eu-west", "us-east"}));
  EXPECT_EQ(id->key(), "host:web1");
}

TEST(IdentityCodec, ReadsAnAdmin) {
  auto id = identity_from_uris(Uris{"stek:admin:alice"});
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, admin("alice"));
  EXPECT_EQ(id->key(), "admin:alice");
}

TEST(IdentityCodec, PercentDecodesIdsWithPlusLiteral) {
  auto id = identity_from_uris(Uris{"stek:host:web%201", "stek:domain:a%2Fb+c"});
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, agent("web 1", {"a/b+c"}));
}

TEST(IdentityCodec, AnIdenticalSanTwiceCountsOnce) {
  auto id = identity_from_uris(
      Uris{"stek:host:web1", "stek:host:web1", "stek:domain:a", "stek:domain:%61"});
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, agent("web1", {"a"}));
}

TEST(IdentityCodec, RefusesTwoHosts) {
  expect_error(identity_from_uris(Uris{"stek:host:web1", "stek:host:web2", "stek:domain:a"}),
               Errc::invalid_argument, "certificate names more than one host");
}

TEST(IdentityCodec, RefusesTwoAdmins) {
  expect_error(identity_from_uris(Uris{"stek:admin:a", "stek:admin:b"}), Errc::invalid_argument,
               "certificate names more than one admin");
}

TEST(IdentityCodec, AdminIsExclusive) {
  for (const Uris& uris :
       {Uris{"stek:admin:a", "stek:host:web1", "stek:domain:d"},
        Uris{"stek:admin:a", "stek:domain:d"}, Uris{"stek:host:web1", "stek:admin:a"}}) {
    expect_error(identity_from_uris(uris), Errc::invalid_argument,
                 "certificate names both an admin and a host or domain");
  }
}

TEST(IdentityCodec, AHostNeedsADomain) {
  expect_error(identity_from_uris(Uris{"stek:host:web1"}), Errc::invalid_argument,
               "certificate names a host but no domain");
}

TEST(IdentityCodec, NoHostAndNoAdminIsNotAnIdentity) {
  for (const Uris& uris : {Uris{}, Uris{"https://example.com"}, Uris{"stek:domain:a"},
                           Uris{"stek:hosts:web1"}, Uris{"STEK:HOST:web1", "stek:domain:a"}}) {
    auto id = identity_from_uris(uris);
    ASSERT_FALSE(id.ok());
    EXPECT_EQ(id.error().code, Errc::not_found);
  }
}

TEST(IdentityCodec, RefusesMalformedEscapesAndInvalidIdsWithoutQuotingThem) {
  expect_error(identity_from_uris(Uris{"stek:host:web%2", "stek:domain:a"}), Errc::bad_format,
               "certificate's host SAN: truncated percent escape at offset 3");
  for (const Uris& uris : {Uris{"stek:host:", "stek:domain:a"},             // empty id
                           Uris{"stek:host:w", "stek:domain:%0A"},          // control character
                           Uris{"stek:host:w", "stek:domain:%FF"},          // not UTF-8
                           Uris{"stek:admin:" + std::string(256, 'a')}}) {  // too long
    auto id = identity_from_uris(uris);
    ASSERT_FALSE(id.ok());
    EXPECT_EQ(id.error().code, Errc::bad_format);
    EXPECT_EQ(id.error().message.find("%0A"), std::string::npos);
  }
}

TEST(IdentityCodec, EncodesWhatItDecodes) {
  for (const Identity& id : {agent("web1", {"eu-west"}), agent("h \xc3\xa9/+%", {"a b", "b/c"}),
                             admin("alice"), admin("ops team")}) {
    auto uris = identity_uris(id);
    ASSERT_TRUE(uris.ok()) << uris.error().message;
    auto back = identity_from_uris(*uris);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(*back, id);
  }
  EXPECT_EQ(*identity_uris(agent("web 1", {"eu-west", "us/east", "eu-west"})),
            (Uris{"stek:host:web%201", "stek:domain:eu-west", "stek:domain:us%2Feast"}));
  EXPECT_EQ(*identity_uris(admin("alice")), Uris{"stek:admin:alice"});
}

TEST(IdentityCodec, RefusesToEncodeWhatItWouldRefuseToDecode) {
  expect_error(identity_uris(agent("web1", {})), Errc::invalid_argument,
               "host \"web1\" needs at least one domain");
  expect_error(identity_uris({Identity::Kind::admin, "alice", {"a"}}), Errc::invalid_argument,
               "an admin identity names no domains");
  EXPECT_FALSE(identity_uris(agent("", {"a"})).ok());
  EXPECT_FALSE(identity_uris(agent("web1", {"a\n"})).ok());
  EXPECT_FALSE(identity_uris(admin(std::string(256, 'x'))).ok());
}

TEST(IdentityCodec, ReadsTheUriSansOfACertificate) {
  auto cert = cert_with_uris({"stek:host:web1", "stek:domain:eu-west"});
  ASSERT_TRUE(cert);
  EXPECT_EQ(certificate_uris(cert.get()), (Uris{"stek:host:web1", "stek:domain:eu-west"}));
  auto id = identity_from_certificate(cert.get());
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(*id, agent("web1", {"eu-west"}));
}

// stekd calls identity_from_certificate on the verified peer certificate.
TEST(IdentityCodec, ACertificateWithTwoHostSansIsRefused) {
  auto cert = cert_with_uris({"stek:host:web1", "stek:host:web2", "stek:domain:eu-west"});
  ASSERT_TRUE(cert);
  expect_error(identity_from_certificate(cert.get()), Errc::invalid_argument,
               "certificate names more than one host");
}

TEST(IdentityCodec, NoCertificateOrNoSanIsNotAnIdentity) {
  EXPECT_EQ(identity_from_certificate(nullptr).error().code, Errc::not_found);
  auto cert = cert_with_uris({});
  ASSERT_TRUE(cert);
  EXPECT_EQ(identity_from_certificate(cert.get()).error().code, Errc::not_found);
}

}  // namespace
}  // namespace stek::api

// Client identities from certificate URI SANs, through identity's public functions only (the
// SAN codec itself is being moved to src/api/ and gets its own tests there).
#include "identity.h"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/x509v3.h>

namespace stek::server {
namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};

// An unsigned certificate with these URI SANs: identity reads extensions only.
std::unique_ptr<X509, X509Free> certificate_with_uris(const std::vector<std::string>& uris) {
  std::unique_ptr<X509, X509Free> cert(X509_new());
  GENERAL_NAMES* names = sk_GENERAL_NAME_new_null();
  for (const std::string& uri : uris) {
    ASN1_IA5STRING* s = ASN1_IA5STRING_new();
    ASN1_STRING_set(s, uri.data(), static_cast<int>(uri.size()));
    GENERAL_NAME* n = GENERAL_NAME_new();
    GENERAL_NAME_set0_value(n, GEN_URI, s);
    sk_GENERAL_NAME_push(names, n);
  }
  EXPECT_EQ(X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT), 1);
  GENERAL_NAMES_free(names);
  return cert;
}

TEST(IdentityTest, AgentCertificateNamesItsHostAndSortedDomains) {
  auto cert = certificate_with_uris(
      {"stek:domain:us-east", "https://example.org/", "stek:host:web1", "stek:domain:eu%2Dwest"});
  auto id = identity_from_certificate(cert.get());
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(id->kind, Identity::Kind::agent);
  EXPECT_EQ(id->name, "web1");
  EXPECT_EQ(id->domains, (std::vector<std::string>{"eu-west", "us-east"}));
  EXPECT_EQ(id->key(), "host:web1");
}

TEST(IdentityTest, AdminCertificateIsAnAdminWithoutDomains) {
  auto id = identity_from_uris({"stek:admin:ops"});
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(id->kind, Identity::Kind::admin);
  EXPECT_EQ(id->key(), "admin:ops");
  EXPECT_TRUE(id->domains.empty());
}

TEST(IdentityTest, NoCertificateOrNoSubjectAltNameIsNotFound) {
  EXPECT_EQ(identity_from_certificate(nullptr).error().code, Errc::not_found);
  std::unique_ptr<X509, X509Free> bare(X509_new());
  EXPECT_EQ(identity_from_certificate(bare.get()).error().code, Errc::not_found);
  EXPECT_FALSE(identity_from_uris({"https://example.org/"}).ok());
}

TEST(IdentityTest, RefusesAmbiguousOrMalformedNames) {
  const std::vector<std::vector<std::string>> refused = {
      {"stek:host:web1", "stek:host:web2", "stek:domain:eu"},  // two hosts
      {"stek:admin:ops", "stek:host:web1", "stek:domain:eu"},  // admin and host
      {"stek:admin:ops", "stek:admin:root"},                   // two admins
      {"stek:host:web1"},                                      // host without domain
      {"stek:host:web1", "stek:domain:eu%2"},                  // cut percent escape
      {"stek:host:web1", "stek:domain:e%01u"},                 // control character
  };
  for (const auto& uris : refused) {
    EXPECT_FALSE(identity_from_uris(uris).ok()) << uris.back();
    auto cert = certificate_with_uris(uris);
    EXPECT_FALSE(identity_from_certificate(cert.get()).ok()) << uris.back();
  }
}

}  // namespace
}  // namespace stek::server

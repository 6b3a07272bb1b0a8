// Host-scoped domains (domains.per_host): every host of such a domain is served keys of its
// own, K(d/h, e), while the domain keeps one schedule, one secret version and one audit trail.
#include <set>

#include <gtest/gtest.h>

#include "stek/derive.h"
#include "stek/formats.h"

#include "api/ring_id.h"
#include "fakes_server.h"
#include "host_scope.h"

namespace stek::server {
namespace {

using namespace split_testing;

// The key names (hex) of the ring in a keyring answer.
std::set<std::string> served_key_names(const HttpResponse& r) {
  std::set<std::string> names;
  if (r.secret == nullptr) return names;
  const auto ring = nlohmann::json::parse(r.secret->data(), r.secret->data() + r.secret->size());
  for (const auto& k : ring["keys"]) names.insert(k["name"].get<std::string>());
  return names;
}

TEST(HostScope, DerivationIdIsTheDomainUnlessPerHost) {
  EXPECT_EQ(*derivation_domain("eu-west", "web1", false), "eu-west");
  EXPECT_EQ(*derivation_domain("eu-west", "", false), "eu-west");
  EXPECT_EQ(*derivation_domain("eu-west", "web1", true), "eu-west/web1");
}

TEST(HostScope, RefusesAPerHostRingWithoutAHostOrBeyond255Bytes) {
  EXPECT_EQ(derivation_domain("eu-west", "", true).error().code, Errc::invalid_argument);
  EXPECT_EQ(derivation_domain("eu-west", std::string(250, 'h'), true).error().code,
            Errc::invalid_argument);
}

TEST(HostScopedKeyring, GivesEachHostOfAPerHostDomainItsOwnKeys) {
  NetPartsRig rig;
  rig.keys.set_per_host({"eu-west"});
  const HttpResponse a =
      answered(rig.request(rig.connect(agent_identity("web1", {"eu-west"})), "GET", "/v1/keyring"));
  const HttpResponse b =
      answered(rig.request(rig.connect(agent_identity("web2", {"eu-west"})), "GET", "/v1/keyring"));
  ASSERT_EQ(a.status, 200u);
  ASSERT_EQ(b.status, 200u);
  const auto names_a = served_key_names(a);
  const auto names_b = served_key_names(b);
  ASSERT_FALSE(names_a.empty());
  EXPECT_EQ(names_a.size(), names_b.size());
  for (const auto& n : names_a) EXPECT_EQ(names_b.count(n), 0u) << "key name shared by hosts";
  // Same version (one schedule, one secret version), a different ring identity per host.
  EXPECT_EQ(header(a, "X-Stek-Ring-Version"), header(b, "X-Stek-Ring-Version"));
  EXPECT_NE(header(a, "X-Stek-Ring-Id"), header(b, "X-Stek-Ring-Id"));
}

TEST(HostScopedKeyring, ServesTheSameHostTheSameKeysAgain) {
  NetPartsRig rig;
  rig.keys.set_per_host({"eu-west"});
  const HttpResponse first =
      answered(rig.request(rig.connect(agent_identity("web1", {"eu-west"})), "GET", "/v1/keyring"));
  const HttpResponse again =
      answered(rig.request(rig.connect(agent_identity("web1", {"eu-west"})), "GET", "/v1/keyring"));
  EXPECT_EQ(served_key_names(first), served_key_names(again));
  EXPECT_EQ(header(first, "X-Stek-Ring-Id"), header(again, "X-Stek-Ring-Id"));
}

TEST(HostScopedKeyring, LeavesOtherDomainsSharedByTheirHosts) {
  NetPartsRig rig;
  rig.keys.set_per_host({"eu-west"});
  const HttpResponse a =
      answered(rig.request(rig.connect(agent_identity("api1", {"us-east"})), "GET", "/v1/keyring"));
  const HttpResponse b =
      answered(rig.request(rig.connect(agent_identity("api2", {"us-east"})), "GET", "/v1/keyring"));
  EXPECT_EQ(served_key_names(a), served_key_names(b));
}

TEST(HostScopedKeyring, HostKeysAreTheDerivationUnderDomainSlashHost) {
  NetPartsRig rig;
  rig.keys.set_per_host({"eu-west"});
  auto scoped = rig.keys.ring("eu-west", "web1");
  ASSERT_TRUE(scoped.ok());
  // Every key names the domain itself (agents check it), and the ring keeps the domain's
  // schedule: as many keys as a shared domain's ring.
  auto shared = rig.keys.ring("us-east");
  ASSERT_TRUE(shared.ok());
  EXPECT_EQ(scoped->keys().size(), shared->keys().size());
  for (const auto& k : scoped->keys()) EXPECT_EQ(k.meta.domain, "eu-west");
  EXPECT_EQ(rig.keys.ring("eu-west").error().code, Errc::invalid_argument);
}

TEST(HostScopedKeyring, RotatingTheDomainSecretReplacesEveryHostsKeys) {
  NetPartsRig rig;
  rig.keys.set_per_host({"eu-west"});
  const auto before = rig.keys.ring("eu-west", "web1");
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(rig.keys.rotate_domain_secret("eu-west", rig.clock.now(), "admin:ops").ok());
  const auto after = rig.keys.ring("eu-west", "web1");
  ASSERT_TRUE(after.ok());
  for (const auto& k : after->keys()) {
    for (const auto& old : before->keys()) EXPECT_NE(k.key.name_hex(), old.key.name_hex());
  }
  EXPECT_GT(after->info().version, before->info().version);
}

}  // namespace
}  // namespace stek::server

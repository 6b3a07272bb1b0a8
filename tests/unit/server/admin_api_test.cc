// /v1/admin/... through the router with request values: status, agents, rotation, audit.
#include <algorithm>
#include <tuple>

#include <gtest/gtest.h>

#include "fakes_server.h"

namespace stek::server {
namespace {

using namespace split_testing;

bool audited(const MemoryAuditLog& log, const std::string& event, const std::string& actor) {
  for (const auto& e : log.events) {
    if (e.value("event", "") == event && e.value("actor", "") == actor) return true;
  }
  return false;
}

TEST(AdminApi, StatusReportsScheduleDomainsAndAgentsAndIsAudited) {
  NetPartsRig rig;
  rig.request(rig.connect(agent_identity("web1", {"eu-west"})), "GET", "/v1/keyring");
  const Peer ops = rig.connect(admin_identity("ops"));
  const HttpResponse r = answered(rig.request(ops, "GET", "/v1/admin/status"));
  ASSERT_EQ(r.status, 200u);
  const auto s = body_json(r);
  EXPECT_EQ(s["epoch"], kEpoch);
  EXPECT_EQ(s["healthy"], true);
  EXPECT_EQ(
      s["schedule"],
      nlohmann::json({{"interval", 60}, {"history", 2}, {"lookahead", 2}, {"lifetime_hint", 120}}));
  EXPECT_EQ(s["epochs_held"], nlohmann::json({kEpoch, kEpoch + 2}));
  ASSERT_EQ(s["domains"].size(), 2u);
  EXPECT_EQ(s["domains"][0]["name"], "eu-west");
  EXPECT_EQ(s["domains"][0]["secret_version"], 1);
  EXPECT_EQ(s["agents"], nlohmann::json({{"known", 1}, {"connected", 1}, {"stale", 0}}));
  EXPECT_TRUE(audited(rig.audit, "admin_status", "ops"));
}

TEST(AdminApi, AgentsListsEachAgentWithWhatItHolds) {
  NetPartsRig rig;
  const Peer web1 = rig.connect(agent_identity("web1", {"eu-west"}));
  rig.request(web1, "GET", "/v1/keyring");
  rig.router.closed(web1);
  const HttpResponse r =
      answered(rig.request(rig.connect(admin_identity("ops")), "GET", "/v1/admin/agents"));
  ASSERT_EQ(r.status, 200u);
  const auto agents = body_json(r);
  ASSERT_EQ(agents.size(), 1u);
  EXPECT_EQ(agents[0]["host"], "web1");
  EXPECT_EQ(agents[0]["domains"], nlohmann::json({"eu-west"}));
  EXPECT_EQ(agents[0]["address"], "192.0.2.7:40000");
  EXPECT_EQ(agents[0]["last_seen"], kStart);
  EXPECT_EQ(agents[0]["holds_through_epoch"], kEpoch + 2);
  EXPECT_EQ(agents[0]["connected"], false);
  EXPECT_EQ(agents[0]["stale"], false);
  EXPECT_TRUE(audited(rig.audit, "admin_agents", "ops"));
}

TEST(AdminApi, RotationReplacesTheSecretOfThatDomainOnly) {
  NetPartsRig rig;
  const Peer ops = rig.connect(admin_identity("ops"));
  const HttpResponse r =
      answered(rig.request(ops, "POST", "/v1/admin/domains/eu-west/rotate-secret"));
  ASSERT_EQ(r.status, 200u);
  const auto body = body_json(r);
  EXPECT_EQ(body["domain"], "eu-west");
  EXPECT_EQ(body["secret_version"], 2);
  EXPECT_EQ(body["ring_version"], rig.keys.ring_version("eu-west"));
  EXPECT_EQ(rig.keys.secret_version("eu-west"), 2u);
  EXPECT_EQ(rig.keys.secret_version("us-east"), 1u);
}

TEST(AdminApi, RotationDecodesThePercentEncodedDomain) {
  NetPartsRig rig;
  const Peer ops = rig.connect(admin_identity("ops"));
  EXPECT_EQ(answered(rig.request(ops, "POST", "/v1/admin/domains/eu%2Dwest/rotate-secret")).status,
            200u);
  EXPECT_EQ(answered(rig.request(ops, "POST", "/v1/admin/domains/eu%zz/rotate-secret")).status,
            400u);
  EXPECT_EQ(answered(rig.request(ops, "POST", "/v1/admin/domains/ap-south/rotate-secret")).status,
            404u);
}

TEST(AdminApi, WrongMethodsGet405AndUnknownPaths404) {
  NetPartsRig rig;
  const Peer ops = rig.connect(admin_identity("ops"));
  EXPECT_EQ(answered(rig.request(ops, "POST", "/v1/admin/status")).status, 405u);
  EXPECT_EQ(answered(rig.request(ops, "DELETE", "/v1/admin/agents")).status, 405u);
  EXPECT_EQ(answered(rig.request(ops, "GET", "/v1/admin/domains/eu-west/rotate-secret")).status,
            405u);
  EXPECT_EQ(answered(rig.request(ops, "GET", "/v1/admin/nothing")).status, 404u);
  EXPECT_EQ(answered(rig.request(ops, "POST", "/v1/admin/domains//rotate-secret")).status, 404u);
  EXPECT_EQ(rig.keys.secret_version("eu-west"), 1u);
}

TEST(AdminApi, AgentsCannotUseItAndEachRefusalIsAudited) {
  NetPartsRig rig;
  const Peer web1 = rig.connect(agent_identity("web1", {"eu-west"}));
  for (const auto& [method, target] :
       {std::pair{"GET", "/v1/admin/status"}, std::pair{"GET", "/v1/admin/agents"},
        std::pair{"POST", "/v1/admin/domains/eu-west/rotate-secret"}}) {
    const HttpResponse r = answered(rig.request(web1, method, target));
    EXPECT_EQ(r.status, 403u) << target;
    EXPECT_EQ(body_json(r), nlohmann::json({{"error", "forbidden"}}));
  }
  EXPECT_EQ(rig.keys.secret_version("eu-west"), 1u);
  EXPECT_FALSE(audited(rig.audit, "admin_status", "web1"));
  const auto& last = rig.audit.events.back();
  EXPECT_EQ(last["event"], "admin_refused");
  EXPECT_EQ(last["status"], 403);
  EXPECT_EQ(last["actor"], "web1");
  EXPECT_EQ(last["peer"], "192.0.2.7:40000");
  EXPECT_EQ(last["method"], "POST");
  EXPECT_EQ(last["path"], "/v1/admin/domains/eu-west/rotate-secret");
}

TEST(AdminApi, RefusedAndFailedCallsAreAuditedWithPeerAndSerial) {
  NetPartsRig rig;
  Peer ops = rig.connect(admin_identity("ops"));
  ops.serial = "1A2B";
  for (const auto& [method, target, status] :
       {std::tuple{"GET", "/v1/admin/nothing", 404u}, std::tuple{"POST", "/v1/admin/status", 405u},
        std::tuple{"POST", "/v1/admin/domains/ap-south/rotate-secret", 404u}}) {
    const std::size_t before = rig.audit.events.size();
    EXPECT_EQ(answered(rig.request(ops, method, target)).status, status);
    ASSERT_EQ(rig.audit.events.size(), before + 1) << target;
    const auto& e = rig.audit.events.back();
    EXPECT_EQ(e["event"], "admin_refused");
    EXPECT_EQ(e["status"], status);
    EXPECT_EQ(e["serial"], "1A2B");
    EXPECT_EQ(e["peer"], "192.0.2.7:40000");
    EXPECT_EQ(e["path"], target);
  }
}

TEST(AdminApi, ACertificateWithoutIdentityIsRefusedAndAudited) {
  NetPartsRig rig;
  Peer nobody = rig.connect(std::nullopt);
  nobody.serial = "77";
  const HttpResponse r = answered(rig.request(nobody, "GET", "/v1/admin/status"));
  EXPECT_EQ(r.status, 403u);
  EXPECT_TRUE(r.close);
  const auto& e = rig.audit.events.back();
  EXPECT_EQ(e["event"], "admin_refused");
  EXPECT_EQ(e["status"], 403);
  EXPECT_EQ(e["actor"], "");
  EXPECT_EQ(e["serial"], "77");
}

TEST(AdminApi, GrantedCallsAreAuditedBeforeTheyAct) {
  NetPartsRig rig;
  Peer ops = rig.connect(admin_identity("ops"));
  ops.serial = "05";
  ASSERT_EQ(answered(rig.request(ops, "POST", "/v1/admin/domains/eu-west/rotate-secret")).status,
            200u);
  std::vector<std::string> events;
  for (const auto& e : rig.audit.events) events.push_back(e["event"]);
  const auto request = std::find(events.begin(), events.end(), "admin_rotate_secret");
  const auto rotated = std::find(events.begin(), events.end(), "domain_secret_rotated");
  ASSERT_NE(request, events.end());
  EXPECT_LT(request, rotated);
  EXPECT_EQ(rig.audit.events[static_cast<std::size_t>(request - events.begin())]["serial"], "05");
}

TEST(AdminApi, RotationIsRefusedWith503WhenTheAuditCannotBeWritten) {
  NetPartsRig rig;
  const Peer ops = rig.connect(admin_identity("ops"));
  const std::uint64_t ring = rig.keys.ring_version("eu-west");
  rig.audit.fail = true;
  const HttpResponse r =
      answered(rig.request(ops, "POST", "/v1/admin/domains/eu-west/rotate-secret"));
  EXPECT_EQ(r.status, 503u);
  EXPECT_NE(body_json(r)["error"].get<std::string>().find("audit"), std::string::npos);
  EXPECT_EQ(answered(rig.request(ops, "GET", "/v1/admin/status")).status, 503u);
  EXPECT_EQ(rig.keys.secret_version("eu-west"), 1u);
  EXPECT_EQ(rig.keys.ring_version("eu-west"), ring);
  EXPECT_TRUE(rig.woken.empty());
  EXPECT_GE(rig.audit.failures_total(), 2u);
  EXPECT_TRUE(rig.audit.failing());
}

TEST(KeyringApi, NoRingIsDeliveredUnaudited) {
  NetPartsRig rig;
  Peer web1 = rig.connect(agent_identity("web1", {"eu-west"}));
  web1.serial = "0C";
  rig.audit.fail = true;
  EXPECT_EQ(answered(rig.request(web1, "GET", "/v1/keyring")).status, 503u);
  rig.audit.fail = false;
  const HttpResponse r = answered(rig.request(web1, "GET", "/v1/keyring"));
  ASSERT_EQ(r.status, 200u);
  const auto& e = rig.audit.events.back();
  EXPECT_EQ(e["event"], "ring_delivered");
  EXPECT_EQ(e["host"], "web1");
  EXPECT_EQ(e["domain"], "eu-west");
  EXPECT_EQ(e["ring_version"], rig.keys.ring_version("eu-west"));
  EXPECT_EQ(e["serial"], "0C");
  EXPECT_EQ(e["peer"], "192.0.2.7:40000");
}

TEST(AdminApi, UnknownPathIsAuditedAsRefused) {
  NetPartsRig rig;
  const Peer ops = rig.connect(admin_identity("ops"));
  EXPECT_EQ(answered(rig.request(ops, "GET", "/v1/admin/nothing")).status, 404u);
  EXPECT_EQ(rig.audit.events.back()["event"], "admin_refused");
  EXPECT_EQ(rig.audit.events.back()["status"], 404);
}

TEST(DenyList, DeniedHostGets403OnEveryKeyringRequestAndEachIsAudited) {
  NetPartsRig rig;
  const Peer ops = rig.connect(admin_identity("ops"));
  const Peer web1 = rig.connect(agent_identity("web1", {"eu-west"}));
  const Peer web2 = rig.connect(agent_identity("web2", {"eu-west"}));
  const HttpResponse denied = answered(rig.request(ops, "POST", "/v1/admin/deny/web1"));
  ASSERT_EQ(denied.status, 200u) << denied.text;
  EXPECT_EQ(body_json(denied)["changed"], true);
  EXPECT_TRUE(audited(rig.audit, "host_denied", "ops"));
  for (int i = 0; i < 2; ++i) {
    const HttpResponse r = answered(rig.request(web1, "GET", "/v1/keyring"));
    EXPECT_EQ(r.status, 403u);
    EXPECT_TRUE(r.close);
    EXPECT_EQ(rig.audit.events.back()["event"], "request_denied");
    EXPECT_EQ(rig.audit.events.back()["identity"], "host:web1");
  }
  EXPECT_EQ(answered(rig.request(web2, "GET", "/v1/keyring")).status, 200u);
  const HttpResponse list = answered(rig.request(ops, "GET", "/v1/admin/deny"));
  EXPECT_EQ(body_json(list)["denied_hosts"], nlohmann::json::array({"web1"}));
  EXPECT_EQ(answered(rig.request(ops, "DELETE", "/v1/admin/deny/web1")).status, 200u);
  EXPECT_EQ(answered(rig.request(web1, "GET", "/v1/keyring")).status, 200u);
}

TEST(DenyList, DenyingAHostEndsItsLongPollWith403AndLeavesOthersWaiting) {
  NetPartsRig rig;
  const Peer ops = rig.connect(admin_identity("ops"));
  const Peer web1 = rig.connect(agent_identity("web1", {"eu-west"}));
  const Peer web2 = rig.connect(agent_identity("web2", {"eu-west"}));
  const std::string wait =
      "/v1/keyring?wait=" +
      header(answered(rig.request(web1, "GET", "/v1/keyring")), "X-Stek-Ring-Version");
  ASSERT_TRUE(std::holds_alternative<LongPoll>(rig.request(web1, "GET", wait)));
  ASSERT_TRUE(std::holds_alternative<LongPoll>(rig.request(web2, "GET", wait)));
  ASSERT_EQ(answered(rig.request(ops, "POST", "/v1/admin/deny/web1")).status, 200u);
  EXPECT_EQ(rig.woken, std::vector<ConnectionId>{web1.connection});
  const HttpResponse r = rig.router.resume(web1);
  EXPECT_EQ(r.status, 403u);
  EXPECT_TRUE(r.close);
  EXPECT_EQ(rig.waits.size(), 1u);  // web2 still waits
}

TEST(DenyList, AgentsCannotChangeItAndBadIdsAre400) {
  NetPartsRig rig;
  const Peer ops = rig.connect(admin_identity("ops"));
  const Peer web1 = rig.connect(agent_identity("web1", {"eu-west"}));
  EXPECT_EQ(answered(rig.request(web1, "POST", "/v1/admin/deny/web2")).status, 403u);
  EXPECT_FALSE(rig.denied.contains("web2"));
  EXPECT_EQ(answered(rig.request(ops, "POST", "/v1/admin/deny/web%0A1")).status, 400u);
  EXPECT_EQ(answered(rig.request(ops, "POST", "/v1/admin/deny/web%ZZ")).status, 400u);
  EXPECT_EQ(answered(rig.request(ops, "PUT", "/v1/admin/deny/web1")).status, 405u);
  EXPECT_EQ(answered(rig.request(ops, "POST", "/v1/admin/deny")).status, 405u);
}

TEST(Router, ClientWithoutAVerifiedCertificateIsRefusedWithTheReasonAudited) {
  NetPartsRig rig;
  Peer p{++rig.last_connection, std::nullopt, "192.0.2.9:1234"};
  p.refusal = "certificate revoked";
  rig.router.opened(p);
  const HttpResponse r = answered(rig.request(p, "GET", "/v1/keyring"));
  EXPECT_EQ(r.status, 403u);
  const auto& e = rig.audit.events.back();
  EXPECT_EQ(e["event"], "request_denied");
  EXPECT_EQ(e["reason"], "certificate revoked");
  EXPECT_EQ(e["peer"], "192.0.2.9:1234");
}

}  // namespace
}  // namespace stek::server

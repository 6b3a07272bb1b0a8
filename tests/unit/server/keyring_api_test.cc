// GET /v1/keyring through the router, with request values, a fixed clock and an in-memory
// store: authorisation, query errors, immediate answers, long polls and their wake-ups.
#include <gtest/gtest.h>

#include "stek/formats.h"

#include "api/ring_id.h"
#include "fakes_server.h"

namespace stek::server {
namespace {

using namespace split_testing;

constexpr std::uint64_t kVersion = (static_cast<std::uint64_t>(kEpoch) << 20) + 1;

TEST(KeyringApi, AnswersAtOnceWithTheRingWhenTheAgentHoldsNone) {
  NetPartsRig rig;
  const Peer web1 = rig.connect(agent_identity("web1", {"eu-west"}));
  const HttpResponse r = answered(rig.request(web1, "GET", "/v1/keyring"));
  EXPECT_EQ(r.status, 200u);
  ASSERT_NE(r.secret, nullptr);
  EXPECT_EQ(r.text, "");  // key bytes only in the shared secret buffer
  EXPECT_EQ(header(r, "X-Stek-Ring-Version"), std::to_string(kVersion));
  const auto ring = nlohmann::json::parse(r.secret->data(), r.secret->data() + r.secret->size());
  EXPECT_EQ(ring["version"], kVersion);
  for (const auto& k : ring["keys"]) EXPECT_EQ(k["domain"], "eu-west");
}

TEST(KeyringApi, AnswersAtOnceWhenTheAgentHoldsAnOlderVersion) {
  NetPartsRig rig;
  const Peer web1 = rig.connect(agent_identity("web1", {"eu-west"}));
  const HttpResponse r =
      answered(rig.request(web1, "GET", "/v1/keyring?wait=" + std::to_string(kVersion - 1)));
  EXPECT_EQ(r.status, 200u);
  EXPECT_TRUE(rig.waits.size() == 0);
}

TEST(KeyringApi, ParksAnAgentThatHoldsTheCurrentVersion) {
  NetPartsRig rig;
  const Peer web1 = rig.connect(agent_identity("web1", {"eu-west"}));
  const HttpReply reply =
      rig.request(web1, "GET", "/v1/keyring?wait=" + std::to_string(kVersion) + "&timeout=20");
  ASSERT_TRUE(std::holds_alternative<LongPoll>(reply));
  EXPECT_EQ(std::get<LongPoll>(reply).timeout, std::chrono::seconds(20));
  EXPECT_EQ(rig.waits.size(), 1u);
}

TEST(KeyringApi, CapsTheTimeoutAtTheConfiguredLongPollTimeout) {
  NetPartsRig rig;
  const Peer web1 = rig.connect(agent_identity("web1", {"eu-west"}));
  const HttpReply reply =
      rig.request(web1, "GET", "/v1/keyring?wait=" + std::to_string(kVersion) + "&timeout=99999");
  ASSERT_TRUE(std::holds_alternative<LongPoll>(reply));
  EXPECT_EQ(std::get<LongPoll>(reply).timeout, std::chrono::seconds(kLongPollTimeout));
  const HttpReply default_timeout =
      rig.request(rig.connect(agent_identity("web2", {"eu-west"})), "GET",
                  "/v1/keyring?wait=" + std::to_string(kVersion));
  EXPECT_EQ(std::get<LongPoll>(default_timeout).timeout, std::chrono::seconds(kLongPollTimeout));
}

TEST(KeyringApi, LongPollThatTimesOutWithoutChangeGets304AndTheCurrentVersion) {
  NetPartsRig rig;
  const Peer web1 = rig.connect(agent_identity("web1", {"eu-west"}));
  rig.request(web1, "GET", "/v1/keyring?wait=" + std::to_string(kVersion));
  const HttpResponse r = rig.router.resume(web1);
  EXPECT_EQ(r.status, 304u);
  EXPECT_EQ(r.text, "");
  EXPECT_EQ(header(r, "X-Stek-Ring-Version"), std::to_string(kVersion));
  EXPECT_EQ(rig.waits.size(), 0u);
}

TEST(KeyringApi, StatesItsTimeAndHowLongItHeldTheRequestOnEveryAnswer) {
  // The agent measures its clock skew from these (docs/api.md); the fixed clock has whole
  // seconds, so the values are multiples of 1000.
  NetPartsRig rig;
  const Peer web1 = rig.connect(agent_identity("web1", {"eu-west"}));
  const HttpResponse at_once = answered(rig.request(web1, "GET", "/v1/keyring"));
  EXPECT_EQ(header(at_once, "X-Stek-Time-Ms"), std::to_string(kStart * 1000));
  EXPECT_EQ(header(at_once, "X-Stek-Held-Ms"), "0");

  rig.request(web1, "GET", "/v1/keyring?wait=" + std::to_string(kVersion));
  rig.clock.advance(20);
  const HttpResponse timed_out = rig.router.resume(web1);
  EXPECT_EQ(timed_out.status, 304u);
  EXPECT_EQ(header(timed_out, "X-Stek-Time-Ms"), std::to_string((kStart + 20) * 1000));
  EXPECT_EQ(header(timed_out, "X-Stek-Held-Ms"), "20000");
}

TEST(KeyringApi, RotationWakesOnlyThatDomainsWaitersWhoThenGetTheNewRing) {
  NetPartsRig rig;
  const Peer web1 = rig.connect(agent_identity("web1", {"eu-west"}));
  const Peer web3 = rig.connect(agent_identity("web3", {"us-east"}));
  rig.request(web1, "GET", "/v1/keyring?wait=" + std::to_string(kVersion));
  rig.request(web3, "GET", "/v1/keyring?wait=" + std::to_string(kVersion));
  const Peer admin = rig.connect(admin_identity("ops"));
  EXPECT_EQ(answered(rig.request(admin, "POST", "/v1/admin/domains/eu-west/rotate-secret")).status,
            200u);
  EXPECT_EQ(rig.woken, std::vector<ConnectionId>{web1.connection});
  const HttpResponse r = rig.router.resume(web1);
  EXPECT_EQ(r.status, 200u);
  ASSERT_NE(r.secret, nullptr);
  EXPECT_EQ(header(r, "X-Stek-Ring-Version"), std::to_string(kVersion + 1));
  EXPECT_EQ(rig.waits.size(), 1u);  // web3 still waits
}

TEST(KeyringApi, NewEpochWakesEveryWaiterOnce) {
  NetPartsRig rig;
  const Peer web1 = rig.connect(agent_identity("web1", {"eu-west"}));
  const Peer web3 = rig.connect(agent_identity("web3", {"us-east"}));
  rig.request(web1, "GET", "/v1/keyring?wait=" + std::to_string(kVersion));
  rig.request(web3, "GET", "/v1/keyring?wait=" + std::to_string(kVersion));
  rig.clock.advance(60);
  ASSERT_TRUE(rig.keys.maintain(rig.clock.now()).ok());
  rig.waits.all_rings_changed();
  rig.waits.all_rings_changed();
  EXPECT_EQ(rig.woken, (std::vector<ConnectionId>{web1.connection, web3.connection}));
  const HttpResponse r = rig.router.resume(web3);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(header(r, "X-Stek-Ring-Version"),
            std::to_string((static_cast<std::uint64_t>(kEpoch + 1) << 20) + 1));
}

TEST(KeyringApi, ClosedConnectionLeavesTheWaitListAndIsNotWoken) {
  NetPartsRig rig;
  const Peer web1 = rig.connect(agent_identity("web1", {"eu-west"}));
  rig.request(web1, "GET", "/v1/keyring?wait=" + std::to_string(kVersion));
  rig.router.closed(web1);
  EXPECT_EQ(rig.waits.size(), 0u);
  rig.waits.all_rings_changed();
  EXPECT_TRUE(rig.woken.empty());
}

TEST(KeyringApi, RepeatedPollsLeaveNoWaiterAndNoConnectionCountBehind) {
  NetPartsRig rig(1);  // one connection per identity: a slot left taken would show as 429
  const std::string wait = "/v1/keyring?wait=" + std::to_string(kVersion);
  for (int i = 0; i < 500; ++i) {
    const Peer web1 = rig.connect(agent_identity("web1", {"eu-west"}));
    ASSERT_TRUE(std::holds_alternative<LongPoll>(rig.request(web1, "GET", wait))) << i;
    if (i % 2 == 0) {
      EXPECT_EQ(rig.router.resume(web1).status, 304u);  // timed out
    }
    rig.router.closed(web1);  // answered or not, the connection ends
    EXPECT_TRUE(rig.waits.empty()) << i;
  }
  EXPECT_EQ(rig.agents.agents().at("web1").connections, 0u);
}

TEST(KeyringApi, RefusesEveryoneButTheDomainsOwnAgentsWithAPlain403) {
  NetPartsRig rig;
  struct Case {
    const char* what;
    std::optional<Identity> id;
    std::string target;
  };
  const std::vector<Case> cases = {
      {"other domain", agent_identity("web3", {"us-east"}), "/v1/keyring?domain=eu-west"},
      {"unconfigured domain", agent_identity("x", {"ap-south"}), "/v1/keyring"},
      {"admin", admin_identity("ops"), "/v1/keyring?domain=eu-west"},
      {"no verified certificate", std::nullopt, "/v1/keyring"},
  };
  for (const Case& c : cases) {
    const HttpResponse r = answered(rig.request(rig.connect(c.id), "GET", c.target));
    EXPECT_EQ(r.status, 403u) << c.what;
    EXPECT_EQ(body_json(r), nlohmann::json({{"error", "forbidden"}})) << c.what;
    EXPECT_EQ(r.secret, nullptr) << c.what;
  }
}

TEST(KeyringApi, ClientWithoutIdentityIsAlsoDisconnected) {
  NetPartsRig rig;
  EXPECT_TRUE(answered(rig.request(rig.connect(std::nullopt), "GET", "/v1/keyring")).close);
}

TEST(KeyringApi, MalformedQueriesGet400AndOtherMethods405) {
  NetPartsRig rig;
  const Peer web1 = rig.connect(agent_identity("web1", {"eu-west"}));
  for (const char* target :
       {"/v1/keyring?wait=abc", "/v1/keyring?bogus=1", "/v1/keyring?wait=1&wait=2",
        "/v1/keyring?timeout=0", "/v1/keyring?wait=%zz", "/v1/keyring?wait=99999999999999999999"}) {
    EXPECT_EQ(answered(rig.request(web1, "GET", target)).status, 400u) << target;
  }
  EXPECT_EQ(answered(rig.request(web1, "POST", "/v1/keyring")).status, 405u);
  EXPECT_EQ(answered(rig.request(web1, "GET", "/v1/nothing")).status, 404u);
}

TEST(KeyringApi, ErrorMessageWithNonUtf8BytesIsStillValidJson) {
  NetPartsRig rig;
  const Peer web1 = rig.connect(agent_identity("web1", {"eu-west"}));
  const HttpResponse r = answered(rig.request(web1, "GET", "/v1/keyring?%ff=1"));
  EXPECT_EQ(r.status, 400u);
  EXPECT_NO_THROW(body_json(r));
}

TEST(KeyringApi, CertificateWithSeveralDomainsMustNameOne) {
  NetPartsRig rig;
  const Peer shared = rig.connect(agent_identity("shared", {"eu-west", "us-east"}));
  EXPECT_EQ(answered(rig.request(shared, "GET", "/v1/keyring")).status, 400u);
  EXPECT_EQ(answered(rig.request(shared, "GET", "/v1/keyring?domain=us-east")).status, 200u);
}

TEST(KeyringApi, ConnectionsOverTheIdentityLimitGet429AndAreClosed) {
  NetPartsRig rig(/*connections_per_identity=*/2);
  const Peer a = rig.connect(agent_identity("web1", {"eu-west"}));
  const Peer b = rig.connect(agent_identity("web1", {"eu-west"}));
  const Peer c = rig.connect(agent_identity("web1", {"eu-west"}));
  EXPECT_EQ(answered(rig.request(a, "GET", "/v1/keyring")).status, 200u);
  EXPECT_EQ(answered(rig.request(b, "GET", "/v1/keyring")).status, 200u);
  const HttpResponse refused = answered(rig.request(c, "GET", "/v1/keyring"));
  EXPECT_EQ(refused.status, 429u);
  EXPECT_TRUE(refused.close);
  rig.router.closed(c);
  rig.router.closed(a);
  EXPECT_EQ(
      answered(rig.request(rig.connect(agent_identity("web1", {"eu-west"})), "GET", "/v1/keyring"))
          .status,
      200u);
}

TEST(KeyringApi, StoreWithoutTheCurrentEpochsSecretGets503) {
  NetPartsRig rig;
  const Peer web1 = rig.connect(agent_identity("web1", {"eu-west"}));
  rig.clock.advance(10 * 60);  // no maintenance ran: no secret for the current epoch
  EXPECT_EQ(answered(rig.request(web1, "GET", "/v1/keyring")).status, 503u);
}

TEST(KeyringApi, RecordsTheAgentAndTheNewestEpochItHolds) {
  NetPartsRig rig;
  const Peer web1 = rig.connect(agent_identity("web1", {"eu-west"}));
  rig.clock.advance(5);
  rig.request(web1, "GET", "/v1/keyring?wait=" + std::to_string(kVersion));
  const AgentRecord& a = rig.agents.agents().at("web1");
  EXPECT_EQ(a.last_seen, kStart + 5);
  EXPECT_EQ(a.address, "192.0.2.7:40000");
  EXPECT_EQ(a.holds_through_epoch, kEpoch + kRigParams.lookahead);
  EXPECT_EQ(a.claimed_ring_version, kVersion);
  EXPECT_FALSE(a.served.has_value());  // parked: nothing was sent
  EXPECT_EQ(a.connections, 1u);
}

TEST(KeyringApi, RecordsTheRingVersionAndSecretVersionsItServedNotTheClaim) {
  NetPartsRig rig;
  const Peer web1 = rig.connect(agent_identity("web1", {"eu-west"}));
  rig.request(web1, "GET", "/v1/keyring?wait=" + std::to_string(kVersion));
  const Peer admin = rig.connect(admin_identity("ops"));
  answered(rig.request(admin, "POST", "/v1/admin/domains/eu-west/rotate-secret"));
  EXPECT_EQ(rig.router.resume(web1).status, 200u);
  const AgentRecord& a = rig.agents.agents().at("web1");
  ASSERT_TRUE(a.served.has_value());
  EXPECT_EQ(a.served->ring_version, kVersion + 1);
  EXPECT_EQ(a.served->secret_versions, std::vector<std::uint32_t>{2});
  EXPECT_EQ(a.served->through_epoch, kEpoch + kRigParams.lookahead);
  EXPECT_EQ(a.claimed_ring_version, kVersion);  // what it said it held before

  // A claim of a far newer version changes the claim, never what was served.
  const std::uint64_t forged = (static_cast<std::uint64_t>(kEpoch + 1000) << 20) + 9;
  rig.request(web1, "GET", "/v1/keyring?wait=" + std::to_string(forged));
  EXPECT_EQ(a.served->ring_version, kVersion + 1);
  EXPECT_EQ(a.claimed_ring_version, forged);
}

TEST(KeyringApi, AdminAgentsListingShowsServedApartFromClaimed) {
  NetPartsRig rig;
  const Peer web1 = rig.connect(agent_identity("web1", {"eu-west"}));
  EXPECT_EQ(answered(rig.request(web1, "GET", "/v1/keyring")).status, 200u);
  const Peer admin = rig.connect(admin_identity("ops"));
  const auto list = body_json(answered(rig.request(admin, "GET", "/v1/admin/agents")));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["served"]["ring_version"], kVersion);
  EXPECT_EQ(list[0]["served"]["secret_versions"], nlohmann::json::array({1}));
  EXPECT_TRUE(list[0]["claimed_ring_version"].is_null());
}

TEST(KeyringApi, EveryAnswerStatesTheIdentityOfTheRingsKeys) {
  // Agents compare it between servers (split brain); it is what the keys give, also in 304s.
  NetPartsRig rig;
  const Peer web1 = rig.connect(agent_identity("web1", {"eu-west"}));
  const HttpResponse r = answered(rig.request(web1, "GET", "/v1/keyring"));
  ASSERT_NE(r.secret, nullptr);
  auto ring = read_key_file(Format::json, r.secret->view());
  ASSERT_TRUE(ring.ok()) << ring.error().message;
  auto computed = api::RingId::of("eu-west", kVersion, ring->keys());
  ASSERT_TRUE(computed.ok());
  EXPECT_EQ(header(r, "X-Stek-Ring-Id"), api::to_string(*computed));
  EXPECT_EQ(ring->info().id, api::to_string(*computed));  // "ring_id" in the ring file

  rig.request(web1, "GET", "/v1/keyring?wait=" + std::to_string(kVersion));
  const HttpResponse not_modified = rig.router.resume(web1);
  EXPECT_EQ(not_modified.status, 304u);
  EXPECT_EQ(header(not_modified, "X-Stek-Ring-Id"), api::to_string(*computed));

  const Peer admin = rig.connect(admin_identity("ops"));
  EXPECT_EQ(answered(rig.request(admin, "POST", "/v1/admin/domains/eu-west/rotate-secret")).status,
            200u);
  const HttpResponse rotated = answered(rig.request(web1, "GET", "/v1/keyring"));
  EXPECT_EQ(header(rotated, "X-Stek-Ring-Version"), std::to_string(kVersion + 1));
  EXPECT_NE(header(rotated, "X-Stek-Ring-Id"), api::to_string(*computed));
  EXPECT_EQ(header(rotated, "X-Stek-Ring-Id").size(), 64u);
}

}  // namespace
}  // namespace stek::server

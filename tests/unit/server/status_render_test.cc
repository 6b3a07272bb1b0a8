// The status page and stekd's /metrics, rendered from hand-built snapshots: exact text,
// escaping of hostile names; and the snapshot taken from a real key service.
#include "status_render.h"

#include <gtest/gtest.h>

#include "stek/bytes.h"

#include "fakes_server.h"

namespace stek::server {
namespace {

using namespace split_testing;

ServerStatus sample_status() {
  ServerStatus s;
  s.now = 1000;
  s.healthy = true;
  s.epoch = 16;
  s.schedule = {60, 2, 2};
  s.lifetime_hint = 120;
  s.epoch_secrets_held = 5;
  s.erasures_total = 3;
  s.domains = {{"eu-west", (16ull << 20) + 1, 1}, {"us-east", (16ull << 20) + 2, 2}};
  s.agents = {{"web1", {"eu-west"}, "192.0.2.1:5", 990, 18, true, false},
              {"web2", {"eu-west", "us-east"}, "192.0.2.2:5", 100, std::nullopt, false, true}};
  s.agent_counts = {2, 1, 1};
  return s;
}

TEST(EscapeHtml, EscapesTheFiveMarkupCharacters) {
  EXPECT_EQ(escape_markup("<a href=\"x\" title='y'>&</a>"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
  EXPECT_EQ(escape_markup("eu-west ü"), "eu-west ü");
}

TEST(StatusPage, ShowsScheduleDomainsAndAgents) {
  const std::string page = render_status_page(sample_status());
  EXPECT_NE(page.find("<p>epoch 16, interval 60 s, history 2, lookahead 2</p>"), std::string::npos);
  EXPECT_NE(page.find("<tr><td>eu-west<td>16777217<td>1</tr>"), std::string::npos);
  EXPECT_NE(page.find("<tr><td>web1<td>eu-west<td>10<td>18<td>yes<td>no</tr>"), std::string::npos);
  EXPECT_NE(page.find("<tr><td>web2<td>eu-west, us-east<td>900<td>-<td>no<td>STALE</tr>"),
            std::string::npos);
}

TEST(StatusPage, HostileDomainHostAndAddressCannotInjectMarkup) {
  ServerStatus s = sample_status();
  s.domains = {{"<script>alert(1)</script>", 1, 1}};
  s.agents = {{"<img src=x onerror=alert(2)>", {"\"><b>"}, "<i>", 0, std::nullopt, true, false}};
  const std::string page = render_status_page(s);
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_EQ(page.find("<img"), std::string::npos);
  EXPECT_EQ(page.find("<b>"), std::string::npos);
  EXPECT_NE(page.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(page.find("&lt;img src=x onerror=alert(2)&gt;"), std::string::npos);
  EXPECT_NE(page.find("&quot;&gt;&lt;b&gt;"), std::string::npos);
}

TEST(ServerMetrics, TextIsPinned) {
  TransportStats transport;
  transport.connections_open = 4;
  transport.connections_unauthenticated = 1;
  transport.unauthenticated_dropped = 5;
  transport.accept_failures = 3;
  transport.accept_paused = true;
  transport.requests_by_status = {{200, 7}, {304, 2}, {403, 1}};
  ServerStatus status = sample_status();
  status.long_polls_waiting = 2;
  EXPECT_EQ(render_server_metrics(status, transport),
            "# HELP stek_up 1 when the current epoch's secret exists\n# TYPE stek_up gauge\n"
            "stek_up 1\n"
            "# HELP stek_current_epoch Current epoch number\n# TYPE stek_current_epoch gauge\n"
            "stek_current_epoch 16\n"
            "# HELP stek_epoch_secrets_held Epoch secrets held (history + current + lookahead)\n"
            "# TYPE stek_epoch_secrets_held gauge\nstek_epoch_secrets_held 5\n"
            "# HELP stek_domains Configured domains\n# TYPE stek_domains gauge\nstek_domains 2\n"
            "# HELP stek_agents_known Agents seen since start\n# TYPE stek_agents_known gauge\n"
            "stek_agents_known 2\n"
            "# HELP stek_agents_connected Agents with an open connection\n"
            "# TYPE stek_agents_connected gauge\nstek_agents_connected 1\n"
            "# HELP stek_agents_stale Agents not seen recently or without the current key\n"
            "# TYPE stek_agents_stale gauge\nstek_agents_stale 1\n"
            "# HELP stek_connections_open Open client connections\n"
            "# TYPE stek_connections_open gauge\nstek_connections_open 4\n"
            "# HELP stek_connections_unauthenticated Open connections without a verified "
            "identity yet (limits.max_unauthenticated)\n"
            "# TYPE stek_connections_unauthenticated gauge\nstek_connections_unauthenticated 1\n"
            "# HELP stek_unauthenticated_dropped_total Connections without an identity closed to "
            "make room for newer ones\n"
            "# TYPE stek_unauthenticated_dropped_total counter\n"
            "stek_unauthenticated_dropped_total 5\n"
            "# HELP stek_long_polls_waiting Long polls parked until a ring changes\n"
            "# TYPE stek_long_polls_waiting gauge\nstek_long_polls_waiting 2\n"
            "# HELP stek_accept_paused 1 while accepting connections is paused (out of file "
            "descriptors or memory)\n# TYPE stek_accept_paused gauge\nstek_accept_paused 1\n"
            "# HELP stek_accept_failures_total Accepts that failed for lack of file descriptors "
            "or memory (each pausing the accept loop, 50 ms growing to 1 s)\n"
            "# TYPE stek_accept_failures_total counter\nstek_accept_failures_total 3\n"
            "# HELP stek_erasures_total Secrets erased\n# TYPE stek_erasures_total counter\n"
            "stek_erasures_total 3\n"
            "# HELP stek_audit_failures_total Audit events that could not be written (their "
            "actions were refused)\n# TYPE stek_audit_failures_total counter\n"
            "stek_audit_failures_total 0\n"
            "# HELP stek_audit_failing 1 while the audit log cannot be written\n"
            "# TYPE stek_audit_failing gauge\nstek_audit_failing 0\n"
            "# HELP stek_clock_step_alarm 1 while a wall-clock step larger than "
            "schedule.max_clock_step is refused\n"
            "# TYPE stek_clock_step_alarm gauge\nstek_clock_step_alarm 0\n"
            "# HELP stek_clock_offset_seconds Wall clock minus the time stekd trusts, at the last "
            "maintenance\n"
            "# TYPE stek_clock_offset_seconds gauge\nstek_clock_offset_seconds 0\n"
            "# HELP stek_clock_steps_refused_total Maintenance rounds that refused the wall "
            "clock's time\n"
            "# TYPE stek_clock_steps_refused_total counter\nstek_clock_steps_refused_total 0\n"
            "# HELP stek_requests_total Requests answered, by HTTP status\n"
            "# TYPE stek_requests_total counter\n"
            "stek_requests_total{status=\"200\"} 7\nstek_requests_total{status=\"304\"} 2\n"
            "stek_requests_total{status=\"403\"} 1\n"
            "# HELP stek_ring_version Current ring version per domain\n"
            "# TYPE stek_ring_version gauge\n"
            "stek_ring_version{domain=\"eu-west\"} 16777217\n"
            "stek_ring_version{domain=\"us-east\"} 16777218\n");
}

TEST(ServerMetrics, HostileDomainStaysInsideItsLabel) {
  ServerStatus s = sample_status();
  s.domains = {{"x\"} 9\nstek_up 0", 1, 1}};
  const std::string text = render_server_metrics(s, {});
  EXPECT_NE(text.find("stek_ring_version{domain=\"x\\\"} 9\\nstek_up 0\"} 1\n"), std::string::npos);
  EXPECT_EQ(text.find("\nstek_up 0"), std::string::npos);
}

TEST(CollectStatus, TakesKeyServiceAndRegistryAsTheyAre) {
  NetPartsRig rig;
  rig.request(rig.connect(agent_identity("web1", {"eu-west"})), "GET", "/v1/keyring");
  rig.clock.advance(30);
  const ServerStatus s = collect_status(rig.keys, rig.agents, rig.clock.now());
  EXPECT_EQ(s.now, kStart + 30);
  EXPECT_TRUE(s.healthy);
  EXPECT_EQ(s.epoch, kStart / 60);
  EXPECT_EQ(s.epoch_secrets_held, 3u);
  ASSERT_EQ(s.domains.size(), 2u);
  EXPECT_EQ(s.domains[1].name, "us-east");
  EXPECT_EQ(s.domains[1].ring_version, rig.keys.ring_version("us-east"));
  ASSERT_EQ(s.agents.size(), 1u);
  EXPECT_EQ(s.agents[0].host, "web1");
  EXPECT_TRUE(s.agents[0].connected);
  EXPECT_EQ(s.agent_counts.known, 1u);
}

}  // namespace
}  // namespace stek::server

// The status page and stekd's /metrics, rendered from hand-built snapshots: what the page
// shows, escaping of hostile names, no key bytes (a real key service's ring), the timeline
// across a boundary; exact /metrics text; and the snapshot taken from a real key service.
#include "status_render.h"

#include <cctype>

#include <gtest/gtest.h>

#include "stek/bytes.h"

#include "fakes_server.h"

namespace stek::server {
namespace {

using namespace split_testing;

ServerStatus sample_status() {
  ServerStatus s;
  s.now = 1000;  // 40 s into epoch 16
  s.healthy = true;
  s.health_text = "ok";
  s.epoch = 16;
  s.schedule = {60, 2, 2};
  s.lifetime_hint = 120;
  s.epochs_held = EpochRange{14, 18};
  s.epoch_secrets_held = 5;
  s.erasures_total = 3;
  s.domains = {{"eu-west", (16ull << 20) + 1, 1}, {"us-east", (16ull << 20) + 2, 2}};
  s.agents = {{.host = "web1",
               .domains = {"eu-west"},
               .address = "192.0.2.1:5",
               .last_seen = 990,
               .holds_through_epoch = 18,
               .connected = true,
               .served = ServedRing{(16ull << 20) + 1, {1}, 18, 980}},
              {.host = "web2",
               .domains = {"us-east"},
               .address = "192.0.2.2:5",
               .last_seen = 100,
               .stale = true,
               .claimed_ring_version = (15ull << 20) + 2}};
  s.agent_counts = {2, 1, 1};
  return s;
}

bool has(const std::string& page, const std::string& part) {
  return page.find(part) != std::string::npos;
}

// The data-state of the slot of `epoch` in `domain`'s timeline, "" when there is none.
std::string slot_state(const std::string& page, const std::string& domain, Epoch epoch) {
  const auto row = page.find("<div class=\"timeline\" data-domain=\"" + domain + "\">");
  if (row == std::string::npos) return "";
  const auto row_end = page.find("</div></div>", row);
  const auto slot = page.find("data-epoch=\"" + std::to_string(epoch) + "\"", row);
  if (slot == std::string::npos || slot > row_end) return "";
  const auto state = page.find("data-state=\"", slot) + 12;
  return page.substr(state, page.find('"', state) - state);
}

TEST(EscapeHtml, EscapesTheFiveMarkupCharacters) {
  EXPECT_EQ(escape_markup("<a href=\"x\" title='y'>&</a>"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
  EXPECT_EQ(escape_markup("eu-west ü"), "eu-west ü");
}

TEST(StatusPage, ShowsHealthEpochScheduleAndRunwayAsAnEndTime) {
  const std::string page = render_status_page(sample_status());
  EXPECT_TRUE(has(page, "<h1>stekd <span class=\"badge ok\">healthy</span></h1>"));
  EXPECT_TRUE(has(page, "data-epoch=\"16\">16</span> since 1970-01-01T00:16:00Z"));
  EXPECT_TRUE(has(page, "interval 1 min, history 2 epochs, look-ahead 2 epochs"));
  // Secrets through epoch 18: keys last until the end of epoch 18, 19 x 60 s.
  EXPECT_TRUE(has(page,
                  "secrets made through epoch 18: an agent holding the current ring "
                  "rotates without stekd until 1970-01-01T00:19:00Z (in 2 min 20 s)"));
}

TEST(StatusPage, ListsDomainsWithTheirRingVersions) {
  const std::string page = render_status_page(sample_status());
  EXPECT_TRUE(has(page,
                  "<tr class=\"domain\" data-domain=\"eu-west\"><td class=\"name\">eu-west"
                  "</td><td class=\"num ring-version mono\">16777217</td>"));
  EXPECT_TRUE(has(page, "<td class=\"num ring-version mono\">16777218</td>"));
}

TEST(StatusPage, ListsAgentsWithFreshnessAndTheRingEachHolds) {
  const std::string page = render_status_page(sample_status());
  const auto web1 = page.find("<tr class=\"agent\" data-host=\"web1\">");
  const auto web2 = page.find("<tr class=\"agent\" data-host=\"web2\">");
  ASSERT_NE(web1, std::string::npos);
  ASSERT_NE(web2, std::string::npos);
  const std::string row1 = page.substr(web1, page.find("</tr>", web1) - web1);
  const std::string row2 = page.substr(web2, page.find("</tr>", web2) - web2);
  EXPECT_TRUE(has(row1, "1970-01-01T00:16:30Z (10 s ago)"));
  EXPECT_TRUE(has(row1, "badge ok\">fresh"));
  EXPECT_TRUE(has(row1, "<span class=\"mono ring-version\">16777217</span> sent"));
  EXPECT_TRUE(has(row1, "badge ok\">current"));
  EXPECT_TRUE(has(row1, "1970-01-01T00:19:00Z (in 2 min 20 s)"));  // runway: through epoch 18
  EXPECT_TRUE(has(row2, "badge bad\">stale"));
  EXPECT_TRUE(has(row2, "15728642</span> claimed"));
  EXPECT_TRUE(has(row2, "not the current ring"));
  EXPECT_TRUE(has(page, "id=\"sinks\""));  // where sink health is: the agents' own pages
}

TEST(StatusPage, ListsStaleAgentsFirstAndCountsThoseBeyondTheTable) {
  ServerStatus s = sample_status();
  s.agents.clear();
  for (int i = 0; i < 600; ++i) {
    char host[16];
    std::snprintf(host, sizeof host, "h%03d", i);
    s.agents.push_back({.host = host, .domains = {"eu-west"}, .last_seen = 990, .stale = i == 599});
  }
  const std::string page = render_status_page(s);
  const auto first_row = page.find("<tr class=\"agent\"");
  EXPECT_EQ(page.find("<tr class=\"agent\" data-host=\"h599\">"), first_row);
  EXPECT_TRUE(has(page, "data-host=\"h000\""));
  EXPECT_TRUE(has(page, "data-host=\"h498\""));
  EXPECT_FALSE(has(page, "data-host=\"h499\""));
  EXPECT_TRUE(has(page, "100 more agents not shown"));
}

TEST(StatusPage, DrawsEachDomainsTimelineWithItsStates) {
  const std::string page = render_status_page(sample_status());
  for (const std::string domain : {"eu-west", "us-east"}) {
    EXPECT_EQ(slot_state(page, domain, 12), "erased");
    EXPECT_EQ(slot_state(page, domain, 13), "erased");
    EXPECT_EQ(slot_state(page, domain, 14), "decrypt-only");
    EXPECT_EQ(slot_state(page, domain, 15), "decrypt-only");
    EXPECT_EQ(slot_state(page, domain, 16), "encrypting");
    EXPECT_EQ(slot_state(page, domain, 17), "next");
    EXPECT_EQ(slot_state(page, domain, 18), "pending");
  }
  // Now (40 s of 60) is drawn across the encrypting epoch.
  EXPECT_TRUE(has(page, "<span class=\"now\" style=\"left:66%\"></span>"));
}

TEST(StatusPage, NeedsNoScriptAndNoOtherServer) {
  const std::string page = render_status_page(sample_status());
  EXPECT_FALSE(has(page, "<script"));
  EXPECT_FALSE(has(page, "://"));
  EXPECT_FALSE(has(page, " src="));
  EXPECT_TRUE(has(page, "<style>"));
}

TEST(StatusPage, HostileDomainHostAddressAndHealthTextCannotInjectMarkup) {
  ServerStatus s = sample_status();
  s.domains = {{"<script>alert(1)</script>", 1, 1}};
  s.agents = {{"<img src=x onerror=alert(2)>", {"\"><b>"}, "<i>", 0, std::nullopt, true, false}};
  s.health_text = "<u>audit</u>";
  const std::string page = render_status_page(s);
  EXPECT_FALSE(has(page, "<script"));
  EXPECT_FALSE(has(page, "<img"));
  EXPECT_FALSE(has(page, "<b>"));
  EXPECT_FALSE(has(page, "<i>"));
  EXPECT_FALSE(has(page, "<u>"));
  EXPECT_TRUE(has(page, "&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_TRUE(has(page, "data-domain=\"&lt;script&gt;alert(1)&lt;/script&gt;\""));
  EXPECT_TRUE(has(page, "&lt;img src=x onerror=alert(2)&gt;"));
  EXPECT_TRUE(has(page, "&quot;&gt;&lt;b&gt;"));
}

// Every text form the key bytes of `ring` could take: hex (both cases) and base64 of each
// secret and of the two together, the base64 of the whole 80-byte record, and the record's
// hex (the key name, which the page shows, followed by the first secret's hex).
std::vector<std::string> key_byte_strings(const KeyRing& ring) {
  std::vector<std::string> out;
  auto base64_prefix = [](ByteView b) {
    const SecretBytes b64 = to_base64(b);
    return std::string(as_chars(b64.view())).substr(0, 16);
  };
  for (const RingKey& k : ring.keys()) {
    Bytes secrets(k.key.hmac_key().view().begin(), k.key.hmac_key().view().end());
    secrets.insert(secrets.end(), k.key.aes_key().view().begin(), k.key.aes_key().view().end());
    for (const ByteView b : {k.key.hmac_key().view(), k.key.aes_key().view(), ByteView(secrets)}) {
      const std::string hex = to_hex(b).substr(0, 16);
      std::string upper = hex;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      out.push_back(hex);
      out.push_back(upper);
      out.push_back(base64_prefix(b));
    }
    Bytes record(k.key.name().begin(), k.key.name().end());
    record.insert(record.end(), secrets.begin(), secrets.end());
    out.push_back(base64_prefix(record));
    out.push_back(to_hex(record).substr(0, 32 + 8));
  }
  return out;
}

TEST(StatusPage, NamesKeysButNeverShowsTheirBytes) {
  NetPartsRig rig;
  rig.request(rig.connect(agent_identity("web1", {"eu-west"})), "GET", "/v1/keyring");
  ServerStatus s = collect_status(rig.keys, rig.agents, rig.clock.now());
  add_key_labels(s, rig.keys);
  const std::string page = render_status_page(s);
  for (const std::string domain : {"eu-west", "us-east"}) {
    auto ring = rig.keys.ring(domain);
    ASSERT_TRUE(ring.ok());
    ASSERT_GE(ring->size(), 3u);
    for (const RingKey& k : ring->keys()) EXPECT_TRUE(has(page, "key " + k.key.name_hex()));
    for (const std::string& secret : key_byte_strings(*ring)) {
      EXPECT_FALSE(has(page, secret)) << "key bytes of " << domain << " on the page";
    }
  }
}

TEST(StatusPage, TimelineFollowsTheKeyServiceAcrossABoundary) {
  NetPartsRig rig;  // starts at kStart, the first second of kEpoch
  const UnixSeconds boundary = kStart + 60;
  auto page_at = [&](UnixSeconds t) {
    rig.clock.set(t);
    EXPECT_TRUE(rig.keys.maintain(t).ok());
    ServerStatus s = collect_status(rig.keys, rig.agents, t);
    add_key_labels(s, rig.keys);
    return render_status_page(s);
  };
  const std::string before = page_at(boundary - 1);
  EXPECT_EQ(slot_state(before, "eu-west", kEpoch - 1), "not-held");  // made before the start
  EXPECT_EQ(slot_state(before, "eu-west", kEpoch), "encrypting");
  EXPECT_EQ(slot_state(before, "eu-west", kEpoch + 1), "next");
  EXPECT_EQ(slot_state(before, "eu-west", kEpoch + 2), "pending");
  const std::string on = page_at(boundary);
  EXPECT_EQ(slot_state(on, "eu-west", kEpoch), "decrypt-only");
  EXPECT_EQ(slot_state(on, "eu-west", kEpoch + 1), "encrypting");
  EXPECT_EQ(slot_state(on, "eu-west", kEpoch + 2), "next");
  EXPECT_EQ(slot_state(on, "eu-west", kEpoch + 3), "pending");
  const std::string after = page_at(boundary + 1);
  for (Epoch e = kEpoch - 4; e <= kEpoch + 3; ++e) {
    EXPECT_EQ(slot_state(after, "us-east", e), slot_state(on, "us-east", e)) << e;
  }
  // Three boundaries on, kEpoch is past e - H: erased.
  const std::string later = page_at(boundary + 180);
  EXPECT_EQ(slot_state(later, "eu-west", kEpoch), "erased");
  EXPECT_EQ(slot_state(later, "eu-west", kEpoch + 2), "decrypt-only");
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
            "stek_ring_version{domain=\"us-east\"} 16777218\n"
            "# HELP stek_healthy 1 while /healthz answers 200 (current key held, audit "
            "writable, clock trusted, etcd usable), else 0\n"
            "# TYPE stek_healthy gauge\n"
            "stek_healthy 1\n"
            "# HELP stek_schedule_interval_seconds Configured epoch length I in seconds\n"
            "# TYPE stek_schedule_interval_seconds gauge\n"
            "stek_schedule_interval_seconds 60\n");
}

// The rig's schedule: I = 60 s, H = 2, L = 2; it starts at kStart, the first second of kEpoch.
TEST(ServerMetrics, OldestSecretIsDueAtTheStartOfTheEpochAfterItsDecryptWindow) {
  NetPartsRig rig;
  ServerStatus s = collect_status(rig.keys, rig.agents, rig.clock.now());
  EXPECT_EQ(s.schedule.interval, 60);
  // A fresh start holds kEpoch .. kEpoch + 2: kEpoch decrypts through kEpoch + 2.
  ASSERT_TRUE(s.erase_due.has_value());
  EXPECT_EQ(*s.erase_due, kStart + 3 * 60);

  // At that boundary maintenance erases it; the next one is due an interval later.
  rig.clock.set(kStart + 3 * 60);
  ASSERT_TRUE(rig.keys.maintain(rig.clock.now()).ok());
  s = collect_status(rig.keys, rig.agents, rig.clock.now());
  EXPECT_EQ(*s.erase_due, kStart + 4 * 60);
}

TEST(ServerMetrics, SecretKeptPastItsDeadlineShowsAsADueTimeInThePast) {
  NetPartsRig rig;
  // Time moves on without maintenance (a store that refuses commits looks the same).
  rig.clock.set(kStart + 10 * 60);
  const ServerStatus s = collect_status(rig.keys, rig.agents, rig.clock.now());
  EXPECT_LT(*s.erase_due, rig.clock.now());
}

TEST(ServerMetrics, TextHasHealthIntervalAndDeadline) {
  ServerStatus s;
  s.schedule = {3600, 2, 2};
  s.erase_due = 1'800'007'200;
  const std::string text = render_server_metrics(s, {});
  const std::string tail =
      "# HELP stek_healthy 1 while /healthz answers 200 (current key held, audit writable, "
      "clock trusted, etcd usable), else 0\n"
      "# TYPE stek_healthy gauge\n"
      "stek_healthy 1\n"
      "# HELP stek_schedule_interval_seconds Configured epoch length I in seconds\n"
      "# TYPE stek_schedule_interval_seconds gauge\n"
      "stek_schedule_interval_seconds 3600\n"
      "# HELP stek_epoch_secret_erase_due_timestamp_seconds Unix time by which the oldest "
      "epoch secret held must be erased (the end of its decrypt window); in the past means "
      "erasure is overdue\n"
      "# TYPE stek_epoch_secret_erase_due_timestamp_seconds gauge\n"
      "stek_epoch_secret_erase_due_timestamp_seconds 1800007200\n";
  ASSERT_GE(text.size(), tail.size());
  EXPECT_EQ(text.substr(text.size() - tail.size()), tail);
  s.health_failing = true;
  s.erase_due.reset();
  const std::string none = render_server_metrics(s, {});
  EXPECT_NE(none.find("stek_healthy 0\n"), std::string::npos);
  EXPECT_EQ(none.find("erase_due"), std::string::npos);
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

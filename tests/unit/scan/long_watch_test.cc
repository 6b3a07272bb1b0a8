// A watch of 24 hours at one probe a minute, without waiting 24 hours: the data such a watch
// records (1440 steps of a fresh and a resumed connection, TLS 1.3's two tickets, a key
// name rotating every hour) goes through the analysis and both outputs, which must stay
// under a few MB. Prints the sizes and the process's peak RSS (getrusage), the numbers
// docs/stek-scan.md quotes.
#include <cstdio>

#include <gtest/gtest.h>
#include <sys/resource.h>

#include "names.h"
#include "report.h"
#include "timeline.h"

namespace stek::scan {
namespace {

constexpr int kDaySteps = 24 * 60;
constexpr Millis kMinute = 60'000;

Connection day_connection(Millis t, const Endpoint& ep, ConnKind kind, std::uint8_t key) {
  Connection c;
  c.time_ms = t;
  c.duration_ms = 12;
  c.endpoint = ep.label();
  c.sni = ep.sni;
  c.kind = kind;
  c.tls_version = "TLSv1.3";
  c.cipher = "TLS_AES_256_GCM_SHA384";
  if (kind == ConnKind::fresh) c.cert = CertCheck{true, ""};
  if (kind == ConnKind::resume) {
    c.offered_ticket = true;
    c.offered_key_name = test::name(key);
    c.offered_from = ep.label();
    c.offered_issued_ms = t - kMinute;
    c.resumed = true;
  }
  for (int i = 0; i < 2; ++i) {
    TicketSeen s;
    s.length = 242;
    s.key_name = test::name(key);
    s.lifetime_hint = 7200;
    c.tickets.push_back(s);
  }
  return c;
}

ScanData day_of_watch() {
  ScanData d;
  d.mode = Mode::watch;
  d.started_ms = 1'700'000'000'000;
  d.every_ms = kMinute;
  d.duration_ms = kDaySteps * kMinute;
  d.endpoints = {{"203.0.113.7", 443, "www.example.com"}};
  const Endpoint& ep = d.endpoints[0];
  for (int step = 0; step < kDaySteps; ++step) {
    const Millis t = d.started_ms + step * kMinute;
    const auto key = static_cast<std::uint8_t>(1 + step / 60);  // a new key every hour
    d.connections.push_back(day_connection(t, ep, ConnKind::fresh, key));
    if (step > 0) d.connections.push_back(day_connection(t + 20, ep, ConnKind::resume, key));
  }
  // The end-of-watch checks, at most: 16 retired key names' tickets (the last two hours'
  // resume, older ones are refused) and 8 aged tickets at halving ages.
  Millis at = d.started_ms + kDaySteps * kMinute;
  for (int k = 8; k < 24; ++k) {
    Connection c = day_connection(at += 300, ep, ConnKind::retired, 24);
    c.offered_ticket = true;
    c.offered_key_name = test::name(static_cast<std::uint8_t>(k));
    c.offered_from = ep.label();
    c.offered_issued_ms = d.started_ms + (k - 1) * 60 * kMinute;
    c.resumed = k >= 22;
    d.connections.push_back(std::move(c));
  }
  for (int i = 0; i < 8; ++i) {
    Connection c = day_connection(at += 300, ep, ConnKind::aged, 24);
    c.offered_ticket = true;
    c.offered_key_name = test::name(1);
    c.offered_from = ep.label();
    c.offered_issued_ms = at - (std::int64_t{kDaySteps} * kMinute >> i);
    c.resumed = i >= 4;
    d.connections.push_back(std::move(c));
  }
  d.finished_ms = at + 300;
  return d;
}

long peak_rss_kib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;  // KiB on Linux
}

TEST(LongWatch, ADayAtOneProbeAMinuteStaysUnderAFewMegabytes) {
  const long rss_before = peak_rss_kib();
  const ScanData d = day_of_watch();
  const Analysis a = analyze(d);
  const std::string json = report_text(to_json(d, a));
  const std::string svg = render_svg(d, a);
  const long rss_after = peak_rss_kib();

  std::printf(
      "24 h watch, 1 probe/min: %zu connections, JSON %zu bytes, SVG %zu bytes, "
      "peak RSS %ld KiB (before building the day: %ld KiB)\n",
      d.connections.size(), json.size(), svg.size(), rss_after, rss_before);
  EXPECT_EQ(a.endpoints.at(0).keys.size(), 24u);
  const Json timeline = Json::parse(json)["endpoints"][0]["timeline"];
  ASSERT_EQ(timeline.size(), 24u);  // one run per hourly key, not one entry per probe
  EXPECT_EQ(timeline[0]["probes"], 60);
  EXPECT_EQ(timeline[0]["key_name"], key_name_hex(test::name(1)));
  EXPECT_EQ(timeline[23]["to"], utc_ms(d.started_ms + (kDaySteps - 1) * kMinute));
  EXPECT_LT(json.size(), 3u << 20);
  EXPECT_LT(svg.size(), 1u << 20);
  // One bar per key and one mark per end-of-watch check, however many connections.
  auto count = [&](std::string_view what) {
    std::size_t n = 0;
    for (auto at = svg.find(what); at != std::string::npos; at = svg.find(what, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("<rect class=\"key\""), 24u);
  EXPECT_EQ(count("class=\"retired refused\""), 14u);
  EXPECT_EQ(count("class=\"retired resumed\""), 2u);
  EXPECT_EQ(count("class=\"aged "), 8u);
}

TEST(LongWatch, ReportTextPutsOneConnectionPerLineAndReadsBackTheSame) {
  ScanData d = day_of_watch();
  d.connections.resize(5);
  const Json j = to_json(d, analyze(d));
  const std::string text = report_text(j);
  EXPECT_EQ(Json::parse(text), j);
  for (const Json& c : j["connections"]) {
    const std::size_t at = text.find("\n    " + c.dump());
    ASSERT_NE(at, std::string::npos);
    const char after = text[at + 5 + c.dump().size()];
    EXPECT_TRUE(after == ',' || after == '\n') << after;
  }
  EXPECT_EQ(text.find("{\n  \"schema\": \"stek-scan/1\",\n"), 0u);
  EXPECT_NE(text.find("\n  \"endpoints\": [\n    {\n      \"endpoint\""), std::string::npos);
}

TEST(LongWatch, TimelineStartsANewRunWhenTheStatusOrKeyNameChanges) {
  ScanData d = day_of_watch();
  d.connections.resize(9);                         // steps 0..4: fresh, (resume, fresh) x 4
  d.connections[3].status = ProbeStatus::timeout;  // step 2's fresh connection
  d.connections[3].tickets.clear();
  d.connections[7].tickets[0].key_name = test::name(7);  // step 4's
  const Json t = timeline_json(d, d.endpoints[0].label());
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[0]["probes"], 2);
  EXPECT_EQ(t[1]["status"], "timeout");
  EXPECT_EQ(t[1]["key_name"], nullptr);
  EXPECT_EQ(t[2]["probes"], 1);
  EXPECT_EQ(t[2]["key_name"], key_name_hex(test::name(1)));
  EXPECT_EQ(t[3]["key_name"], key_name_hex(test::name(7)));
  EXPECT_EQ(t[3]["from"], utc_ms(d.started_ms + 4 * kMinute));
}

}  // namespace
}  // namespace stek::scan

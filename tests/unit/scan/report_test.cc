// The outputs: the JSON schema's stable shape, a well-formed SVG with one row per endpoint
// and one colour per key name, and a table that says what was found.
#include "report.h"

#include <regex>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "names.h"

namespace stek::scan {
namespace {

using test::name;

ScanData sample() {
  ScanData d;
  d.mode = Mode::watch;
  d.started_ms = 1'700'000'000'000;
  d.every_ms = 1000;
  d.duration_ms = 4000;
  d.endpoints = {{"127.0.0.1", 8443, "localhost"}, {"127.0.0.1", 8444, "localhost"}};
  for (int i = 0; i < 5; ++i) {
    for (int e = 0; e < 2; ++e) {
      Connection c;
      c.time_ms = d.started_ms + i * 1000 + e * 10;
      c.endpoint = d.endpoints[e].label();
      c.sni = "localhost";
      c.tls_version = "TLSv1.3";
      TicketSeen t;
      t.length = 192;
      t.key_name = name(static_cast<std::uint8_t>(e == 0 ? 1 + i / 2 : 9));
      t.lifetime_hint = 7200;
      c.tickets.push_back(t);
      d.connections.push_back(c);
    }
  }
  Connection down;
  down.time_ms = d.started_ms + 4500;
  down.endpoint = d.endpoints[1].label();
  down.status = ProbeStatus::timeout;
  down.detail = "TLS handshake not finished within 10s";
  d.connections.push_back(down);
  d.finished_ms = d.started_ms + 5000;
  return d;
}

TEST(Report, JsonHasTheDocumentedTopLevelShape) {
  const ScanData d = sample();
  const Json j = to_json(d, analyze(d));
  EXPECT_EQ(j["schema"], "stek-scan/1");
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"schema", "mode", "started", "finished",
                                            "started_unix_ms", "finished_unix_ms", "every_s",
                                            "duration_s", "interrupted", "worst_severity",
                                            "endpoints", "connections", "psk_ke", "findings"}));
  EXPECT_EQ(j["endpoints"].size(), 2u);
  EXPECT_EQ(j["connections"].size(), 11u);
  const Json& c = j["connections"][0];
  for (const char* k :
       {"time", "time_unix_ms", "duration_ms", "endpoint", "sni", "kind", "status", "detail",
        "tls_version", "cipher", "certificate", "offered", "resumed", "renewed", "tickets"}) {
    EXPECT_TRUE(c.contains(k)) << k;
  }
  EXPECT_EQ(c["tickets"][0]["key_name"], key_name_hex(name(1)));
  EXPECT_EQ(j["endpoints"][0]["key_names"].size(), 3u);
  EXPECT_EQ(j["endpoints"][1]["failures"]["timeout"], 1);
  for (const Json& f : j["findings"]) {
    for (const char* k : {"id", "severity", "endpoints", "summary", "evidence"}) {
      EXPECT_TRUE(f.contains(k)) << k;
    }
  }
}

TEST(Report, SvgHasOneRowPerEndpointAndOneColourPerKeyName) {
  const ScanData d = sample();
  const std::string svg = render_svg(d, analyze(d));
  EXPECT_EQ(svg.rfind("<svg ", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  // Every opened element is closed (a rough well-formedness check without an XML parser).
  const std::regex open_tag("<([a-z]+)[ >]");
  const std::regex self_closed("<[a-z]+[^>]*/>");
  const std::regex close_tag("</([a-z]+)>");
  auto count = [&](const std::regex& r) {
    return std::distance(std::sregex_iterator(svg.begin(), svg.end(), r), std::sregex_iterator());
  };
  EXPECT_EQ(count(open_tag) - count(self_closed), count(close_tag));
  EXPECT_NE(svg.find(">127.0.0.1:8443</text>"), std::string::npos);
  EXPECT_NE(svg.find(">127.0.0.1:8444</text>"), std::string::npos);
  // Key bars carry their key name in a title; the bars of four key names use four colours.
  std::set<std::string> colours;
  const std::regex bar("fill=\"(#[0-9a-f]{6})\"><title>([0-9a-f]{32})");
  std::map<std::string, std::string> colour_of_key;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), bar); it != std::sregex_iterator();
       ++it) {
    colours.insert((*it)[1]);
    colour_of_key[(*it)[2]] = (*it)[1];
  }
  EXPECT_EQ(colour_of_key.size(), 4u);
  EXPECT_EQ(colours.size(), 4u);
  EXPECT_NE(svg.find("stroke=\"#d62728\""), std::string::npos);  // the failed connection
}

TEST(Report, TableListsEndpointsKeysAndFindings) {
  const ScanData d = sample();
  std::ostringstream out;
  write_table(out, d, analyze(d));
  const std::string t = out.str();
  EXPECT_NE(t.find("Connections"), std::string::npos);
  EXPECT_NE(t.find(key_name_hex(name(9))), std::string::npos);
  EXPECT_NE(t.find("[warning] never_rotates"), std::string::npos);
  EXPECT_NE(t.find("[info] rotation"), std::string::npos);
  EXPECT_NE(t.find("timeout"), std::string::npos);
  std::ostringstream brief;
  write_table(brief, d, analyze(d), TableOptions{false});
  EXPECT_EQ(brief.str().find("Connections"), std::string::npos);
}

}  // namespace
}  // namespace stek::scan

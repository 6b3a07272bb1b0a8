// The SVG timeline's structure from a synthetic watch: one bar per key name with its first
// and last times, axis ticks with UTC times, and the retired and aged tickets offered at
// the end as marks told apart by shape (circle resumed, triangle refused).
#include <regex>

#include <gtest/gtest.h>

#include "names.h"
#include "report.h"

namespace stek::scan {
namespace {

using test::name;

constexpr Millis kSvgStart = 1'700'000'000'000;  // 2023-11-14T22:13:20Z

// One endpoint, a new key every 20 s for a minute, then two retired keys' tickets offered
// (key 1 refused, key 2 resumed) and one aged ticket (resumed).
ScanData rotating_watch() {
  ScanData d;
  d.mode = Mode::watch;
  d.started_ms = kSvgStart;
  d.every_ms = 10'000;
  d.duration_ms = 60'000;
  d.endpoints = {{"127.0.0.1", 8443, "localhost"}};
  const std::string ep = d.endpoints[0].label();
  for (int i = 0; i < 6; ++i) {
    Connection c;
    c.time_ms = kSvgStart + i * 10'000;
    c.endpoint = ep;
    c.tls_version = "TLSv1.2";
    TicketSeen t;
    t.key_name = name(static_cast<std::uint8_t>(1 + i / 2));
    t.lifetime_hint = 300;
    c.tickets.push_back(t);
    d.connections.push_back(c);
  }
  auto offer = [&](ConnKind kind, std::uint8_t key, Millis issued, Millis at, bool resumed) {
    Connection c;
    c.time_ms = at;
    c.endpoint = ep;
    c.kind = kind;
    c.offered_ticket = true;
    c.offered_key_name = name(key);
    c.offered_from = ep;
    c.offered_issued_ms = issued;
    c.resumed = resumed;
    d.connections.push_back(c);
  };
  offer(ConnKind::retired, 1, kSvgStart, kSvgStart + 61'000, false);
  offer(ConnKind::retired, 2, kSvgStart + 20'000, kSvgStart + 61'100, true);
  offer(ConnKind::aged, 1, kSvgStart, kSvgStart + 61'200, true);
  d.finished_ms = kSvgStart + 62'000;
  return d;
}

long matches(const std::string& text, const std::string& pattern) {
  const std::regex r(pattern);
  return std::distance(std::sregex_iterator(text.begin(), text.end(), r), std::sregex_iterator());
}

TEST(Svg, DrawsOneBarPerKeyNameWithItsFirstAndLastTimes) {
  const ScanData d = rotating_watch();
  const std::string svg = render_svg(d, analyze(d));
  EXPECT_EQ(matches(svg, "<rect class=\"key\""), 3);
  // Key 2: first seen at +20 s, last at +30 s.
  EXPECT_NE(svg.find(key_name_hex(name(2)) +
                     " on 127.0.0.1:8443: first seen 2023-11-14T22:13:40.000Z, last seen "
                     "2023-11-14T22:13:50.000Z (10s)"),
            std::string::npos);
  // Axis ticks carry UTC times as well as the time since the start.
  EXPECT_NE(svg.find(">22:13:20</text>"), std::string::npos);
  EXPECT_NE(svg.find(">+0s</text>"), std::string::npos);
}

TEST(Svg, MarksRetiredAndAgedOffersByShape) {
  const ScanData d = rotating_watch();
  const std::string svg = render_svg(d, analyze(d));
  // Key 1's retired ticket was refused: a triangle, with its times in the tooltip.
  EXPECT_EQ(matches(svg, "<path class=\"retired refused\" d=\"M[0-9.]+ [0-9]+ l8 0 l-4 8 z\""), 1);
  EXPECT_NE(svg.find("retired ticket of key " + key_name_hex(name(1)).substr(0, 16) +
                     ", issued 2023-11-14T22:13:20.000Z, offered 2023-11-14T22:14:21.000Z (age "
                     "1m1s): refused"),
            std::string::npos);
  EXPECT_EQ(matches(svg, "<circle class=\"retired resumed\""), 1);
  EXPECT_EQ(matches(svg, "<circle class=\"aged resumed\""), 1);
  EXPECT_EQ(matches(svg, "class=\"aged refused\""), 0);
}

TEST(Svg, SetsMarksOfOffersMadeTogetherSideBySide) {
  const ScanData d = rotating_watch();
  const std::string svg = render_svg(d, analyze(d));
  const std::regex circle("<circle class=\"retired resumed\" cx=\"([0-9.]+)\"");
  const std::regex tri("<path class=\"retired refused\" d=\"M([0-9.]+) ");
  std::smatch a;
  std::smatch b;
  ASSERT_TRUE(std::regex_search(svg, a, circle));
  ASSERT_TRUE(std::regex_search(svg, b, tri));
  // 100 ms apart in a 62 s plot is less than a pixel: the earlier one is set to the left.
  EXPECT_GE(std::stod(a[1]) - (std::stod(b[1]) + 4), 8.9);
}

}  // namespace
}  // namespace stek::scan

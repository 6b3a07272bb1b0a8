// Endpoint and duration parsing.
#include "args.h"

#include <gtest/gtest.h>

namespace stek::scan {
namespace {

TEST(Args, EndpointForms) {
  auto a = parse_endpoint("example.com:8443");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "example.com");
  EXPECT_EQ(a->port, 8443);
  EXPECT_EQ(a->sni, "example.com");
  auto b = parse_endpoint("example.com");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->port, 443);
  auto c = parse_endpoint("127.0.0.1:443");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->sni, "");  // no SNI for addresses
  auto d = parse_endpoint("[::1]:8443", "localhost");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->host, "::1");
  EXPECT_EQ(d->sni, "localhost");
  EXPECT_EQ(d->label(), "[::1]:8443");
  auto e = parse_endpoint("example.com:443", "-");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->sni, "");
}

TEST(Args, BadEndpointsAreRefusedWithTheReason) {
  for (const char* bad : {"", ":443", "host:", "host:0", "host:65536", "host:12a", "::1:443",
                          "[::1", "[nothost]:443", "bad host:443", "h\n:1"}) {
    EXPECT_FALSE(parse_endpoint(bad).ok()) << bad;
  }
}

TEST(Args, Durations) {
  EXPECT_EQ(*parse_duration_ms("90"), 90000);
  EXPECT_EQ(*parse_duration_ms("90s"), 90000);
  EXPECT_EQ(*parse_duration_ms("1500ms"), 1500);
  EXPECT_EQ(*parse_duration_ms("10m"), 600000);
  EXPECT_EQ(*parse_duration_ms("1h30m"), 5400000);
  EXPECT_EQ(*parse_duration_ms("1d"), 86400000);
  for (const char* bad : {"", "s", "1x", "1h30", "-1s", "1.5s", "99999999999d"}) {
    EXPECT_FALSE(parse_duration_ms(bad).ok()) << bad;
  }
}

TEST(Args, FormatsDurationsForPeople) {
  EXPECT_EQ(format_duration_ms(750), "750ms");
  EXPECT_EQ(format_duration_ms(2000), "2s");
  EXPECT_EQ(format_duration_ms(2500), "2.5s");
  EXPECT_EQ(format_duration_ms(5400000), "1h30m");
  EXPECT_EQ(format_duration_ms(64800000), "18h");
  EXPECT_EQ(format_duration_ms(691200000), "8d");
}

}  // namespace
}  // namespace stek::scan

// HOST:PORT: names, IPv4, bracketed IPv6, default ports, port 0, and precise errors.
#include "api/host_port.h"

#include <gtest/gtest.h>

#include "testing/expect.h"

namespace stek::api {
namespace {

using stek::testing::expect_error;

constexpr HostPortRules kListener{.default_port = std::nullopt, .allow_port_zero = true};
constexpr HostPortRules kTarget{.default_port = 443, .allow_port_zero = false};

TEST(HostPort, ParsesNamesAndIpv4Addresses) {
  auto a = parse_host_port("stekd.example:8443");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "stekd.example");
  EXPECT_EQ(a->port, 8443);
  auto b = parse_host_port("127.0.0.1:9464");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "127.0.0.1");
  EXPECT_EQ(b->text(), "127.0.0.1:9464");
  EXPECT_FALSE(b->host_is_ipv6());
}

TEST(HostPort, ParsesBracketedIpv6AndPrintsItBracketed) {
  auto a = parse_host_port("[::1]:8443");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 8443);
  EXPECT_TRUE(a->host_is_ipv6());
  EXPECT_EQ(a->text(), "[::1]:8443");
  auto b = parse_host_port("[2001:db8::17]:443");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "2001:db8::17");
}

TEST(HostPort, RefusesIpv6WithoutBracketsAsAmbiguous) {
  expect_error(parse_host_port("::1:8443"), Errc::invalid_argument,
               "\"::1:8443\": write an IPv6 address in brackets: [ADDRESS]:PORT");
  EXPECT_FALSE(parse_host_port("2001:db8::1", kTarget).ok());
}

TEST(HostPort, RefusesMalformedBrackets) {
  expect_error(parse_host_port("[::1:8443"), Errc::invalid_argument,
               "\"[::1:8443\": missing ']' after the IPv6 address");
  expect_error(parse_host_port("[::1]8443"), Errc::invalid_argument,
               "\"[::1]8443\": expected ':PORT' after ']'");
  expect_error(parse_host_port("[nothost]:443"), Errc::invalid_argument,
               "\"[nothost]:443\": brackets must hold an IPv6 address");
  EXPECT_FALSE(parse_host_port("[127.0.0.1]:443").ok());
  EXPECT_FALSE(parse_host_port("[]:443").ok());
}

TEST(HostPort, AppliesTheDefaultPortOnlyWhenThereIsOne) {
  auto a = parse_host_port("example.com", kTarget);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->port, 443);
  auto b = parse_host_port("[::1]", kTarget);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 443);
  expect_error(parse_host_port("example.com"), Errc::invalid_argument,
               "\"example.com\": no port (expected HOST:PORT)");
  expect_error(parse_host_port("example.com:", kTarget), Errc::invalid_argument,
               "\"example.com:\": empty port after ':'");
}

TEST(HostPort, PortZeroOnlyForListeners) {
  auto any = parse_host_port("[::1]:0", kListener);
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(any->port, 0);
  expect_error(parse_host_port("host:0", kTarget), Errc::invalid_argument,
               "\"host:0\": port 0 is outside 1..65535");
  expect_error(parse_host_port("host:0"), Errc::invalid_argument,
               "\"host:0\": port 0 is outside 1..65535");
}

TEST(HostPort, PortsAboveTheRangeAreRefused) {
  EXPECT_EQ(parse_host_port("host:65535")->port, 65535);
  expect_error(parse_host_port("host:65536", kListener), Errc::invalid_argument,
               "\"host:65536\": port 65536 is outside 0..65535");
  expect_error(parse_host_port("host:99999"), Errc::invalid_argument,
               "\"host:99999\": port 99999 is outside 1..65535");
  expect_error(parse_host_port("host:123456"), Errc::invalid_argument,
               "\"host:123456\": port must be a number from 1 to 65535");
}

TEST(HostPort, RefusesPortsThatAreNotPlainDigits) {
  for (const char* bad : {"host:x", "host:12a", "host:+80", "host:-1", "host: 80", "host:80 "}) {
    EXPECT_FALSE(parse_host_port(bad).ok()) << bad;
  }
}

TEST(HostPort, RefusesBadHosts) {
  expect_error(parse_host_port(":80"), Errc::invalid_argument, "\":80\": no host before the port");
  expect_error(parse_host_port("bad host:443"), Errc::invalid_argument,
               "\"bad host:443\": the host may hold only A-Z a-z 0-9 . - _");
  expect_error(parse_host_port("h\n:1"), Errc::invalid_argument,
               "\"h\\x0A:1\": the host may hold only A-Z a-z 0-9 . - _");
  EXPECT_FALSE(parse_host_port(std::string(254, 'a') + ":1").ok());
  EXPECT_TRUE(parse_host_port(std::string(253, 'a') + ":1").ok());
  EXPECT_FALSE(parse_host_port("").ok());
  EXPECT_FALSE(parse_host_port("", kTarget).ok());
}

}  // namespace
}  // namespace stek::api

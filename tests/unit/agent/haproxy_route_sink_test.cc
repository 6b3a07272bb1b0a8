// The routing sink's pure parts: `show map` answers of HAProxy 2.6 and the sink's config keys.
// The runtime API round trip runs against a real HAProxy in integration.test_routing.
#include <gtest/gtest.h>

#include "config.h"
#include "sinks/haproxy_route.h"

namespace stek::agent {
namespace {

TEST(HaproxyRouteShowMap, ReadsKeyAndValueOfEveryLine) {
  const auto m = parse_show_map(
      "0x55d1c4e0 00112233445566778899aabbccddeeff web1\n"
      "0x55d1c4f0 ffeeddccbbaa99887766554433221100 web2\n\n");
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_EQ(m->size(), 2u);
  EXPECT_EQ(m->at("00112233445566778899aabbccddeeff"), "web1");
  EXPECT_EQ(m->at("ffeeddccbbaa99887766554433221100"), "web2");
  EXPECT_TRUE(parse_show_map("").value().empty());
}

TEST(HaproxyRouteShowMap, RefusalsAreErrorsNotEntries) {
  EXPECT_EQ(parse_show_map("Unknown map identifier. Please use #<id> or <file>.\n").error().code,
            Errc::invalid_argument);
}

TEST(HaproxyRouteSinkConfig, NeedsAMapAndAServer) {
  auto c = parse_config(
      "servers = [\"https://127.0.0.1:8443\"]\n[[sink]]\ntype = \"haproxy_route\"\n"
      "map = \"/etc/haproxy/stek.map\"\nserver = \"web1\"\n",
      "t");
  ASSERT_TRUE(c.ok()) << c.error().message;
  const auto& s = std::get<HaproxyRouteSinkConfig>(c->sinks.at(0));
  EXPECT_EQ(s.map, "/etc/haproxy/stek.map");
  EXPECT_EQ(s.server, "web1");
  EXPECT_EQ(s.socket, std::filesystem::path("/run/haproxy/admin.sock"));
  EXPECT_FALSE(
      parse_config("servers = [\"https://127.0.0.1:8443\"]\n[[sink]]\ntype = \"haproxy_route\"\n"
                   "server = \"web1\"\n",
                   "t")
          .ok());
}

TEST(HaproxyRouteSink, ASocketWithNothingListeningIsAnError) {
  HaproxyRouteSink sink(
      {"/nonexistent/stek-route.sock", "/tmp/x.map", "web1", std::chrono::milliseconds(200)});
  EXPECT_FALSE(sink.apply(nullptr, 0).ok());
}

}  // namespace
}  // namespace stek::agent

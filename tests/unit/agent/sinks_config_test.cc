// The haproxy, h2o and command sink tables: defaults, values, refusals, and the factory.
#include <gtest/gtest.h>

#include "config.h"
#include "fakes.h"
#include "sinks/factory.h"

namespace stek::agent {
namespace {

using testing::TempDir;

Result<AgentConfig> parse(const std::string& text) {
  return parse_config(text, "test.toml");
}

TEST(SinksConfig, HaproxyDefaultsToDebiansSocketAndASigusr2Reload) {
  auto c = parse("[[sink]]\ntype = \"haproxy\"\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  const auto& h = std::get<HaproxySinkConfig>(c->sinks.at(0));
  EXPECT_EQ(h.path, "/run/stek/haproxy/tickets.keys");
  EXPECT_EQ(h.socket, std::filesystem::path("/run/haproxy/admin.sock"));
  EXPECT_EQ(h.reload, ReloadMode::signal);
  EXPECT_EQ(h.pid_file, "/run/haproxy.pid");
}

TEST(SinksConfig, HaproxyWithoutASocketAndWithAReloadCommand) {
  auto c = parse(
      "[[sink]]\ntype = \"haproxy\"\npath = \"/run/k\"\nsocket = \"\"\nreload = \"command\"\n"
      "reload_command = [\"systemctl\", \"reload\", \"haproxy\"]\nhaproxy_cfg = \"/etc/h.cfg\"\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  const auto& h = std::get<HaproxySinkConfig>(c->sinks.at(0));
  EXPECT_FALSE(h.socket.has_value());
  EXPECT_EQ(h.reload_command.size(), 3u);
  EXPECT_EQ(h.haproxy_cfg, std::filesystem::path("/etc/h.cfg"));
  EXPECT_FALSE(parse("[[sink]]\ntype = \"haproxy\"\nreload = \"command\"\n").ok());
  EXPECT_FALSE(parse("[[sink]]\ntype = \"haproxy\"\ninclude = \"/x\"\n").ok());  // nginx's key
}

TEST(SinksConfig, H2oAndCommandTables) {
  auto c = parse(
      "[[sink]]\ntype = \"h2o\"\nh2o_conf = \"/etc/h2o/h2o.conf\"\n"
      "[[sink]]\ntype = \"generic\"\nformat = \"ats\"\npath = \"/run/stek/ats.key\"\n"
      "command = [\"traffic_ctl\", \"config\", \"reload\"]\ncommand_timeout = 9\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(std::get<H2oSinkConfig>(c->sinks.at(0)).path, "/run/stek/h2o/tickets.yaml");
  const auto& g = std::get<CommandSinkConfig>(c->sinks.at(1));
  EXPECT_EQ(g.format, "ats");
  EXPECT_EQ(g.command.size(), 3u);
  EXPECT_EQ(g.command_timeout, 9);
}

TEST(SinksConfig, CommandNeedsAPathAndAKnownFormat) {
  EXPECT_FALSE(parse("[[sink]]\ntype = \"command\"\n").ok());
  auto bad = parse("[[sink]]\ntype = \"command\"\npath = \"/run/x\"\nformat = \"iis\"\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("format"), std::string::npos);
}

TEST(SinksConfig, TwoSinksWritingOneFileAreRefused) {
  EXPECT_FALSE(parse("[[sink]]\ntype = \"h2o\"\npath = \"/run/a\"\n"
                     "[[sink]]\ntype = \"command\"\npath = \"/run/a\"\n")
                   .ok());
}

TEST(SinksConfig, TheFactoryBuildsEachAndRefusesAMissingHaproxyCfg) {
  TempDir dir(true);
  HaproxySinkConfig h;
  h.path = dir / "haproxy" / "tickets.keys";
  H2oSinkConfig o;
  o.path = dir / "h2o" / "tickets.yaml";
  CommandSinkConfig g;
  g.path = dir / "out" / "keys";
  auto sinks = make_sinks({h, o, g}, false);
  ASSERT_TRUE(sinks.ok()) << sinks.error().message;
  ASSERT_EQ(sinks->size(), 3u);
  EXPECT_EQ((*sinks)[0]->name(), "haproxy:" + h.path.string());
  EXPECT_EQ((*sinks)[1]->name(), "h2o:" + o.path.string());
  EXPECT_EQ((*sinks)[2]->name(), "command:" + g.path.string());
  h.haproxy_cfg = dir / "missing.cfg";
  EXPECT_FALSE(make_sinks({h}, false).ok());
}

}  // namespace
}  // namespace stek::agent

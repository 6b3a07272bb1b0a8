// What SIGHUP may change in a running agent (config_reload.h): the sink plan and the keys
// that need a restart.
#include "config_reload.h"

#include <gtest/gtest.h>

namespace stek::agent {
namespace {

NginxSinkConfig nginx_with(std::vector<std::string> command) {
  NginxSinkConfig c;
  c.reload = ReloadMode::command;
  c.reload_command = std::move(command);
  return c;
}

JsonSinkConfig json_at(const char* path) {
  JsonSinkConfig c;
  c.path = path;
  return c;
}

TEST(ConfigReload, UnchangedSinksAreKeptAndChangedOnesRebuilt) {
  const std::vector<SinkConfig> running = {nginx_with({"nginx", "-s", "reload"}),
                                           json_at("/run/stek/a.json")};
  const std::vector<SinkConfig> next = {nginx_with({"/usr/sbin/nginx", "-s", "reload"}),
                                        json_at("/run/stek/a.json"), json_at("/run/stek/b.json")};
  const SinkPlan plan = plan_sinks(running, next);
  EXPECT_EQ(plan.kept, (std::vector<std::size_t>{1}));
  EXPECT_EQ(plan.removed, (std::vector<std::size_t>{0}));
  EXPECT_EQ(plan.added, (std::vector<std::size_t>{0, 2}));
}

TEST(ConfigReload, KeptSinksAreListedInTheirRunningOrder) {
  const SinkPlan plan = plan_sinks({json_at("/a"), json_at("/b")}, {json_at("/b"), json_at("/a")});
  EXPECT_EQ(plan.kept, (std::vector<std::size_t>{0, 1}));
  EXPECT_TRUE(plan.removed.empty());
  EXPECT_TRUE(plan.added.empty());
}

TEST(ConfigReload, AnEmptySinkListRemovesEverySink) {
  const SinkPlan plan = plan_sinks({json_at("/a"), json_at("/b")}, {});
  EXPECT_TRUE(plan.kept.empty());
  EXPECT_EQ(plan.removed, (std::vector<std::size_t>{0, 1}));
  EXPECT_TRUE(plan.added.empty());
}

TEST(ConfigReload, IdentityServersAndListenersNeedARestartSinksAndLogLevelDoNot) {
  AgentConfig running;
  running.servers = {"https://a:9443"};
  AgentConfig next = running;
  next.log_level = "debug";
  next.sinks.push_back(json_at("/run/stek/x.json"));
  EXPECT_TRUE(restart_only_changes(running, next).empty());
  next.servers = {"https://b:9443"};
  next.tls.cert = "/etc/stek/other.crt";
  next.domain = "us";
  next.metrics_listen = "127.0.0.1:1";
  EXPECT_EQ(restart_only_changes(running, next),
            (std::vector<std::string>{"servers", "domain", "tls.cert", "metrics_listen"}));
}

TEST(ConfigReload, OnlySignalReloadsHaveAPidFileToWatch) {
  NginxSinkConfig by_signal;
  by_signal.pid_file = "/run/nginx.pid";
  EXPECT_EQ(signal_pid_file(by_signal), std::filesystem::path("/run/nginx.pid"));
  EXPECT_FALSE(signal_pid_file(nginx_with({"true"})).has_value());
  EXPECT_FALSE(signal_pid_file(json_at("/a")).has_value());
  ApacheSinkConfig apache;  // reload = command by default
  EXPECT_FALSE(signal_pid_file(apache).has_value());
  apache.reload = ReloadMode::signal;
  EXPECT_EQ(signal_pid_file(apache), apache.pid_file);
}

}  // namespace
}  // namespace stek::agent

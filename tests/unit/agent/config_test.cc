// Configuration parsing: defaults, validation, and the reference every key must be in.
#include "config.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace stek::agent {
namespace {

AgentConfig parse_ok(const std::string& text) {
  auto c = parse_config(text, "test.toml");
  EXPECT_TRUE(c.ok()) << c.error().message;
  return c.ok() ? std::move(c).value() : AgentConfig{};
}

std::string parse_error(const std::string& text) {
  auto c = parse_config(text, "test.toml");
  EXPECT_FALSE(c.ok()) << text;
  return c.ok() ? "" : c.error().message;
}

TEST(Config, EmptyFileMeansEveryDefault) {
  const AgentConfig c = parse_ok("");
  EXPECT_TRUE(c.servers.empty());
  EXPECT_EQ(c.cache_dir, "/run/stek");
  EXPECT_FALSE(c.allow_persistent_cache);
  EXPECT_EQ(c.poll_timeout, 60);
  EXPECT_EQ(c.tls.ca, "/etc/stek/ca.crt");
  EXPECT_TRUE(c.metrics_listen.empty());
  EXPECT_TRUE(c.sinks.empty());
}

TEST(Config, ParsesServersTlsAndSinks) {
  const AgentConfig c = parse_ok(R"(
servers = ["https://127.0.0.1:8443", "https://[::1]:9443/"]
domain = "eu-west"
poll_timeout = 30
backoff_max = 5
metrics_listen = "127.0.0.1:9465"
[tls]
cert = "/a.crt"
key = "/a.key"
ca = "/ca.crt"
[[sink]]
type = "nginx"
dir = "/run/stek/n"
include = "/etc/nginx/stek.conf"
reload = "command"
reload_command = ["nginx", "-s", "reload"]
nginx_conf = "/etc/nginx/nginx.conf"
[[sink]]
type = "json"
path = "/run/stek/app/ring.json"
)");
  ASSERT_EQ(c.servers.size(), 2u);
  EXPECT_EQ(c.domain, "eu-west");
  EXPECT_EQ(c.poll_timeout, 30);
  EXPECT_EQ(c.backoff_max, 5.0);
  EXPECT_EQ(c.tls.cert, "/a.crt");
  ASSERT_EQ(c.sinks.size(), 2u);
  const auto& n = std::get<NginxSinkConfig>(c.sinks[0]);
  EXPECT_EQ(n.reload, ReloadMode::command);
  EXPECT_EQ(n.reload_command, (std::vector<std::string>{"nginx", "-s", "reload"}));
  EXPECT_EQ(n.pid_file, "/run/nginx.pid");
  EXPECT_EQ(*n.nginx_conf, "/etc/nginx/nginx.conf");
  EXPECT_EQ(std::get<JsonSinkConfig>(c.sinks[1]).path, "/run/stek/app/ring.json");
}

TEST(Config, UnknownKeysAreErrorsWithTheirLine) {
  const std::string e = parse_error("servers = []\ncache_dri = \"/tmp\"\n");
  EXPECT_NE(e.find("test.toml:2"), std::string::npos) << e;
  EXPECT_NE(e.find("cache_dri"), std::string::npos) << e;
  EXPECT_NE(parse_error("[tls]\ncerts = \"x\"\n").find("tls.certs"), std::string::npos);
  EXPECT_NE(parse_error("[[sink]]\ntype = \"json\"\ndir = \"/x\"\n").find("sink[0].dir"),
            std::string::npos);
}

TEST(Config, RefusesBadValues) {
  parse_error("servers = [\"http://127.0.0.1:8443\"]");  // plain HTTP would expose keys
  parse_error("servers = [\"https://127.0.0.1:99999\"]");
  parse_error("servers = \"https://127.0.0.1:8443\"");
  parse_error("poll_timeout = 0");
  parse_error("poll_timeout = \"60\"");
  parse_error("backoff_jitter = 1.5");
  parse_error("backoff_initial = 10\nbackoff_max = 1");
  parse_error("metrics_listen = \"9465\"");
  parse_error("log_level = \"loud\"");
  parse_error("servers = [");  // TOML syntax
  parse_error("[[sink]]\ntype = \"lighttpd\"");
  parse_error("[[sink]]\npath = \"/x\"");
  parse_error("[[sink]]\ntype = \"nginx\"\nreload = \"command\"");
  parse_error("[[sink]]\ntype = \"nginx\"\nreload_command = [\"true\"]");
  parse_error("[[sink]]\ntype = \"nginx\"\nreload = \"sometimes\"");
  // Two sinks in one key directory would erase each other's keys.
  parse_error("[[sink]]\ntype = \"nginx\"\n[[sink]]\ntype = \"nginx\"\ninclude = \"/b.conf\"");
}

TEST(Config, ListenAddresses) {
  auto a = parse_listen_address("127.0.0.1:9465");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 9465);
  auto v6 = parse_listen_address("[::1]:0");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_FALSE(parse_listen_address(":80").ok());
  EXPECT_FALSE(parse_listen_address("127.0.0.1:x").ok());
}

TEST(Config, ServerUrls) {
  auto u = parse_server_url("https://stekd.example:8443");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "stekd.example");
  EXPECT_EQ(u->port, "8443");
  EXPECT_FALSE(u->host_is_ip);
  auto ip = parse_server_url("https://127.0.0.1");
  ASSERT_TRUE(ip.ok());
  EXPECT_EQ(ip->port, "443");
  EXPECT_TRUE(ip->host_is_ip);
  auto v6 = parse_server_url("https://[::1]:8443/");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_TRUE(v6->host_is_ip);
  EXPECT_FALSE(parse_server_url("https://h:1/v1").ok());
  EXPECT_FALSE(parse_server_url("https://user@h:1").ok());
  EXPECT_FALSE(parse_server_url("https://:1").ok());
}

TEST(Config, KeyringTargetEncodesTheDomain) {
  PollRequest r;
  r.domain = "eu west/1";
  r.timeout = 30;
  EXPECT_EQ(keyring_target(r), "/v1/keyring?domain=eu%20west%2F1&timeout=30");
  r.wait = 522981474305;
  EXPECT_EQ(keyring_target(r), "/v1/keyring?domain=eu%20west%2F1&wait=522981474305&timeout=30");
}

TEST(Config, ExampleFileParsesAndDocumentsEveryKey) {
  const std::string path = std::string(STEK_SOURCE_DIR) + "/examples/stek-agent.toml";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  auto c = parse_config(text, path);
  ASSERT_TRUE(c.ok()) << c.error().message;
  for (const ConfigKey& k : config_reference()) {
    const std::string key(k.key.substr(k.key.rfind('.') + 1));
    const std::string written = key == "sink" ? "[[sink]]" : key + " =";
    EXPECT_NE(text.find(written), std::string::npos) << "examples/stek-agent.toml lacks " << k.key;
    EXPECT_FALSE(k.doc.empty()) << k.key;
    EXPECT_FALSE(k.default_value.empty()) << k.key;
  }
}

}  // namespace
}  // namespace stek::agent

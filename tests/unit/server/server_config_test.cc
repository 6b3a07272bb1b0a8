// stekd's TOML configuration: every default, relative paths, and that every mistake (unknown
// key, wrong type, out of range, missing tls, bad listen address) is Errc::config naming the key.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "config.h"

namespace stek::server {
namespace {

namespace fs = std::filesystem;

const std::string kTls = "[tls]\ncert = \"s.crt\"\nkey = \"s.key\"\nclient_ca = \"ca.crt\"\n";
const std::string kDomains = "[domains]\nnames = [\"eu\"]\n";

Result<ServerConfig> parse(const std::string& text) {
  return parse_server_config(text, "/etc/stek");
}

// The text with a valid [tls] and [domains] added, so one mistake is the only one.
Result<ServerConfig> parse_with(const std::string& extra) {
  return parse(kTls + kDomains + extra);
}

void expect_config_error(const Result<ServerConfig>& r, const std::string& part) {
  ASSERT_FALSE(r.ok()) << "accepted, expected an error naming " << part;
  EXPECT_EQ(r.error().code, Errc::config) << r.error().message;
  EXPECT_NE(r.error().message.find(part), std::string::npos) << r.error().message;
}

TEST(ServerConfigTest, EveryKeyHasADefault) {
  auto c = parse(kTls + kDomains);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->listen.text(), "127.0.0.1:8443");
  ASSERT_TRUE(c->metrics_listen.has_value());
  EXPECT_EQ(c->metrics_listen->text(), "127.0.0.1:9464");
  EXPECT_EQ(c->long_poll_timeout, 300);
  EXPECT_EQ(c->stale_after, 600);  // 2 x long_poll_timeout
  EXPECT_EQ(c->schedule.interval, 3600);
  EXPECT_EQ(c->schedule.history, 18);
  EXPECT_EQ(c->schedule.lookahead, 2);
  EXPECT_EQ(c->store_backend, "file");
  EXPECT_EQ(c->store_path, fs::path("/var/lib/stek/state.json"));
  EXPECT_EQ(c->kek_file, fs::path("/etc/stek/kek"));
  EXPECT_EQ(c->generation_file, fs::path("/etc/stek/kek.generation"));  // beside the KEK
  EXPECT_EQ(c->domains, std::vector<std::string>{"eu"});
  EXPECT_EQ(c->connections_per_identity, 4u);
  EXPECT_EQ(c->max_connections, 20000u);
  EXPECT_EQ(c->max_unauthenticated, 1000u);
  EXPECT_EQ(c->handshake_timeout, 10);
  EXPECT_EQ(c->header_bytes, 8192u);
  EXPECT_EQ(c->body_bytes, 4096u);
  EXPECT_TRUE(c->audit_path.empty());
}

TEST(ServerConfigTest, RelativePathsAreTakenFromTheConfigDirectory) {
  auto c = parse_with("[store]\npath = \"state.json\"\nkek_file = \"/run/credentials/kek\"\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->tls_cert, fs::path("/etc/stek/s.crt"));
  EXPECT_EQ(c->store_path, fs::path("/etc/stek/state.json"));
  EXPECT_EQ(c->kek_file, fs::path("/run/credentials/kek"));
  EXPECT_EQ(c->generation_file, fs::path("/run/credentials/kek.generation"));
}

TEST(ServerConfigTest, GenerationFileCanLiveApartFromTheKek) {
  auto c = parse_with(
      "[store]\nkek_file = \"/run/credentials/kek\"\n"
      "generation_file = \"counter/generation\"\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->generation_file, fs::path("/etc/stek/counter/generation"));
}

TEST(ServerConfigTest, ReadsEverySectionAndAnEmptyMetricsListenDisablesMetrics) {
  auto c = parse_with(
      "[server]\nlisten = \"[::1]:9000\"\nmetrics_listen = \"\"\nlong_poll_timeout = "
      "30\nstale_after = 45\n"
      "[schedule]\ninterval = 60\nhistory = 3\nlookahead = 4\n"
      "[limits]\nconnections_per_identity = 2\nbody_bytes = 0\nmax_unauthenticated = 50\n"
      "handshake_timeout = 3\n[audit]\npath = \"audit.jsonl\"\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->listen.host, "::1");
  EXPECT_EQ(c->listen.port, 9000);
  EXPECT_FALSE(c->metrics_listen.has_value());
  EXPECT_EQ(c->long_poll_timeout, 30);
  EXPECT_EQ(c->stale_after, 45);
  EXPECT_EQ(c->schedule.lookahead, 4);
  EXPECT_EQ(c->connections_per_identity, 2u);
  EXPECT_EQ(c->body_bytes, 0u);
  EXPECT_EQ(c->max_unauthenticated, 50u);
  EXPECT_EQ(c->handshake_timeout, 3);
  EXPECT_EQ(c->audit_path, fs::path("/etc/stek/audit.jsonl"));
}

TEST(ServerConfigTest, CrlIsAPathOrAListOfPathsAndNoneByDefault) {
  EXPECT_TRUE(parse_with("")->tls_crl.empty());
  const std::string tls = kTls + "crl = \"clients.crl\"\n";
  auto one = parse(tls + kDomains);
  ASSERT_TRUE(one.ok()) << one.error().message;
  EXPECT_EQ(one->tls_crl, (std::vector<fs::path>{"/etc/stek/clients.crl"}));
  const std::string two = kTls + "crl = [\"a.crl\", \"/srv/b.crl\"]\n";
  auto list = parse(two + kDomains);
  ASSERT_TRUE(list.ok()) << list.error().message;
  EXPECT_EQ(list->tls_crl, (std::vector<fs::path>{"/etc/stek/a.crl", "/srv/b.crl"}));
  expect_config_error(parse(kTls + "crl = 1\n" + kDomains), "tls.crl");
  expect_config_error(parse(kTls + "crl = [\"\"]\n" + kDomains), "tls.crl");
}

TEST(ServerConfigTest, UnknownKeysAreErrorsNotDefaults) {
  expect_config_error(parse_with("[server]\nlisten_on = \"127.0.0.1:1\"\n"),
                      "\"server.listen_on\"");
  expect_config_error(parse_with("[cache]\nsize = 1\n"), "\"cache.size\"");
  expect_config_error(parse("verbose = true\n" + kTls + kDomains), "top-level key \"verbose\"");
}

TEST(ServerConfigTest, WrongTypesAreErrors) {
  expect_config_error(parse_with("[server]\nlisten = 8443\n"), "server.listen must be a string");
  expect_config_error(parse_with("[server]\nlong_poll_timeout = \"30\"\n"),
                      "server.long_poll_timeout");
  expect_config_error(parse_with("[schedule]\ninterval = 1.5\n"), "schedule.interval");
  expect_config_error(parse(kTls + "[domains]\nnames = \"eu\"\n"), "domains.names must be a list");
  expect_config_error(parse(kTls + "[domains]\nnames = [1]\n"), "domains.names must be a list");
  expect_config_error(parse_with("[store]\npath = 3\n"), "store.path must be a string");
}

TEST(ServerConfigTest, OutOfRangeValuesAreErrors) {
  expect_config_error(parse_with("[server]\nlong_poll_timeout = 0\n"), "from 1 to 3600");
  expect_config_error(parse_with("[limits]\nheader_bytes = 100\n"), "limits.header_bytes");
  expect_config_error(parse_with("[limits]\nhandshake_timeout = 0\n"), "limits.handshake_timeout");
  expect_config_error(parse_with("[limits]\nmax_unauthenticated = 0\n"),
                      "limits.max_unauthenticated");
  // Each value is in range, together they are not: H x I is more than seven days.
  expect_config_error(parse_with("[schedule]\ninterval = 86400\nhistory = 8\n"), "schedule");
}

TEST(ServerConfigTest, TlsFilesAreRequired) {
  expect_config_error(parse(kDomains), "tls.cert, tls.key and tls.client_ca are required");
  expect_config_error(parse(kDomains + "[tls]\ncert = \"s.crt\"\nkey = \"s.key\"\n"),
                      "are required");
}

TEST(ServerConfigTest, BadListenAddressesAreErrorsNamingTheKey) {
  for (const char* bad :
       {"localhost", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:http", ":8443"}) {
    expect_config_error(parse_with(std::string("[server]\nlisten = \"") + bad + "\"\n"),
                        "server.listen");
  }
  expect_config_error(parse_with("[server]\nmetrics_listen = \"9464\"\n"), "server.metrics_listen");
}

TEST(ServerConfigTest, DomainListMustBeValidUniqueAndNonEmpty) {
  expect_config_error(parse(kTls), "at least one domain");
  expect_config_error(parse(kTls + "[domains]\nnames = []\n"), "at least one domain");
  expect_config_error(parse(kTls + "[domains]\nnames = [\"eu\", \"eu\"]\n"), "\"eu\" twice");
  expect_config_error(parse(kTls + "[domains]\nnames = [\"\"]\n"), "domains.names");
}

TEST(ServerConfigTest, PerHostDomainsAreNoneByDefaultAndMustBeListedDomains) {
  EXPECT_TRUE(parse(kTls + kDomains)->per_host_domains.empty());
  auto c = parse(kTls + "[domains]\nnames = [\"eu\", \"us\"]\nper_host = [\"us\"]\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->per_host_domains, std::vector<std::string>{"us"});
  expect_config_error(parse(kTls + "[domains]\nnames = [\"eu\"]\nper_host = [\"us\"]\n"),
                      "domains.names does not list");
  expect_config_error(parse(kTls + "[domains]\nnames = [\"eu\"]\nper_host = [\"eu\", \"eu\"]\n"),
                      "\"eu\" twice");
  expect_config_error(parse(kTls + "[domains]\nnames = [\"eu\"]\nper_host = \"eu\"\n"),
                      "domains.per_host must be a list");
}

TEST(ServerConfigTest, SyntaxErrorsAndUnknownBackendsAreConfigErrors) {
  expect_config_error(parse("[server\nlisten = 1\n"), "TOML syntax error at line 1");
  expect_config_error(parse_with("[store]\nbackend = \"consul\"\n"),
                      "store.backend \"consul\" is not supported");
}

TEST(ServerConfigTest, LoadsAFileAndResolvesPathsFromItsDirectory) {
  std::string tmpl = (fs::temp_directory_path() / "stek-config-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const fs::path dir = tmpl;
  std::ofstream(dir / "stekd.toml") << kTls << kDomains;
  auto c = load_server_config(dir / "stekd.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->tls_client_ca, dir / "ca.crt");
  std::ofstream(dir / "bad.toml") << kTls;
  auto bad = load_server_config(dir / "bad.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::config);
  EXPECT_EQ(bad.error().message.rfind((dir / "bad.toml").string(), 0), 0u) << bad.error().message;
  auto missing = load_server_config(dir / "missing.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::io);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace stek::server

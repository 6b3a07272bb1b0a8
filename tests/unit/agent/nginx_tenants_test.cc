// Tenants on one nginx: server blocks and their listen sockets, and which configurations the
// nginx sink refuses (another domain's keys on its socket) or warns about.
#include "nginx_tenants.h"

#include <fstream>

#include <gtest/gtest.h>

#include "fakes.h"
#include "nginx_conf.h"

namespace stek::agent {
namespace {

using testing::TempDir;

void put_file(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

constexpr const char* kKeys =
    "# Written by stek-agent; do not edit. The first key encrypts.\n"
    "ssl_session_ticket_key \"/dev/shm/k/00.key\";\n";

std::string tenant_conf(const std::string& listen_a, const std::string& listen_b) {
  return "events { worker_connections 64; }\n"
         "http {\n"
         "  server {\n    listen " +
         listen_a +
         ";\n    server_name a.test;\n"
         "    include a.conf;\n    location / { return 200; }\n  }\n"
         "  server {\n    listen " +
         listen_b +
         ";\n    server_name b.test;\n"
         "    include b.conf;\n  }\n"
         "}\n";
}

TEST(NginxServers, ListsServerBlocksWithTheirListenSocketsAndIncludes) {
  TempDir dir;
  put_file(dir / "a.conf", kKeys);
  put_file(dir / "sites/b.conf",
           "server {\n  listen [::]:8443 ssl default_server;\n  listen 80;\n}\n");
  put_file(dir / "nginx.conf",
           "stream { server { listen 9000; } }\n"
           "http {\n  upstream u { server 127.0.0.1:1; }\n"
           "  server { listen 127.0.0.1:443 ssl; include a.conf; location / { } }\n"
           "  include sites/*.conf;\n  server { server_name none; }\n}\n");
  auto servers = find_http_servers(dir / "nginx.conf");
  ASSERT_TRUE(servers.ok()) << servers.error().message;
  ASSERT_EQ(servers->size(), 3u);  // stream's server is not http's
  EXPECT_EQ((*servers)[0].listens, std::vector<std::string>{"127.0.0.1:443"});
  EXPECT_TRUE((*servers)[0].ticket_keys);
  ASSERT_EQ((*servers)[0].includes.size(), 1u);
  EXPECT_EQ((*servers)[0].includes[0].filename(), "a.conf");
  EXPECT_NE((*servers)[0].where.find("nginx.conf:4"), std::string::npos) << (*servers)[0].where;
  EXPECT_EQ((*servers)[1].listens, (std::vector<std::string>{"[::]:8443", "*:80"}));
  EXPECT_EQ((*servers)[1].default_listens, std::vector<std::string>{"[::]:8443"});
  EXPECT_FALSE((*servers)[1].ticket_keys);
  EXPECT_EQ((*servers)[2].listens, std::vector<std::string>{"*:80"});  // nginx's default
}

TEST(NginxTenantCheck, RefusesAnotherDomainsKeysOnTheSameListenSocket) {
  TempDir dir;
  put_file(dir / "a.conf", kKeys);
  put_file(dir / "b.conf", kKeys);
  put_file(dir / "nginx.conf", tenant_conf("127.0.0.1:8443 ssl", "127.0.0.1:8443 ssl"));
  auto check = check_nginx_tenants(dir / "nginx.conf", dir / "a.conf");
  ASSERT_TRUE(check.ok()) << check.error().message;
  ASSERT_EQ(check->refusals.size(), 1u);
  EXPECT_NE(check->refusals[0].find("listen 127.0.0.1:8443"), std::string::npos);
  EXPECT_NE(check->refusals[0].find("nginx.conf:3"), std::string::npos) << check->refusals[0];
  EXPECT_NE(check->refusals[0].find("its own listen address or port"), std::string::npos);
  EXPECT_TRUE(check->warnings.empty());
}

TEST(NginxTenantCheck, AKeylessIncludeOfAnotherAgentIsAnotherDomainToo) {
  TempDir dir;
  put_file(dir / "a.conf", kKeys);
  put_file(dir / "b.conf",
           "# Written by stek-agent; do not edit. No stek key covers the current"
           " epoch:\n");
  put_file(dir / "nginx.conf", tenant_conf("8443 ssl", "8443 ssl"));
  auto check = check_nginx_tenants(dir / "nginx.conf", dir / "a.conf");
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check->refusals.size(), 1u);
}

TEST(NginxTenantCheck, OneListenSocketPerDomainIsAccepted) {
  TempDir dir;
  put_file(dir / "a.conf", kKeys);
  put_file(dir / "b.conf", kKeys);
  put_file(dir / "nginx.conf", tenant_conf("127.0.0.1:8443 ssl", "127.0.0.2:8443 ssl"));
  auto check = check_nginx_tenants(dir / "nginx.conf", dir / "a.conf");
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->refusals.empty());
  EXPECT_TRUE(check->warnings.empty());
}

TEST(NginxTenantCheck, ServerWithoutKeysOnTheSocketIsAWarning) {
  TempDir dir;
  put_file(dir / "a.conf", kKeys);
  put_file(dir / "b.conf", "# not a key file\n");
  put_file(dir / "nginx.conf", tenant_conf("8443 ssl", "8443 ssl default_server"));
  auto check = check_nginx_tenants(dir / "nginx.conf", dir / "a.conf");
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->refusals.empty());
  ASSERT_EQ(check->warnings.size(), 1u);
  // b.test is the socket's default server: its (nginx's own) keys encrypt a.test's tickets.
  EXPECT_NE(check->warnings[0].find("default server (" + (dir / "nginx.conf").string() + ":9)"),
            std::string::npos)
      << check->warnings[0];
}

TEST(NginxTenantCheck, KeysIncludedForTheWholeHttpSectionAreOneDomain) {
  TempDir dir;
  put_file(dir / "a.conf", kKeys);
  put_file(dir / "nginx.conf",
           "http {\n  include a.conf;\n  server { listen 8443; }\n  server { listen 8443; }\n}\n");
  auto check = check_nginx_tenants(dir / "nginx.conf", dir / "a.conf");
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->refusals.empty() && check->warnings.empty());
}

}  // namespace
}  // namespace stek::agent

// The [store] keys of the etcd backend: parsed with relative paths resolved, required ones
// enforced, endpoints checked as https URLs, and refused with the file backend.
#include <string>

#include <gtest/gtest.h>

#include "config.h"

namespace stek::server {
namespace {

const std::string kEtcdBase =
    "[tls]\ncert = \"s.crt\"\nkey = \"s.key\"\nclient_ca = \"ca.crt\"\n"
    "[domains]\nnames = [\"eu\"]\n";

const std::string kEtcdStore =
    "[store]\nbackend = \"etcd\"\n"
    "endpoints = [\"https://127.0.0.1:2379\", \"https://[::1]:2379\"]\n"
    "etcd_ca = \"etcd/ca.crt\"\netcd_cert = \"etcd/c.crt\"\netcd_key = \"/k/c.key\"\n";

Result<ServerConfig> parse_etcd(const std::string& store) {
  return parse_server_config(kEtcdBase + store, "/etc/stek");
}

TEST(EtcdConfig, EtcdBackendReadsEndpointsPrefixAndTlsFiles) {
  auto c = parse_etcd(kEtcdStore + "prefix = \"/fleet/a/\"\nlease_ttl = 3\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->store_backend, "etcd");
  ASSERT_EQ(c->etcd_endpoints.size(), 2u);
  EXPECT_EQ(c->etcd_prefix, "/fleet/a");
  EXPECT_EQ(c->etcd_ca, "/etc/stek/etcd/ca.crt");
  EXPECT_EQ(c->etcd_key, "/k/c.key");
  EXPECT_EQ(c->etcd_lease_ttl, 3);
  EXPECT_EQ(c->etcd_poll_ms, 500);
}

TEST(EtcdConfig, MissingEndpointsOrTlsFilesOrPlainHttpAreConfigErrors) {
  auto none = parse_etcd("[store]\nbackend = \"etcd\"\n");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("store.endpoints"), std::string::npos);
  auto plain = parse_etcd(
      "[store]\nbackend = \"etcd\"\nendpoints = [\"http://127.0.0.1:2379\"]\n"
      "etcd_ca = \"a\"\netcd_cert = \"b\"\netcd_key = \"c\"\n");
  ASSERT_FALSE(plain.ok());
  EXPECT_EQ(plain.error().code, Errc::config);
  auto no_tls = parse_etcd("[store]\nbackend = \"etcd\"\nendpoints = [\"https://h:1\"]\n");
  ASSERT_FALSE(no_tls.ok());
  EXPECT_NE(no_tls.error().message.find("store.etcd_ca"), std::string::npos);
  auto root = parse_etcd(kEtcdStore + "prefix = \"/\"\n");
  ASSERT_FALSE(root.ok());
  EXPECT_NE(root.error().message.find("store.prefix"), std::string::npos);
}

TEST(EtcdConfig, EtcdKeysWithTheFileBackendAreRefusedNotIgnored) {
  auto c = parse_etcd("[store]\nendpoints = [\"https://127.0.0.1:2379\"]\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("applies only to store.backend"), std::string::npos);
  auto other = parse_etcd("[store]\nbackend = \"consul\"\n");
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.error().message.find("file, etcd"), std::string::npos);
}

}  // namespace
}  // namespace stek::server

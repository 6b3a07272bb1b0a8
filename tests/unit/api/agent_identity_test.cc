// stek-agent reads its own certificate with the codec stekd uses, so a certificate stekd
// would refuse stops the agent at start instead of silently serving a wrong identity.
#include <gtest/gtest.h>
#include <unistd.h>

#include "cert_fixture.h"
#include "identity.h"  // src/agent
#include "testing/expect.h"

namespace stek::agent {
namespace {

using stek::testing::cert_with_uris;
using stek::testing::expect_error_containing;
namespace fs = std::filesystem;

class AgentIdentity : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("stek-agent-identity-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(const std::vector<std::string>& uris) {
    auto cert = cert_with_uris(uris);
    const fs::path path = dir_ / "agent.crt";
    EXPECT_TRUE(cert && stek::testing::write_cert_pem(path, cert.get()));
    return path;
  }

  fs::path dir_;
};

TEST_F(AgentIdentity, ReadsTheHostAndItsDomains) {
  auto id = read_cert_identity(write({"stek:host:web1", "stek:domain:b", "stek:domain:a%20z"}));
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(id->host, "web1");
  EXPECT_EQ(id->domains, (std::vector<std::string>{"a z", "b"}));
}

TEST_F(AgentIdentity, RefusesTwoHostSansAsStekdDoes) {
  expect_error_containing(
      read_cert_identity(write({"stek:host:web1", "stek:host:web2", "stek:domain:a"})),
      Errc::invalid_argument, "certificate names more than one host");
}

TEST_F(AgentIdentity, RefusesAnAdminCertificate) {
  expect_error_containing(read_cert_identity(write({"stek:admin:alice"})), Errc::invalid_argument,
                          "an admin certificate");
  expect_error_containing(
      read_cert_identity(write({"stek:admin:alice", "stek:host:web1", "stek:domain:a"})),
      Errc::invalid_argument, "both an admin and a host");
}

TEST_F(AgentIdentity, RefusesMalformedSans) {
  expect_error_containing(read_cert_identity(write({"stek:host:web1", "stek:domain:%zz"})),
                          Errc::bad_format, "domain SAN");
  expect_error_containing(read_cert_identity(write({"stek:host:web1"})), Errc::invalid_argument,
                          "a host but no domain");
}

TEST_F(AgentIdentity, ACertificateNamingNoIdentityIsEmpty) {
  auto id = read_cert_identity(write({"https://example.com"}));
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_FALSE(id->host.has_value());
  EXPECT_TRUE(id->domains.empty());
}

TEST_F(AgentIdentity, AFileWithoutACertificateIsAnError) {
  const fs::path path = dir_ / "empty.crt";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    std::fclose(f);
  }
  expect_error_containing(read_cert_identity(path), Errc::bad_format, "no PEM certificate");
  expect_error_containing(read_cert_identity(dir_ / "missing.crt"), Errc::io, "cannot open");
}

}  // namespace
}  // namespace stek::agent

// stekctl pki encodes identities with the codec stekd and stek-agent decode them with: what
// it issues is what they read, and a name the codec refuses stops it before any file exists.
#include "pki.h"

#include <filesystem>
#include <memory>

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <unistd.h>

#include "stek/ossl_ptr.h"

#include "api/identity.h"

namespace stek::ctl {
namespace {

namespace fs = std::filesystem;

class Pki : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("stek-pki-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  Result<api::Identity> identity_of(const std::string& file) {
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen((dir_ / file).c_str(), "r"), &std::fclose);
    if (!f) return make_error(Errc::io, file + ": cannot open");
    const UniquePtr<X509> cert(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
    return api::identity_from_certificate(cert.get());
  }

  fs::path dir_;
};

TEST_F(Pki, IssuesCertificatesThatTheIdentityCodecReadsBack) {
  PkiInitArgs args;
  args.dir = dir_;
  args.admins = {"ops team"};
  args.hosts = {{"web1", {"us/east", "eu west"}}};
  ASSERT_TRUE(pki_init(args).ok());
  auto host = identity_of("host-web1.crt");
  ASSERT_TRUE(host.ok()) << host.error().message;
  EXPECT_EQ(*host, (api::Identity{api::Identity::Kind::agent, "web1", {"eu west", "us/east"}}));
  auto admin = identity_of("admin-ops team.crt");
  ASSERT_TRUE(admin.ok()) << admin.error().message;
  EXPECT_EQ(*admin, (api::Identity{api::Identity::Kind::admin, "ops team", {}}));

  PkiIssueArgs more;
  more.dir = dir_;
  more.host = HostSpec{"web2", {"eu west"}};
  ASSERT_TRUE(pki_issue(more).ok());
  auto web2 = identity_of("host-web2.crt");
  ASSERT_TRUE(web2.ok()) << web2.error().message;
  EXPECT_EQ(web2->name, "web2");
}

TEST_F(Pki, RefusesABadIdentityBeforeWritingAnything) {
  PkiInitArgs args;
  args.dir = dir_;
  args.admins = {"admin", std::string(256, 'a')};
  EXPECT_FALSE(pki_init(args).ok());
  EXPECT_FALSE(fs::exists(dir_ / "ca.key"));
  args.admins = {"admin"};
  args.hosts = {{"web1", {}}};  // a host without a domain would be refused by stekd
  EXPECT_FALSE(pki_init(args).ok());
  EXPECT_FALSE(fs::exists(dir_ / "ca.key"));
}

}  // namespace
}  // namespace stek::ctl

// ClientTrust: the client CA and CRLs in one store; a CRL revokes the leaf it lists (at the
// handshake and for open connections), a CRL appended to the CA file counts, a replaced CRL
// file is noticed, and a file without a CRL is refused. Certificates and CRLs are made here
// with OpenSSL (an EC P-256 CA and one leaf), written as PEM into a temporary directory.
#include "revocation.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <unistd.h>

namespace stek::server {
namespace {

namespace fs = std::filesystem;

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* c) const { X509_free(c); }
};
struct CrlFree {
  void operator()(X509_CRL* c) const { X509_CRL_free(c); }
};
struct StoreCtxFree {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;
using Crl = std::unique_ptr<X509_CRL, CrlFree>;

Key new_key() {
  return Key(EVP_EC_gen("P-256"));
}

Cert new_cert(const char* cn, long serial, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
  Cert c(X509_new());
  X509_set_version(c.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), 86400);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(c.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(
      c.get(), issuer != nullptr ? X509_get_subject_name(issuer) : X509_get_subject_name(c.get()));
  X509_set_pubkey(c.get(), key);
  if (issuer == nullptr) {  // the CA: may sign certificates and CRLs
    for (const auto& [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                                     std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"}}) {
      X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, nid, value);
      X509_add_ext(c.get(), ext, -1);
      X509_EXTENSION_free(ext);
    }
  }
  X509_sign(c.get(), issuer_key, EVP_sha256());
  return c;
}

Crl new_crl(X509* ca, EVP_PKEY* ca_key, std::initializer_list<long> revoked) {
  Crl crl(X509_CRL_new());
  X509_CRL_set_version(crl.get(), 1);
  X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca));
  ASN1_TIME* now = X509_gmtime_adj(nullptr, -60);
  ASN1_TIME* next = X509_gmtime_adj(nullptr, 86400);
  X509_CRL_set1_lastUpdate(crl.get(), now);
  X509_CRL_set1_nextUpdate(crl.get(), next);
  for (long serial : revoked) {
    X509_REVOKED* r = X509_REVOKED_new();
    ASN1_INTEGER* s = ASN1_INTEGER_new();
    ASN1_INTEGER_set(s, serial);
    X509_REVOKED_set_serialNumber(r, s);
    X509_REVOKED_set_revocationDate(r, now);
    X509_CRL_add0_revoked(crl.get(), r);
    ASN1_INTEGER_free(s);
  }
  ASN1_TIME_free(now);
  ASN1_TIME_free(next);
  X509_CRL_sort(crl.get());
  X509_CRL_sign(crl.get(), ca_key, EVP_sha256());
  return crl;
}

std::string pem(X509* c) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, c);
  char* data = nullptr;
  const long n = BIO_ctrl(b, BIO_CTRL_INFO, 0, &data);
  std::string s(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return s;
}

std::string pem(X509_CRL* c) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509_CRL(b, c);
  char* data = nullptr;
  const long n = BIO_ctrl(b, BIO_CTRL_INFO, 0, &data);
  std::string s(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return s;
}

class ClientTrustTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("stek-trust-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ca_key_ = new_key();
    ca_ = new_cert("stek test CA", 1, ca_key_.get(), nullptr, ca_key_.get());
    leaf_key_ = new_key();
    leaf_ = new_cert("web1", 42, leaf_key_.get(), ca_.get(), ca_key_.get());
    write(ca_file(), pem(ca_.get()));
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path ca_file() const { return dir_ / "ca.crt"; }
  fs::path crl_file() const { return dir_ / "clients.crl"; }
  // Written beside, then renamed over: how an operator replaces a CRL.
  void write(const fs::path& path, const std::string& text) {
    const fs::path tmp = path.string() + ".tmp";
    std::ofstream(tmp) << text;
    fs::rename(tmp, path);
  }
  // What a handshake's verification says of the leaf under this trust.
  int verify(const ClientTrust& trust) {
    X509_STORE* store = trust.share_store();
    std::unique_ptr<X509_STORE_CTX, StoreCtxFree> ctx(X509_STORE_CTX_new());
    X509_STORE_CTX_init(ctx.get(), store, leaf_.get(), nullptr);
    X509_verify_cert(ctx.get());
    const int err = X509_STORE_CTX_get_error(ctx.get());
    X509_STORE_free(store);
    return err;
  }

  fs::path dir_;
  Key ca_key_, leaf_key_;
  Cert ca_, leaf_;
};

TEST_F(ClientTrustTest, WithoutCrlTheLeafVerifiesAndNothingIsRevoked) {
  auto trust = ClientTrust::load(ca_file(), {});
  ASSERT_TRUE(trust.ok()) << trust.error().message;
  EXPECT_EQ(trust->crl_count(), 0u);
  EXPECT_EQ(verify(*trust), X509_V_OK);
  EXPECT_FALSE(trust->revokes(leaf_.get()));
}

TEST_F(ClientTrustTest, CrlListingTheLeafRevokesItAtTheHandshakeAndForOpenConnections) {
  write(crl_file(), pem(new_crl(ca_.get(), ca_key_.get(), {42}).get()));
  auto trust = ClientTrust::load(ca_file(), {crl_file()});
  ASSERT_TRUE(trust.ok()) << trust.error().message;
  EXPECT_EQ(trust->crl_count(), 1u);
  EXPECT_EQ(verify(*trust), X509_V_ERR_CERT_REVOKED);
  EXPECT_TRUE(trust->revokes(leaf_.get()));
}

TEST_F(ClientTrustTest, CrlListingOtherSerialsLetsTheLeafThrough) {
  write(crl_file(), pem(new_crl(ca_.get(), ca_key_.get(), {7}).get()));
  auto trust = ClientTrust::load(ca_file(), {crl_file()});
  ASSERT_TRUE(trust.ok());
  EXPECT_EQ(verify(*trust), X509_V_OK);
  EXPECT_FALSE(trust->revokes(leaf_.get()));
}

TEST_F(ClientTrustTest, CrlAppendedToTheCaFileIsHonoured) {
  write(ca_file(), pem(ca_.get()) + pem(new_crl(ca_.get(), ca_key_.get(), {42}).get()));
  auto trust = ClientTrust::load(ca_file(), {});
  ASSERT_TRUE(trust.ok());
  EXPECT_EQ(trust->crl_count(), 1u);
  EXPECT_EQ(verify(*trust), X509_V_ERR_CERT_REVOKED);
}

TEST_F(ClientTrustTest, ReplacedCrlIsNoticedAndItsReloadRevokes) {
  write(crl_file(), pem(new_crl(ca_.get(), ca_key_.get(), {}).get()));
  auto trust = ClientTrust::load(ca_file(), {crl_file()});
  ASSERT_TRUE(trust.ok());
  EXPECT_FALSE(trust->files_changed());
  EXPECT_EQ(verify(*trust), X509_V_OK);
  write(crl_file(), pem(new_crl(ca_.get(), ca_key_.get(), {42}).get()));
  EXPECT_TRUE(trust->files_changed());
  auto next = trust->reload();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->files_changed());
  EXPECT_EQ(verify(*next), X509_V_ERR_CERT_REVOKED);
  EXPECT_TRUE(next->revokes(leaf_.get()));
}

TEST_F(ClientTrustTest, VanishedCrlFileIsAChangeAndItsReloadFails) {
  write(crl_file(), pem(new_crl(ca_.get(), ca_key_.get(), {}).get()));
  auto trust = ClientTrust::load(ca_file(), {crl_file()});
  ASSERT_TRUE(trust.ok());
  fs::remove(crl_file());
  EXPECT_TRUE(trust->files_changed());
  EXPECT_EQ(trust->reload().error().code, Errc::io);
}

TEST_F(ClientTrustTest, CrlFileWithoutACrlIsRefused) {
  write(crl_file(), pem(ca_.get()));
  auto trust = ClientTrust::load(ca_file(), {crl_file()});
  ASSERT_FALSE(trust.ok());
  EXPECT_EQ(trust.error().code, Errc::bad_format);
}

TEST_F(ClientTrustTest, CaFileWithoutACertificateIsRefused) {
  write(ca_file(), "not a certificate\n");
  auto trust = ClientTrust::load(ca_file(), {});
  ASSERT_FALSE(trust.ok());
}

}  // namespace
}  // namespace stek::server

// Loading the client CA and CRLs, and asking whether a CRL revokes a certificate.
#include "revocation.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>

namespace stek::server {

namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};

// Adds every certificate and CRL of a PEM file to the store; counts what it added.
Status add_pem_file(X509_STORE* store, const std::filesystem::path& path, std::size_t& certs,
                    std::size_t& crls) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) {
    ERR_clear_error();
    return make_error(Errc::io, path.string() + ": cannot read");
  }
  STACK_OF(X509_INFO)* infos = PEM_X509_INFO_read_bio(bio.get(), nullptr, nullptr, nullptr);
  if (infos == nullptr) {
    ERR_clear_error();
    return make_error(Errc::bad_format, path.string() + ": not a PEM file");
  }
  Status result;
  for (int i = 0; i < sk_X509_INFO_num(infos) && result.ok(); ++i) {
    X509_INFO* info = sk_X509_INFO_value(infos, i);
    if (info->x509 != nullptr) {
      if (X509_STORE_add_cert(store, info->x509) != 1) {
        result = make_error(Errc::bad_format, path.string() + ": a certificate was refused");
      }
      ++certs;
    }
    if (info->crl != nullptr) {
      if (X509_STORE_add_crl(store, info->crl) != 1) {
        result = make_error(Errc::bad_format, path.string() + ": a CRL was refused");
      }
      ++crls;
    }
  }
  sk_X509_INFO_pop_free(infos, X509_INFO_free);
  ERR_clear_error();
  return result;
}

}  // namespace

FileStamp stamp_of(const std::filesystem::path& path) {
  struct stat st {};
  FileStamp s;
  if (::stat(path.c_str(), &st) != 0) return s;
  s.mtime = st.st_mtim;
  s.size = st.st_size;
  s.inode = st.st_ino;
  return s;
}

Result<ClientTrust> ClientTrust::load(const std::filesystem::path& client_ca,
                                      const std::vector<std::filesystem::path>& crl_files) {
  ClientTrust t;
  t.client_ca_ = client_ca;
  t.crl_files_ = crl_files;
  // Stamps first: a file replaced while it is read is seen as changed at the next check.
  t.stamps_ = t.stamps_now();
  t.store_.reset(X509_STORE_new());
  if (!t.store_) return make_error(Errc::crypto, "cannot allocate an X509 store");
  std::size_t certs = 0;
  STEK_TRY(add_pem_file(t.store_.get(), client_ca, certs, t.crl_count_));
  if (certs == 0) {
    return make_error(Errc::bad_format, client_ca.string() + ": holds no CA certificate");
  }
  for (const auto& f : crl_files) {
    std::size_t crls = 0;
    STEK_TRY(add_pem_file(t.store_.get(), f, certs, crls));
    if (crls == 0) return make_error(Errc::bad_format, f.string() + ": holds no CRL");
    t.crl_count_ += crls;
  }
  // The leaf only: stek's CAs issue host and admin certificates directly.
  if (t.crl_count_ > 0) X509_STORE_set_flags(t.store_.get(), X509_V_FLAG_CRL_CHECK);
  return t;
}

std::vector<FileStamp> ClientTrust::stamps_now() const {
  std::vector<FileStamp> now{stamp_of(client_ca_)};
  for (const auto& f : crl_files_) now.push_back(stamp_of(f));
  return now;
}

X509_STORE* ClientTrust::share_store() const {
  X509_STORE_up_ref(store_.get());
  return store_.get();
}

bool ClientTrust::revokes(X509* cert) const {
  if (crl_count_ == 0 || cert == nullptr) return false;
  bool revoked = false;
  STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(store_.get());
  for (int i = 0; i < sk_X509_OBJECT_num(objects) && !revoked; ++i) {
    X509_CRL* crl = X509_OBJECT_get0_X509_CRL(sk_X509_OBJECT_value(objects, i));
    if (crl == nullptr) continue;
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(cert)) != 0) continue;
    X509_REVOKED* entry = nullptr;
    revoked = X509_CRL_get0_by_cert(crl, &entry, cert) == 1;
  }
  return revoked;
}

}  // namespace stek::server

// ClientTrust: what a client certificate must chain to and must not be revoked by: the client
// CA file and the CRL files (tls.client_ca, tls.crl), loaded into one X509 store. CRLs
// appended to the client CA file count as well. When any CRL is loaded, every handshake checks
// the leaf against its issuer's CRL (X509_V_FLAG_CRL_CHECK). Files are watched by
// (mtime, size, inode), so a replaced CRL is noticed by a cheap stat, not a re-parse.
#pragma once

#include <ctime>
#include <filesystem>
#include <memory>
#include <vector>

#include <openssl/x509.h>
#include <sys/types.h>

#include "stek/result.h"

namespace stek::server {

struct X509StoreFree {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
using X509StorePtr = std::unique_ptr<X509_STORE, X509StoreFree>;

// What a file looked like when it was loaded; a different stamp means it changed.
struct FileStamp {
  std::timespec mtime{};
  off_t size = -1;  // -1: missing or unreadable
  ino_t inode = 0;
  bool operator==(const FileStamp& o) const {
    return mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec && size == o.size &&
           inode == o.inode;
  }
};

class ClientTrust {
 public:
  // Loads the CA file and every CRL file. Errc::io for a file that cannot be read,
  // Errc::bad_format for one that holds no certificate (CA) or no CRL (a CRL file).
  static Result<ClientTrust> load(const std::filesystem::path& client_ca,
                                  const std::vector<std::filesystem::path>& crl_files);

  // The files' stamps now (client CA first, then the CRL files), and as they were at load:
  // they differ when a file was replaced, changed or removed.
  std::vector<FileStamp> stamps_now() const;
  const std::vector<FileStamp>& stamps_at_load() const { return stamps_; }
  bool files_changed() const { return stamps_now() != stamps_; }
  // A fresh load of the same files.
  Result<ClientTrust> reload() const { return load(client_ca_, crl_files_); }

  // The store for the TLS context (a new reference: the caller owns it).
  X509_STORE* share_store() const;
  std::size_t crl_count() const { return crl_count_; }
  // Whether a CRL of this trust, issued by the certificate's issuer, lists its serial: how
  // stekd finds the open connections a new CRL revokes.
  bool revokes(X509* cert) const;

 private:
  ClientTrust() = default;

  std::filesystem::path client_ca_;
  std::vector<std::filesystem::path> crl_files_;
  std::vector<FileStamp> stamps_;  // client_ca_ first, then crl_files_
  X509StorePtr store_;
  std::size_t crl_count_ = 0;
};

// The stamp of `path` now; size -1 when it cannot be read.
FileStamp stamp_of(const std::filesystem::path& path);

}  // namespace stek::server

// Certificates with chosen URI SANs, made in memory for the identity tests.
#pragma once

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "stek/ossl_ptr.h"

namespace stek::testing {

using CertPtr = UniquePtr<X509>;

// A self-signed P-256 certificate whose subjectAltName holds `uris` verbatim (no
// escaping: the tests choose the exact bytes), plus a DNS name so it is never empty.
inline CertPtr cert_with_uris(const std::vector<std::string>& uris) {
  const UniquePtr<EVP_PKEY> key(EVP_EC_gen("P-256"));
  CertPtr cert(X509_new());
  if (!key || !cert) return nullptr;
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  const UniquePtr<GENERAL_NAMES> names(sk_GENERAL_NAME_new_null());
  auto add = [&](int type, const std::string& value) {
    ASN1_IA5STRING* s = ASN1_IA5STRING_new();
    ASN1_STRING_set(s, value.data(), static_cast<int>(value.size()));
    GENERAL_NAME* n = GENERAL_NAME_new();
    GENERAL_NAME_set0_value(n, type, s);
    sk_GENERAL_NAME_push(names.get(), n);
  };
  add(GEN_DNS, "test.invalid");
  for (const std::string& uri : uris) add(GEN_URI, uri);
  X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT);
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return nullptr;
  return cert;
}

// Writes `cert` as PEM to `path`; false on failure.
inline bool write_cert_pem(const std::filesystem::path& path, X509* cert) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "w"), &std::fclose);
  return f && PEM_write_X509(f.get(), cert) == 1;
}

}  // namespace stek::testing

// One owner type for OpenSSL objects: stek::UniquePtr<T> frees a T with OpenSSL's own free
// function for that type, so no file declares its own deleter or frees by hand.
//   stek::UniquePtr<EVP_MD_CTX> md(EVP_MD_CTX_new());
// Types are added here as the code needs them: one line each.
#pragma once

#include <memory>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace stek {

namespace detail {
// Specialised once per OpenSSL type below; an unknown type fails to compile.
template <typename T>
struct OsslDeleter;

#define STEK_OSSL_DELETER(type, free_function)                    \
  template <>                                                     \
  struct OsslDeleter<type> {                                      \
    void operator()(type* p) const noexcept { free_function(p); } \
  }

STEK_OSSL_DELETER(EVP_CIPHER, EVP_CIPHER_free);
STEK_OSSL_DELETER(EVP_CIPHER_CTX, EVP_CIPHER_CTX_free);
STEK_OSSL_DELETER(EVP_KDF, EVP_KDF_free);
STEK_OSSL_DELETER(EVP_KDF_CTX, EVP_KDF_CTX_free);
STEK_OSSL_DELETER(EVP_MAC, EVP_MAC_free);
STEK_OSSL_DELETER(EVP_MAC_CTX, EVP_MAC_CTX_free);
STEK_OSSL_DELETER(EVP_MD_CTX, EVP_MD_CTX_free);
STEK_OSSL_DELETER(EVP_PKEY, EVP_PKEY_free);
STEK_OSSL_DELETER(EVP_PKEY_CTX, EVP_PKEY_CTX_free);
STEK_OSSL_DELETER(X509, X509_free);
STEK_OSSL_DELETER(X509_NAME, X509_NAME_free);
STEK_OSSL_DELETER(SSL, SSL_free);
STEK_OSSL_DELETER(SSL_CTX, SSL_CTX_free);
STEK_OSSL_DELETER(SSL_SESSION, SSL_SESSION_free);
STEK_OSSL_DELETER(BIO, BIO_free_all);
STEK_OSSL_DELETER(BIGNUM, BN_free);
STEK_OSSL_DELETER(X509_EXTENSION, X509_EXTENSION_free);
STEK_OSSL_DELETER(GENERAL_NAMES, GENERAL_NAMES_free);  // a stack of GENERAL_NAME, with its items

#undef STEK_OSSL_DELETER
}  // namespace detail

template <typename T>
using UniquePtr = std::unique_ptr<T, detail::OsslDeleter<T>>;

}  // namespace stek

// AES-256-GCM sealing under the KEK.
#include "stek/seal.h"

#include <cstring>

#include <openssl/evp.h>

#include "stek/ossl_ptr.h"

namespace stek {

Result<Kek> make_kek(SecretBytes key) {
  if (key.size() != kKekSize) {
    return make_error(Errc::bad_size,
                      "KEK is " + std::to_string(key.size()) + " bytes, expected 32");
  }
  STEK_TRY(check_key_material("KEK", key.view()));
  static constexpr std::string_view kLabel = "stek/kek-id/v1";
  std::uint8_t digest[32];
  unsigned int len = 0;
  UniquePtr<EVP_MD_CTX> md(EVP_MD_CTX_new());
  const bool ok = md && EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) == 1 &&
                  EVP_DigestUpdate(md.get(), kLabel.data(), kLabel.size()) == 1 &&
                  EVP_DigestUpdate(md.get(), key.data(), key.size()) == 1 &&
                  EVP_DigestFinal_ex(md.get(), digest, &len) == 1;
  if (!ok) return make_error(Errc::crypto, "SHA-256 failed");
  return Kek{std::move(key), to_hex(ByteView(digest, 8))};
}

Result<Bytes> seal(const Kek& kek, ByteView plaintext, std::string_view aad, Random& random) {
  Bytes out(kSealNonceSize + plaintext.size() + kSealTagSize);
  STEK_TRY(random.fill(std::span(out.data(), kSealNonceSize)));
  UniquePtr<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  const auto* aad_bytes = reinterpret_cast<const unsigned char*>(aad.data());
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, kek.key.data(), out.data()) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad_bytes, static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), out.data() + kSealNonceSize, &len, plaintext.data(),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), out.data() + kSealNonceSize + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kSealTagSize,
                          out.data() + kSealNonceSize + plaintext.size()) != 1) {
    return make_error(Errc::crypto, "AES-256-GCM sealing failed");
  }
  return out;
}

Result<SecretBytes> unseal(const Kek& kek, ByteView sealed, std::string_view aad) {
  if (sealed.size() < kSealNonceSize + kSealTagSize) {
    return make_error(Errc::integrity,
                      "sealed record is truncated (" + std::to_string(sealed.size()) + " bytes)");
  }
  const std::size_t n = sealed.size() - kSealNonceSize - kSealTagSize;
  SecretBytes out(n);
  UniquePtr<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  const auto* aad_bytes = reinterpret_cast<const unsigned char*>(aad.data());
  std::uint8_t tag[kSealTagSize];
  std::memcpy(tag, sealed.data() + kSealNonceSize + n, kSealTagSize);
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, kek.key.data(), sealed.data()) !=
          1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad_bytes, static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), out.data(), &len, sealed.data() + kSealNonceSize,
                        static_cast<int>(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kSealTagSize, tag) != 1) {
    return make_error(Errc::crypto, "AES-256-GCM setup failed");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), out.data() + len, &len) != 1) {
    return make_error(Errc::integrity, "authentication failed: wrong KEK or damaged data");
  }
  return out;
}

}  // namespace stek

// HKDF-SHA256 through OpenSSL 3's EVP_KDF, and the stek/v1 key derivation K(d,e).
#include "stek/derive.h"

#include <algorithm>
#include <array>
#include <string>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "stek/key.h"
#include "stek/ossl_ptr.h"

namespace stek {

Result<SecretBytes> hkdf_sha256(ByteView salt, ByteView ikm, ByteView info, std::size_t length) {
  if (length == 0 || length > 255 * 32) {
    return make_error(Errc::invalid_argument,
                      "HKDF-SHA256 output length " + std::to_string(length) + " is out of 1..8160");
  }
  // Fetched once: EVP_KDF_fetch walks the provider tables and is not free.
  static const UniquePtr<EVP_KDF> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) return make_error(Errc::crypto, "OpenSSL has no HKDF implementation");
  UniquePtr<EVP_KDF_CTX> ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) return make_error(Errc::crypto, "EVP_KDF_CTX_new failed");

  char digest[] = "SHA256";
  // OSSL_PARAM wants non-const pointers; OpenSSL only reads these buffers.
  auto octets = [](ByteView v) { return const_cast<std::uint8_t*>(v.data()); };
  std::array<OSSL_PARAM, 5> params{};
  std::size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, octets(ikm), ikm.size());
  if (!salt.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, octets(salt), salt.size());
  }
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, octets(info), info.size());
  params[n] = OSSL_PARAM_construct_end();

  SecretBytes out(length);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params.data()) != 1) {
    return make_error(Errc::crypto, "HKDF-SHA256 derivation failed");
  }
  return out;
}

Status validate_domain_id(std::string_view domain) {
  if (domain.empty() || domain.size() > 255) {
    return make_error(Errc::invalid_argument,
                      "domain id must be 1 to 255 bytes, got " + std::to_string(domain.size()));
  }
  // Well-formed UTF-8 without control characters (NUL separates fields in the info string).
  std::size_t i = 0;
  while (i < domain.size()) {
    const auto c = static_cast<unsigned char>(domain[i]);
    std::size_t len = c < 0x80           ? 1
                      : (c >> 5) == 0x6  ? 2
                      : (c >> 4) == 0xe  ? 3
                      : (c >> 3) == 0x1e ? 4
                                         : 0;
    if (len == 0 || i + len > domain.size()) {
      return make_error(Errc::invalid_argument,
                        "domain id is not valid UTF-8 at byte " + std::to_string(i));
    }
    if (len == 1 && (c < 0x20 || c == 0x7f)) {
      return make_error(Errc::invalid_argument,
                        "domain id has a control character at byte " + std::to_string(i));
    }
    std::uint32_t cp = len == 1 ? c : c & (0xff >> (len + 1));
    for (std::size_t j = 1; j < len; ++j) {
      const auto cc = static_cast<unsigned char>(domain[i + j]);
      if ((cc & 0xc0) != 0x80) {
        return make_error(Errc::invalid_argument,
                          "domain id is not valid UTF-8 at byte " + std::to_string(i + j));
      }
      cp = cp << 6 | (cc & 0x3f);
    }
    static constexpr std::uint32_t kMinForLen[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLen[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return make_error(Errc::invalid_argument,
                        "domain id is not valid UTF-8 at byte " + std::to_string(i));
    }
    if (cp >= 0x80 && cp <= 0x9f) {  // C1 controls (U+0080..U+009F), e.g. NEL
      return make_error(Errc::invalid_argument,
                        "domain id has a control character at byte " + std::to_string(i));
    }
    i += len;
  }
  return {};
}

Result<Bytes> derivation_info(std::string_view domain, Epoch epoch) {
  STEK_TRY(validate_domain_id(domain));
  Bytes info(kDerivationLabel.begin(), kDerivationLabel.end());
  info.push_back(0);
  info.insert(info.end(), domain.begin(), domain.end());
  info.push_back(0);
  const auto e = static_cast<std::uint64_t>(epoch);
  for (int shift = 56; shift >= 0; shift -= 8)
    info.push_back(static_cast<std::uint8_t>(e >> shift));
  return info;
}

Result<TicketKey> derive_ticket_key(ByteView domain_secret, ByteView epoch_secret,
                                    std::string_view domain, Epoch epoch, KeySize size) {
  if (domain_secret.size() != kDomainSecretSize) {
    return make_error(Errc::bad_size, "domain secret is " + std::to_string(domain_secret.size()) +
                                          " bytes, expected 32");
  }
  if (epoch_secret.size() != kEpochSecretSize) {
    return make_error(Errc::bad_size, "epoch secret is " + std::to_string(epoch_secret.size()) +
                                          " bytes, expected 32");
  }
  STEK_TRY(check_key_material("domain secret", domain_secret));
  STEK_TRY(check_key_material("epoch secret", epoch_secret));
  STEK_ASSIGN_OR_RETURN(Bytes info, derivation_info(domain, epoch));
  STEK_ASSIGN_OR_RETURN(SecretBytes okm,
                        hkdf_sha256(domain_secret, epoch_secret, info, kDerivedKeySize));
  KeyName name{};
  std::copy_n(okm.data(), kKeyNameSize, name.begin());
  const std::size_t part = secret_size(size);
  return TicketKey::make(name, SecretBytes::copy_of(okm.view(16, part)),
                         SecretBytes::copy_of(okm.view(48, part)));
}

}  // namespace stek

// The stek key schedule's derivation, a wire contract shared by every implementation:
//   K(d,e) = HKDF-SHA256(salt = D_d, ikm = G_e,
//                        info = "stek/v1" 0x00 | domain (UTF-8) | 0x00 | e (8-byte BE),
//                        L = 80)
//   split as key name (16) | HMAC-SHA256 key (32) | AES-256 key (32).
// 48-byte keys use the name, and the first 16 bytes of each of the HMAC and AES keys.
#pragma once

#include <cstddef>
#include <string_view>

#include "stek/bytes.h"
#include "stek/key.h"
#include "stek/result.h"
#include "stek/schedule.h"
#include "stek/secret.h"

namespace stek {

inline constexpr std::size_t kEpochSecretSize = 32;
inline constexpr std::size_t kDomainSecretSize = 32;
inline constexpr std::size_t kDerivedKeySize = 80;
inline constexpr std::string_view kDerivationLabel = "stek/v1";
static_assert(kKeyNameSize + 32 + 32 == kDerivedKeySize);

// RFC 5869 HKDF with SHA-256 through OpenSSL's EVP_KDF.
Result<SecretBytes> hkdf_sha256(ByteView salt, ByteView ikm, ByteView info, std::size_t length);

// Domain ids are 1..255 bytes of UTF-8 without NUL or control characters.
Status validate_domain_id(std::string_view domain);

// The info string of the derivation, exposed for test vectors and other implementations.
Result<Bytes> derivation_info(std::string_view domain, Epoch epoch);

Result<TicketKey> derive_ticket_key(ByteView domain_secret, ByteView epoch_secret,
                                    std::string_view domain, Epoch epoch,
                                    KeySize size = KeySize::k80);

}  // namespace stek

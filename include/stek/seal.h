// Sealing at rest: AES-256-GCM under a key-encryption key (KEK), with associated data that
// binds each sealed record to its identity (a record cannot be moved or relabelled).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "stek/bytes.h"
#include "stek/random.h"
#include "stek/result.h"
#include "stek/secret.h"

namespace stek {

inline constexpr std::size_t kKekSize = 32;
inline constexpr std::size_t kSealNonceSize = 12;
inline constexpr std::size_t kSealTagSize = 16;

struct Kek {
  SecretBytes key;
  // A public fingerprint of the KEK (first 8 bytes of SHA-256 over a label and the key), so a
  // wrong KEK is reported as such instead of as damage.
  std::string id;
};

Result<Kek> make_kek(SecretBytes key);
// Reads a KEK file: 32 raw bytes or 64 hex digits (a trailing newline is allowed). Refuses a
// file that group or others may read: the KEK guards every stored secret.
Result<Kek> load_kek(const std::filesystem::path& path);

// nonce (12) | ciphertext | tag (16)
Result<Bytes> seal(const Kek& kek, ByteView plaintext, std::string_view aad, Random& random);
// Fails with Errc::integrity when the key, the data or the associated data do not match.
Result<SecretBytes> unseal(const Kek& kek, ByteView sealed, std::string_view aad);

}  // namespace stek

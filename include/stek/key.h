// TicketKey: one session ticket encryption key (name, HMAC key, AES key), with the hygiene
// checks every key must pass before a server may use it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "stek/result.h"
#include "stek/secret.h"

namespace stek {

inline constexpr std::size_t kKeyNameSize = 16;
using KeyName = std::array<std::uint8_t, kKeyNameSize>;

// The ticket layout of OpenSSL-family servers (nginx, HAProxy, Apache, OpenSSL's own keys,
// libstek); the key name is what lets a server (and stek-scan) tell which key sealed a ticket:
//   key name (16) | IV (16) | AES-CBC(session, PKCS#7 padding) | HMAC-SHA256 (32)
// The HMAC covers name, IV and ciphertext.
inline constexpr std::size_t kTicketIvSize = 16;
inline constexpr std::size_t kTicketMacSize = 32;
inline constexpr std::size_t kTicketBlockSize = 16;
// The shortest ticket with that layout: one block of ciphertext.
inline constexpr std::size_t kMinTicketSize =
    kKeyNameSize + kTicketIvSize + kTicketBlockSize + kTicketMacSize;
static_assert(kMinTicketSize == 80);

std::string key_name_hex(const KeyName& name);
Result<KeyName> parse_key_name_hex(std::string_view hex);

// Key strength as products name it by file size: 48 = name + 16 + 16 (AES-128),
// 80 = name + 32 + 32 (AES-256).
enum class KeySize { k48 = 48, k80 = 80 };

// Bytes of each secret (HMAC key, AES key) in a key of this size: 16 or 32.
constexpr std::size_t secret_size(KeySize size) {
  return size == KeySize::k80 ? 32 : 16;
}
static_assert(kKeyNameSize + 2 * secret_size(KeySize::k48) == 48);
static_assert(kKeyNameSize + 2 * secret_size(KeySize::k80) == 80);

class TicketKey {
 public:
  // aes: 16 or 32 bytes. hmac: 16 or 32 bytes; 64 is accepted for keys read from h2o,
  // which pads HMAC keys to the SHA-256 block size. Checks sizes and hygiene.
  static Result<TicketKey> make(const KeyName& name, SecretBytes hmac, SecretBytes aes);

  TicketKey(TicketKey&&) noexcept = default;
  TicketKey& operator=(TicketKey&&) noexcept = default;
  TicketKey clone() const { return TicketKey(name_, hmac_.clone(), aes_.clone()); }

  const KeyName& name() const { return name_; }
  const SecretBytes& hmac_key() const { return hmac_; }
  const SecretBytes& aes_key() const { return aes_; }
  // 48 when AES-128 with a 16-byte HMAC key, 80 when AES-256 with a 32-byte HMAC key;
  // other combinations (h2o's 64-byte HMAC keys) have no product size.
  std::optional<KeySize> size() const;
  std::string name_hex() const { return key_name_hex(name_); }

  // The same key bytes (constant time); names are compared separately.
  bool same_material(const TicketKey& other) const;

 private:
  TicketKey(const KeyName& n, SecretBytes h, SecretBytes a)
      : name_(n), hmac_(std::move(h)), aes_(std::move(a)) {}
  KeyName name_;
  SecretBytes hmac_;
  SecretBytes aes_;
};

// Refuses key material that is all zero or a single repeated byte: real fleets have
// shipped all-zero STEKs, and a repeated byte is the mark of a placeholder.
Status check_key_material(std::string_view what, ByteView bytes);

}  // namespace stek

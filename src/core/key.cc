// TicketKey construction and key hygiene.
#include "stek/key.h"

#include <algorithm>

#include "stek/bytes.h"

namespace stek {

std::string key_name_hex(const KeyName& name) {
  return to_hex(name);
}

Result<KeyName> parse_key_name_hex(std::string_view hex) {
  if (hex.size() != 2 * kKeyNameSize) {
    return make_error(Errc::bad_size,
                      "key name has " + std::to_string(hex.size()) + " hex digits, expected 32");
  }
  STEK_ASSIGN_OR_RETURN(SecretBytes bytes, from_hex(hex));
  KeyName name{};
  std::copy_n(bytes.data(), kKeyNameSize, name.begin());
  return name;
}

Status check_key_material(std::string_view what, ByteView bytes) {
  if (bytes.empty()) return make_error(Errc::bad_size, std::string(what) + " is empty");
  const bool repeated =
      std::all_of(bytes.begin(), bytes.end(), [&](std::uint8_t b) { return b == bytes[0]; });
  if (repeated) {
    return make_error(Errc::weak_key,
                      std::string(what) +
                          (bytes[0] == 0 ? " is all zero bytes" : " is one byte repeated") +
                          ": refusing a placeholder key");
  }
  return {};
}

Result<TicketKey> TicketKey::make(const KeyName& name, SecretBytes hmac, SecretBytes aes) {
  if (aes.size() != 16 && aes.size() != 32) {
    return make_error(Errc::bad_size,
                      "AES key is " + std::to_string(aes.size()) + " bytes, expected 16 or 32");
  }
  if (hmac.size() != 16 && hmac.size() != 32 && hmac.size() != 64) {
    return make_error(Errc::bad_size, "HMAC key is " + std::to_string(hmac.size()) +
                                          " bytes, expected 16, 32 or 64");
  }
  STEK_TRY(check_key_material("key name", name));
  STEK_TRY(check_key_material("HMAC key", hmac.view()));
  STEK_TRY(check_key_material("AES key", aes.view()));
  if (hmac.size() >= aes.size() && constant_time_equal(hmac.view(0, aes.size()), aes.view())) {
    return make_error(Errc::weak_key, "HMAC key and AES key are the same bytes");
  }
  return TicketKey(name, std::move(hmac), std::move(aes));
}

std::optional<KeySize> TicketKey::size() const {
  for (const KeySize size : {KeySize::k48, KeySize::k80}) {
    if (aes_.size() == secret_size(size) && hmac_.size() == secret_size(size)) return size;
  }
  return std::nullopt;
}

bool TicketKey::same_material(const TicketKey& other) const {
  // Either half repeating is already a shared key: both must be fresh.
  return hmac_.equals(other.hmac_.view()) || aes_.equals(other.aes_.view());
}

}  // namespace stek

// The 48-byte projection of stek's 80-byte keys, for products that take only 48-byte keys
// (Apache httpd, Traffic Server, nginx48, haproxy48). One definition, used by stekctl and
// every 48-byte sink, so a key keeps its name whatever the product.
#include <string>
#include <vector>

#include "stek/formats.h"

namespace stek {

Result<TicketKey> project_to_48(const TicketKey& key) {
  if (key.size() == KeySize::k48) return key.clone();
  constexpr std::size_t kPart = secret_size(KeySize::k48);
  // 80-byte keys, and h2o's AES-256 keys whose HMAC key is padded to 64 bytes: the padding
  // sits after the first 32 bytes, so the first 16 are the same.
  if (key.aes_key().size() != 32 || key.hmac_key().size() < 32) {
    return make_error(Errc::unsupported, "key " + key.name_hex() +
                                             " has no 48-byte projection (it needs a 32-byte "
                                             "AES key and an HMAC key of 32 bytes or more)");
  }
  return TicketKey::make(key.name(), SecretBytes::copy_of(key.hmac_key().view(0, kPart)),
                         SecretBytes::copy_of(key.aes_key().view(0, kPart)));
}

Result<KeyRing> project_ring_to_48(const KeyRing& ring) {
  std::vector<RingKey> keys;
  keys.reserve(ring.size());
  for (const RingKey& k : ring.keys()) {
    STEK_ASSIGN_OR_RETURN(TicketKey projected, project_to_48(k.key));
    keys.push_back({std::move(projected), k.meta});
  }
  return KeyRing::make(std::move(keys), ring.info());
}

}  // namespace stek

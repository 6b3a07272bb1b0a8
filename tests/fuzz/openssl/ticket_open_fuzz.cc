// Fuzz target: TicketCodec::open, the code that handles a ticket a client sends, on a ring of
// three keys (80- and 48-byte). The first input byte picks how the rest becomes a ticket:
//   0: the bytes as they are (any length, any name);
//   1: a held key's name, then the bytes (reaches the MAC check);
//   2: a held key's name, then the bytes as IV and ciphertext with a correct HMAC-SHA256
//      appended (reaches decryption and padding checks, which a forger cannot reach);
//   3: a ticket sealed by the codec with the bytes as session, then truncated or bit-flipped
//      at a position the input picks.
// open() must never crash and must resume only what the ring sealed.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "stek/openssl.h"

using namespace stek;

namespace {

TicketKey fixed_key(std::uint8_t seed, KeySize size) {
  const std::size_t part = size == KeySize::k80 ? 32 : 16;
  KeyName name{};
  for (std::size_t i = 0; i < name.size(); ++i) name[i] = static_cast<std::uint8_t>(seed + 3 * i);
  SecretBytes hmac(part), aes(part);
  for (std::size_t i = 0; i < part; ++i) {
    hmac.data()[i] = static_cast<std::uint8_t>(seed * 7 + 5 * i + 1);
    aes.data()[i] = static_cast<std::uint8_t>(seed * 11 + 13 * i + 2);
  }
  return TicketKey::make(name, std::move(hmac), std::move(aes)).value();
}

const KeyRing& ring() {
  static const KeyRing r = [] {
    std::vector<RingKey> keys;
    keys.push_back({fixed_key(1, KeySize::k80), KeyMeta{KeyRole::encrypt, {}, {}, {}, {}, {}}});
    keys.push_back({fixed_key(2, KeySize::k80), KeyMeta{KeyRole::decrypt, {}, {}, {}, {}, {}}});
    keys.push_back({fixed_key(3, KeySize::k48), KeyMeta{KeyRole::decrypt, {}, {}, {}, {}, {}}});
    return KeyRing::make(std::move(keys)).value();
  }();
  return r;
}

class CountingRandom final : public Random {
 public:
  Status fill(std::span<std::uint8_t> out) override {
    for (auto& b : out) b = static_cast<std::uint8_t>(n_++);
    return {};
  }

 private:
  std::uint32_t n_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static openssl::TicketCodec codec = openssl::TicketCodec::make().value();
  if (size == 0) return 0;
  const std::uint8_t mode = data[0] % 4;
  const std::uint8_t which = (size > 1 ? data[1] : 0) % 3;
  ByteView rest(data + 1, size - 1);
  const TicketKey& key = ring().keys()[which].key;
  Bytes ticket;
  switch (mode) {
    case 0:
      ticket.assign(rest.begin(), rest.end());
      break;
    case 1:
      ticket.assign(key.name().begin(), key.name().end());
      ticket.insert(ticket.end(), rest.begin(), rest.end());
      break;
    case 2: {
      ticket.assign(key.name().begin(), key.name().end());
      ticket.insert(ticket.end(), rest.begin(), rest.end());
      unsigned char mac[EVP_MAX_MD_SIZE];
      unsigned int mac_len = 0;
      HMAC(EVP_sha256(), key.hmac_key().data(), static_cast<int>(key.hmac_key().size()),
           ticket.data(), ticket.size(), mac, &mac_len);
      ticket.insert(ticket.end(), mac, mac + mac_len);
      break;
    }
    default: {
      CountingRandom random;
      auto sealed = codec.seal(ring(), rest, random);
      if (!sealed.ok()) return 0;
      ticket = std::move(sealed).value();
      const std::size_t at = rest.empty() ? 0 : rest[0] % (ticket.size() + 1);
      if (rest.size() > 1 && rest[1] % 2 == 0) {
        ticket.resize(std::min(at, ticket.size() - 1));  // truncated
      } else if (at < ticket.size()) {
        ticket[at] ^= static_cast<std::uint8_t>(1u << (rest.size() > 1 ? rest[1] % 8 : 0));
      } else {
        // Unchanged: must open to exactly what was sealed.
        openssl::OpenedTicket opened = codec.open(ring(), ticket);
        if (opened.result != openssl::TicketResult::ok || opened.length != rest.size() ||
            !std::equal(rest.begin(), rest.end(), opened.plaintext().begin())) {
          std::abort();
        }
        return 0;
      }
      openssl::OpenedTicket opened = codec.open(ring(), ticket);
      if (opened.resumes()) std::abort();  // a damaged ticket never resumes
      return 0;
    }
  }
  openssl::OpenedTicket opened = codec.open(ring(), ticket);
  if (mode < 2 && opened.resumes()) std::abort();  // nobody forges the MAC
  return 0;
}

// The ring identity's encoding and digest.
#include "api/ring_id.h"

#include <algorithm>
#include <vector>

#include <openssl/evp.h>

#include "stek/bytes.h"

namespace stek::api {

namespace {

// Versions the encoding: a different encoding must never give the same digest.
constexpr std::string_view kLabel = "stek/ring-id/v1";

void put_be(std::vector<std::uint8_t>& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

}  // namespace

Result<RingId> RingId::of(std::string_view domain, std::uint64_t version,
                          std::span<const RingKey> keys) {
  std::vector<const RingKey*> sorted;
  sorted.reserve(keys.size());
  for (const RingKey& k : keys) {
    if (!k.meta.epoch) {
      return make_error(Errc::invalid_argument,
                        "ring identity: key " + k.key.name_hex() + " has no epoch");
    }
    sorted.push_back(&k);
  }
  // Canonical order: by epoch, then by name (a key server's ring has one key per epoch).
  std::sort(sorted.begin(), sorted.end(), [](const RingKey* a, const RingKey* b) {
    if (*a->meta.epoch != *b->meta.epoch) return *a->meta.epoch < *b->meta.epoch;
    return a->key.name() < b->key.name();
  });
  // label 0x00 | u32 len(domain) | domain | u64 version | u32 count |
  // per key: i64 epoch | u32 secret version (0: none) | 16-byte name; integers big-endian.
  std::vector<std::uint8_t> message(kLabel.begin(), kLabel.end());
  message.push_back(0);
  put_be(message, domain.size(), 4);
  message.insert(message.end(), domain.begin(), domain.end());
  put_be(message, version, 8);
  put_be(message, sorted.size(), 4);
  for (const RingKey* k : sorted) {
    put_be(message, static_cast<std::uint64_t>(*k->meta.epoch), 8);
    put_be(message, k->meta.secret_version.value_or(0), 4);
    const KeyName& name = k->key.name();
    message.insert(message.end(), name.begin(), name.end());
  }
  RingId id;
  unsigned int len = 0;
  if (EVP_Digest(message.data(), message.size(), id.digest_.data(), &len, EVP_sha256(), nullptr) !=
          1 ||
      len != kSize) {
    return make_error(Errc::crypto, "ring identity: SHA-256 failed");
  }
  return id;
}

std::string to_string(const RingId& id) {
  return to_hex(ByteView(id.bytes().data(), id.bytes().size()));
}

std::string short_string(const RingId& id) {
  return to_string(id).substr(0, 12);
}

Result<RingId> parse_ring_id(std::string_view text, std::string_view what) {
  if (text.size() != 2 * RingId::kSize) {
    return make_error(Errc::bad_format, std::string(what) + " must be " +
                                            std::to_string(2 * RingId::kSize) + " hex digits");
  }
  RingId id;
  for (std::size_t i = 0; i < RingId::kSize; ++i) {
    const int hi = hex_digit_value(text[2 * i]);
    const int lo = hex_digit_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return make_error(Errc::bad_format, std::string(what) + " must be hex digits");
    }
    id.digest_[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return id;
}

}  // namespace stek::api

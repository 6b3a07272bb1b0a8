// Test helpers: deterministic, hygienic key material and rings, so tests can construct keys
// with known bytes and check where each byte lands.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "stek/bytes.h"
#include "stek/key.h"
#include "stek/ring.h"
#include "stek/secret.h"

namespace stek {
// Lets GoogleTest print roles by name in failure messages.
inline void PrintTo(KeyRole role, std::ostream* os) {
  *os << key_role_name(role);
}
}  // namespace stek

namespace stek::testing {

// n bytes, byte i the low byte of a bijective 64-bit mix of (seed, i): never all equal, and
// different seeds share no runs of material (not even shifted ones).
inline SecretBytes pattern_bytes(std::uint64_t seed, std::size_t n) {
  SecretBytes out(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t z = (seed << 20) + i + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    out.data()[i] = static_cast<std::uint8_t>(z);
  }
  return out;
}

// Bytes start, start+1, ... (mod 256): easy to recognise at an offset in a file.
inline SecretBytes counting_bytes(std::uint8_t start, std::size_t n) {
  SecretBytes out(n);
  for (std::size_t i = 0; i < n; ++i) out.data()[i] = static_cast<std::uint8_t>(start + i);
  return out;
}

inline KeyName name_from(const SecretBytes& bytes) {
  KeyName name{};
  for (std::size_t i = 0; i < kKeyNameSize; ++i) name[i] = bytes.data()[i];
  return name;
}

// A valid key of the given size whose bytes depend only on seed.
inline TicketKey make_key(std::uint64_t seed, KeySize size = KeySize::k80) {
  const std::size_t part = size == KeySize::k80 ? 32 : 16;
  SecretBytes all = pattern_bytes(seed, kKeyNameSize + 2 * part);
  return TicketKey::make(name_from(all), SecretBytes::copy_of(all.view(16, part)),
                         SecretBytes::copy_of(all.view(16 + part, part)))
      .value();
}

// A key whose name, HMAC and AES bytes are counting sequences starting at 0x10, 0x40 and
// 0x80: every byte of a serialised file says where it came from.
inline TicketKey make_counting_key(KeySize size) {
  const std::size_t part = size == KeySize::k80 ? 32 : 16;
  return TicketKey::make(name_from(counting_bytes(0x10, 16)), counting_bytes(0x40, part),
                         counting_bytes(0x80, part))
      .value();
}

inline RingKey ring_key(TicketKey key, KeyRole role) {
  KeyMeta meta;
  meta.role = role;
  return {std::move(key), meta};
}

// A ring whose keys have the given roles, in that order, with keys made from seeds
// first_seed, first_seed+1, ...
inline KeyRing make_ring(const std::vector<KeyRole>& roles, KeySize size = KeySize::k80,
                         std::uint64_t first_seed = 1) {
  std::vector<RingKey> keys;
  for (std::size_t i = 0; i < roles.size(); ++i) {
    keys.push_back(ring_key(make_key(first_seed + i, size), roles[i]));
  }
  return KeyRing::make(std::move(keys)).value();
}

inline std::vector<std::string> names_of(const KeyRing& ring) {
  std::vector<std::string> out;
  for (const RingKey& k : ring.keys()) out.push_back(k.key.name_hex());
  return out;
}

inline std::vector<KeyRole> roles_of(const KeyRing& ring) {
  std::vector<KeyRole> out;
  for (const RingKey& k : ring.keys()) out.push_back(k.meta.role);
  return out;
}

inline std::string text_of(const SecretBytes& bytes) {
  return std::string(as_chars(bytes.view()));
}

}  // namespace stek::testing

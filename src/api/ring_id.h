// Ring identity (docs/api.md): a digest that names the key material of one ring version
// without revealing any of it, so an agent can tell whether two stekds gave it the same keys
// for one version (invariant 2: a ring version names exactly one set of keys). It covers the
// domain, the ring version and, per key, its epoch, domain secret version and name. Key
// names are public (every ticket carries its key's name); no key byte enters the digest.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "stek/result.h"
#include "stek/ring.h"

namespace stek::api {

class RingId {
 public:
  static constexpr std::size_t kSize = 32;  // SHA-256

  // The identity of the ring `version` of `domain` made of `keys` (in any order):
  // SHA-256 of the encoding in docs/api.md. Errc::invalid_argument when a key has no epoch
  // (only a key server's rings have identities).
  static Result<RingId> of(std::string_view domain, std::uint64_t version,
                           std::span<const RingKey> keys);

  const std::array<std::uint8_t, kSize>& bytes() const { return digest_; }
  bool operator==(const RingId&) const = default;

 private:
  std::array<std::uint8_t, kSize> digest_{};
  friend Result<RingId> parse_ring_id(std::string_view text, std::string_view what);
};

// 64 lower-case hex digits, as in X-Stek-Ring-Id and "ring_id" in ring files.
std::string to_string(const RingId& id);
// The first 12 hex digits, enough to tell identities apart in a log line.
std::string short_string(const RingId& id);
// Parses 64 hex digits (either case). `what` names the field in errors.
Result<RingId> parse_ring_id(std::string_view text, std::string_view what);

}  // namespace stek::api

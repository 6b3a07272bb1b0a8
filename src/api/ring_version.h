// Ring versions (docs/api.md): one unsigned 64-bit number on the wire (wait=, the
// X-Stek-Ring-Version header, "version" in ring files) that packs the epoch and the domain
// secret version as epoch * 2^20 + secret_version, so it grows with either.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "stek/result.h"
#include "stek/schedule.h"

namespace stek::api {

class RingVersion {
 public:
  static constexpr int kSecretVersionBits = 20;
  static constexpr std::uint32_t kMaxSecretVersion = (1u << kSecretVersionBits) - 1;
  static constexpr Epoch kMaxEpoch = (Epoch{1} << (64 - kSecretVersionBits)) - 1;

  // Version 0: epoch 0, secret version 0 (what nothing held compares above).
  RingVersion() = default;

  // Refuses (Errc::invalid_argument) an epoch outside 0..kMaxEpoch or a secret version above
  // kMaxSecretVersion, which would not survive the trip through the wire value.
  static Result<RingVersion> make(Epoch epoch, std::uint64_t secret_version);
  // Every 64-bit value names exactly one version.
  static RingVersion from_wire(std::uint64_t wire);

  Epoch epoch() const { return epoch_; }
  std::uint32_t secret_version() const { return secret_version_; }
  std::uint64_t wire() const;

  // The same order as the wire values: by epoch, then by secret version.
  auto operator<=>(const RingVersion&) const = default;

 private:
  RingVersion(Epoch epoch, std::uint32_t secret_version)
      : epoch_(epoch), secret_version_(secret_version) {}

  Epoch epoch_ = 0;
  std::uint32_t secret_version_ = 0;
};

// The wire value in decimal, as in wait= and X-Stek-Ring-Version.
std::string to_string(RingVersion version);

// Parses the decimal wire value: digits only (no sign, no spaces), at most 2^64 - 1.
// `what` names the field in errors ("wait", "X-Stek-Ring-Version").
Result<RingVersion> parse_ring_version(std::string_view text, std::string_view what);

}  // namespace stek::api

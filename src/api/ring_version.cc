// Packing and parsing of ring versions.
#include "api/ring_version.h"

#include <charconv>

namespace stek::api {

static_assert(RingVersion::kMaxEpoch == (std::int64_t{1} << 44) - 1);

Result<RingVersion> RingVersion::make(Epoch epoch, std::uint64_t secret_version) {
  if (epoch < 0 || epoch > kMaxEpoch) {
    return make_error(Errc::invalid_argument, "ring version: epoch " + std::to_string(epoch) +
                                                  " is outside 0.." + std::to_string(kMaxEpoch));
  }
  if (secret_version > kMaxSecretVersion) {
    return make_error(Errc::invalid_argument, "ring version: secret version " +
                                                  std::to_string(secret_version) + " is above " +
                                                  std::to_string(kMaxSecretVersion));
  }
  return RingVersion(epoch, static_cast<std::uint32_t>(secret_version));
}

RingVersion RingVersion::from_wire(std::uint64_t wire) {
  return RingVersion(static_cast<Epoch>(wire >> kSecretVersionBits),
                     static_cast<std::uint32_t>(wire & kMaxSecretVersion));
}

std::uint64_t RingVersion::wire() const {
  return static_cast<std::uint64_t>(epoch_) << kSecretVersionBits | secret_version_;
}

std::string to_string(RingVersion version) {
  return std::to_string(version.wire());
}

Result<RingVersion> parse_ring_version(std::string_view text, std::string_view what) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) {
    return make_error(Errc::bad_format, std::string(what) + " must be a non-negative integer");
  }
  std::uint64_t wire = 0;
  const auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), wire);
  if (err != std::errc() || end != text.data() + text.size()) {
    return make_error(Errc::bad_format, std::string(what) + " is out of range");
  }
  return RingVersion::from_wire(wire);
}

}  // namespace stek::api

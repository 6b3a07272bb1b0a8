// Exponential backoff with jitter.
#include "backoff.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

namespace stek::agent {

std::chrono::milliseconds Backoff::delay(int round) {
  using std::chrono::milliseconds;
  const std::int64_t max = std::max<std::int64_t>(policy_.max.count(), 0);
  std::int64_t d = std::max<std::int64_t>(policy_.initial.count(), 0);
  for (int i = 1; i < round && d < max; ++i) d *= 2;
  d = std::min(d, max);
  const double jitter = std::clamp(policy_.jitter, 0.0, 1.0);
  std::array<std::uint8_t, 8> bytes{};
  // A failing random source costs only the jitter: fall back to the full delay.
  if (jitter == 0.0 || !random_.fill(bytes).ok()) return milliseconds(d);
  std::uint64_t r;
  std::memcpy(&r, bytes.data(), sizeof r);
  const double unit = static_cast<double>(r >> 11) / static_cast<double>(1ULL << 53);  // [0, 1)
  const double low = static_cast<double>(d) * (1.0 - jitter);
  return milliseconds(static_cast<std::int64_t>(low + unit * (static_cast<double>(d) - low)));
}

}  // namespace stek::agent

// The system clock.
#include "stek/clock.h"

#include <algorithm>
#include <chrono>

#include <time.h>

namespace stek {

UnixSeconds SystemClock::now() const {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

std::int64_t SystemClock::now_ms() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::optional<std::int64_t> SystemClock::elapsed_ms() const {
  timespec ts{};
  if (::clock_gettime(CLOCK_BOOTTIME, &ts) != 0) return std::nullopt;
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

std::chrono::milliseconds until_next_boundary(const Schedule& schedule, const Clock& clock,
                                              std::chrono::seconds most) {
  // A few milliseconds past the boundary: timers may fire early by a tick.
  constexpr std::int64_t kPastBoundaryMs = 5;
  const std::int64_t now_ms = clock.now_ms();
  const UnixSeconds now = now_ms >= 0 ? now_ms / 1000 : -((-now_ms + 999) / 1000);
  const std::int64_t wait_ms = (schedule.next_boundary(now) * 1000 - now_ms) + kPastBoundaryMs;
  return std::chrono::milliseconds(
      std::clamp<std::int64_t>(wait_ms, 1, std::chrono::milliseconds(most).count()));
}

}  // namespace stek

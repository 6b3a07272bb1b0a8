// Clock: the one source of "now". Injected so tests can pin time.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "stek/schedule.h"

namespace stek {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual UnixSeconds now() const = 0;
  // Milliseconds since the Unix epoch; clocks without a finer grain give now() * 1000.
  virtual std::int64_t now_ms() const { return now() * 1000; }
  // Milliseconds on a clock that is never stepped (it counts suspended time too), for telling
  // a stepped wall clock from time passing; nullopt when the clock has none.
  virtual std::optional<std::int64_t> elapsed_ms() const { return std::nullopt; }
};

// Wall-clock time (CLOCK_REALTIME), because epochs are defined on Unix time.
class SystemClock final : public Clock {
 public:
  UnixSeconds now() const override;
  std::int64_t now_ms() const override;
  std::optional<std::int64_t> elapsed_ms() const override;  // CLOCK_BOOTTIME
};

// How long a timer should wait to wake just after the schedule's next epoch boundary (so a
// now() read on waking is in the new epoch), at least 1 ms and at most `most`, so a stepped
// wall clock is noticed.
std::chrono::milliseconds until_next_boundary(const Schedule& schedule, const Clock& clock,
                                              std::chrono::seconds most);

}  // namespace stek

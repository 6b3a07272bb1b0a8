// Deciding which time stekd trusts when its wall clock steps.
#include "clock_guard.h"

#include <algorithm>

namespace stek::server {

void ClockGuard::restore(UnixSeconds last_trusted) {
  if (last_trusted <= 0) return;
  if (!trusted_ || *trusted_ < last_trusted) trusted_ = last_trusted;
  anchor_wall_ = *trusted_;
  anchor_elapsed_ms_.reset();  // another run: nothing measured since
}

void ClockGuard::accept(UnixSeconds wall, std::optional<std::int64_t> elapsed_ms) {
  trusted_ = wall;
  anchor_wall_ = wall;
  anchor_elapsed_ms_ = elapsed_ms;
  alarmed_ = false;
  offset_ = 0;
}

UnixSeconds ClockGuard::observe(UnixSeconds wall, std::optional<std::int64_t> elapsed_ms) {
  if (!trusted_) {
    accept(wall, elapsed_ms);
    return wall;
  }
  const UnixSeconds last = *trusted_;
  if (wall < last) {
    // Behind: hold the trusted time and re-anchor there, so the wall clock's catching up is
    // not mistaken for a forward step.
    offset_ = wall - last;
    const bool refused = max_step_ > 0 && last - wall > max_step_;
    if (refused) ++refused_total_;
    alarmed_ = refused;
    anchor_wall_ = last;
    anchor_elapsed_ms_ = elapsed_ms;
    return last;
  }
  if (max_step_ > 0 && elapsed_ms && anchor_elapsed_ms_) {
    const std::int64_t since = std::max<std::int64_t>(0, *elapsed_ms - *anchor_elapsed_ms_);
    const UnixSeconds expected = anchor_wall_ + since / 1000;
    if (wall - expected > max_step_) {
      // Refused: keep to the expected time; the anchor stays so no rounding accumulates.
      ++refused_total_;
      alarmed_ = true;
      const UnixSeconds t = std::max(last, expected);
      offset_ = wall - t;
      trusted_ = t;
      return t;
    }
  }
  accept(wall, elapsed_ms);
  return wall;
}

}  // namespace stek::server

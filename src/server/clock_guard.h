// ClockGuard: the time stekd trusts. The wall clock decides epochs, but a stepped wall clock
// must not erase live secrets or move the epoch backwards, so every reading is checked
// against the last trusted time advanced by a clock that does not step (CLOCK_BOOTTIME).
// Pure: it reads no clock itself; the key service feeds it readings.
#pragma once

#include <cstdint>
#include <optional>

#include "stek/schedule.h"

namespace stek::server {

class ClockGuard {
 public:
  // max_step: the largest difference, in seconds, between the wall clock and the expected
  // time that is accepted as the wall clock's own. 0 turns the forward check off.
  explicit ClockGuard(std::int64_t max_step) : max_step_(max_step) {}

  // The last trusted time from a previous run (the state file); 0 for none. Time after a
  // restart is only ever checked backwards: a gap forwards may be downtime.
  void restore(UnixSeconds last_trusted);

  // The trusted time for one reading of the wall clock and, when the system has one, of a
  // clock that does not step (milliseconds). Never earlier than the previous result.
  //  - Wall behind the trusted time: the trusted time stays put until the wall clock catches
  //    up (the epoch never moves back); an alarm if it is behind by more than max_step.
  //  - Wall ahead of the expected time (last accepted + time elapsed since) by more than
  //    max_step: refused with an alarm; the expected time is used until the wall clock is
  //    back within max_step of it.
  UnixSeconds observe(UnixSeconds wall, std::optional<std::int64_t> elapsed_ms);

  std::optional<UnixSeconds> trusted() const { return trusted_; }
  // A step larger than max_step is being refused now.
  bool alarmed() const { return alarmed_; }
  // Wall clock minus trusted time at the last reading (negative: behind).
  std::int64_t offset() const { return offset_; }
  // Readings refused since start (each alarmed reading counts once).
  std::uint64_t refused_total() const { return refused_total_; }
  std::int64_t max_step() const { return max_step_; }

 private:
  void accept(UnixSeconds wall, std::optional<std::int64_t> elapsed_ms);

  std::int64_t max_step_;
  std::optional<UnixSeconds> trusted_;
  // The last accepted wall time and the non-stepping clock at that moment.
  UnixSeconds anchor_wall_ = 0;
  std::optional<std::int64_t> anchor_elapsed_ms_;
  bool alarmed_ = false;
  std::int64_t offset_ = 0;
  std::uint64_t refused_total_ = 0;
};

}  // namespace stek::server

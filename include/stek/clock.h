// Clock: the one source of "now". Injected so tests can pin time.
#pragma once

#include "stek/schedule.h"

namespace stek {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual UnixSeconds now() const = 0;
};

// Wall-clock time (CLOCK_REALTIME), because epochs are defined on Unix time.
class SystemClock final : public Clock {
 public:
  UnixSeconds now() const override;
};

// A clock tests set by hand.
class FixedClock final : public Clock {
 public:
  explicit FixedClock(UnixSeconds t) : t_(t) {}
  UnixSeconds now() const override { return t_; }
  void set(UnixSeconds t) { t_ = t; }
  void advance(UnixSeconds d) { t_ += d; }

 private:
  UnixSeconds t_;
};

}  // namespace stek

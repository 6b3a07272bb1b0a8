// A clock tests set by hand: tests pin "now" to an exact second and move it across epoch
// boundaries themselves.
#pragma once

#include "stek/clock.h"
#include "stek/schedule.h"

namespace stek {

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

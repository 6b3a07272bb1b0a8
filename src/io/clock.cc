// The system clock.
#include <chrono>

#include "stek/clock.h"

namespace stek {

UnixSeconds SystemClock::now() const {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace stek

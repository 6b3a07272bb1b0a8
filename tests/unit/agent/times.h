// The moment the agent's unit tests are set at: an epoch far from 0 (I = 60 s) and a time 10 s
// into it, shared so that the tests of one program agree on "now".
#pragma once

#include "stek/schedule.h"

namespace stek::agent::test {

inline constexpr Epoch kE = 30'000'000;
inline constexpr UnixSeconds kT = kE * 60 + 10;

}  // namespace stek::agent::test

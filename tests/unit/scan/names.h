// Key names for the scanner's tests: every byte the same, so a test can name keys 1, 2, 3.
#pragma once

#include <cstdint>

#include "stek/key.h"

namespace stek::scan::test {

inline KeyName name(std::uint8_t n) {
  KeyName k{};
  k.fill(n);
  return k;
}

}  // namespace stek::scan::test

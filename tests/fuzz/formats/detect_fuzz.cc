// Fuzz target: detect_format on arbitrary bytes, then the reader it picks.
#include <cstddef>
#include <cstdint>

#include "common.h"

using namespace stek;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteView contents(data, size);
  auto format = detect_format(contents);
  if (!format.ok()) return 0;
  auto ring = read_key_file(*format, contents, {fuzz::kNow});
  if (!ring.ok()) return 0;
  fuzz::check_ring(*ring);
  auto again = write_key_file(*format, *ring, {fuzz::kNow});
  fuzz::check(again.ok(), "a detected file does not write back to its format");
  auto redetected = detect_format(again->view());
  // What stek writes is detected as what it is, except raw 48-byte files (ambiguous by
  // design) and single-key ats files, which are nginx80/ats look-alikes only by size.
  if (redetected.ok()) {
    const bool raw48 =
        *format == Format::nginx48 || *format == Format::apache || *format == Format::ats;
    fuzz::check(*redetected == *format || raw48, "a written file is detected as another format");
  }
  return 0;
}

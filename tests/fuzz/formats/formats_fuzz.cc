// Fuzz target: every key file reader. The first input byte picks the format, the rest is the
// file. A file that parses must give a valid ring, write back to the same format and read
// back to the same keys; converting it to any other format must not crash, and where the
// target carries roles by position the encrypting key must survive the trip.
#include <cstddef>
#include <cstdint>

#include "common.h"

using namespace stek;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  constexpr std::size_t kFormats = std::size(kAllFormats);
  const Format format = kAllFormats[data[0] % kFormats];
  const ByteView contents(data + 1, size - 1);
  const ReadOptions read{fuzz::kNow};
  auto ring = read_key_file(format, contents, read);
  if (!ring.ok()) {
    fuzz::check(!ring.error().message.empty(), "empty error message");
    return 0;
  }
  fuzz::check_ring(*ring);

  auto again = write_key_file(format, *ring, {fuzz::kNow});
  fuzz::check(again.ok(), "a ring read from a format does not write back to it");
  auto back = read_key_file(format, again->view(), read);
  fuzz::check(back.ok(), "a written file does not read back");
  fuzz::check(fuzz::same_keys(*ring, *back), "round trip changed the keys");

  for (Format to : kAllFormats) {
    auto converted = write_key_file(to, *ring, {fuzz::kNow});
    if (!converted.ok()) continue;
    auto reread = read_key_file(to, converted->view(), read);
    if (to == Format::h2o) continue;  // roles follow validity times there, not position
    fuzz::check(reread.ok(), "a converted file does not read back");
    fuzz::check_ring(*reread);
    fuzz::check(reread->encrypting().key.name() == ring->encrypting().key.name(),
                "conversion changed the encrypting key");
  }
  return 0;
}

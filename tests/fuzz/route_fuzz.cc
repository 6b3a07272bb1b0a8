// Fuzz target for the ClientHello key-name extractor (src/route): no input may crash it or
// make it read outside the buffer, and only a routed verdict may carry a key name and say
// where it was read.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "client_hello.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto r = stek::route::ticket_key_name(std::span(data, size));
  const bool routed = r.verdict == stek::route::HelloVerdict::routed;
  if (routed != (r.source != stek::route::NameSource::none)) std::abort();
  if (!routed) {
    for (auto b : r.name) {
      if (b != 0) std::abort();
    }
  }
  return 0;
}

// Fuzz target: hex and base64 decoders and encoders, and domain id validation. Decoding
// what was encoded gives the input back; what decodes re-encodes to an equivalent text.
#include <cstddef>
#include <cstdint>
#include <string>

#include "stek/bytes.h"
#include "stek/derive.h"

#include "common.h"

using namespace stek;

namespace {
char lower(char c) {
  return c >= 'A' && c <= 'F' ? static_cast<char>(c - 'A' + 'a') : c;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteView bytes(data, size);
  const std::string_view text = as_chars(bytes);

  // Encoders: every byte string survives a round trip.
  auto hex_back = from_hex(to_hex(bytes));
  fuzz::check(hex_back.ok() && hex_back->equals(bytes), "hex round trip");
  SecretBytes b64 = to_base64(bytes);
  auto b64_back = from_base64(as_chars(b64.view()));
  fuzz::check(b64_back.ok() && b64_back->equals(bytes), "base64 round trip");

  // Decoders on arbitrary text.
  if (auto h = from_hex(text); h.ok()) {
    fuzz::check(h->size() * 2 == text.size(), "hex decoded to the wrong length");
    const std::string again = to_hex(h->view());
    for (std::size_t i = 0; i < text.size(); ++i) {
      fuzz::check(again[i] == lower(text[i]), "hex decode/encode mismatch");
    }
  }
  if (auto d = from_base64(text); d.ok()) {
    fuzz::check(d->size() <= text.size() / 4 * 3, "base64 decoded to too many bytes");
    SecretBytes re = to_base64(d->view());
    fuzz::check(re.size() == text.size(), "base64 re-encoding has another length");
    auto twice = from_base64(as_chars(re.view()));
    fuzz::check(twice.ok() && twice->equals(d->view()), "base64 decode is not stable");
  }

  // Domain ids: whatever passes has no ASCII control characters and builds an info string.
  if (validate_domain_id(text).ok()) {
    for (char c : text) {
      const auto u = static_cast<unsigned char>(c);
      fuzz::check(u >= 0x20 && u != 0x7f, "control character in a valid domain id");
    }
    fuzz::check(derivation_info(text, 1).ok(), "valid domain id without info string");
  }
  return 0;
}

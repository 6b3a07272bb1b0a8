// Encoding helpers for non-secret and secret bytes: hex and base64 (OpenSSL's codec).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stek/result.h"
#include "stek/secret.h"

namespace stek {

using Bytes = std::vector<std::uint8_t>;

// Lower-case hex. Use only for non-secret bytes (key names, digests); for secrets use
// to_hex_secret, whose storage is wiped.
std::string to_hex(ByteView bytes);
SecretString to_hex_secret(ByteView bytes);
// Decodes hex (either case); the length must be even. No whitespace.
Result<SecretBytes> from_hex(std::string_view hex);
// The value of one hex digit (either case), or -1 for any other character.
int hex_digit_value(char c);

// Standard base64 with padding, into wiped storage.
SecretBytes to_base64(ByteView bytes);
// Strict standard base64 (padding required, no whitespace); returns the decoded bytes.
Result<SecretBytes> from_base64(std::string_view text);

std::string_view as_chars(ByteView bytes);
ByteView as_bytes(std::string_view text);

// Text made safe inside HTML or XML elements and quoted attributes: & < > " ' escaped.
std::string escape_markup(std::string_view text);

}  // namespace stek

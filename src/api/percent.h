// The one percent codec of the stekd protocol (RFC 3986 section 2.1): query strings, path
// segments and the ids in certificate URI SANs all use it.
#pragma once

#include <string>
#include <string_view>

#include "stek/result.h"

namespace stek::api {

// Percent-encodes every byte except the RFC 3986 unreserved characters A-Z a-z 0-9 - . _ ~
// and any byte listed in `also_escape`, with upper-case hex digits: "eu west/1" ->
// "eu%20west%2F1".
std::string percent_encode(std::string_view text, std::string_view also_escape = {});

// How a '+' decodes: itself (URIs, path segments, SANs) or a space (HTML form encoding, which
// query strings accept too).
enum class Plus { literal, space };

// Decodes %XX escapes (either case of hex digit). A '%' not followed by two hex digits is an
// error (Errc::bad_format) that says which escape at which offset, never the text itself.
Result<std::string> percent_decode(std::string_view text, Plus plus = Plus::literal);

// `text` made safe to put in an error message: quoted, printable ASCII kept, other bytes as
// \xNN, at most 64 bytes of it followed by "..." (messages must not carry raw input).
std::string quote_for_message(std::string_view text);

}  // namespace stek::api

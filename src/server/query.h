// Decoding of request targets for stekd's APIs: percent-decoding, query strings, numbers.
// Kept in one file so the shared protocol module (src/api) can replace it whole.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "stek/result.h"

namespace stek::server {

// Decodes %XX escapes and '+' (a space, as in form encoding).
Result<std::string> percent_decode(std::string_view s);

// key=value pairs separated by '&', each decoded; a key given twice is an error.
Result<std::map<std::string, std::string>> parse_query(std::string_view q);

// A non-negative decimal number; `what` names it in the error.
Result<std::uint64_t> parse_u64(const std::string& s, const char* what);

}  // namespace stek::server

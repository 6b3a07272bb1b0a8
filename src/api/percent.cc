// Percent encoding and decoding, and quoting of untrusted text for messages.
#include "api/percent.h"

#include "stek/bytes.h"

namespace stek::api {

namespace {

constexpr char kHex[] = "0123456789ABCDEF";

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

}  // namespace

std::string percent_encode(std::string_view text, std::string_view also_escape) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (unreserved(u) && also_escape.find(c) == std::string_view::npos) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

Result<std::string> percent_decode(std::string_view text, Plus plus) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+' && plus == Plus::space) {
      out.push_back(' ');
    } else if (c != '%') {
      out.push_back(c);
    } else if (i + 2 >= text.size()) {
      return make_error(Errc::bad_format,
                        "truncated percent escape at offset " + std::to_string(i));
    } else {
      const int hi = hex_digit_value(text[i + 1]);
      const int lo = hex_digit_value(text[i + 2]);
      if (hi < 0 || lo < 0) {
        return make_error(Errc::bad_format,
                          "percent escape at offset " + std::to_string(i) + " is not %XX (hex)");
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    }
  }
  return out;
}

std::string quote_for_message(std::string_view text) {
  constexpr std::size_t kMax = 64;
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < kMax; ++i) {
    const auto u = static_cast<unsigned char>(text[i]);
    if (u >= 0x20 && u < 0x7f && u != '"' && u != '\\') {
      out.push_back(text[i]);
    } else {
      out += "\\x";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  out.push_back('"');
  if (text.size() > kMax) out += "...";
  return out;
}

}  // namespace stek::api

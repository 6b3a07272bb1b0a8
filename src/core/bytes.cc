// Hex and base64 codecs. Base64 goes through OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock.
#include "stek/bytes.h"

#include <openssl/evp.h>

namespace stek {

std::string_view as_chars(ByteView bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

ByteView as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

namespace {
template <class String>
String hex_encode(ByteView bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  String out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}
}  // namespace

std::string to_hex(ByteView bytes) {
  return hex_encode<std::string>(bytes);
}
SecretString to_hex_secret(ByteView bytes) {
  return hex_encode<SecretString>(bytes);
}

Result<SecretBytes> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return make_error(Errc::bad_format, "hex text has " + std::to_string(hex.size()) +
                                            " digits, expected an even number");
  }
  SecretBytes out(hex.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = hex_digit_value(hex[2 * i]);
    int lo = hex_digit_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return make_error(Errc::bad_format, "hex text has a non-hex character at offset " +
                                              std::to_string(hi < 0 ? 2 * i : 2 * i + 1));
    }
    out.data()[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return out;
}

SecretBytes to_base64(ByteView bytes) {
  SecretBytes out(4 * ((bytes.size() + 2) / 3) + 1);  // +1: EVP_EncodeBlock writes a NUL
  int n = EVP_EncodeBlock(out.data(), bytes.data(), static_cast<int>(bytes.size()));
  SecretBytes exact = SecretBytes::copy_of(out.view(0, static_cast<std::size_t>(n)));
  return exact;
}

Result<SecretBytes> from_base64(std::string_view text) {
  if (text.empty()) return SecretBytes();
  if (text.size() % 4 != 0) {
    return make_error(Errc::bad_format, "base64 text has " + std::to_string(text.size()) +
                                            " characters, expected a multiple of 4");
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || (c == '=' && i >= text.size() - 2);
    if (!ok) {
      return make_error(Errc::bad_format,
                        "base64 text has an invalid character at offset " + std::to_string(i));
    }
  }
  if (text[text.size() - 2] == '=' && text.back() != '=') {
    return make_error(Errc::bad_format, "base64 padding is malformed");
  }
  SecretBytes buf(text.size() / 4 * 3);
  int n = EVP_DecodeBlock(buf.data(), as_bytes(text).data(), static_cast<int>(text.size()));
  if (n < 0) return make_error(Errc::bad_format, "base64 text does not decode");
  std::size_t pad = (text.back() == '=') + (text[text.size() - 2] == '=');
  // EVP_DecodeBlock counts padding as zero bytes; drop them.
  return SecretBytes::copy_of(buf.view(0, static_cast<std::size_t>(n) - pad));
}

int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string escape_markup(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

}  // namespace stek

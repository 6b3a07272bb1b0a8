// Format names, detection and dispatch to the per-family codecs.
#include <algorithm>
#include <string>

#include "stek/bytes.h"

#include "codecs.h"

namespace stek {

std::string_view format_name(Format format) {
  switch (format) {
    case Format::nginx48:
      return "nginx48";
    case Format::nginx80:
      return "nginx80";
    case Format::haproxy48:
      return "haproxy48";
    case Format::haproxy80:
      return "haproxy80";
    case Format::apache:
      return "apache";
    case Format::ats:
      return "ats";
    case Format::h2o:
      return "h2o";
    case Format::json:
      return "json";
  }
  return "unknown";
}

std::optional<KeySize> format_key_size(Format format) {
  if (format == Format::h2o || format == Format::json) return std::nullopt;
  return formats::raw_layout(format).size;
}

std::string format_names() {
  std::string out;
  for (Format f : kAllFormats) {
    if (!out.empty()) out += ", ";
    out += format_name(f);
  }
  return out;
}

Result<Format> parse_format_name(std::string_view name) {
  for (Format f : kAllFormats) {
    if (format_name(f) == name) return f;
  }
  return make_error(Errc::invalid_argument, "unknown format \"" + std::string(name) +
                                                "\" (expected one of " + format_names() + ")");
}

Result<KeyRing> read_key_file(Format format, ByteView contents, const ReadOptions& options) {
  Result<KeyRing> ring = [&]() -> Result<KeyRing> {
    switch (format) {
      case Format::nginx48:
      case Format::nginx80:
      case Format::apache:
      case Format::ats:
        return formats::read_raw(format, contents);
      case Format::haproxy48:
      case Format::haproxy80:
        return formats::read_haproxy(format, contents);
      case Format::h2o:
        return formats::read_h2o(contents, options);
      case Format::json:
        return formats::read_json(contents);
    }
    return make_error(Errc::invalid_argument, "unknown format");
  }();
  if (!ring.ok()) return ring.error().with_context(std::string(format_name(format)));
  return ring;
}

Result<SecretBytes> write_key_file(Format format, const KeyRing& ring,
                                   const WriteOptions& options) {
  Result<SecretBytes> out = [&]() -> Result<SecretBytes> {
    switch (format) {
      case Format::nginx48:
      case Format::nginx80:
      case Format::apache:
      case Format::ats:
        return formats::write_raw(format, ring);
      case Format::haproxy48:
      case Format::haproxy80:
        return formats::write_haproxy(format, ring);
      case Format::h2o:
        return formats::write_h2o(ring);
      case Format::json:
        return formats::write_json(ring, options);
    }
    return make_error(Errc::invalid_argument, "unknown format");
  }();
  if (!out.ok()) return out.error().with_context(std::string(format_name(format)));
  return out;
}

namespace {
// Text as key files hold it: well-formed UTF-8 without control characters other than tab, CR
// and LF. Raw key files are random bytes and almost never pass (an 80-byte one with
// probability around 2^-88), so a raw key whose first byte happens to be '{' or '-' is not
// taken for JSON or YAML.
bool looks_like_text(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) return false;
      ++i;
      continue;
    }
    const std::size_t len = c >= 0xc2 && c <= 0xdf   ? 2
                            : c >= 0xe0 && c <= 0xef ? 3
                            : c >= 0xf0 && c <= 0xf4 ? 4
                                                     : 0;
    if (len == 0 || i + len > text.size()) return false;
    for (std::size_t j = 1; j < len; ++j) {
      if ((static_cast<unsigned char>(text[i + j]) & 0xc0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}
}  // namespace

Result<Format> detect_format(ByteView contents) {
  auto text = as_chars(contents);
  if (!text.empty() && looks_like_text(text)) {
    auto first = std::find_if(text.begin(), text.end(), [](char c) {
      return c != ' ' && c != '\n' && c != '\r' && c != '\t';
    });
    if (first != text.end() && *first == '{') return Format::json;
    if (first != text.end() && *first == '-') return Format::h2o;
    // Base64 lines: the first line's decoded size tells 48 from 80.
    std::string_view line = text.substr(0, text.find('\n'));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (auto decoded = from_base64(line); decoded.ok()) {
      if (decoded->size() == 48) return Format::haproxy48;
      if (decoded->size() == 80) return Format::haproxy80;
    }
  }
  if (contents.size() == 80) return Format::nginx80;
  if (contents.size() == 48) {
    return make_error(Errc::invalid_argument,
                      "48 raw bytes could be nginx48, apache or ats: the byte order after the "
                      "name differs, so pass --format");
  }
  if (!contents.empty() && contents.size() % 48 == 0) return Format::ats;
  return make_error(Errc::bad_format, "cannot tell the format of " +
                                          std::to_string(contents.size()) +
                                          " bytes; pass --format (" + format_names() + ")");
}

namespace formats {

std::vector<const RingKey*> server_keys(const KeyRing& ring) {
  std::vector<const RingKey*> out;
  for (const RingKey& k : ring.keys()) {
    if (k.meta.role != KeyRole::pending) out.push_back(&k);
  }
  return out;
}

Result<KeySize> uniform_key_size(Format format, const std::vector<const RingKey*>& keys) {
  const auto size = keys.front()->key.size();
  for (const RingKey* k : keys) {
    if (!k->key.size() || k->key.size() != size) {
      return make_error(Errc::unsupported,
                        "key " + k->key.name_hex() + " does not match the size of the others; " +
                            std::string(format_name(format)) + " cannot mix key sizes");
    }
  }
  return *size;
}

}  // namespace formats
}  // namespace stek

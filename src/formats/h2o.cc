// h2o's session ticket file (ssl-session-resumption: ticket-store: file): a YAML list of
// {name, cipher, hash, key, not_before, not_after}. key = cipher key | HMAC key padded to the
// hash block size (64 bytes for SHA-256). Times are Unix seconds; h2o encrypts with the
// newest key whose not_before has passed and opens tickets with any listed key.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include <yaml-cpp/yaml.h>

#include "stek/bytes.h"

#include "codecs.h"

namespace stek::formats {

namespace {

constexpr std::size_t kSha256Block = 64;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

Result<std::string> scalar(const YAML::Node& entry, const char* field) {
  const YAML::Node v = entry[field];
  if (!v) return make_error(Errc::bad_format, std::string("missing field \"") + field + "\"");
  if (!v.IsScalar())
    return make_error(Errc::bad_format, std::string("field \"") + field + "\" is not a scalar");
  return v.Scalar();
}

// h2o reads times as uint64 seconds and its own files use 2^64-1 for "never"; times past
// the int64 range are clamped to its end, which still means never.
Result<UnixSeconds> seconds(const YAML::Node& entry, const char* field) {
  STEK_ASSIGN_OR_RETURN(std::string text, scalar(entry, field));
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return make_error(Errc::bad_format,
                      std::string("field \"") + field + "\" is not a Unix time in seconds");
  }
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<UnixSeconds>::max());
  return static_cast<UnixSeconds>(std::min(value, kMax));
}

struct H2oEntry {
  RingKey key;
  UnixSeconds not_before;
  UnixSeconds not_after;
};

Result<H2oEntry> parse_entry(const YAML::Node& entry) {
  if (!entry.IsMap()) return make_error(Errc::bad_format, "entry is not a mapping");
  STEK_ASSIGN_OR_RETURN(std::string name_hex, scalar(entry, "name"));
  STEK_ASSIGN_OR_RETURN(KeyName name, parse_key_name_hex(name_hex));
  STEK_ASSIGN_OR_RETURN(std::string cipher, scalar(entry, "cipher"));
  std::size_t aes_len;
  if (lower(cipher) == "aes-256-cbc") {
    aes_len = 32;
  } else if (lower(cipher) == "aes-128-cbc") {
    aes_len = 16;
  } else {
    return make_error(Errc::unsupported,
                      "cipher \"" + cipher + "\" is not aes-128-cbc or aes-256-cbc");
  }
  STEK_ASSIGN_OR_RETURN(std::string hash, scalar(entry, "hash"));
  if (lower(hash) != "sha256") {
    return make_error(Errc::unsupported, "hash \"" + hash + "\" is not sha256");
  }
  STEK_ASSIGN_OR_RETURN(std::string key_hex, scalar(entry, "key"));
  const std::size_t want = 2 * (aes_len + kSha256Block);
  if (key_hex.size() != want) {
    return make_error(Errc::bad_size, "key has " + std::to_string(key_hex.size()) +
                                          " hex digits, expected " + std::to_string(want));
  }
  auto material = from_hex(key_hex);
  secure_wipe(key_hex.data(), key_hex.size());
  if (!material.ok()) return material.error();
  STEK_ASSIGN_OR_RETURN(UnixSeconds not_before, seconds(entry, "not_before"));
  STEK_ASSIGN_OR_RETURN(UnixSeconds not_after, seconds(entry, "not_after"));
  if (not_after < not_before) return make_error(Errc::bad_format, "not_after is before not_before");

  // HMAC zero-pads keys shorter than the block, so a padded 16/32-byte key is that key.
  ByteView hmac = material->view(aes_len, kSha256Block);
  std::size_t hmac_len = kSha256Block;
  if (std::all_of(hmac.begin() + aes_len, hmac.end(), [](std::uint8_t b) { return b == 0; })) {
    hmac_len = aes_len;
  }
  STEK_ASSIGN_OR_RETURN(TicketKey key,
                        TicketKey::make(name, SecretBytes::copy_of(hmac.first(hmac_len)),
                                        SecretBytes::copy_of(material->view(0, aes_len))));
  KeyMeta meta;
  meta.not_before = not_before;
  meta.not_after = not_after;
  return H2oEntry{{std::move(key), meta}, not_before, not_after};
}

}  // namespace

Result<KeyRing> read_h2o(ByteView contents, const ReadOptions& options) {
  if (!options.now) {
    return make_error(Errc::invalid_argument,
                      "reading h2o files needs the current time to pick roles");
  }
  const UnixSeconds now = *options.now;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(as_chars(contents)));
  } catch (const YAML::Exception& e) {
    // e.mark locates the error; e.what() may quote the input, which holds key bytes.
    return make_error(Errc::bad_format,
                      "not valid YAML (line " + std::to_string(e.mark.line + 1) + ")");
  }
  if (!root.IsSequence()) return make_error(Errc::bad_format, "top level is not a list");
  std::vector<H2oEntry> entries;
  for (std::size_t i = 0; i < root.size(); ++i) {
    auto e = parse_entry(root[i]);
    if (!e.ok()) return e.error().with_context("entry " + std::to_string(i + 1));
    entries.push_back(std::move(e).value());
  }
  // Newest not_before first, ties by name (memcmp order), as h2o sorts them: the first
  // entry whose not_before has passed is the one h2o encrypts with.
  std::sort(entries.begin(), entries.end(), [](const H2oEntry& a, const H2oEntry& b) {
    if (a.not_before != b.not_before) return a.not_before > b.not_before;
    return a.key.key.name() < b.key.key.name();
  });
  std::vector<RingKey> keys;
  bool have_encrypt = false;
  for (H2oEntry& e : entries) {
    if (now > e.not_after) continue;  // expired: not part of the ring
    if (e.not_before > now) {
      e.key.meta.role = KeyRole::next;
    } else if (!have_encrypt) {
      e.key.meta.role = KeyRole::encrypt;
      have_encrypt = true;
    } else {
      e.key.meta.role = KeyRole::decrypt;
    }
    keys.push_back(std::move(e.key));
  }
  if (!have_encrypt) {
    return make_error(Errc::not_found, "no key is valid for encryption at " + std::to_string(now));
  }
  return KeyRing::make(std::move(keys));
}

Result<SecretBytes> write_h2o(const KeyRing& ring) {
  SecretString out;
  for (const RingKey* k : server_keys(ring)) {
    if (!k->meta.not_before || !k->meta.not_after) {
      return make_error(Errc::unsupported,
                        "h2o needs not_before and not_after for every key; key " +
                            k->key.name_hex() + " has none (its source format carries no times)");
    }
    const std::size_t aes_len = k->key.aes_key().size();
    SecretBytes material(aes_len + kSha256Block);
    std::memcpy(material.data(), k->key.aes_key().data(), aes_len);
    std::memcpy(material.data() + aes_len, k->key.hmac_key().data(), k->key.hmac_key().size());
    SecretString key_hex = to_hex_secret(material.view());
    out += "- name: ";
    out += k->key.name_hex();
    out += "\n";
    out += aes_len == 32 ? "  cipher: aes-256-cbc\n" : "  cipher: aes-128-cbc\n";
    out += "  hash: sha256\n";
    out += "  key: ";
    out += key_hex;
    out += "\n  not_before: ";
    out += std::to_string(*k->meta.not_before);
    out += "\n  not_after: ";
    out += std::to_string(*k->meta.not_after);
    out += "\n";
  }
  return SecretBytes::copy_of(as_bytes({out.data(), out.size()}));
}

}  // namespace stek::formats

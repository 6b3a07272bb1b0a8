// Key file formats of the TLS servers stek feeds, read and written. Every product puts the
// 16-byte key name first; the order of the secrets after it differs (see docs/formats.md).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stek/result.h"
#include "stek/ring.h"
#include "stek/schedule.h"
#include "stek/secret.h"

namespace stek {

enum class Format {
  nginx48,    // one raw key per file: name | AES 16 | HMAC 16
  nginx80,    // one raw key per file: name | HMAC 32 | AES 32
  haproxy48,  // base64 lines of name | AES 16 | HMAC 16; penultimate encrypts, last is next
  haproxy80,  // base64 lines of name | AES 32 | HMAC 32
  apache,     // one raw key: name | HMAC 16 | AES 16
  ats,        // N raw keys of name | HMAC 16 | AES 16; the first encrypts
  h2o,        // YAML list with hex keys and not_before/not_after
  json,       // stek's own ring file with per-key metadata
};

inline constexpr Format kAllFormats[] = {Format::nginx48,   Format::nginx80, Format::haproxy48,
                                         Format::haproxy80, Format::apache,  Format::ats,
                                         Format::h2o,       Format::json};

std::string_view format_name(Format format);
Result<Format> parse_format_name(std::string_view name);
// The key size a format holds, or nullopt for formats that hold either (h2o, json).
std::optional<KeySize> format_key_size(Format format);

// "nginx48, nginx80, ..." for help texts and errors.
std::string format_names();

struct ReadOptions {
  // Time used to assign roles in formats that carry validity times (h2o). JSON ring files
  // carry roles as written; re-derive them with KeyRing::at.
  std::optional<UnixSeconds> now;
};

struct WriteOptions {
  UnixSeconds now = 0;  // recorded as generated_at in JSON ring files
};

Result<KeyRing> read_key_file(Format format, ByteView contents, const ReadOptions& options = {});
// Serialises a ring; refuses, with the reason, what the format cannot express (several
// keys in a one-key format, AES-128 keys in an 80-byte format, no "next" key for HAProxy).
Result<SecretBytes> write_key_file(Format format, const KeyRing& ring,
                                   const WriteOptions& options = {});

// The 48-byte projection of a key (docs/formats.md, "48-byte keys from stek's schedule"):
// the same name, the first 16 bytes of the HMAC key and the first 16 bytes of the AES key,
// i.e. the key derive_ticket_key(..., KeySize::k48) makes for the same epoch. It drops the
// other 16 bytes of each secret (AES-256 becomes AES-128, a 128-bit HMAC key). A 48-byte key
// comes back unchanged.
Result<TicketKey> project_to_48(const TicketKey& key);
// Every key of the ring projected; roles, metadata and ring info kept.
Result<KeyRing> project_ring_to_48(const KeyRing& ring);

// Guesses the format from content. Raw 48-byte files are ambiguous (nginx48, apache and a
// one-key ats file differ only in byte order): that is an error naming the candidates.
Result<Format> detect_format(ByteView contents);

}  // namespace stek

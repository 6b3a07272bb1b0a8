// Raw binary key files: nginx (48/80 bytes, one key), Apache httpd (48 bytes, one key) and
// Traffic Server (N x 48 bytes, the first encrypts). Also the record codec HAProxy shares.
#include <algorithm>
#include <cstring>
#include <string>

#include "codecs.h"

namespace stek::formats {

RawLayout raw_layout(Format format) {
  switch (format) {
    // nginx: 48 bytes = name | AES-128 | HMAC; 80 bytes = name | HMAC | AES-256
    // (ngx_ssl_session_ticket_keys in src/event/ngx_event_openssl.c).
    case Format::nginx48:
      return {KeySize::k48, Order::aes_then_hmac};
    case Format::nginx80:
      return {KeySize::k80, Order::hmac_then_aes};
    // HAProxy: struct tls_sess_key_128/256 = name | AES | HMAC.
    case Format::haproxy48:
      return {KeySize::k48, Order::aes_then_hmac};
    case Format::haproxy80:
      return {KeySize::k80, Order::aes_then_hmac};
    // Apache mod_ssl and Traffic Server: name | HMAC | AES, 48 bytes.
    case Format::apache:
    case Format::ats:
      return {KeySize::k48, Order::hmac_then_aes};
    case Format::h2o:
    case Format::json:
      break;
  }
  return {KeySize::k80, Order::hmac_then_aes};
}

Result<TicketKey> unpack_record(ByteView record, RawLayout layout) {
  const std::size_t part = secret_size(layout.size);
  if (record.size() != kKeyNameSize + 2 * part) {
    return make_error(Errc::bad_size, "key record is " + std::to_string(record.size()) +
                                          " bytes, expected " +
                                          std::to_string(kKeyNameSize + 2 * part));
  }
  KeyName name{};
  std::copy_n(record.data(), kKeyNameSize, name.begin());
  ByteView first = record.subspan(kKeyNameSize, part);
  ByteView second = record.subspan(kKeyNameSize + part, part);
  const bool aes_first = layout.order == Order::aes_then_hmac;
  return TicketKey::make(name, SecretBytes::copy_of(aes_first ? second : first),
                         SecretBytes::copy_of(aes_first ? first : second));
}

Status pack_record(const TicketKey& key, RawLayout layout, SecretBytes& out, std::size_t offset) {
  if (key.size() != layout.size) {
    return make_error(Errc::unsupported,
                      "key " + key.name_hex() + " is not a " +
                          std::to_string(static_cast<int>(layout.size)) +
                          "-byte key; converting between AES-128 and AES-256 keys would make a "
                          "different key (derive one with --format instead)");
  }
  const std::size_t part = secret_size(layout.size);
  const bool aes_first = layout.order == Order::aes_then_hmac;
  std::uint8_t* p = out.data() + offset;
  std::memcpy(p, key.name().data(), kKeyNameSize);
  std::memcpy(p + kKeyNameSize, (aes_first ? key.aes_key() : key.hmac_key()).data(), part);
  std::memcpy(p + kKeyNameSize + part, (aes_first ? key.hmac_key() : key.aes_key()).data(), part);
  return {};
}

Result<KeyRing> read_raw(Format format, ByteView contents) {
  const RawLayout layout = raw_layout(format);
  const std::size_t record = static_cast<std::size_t>(layout.size);
  if (format == Format::ats) {
    if (contents.empty() || contents.size() % record != 0) {
      return make_error(Errc::bad_size, "file is " + std::to_string(contents.size()) +
                                            " bytes, expected a non-zero multiple of 48");
    }
  } else if (contents.size() != record) {
    std::string hint;
    if (format == Format::nginx48 && contents.size() == 80) hint = " (an 80-byte file is nginx80)";
    if (format == Format::nginx80 && contents.size() == 48) hint = " (a 48-byte file is nginx48)";
    return make_error(Errc::bad_size, "file is " + std::to_string(contents.size()) +
                                          " bytes, expected " + std::to_string(record) + hint);
  }
  std::vector<RingKey> keys;
  for (std::size_t off = 0; off < contents.size(); off += record) {
    auto key = unpack_record(contents.subspan(off, record), layout);
    if (!key.ok()) return key.error().with_context("key " + std::to_string(off / record + 1));
    KeyMeta meta;
    meta.role = off == 0 ? KeyRole::encrypt : KeyRole::decrypt;
    keys.push_back({std::move(key).value(), meta});
  }
  return KeyRing::make(std::move(keys));
}

Result<SecretBytes> write_raw(Format format, const KeyRing& ring) {
  const RawLayout layout = raw_layout(format);
  const std::size_t record = static_cast<std::size_t>(layout.size);
  std::vector<const RingKey*> keys = server_keys(ring);
  if (format != Format::ats && keys.size() != 1) {
    return make_error(Errc::unsupported,
                      "holds exactly one key per file, the ring has " +
                          std::to_string(keys.size()) +
                          " keys a server uses; write the encrypting key alone (stekctl convert "
                          "--only-encrypting) or use a format that holds several");
  }
  // The ring's canonical order already puts the encrypting key first, as ats needs.
  SecretBytes out(record * keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    STEK_TRY(pack_record(keys[i]->key, layout, out, i * record));
  }
  return out;
}

}  // namespace stek::formats

// TLS 1.3 messages for the psk_ke probe and the NewSessionTicket reader.
#include "tls13.h"

#include <algorithm>

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace stek::scan::tls {

namespace {

// A bounds-checked reader over untrusted bytes.
class Cursor {
 public:
  explicit Cursor(ByteView data) : data_(data) {}
  std::size_t left() const { return data_.size() - pos_; }
  bool u8(std::uint8_t& v) { return uint(1, v); }
  bool u16(std::uint16_t& v) { return uint(2, v); }
  bool u24(std::uint32_t& v) { return uint(3, v); }
  bool u32(std::uint32_t& v) { return uint(4, v); }
  bool bytes(std::size_t n, ByteView& out) {
    if (left() < n) return false;
    out = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  // A vector with a length prefix of `width` bytes.
  bool vec(std::size_t width, ByteView& out) {
    std::uint32_t n = 0;
    return uint(width, n) && bytes(n, out);
  }

 private:
  template <class T>
  bool uint(std::size_t n, T& v) {
    if (left() < n) return false;
    std::uint64_t x = 0;
    for (std::size_t i = 0; i < n; ++i) x = (x << 8) | data_[pos_ + i];
    pos_ += n;
    v = static_cast<T>(x);
    return true;
  }
  ByteView data_;
  std::size_t pos_ = 0;
};

Error malformed(const std::string& what) {
  return make_error(Errc::bad_format, what);
}

void put_u8(Bytes& b, std::uint32_t v) {
  b.push_back(static_cast<std::uint8_t>(v));
}
void put_u16(Bytes& b, std::uint32_t v) {
  put_u8(b, v >> 8);
  put_u8(b, v);
}
void put_u32(Bytes& b, std::uint32_t v) {
  put_u16(b, v >> 16);
  put_u16(b, v);
}
void put(Bytes& b, ByteView v) {
  b.insert(b.end(), v.begin(), v.end());
}
// Writes a length prefix of `width` bytes in front of what `body` appends.
template <class F>
void prefixed(Bytes& b, std::size_t width, F&& body) {
  const std::size_t at = b.size();
  b.insert(b.end(), width, 0);
  body();
  std::size_t n = b.size() - at - width;
  for (std::size_t i = 0; i < width; ++i) {
    b[at + width - 1 - i] = static_cast<std::uint8_t>(n & 0xff);
    n >>= 8;
  }
}

const EVP_MD* md(HashAlg hash) {
  return hash == HashAlg::sha384 ? EVP_sha384() : EVP_sha256();
}

Result<SecretBytes> hmac(HashAlg hash, ByteView key, ByteView data) {
  SecretBytes out(hash_size(hash));
  unsigned int n = 0;
  if (HMAC(md(hash), key.data(), static_cast<int>(key.size()), data.data(), data.size(), out.data(),
           &n) == nullptr ||
      n != out.size()) {
    return make_error(Errc::crypto, "HMAC failed");
  }
  return out;
}

Result<Bytes> digest(HashAlg hash, ByteView data) {
  Bytes out(hash_size(hash));
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &n, md(hash), nullptr) != 1 ||
      n != out.size()) {
    return make_error(Errc::crypto, "digest failed");
  }
  return out;
}

// The HelloRetryRequest's fixed "random": SHA-256("HelloRetryRequest") (RFC 8446 4.1.3).
constexpr std::array<std::uint8_t, 32> kHelloRetryRandom = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

constexpr std::uint16_t kExtServerName = 0;
constexpr std::uint16_t kExtSupportedGroups = 10;
constexpr std::uint16_t kExtSignatureAlgorithms = 13;
constexpr std::uint16_t kExtEarlyData = 42;
constexpr std::uint16_t kExtPreSharedKey = 41;
constexpr std::uint16_t kExtSupportedVersions = 43;
constexpr std::uint16_t kExtPskModes = 45;
constexpr std::uint16_t kExtKeyShare = 51;

// Reads the 4-byte handshake header and checks the type and that the body fills `message`.
Result<ByteView> handshake_body(ByteView message, std::uint8_t type, const char* name) {
  Cursor c(message);
  std::uint8_t t = 0;
  std::uint32_t n = 0;
  if (!c.u8(t) || !c.u24(n)) return malformed(std::string(name) + ": truncated header");
  if (t != type) {
    return malformed(std::string(name) + ": handshake type " + std::to_string(t) + ", expected " +
                     std::to_string(type));
  }
  ByteView body;
  if (!c.bytes(n, body) || c.left() != 0) {
    return malformed(std::string(name) + ": length field does not match the message");
  }
  return body;
}

}  // namespace

std::size_t hash_size(HashAlg hash) {
  return hash == HashAlg::sha384 ? 48 : 32;
}

Result<NewSessionTicket> parse_new_session_ticket(ByteView message, bool tls13) {
  STEK_ASSIGN_OR_RETURN(ByteView body,
                        handshake_body(message, kNewSessionTicket, "NewSessionTicket"));
  Cursor c(body);
  NewSessionTicket nst;
  ByteView ticket;
  if (!tls13) {
    if (!c.u32(nst.lifetime_hint) || !c.vec(2, ticket) || c.left() != 0) {
      return malformed("TLS 1.2 NewSessionTicket: malformed");
    }
    nst.ticket.assign(ticket.begin(), ticket.end());
    return nst;
  }
  std::uint32_t age_add = 0;
  ByteView nonce;
  ByteView extensions;
  if (!c.u32(nst.lifetime_hint) || !c.u32(age_add) || !c.vec(1, nonce) || !c.vec(2, ticket) ||
      !c.vec(2, extensions) || c.left() != 0) {
    return malformed("TLS 1.3 NewSessionTicket: malformed");
  }
  if (ticket.empty()) return malformed("TLS 1.3 NewSessionTicket: empty ticket");
  nst.age_add = age_add;
  nst.nonce.assign(nonce.begin(), nonce.end());
  nst.ticket.assign(ticket.begin(), ticket.end());
  Cursor e(extensions);
  while (e.left() > 0) {
    std::uint16_t type = 0;
    ByteView data;
    if (!e.u16(type) || !e.vec(2, data)) {
      return malformed("TLS 1.3 NewSessionTicket: malformed extension");
    }
    if (type == kExtEarlyData) {
      Cursor d(data);
      std::uint32_t max = 0;
      if (!d.u32(max) || d.left() != 0) {
        return malformed("TLS 1.3 NewSessionTicket: malformed early_data extension");
      }
      nst.max_early_data = max;
    }
  }
  return nst;
}

Result<SecretBytes> hkdf_expand_label(HashAlg hash, ByteView secret, std::string_view label,
                                      ByteView context, std::size_t length) {
  const std::string full = "tls13 " + std::string(label);
  if (length == 0 || length > hash_size(hash) || full.size() > 255 || context.size() > 255) {
    return make_error(Errc::invalid_argument, "HKDF-Expand-Label: argument out of range");
  }
  Bytes info;
  put_u16(info, static_cast<std::uint32_t>(length));
  put_u8(info, static_cast<std::uint32_t>(full.size()));
  put(info, as_bytes(full));
  put_u8(info, static_cast<std::uint32_t>(context.size()));
  put(info, context);
  put_u8(info, 1);  // one HKDF-Expand block: T(1) = HMAC(PRK, info | 0x01)
  STEK_ASSIGN_OR_RETURN(SecretBytes block, hmac(hash, secret, info));
  return SecretBytes::copy_of(block.view(0, length));
}

Result<SecretBytes> resumption_binder(HashAlg hash, ByteView psk, ByteView truncated_hello) {
  const std::size_t n = hash_size(hash);
  const Bytes zero_salt(n, 0);
  // early_secret = HKDF-Extract(salt = 0, IKM = PSK) = HMAC(salt, PSK).
  STEK_ASSIGN_OR_RETURN(SecretBytes early, hmac(hash, zero_salt, psk));
  STEK_ASSIGN_OR_RETURN(Bytes empty_hash, digest(hash, {}));
  STEK_ASSIGN_OR_RETURN(SecretBytes binder_key,
                        hkdf_expand_label(hash, early.view(), "res binder", empty_hash, n));
  STEK_ASSIGN_OR_RETURN(SecretBytes finished_key,
                        hkdf_expand_label(hash, binder_key.view(), "finished", {}, n));
  STEK_ASSIGN_OR_RETURN(Bytes transcript, digest(hash, truncated_hello));
  return hmac(hash, finished_key.view(), transcript);
}

Result<Bytes> build_psk_client_hello(const PskHelloParams& p) {
  const std::size_t binder_size = hash_size(p.hash);
  if (p.identity.empty() || p.identity.size() > 0xffff - 6) {
    return make_error(Errc::invalid_argument, "PSK identity (ticket) size out of range");
  }
  if (p.psk.size() != binder_size) {
    return make_error(Errc::invalid_argument, "PSK size does not match the cipher suite's hash");
  }
  if (p.mode == PskMode::psk_dhe_ke && p.x25519_share.size() != 32) {
    return make_error(Errc::invalid_argument, "psk_dhe_ke needs a 32-byte X25519 key share");
  }
  if (p.server_name.size() > 255) {
    return make_error(Errc::invalid_argument, "server name longer than 255 bytes");
  }
  Bytes m;
  put_u8(m, kClientHello);
  std::size_t binders_at = 0;
  prefixed(m, 3, [&] {
    put_u16(m, 0x0303);  // legacy_version
    put(m, p.random);
    put_u8(m, 0);  // empty legacy_session_id
    prefixed(m, 2, [&] { put_u16(m, p.cipher_suite); });
    put_u8(m, 1);  // legacy_compression_methods: null only
    put_u8(m, 0);
    prefixed(m, 2, [&] {
      if (!p.server_name.empty()) {
        put_u16(m, kExtServerName);
        prefixed(m, 2, [&] {
          prefixed(m, 2, [&] {
            put_u8(m, 0);  // host_name
            prefixed(m, 2, [&] { put(m, as_bytes(p.server_name)); });
          });
        });
      }
      put_u16(m, kExtSupportedGroups);
      prefixed(m, 2, [&] {
        prefixed(m, 2, [&] {
          for (std::uint16_t g : {kGroupX25519, std::uint16_t{0x0017}, std::uint16_t{0x0018}}) {
            put_u16(m, g);
          }
        });
      });
      put_u16(m, kExtSignatureAlgorithms);
      prefixed(m, 2, [&] {
        prefixed(m, 2, [&] {
          // ECDSA P-256/P-384, RSA-PSS, Ed25519, RSA PKCS#1: what servers' certificates use.
          for (std::uint32_t s :
               {0x0403, 0x0503, 0x0804, 0x0805, 0x0806, 0x0807, 0x0401, 0x0501, 0x0601}) {
            put_u16(m, s);
          }
        });
      });
      put_u16(m, kExtSupportedVersions);
      prefixed(m, 2, [&] { prefixed(m, 1, [&] { put_u16(m, kTls13); }); });
      put_u16(m, kExtPskModes);
      prefixed(m, 2,
               [&] { prefixed(m, 1, [&] { put_u8(m, static_cast<std::uint8_t>(p.mode)); }); });
      // RFC 8446 9.2: supported_groups and key_share go together; an empty client_shares
      // asks the server to pick a group (HelloRetryRequest) if it wants (EC)DHE.
      put_u16(m, kExtKeyShare);
      prefixed(m, 2, [&] {
        prefixed(m, 2, [&] {
          if (p.mode == PskMode::psk_dhe_ke) {
            put_u16(m, kGroupX25519);
            prefixed(m, 2, [&] { put(m, p.x25519_share); });
          }
        });
      });
      // pre_shared_key must be the last extension.
      put_u16(m, kExtPreSharedKey);
      prefixed(m, 2, [&] {
        prefixed(m, 2, [&] {
          prefixed(m, 2, [&] { put(m, p.identity); });
          put_u32(m, p.obfuscated_age);
        });
        binders_at = m.size();
        prefixed(m, 2, [&] {
          put_u8(m, static_cast<std::uint32_t>(binder_size));
          m.insert(m.end(), binder_size, 0);  // filled in below
        });
      });
    });
  });
  // The binder covers the message up to the binders list, with every length field
  // already counting the binders.
  STEK_ASSIGN_OR_RETURN(SecretBytes binder,
                        resumption_binder(p.hash, p.psk, ByteView(m).first(binders_at)));
  std::copy(binder.view().begin(), binder.view().end(), m.begin() + binders_at + 3);
  return m;
}

Result<ServerHello> parse_server_hello(ByteView message) {
  STEK_ASSIGN_OR_RETURN(ByteView body, handshake_body(message, kServerHello, "ServerHello"));
  Cursor c(body);
  std::uint16_t legacy_version = 0;
  ByteView random;
  ByteView session_id;
  ServerHello sh;
  std::uint8_t compression = 0;
  if (!c.u16(legacy_version) || !c.bytes(32, random) || !c.vec(1, session_id) ||
      session_id.size() > 32 || !c.u16(sh.cipher_suite) || !c.u8(compression)) {
    return malformed("ServerHello: malformed");
  }
  sh.hello_retry_request = std::equal(random.begin(), random.end(), kHelloRetryRandom.begin());
  if (c.left() == 0) return sh;  // TLS 1.2 and older may omit extensions
  ByteView extensions;
  if (!c.vec(2, extensions) || c.left() != 0) return malformed("ServerHello: malformed extensions");
  Cursor e(extensions);
  while (e.left() > 0) {
    std::uint16_t type = 0;
    ByteView data;
    if (!e.u16(type) || !e.vec(2, data)) return malformed("ServerHello: malformed extension");
    Cursor d(data);
    if (type == kExtSupportedVersions) {
      std::uint16_t v = 0;
      if (!d.u16(v) || d.left() != 0) return malformed("ServerHello: bad supported_versions");
      sh.selected_version = v;
    } else if (type == kExtPreSharedKey) {
      std::uint16_t v = 0;
      if (!d.u16(v) || d.left() != 0) return malformed("ServerHello: bad pre_shared_key");
      sh.selected_identity = v;
    } else if (type == kExtKeyShare) {
      sh.key_share = true;
    }
  }
  return sh;
}

Result<std::optional<FirstServerMessage>> first_server_message(ByteView received) {
  constexpr std::uint8_t kChangeCipherSpec = 20;
  constexpr std::uint8_t kAlert = 21;
  constexpr std::uint8_t kHandshake = 22;
  constexpr std::size_t kMaxRecord = (1 << 14) + 256;
  Cursor c(received);
  Bytes handshake;
  while (c.left() >= 5) {
    std::uint8_t type = 0;
    std::uint16_t version = 0;
    std::uint16_t length = 0;
    c.u8(type);
    c.u16(version);
    c.u16(length);
    if ((type != kHandshake && type != kAlert && type != kChangeCipherSpec) ||
        (version >> 8) != 0x03) {
      return malformed("the server's reply is not TLS (record header " +
                       to_hex(received.first(std::min<std::size_t>(5, received.size()))) + ")");
    }
    if (length == 0 || length > kMaxRecord) {
      return malformed("TLS record length " + std::to_string(length) + " out of range");
    }
    ByteView fragment;
    if (!c.bytes(length, fragment)) return std::optional<FirstServerMessage>{};
    if (type == kAlert) {
      if (!handshake.empty()) return malformed("alert in the middle of a handshake message");
      if (fragment.size() != 2)
        return malformed("alert record of " + std::to_string(length) + " bytes");
      FirstServerMessage out;
      out.alert = true;
      out.alert_level = fragment[0];
      out.alert_description = fragment[1];
      return std::optional<FirstServerMessage>(std::move(out));
    }
    if (type == kChangeCipherSpec) continue;
    put(handshake, fragment);
    if (handshake.size() >= 4) {
      const std::size_t n =
          (std::size_t{handshake[1]} << 16) | (std::size_t{handshake[2]} << 8) | handshake[3];
      if (n > kMaxHandshakeMessage) {
        return malformed("handshake message of " + std::to_string(n) + " bytes");
      }
      if (handshake.size() >= 4 + n) {
        FirstServerMessage out;
        out.handshake.assign(handshake.begin(), handshake.begin() + static_cast<long>(4 + n));
        return std::optional<FirstServerMessage>(std::move(out));
      }
    }
  }
  return std::optional<FirstServerMessage>{};
}

std::string alert_name(std::uint8_t d) {
  switch (d) {
    case 0:
      return "close_notify";
    case 10:
      return "unexpected_message";
    case 20:
      return "bad_record_mac";
    case 40:
      return "handshake_failure";
    case 42:
      return "bad_certificate";
    case 47:
      return "illegal_parameter";
    case 50:
      return "decode_error";
    case 51:
      return "decrypt_error";
    case 70:
      return "protocol_version";
    case 71:
      return "insufficient_security";
    case 80:
      return "internal_error";
    case 86:
      return "inappropriate_fallback";
    case 109:
      return "missing_extension";
    case 110:
      return "unsupported_extension";
    case 112:
      return "unrecognized_name";
    case 120:
      return "no_application_protocol";
    default:
      return "alert " + std::to_string(d);
  }
}

}  // namespace stek::scan::tls

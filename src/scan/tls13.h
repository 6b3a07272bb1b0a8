// The few TLS messages stek-scan reads or writes itself, on top of what OpenSSL's client
// does: NewSessionTicket (for the TLS 1.3 ticket_age_add that OpenSSL keeps private), a
// resumption ClientHello offering one PSK with a chosen key exchange mode, and the
// server's first reply. OpenSSL's client always offers psk_dhe_ke (SSL_OP_ALLOW_NO_DHE_KEX
// only adds psk_ke beside it), so it cannot ask a server whether it accepts psk_ke alone.
// Everything here parses untrusted bytes: checked lengths, errors as values.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "stek/bytes.h"
#include "stek/result.h"
#include "stek/secret.h"

namespace stek::scan::tls {

inline constexpr std::uint8_t kClientHello = 1;
inline constexpr std::uint8_t kServerHello = 2;
inline constexpr std::uint8_t kNewSessionTicket = 4;
inline constexpr std::uint16_t kTls13 = 0x0304;
inline constexpr std::uint16_t kGroupX25519 = 0x001d;
// Bound on a handshake message stek-scan accepts from a server (a certificate chain is
// larger than anything it needs to read).
inline constexpr std::size_t kMaxHandshakeMessage = 1 << 16;

enum class HashAlg { sha256, sha384 };
std::size_t hash_size(HashAlg hash);

// A NewSessionTicket handshake message, header included (type 4, 24-bit length).
struct NewSessionTicket {
  std::uint32_t lifetime_hint = 0;       // seconds (TLS 1.2 hint, TLS 1.3 lifetime)
  std::optional<std::uint32_t> age_add;  // TLS 1.3 only
  Bytes nonce;                           // TLS 1.3 only
  Bytes ticket;
  std::optional<std::uint32_t> max_early_data;  // TLS 1.3 early_data extension
};
Result<NewSessionTicket> parse_new_session_ticket(ByteView message, bool tls13);

// HKDF-Expand-Label (RFC 8446 7.1) for outputs of at most one hash length.
Result<SecretBytes> hkdf_expand_label(HashAlg hash, ByteView secret, std::string_view label,
                                      ByteView context, std::size_t length);
// The PSK binder (RFC 8446 4.2.11.2) of a resumption PSK over a truncated ClientHello.
Result<SecretBytes> resumption_binder(HashAlg hash, ByteView psk, ByteView truncated_hello);

enum class PskMode : std::uint8_t { psk_ke = 0, psk_dhe_ke = 1 };

struct PskHelloParams {
  std::string server_name;  // empty: no SNI
  std::uint16_t cipher_suite = 0;
  HashAlg hash = HashAlg::sha256;
  ByteView psk;       // the resumption PSK of the ticket
  ByteView identity;  // the ticket
  std::uint32_t obfuscated_age = 0;
  std::array<std::uint8_t, 32> random{};
  PskMode mode = PskMode::psk_ke;
  Bytes x25519_share;  // 32 bytes, for psk_dhe_ke; psk_ke sends an empty key_share
};
// A TLS 1.3 ClientHello handshake message (header included) offering exactly one PSK, one
// cipher suite and one key exchange mode, with its binder computed.
Result<Bytes> build_psk_client_hello(const PskHelloParams& params);

struct ServerHello {
  bool hello_retry_request = false;
  std::uint16_t cipher_suite = 0;
  std::optional<std::uint16_t> selected_version;   // supported_versions
  std::optional<std::uint16_t> selected_identity;  // pre_shared_key
  bool key_share = false;
};
Result<ServerHello> parse_server_hello(ByteView message);

// The server's first reply as read from plaintext records: a whole handshake message or
// an alert.
struct FirstServerMessage {
  bool alert = false;
  std::uint8_t alert_level = 0;
  std::uint8_t alert_description = 0;
  Bytes handshake;  // the whole first handshake message, header included
};
// nullopt while more bytes are needed; an error when the bytes are not TLS records.
Result<std::optional<FirstServerMessage>> first_server_message(ByteView received);

std::string alert_name(std::uint8_t description);

}  // namespace stek::scan::tls

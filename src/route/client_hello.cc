// The ClientHello walk: record header, handshake header, fixed fields, extensions.
#include "client_hello.h"

#include <algorithm>
#include <optional>

namespace stek::route {

namespace {

constexpr std::uint16_t kExtSessionTicket = 35;  // RFC 5077
constexpr std::uint16_t kExtPreSharedKey = 41;   // RFC 8446 4.2.11

// A bounds-checked reader over [pos, end): every read fails instead of overrunning.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
  std::size_t left() const { return bytes_.size() - pos_; }
  std::size_t pos() const { return pos_; }
  std::optional<std::uint32_t> u8() { return read(1); }
  std::optional<std::uint32_t> u16() { return read(2); }
  std::optional<std::uint32_t> u24() { return read(3); }
  bool skip(std::size_t n) {
    if (n > left()) return false;
    pos_ += n;
    return true;
  }
  // The next n bytes as their own reader, and skips them.
  std::optional<Reader> sub(std::size_t n) {
    if (n > left()) return std::nullopt;
    Reader r(bytes_.subspan(pos_, n));
    pos_ += n;
    return r;
  }
  std::span<const std::uint8_t> rest() const { return bytes_.subspan(pos_); }

 private:
  std::optional<std::uint32_t> read(std::size_t n) {
    if (n > left()) return std::nullopt;
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v = (v << 8) | bytes_[pos_ + i];
    pos_ += n;
    return v;
  }
  std::span<const std::uint8_t> bytes_;
  std::size_t pos_ = 0;
};

HelloRoute verdict(HelloVerdict v) {
  return {v, {}, NameSource::none};
}

HelloRoute named(std::span<const std::uint8_t> at, NameSource source) {
  HelloRoute r{HelloVerdict::routed, {}, source};
  std::copy_n(at.begin(), kKeyNameSize, r.name.begin());
  return r;
}

// The legacy session id, if at least a key name long: the last choice, after the PSK identity
// and the ticket (a client that offers either resumes by it, not by the id).
HelloRoute by_session_id(std::span<const std::uint8_t> sid) {
  if (sid.size() < kKeyNameSize) return verdict(HelloVerdict::no_ticket);
  return named(sid, NameSource::session_id);
}

// The first identity of a pre_shared_key extension, if at least a key name long.
std::optional<std::span<const std::uint8_t>> first_psk_identity(Reader ext) {
  auto ids_len = ext.u16();
  auto id_len = ext.u16();
  if (!ids_len || !id_len || *ids_len + 2 > ext.left() + 4) return std::nullopt;
  if (*id_len + 6 > *ids_len || *id_len < kKeyNameSize) return std::nullopt;
  return ext.rest().first(kKeyNameSize);
}

}  // namespace

HelloRoute ticket_key_name(std::span<const std::uint8_t> start) {
  Reader in(start);
  if (in.left() < 9) return verdict(HelloVerdict::incomplete);
  const auto type = in.u8();
  const auto major = in.u8();
  if (*type != 0x16 || *major != 0x03) return verdict(HelloVerdict::malformed);
  in.skip(1);  // minor version: any
  const auto record_len = in.u16();
  if (*record_len > kMaxRecord) return verdict(HelloVerdict::malformed);
  if (in.left() < *record_len) return verdict(HelloVerdict::incomplete);
  Reader record = *in.sub(*record_len);
  const auto hs_type = record.u8();
  const auto hello_len = record.u24();
  if (!hs_type || !hello_len || *hs_type != 0x01) return verdict(HelloVerdict::malformed);
  // A hello longer than its record continues in the next one: not routed (the Lua does the same).
  if (*hello_len > record.left()) return verdict(HelloVerdict::incomplete);
  Reader hello = *record.sub(*hello_len);
  if (!hello.skip(2 + 32)) return verdict(HelloVerdict::malformed);  // version, random
  auto sid_len = hello.u8();
  if (!sid_len) return verdict(HelloVerdict::malformed);
  auto sid_reader = hello.sub(*sid_len);
  if (!sid_reader) return verdict(HelloVerdict::malformed);
  const std::span<const std::uint8_t> sid = sid_reader->rest();
  auto suites = hello.u16();
  if (!suites || !hello.skip(*suites)) return verdict(HelloVerdict::malformed);
  auto compression = hello.u8();
  if (!compression || !hello.skip(*compression)) return verdict(HelloVerdict::malformed);
  if (hello.left() == 0) return by_session_id(sid);  // no extensions at all
  auto ext_len = hello.u16();
  if (!ext_len || *ext_len != hello.left()) return verdict(HelloVerdict::malformed);
  std::optional<std::optional<std::span<const std::uint8_t>>> ticket;
  std::optional<std::optional<std::span<const std::uint8_t>>> psk;
  while (hello.left() > 0) {
    auto kind = hello.u16();
    auto len = hello.u16();
    if (!kind || !len) return verdict(HelloVerdict::malformed);
    auto body = hello.sub(*len);
    if (!body) return verdict(HelloVerdict::malformed);
    if (*kind == kExtSessionTicket) {
      if (ticket) return verdict(HelloVerdict::malformed);  // duplicate (RFC 8446 4.2)
      ticket =
          *len >= kKeyNameSize ? std::optional(body->rest().first(kKeyNameSize)) : std::nullopt;
    } else if (*kind == kExtPreSharedKey) {
      if (psk) return verdict(HelloVerdict::malformed);
      psk = first_psk_identity(*body);
    }
  }
  if (psk && *psk) return named(**psk, NameSource::psk_identity);
  if (ticket && *ticket) return named(**ticket, NameSource::session_ticket);
  return by_session_id(sid);
}

}  // namespace stek::route

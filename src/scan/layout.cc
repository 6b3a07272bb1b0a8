// Ticket layouts from bytes and lengths.
#include "layout.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

namespace stek::scan {

std::string_view layout_name(TicketLayout l) {
  switch (l) {
    case TicketLayout::unknown:
      return "unknown";
    case TicketLayout::openssl:
      return "openssl";
    case TicketLayout::gnutls:
      return "gnutls";
    case TicketLayout::nss:
      return "nss";
    case TicketLayout::go:
      return "go";
    case TicketLayout::java:
      return "java";
  }
  return "?";
}

std::string_view confidence_name(Confidence c) {
  switch (c) {
    case Confidence::low:
      return "low";
    case Confidence::medium:
      return "medium";
    case Confidence::high:
      return "high";
  }
  return "?";
}

std::size_t LayoutGuess::name_size() const {
  switch (layout) {
    case TicketLayout::unknown:
      return 0;
    case TicketLayout::java:
      return 4;
    default:
      return kKeyNameSize;
  }
}

TicketShape shape_of(ByteView ticket) {
  TicketShape s;
  s.length = ticket.size();
  std::copy_n(ticket.begin(), std::min(ticket.size(), kTicketHeadSize), s.head.begin());
  return s;
}

namespace {

// Sizes around the body, from the stacks' sources and the bytes they send.
constexpr std::size_t kNameIv = 32;        // name 16 | IV 16
constexpr std::size_t kGnutlsFixed = 54;   // name | IV | len 2 | ... | HMAC-SHA1 20
constexpr std::size_t kNssFixed = 66;      // name | IV | len 2 | ... | HMAC-SHA256 32
constexpr std::size_t kOpensslFixed = 64;  // name | IV | ... | HMAC-SHA256 32
constexpr std::size_t kGoFixed = 64;       // name | IV | ... | HMAC-SHA256 32
constexpr std::size_t kJavaFixed = 32;     // id 4 | IV 12 | ... | tag 16

// GnuTLS and NSS write the ciphertext's length after the IV: a 2-byte field that must
// equal the rest of the ticket, a whole number of AES blocks.
bool length_field_fits(ByteView t, std::size_t fixed) {
  if (t.size() < fixed + kTicketBlockSize) return false;
  const std::size_t body = t.size() - fixed;
  const std::size_t field = (std::size_t{t[kNameIv]} << 8) | t[kNameIv + 1];
  return field == body && body % kTicketBlockSize == 0;
}

}  // namespace

LayoutGuess guess_ticket_layout(ByteView t) {
  if (length_field_fits(t, kNssFixed)) {
    return {TicketLayout::nss, Confidence::high,
            "length 66 + 16n with the ciphertext length after the IV (NSS)"};
  }
  if (length_field_fits(t, kGnutlsFixed)) {
    return {TicketLayout::gnutls, Confidence::high,
            "length 54 + 16n with the ciphertext length after the IV (GnuTLS)"};
  }
  if (t.size() >= kOpensslFixed + kTicketBlockSize &&
      (t.size() - kOpensslFixed) % kTicketBlockSize == 0) {
    return {TicketLayout::openssl, Confidence::medium,
            "length 64 + 16n fits name | IV | CBC | HMAC-SHA256"};
  }
  if (t.size() > kGoFixed) {
    return {TicketLayout::go, Confidence::low,
            "length 64 + n (not whole blocks) fits Go's name | IV | CTR | HMAC-SHA256"};
  }
  if (t.size() > kJavaFixed) {
    return {TicketLayout::unknown, Confidence::low, "too short for a 16-byte key name layout"};
  }
  return {TicketLayout::unknown, Confidence::low, "too short for any known layout"};
}

LayoutGuess guess_endpoint_layout(std::span<const TicketShape> tickets,
                                  std::span<const LayoutGuess> per_ticket) {
  if (tickets.empty()) return {TicketLayout::unknown, Confidence::low, "no ticket"};
  std::map<TicketLayout, std::size_t> votes;
  for (const LayoutGuess& g : per_ticket) ++votes[g.layout];
  const std::size_t n = per_ticket.size();
  // GnuTLS and NSS are shown by a length field that random bytes match 1 time in 65536.
  for (TicketLayout strict : {TicketLayout::nss, TicketLayout::gnutls}) {
    if (votes[strict] * 2 > n) {
      return {strict, Confidence::high,
              fmt::format("{} of {} tickets have the {} length field", votes[strict], n,
                          layout_name(strict))};
    }
  }
  // How many tickets share their first 16 bytes, or only their first 4, with another.
  std::map<std::array<std::uint8_t, kTicketHeadSize>, std::size_t> by16;
  std::map<std::array<std::uint8_t, 4>, std::size_t> by4;
  for (const TicketShape& s : tickets) {
    ++by16[s.head];
    std::array<std::uint8_t, 4> p{};
    std::copy_n(s.head.begin(), 4, p.begin());
    ++by4[p];
  }
  std::size_t shared16 = 0;
  std::size_t shared4 = 0;
  for (const TicketShape& s : tickets) {
    std::array<std::uint8_t, 4> p{};
    std::copy_n(s.head.begin(), 4, p.begin());
    if (by16[s.head] >= 2) {
      ++shared16;
    } else if (by4[p] >= 2) {
      ++shared4;
    }
  }
  const bool any_go = votes[TicketLayout::go] > 0;
  if (shared16 >= 2) {
    // Tickets under one key share a 16-byte name and differ in the IV after it.
    const TicketLayout l = any_go ? TicketLayout::go : TicketLayout::openssl;
    return {l, Confidence::high,
            fmt::format("{} of {} tickets share their first 16 bytes with another (a key name); "
                        "lengths {}",
                        shared16, tickets.size(),
                        any_go ? "not whole AES blocks (Go's CTR)" : "64 + 16n (CBC)")};
  }
  if (shared4 >= 2) {
    return {TicketLayout::java, shared4 >= 3 ? Confidence::high : Confidence::medium,
            fmt::format("{} of {} tickets share exactly their first 4 bytes with another (a "
                        "4-byte key id, as OpenJDK's JSSE writes)",
                        shared4, tickets.size())};
  }
  if (tickets.size() >= 2) {
    return {TicketLayout::unknown, Confidence::medium,
            fmt::format("none of {} tickets shares a prefix with another: no key name in clear "
                        "(Go 1.21+, rustls before 0.23, stateful tickets), or a new key per ticket",
                        tickets.size())};
  }
  LayoutGuess one = per_ticket.empty() ? LayoutGuess{} : per_ticket.front();
  one.confidence = Confidence::low;
  one.reason += "; one ticket only";
  return one;
}

std::optional<KeyName> key_name_under(const LayoutGuess& layout, const TicketShape& ticket) {
  const std::size_t n = layout.name_size();
  if (n == 0 || ticket.length < n) return std::nullopt;
  KeyName name{};
  std::copy_n(ticket.head.begin(), n, name.begin());
  return name;
}

}  // namespace stek::scan

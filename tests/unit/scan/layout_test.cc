// Ticket layouts from bytes and lengths: each stack's shape as measured on Debian 12's
// servers (gnutls-serv 3.7.9, NSS selfserv 3.87, Caddy 2.6.2 on Go 1.19, OpenJDK 17.0.15,
// nginx 1.22), rebuilt here with chosen bytes so no server is needed.
#include "layout.h"

#include <vector>

#include <gtest/gtest.h>

namespace stek::scan {
namespace {

using Buf = std::vector<std::uint8_t>;

// A ticket of `length` bytes: `name` first, then bytes that differ per `salt` (an IV).
Buf layout_ticket(std::size_t length, const Buf& name, std::uint8_t salt) {
  Buf t(length);
  for (std::size_t i = 0; i < length; ++i) t[i] = static_cast<std::uint8_t>(salt * 31 + i * 7);
  std::copy(name.begin(), name.end(), t.begin());
  return t;
}

// GnuTLS and NSS write the ciphertext length as 2 bytes after name | IV.
Buf with_length_field(Buf t, std::size_t fixed) {
  const std::size_t body = t.size() - fixed;
  t[32] = static_cast<std::uint8_t>(body >> 8);
  t[33] = static_cast<std::uint8_t>(body);
  return t;
}

const Buf kName16(16, 0x5a);
const Buf kJavaId{0x03, 0x93, 0x7a, 0xdd};

LayoutGuess endpoint_of(const std::vector<Buf>& tickets) {
  std::vector<TicketShape> shapes;
  std::vector<LayoutGuess> guesses;
  for (const Buf& t : tickets) {
    shapes.push_back(shape_of(t));
    guesses.push_back(guess_ticket_layout(t));
  }
  return guess_endpoint_layout(shapes, guesses);
}

TEST(Layout, GnutlsTicketIsKnownByItsLengthField) {
  // gnutls-serv, TLS 1.3: 246 bytes, field 0x00c0 = 192 = 246 - 54.
  const Buf t = with_length_field(layout_ticket(246, kName16, 1), 54);
  const LayoutGuess g = guess_ticket_layout(t);
  EXPECT_EQ(g.layout, TicketLayout::gnutls);
  EXPECT_EQ(g.confidence, Confidence::high);
  EXPECT_EQ(g.name_size(), 16u);
}

TEST(Layout, NssTicketIsKnownByItsLengthField) {
  // selfserv, TLS 1.2: 178 bytes, field 0x0070 = 112 = 178 - 66.
  const Buf t = with_length_field(layout_ticket(178, kName16, 1), 66);
  EXPECT_EQ(guess_ticket_layout(t).layout, TicketLayout::nss);
}

TEST(Layout, AWrongLengthFieldIsNotGnutlsOrNss) {
  Buf t = with_length_field(layout_ticket(246, kName16, 1), 54);
  t[33] ^= 0x10;
  EXPECT_NE(guess_ticket_layout(t).layout, TicketLayout::gnutls);
  Buf n = with_length_field(layout_ticket(178, kName16, 1), 66);
  n[32] ^= 0x01;
  EXPECT_NE(guess_ticket_layout(n).layout, TicketLayout::nss);
}

TEST(Layout, WholeBlocksAfterNameIvAndMacFitOpenssl) {
  const LayoutGuess g = guess_ticket_layout(layout_ticket(64 + 16 * 10, kName16, 1));
  EXPECT_EQ(g.layout, TicketLayout::openssl);
  EXPECT_EQ(g.confidence, Confidence::medium);  // a Go ticket has such a length 1 time in 16
}

TEST(Layout, ALengthNotInWholeBlocksFitsGo) {
  // Caddy 2.6, TLS 1.2: 129 bytes (64 + 65).
  EXPECT_EQ(guess_ticket_layout(layout_ticket(129, kName16, 1)).layout, TicketLayout::go);
}

TEST(Layout, ShortTicketsHaveNoKnownLayout) {
  EXPECT_EQ(guess_ticket_layout(layout_ticket(40, {}, 1)).layout, TicketLayout::unknown);
  EXPECT_EQ(guess_ticket_layout(Buf{}).layout, TicketLayout::unknown);
  EXPECT_EQ(guess_ticket_layout(Buf(33, 0)).layout, TicketLayout::unknown);
}

TEST(Layout, TicketsSharingSixteenBytesConfirmAKeyName) {
  const LayoutGuess g =
      endpoint_of({layout_ticket(129, kName16, 1), layout_ticket(113, kName16, 2)});
  EXPECT_EQ(g.layout, TicketLayout::go);
  EXPECT_EQ(g.confidence, Confidence::high);
  const LayoutGuess o =
      endpoint_of({layout_ticket(240, kName16, 1), layout_ticket(224, kName16, 2)});
  EXPECT_EQ(o.layout, TicketLayout::openssl);
  EXPECT_EQ(o.confidence, Confidence::high);
}

TEST(Layout, TicketsSharingExactlyFourBytesAreJavaKeyIds) {
  // OpenJDK 17: id 4 | IV 12 | GCM; 648 and 632 bytes as measured.
  const LayoutGuess two =
      endpoint_of({layout_ticket(648, kJavaId, 1), layout_ticket(632, kJavaId, 2)});
  EXPECT_EQ(two.layout, TicketLayout::java);
  EXPECT_EQ(two.confidence, Confidence::medium);
  const LayoutGuess three =
      endpoint_of({layout_ticket(648, kJavaId, 1), layout_ticket(632, kJavaId, 2),
                   layout_ticket(648, kJavaId, 3)});
  EXPECT_EQ(three.confidence, Confidence::high);
  EXPECT_EQ(three.name_size(), 4u);
  const auto name = key_name_under(three, shape_of(layout_ticket(648, kJavaId, 9)));
  ASSERT_TRUE(name.has_value());
  EXPECT_EQ(key_name_hex(*name), "03937add000000000000000000000000");
}

TEST(Layout, TicketsSharingNoPrefixHideTheKeyName) {
  // Go 1.21+ and rustls before 0.23: IV or nonce first, nothing shared.
  const LayoutGuess g =
      endpoint_of({layout_ticket(129, {1, 2, 3, 4}, 1), layout_ticket(129, {5, 6, 7, 8}, 2),
                   layout_ticket(129, {9, 10, 11, 12}, 3)});
  EXPECT_EQ(g.layout, TicketLayout::unknown);
  EXPECT_EQ(g.confidence, Confidence::medium);
  EXPECT_FALSE(key_name_under(g, shape_of(layout_ticket(129, kName16, 1))).has_value());
}

TEST(Layout, OneTicketGivesTheTicketsGuessWithLowConfidence) {
  const LayoutGuess g = endpoint_of({layout_ticket(129, kName16, 1)});
  EXPECT_EQ(g.layout, TicketLayout::go);
  EXPECT_EQ(g.confidence, Confidence::low);
  EXPECT_EQ(endpoint_of({}).layout, TicketLayout::unknown);
}

TEST(Layout, MostTicketsWithALengthFieldDecideGnutls) {
  const Buf g1 = with_length_field(layout_ticket(246, kName16, 1), 54);
  const Buf g2 = with_length_field(layout_ticket(390, kName16, 2), 54);
  const LayoutGuess g = endpoint_of({g1, g2, layout_ticket(240, kName16, 3)});
  EXPECT_EQ(g.layout, TicketLayout::gnutls);
  EXPECT_EQ(g.confidence, Confidence::high);
}

TEST(Layout, ShapeKeepsTheLengthAndAtMostSixteenBytes) {
  const TicketShape s = shape_of(layout_ticket(5, {9, 8, 7}, 0));
  EXPECT_EQ(s.length, 5u);
  EXPECT_EQ(s.head[0], 9);
  EXPECT_EQ(s.head[5], 0);
  LayoutGuess java{TicketLayout::java, Confidence::high, ""};
  EXPECT_FALSE(key_name_under(java, shape_of(Buf{1, 2, 3})).has_value());
}

}  // namespace
}  // namespace stek::scan

// TLS 1.3 pieces of the psk_ke probe, pinned to RFC 8448 ("Example Handshake Traces for
// TLS 1.3"), section 3 (the ticket) and section 4 (the resumed handshake and its binder).
#include "tls13.h"

#include <string>

#include <gtest/gtest.h>

namespace stek::scan::tls {
namespace {

Bytes hex(std::string_view h) {
  auto r = from_hex(h);
  EXPECT_TRUE(r.ok()) << h;
  return Bytes(r->view().begin(), r->view().end());
}

std::string hex_of(ByteView b) {
  return to_hex(b);
}

// RFC 8448 section 3: NewSessionTicket from the server.
constexpr std::string_view kRfcTicketMessage =
    "040000c90000001efad6aac502000000b22c035d829359ee5ff7af4ec900000000262a6494dc486d2c8a34cb33fa90"
    "bf1b0070ad3c498883c9367c09a2be785abc55cd226097a3a982117283f82a03a143efd3ff5dd36d64e861be7fd61d"
    "2827db279cce145077d454a3664d4e6da4d29ee03725a6a4dafcd0fc67d2aea70529513e3da2677fa5906c5b3f7d8f"
    "92f228bda40dda721470f9fbf297b5aea617646fac5c03272e970727c621a79141ef5f7de6505e5bfbc388e9334369"
    "4093934ae4d3570008002a000400000400";

// RFC 8448 section 4: the resumed ClientHello up to (not including) its binders list.
constexpr std::string_view kRfcTruncatedHello =
    "010001fc03031bc3ceb6bbe39cff938355b5a50adb6db21b7a6af649d7b4bc419d7876487d95000006130113031302"
    "010001cd0000000b0009000006736572766572ff01000100000a00140012001d001700180019010001010102010301"
    "04003300260024001d0020e4ffb68ac05f8d96c99da26698346c6be16482badddafe051a66b4f18d668f0b002a0000"
    "002b0003020304000d0020001e040305030603020308040805080604010501060102010402050206020202002d0002"
    "0101001c00024001001500570000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000002900dd00b800b22c035d829359ee5ff7af4ec900000000262a6494dc486d2c8a34cb33fa90bf1b0070"
    "ad3c498883c9367c09a2be785abc55cd226097a3a982117283f82a03a143efd3ff5dd36d64e861be7fd61d2827db27"
    "9cce145077d454a3664d4e6da4d29ee03725a6a4dafcd0fc67d2aea70529513e3da2677fa5906c5b3f7d8f92f228bd"
    "a40dda721470f9fbf297b5aea617646fac5c03272e970727c621a79141ef5f7de6505e5bfbc388e93343694093934a"
    "e4d357fad6aacb";

// RFC 8448 section 4: the server's ServerHello accepting the PSK with a key share.
constexpr std::string_view kRfcResumedServerHello =
    "0200005c03033ccfd2dec890222763472ae8136777c9d7358777bb66e91ea5122495f559ea2d001301000034002900"
    "02000000330024001d0020121761ee42c333e1b9e77b60dd57c2053cd94512ab47f115e86eff50942cea31002b0002"
    "0304";

TEST(Tls13, ParsesTheRfc8448NewSessionTicket) {
  auto nst = parse_new_session_ticket(hex(kRfcTicketMessage), true);
  ASSERT_TRUE(nst.ok()) << nst.error().message;
  EXPECT_EQ(nst->lifetime_hint, 30u);
  EXPECT_EQ(nst->age_add, 0xfad6aac5u);
  EXPECT_EQ(hex_of(nst->nonce), "0000");
  EXPECT_EQ(nst->ticket.size(), 178u);
  EXPECT_EQ(hex_of(ByteView(nst->ticket).first(8)), "2c035d829359ee5f");
  EXPECT_EQ(nst->max_early_data, 1024u);
}

TEST(Tls13, ParsesATls12NewSessionTicket) {
  // type 4, length 10: hint 7200, ticket of 4 bytes.
  auto nst = parse_new_session_ticket(hex("0400000a00001c200004deadbeef"), false);
  ASSERT_TRUE(nst.ok()) << nst.error().message;
  EXPECT_EQ(nst->lifetime_hint, 7200u);
  EXPECT_EQ(hex_of(nst->ticket), "deadbeef");
  EXPECT_FALSE(nst->age_add.has_value());
}

TEST(Tls13, RejectsEveryTruncationOfATicketMessage) {
  const Bytes whole = hex(kRfcTicketMessage);
  for (std::size_t n = 0; n < whole.size(); ++n) {
    EXPECT_FALSE(parse_new_session_ticket(ByteView(whole).first(n), true).ok()) << n;
  }
  Bytes longer = whole;
  longer.push_back(0);
  EXPECT_FALSE(parse_new_session_ticket(longer, true).ok());
}

TEST(Tls13, ExpandsTheRfc8448ResumptionPsk) {
  // PSK = HKDF-Expand-Label(resumption_master_secret, "resumption", nonce 0000, 32).
  auto psk = hkdf_expand_label(
      HashAlg::sha256, hex("7df235f2031d2a051287d02b0241b0bfdaf86cc856231f2d5aba46c434ec196c"),
      "resumption", hex("0000"), 32);
  ASSERT_TRUE(psk.ok());
  EXPECT_EQ(hex_of(psk->view()),
            "4ecd0eb6ec3b4d87f5d6028f922ca4c5851a277fd41311c9e62d2c9492e1c4f3");
}

TEST(Tls13, ComputesTheRfc8448Binder) {
  auto binder = resumption_binder(
      HashAlg::sha256, hex("4ecd0eb6ec3b4d87f5d6028f922ca4c5851a277fd41311c9e62d2c9492e1c4f3"),
      hex(kRfcTruncatedHello));
  ASSERT_TRUE(binder.ok());
  EXPECT_EQ(hex_of(binder->view()),
            "3add4fb2d8fdf822a0ca3cf7678ef5e88dae990141c5924d57bb6fa31b9e5f9d");
}

TEST(Tls13, ParsesTheRfc8448ResumedServerHello) {
  auto sh = parse_server_hello(hex(kRfcResumedServerHello));
  ASSERT_TRUE(sh.ok()) << sh.error().message;
  EXPECT_FALSE(sh->hello_retry_request);
  EXPECT_EQ(sh->cipher_suite, 0x1301);
  EXPECT_EQ(sh->selected_version, kTls13);
  EXPECT_EQ(sh->selected_identity, 0);
  EXPECT_TRUE(sh->key_share);
}

TEST(Tls13, RecognisesAHelloRetryRequest) {
  // ServerHello with the HelloRetryRequest random, key_share naming x25519, TLS 1.3.
  const Bytes hrr = hex(
      "020000340303cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c00130100000c0033"
      "0002001d002b00020304");
  auto sh = parse_server_hello(hrr);
  ASSERT_TRUE(sh.ok()) << sh.error().message;
  EXPECT_TRUE(sh->hello_retry_request);
  EXPECT_FALSE(sh->selected_identity.has_value());
}

TEST(Tls13, RejectsEveryTruncationOfAServerHello) {
  const Bytes whole = hex(kRfcResumedServerHello);
  for (std::size_t n = 0; n < whole.size(); ++n) {
    EXPECT_FALSE(parse_server_hello(ByteView(whole).first(n)).ok()) << n;
  }
}

struct BuiltHello {
  Bytes message;
  std::size_t binders_at;
};

// Finds pre_shared_key (the last extension) and checks the structure on the way.
BuiltHello build(PskMode mode, const Bytes& psk, const Bytes& identity) {
  PskHelloParams p;
  p.server_name = "localhost";
  p.cipher_suite = 0x1302;
  p.hash = HashAlg::sha384;
  p.psk = psk;
  p.identity = identity;
  p.obfuscated_age = 0x01020304;
  p.random.fill(0x5a);
  p.mode = mode;
  if (mode == PskMode::psk_dhe_ke) p.x25519_share = Bytes(32, 0x42);
  auto m = build_psk_client_hello(p);
  EXPECT_TRUE(m.ok()) << m.error().message;
  const Bytes& b = *m;
  // Binders list: u16 length (1 + 48), u8 48, binder.
  const std::size_t binders_at = b.size() - (2 + 1 + 48);
  return {b, binders_at};
}

TEST(Tls13, BuiltHelloCarriesAValidBinderOverItsTruncatedSelf) {
  const Bytes psk(48, 0x33);
  const Bytes identity(120, 0x77);
  for (PskMode mode : {PskMode::psk_ke, PskMode::psk_dhe_ke}) {
    const BuiltHello h = build(mode, psk, identity);
    const Bytes& m = h.message;
    ASSERT_GT(m.size(), 200u);
    EXPECT_EQ(m[0], kClientHello);
    const std::size_t len = (std::size_t{m[1]} << 16) | (std::size_t{m[2]} << 8) | m[3];
    EXPECT_EQ(len + 4, m.size());
    EXPECT_EQ(m[h.binders_at], 0);
    EXPECT_EQ(m[h.binders_at + 1], 49);
    EXPECT_EQ(m[h.binders_at + 2], 48);
    auto binder = resumption_binder(HashAlg::sha384, psk, ByteView(m).first(h.binders_at));
    ASSERT_TRUE(binder.ok());
    EXPECT_EQ(hex_of(ByteView(m).subspan(h.binders_at + 3)), hex_of(binder->view()));
    // The identity and the obfuscated age sit just before the binders.
    EXPECT_EQ(hex_of(ByteView(m).subspan(h.binders_at - 4, 4)), "01020304");
    EXPECT_EQ(hex_of(ByteView(m).subspan(h.binders_at - 4 - identity.size(), identity.size())),
              hex_of(identity));
  }
}

TEST(Tls13, PskKeHelloOffersOnlyPskKeAndNoKeyShare) {
  const BuiltHello h = build(PskMode::psk_ke, Bytes(48, 1), Bytes(64, 2));
  const std::string s = hex_of(h.message);
  EXPECT_NE(s.find("002d00020100"), std::string::npos);  // psk_key_exchange_modes: [psk_ke]
  EXPECT_NE(s.find("003300020000"), std::string::npos);  // key_share: empty client_shares
  const BuiltHello d = build(PskMode::psk_dhe_ke, Bytes(48, 1), Bytes(64, 2));
  const std::string t = hex_of(d.message);
  EXPECT_NE(t.find("002d00020101"), std::string::npos);    // [psk_dhe_ke]
  EXPECT_NE(t.find("00330026002400"), std::string::npos);  // one x25519 share
}

TEST(Tls13, RefusesPskOfTheWrongSizeForTheSuite) {
  PskHelloParams p;
  p.hash = HashAlg::sha256;
  const Bytes psk(48, 1), id(10, 2);
  p.psk = psk;
  p.identity = id;
  EXPECT_FALSE(build_psk_client_hello(p).ok());
}

TEST(Tls13, FirstServerMessageReassemblesAcrossRecords) {
  const Bytes sh = hex(kRfcResumedServerHello);
  Bytes wire{0x16, 0x03, 0x03, 0x00, 0x10};
  wire.insert(wire.end(), sh.begin(), sh.begin() + 16);
  // Until the second record arrives, more bytes are needed.
  auto partial = first_server_message(wire);
  ASSERT_TRUE(partial.ok());
  EXPECT_FALSE(partial->has_value());
  const std::size_t rest = sh.size() - 16;
  wire.insert(wire.end(), {0x16, 0x03, 0x03, 0x00, static_cast<std::uint8_t>(rest)});
  wire.insert(wire.end(), sh.begin() + 16, sh.end());
  auto whole = first_server_message(wire);
  ASSERT_TRUE(whole.ok());
  ASSERT_TRUE(whole->has_value());
  EXPECT_FALSE((*whole)->alert);
  EXPECT_EQ((*whole)->handshake, sh);
}

TEST(Tls13, FirstServerMessageReportsAnAlert) {
  auto r = first_server_message(hex("15030300020228"));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_TRUE((*r)->alert);
  EXPECT_EQ((*r)->alert_description, 40);
  EXPECT_EQ(alert_name(40), "handshake_failure");
}

TEST(Tls13, FirstServerMessageRefusesWhatIsNotTls) {
  const std::string http = "HTTP/1.1 400 Bad Request\r\n\r\n";
  EXPECT_FALSE(first_server_message(as_bytes(http)).ok());
  EXPECT_FALSE(first_server_message(hex("1603030000")).ok());  // empty record
}

}  // namespace
}  // namespace stek::scan::tls

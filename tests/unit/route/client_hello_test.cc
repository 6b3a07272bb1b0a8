// ticket_key_name over ClientHellos built field by field: TLS 1.2 tickets, TLS 1.3 PSK
// identities, their precedence, and every malformed or hostile shape (truncated, oversized
// or duplicate extensions, hellos split over records, garbage) ending in a verdict, not a read
// out of bounds.
#include "client_hello.h"

#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

namespace stek::route {
namespace {

using Bytes8 = std::vector<std::uint8_t>;

void put16(Bytes8& b, std::size_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}

Bytes8 extension(std::uint16_t type, const Bytes8& body) {
  Bytes8 e;
  put16(e, type);
  put16(e, body.size());
  e.insert(e.end(), body.begin(), body.end());
  return e;
}

Bytes8 filled(std::size_t n, std::uint8_t first) {
  Bytes8 b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(first + i);
  return b;
}

// pre_shared_key body: one identity, its obfuscated age, one 32-byte binder.
Bytes8 psk_body(const Bytes8& identity) {
  Bytes8 ids;
  put16(ids, identity.size());
  ids.insert(ids.end(), identity.begin(), identity.end());
  ids.insert(ids.end(), {0, 0, 0, 1});
  Bytes8 b;
  put16(b, ids.size());
  b.insert(b.end(), ids.begin(), ids.end());
  put16(b, 33);
  b.push_back(32);
  const Bytes8 binder(32, 0xbb);
  b.insert(b.end(), binder.begin(), binder.end());
  return b;
}

// A ClientHello record with these extensions (already encoded, concatenated) and this legacy
// session id (none by default; a TLS 1.3 client sends 32 random bytes, a TLS 1.2 client that
// resumes by id the server's id).
Bytes8 hello_record(const Bytes8& extensions, bool with_extension_block = true,
                    const Bytes8& sid = {}) {
  Bytes8 body = {0x03, 0x03};
  const Bytes8 random(32, 0x11);
  body.insert(body.end(), random.begin(), random.end());
  body.push_back(static_cast<std::uint8_t>(sid.size()));
  body.insert(body.end(), sid.begin(), sid.end());
  put16(body, 4);
  body.insert(body.end(), {0x13, 0x01, 0xc0, 0x2f});
  body.insert(body.end(), {1, 0});  // compression: null
  if (with_extension_block) {
    put16(body, extensions.size());
    body.insert(body.end(), extensions.begin(), extensions.end());
  }
  Bytes8 hs = {0x01, 0, static_cast<std::uint8_t>(body.size() >> 8),
               static_cast<std::uint8_t>(body.size())};
  hs.insert(hs.end(), body.begin(), body.end());
  Bytes8 rec = {0x16, 0x03, 0x01};
  put16(rec, hs.size());
  rec.insert(rec.end(), hs.begin(), hs.end());
  return rec;
}

Bytes8 concat(std::initializer_list<Bytes8> parts) {
  Bytes8 out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

KeyName name_from(std::uint8_t first) {
  KeyName n{};
  for (std::size_t i = 0; i < n.size(); ++i) n[i] = static_cast<std::uint8_t>(first + i);
  return n;
}

const Bytes8 kSni = extension(0, {0, 5, 0, 0, 2, 'a', 'b'});

TEST(ClientHelloKeyName, ReadsTheTls12SessionTicketKeyName) {
  const auto r = ticket_key_name(hello_record(concat({kSni, extension(35, filled(160, 0x40))})));
  ASSERT_EQ(r.verdict, HelloVerdict::routed);
  EXPECT_EQ(r.name, name_from(0x40));
  EXPECT_EQ(r.source, NameSource::session_ticket);
}

TEST(ClientHelloKeyName, ReadsTheTls13FirstPskIdentity) {
  const auto r =
      ticket_key_name(hello_record(concat({kSni, extension(41, psk_body(filled(200, 0x70)))})));
  ASSERT_EQ(r.verdict, HelloVerdict::routed);
  EXPECT_EQ(r.name, name_from(0x70));
  EXPECT_EQ(r.source, NameSource::psk_identity);
}

TEST(ClientHelloKeyName, PrefersThePskIdentityOverATls12Ticket) {
  const auto r = ticket_key_name(hello_record(
      concat({extension(35, filled(100, 0x01)), extension(41, psk_body(filled(100, 0x90)))})));
  ASSERT_EQ(r.verdict, HelloVerdict::routed);
  EXPECT_EQ(r.name, name_from(0x90));
}

TEST(ClientHelloKeyName, FallsBackToTheTicketWhenThePskIdentityIsShort) {
  const auto r = ticket_key_name(hello_record(
      concat({extension(35, filled(100, 0x01)), extension(41, psk_body(filled(15, 0x90)))})));
  ASSERT_EQ(r.verdict, HelloVerdict::routed);
  EXPECT_EQ(r.name, name_from(0x01));
}

TEST(ClientHelloKeyName, AnEmptyOrShortTicketIsNoTicket) {
  EXPECT_EQ(ticket_key_name(hello_record(extension(35, {}))).verdict, HelloVerdict::no_ticket);
  EXPECT_EQ(ticket_key_name(hello_record(extension(35, filled(15, 1)))).verdict,
            HelloVerdict::no_ticket);
  EXPECT_EQ(ticket_key_name(hello_record(kSni)).verdict, HelloVerdict::no_ticket);
  EXPECT_EQ(ticket_key_name(hello_record({}, false)).verdict, HelloVerdict::no_ticket);
}

TEST(ClientHelloKeyName, ExactlySixteenTicketBytesAreEnough) {
  EXPECT_EQ(ticket_key_name(hello_record(extension(35, filled(16, 3)))).verdict,
            HelloVerdict::routed);
}

// STEK-less servers (libstek with a server prefix) resume TLS 1.2 by session id: the id's
// first 16 bytes are the server prefix, read where a ticket's key name would be.
TEST(ClientHelloKeyName, ReadsTheSessionIdPrefixWhenNoTicketIsOffered) {
  const auto r =
      ticket_key_name(hello_record(concat({kSni, extension(35, {})}), true, filled(32, 0xa0)));
  ASSERT_EQ(r.verdict, HelloVerdict::routed);
  EXPECT_EQ(r.name, name_from(0xa0));
  EXPECT_EQ(r.source, NameSource::session_id);
}

TEST(ClientHelloKeyName, ReadsTheSessionIdOfAHelloWithoutExtensions) {
  const auto r = ticket_key_name(hello_record({}, false, filled(16, 0x30)));
  ASSERT_EQ(r.verdict, HelloVerdict::routed);
  EXPECT_EQ(r.name, name_from(0x30));
  EXPECT_EQ(r.source, NameSource::session_id);
}

TEST(ClientHelloKeyName, ATicketOrPskIdentityWinsOverTheSessionId) {
  const Bytes8 sid = filled(32, 0xa0);
  const auto t = ticket_key_name(hello_record(extension(35, filled(100, 0x01)), true, sid));
  EXPECT_EQ(t.name, name_from(0x01));
  EXPECT_EQ(t.source, NameSource::session_ticket);
  const auto p =
      ticket_key_name(hello_record(extension(41, psk_body(filled(32, 0x90))), true, sid));
  EXPECT_EQ(p.name, name_from(0x90));
  EXPECT_EQ(p.source, NameSource::psk_identity);
}

TEST(ClientHelloKeyName, ASessionIdShorterThanAKeyNameIsNoTicket) {
  const auto r = ticket_key_name(hello_record(kSni, true, filled(15, 0xa0)));
  EXPECT_EQ(r.verdict, HelloVerdict::no_ticket);
  EXPECT_EQ(r.source, NameSource::none);
}

TEST(ClientHelloKeyName, ASessionIdLongerThanTheHelloIsMalformed) {
  Bytes8 rec = hello_record({}, false, filled(32, 0xa0));
  rec[5 + 4 + 2 + 32] = 0xff;  // the session id claims 255 bytes
  EXPECT_EQ(ticket_key_name(rec).verdict, HelloVerdict::malformed);
}

TEST(ClientHelloKeyName, EveryTruncationIsIncompleteOrMalformedNeverRouted) {
  const Bytes8 full = hello_record(concat({kSni, extension(35, filled(160, 0x40))}));
  for (std::size_t n = 0; n < full.size(); ++n) {
    const auto r = ticket_key_name(std::span(full).first(n));
    EXPECT_EQ(r.verdict, HelloVerdict::incomplete) << "cut at " << n;
  }
}

TEST(ClientHelloKeyName, DuplicateTicketOrPskExtensionsAreMalformed) {
  EXPECT_EQ(ticket_key_name(hello_record(concat(
                                {extension(35, filled(100, 1)), extension(35, filled(100, 2))})))
                .verdict,
            HelloVerdict::malformed);
  EXPECT_EQ(ticket_key_name(hello_record(concat({extension(41, psk_body(filled(20, 1))),
                                                 extension(41, psk_body(filled(20, 2)))})))
                .verdict,
            HelloVerdict::malformed);
}

TEST(ClientHelloKeyName, AnExtensionLongerThanTheBlockIsMalformed) {
  Bytes8 ext = extension(35, filled(40, 1));
  ext[3] = 0xff;  // claims 255 bytes, has 40
  EXPECT_EQ(ticket_key_name(hello_record(ext)).verdict, HelloVerdict::malformed);
  Bytes8 psk = extension(41, psk_body(filled(20, 1)));
  psk[5] = 0xff;  // identities claim more than the extension
  EXPECT_EQ(ticket_key_name(hello_record(psk)).verdict, HelloVerdict::no_ticket);
}

TEST(ClientHelloKeyName, ARecordAboveTheTlsLimitIsMalformed) {
  Bytes8 rec = hello_record(extension(35, filled(100, 1)));
  rec[3] = 0x40;  // 16384 + some
  rec[4] = 0x01;
  rec.resize(5 + 0x4001, 0);
  EXPECT_EQ(ticket_key_name(rec).verdict, HelloVerdict::malformed);
}

TEST(ClientHelloKeyName, AHelloSplitOverTwoRecordsIsNotRouted) {
  Bytes8 rec = hello_record(extension(35, filled(100, 1)));
  const std::size_t hs_len = rec.size() - 5;
  Bytes8 first(rec.begin(), rec.begin() + 5 + 60);
  first[3] = 0;
  first[4] = 60;
  ASSERT_LT(60u, hs_len);
  EXPECT_EQ(ticket_key_name(first).verdict, HelloVerdict::incomplete);
}

TEST(ClientHelloKeyName, GarbageAndOtherRecordTypesAreMalformed) {
  EXPECT_EQ(ticket_key_name(Bytes8(64, 'G')).verdict, HelloVerdict::malformed);
  Bytes8 http = {'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P', '/', '1', '.', '1'};
  EXPECT_EQ(ticket_key_name(http).verdict, HelloVerdict::malformed);
  Bytes8 server_hello = hello_record(extension(35, filled(100, 1)));
  server_hello[5] = 0x02;
  EXPECT_EQ(ticket_key_name(server_hello).verdict, HelloVerdict::malformed);
}

}  // namespace
}  // namespace stek::route

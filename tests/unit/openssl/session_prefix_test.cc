// STEK-less session ids with a server prefix: the encoding (prefix, then random bytes), and
// real handshakes whose TLS 1.2 session id and TLS 1.3 ticket begin with the prefix, read back
// from the resuming client's ClientHello by the routing parser (src/route), the C++ twin of the
// HAProxy module: the same map that routes key names routes STEK-less sessions.
#include "session_prefix.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include "stek/openssl.h"
#include "stek/stek.h"

#include "client_hello.h"
#include "tls_pair.h"
#include "tls_versions.h"

namespace stek::openssl {
namespace {

using testing::handshake;
using testing::make_client_ctx;
using testing::make_server_ctx;

// Fills every byte with 0x5c: the random part is easy to tell from the prefix.
class PrefixTestRandom final : public Random {
 public:
  Status fill(std::span<std::uint8_t> out) override {
    std::fill(out.begin(), out.end(), std::uint8_t{0x5c});
    return {};
  }
};

KeyName prefix_from(std::uint8_t first) {
  KeyName p{};
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<std::uint8_t>(first + i);
  return p;
}

TEST(PrefixedSessionId, WritesThePrefixThenRandomBytes) {
  PrefixTestRandom random;
  std::vector<std::uint8_t> id(32, 0);
  ASSERT_TRUE(detail::fill_prefixed_session_id(prefix_from(0xa0), id, random).ok());
  const KeyName expected = prefix_from(0xa0);
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), id.begin()));
  EXPECT_TRUE(std::all_of(id.begin() + 16, id.end(), [](auto b) { return b == 0x5c; }));
}

TEST(PrefixedSessionId, RefusesAnIdWithoutSixteenRandomBytes) {
  PrefixTestRandom random;
  std::vector<std::uint8_t> id(31, 0);
  const auto s = detail::fill_prefixed_session_id(prefix_from(1), id, random);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Errc::invalid_argument);
  EXPECT_TRUE(std::all_of(id.begin(), id.end(), [](auto b) { return b == 0; })) << "untouched";
}

TEST(PrefixedSessionId, TheOperatorsHexIsAKeyName) {
  // The example server's --server-prefix takes 32 hex digits, parsed as a key name.
  auto p = parse_key_name_hex("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, prefix_from(0xa0));
  EXPECT_FALSE(parse_key_name_hex("a0a1a2a3a4a5a6a7a8a9aaabacadae").ok());
  EXPECT_FALSE(parse_key_name_hex("zza1a2a3a4a5a6a7a8a9aaabacadaeaf").ok());
}

// The client's ClientHello as a TLS record (the message callback sees it without the header).
struct HelloCapture {
  std::vector<std::uint8_t> record;
};

void capture_hello(int write_p, int, int content_type, const void* buf, size_t len, SSL*,
                   void* arg) {
  const auto* msg = static_cast<const std::uint8_t*>(buf);
  if (!write_p || content_type != SSL3_RT_HANDSHAKE || len == 0 || msg[0] != 1) return;
  auto* out = static_cast<HelloCapture*>(arg);
  out->record = {0x16, 0x03, 0x01, static_cast<std::uint8_t>(len >> 8),
                 static_cast<std::uint8_t>(len)};
  out->record.insert(out->record.end(), msg, msg + len);
}

class PrefixedStatefulTickets : public ::testing::TestWithParam<int> {
 protected:
  int version() const { return GetParam(); }
};

using test::tls_version_name;
INSTANTIATE_TEST_SUITE_P(Versions, PrefixedStatefulTickets,
                         ::testing::Values(TLS1_2_VERSION, TLS1_3_VERSION), tls_version_name);

TEST_P(PrefixedStatefulTickets, SessionIdsBeginWithTheServerPrefix) {
  auto server = make_server_ctx(version());
  ASSERT_TRUE(enable_stateful_tickets(server.get(), {.server_prefix = prefix_from(0x40)}).ok());
  auto client = make_client_ctx(version());
  auto first = handshake(server.get(), client.get());
  ASSERT_TRUE(first.ok) << first.error;
  Bytes id;
  if (version() == TLS1_3_VERSION) {
    id = first.ticket();  // a stateful ticket is the session id
  } else {
    unsigned int n = 0;
    const unsigned char* raw = SSL_SESSION_get_id(first.session.get(), &n);
    id.assign(raw, raw + n);
  }
  ASSERT_EQ(id.size(), 32u);
  EXPECT_EQ(key_name_hex(prefix_from(0x40)), to_hex(ByteView(id).first(16)));
}

TEST_P(PrefixedStatefulTickets, TheCApiSetsThePrefixToo) {
  const KeyName prefix = prefix_from(0x60);
  for (const bool with_prefix : {true, false}) {
    auto server = make_server_ctx(version());
    char err[256] = "";
    ASSERT_EQ(stek_enable_stateful_tickets_with_prefix(
                  server.get(), 100, 3600, with_prefix ? prefix.data() : nullptr, err, sizeof err),
              1)
        << err;
    auto client = make_client_ctx(version());
    auto first = handshake(server.get(), client.get());
    ASSERT_TRUE(first.ok) << first.error;
    Bytes id;
    if (version() == TLS1_3_VERSION) {
      id = first.ticket();
    } else {
      unsigned int n = 0;
      const unsigned char* raw = SSL_SESSION_get_id(first.session.get(), &n);
      id.assign(raw, raw + n);
    }
    ASSERT_EQ(id.size(), 32u);
    if (with_prefix) {
      EXPECT_EQ(key_name_hex(prefix), to_hex(ByteView(id).first(16)));
    } else {
      EXPECT_NE(key_name_hex(prefix), to_hex(ByteView(id).first(16)));
    }
    auto again = handshake(server.get(), client.get(), {.resume = first.session.get()});
    EXPECT_TRUE(again.resumed) << (with_prefix ? "with" : "without") << " a prefix";
  }
}

TEST_P(PrefixedStatefulTickets, TheResumingHelloRoutesByThePrefix) {
  auto a = make_server_ctx(version());
  auto b = make_server_ctx(version());
  ASSERT_TRUE(enable_stateful_tickets(a.get(), {.server_prefix = prefix_from(0x10)}).ok());
  ASSERT_TRUE(enable_stateful_tickets(b.get(), {.server_prefix = prefix_from(0x80)}).ok());
  auto client = make_client_ctx(version());
  for (auto [ctx, first] : {std::pair{a.get(), 0x10}, std::pair{b.get(), 0x80}}) {
    auto issued = handshake(ctx, client.get());
    ASSERT_TRUE(issued.ok) << issued.error;
    HelloCapture hello;
    auto again = handshake(ctx, client.get(),
                           {.resume = issued.session.get(), .configure_client = [&](SSL* s) {
                              SSL_set_msg_callback(s, capture_hello);
                              SSL_set_msg_callback_arg(s, &hello);
                            }});
    EXPECT_TRUE(again.resumed);
    const auto route = route::ticket_key_name(hello.record);
    ASSERT_EQ(route.verdict, route::HelloVerdict::routed);
    EXPECT_EQ(route.name, prefix_from(static_cast<std::uint8_t>(first)));
    EXPECT_EQ(route.source, version() == TLS1_3_VERSION ? route::NameSource::psk_identity
                                                        : route::NameSource::session_id);
  }
}

TEST_P(PrefixedStatefulTickets, ANewHelloCarriesNoKnownPrefix) {
  // A client without a session: TLS 1.2 sends no session id, TLS 1.3 a random one, which no
  // routing map holds; the balancer balances it as usual.
  HelloCapture hello;
  auto server = make_server_ctx(version());
  ASSERT_TRUE(enable_stateful_tickets(server.get(), {.server_prefix = prefix_from(0x10)}).ok());
  auto client = make_client_ctx(version());
  auto r = handshake(server.get(), client.get(), {.configure_client = [&](SSL* s) {
                       SSL_set_msg_callback(s, capture_hello);
                       SSL_set_msg_callback_arg(s, &hello);
                     }});
  ASSERT_TRUE(r.ok) << r.error;
  const auto route = route::ticket_key_name(hello.record);
  EXPECT_NE(route.name, prefix_from(0x10));
  if (version() == TLS1_2_VERSION) {
    EXPECT_EQ(route.verdict, route::HelloVerdict::no_ticket);
  }
}

TEST(PrefixedStatefulTicketsOptions, EnablingAgainWithoutAPrefixDropsIt) {
  auto server = make_server_ctx(TLS1_2_VERSION);
  ASSERT_TRUE(enable_stateful_tickets(server.get(), {.server_prefix = prefix_from(0x10)}).ok());
  ASSERT_TRUE(enable_stateful_tickets(server.get()).ok());
  auto client = make_client_ctx(TLS1_2_VERSION);
  auto r = handshake(server.get(), client.get());
  ASSERT_TRUE(r.ok) << r.error;
  unsigned int n = 0;
  const unsigned char* raw = SSL_SESSION_get_id(r.session.get(), &n);
  ASSERT_EQ(n, 32u);
  EXPECT_NE(key_name_hex(prefix_from(0x10)), to_hex(ByteView(raw, 16)));
}

}  // namespace
}  // namespace stek::openssl

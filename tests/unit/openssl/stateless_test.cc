// STEK-less mode (enable_stateful_tickets): real OpenSSL handshakes over memory BIOs against a
// server whose sessions live in libstek's session cache.
#include <vector>

#include <gtest/gtest.h>
#include <openssl/err.h>

#include "stek/openssl.h"
#include "stek/ossl_ptr.h"

#include "testing/fixed_clock.h"
#include "tls_pair.h"
#include "tls_versions.h"

namespace stek::openssl {
namespace {

using testing::handshake;
using testing::make_client_ctx;
using testing::make_server_ctx;

class StatefulTickets : public ::testing::TestWithParam<int> {
 protected:
  int version() const { return GetParam(); }
};

using test::tls_version_name;
INSTANTIATE_TEST_SUITE_P(Versions, StatefulTickets,
                         ::testing::Values(TLS1_2_VERSION, TLS1_3_VERSION), tls_version_name);

TEST_P(StatefulTickets, ResumeOnlyOnTheServerThatHoldsTheSession) {
  auto a = make_server_ctx(version());
  auto b = make_server_ctx(version());
  ASSERT_TRUE(enable_stateful_tickets(a.get()).ok());
  ASSERT_TRUE(enable_stateful_tickets(b.get()).ok());
  auto client = make_client_ctx(version());
  auto first = handshake(a.get(), client.get());
  ASSERT_TRUE(first.ok) << first.error;
  if (version() == TLS1_3_VERSION) {
    // The ticket is only an id: OpenSSL's 32-byte session id, nothing sealed.
    EXPECT_EQ(first.ticket().size(), 32u);
  } else {
    EXPECT_TRUE(first.ticket().empty());
  }
  EXPECT_TRUE(handshake(a.get(), client.get(), {.resume = first.session.get()}).resumed);
  EXPECT_FALSE(handshake(b.get(), client.get(), {.resume = first.session.get()}).resumed);
}

TEST_P(StatefulTickets, ResumesWhenTheServerNeverSentCloseNotify) {
  // OpenSSL's internal cache drops such a session (ssl_clear_bad_session); TLS 1.2 then never
  // resumed with clients that close first (s_client -reconnect: 0 of 6).
  auto server = make_server_ctx(version());
  ASSERT_TRUE(enable_stateful_tickets(server.get()).ok());
  auto client = make_client_ctx(version());
  auto last = handshake(server.get(), client.get(), {.server_shutdown = false});
  ASSERT_TRUE(last.ok) << last.error;
  for (int i = 0; i < 3; ++i) {
    // Each time with the newest session (the in-process client offers a TLS 1.3 ticket once).
    auto again = handshake(server.get(), client.get(),
                           {.resume = last.session.get(), .server_shutdown = false});
    ASSERT_TRUE(again.ok) << again.error;
    EXPECT_TRUE(again.resumed) << "resumption " << i;
    last = std::move(again);
  }
  EXPECT_GE(stateful_sessions(server.get()), 1u);
}

TEST_P(StatefulTickets, CacheIsBounded) {
  auto server = make_server_ctx(version());
  ASSERT_TRUE(enable_stateful_tickets(server.get(), {.cache_size = 8}).ok());
  auto client = make_client_ctx(version());
  std::vector<testing::SessionPtr> sessions;
  for (int i = 0; i < 20; ++i) {
    auto r = handshake(server.get(), client.get());
    ASSERT_TRUE(r.ok);
    sessions.push_back(std::move(r.session));
  }
  EXPECT_EQ(stateful_sessions(server.get()), 8u);
  EXPECT_FALSE(handshake(server.get(), client.get(), {.resume = sessions.front().get()}).resumed)
      << "the oldest session was evicted";
  EXPECT_TRUE(handshake(server.get(), client.get(), {.resume = sessions.back().get()}).resumed);
}

TEST_P(StatefulTickets, ExpiredSessionsDoNotResume) {
  FixedClock clock(1'700'000'000);
  auto server = make_server_ctx(version());
  ASSERT_TRUE(
      enable_stateful_tickets(server.get(), {.timeout = std::chrono::seconds(60), .clock = &clock})
          .ok());
  auto client = make_client_ctx(version());
  auto first = handshake(server.get(), client.get());
  ASSERT_TRUE(first.ok);
  const std::size_t held = stateful_sessions(server.get());
  clock.set(static_cast<UnixSeconds>(SSL_SESSION_get_time(first.session.get())) + 61);
  EXPECT_FALSE(handshake(server.get(), client.get(), {.resume = first.session.get()}).resumed);
  EXPECT_EQ(stateful_sessions(server.get()), 2 * held - 1)
      << "the expired session is dropped; the full handshake adds as many as the first";
}

TEST(StatefulTicketsAlerts, AFatalAlertForgetsTheConnectionsSession) {
  // RFC 5246 7.2.2: after a fatal alert the session is forgotten. A TLS 1.2 handshake over a
  // memory BIO pair, then a forged application data record makes the server send bad_record_mac.
  auto server_ctx = make_server_ctx(TLS1_2_VERSION);
  ASSERT_TRUE(enable_stateful_tickets(server_ctx.get()).ok());
  auto client_ctx = make_client_ctx(TLS1_2_VERSION);
  UniquePtr<SSL> client(SSL_new(client_ctx.get()));
  UniquePtr<SSL> server(SSL_new(server_ctx.get()));
  BIO* cbio = nullptr;
  BIO* sbio = nullptr;
  ASSERT_EQ(BIO_new_bio_pair(&cbio, 0, &sbio, 0), 1);
  SSL_set_bio(client.get(), cbio, cbio);
  SSL_set_bio(server.get(), sbio, sbio);
  SSL_set_connect_state(client.get());
  SSL_set_accept_state(server.get());
  for (int i = 0;
       i < 32 && !(SSL_is_init_finished(client.get()) && SSL_is_init_finished(server.get())); ++i) {
    SSL_do_handshake(client.get());
    SSL_do_handshake(server.get());
  }
  ASSERT_TRUE(SSL_is_init_finished(server.get()));
  ASSERT_EQ(stateful_sessions(server_ctx.get()), 1u);

  const unsigned char forged[5 + 48] = {23, 3, 3, 0, 48};  // application data, zero bytes
  ASSERT_EQ(BIO_write(cbio, forged, sizeof forged), static_cast<int>(sizeof forged));
  char byte;
  EXPECT_LE(SSL_read(server.get(), &byte, 1), 0);
  EXPECT_EQ(stateful_sessions(server_ctx.get()), 0u);
  ERR_clear_error();
}

TEST(StatefulTicketsOptions, RefusesAnUnboundedCache) {
  auto server = make_server_ctx(TLS1_3_VERSION);
  EXPECT_FALSE(enable_stateful_tickets(server.get(), {.cache_size = 0}).ok());
}

}  // namespace
}  // namespace stek::openssl

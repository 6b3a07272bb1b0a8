// install(): real OpenSSL handshakes (client and server in one process over memory BIOs)
// against a server whose ticket keys come from TicketKeys.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "stek/bytes.h"
#include "stek/openssl.h"
#include "stek/ossl_ptr.h"

#include "ring_fixtures.h"
#include "testing/fixed_clock.h"
#include "tls_pair.h"
#include "tls_versions.h"

namespace stek::openssl {
namespace {

using test::key_of_epoch;
using test::make_window_ring;
using testing::handshake;
using testing::HandshakeOptions;
using testing::make_client_ctx;
using testing::make_server_ctx;
using testing::with_ticket;

using test::kNow;

class Install : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    source = make_window_ring(schedule, kNow);
    ASSERT_TRUE(keys->update(source.clone()).ok());
    ASSERT_TRUE(install(server.get(), keys).ok());
  }
  int version() const { return GetParam(); }
  std::string name_of_epoch(Epoch e) const { return key_of_epoch(source, e).key.name_hex(); }
  TicketCounters counters() const { return keys->status().counters; }

  // A client session whose ticket is sealed under the key of epoch e (any role).
  testing::SessionPtr session_under(Epoch e) {
    auto first = handshake(server.get(), client.get());
    EXPECT_TRUE(first.ok) << first.error;
    TicketCodec codec = std::move(TicketCodec::make()).value();
    OpenedTicket opened = codec.open(keys->snapshot()->ring.value(), first.ticket());
    EXPECT_TRUE(opened.resumes());
    Bytes iv(16, 0x11);
    iv[3] = 0x22;
    auto resealed = codec.seal_with(key_of_epoch(source, e).key, iv, opened.plaintext());
    EXPECT_TRUE(resealed.ok());
    return with_ticket(first.session.get(), *resealed);
  }

  FixedClock clock{kNow};
  Schedule schedule = Schedule::standard();
  KeyRing source = make_window_ring(schedule, kNow);
  std::shared_ptr<TicketKeys> keys = std::make_shared<TicketKeys>(KeysOptions{&clock});
  testing::SslCtxPtr server = make_server_ctx(GetParam());
  testing::SslCtxPtr client = make_client_ctx(GetParam());
};

using test::tls_version_name;
INSTANTIATE_TEST_SUITE_P(Versions, Install, ::testing::Values(TLS1_2_VERSION, TLS1_3_VERSION),
                         tls_version_name);

TEST_P(Install, IssuesTicketsUnderTheCurrentKeyAndResumes) {
  const Epoch e = schedule.epoch_at(kNow);
  auto first = handshake(server.get(), client.get());
  ASSERT_TRUE(first.ok) << first.error;
  EXPECT_FALSE(first.resumed);
  EXPECT_EQ(first.ticket_name_hex(), name_of_epoch(e));

  auto second = handshake(server.get(), client.get(), {.resume = first.session.get()});
  ASSERT_TRUE(second.ok) << second.error;
  EXPECT_TRUE(second.resumed);
  EXPECT_EQ(counters().resumed, 1u);
  EXPECT_EQ(counters().renewed, 0u);
}

TEST_P(Install, TicketFromTheCallbackOpensWithTheCodecAsASession) {
  auto first = handshake(server.get(), client.get());
  ASSERT_TRUE(first.ok);
  TicketCodec codec = std::move(TicketCodec::make()).value();
  OpenedTicket opened = codec.open(keys->snapshot()->ring.value(), first.ticket());
  ASSERT_EQ(opened.result, TicketResult::ok);
  const unsigned char* p = opened.plaintext().data();
  UniquePtr<SSL_SESSION> sess(
      d2i_SSL_SESSION(nullptr, &p, static_cast<long>(opened.plaintext().size())));
  ASSERT_NE(sess, nullptr) << "the ticket's plaintext is OpenSSL's session encoding";
  EXPECT_EQ(SSL_SESSION_get_protocol_version(sess.get()), version());
}

TEST_P(Install, RenewsExactlyForNonCurrentKeys) {
  const Epoch e = schedule.epoch_at(kNow);
  std::uint64_t renewed = 0;
  std::uint64_t resumed = 0;
  for (Epoch k = e - schedule.history(); k <= e + 1; ++k) {
    auto session = session_under(k);
    ASSERT_TRUE(session);
    auto r = handshake(server.get(), client.get(), {.resume = session.get()});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_TRUE(r.resumed) << "ticket of epoch " << k;
    (k == e ? resumed : renewed) += 1;
    EXPECT_EQ(counters().renewed, renewed) << "epoch " << k;
    EXPECT_EQ(counters().resumed, resumed) << "epoch " << k;
    if (k != e) {
      // The renewed ticket is under the current key.
      EXPECT_EQ(r.ticket_name_hex(), name_of_epoch(e)) << "epoch " << k;
    }
  }
}

TEST_P(Install, CurrentKeyGetsNoNewTicketInTls12AndAFreshOneInTls13) {
  auto first = handshake(server.get(), client.get());
  ASSERT_TRUE(first.ok);
  auto second = handshake(server.get(), client.get(), {.resume = first.session.get()});
  ASSERT_TRUE(second.resumed);
  if (version() == TLS1_2_VERSION) {
    EXPECT_EQ(second.ticket(), first.ticket()) << "no renewal for the current key";
  } else {
    EXPECT_NE(second.ticket(), first.ticket()) << "a fresh single-use ticket";
    EXPECT_EQ(second.ticket_name_hex(), first.ticket_name_hex());
  }
  EXPECT_EQ(counters().renewed, 0u);
  EXPECT_EQ(counters().resumed, 1u);
}

TEST_P(Install, WithoutFreshTls13TicketsOnlyOldKeysRenew) {
  InstallOptions options;
  options.fresh_tls13_tickets = false;
  ASSERT_TRUE(install(server.get(), keys, options).ok());
  auto first = handshake(server.get(), client.get());
  auto second = handshake(server.get(), client.get(), {.resume = first.session.get()});
  ASSERT_TRUE(second.resumed);
  EXPECT_EQ(second.ticket(), first.ticket())
      << "OpenSSL's own behaviour: no ticket after resuming with the current key";
  auto old = session_under(schedule.epoch_at(kNow) - 1);
  auto third = handshake(server.get(), client.get(), {.resume = old.get()});
  ASSERT_TRUE(third.resumed);
  EXPECT_EQ(third.ticket_name_hex(), name_of_epoch(schedule.epoch_at(kNow)));
}

TEST_P(Install, PendingKeysDoNotOpenTickets) {
  const Epoch e = schedule.epoch_at(kNow);
  for (Epoch k = e + 2; k <= e + schedule.lookahead(); ++k) {
    auto session = session_under(k);
    auto r = handshake(server.get(), client.get(), {.resume = session.get()});
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_FALSE(r.resumed);
  }
  EXPECT_EQ(counters().unknown_key, static_cast<std::uint64_t>(schedule.lookahead() - 1));
}

TEST_P(Install, UnknownKeyGivesFullHandshake) {
  auto other_keys = std::make_shared<TicketKeys>(KeysOptions{&clock});
  ASSERT_TRUE(other_keys->update(make_window_ring(schedule, kNow)).ok());
  auto other = make_server_ctx(version());
  ASSERT_TRUE(install(other.get(), other_keys).ok());
  auto elsewhere = handshake(other.get(), client.get());
  ASSERT_TRUE(elsewhere.ok);
  auto r = handshake(server.get(), client.get(), {.resume = elsewhere.session.get()});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_FALSE(r.resumed);
  EXPECT_EQ(counters().unknown_key, 1u);
  EXPECT_EQ(r.ticket_name_hex(), name_of_epoch(schedule.epoch_at(kNow))) << "a fresh ticket";
}

TEST_P(Install, DamagedTicketsGiveFullHandshakes) {
  auto first = handshake(server.get(), client.get());
  ASSERT_TRUE(first.ok);
  const Bytes good = first.ticket();
  std::vector<Bytes> damaged;
  for (std::size_t n :
       {std::size_t{0}, std::size_t{1}, std::size_t{16}, std::size_t{31}, std::size_t{32},
        std::size_t{48}, std::size_t{79}, good.size() / 2, good.size() - 1}) {
    damaged.emplace_back(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
  }
  for (std::size_t pos : {std::size_t{0}, std::size_t{15}, std::size_t{16}, std::size_t{40},
                          good.size() / 2, good.size() - 33, good.size() - 1}) {
    Bytes flipped = good;
    flipped[pos] ^= 0x01;
    damaged.push_back(flipped);
  }
  Bytes forged(good.size(), 0x42);  // a known key name and garbage
  std::copy_n(good.begin(), 16, forged.begin());
  damaged.push_back(forged);
  Bytes extended = good;
  extended.push_back(0);
  damaged.push_back(extended);

  for (std::size_t i = 0; i < damaged.size(); ++i) {
    auto session = with_ticket(first.session.get(), damaged[i]);
    ASSERT_TRUE(session) << i;
    auto r = handshake(server.get(), client.get(), {.resume = session.get()});
    ASSERT_TRUE(r.ok) << "case " << i << ": " << r.error;
    EXPECT_FALSE(r.resumed) << "case " << i;
  }
  const TicketCounters c = counters();
  EXPECT_EQ(c.resumed + c.renewed, 0u);
  EXPECT_GT(c.invalid, 0u);
  EXPECT_GT(c.unknown_key, 0u);
}

TEST_P(Install, ReplayedTicketWithoutItsSecretNeverResumes) {
  // An eavesdropper replays a victim's ticket in its own session: the server opens the ticket,
  // but the attacker cannot prove the session's secret (TLS 1.3 binder, TLS 1.2 Finished).
  auto victim = handshake(server.get(), client.get());
  auto attacker = handshake(server.get(), client.get());
  ASSERT_TRUE(victim.ok && attacker.ok);
  auto replay = with_ticket(attacker.session.get(), victim.ticket());
  auto r = handshake(server.get(), client.get(), {.resume = replay.get()});
  EXPECT_FALSE(r.ok && r.resumed) << "a replayed ticket resumed without its secret";
  // The legitimate holder may use it again (stateless tickets are not single-use).
  auto again = handshake(server.get(), client.get(), {.resume = victim.session.get()});
  ASSERT_TRUE(again.ok);
  EXPECT_TRUE(again.resumed);
}

TEST_P(Install, LifetimeHintIsHistoryTimesInterval) {
  auto first = handshake(server.get(), client.get());
  ASSERT_TRUE(first.ok);
  EXPECT_EQ(SSL_SESSION_get_ticket_lifetime_hint(first.session.get()),
            static_cast<unsigned long>(schedule.lifetime_hint()));
  EXPECT_EQ(SSL_CTX_get_timeout(server.get()), schedule.lifetime_hint());
}

TEST_P(Install, LifetimeIsCappedAtSevenDays) {
  InstallOptions options;
  options.lifetime = std::chrono::seconds(30 * 86400);
  ASSERT_TRUE(install(server.get(), keys, options).ok());
  auto first = handshake(server.get(), client.get());
  ASSERT_TRUE(first.ok);
  EXPECT_EQ(SSL_SESSION_get_ticket_lifetime_hint(first.session.get()), 604800u);
}

TEST_P(Install, NoTicketsWhenTheHeldKeysRunOut) {
  clock.set(schedule.epoch_start(schedule.epoch_at(kNow) + schedule.lookahead() + 1));
  keys->tick();
  ASSERT_FALSE(keys->status().has_keys);
  auto r = handshake(server.get(), client.get());
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.ticket().empty());
  EXPECT_GE(counters().not_issued, 1u);
  EXPECT_EQ(counters().issued, 0u);
}

TEST_P(Install, RotatesAtTheBoundaryWithoutWatcherOrTick) {
  // No watcher and no tick(): the callback itself sees that the boundary has passed.
  const Epoch e = schedule.epoch_at(kNow);
  const UnixSeconds boundary = schedule.epoch_start(e + 1);
  clock.set(boundary - 1);
  EXPECT_EQ(handshake(server.get(), client.get()).ticket_name_hex(), name_of_epoch(e));
  clock.set(boundary);
  auto r = handshake(server.get(), client.get());
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.ticket_name_hex(), name_of_epoch(e + 1));
  EXPECT_EQ(keys->status().current_key, name_of_epoch(e + 1));
  clock.set(boundary + 1);
  EXPECT_EQ(handshake(server.get(), client.get()).ticket_name_hex(), name_of_epoch(e + 1));
}

TEST_P(Install, StopsIssuingWhenTheHeldKeysRunOutWithoutTick) {
  clock.set(schedule.epoch_start(schedule.epoch_at(kNow) + schedule.lookahead() + 1));
  auto r = handshake(server.get(), client.get());
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.ticket().empty()) << "no ticket under a key whose epoch has ended";
  EXPECT_FALSE(keys->status().has_keys);
}

TEST_P(Install, HandshakeKeepsTheSnapshotItTook) {
  if (version() != TLS1_3_VERSION) GTEST_SKIP() << "TLS 1.2 renews within one server flight";
  // Ticket under an older key: decrypted in the first server flight, renewed in the last.
  const Epoch e = schedule.epoch_at(kNow);
  auto session = session_under(e - 1);
  const KeyRing replacement = make_window_ring(schedule, kNow);
  bool swapped = false;
  auto r =
      handshake(server.get(), client.get(), {.resume = session.get(), .between_rounds = [&](int) {
                                               if (!swapped)
                                                 swapped = keys->update(replacement.clone()).ok();
                                             }});
  ASSERT_TRUE(swapped);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.resumed);
  EXPECT_EQ(r.ticket_name_hex(), name_of_epoch(e)) << "issued under the snapshot it began with";
  auto next = handshake(server.get(), client.get());
  EXPECT_EQ(next.ticket_name_hex(), replacement.encrypting().key.name_hex());
}

// ------------------------------------------------------------ TLS 1.3 only: kex modes, 0-RTT

class Install13 : public Install {};
INSTANTIATE_TEST_SUITE_P(Tls13, Install13, ::testing::Values(TLS1_3_VERSION), tls_version_name);

TEST_P(Install13, ClearsAllowNoDheKexOnTheContext) {
  auto ctx = make_server_ctx(TLS1_3_VERSION);
  SSL_CTX_set_options(ctx.get(), SSL_OP_ALLOW_NO_DHE_KEX);
  ASSERT_TRUE(install(ctx.get(), keys).ok());
  EXPECT_EQ(SSL_CTX_get_options(ctx.get()) & SSL_OP_ALLOW_NO_DHE_KEX, 0u);
}

// The client offers psk_ke and only a group the server does not support, so the only way to
// resume is without (EC)DHE.
HandshakeOptions psk_ke_attempt(SSL_SESSION* session) {
  return {.resume = session, .configure_client = [](SSL* s) {
            SSL_set_options(s, SSL_OP_ALLOW_NO_DHE_KEX);
            SSL_set1_groups_list(s, "P-384");
          }};
}

TEST_P(Install13, RefusesResumptionWithoutDhe) {
  SSL_CTX_set1_groups_list(server.get(), "X25519");
  auto first = handshake(server.get(), client.get());
  ASSERT_TRUE(first.ok) << first.error;
  auto r = handshake(server.get(), client.get(), psk_ke_attempt(first.session.get()));
  EXPECT_FALSE(r.ok && r.resumed) << "resumed with psk_ke";
}

TEST_P(Install13, ResumesWithoutDheOnlyWhenExplicitlyAllowed) {
  // The control for the test above: the same client resumes when the server allows psk_ke.
  InstallOptions options;
  options.allow_psk_ke = true;
  ASSERT_TRUE(install(server.get(), keys, options).ok());
  SSL_CTX_set_options(server.get(), SSL_OP_ALLOW_NO_DHE_KEX);
  SSL_CTX_set1_groups_list(server.get(), "X25519");
  auto first = handshake(server.get(), client.get());
  ASSERT_TRUE(first.ok) << first.error;
  auto r = handshake(server.get(), client.get(), psk_ke_attempt(first.session.get()));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.resumed);
}

TEST_P(Install13, RefusesTicketsWhenTheConnectionAllowsNoDhe) {
  // The application turns psk_ke back on for one connection after install(): the callback
  // notices and asks for a full handshake.
  auto first = handshake(server.get(), client.get());
  ASSERT_TRUE(first.ok);
  auto r = handshake(server.get(), client.get(),
                     {.resume = first.session.get(), .configure_server = [](SSL* s) {
                        SSL_set_options(s, SSL_OP_ALLOW_NO_DHE_KEX);
                      }});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_FALSE(r.resumed);
  EXPECT_EQ(counters().refused_psk_ke, 1u);
}

TEST_P(Install13, EarlyDataIsOffByDefault) {
  EXPECT_EQ(SSL_CTX_get_max_early_data(server.get()), 0u);
  auto first = handshake(server.get(), client.get());
  ASSERT_TRUE(first.ok);
  EXPECT_EQ(SSL_SESSION_get_max_early_data(first.session.get()), 0u);
}

TEST_P(Install13, SingleUseEarlyDataMakesTicketsStateful) {
  // OpenSSL's anti-replay turns TLS 1.3 tickets into single-use, cached (stateful) ones: the
  // ring is then not used, which is why 0-RTT with shared keys needs `replayable`.
  InstallOptions options;
  options.early_data = EarlyData::single_use;
  ASSERT_TRUE(install(server.get(), keys, options).ok());
  auto first = handshake(server.get(), client.get());
  ASSERT_TRUE(first.ok);
  EXPECT_GT(SSL_SESSION_get_max_early_data(first.session.get()), 0u);
  EXPECT_NE(first.ticket_name_hex(), name_of_epoch(schedule.epoch_at(kNow)));
  EXPECT_EQ(counters().issued, 0u);
  auto once = handshake(server.get(), client.get(), {.resume = first.session.get()});
  EXPECT_TRUE(once.resumed);
  auto twice = handshake(server.get(), client.get(), {.resume = first.session.get()});
  EXPECT_FALSE(twice.resumed) << "single use";
}

TEST_P(Install13, ReplayableEarlyDataKeepsRingTickets) {
  InstallOptions options;
  options.early_data = EarlyData::replayable;
  ASSERT_TRUE(install(server.get(), keys, options).ok());
  auto first = handshake(server.get(), client.get());
  ASSERT_TRUE(first.ok);
  EXPECT_GT(SSL_SESSION_get_max_early_data(first.session.get()), 0u);
  EXPECT_EQ(first.ticket_name_hex(), name_of_epoch(schedule.epoch_at(kNow)));
  // The server accepts the same ticket again: what makes its early data replayable. (OpenSSL's
  // client itself uses an early-data ticket once, so the replay is a copy of the session.)
  auto copy1 = with_ticket(first.session.get(), first.ticket());
  auto copy2 = with_ticket(first.session.get(), first.ticket());
  EXPECT_TRUE(handshake(server.get(), client.get(), {.resume = copy1.get()}).resumed);
  EXPECT_TRUE(handshake(server.get(), client.get(), {.resume = copy2.get()}).resumed);
}

// ------------------------------------------------------------ nginx's session id context

TEST(NginxSessionIdContext, IsShaOneOfModuleAndCertificateDigests) {
  // Independent recomputation of the documented construction with EVP_Digest.
  X509* cert = testing::test_identity().cert;
  unsigned char cert_digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  ASSERT_EQ(X509_digest(cert, EVP_sha1(), cert_digest, &n), 1);
  Bytes input = {'H', 'T', 'T', 'P'};
  input.insert(input.end(), cert_digest, cert_digest + n);
  unsigned char want[EVP_MAX_MD_SIZE];
  unsigned int want_len = 0;
  ASSERT_EQ(EVP_Digest(input.data(), input.size(), want, &want_len, EVP_sha1(), nullptr), 1);

  auto ctx = make_server_ctx(TLS1_3_VERSION);
  auto got = nginx_session_id_context(ctx.get());
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(to_hex(*got), to_hex(ByteView(want, want_len)));
  auto stream = nginx_session_id_context(ctx.get(), "STREAM");
  ASSERT_TRUE(stream.ok());
  EXPECT_NE(*stream, *got);
}

TEST(NginxSessionIdContext, MismatchedContextRefusesResumption) {
  FixedClock clock{kNow};
  auto keys = std::make_shared<TicketKeys>(KeysOptions{&clock});
  ASSERT_TRUE(keys->update(make_window_ring(Schedule::standard(), kNow)).ok());
  auto a = make_server_ctx(TLS1_3_VERSION);
  auto b = make_server_ctx(TLS1_3_VERSION);
  auto c = make_server_ctx(TLS1_3_VERSION);
  InstallOptions nginx_like;
  nginx_like.session_id_context = std::move(nginx_session_id_context(a.get())).value();
  ASSERT_TRUE(install(a.get(), keys, nginx_like).ok());
  ASSERT_TRUE(install(b.get(), keys).ok());  // no context: OpenSSL's default (empty)
  ASSERT_TRUE(install(c.get(), keys, nginx_like).ok());
  auto client = make_client_ctx(TLS1_3_VERSION);
  auto first = handshake(a.get(), client.get());
  ASSERT_TRUE(first.ok);
  EXPECT_FALSE(handshake(b.get(), client.get(), {.resume = first.session.get()}).resumed);
  EXPECT_TRUE(handshake(c.get(), client.get(), {.resume = first.session.get()}).resumed);
}

}  // namespace
}  // namespace stek::openssl

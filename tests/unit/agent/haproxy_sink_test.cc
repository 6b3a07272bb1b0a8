// The HAProxy sink's decisions (key slots, what to push, lifetime limit, haproxy.cfg) and its
// runtime API client against a fake stats socket that answers with HAProxy 2.6's text. The
// real proof, with HAProxy itself, is tests/integration/test_agent_haproxy.py.
#include <thread>

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "stek/bytes.h"

#include "fakes.h"
#include "haproxy_cli.h"
#include "held_ring.h"
#include "sinks/haproxy.h"
#include "testing/keys.h"
#include "times.h"

namespace stek::agent {
namespace {

using std::chrono::milliseconds;
using testing::make_ring;
using testing::TempDir;

using test::kE;
using test::kT;

KeyRing served(Epoch first, Epoch last, UnixSeconds t = kT, std::uint8_t domain_secret = 0x5a) {
  auto held = HeldRing::accept(make_ring("eu", first, last, kT, 5, testing::kParams, domain_secret),
                               "eu", kT);
  EXPECT_TRUE(held.ok());
  auto ring = held->at(t);
  EXPECT_TRUE(ring.ok()) << ring.error().message;
  return std::move(ring).value();
}

std::string name_of(const SecretBytes& record) {
  return to_hex(record.view(0, 16));
}

std::string name_at(const KeyRing& ring, Epoch e) {
  for (const RingKey& k : ring.keys())
    if (k.meta.epoch == e) return k.key.name_hex();
  return "";
}

std::string text(const SecretString& s) {
  return std::string(s.data(), s.size());
}

TEST(HaproxySlots, MapsPreviousCurrentNextInHaproxysOrder) {
  KeyRing ring = served(kE - 2, kE + 2);
  auto slots = haproxy_slots(ring, 3);
  ASSERT_TRUE(slots.ok()) << slots.error().message;
  ASSERT_EQ(slots->size(), 3u);
  EXPECT_EQ(name_of((*slots)[0]), name_at(ring, kE - 1));
  EXPECT_EQ(name_of((*slots)[1]), name_at(ring, kE));
  EXPECT_EQ(name_of((*slots)[2]), name_at(ring, kE + 1));
  // name | AES 32 | HMAC 32, HAProxy's struct tls_sess_key order.
  EXPECT_EQ((*slots)[1].size(), 80u);
  EXPECT_EQ(to_hex((*slots)[1].view(16, 32)), to_hex(ring.encrypting().key.aes_key().view()));
}

TEST(HaproxySlots, AYoungRingRepeatsTheCurrentKeyAsPrevious) {
  KeyRing ring = served(kE, kE + 2);  // stekd's first interval: no previous key yet
  auto slots = haproxy_slots(ring, 3);
  ASSERT_TRUE(slots.ok()) << slots.error().message;
  EXPECT_EQ(name_of((*slots)[0]), name_at(ring, kE));
  EXPECT_EQ(name_of((*slots)[1]), name_at(ring, kE));
  EXPECT_EQ(name_of((*slots)[2]), name_at(ring, kE + 1));
}

TEST(HaproxySlots, MoreSlotsHoldMorePreviousKeysOldestFirst) {
  KeyRing ring = served(kE - 2, kE + 2);
  auto slots = haproxy_slots(ring, 4);
  ASSERT_TRUE(slots.ok());
  EXPECT_EQ(name_of((*slots)[0]), name_at(ring, kE - 2));
  EXPECT_EQ(name_of((*slots)[1]), name_at(ring, kE - 1));
}

TEST(HaproxyKeysToPush, NothingWhenInSyncOneAtARotationAllOtherwise) {
  auto at_e = haproxy_slots(served(kE - 2, kE + 3), 3).value();
  auto at_e1 = haproxy_slots(served(kE - 2, kE + 3, kT + 60), 3).value();
  auto at_e2 = haproxy_slots(served(kE - 2, kE + 3, kT + 120), 3).value();
  auto other = haproxy_slots(served(kE - 2, kE + 3, kT, 0x11), 3);  // another domain secret
  EXPECT_EQ(keys_to_push(at_e, at_e), 0u);
  EXPECT_EQ(keys_to_push(at_e, at_e1), 1u);
  EXPECT_EQ(keys_to_push(at_e, at_e2), 2u);
  EXPECT_EQ(keys_to_push(at_e, *other), 3u);
  EXPECT_EQ(keys_to_push({}, at_e), 3u);
}

TEST(HaproxyLifetime, ThreeSlotsHonourOneIntervalAndNeverMoreThanTheHistory) {
  auto standard = Schedule::standard();  // I = 3600, H = 18
  EXPECT_EQ(haproxy_lifetime_limit(standard, 3), 3600);
  EXPECT_EQ(haproxy_lifetime_limit(standard, 5), 3 * 3600);
  auto no_history = Schedule::make({60, 0, 2});
  EXPECT_EQ(haproxy_lifetime_limit(*no_history, 3), 0);
}

TEST(HaproxyCfg, ReadsTuneSslLifetimeFromTheGlobalSectionOnly) {
  EXPECT_FALSE(parse_haproxy_ssl_lifetime("global\n  maxconn 10\n").value().has_value());
  EXPECT_EQ(parse_haproxy_ssl_lifetime("global\n  tune.ssl.lifetime 600 # x\n").value(), 600);
  EXPECT_EQ(parse_haproxy_ssl_lifetime("global\n tune.ssl.lifetime 2h\n").value(), 7200);
  EXPECT_EQ(parse_haproxy_ssl_lifetime("global\n tune.ssl.lifetime 1500ms\n").value(), 1);
  EXPECT_FALSE(parse_haproxy_ssl_lifetime("defaults\n tune.ssl.lifetime 60\n").value().has_value());
  EXPECT_FALSE(parse_haproxy_ssl_lifetime("global\n tune.ssl.lifetime soon\n").ok());
}

TEST(HaproxyCli, ParsesTheReferencesOfShowTlsKeys) {
  auto refs = parse_tls_keys_refs("# id (file)\n0 (/run/stek/haproxy/tickets.keys)\n3 (/a b)\n\n");
  ASSERT_TRUE(refs.ok()) << refs.error().message;
  ASSERT_EQ(refs->size(), 2u);
  EXPECT_EQ((*refs)[0].id, 0);
  EXPECT_EQ((*refs)[0].file, "/run/stek/haproxy/tickets.keys");
  EXPECT_EQ((*refs)[1].id, 3);
  EXPECT_EQ((*refs)[1].file, "/a b");
  EXPECT_FALSE(parse_tls_keys_refs("Permission denied\n\n").ok());
}

TEST(HaproxyCli, ParsesTheKeysOfOneReferenceAndNeverQuotesThem) {
  SecretBytes a(80), b(80);
  a.data()[0] = 1;
  b.data()[0] = 2;
  const std::string la = stek::testing::text_of(to_base64(a.view()));
  const std::string lb = stek::testing::text_of(to_base64(b.view()));
  auto keys = parse_tls_keys_dump("# id secret\n# 0 (/k)\n0.0 " + la + "\n0.1 " + lb + "\n\n");
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[1].data()[0], 2);
  auto bad = parse_tls_keys_dump("# id secret\n0.0 " + la + "\n0.2 " + lb + "\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.find(lb.substr(0, 16)), std::string::npos);
  auto refused = parse_tls_keys_dump("'show tls-keys' unable to locate referenced filename\n\n");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("unable to locate"), std::string::npos);
  EXPECT_TRUE(check_set_tls_key_answer("TLS ticket key updated!\n\n").ok());
  EXPECT_FALSE(check_set_tls_key_answer("'set ssl tls-key' received a key of wrong size.\n").ok());
}

// A stats socket that reads one line and answers it, as HAProxy does in non-interactive mode.
class FakeStatsSocket {
 public:
  FakeStatsSocket(std::filesystem::path path, std::string answer) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_, 1), 0);
    thread_ = std::thread([this, answer] {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char ch;
      while (::read(c, &ch, 1) == 1 && ch != '\n') received += ch;
      EXPECT_EQ(::write(c, answer.data(), answer.size()), static_cast<ssize_t>(answer.size()));
      ::close(c);
    });
  }
  ~FakeStatsSocket() {
    join();
    ::close(fd_);
  }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  std::string received;

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::thread thread_;
};

TEST(HaproxyCli, SendsOneLineAndReadsTheAnswerUntilHaproxyCloses) {
  TempDir dir(true);
  FakeStatsSocket fake(dir / "admin.sock", "# id (file)\n0 (/k)\n\n");
  HaproxyCli cli(dir / "admin.sock", milliseconds(5000));
  auto answer = cli.command("show tls-keys");
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(text(*answer), "# id (file)\n0 (/k)\n\n");
  fake.join();
  EXPECT_EQ(fake.received, "show tls-keys");
}

TEST(HaproxyCli, NoSocketIsNotFoundSoTheSinkFallsBack) {
  TempDir dir(true);
  HaproxyCli cli(dir / "missing.sock", milliseconds(1000));
  auto answer = cli.command("show tls-keys");
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().code, Errc::not_found);
}

// With no socket at all, the sink writes the file (0600, three lines) and reloads once per
// change, through the fallback reloader.
TEST(HaproxySink, WithoutARuntimeApiWritesTheFileAndReloadsOnChange) {
  TempDir dir(true);
  HaproxySinkOptions o;
  o.path = dir / "tickets.keys";
  o.socket = dir / "admin.sock";  // nothing listens there
  o.reloader = std::make_unique<CommandReloader>(
      std::vector<std::string>{"sh", "-c", "echo x >> '" + (dir / "reloads").string() + "'"},
      milliseconds(10000));
  HaproxySink sink(std::move(o));
  KeyRing ring = served(kE - 2, kE + 2);
  auto first = sink.apply(&ring, kE);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->files_written, 1);
  EXPECT_TRUE(first->reloaded);
  auto again = sink.apply(&ring, kE);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->reloaded);
  const std::string file = testing::read_text(dir / "tickets.keys");
  EXPECT_EQ(std::count(file.begin(), file.end(), '\n'), 3);
  EXPECT_EQ(testing::read_text(dir / "reloads"), "x\n");
}

}  // namespace
}  // namespace stek::agent

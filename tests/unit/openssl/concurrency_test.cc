// Rotations while many threads handshake. Built into its own binary so CI can run it under
// ThreadSanitizer (label "tsan"); under ASan it runs with the other unit tests.
#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <unistd.h>

#include "stek/bytes.h"
#include "stek/file.h"
#include "stek/openssl.h"

#include "ring_fixtures.h"
#include "tls_pair.h"

namespace stek::openssl {
namespace {

using testing::handshake;
using testing::make_client_ctx;
using testing::make_server_ctx;

constexpr UnixSeconds kStart = 1'700'000'000;
constexpr int kThreads = 6;
constexpr int kHandshakesPerThread = 60;

// A fake clock several threads may read while one moves it.
class SteppingClock final : public Clock {
 public:
  UnixSeconds now() const override { return t_.load(std::memory_order_relaxed); }
  void set(UnixSeconds t) { t_.store(t, std::memory_order_relaxed); }

 private:
  std::atomic<UnixSeconds> t_{kStart};
};

// Keys for many epochs, made once; each rotation hands out the window of one epoch.
class KeyPool {
 public:
  KeyPool(const Schedule& s, Epoch first, Epoch last) : schedule_(s) {
    SystemRandom random;
    for (Epoch e = first; e <= last; ++e) {
      keys_.emplace(e, std::move(random_ticket_key(random, KeySize::k80)).value());
      names_.insert(keys_.at(e).name_hex());
    }
  }
  KeyRing window(UnixSeconds t, std::uint64_t version) const {
    std::vector<RingKey> out;
    const EpochRange w = schedule_.held_window(t);
    for (Epoch e = w.last; e >= w.first; --e) {
      KeyMeta meta;
      meta.epoch = e;
      meta.role = schedule_.role(e, t);
      out.push_back({keys_.at(e).clone(), meta});
    }
    RingInfo info;
    info.schedule = schedule_.params();
    info.version = version;
    return std::move(KeyRing::make(std::move(out), info)).value();
  }
  bool known(const std::string& name) const { return names_.count(name) != 0; }

 private:
  Schedule schedule_;
  std::map<Epoch, TicketKey> keys_;
  std::set<std::string> names_;
};

struct Totals {
  std::atomic<int> handshakes{0}, failed{0}, resumed{0}, foreign_tickets{0};
};

// One client thread: a fresh handshake, then resumes with the newest ticket each time.
void client_loop(SSL_CTX* server, int version, const KeyPool& pool, Totals& totals) {
  auto client = make_client_ctx(version);
  testing::SessionPtr session;
  for (int i = 0; i < kHandshakesPerThread; ++i) {
    auto r = handshake(server, client.get(), {.resume = session.get()});
    totals.handshakes++;
    if (!r.ok) {
      totals.failed++;
      session.reset();
      continue;
    }
    if (r.resumed) totals.resumed++;
    if (!r.ticket().empty() && !pool.known(r.ticket_name_hex())) totals.foreign_tickets++;
    session = std::move(r.session);
  }
}

class Rotation : public ::testing::TestWithParam<int> {};
INSTANTIATE_TEST_SUITE_P(Versions, Rotation, ::testing::Values(TLS1_2_VERSION, TLS1_3_VERSION),
                         [](const auto& info) {
                           return info.param == TLS1_3_VERSION ? "TLS13" : "TLS12";
                         });

TEST_P(Rotation, HandshakesNeverFailWhileKeysRotate) {
  // A short interval so the clock crosses many epoch boundaries during the test.
  const Schedule schedule =
      std::move(Schedule::make({.interval = 10, .history = 4, .lookahead = 2})).value();
  const Epoch first = schedule.epoch_at(kStart);
  const KeyPool pool(schedule, first - 4, first + 400);
  SteppingClock clock;
  auto keys = std::make_shared<TicketKeys>(KeysOptions{&clock});
  ASSERT_TRUE(keys->update(pool.window(kStart, 1)).ok());
  auto server = make_server_ctx(GetParam());
  ASSERT_TRUE(install(server.get(), keys).ok());

  std::atomic<bool> done{false};
  std::atomic<int> rotations{0}, bad_snapshots{0};
  // Writer: moves time on and alternates between a new ring from the agent and tick().
  std::thread rotator([&] {
    UnixSeconds t = kStart;
    std::uint64_t version = 1;
    while (!done.load()) {
      t += 5;
      clock.set(t);
      if (++version % 2 == 0) {
        (void)keys->update(pool.window(t, version));
      } else {
        keys->tick();
      }
      rotations++;
      std::this_thread::sleep_for(std::chrono::microseconds(500));
      if (t > kStart + 390 * 10) t = kStart;  // stay inside the pool
    }
  });
  // Reader: every snapshot is whole and consistent; status is always readable.
  std::thread reader([&] {
    std::uint64_t last_generation = 0;
    while (!done.load()) {
      const auto snap = keys->snapshot();
      if (snap->generation < last_generation) bad_snapshots++;
      last_generation = snap->generation;
      if (snap->ring) {
        const RingKey& current = snap->ring->encrypting();
        auto m = snap->ring->find(current.key.name());
        if (current.meta.role != KeyRole::encrypt || !m || m->renew) bad_snapshots++;
      }
      (void)key_status_json(keys->status());
    }
  });

  Totals totals;
  std::vector<std::thread> clients;
  for (int i = 0; i < kThreads; ++i) {
    clients.emplace_back(client_loop, server.get(), GetParam(), std::cref(pool), std::ref(totals));
  }
  for (auto& c : clients) c.join();
  done = true;
  rotator.join();
  reader.join();

  EXPECT_EQ(totals.handshakes.load(), kThreads * kHandshakesPerThread);
  EXPECT_EQ(totals.failed.load(), 0);
  EXPECT_EQ(totals.foreign_tickets.load(), 0);
  EXPECT_EQ(bad_snapshots.load(), 0);
  EXPECT_GT(rotations.load(), 10);
  EXPECT_GT(totals.resumed.load(), 0);
  const TicketCounters c = keys->status().counters;
  EXPECT_EQ(c.resumed + c.renewed, static_cast<std::uint64_t>(totals.resumed.load()));
}

TEST(RotationFromFile, WatcherThreadSwapsRingsUnderLoad) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("stek-rot-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path path = dir / "ring.json";
  SystemClock clock;
  const Schedule schedule = Schedule::standard();
  const UnixSeconds now = clock.now();
  const KeyPool pool(schedule, schedule.epoch_at(now) - 20, schedule.epoch_at(now) + 5);
  ASSERT_TRUE(write_file_atomic(path, as_bytes(test::json_of(pool.window(now, 1)))).ok());
  auto keys = std::make_shared<TicketKeys>(KeysOptions{&clock});
  auto watcher = std::move(RingFileWatcher::open(path, keys)).value();
  ASSERT_TRUE(watcher->start().ok());
  auto server = make_server_ctx(TLS1_3_VERSION);
  ASSERT_TRUE(install(server.get(), keys).ok());

  std::atomic<bool> done{false};
  std::thread agent([&] {  // stek-agent rewriting the file: same keys, new versions
    std::uint64_t version = 1;
    while (!done.load()) {
      (void)write_file_atomic(path, as_bytes(test::json_of(pool.window(now, ++version))));
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  Totals totals;
  std::vector<std::thread> clients;
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back(client_loop, server.get(), TLS1_3_VERSION, std::cref(pool),
                         std::ref(totals));
  }
  for (auto& c : clients) c.join();
  done = true;
  agent.join();
  watcher->stop();
  EXPECT_EQ(totals.failed.load(), 0);
  EXPECT_EQ(totals.foreign_tickets.load(), 0);
  // Every resumption attempt used a ticket of the same keys: all of them resume.
  EXPECT_EQ(totals.resumed.load(), 4 * (kHandshakesPerThread - 1));
  EXPECT_GT(watcher->reloads(), 1u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace stek::openssl

// What each sink confirmed applied survives a restart of the agent: a restarted agent whose
// predecessor was killed between writing nginx's files and the reload reloads anyway; one
// whose predecessor confirmed the same keys does not; SIGHUP always reloads. Real nginx sink
// files and a real reload command (a process that counts its runs).
#include "applied_state.h"

#include <fstream>

#include <gtest/gtest.h>

#include "fakes.h"
#include "ring_keeper.h"
#include "sinks/nginx.h"
#include "testing/fixed_clock.h"
#include "times.h"

namespace stek::agent {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using testing::make_ring;
using testing::ring_update;
using testing::TempDir;

using test::kE;
using test::kT;

int lines_in(const fs::path& p) {
  std::ifstream in(p);
  int n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

// One host: a key directory on tmpfs, nginx's include, a reload command that counts its runs,
// and the agent's cache and applied state, all surviving "restarts" of the keeper.
struct Host {
  TempDir run{true};
  TempDir conf;
  FixedClock clock{kT};

  fs::path reloads() const { return conf / "reloads"; }
  fs::path state() const { return run / "eu.applied"; }

  std::unique_ptr<NginxSink> nginx(bool with_reload = true) const {
    NginxSinkOptions o;
    o.dir = run / "nginx";
    fs::create_directories(o.dir);
    o.include = conf / "tickets.conf";
    if (with_reload) {
      o.reloader = std::make_unique<CommandReloader>(
          std::vector<std::string>{"sh", "-c", "echo x >> '" + reloads().string() + "'"},
          milliseconds(10000));
    }
    return std::make_unique<NginxSink>(std::move(o));
  }
  // A freshly started agent: its sink knows nothing; the state file and cache are on disk.
  std::unique_ptr<RingKeeper> start() const {
    std::vector<std::unique_ptr<Sink>> sinks;
    sinks.push_back(nginx());
    auto keeper = std::make_unique<RingKeeper>("eu", RingCache(run.path(), "eu"), std::move(sinks),
                                               clock, AppliedState(state()));
    keeper->load_cache();
    return keeper;
  }
  KeyRing ring(std::uint64_t version, std::uint8_t domain_secret) const {
    return make_ring("eu", kE - 2, kE + 2, kT, version, testing::kParams, domain_secret);
  }
  void deliver(RingKeeper& keeper, const KeyRing& ring) const {
    ASSERT_TRUE(keeper.apply(ring_update(ring, "eu", clock.now())));
  }
  int reload_count() const { return lines_in(reloads()); }
};

TEST(AppliedState, AgentKilledBetweenWritingFilesAndReloadReloadsAfterRestart) {
  Host host;
  {
    auto agent = host.start();
    host.deliver(*agent, host.ring(7, 0x5a));
  }
  ASSERT_EQ(host.reload_count(), 1);
  // The compromise rotation: the new keys reach the files and the cache, and the agent dies
  // before nginx reloads (a sink without a reloader stands for the unfinished reload).
  const KeyRing rotated = host.ring(8, 0x77);
  auto files_only = host.nginx(false);
  auto held = HeldRing::accept(rotated, "eu", kT);
  ASSERT_TRUE(held.ok());
  auto rotated_now = held->at(kT);
  ASSERT_TRUE(rotated_now.ok());
  ASSERT_TRUE(files_only->apply(&*rotated_now, kE).ok());
  ASSERT_TRUE(RingCache(host.run.path(), "eu").store(rotated).ok());
  ASSERT_EQ(host.reload_count(), 1);

  auto restarted = host.start();  // takes the cached ring: the files already match it
  EXPECT_EQ(host.reload_count(), 2) << "nginx never confirmed the rotated keys: reload";
  const AppliedRecord* confirmed =
      restarted->applied()->confirmed("nginx:" + (host.conf / "tickets.conf").string());
  ASSERT_NE(confirmed, nullptr);
  EXPECT_EQ(confirmed->ring_version, 8u);
}

TEST(AppliedState, RestartAfterAConfirmedApplyDoesNotReloadAgain) {
  Host host;
  {
    auto agent = host.start();
    host.deliver(*agent, host.ring(7, 0x5a));
  }
  auto restarted = host.start();
  EXPECT_EQ(host.reload_count(), 1);
}

TEST(AppliedState, MissingOrDamagedRecordMeansReload) {
  Host host;
  {
    auto agent = host.start();
    host.deliver(*agent, host.ring(7, 0x5a));
  }
  fs::remove(host.state());  // e.g. tmpfs cleared, or never written
  host.start();
  EXPECT_EQ(host.reload_count(), 2);
  std::ofstream(host.state()) << "garbage line\n";
  host.start();
  EXPECT_EQ(host.reload_count(), 3);
}

TEST(AppliedState, SighupForcesEverySinkToReapplyAndReload) {
  Host host;
  auto agent = host.start();
  host.deliver(*agent, host.ring(7, 0x5a));
  agent->refresh("timer");
  EXPECT_EQ(host.reload_count(), 1);
  agent->force_reapply();
  agent->refresh("SIGHUP");
  EXPECT_EQ(host.reload_count(), 2);
  agent->refresh("timer");
  EXPECT_EQ(host.reload_count(), 2) << "forcing is for one refresh only";
}

TEST(AppliedState, ANewRingVersionThatLeavesTheFilesAloneDoesNotReloadTheServer) {
  // The same keys under a newer version (as Traffic Server's sink sees a ring whose only
  // change is a pending key it does not write): nothing to reload. The record still follows.
  Host host;
  auto agent = host.start();
  host.deliver(*agent, host.ring(7, 0x5a));
  ASSERT_EQ(host.reload_count(), 1);
  host.deliver(*agent, host.ring(8, 0x5a));
  EXPECT_EQ(host.reload_count(), 1);
  const AppliedRecord* confirmed =
      agent->applied()->confirmed("nginx:" + (host.conf / "tickets.conf").string());
  ASSERT_NE(confirmed, nullptr);
  EXPECT_EQ(confirmed->ring_version, 8u);
  host.deliver(*agent, host.ring(9, 0x77));  // new keys: their files change, nginx reloads
  EXPECT_EQ(host.reload_count(), 2);
}

TEST(AppliedState, FailedReloadIsNotConfirmed) {
  Host host;
  std::vector<std::unique_ptr<Sink>> sinks;
  NginxSinkOptions o;
  o.dir = host.run / "nginx";
  fs::create_directories(o.dir);
  o.include = host.conf / "tickets.conf";
  o.reloader =
      std::make_unique<CommandReloader>(std::vector<std::string>{"false"}, milliseconds(10000));
  sinks.push_back(std::make_unique<NginxSink>(std::move(o)));
  RingKeeper agent("eu", RingCache(host.run.path(), "eu"), std::move(sinks), host.clock,
                   AppliedState(host.state()));
  agent.load_cache();
  host.deliver(agent, host.ring(7, 0x5a));
  EXPECT_EQ(agent.applied()->confirmed("nginx:" + (host.conf / "tickets.conf").string()), nullptr);
  EXPECT_FALSE(fs::exists(host.state()));
}

TEST(AppliedState, RecordsRingAndSecretVersionsAndRoundTripsThroughTheFile) {
  TempDir dir(true);
  const KeyRing ring = make_ring("eu", kE - 2, kE + 2, kT, 9);
  const AppliedRecord record = applied_record(&ring, 9, kE);
  EXPECT_EQ(record.ring_version, 9u);
  EXPECT_EQ(record.secret_versions, std::vector<std::uint32_t>{1});
  EXPECT_EQ(record.keys.size(), 5u);
  AppliedState state(dir / "a.applied");
  ASSERT_TRUE(state.confirm("nginx:/etc/nginx/stek tickets.conf", record).ok());
  ASSERT_TRUE(state.confirm("json:/run/stek/ring.json", applied_record(nullptr, 9, kE)).ok());
  AppliedState again(dir / "a.applied");
  ASSERT_TRUE(again.load().ok());
  ASSERT_NE(again.confirmed("nginx:/etc/nginx/stek tickets.conf"), nullptr);
  EXPECT_EQ(*again.confirmed("nginx:/etc/nginx/stek tickets.conf"), record);
  EXPECT_EQ(*again.confirmed("json:/run/stek/ring.json"), applied_record(nullptr, 9, kE));
}

}  // namespace
}  // namespace stek::agent

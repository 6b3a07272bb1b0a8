// The nginx and json sinks on real files, with real reload commands and signals.
#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stek/file.h"

#include "fakes.h"
#include "held_ring.h"
#include "sink_fixtures.h"
#include "sinks/json.h"
#include "sinks/nginx.h"
#include "times.h"

namespace stek::agent {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using testing::make_ring;
using testing::read_text;
using testing::TempDir;

using test::kE;
using test::kT;

using test::served_at;

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

std::vector<std::string> include_lines(const fs::path& include) {
  std::vector<std::string> out;
  std::ifstream in(include);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("ssl_session_ticket_key ", 0) == 0) out.push_back(line);
  }
  return out;
}

std::set<std::string> key_files(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".key") out.insert(e.path().filename().string());
  }
  return out;
}

using test::CountingReload;

struct NginxFixture {
  NginxFixture() : keys(true), reload(conf) {
    NginxSinkOptions o;
    o.dir = keys.path();
    o.include = conf / "tickets.conf";
    o.reloader = reload.reloader();
    sink = std::make_unique<NginxSink>(std::move(o));
  }
  TempDir keys;  // tmpfs, as in production
  TempDir conf;
  CountingReload reload;
  std::unique_ptr<NginxSink> sink;
};

TEST(NginxSink, ListsKeysInNginxOrderAndHoldsPendingBack) {
  NginxFixture f;
  const KeyRing ring = served_at(kT);
  auto report = f.sink->apply(&ring, kE);
  ASSERT_TRUE(report.ok()) << report.error().message;
  // E encrypts, E+1 next, E-1 and E-2 decrypt (newest first); E+2, E+3 are pending.
  const std::vector<Epoch> order = {kE, kE + 1, kE - 1, kE - 2};
  const auto lines = include_lines(f.conf / "tickets.conf");
  ASSERT_EQ(lines.size(), order.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    const RingKey* k = nullptr;
    for (const RingKey& candidate : ring.keys()) {
      if (*candidate.meta.epoch == order[i]) k = &candidate;
    }
    ASSERT_NE(k, nullptr);
    const fs::path file = f.sink->key_path(k->key);
    EXPECT_EQ(lines[i], "ssl_session_ticket_key \"" + file.string() + "\";");
    // The file is the key in nginx's 80-byte layout, readable by nobody else.
    EXPECT_EQ(mode_of(file), 0600u);
    auto bytes = read_file(file);
    ASSERT_TRUE(bytes.ok());
    ASSERT_EQ(bytes->size(), 80u);
    auto back = read_key_file(Format::nginx80, bytes->view());
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->encrypting().key.name(), k->key.name());
    EXPECT_TRUE(back->encrypting().key.same_material(k->key));
  }
  EXPECT_EQ(key_files(f.keys.path()).size(), 4u) << "pending keys are not written";
  EXPECT_EQ(report->files_written, 5);
  EXPECT_TRUE(report->reloaded);
  EXPECT_EQ(f.reload.count(), 1);
}

TEST(NginxSink, WritesAndReloadsOnlyWhenSomethingChanged) {
  NginxFixture f;
  const KeyRing ring = served_at(kT);
  ASSERT_TRUE(f.sink->apply(&ring, kE).ok());
  struct stat before {};
  ASSERT_EQ(::stat((f.conf / "tickets.conf").c_str(), &before), 0);
  auto again = f.sink->apply(&ring, kE);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->files_written, 0);
  EXPECT_FALSE(again->reloaded);
  EXPECT_EQ(f.reload.count(), 1);
  struct stat after {};
  ASSERT_EQ(::stat((f.conf / "tickets.conf").c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino) << "an unchanged include is not replaced";
}

TEST(NginxSink, RotationRewritesTheListReloadsAndErasesKeysNoLongerListed) {
  NginxFixture f;
  const KeyRing now = served_at(kT);
  ASSERT_TRUE(f.sink->apply(&now, kE).ok());
  const RingKey* e_minus_2 = nullptr;
  for (const RingKey& k : now.keys()) {
    if (*k.meta.epoch == kE - 2) e_minus_2 = &k;
  }
  ASSERT_NE(e_minus_2, nullptr);
  const fs::path oldest = f.sink->key_path(e_minus_2->key);
  ASSERT_TRUE(fs::exists(oldest));
  const KeyRing later = served_at((kE + 1) * 60);
  auto report = f.sink->apply(&later, kE + 1);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_TRUE(report->reloaded);
  EXPECT_EQ(f.reload.count(), 2);
  EXPECT_EQ(report->files_erased, 1);
  EXPECT_FALSE(fs::exists(oldest)) << "the expired key's file is erased";
  // Only E+2 (now next) is new; the include changed.
  EXPECT_EQ(report->files_written, 2);
  EXPECT_EQ(
      include_lines(f.conf / "tickets.conf").front(),
      "ssl_session_ticket_key \"" + f.sink->key_path(later.encrypting().key).string() + "\";");
}

TEST(NginxSink, LeavesFilesThatAreNotItsOwn) {
  NginxFixture f;
  std::ofstream(f.keys / "README") << "operator notes\n";
  std::ofstream(f.keys / "0123.key") << "not a stek key name\n";
  const KeyRing ring = served_at(kT);
  ASSERT_TRUE(f.sink->apply(&ring, kE).ok());
  EXPECT_TRUE(fs::exists(f.keys / "README"));
  EXPECT_TRUE(fs::exists(f.keys / "0123.key"));
}

TEST(NginxSink, WithoutKeysListsNoneErasesAllAndReloadsOncePerEpoch) {
  NginxFixture f;
  const KeyRing ring = served_at(kT);
  ASSERT_TRUE(f.sink->apply(&ring, kE).ok());
  auto none = f.sink->apply(nullptr, kE + 4);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(include_lines(f.conf / "tickets.conf").empty());
  EXPECT_TRUE(key_files(f.keys.path()).empty());
  EXPECT_EQ(none->files_erased, 4);
  EXPECT_EQ(f.reload.count(), 2);
  // Same epoch: nothing to do. Next epoch: reload so nginx's own fallback keys rotate too.
  ASSERT_TRUE(f.sink->apply(nullptr, kE + 4).ok());
  EXPECT_EQ(f.reload.count(), 2);
  ASSERT_TRUE(f.sink->apply(nullptr, kE + 5).ok());
  EXPECT_EQ(f.reload.count(), 3);
}

TEST(NginxSink, FailedReloadIsAnErrorAndIsRetriedOnTheNextApply) {
  TempDir keys(true);
  TempDir conf;
  const fs::path flag = conf / "failed-once";
  NginxSinkOptions o;
  o.dir = keys.path();
  o.include = conf / "tickets.conf";
  // Fails the first time, succeeds afterwards.
  o.reloader = std::make_unique<CommandReloader>(
      std::vector<std::string>{
          "sh", "-c",
          "test -e '" + flag.string() + "' || { touch '" + flag.string() + "'; exit 3; }"},
      milliseconds(10000));
  NginxSink sink(std::move(o));
  const KeyRing ring = served_at(kT);
  auto first = sink.apply(&ring, kE);
  ASSERT_FALSE(first.ok());
  EXPECT_NE(first.error().message.find("status 3"), std::string::npos) << first.error().message;
  auto second = sink.apply(&ring, kE);  // nothing changed, but the reload is still owed
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_TRUE(second->reloaded);
}

TEST(NginxSink, ReloadCommandIsKilledAtItsTimeout) {
  const auto start = std::chrono::steady_clock::now();
  auto s = run_command({"sleep", "30"}, milliseconds(200));
  EXPECT_FALSE(s.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

// A child that reports each SIGHUP it receives through a pipe, as an nginx master would
// reload on each.
struct HupCounter {
  HupCounter() {
    EXPECT_EQ(::pipe(fds), 0);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    pid = ::fork();
    if (pid == 0) {
      ::sigprocmask(SIG_BLOCK, &set, nullptr);
      ::close(fds[0]);
      [[maybe_unused]] auto ready = ::write(fds[1], "r", 1);  // SIGHUP is blocked: none is lost
      for (int sig; ::sigwait(&set, &sig) == 0;) {
        [[maybe_unused]] auto n = ::write(fds[1], "h", 1);
      }
      ::_exit(0);
    }
    ::close(fds[1]);
    EXPECT_EQ(next(5000), 'r');
  }
  ~HupCounter() {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    ::close(fds[0]);
  }
  // The next byte from the child, or 0 when none came within timeout_ms.
  char next(int timeout_ms) {
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) != 1) return 0;
    char c = 0;
    return ::read(fds[0], &c, 1) == 1 ? c : 0;
  }
  int fds[2];
  pid_t pid;
};

TEST(NginxSink, SignalsThePidInThePidFileOnlyWhenTheIncludeChanged) {
  HupCounter nginx;
  TempDir keys(true);
  TempDir conf;
  std::ofstream(conf / "nginx.pid") << nginx.pid << "\n";
  NginxSinkOptions o;
  o.dir = keys.path();
  o.include = conf / "tickets.conf";
  o.reloader = std::make_unique<SignalReloader>(conf / "nginx.pid", SIGHUP);
  NginxSink sink(std::move(o));
  const KeyRing ring = served_at(kT);
  auto first = sink.apply(&ring, kE);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(first->reloaded);
  EXPECT_EQ(nginx.next(5000), 'h');
  ASSERT_TRUE(sink.apply(&ring, kE).ok());
  EXPECT_EQ(nginx.next(300), 0) << "no change, no signal";
  const KeyRing later = served_at((kE + 1) * 60);
  ASSERT_TRUE(sink.apply(&later, kE + 1).ok());
  EXPECT_EQ(nginx.next(5000), 'h');
}

TEST(NginxSink, ServerNotRunningIsNotAnError) {
  TempDir keys(true);
  TempDir conf;
  NginxSinkOptions o;
  o.dir = keys.path();
  o.include = conf / "tickets.conf";
  o.reloader = std::make_unique<SignalReloader>(conf / "missing.pid", SIGHUP);
  NginxSink sink(std::move(o));
  const KeyRing ring = served_at(kT);
  auto report = sink.apply(&ring, kE);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_FALSE(report->reloaded);
  EXPECT_EQ(include_lines(conf / "tickets.conf").size(), 4u);
  std::ofstream(conf / "garbage.pid") << "not a pid\n";
  SignalReloader garbage(conf / "garbage.pid", SIGHUP);
  EXPECT_FALSE(garbage.reload().ok());
}

TEST(NginxSink, PrepareWritesAKeylessIncludeOnlyWhenMissing) {
  TempDir keys(true);
  TempDir conf;
  NginxSinkOptions o;
  o.dir = keys.path();
  o.include = conf / "tickets.conf";
  NginxSink sink(std::move(o));
  ASSERT_TRUE(sink.prepare().ok());
  ASSERT_TRUE(fs::exists(conf / "tickets.conf"));
  EXPECT_TRUE(include_lines(conf / "tickets.conf").empty());
  const KeyRing ring = served_at(kT);
  ASSERT_TRUE(sink.apply(&ring, kE).ok());
  ASSERT_TRUE(sink.prepare().ok());
  EXPECT_EQ(include_lines(conf / "tickets.conf").size(), 4u) << "prepare never drops keys";
}

TEST(JsonSink, WritesTheRingOnlyWhenChangedAndErasesItWithoutKeys) {
  TempDir dir(true);
  JsonSink sink(dir / "ring.json");
  const KeyRing ring = served_at(kT);
  auto first = sink.apply(&ring, kE);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->files_written, 1);
  EXPECT_EQ(mode_of(dir / "ring.json"), 0600u);
  auto bytes = read_file(dir / "ring.json");
  ASSERT_TRUE(bytes.ok());
  auto back = read_key_file(Format::json, bytes->view());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->size(), ring.size()) << "pending keys included, roles marked";
  EXPECT_EQ(back->encrypting().key.name(), ring.encrypting().key.name());
  EXPECT_EQ(back->info().version, 5u);
  EXPECT_EQ(sink.apply(&ring, kE)->files_written, 0);
  const KeyRing later = served_at((kE + 1) * 60);
  EXPECT_EQ(sink.apply(&later, kE + 1)->files_written, 1);
  auto none = sink.apply(nullptr, kE + 9);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->files_erased, 1);
  EXPECT_FALSE(fs::exists(dir / "ring.json"));
}

}  // namespace
}  // namespace stek::agent

// RingFileWatcher: stek-agent's ring file on disk, replaced by rename, removed, broken.
#include <chrono>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include "stek/bytes.h"
#include "stek/file.h"
#include "stek/openssl.h"

#include "ring_fixtures.h"
#include "testing/fixed_clock.h"

namespace stek::openssl {
namespace {

namespace fs = std::filesystem;
using test::json_of;
using test::make_window_ring;

using test::kNow;

class RingWatcher : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("stek-watch-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
    path = dir / "ring.json";
  }
  void TearDown() override { fs::remove_all(dir); }

  void write(const std::string& text) { ASSERT_TRUE(write_file_atomic(path, as_bytes(text)).ok()); }

  // Waits (bounded) for the inotify fd, then lets the watcher work, as an event loop would.
  void pump(RingFileWatcher& w) {
    pollfd p{w.fd(), POLLIN, 0};
    ::poll(&p, 1, 2000);
    w.process();
  }

  FixedClock clock{kNow};
  Schedule schedule = Schedule::standard();
  std::shared_ptr<TicketKeys> keys = std::make_shared<TicketKeys>(KeysOptions{&clock});
  fs::path dir;
  fs::path path;
};

TEST_F(RingWatcher, LoadsTheFileWhenOpened) {
  const KeyRing ring = make_window_ring(schedule, kNow);
  write(json_of(ring));
  auto w = RingFileWatcher::open(path, keys);
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(keys->status().current_key, ring.encrypting().key.name_hex());
  EXPECT_EQ(keys->status().last_error, "");
}

TEST_F(RingWatcher, PicksUpARenamedReplacement) {
  write(json_of(make_window_ring(schedule, kNow, KeySize::k80, 1)));
  auto w = std::move(RingFileWatcher::open(path, keys)).value();
  const KeyRing next = make_window_ring(schedule, kNow, KeySize::k80, 2);
  write(json_of(next));
  pump(*w);
  EXPECT_EQ(keys->status().current_key, next.encrypting().key.name_hex());
  EXPECT_EQ(keys->status().ring_version, 2u);
}

TEST_F(RingWatcher, IgnoresOtherFilesInTheDirectory) {
  write(json_of(make_window_ring(schedule, kNow)));
  auto w = std::move(RingFileWatcher::open(path, keys)).value();
  const std::uint64_t reloads = w->reloads();
  ASSERT_TRUE(write_file_atomic(dir / "other.json", as_bytes("{}")).ok());
  pump(*w);
  EXPECT_EQ(w->reloads(), reloads);
}

TEST_F(RingWatcher, KeepsKeysWhenTheFileIsBrokenOrWeak) {
  const KeyRing good = make_window_ring(schedule, kNow);
  write(json_of(good));
  auto w = std::move(RingFileWatcher::open(path, keys)).value();

  write("{\"stek_ring\": 1, \"keys\": [");  // truncated JSON
  pump(*w);
  EXPECT_EQ(keys->status().current_key, good.encrypting().key.name_hex());
  EXPECT_NE(keys->status().last_error.find("not valid JSON"), std::string::npos)
      << keys->status().last_error;

  // Every byte of the AES key the same: refused as a placeholder key.
  std::string weak = json_of(make_window_ring(schedule, kNow));
  const std::string field = "\"aes_key\": \"";
  const std::size_t at = weak.find(field) + field.size();
  weak.replace(at, 44, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  write(weak);
  pump(*w);
  EXPECT_EQ(keys->status().current_key, good.encrypting().key.name_hex());
  EXPECT_NE(keys->status().last_error.find("all zero"), std::string::npos)
      << keys->status().last_error;

  // Two keys with one name: refused whole.
  const KeyRing other = make_window_ring(schedule, kNow);
  std::string dup = json_of(other);
  const std::string first_name = other.keys()[0].key.name_hex();
  const std::string second_name = other.keys()[1].key.name_hex();
  dup.replace(dup.find(second_name), second_name.size(), first_name);
  write(dup);
  pump(*w);
  EXPECT_EQ(keys->status().current_key, good.encrypting().key.name_hex());
  EXPECT_NE(keys->status().last_error.find("appears twice"), std::string::npos)
      << keys->status().last_error;
}

TEST_F(RingWatcher, SurvivesTheFileVanishingAndComingBack) {
  const KeyRing ring = make_window_ring(schedule, kNow);
  write(json_of(ring));
  auto w = std::move(RingFileWatcher::open(path, keys)).value();
  fs::remove(path);
  pump(*w);
  KeyStatus s = keys->status();
  EXPECT_FALSE(s.source_present);
  EXPECT_TRUE(s.has_keys) << "keys held in memory outlive the file";
  EXPECT_EQ(s.current_key, ring.encrypting().key.name_hex());
  EXPECT_EQ(s.runway_seconds, schedule.runway(kNow));

  // The epoch ends with no file: the library rotates on its own.
  clock.set(schedule.next_boundary(kNow));
  w->process();
  EXPECT_EQ(keys->status().current_epoch, schedule.epoch_at(kNow) + 1);

  const KeyRing back = make_window_ring(schedule, clock.now(), KeySize::k80, 7);
  write(json_of(back));
  pump(*w);
  s = keys->status();
  EXPECT_TRUE(s.source_present);
  EXPECT_EQ(s.ring_version, 7u);
  EXPECT_EQ(s.current_key, back.encrypting().key.name_hex());
}

TEST_F(RingWatcher, WatchesAgainWhenTheDirectoryIsRecreated) {
  write(json_of(make_window_ring(schedule, kNow)));
  auto w = std::move(RingFileWatcher::open(path, keys)).value();
  fs::remove_all(dir);
  pump(*w);
  fs::create_directories(dir);
  const KeyRing next = make_window_ring(schedule, kNow, KeySize::k80, 3);
  write(json_of(next));
  w->process();  // re-adds the watch and reads the file that is there now
  EXPECT_EQ(keys->status().current_key, next.encrypting().key.name_hex());
}

TEST_F(RingWatcher, TimeoutIsBoundedByTheNextEpochBoundary) {
  write(json_of(make_window_ring(schedule, kNow)));
  auto w = std::move(RingFileWatcher::open(path, keys)).value();
  EXPECT_LE(w->timeout(), std::chrono::milliseconds(1000));
  clock.set(schedule.next_boundary(kNow) - 2);
  EXPECT_EQ(w->timeout(), std::chrono::milliseconds(1000));
  clock.set(schedule.next_boundary(kNow) - 1);  // somewhere in the last second: look often
  EXPECT_EQ(w->timeout(), std::chrono::milliseconds(100));
  clock.set(schedule.next_boundary(kNow));
  EXPECT_EQ(w->timeout(), std::chrono::milliseconds(0));
}

TEST_F(RingWatcher, BackgroundThreadAppliesUpdates) {
  write(json_of(make_window_ring(schedule, kNow, KeySize::k80, 1)));
  SystemClock real;
  auto live = std::make_shared<TicketKeys>(KeysOptions{&real});
  const UnixSeconds now = real.now();
  write(json_of(make_window_ring(schedule, now, KeySize::k80, 1)));
  auto w = std::move(RingFileWatcher::open(path, live)).value();
  ASSERT_TRUE(w->start().ok());
  const KeyRing next = make_window_ring(schedule, now, KeySize::k80, 2);
  write(json_of(next));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (live->status().ring_version != 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(live->status().current_key, next.encrypting().key.name_hex());
  w->stop();
}

}  // namespace
}  // namespace stek::openssl

// The audit sinks: RFC 3339 lines, whole lines only, failures counted and reported, reopening.
#include "audit.h"

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

#include "testing/fixed_clock.h"

namespace stek::server {
namespace {

namespace fs = std::filesystem;

class Ms final : public Clock {
 public:
  UnixSeconds now() const override { return 1'800'000'000; }
  std::int64_t now_ms() const override { return 1'800'000'000'123; }
};

std::string read(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("stek-audit-" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

// The timestamp itself: tests/unit/log/time_text_test.cc.

TEST(Audit, FileGetsOneWholeLinePerEvent) {
  const fs::path path = temp_dir() / "lines.jsonl";
  fs::remove(path);
  Ms clock;
  auto log = FileAuditLog::open(path, clock);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->record("admin_status", {{"actor", "ops"}, {"ts", "forged"}}).ok());
  EXPECT_EQ(read(path),
            "{\"actor\":\"ops\",\"event\":\"admin_status\",\"ts\":\"2027-01-15T08:00:00.123Z\"}\n");
  EXPECT_EQ((*log)->failures_total(), 0u);
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST(Audit, AFullDeviceIsAnErrorCountedUntilAWriteSucceeds) {
  Ms clock;
  auto log = FileAuditLog::open("/dev/full", clock);
  ASSERT_TRUE(log.ok());
  auto r = (*log)->record("domain_secret_rotated", {{"domain", "eu"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::io);
  EXPECT_NE(r.error().message.find("/dev/full"), std::string::npos);
  EXPECT_EQ((*log)->failures_total(), 1u);
  EXPECT_TRUE((*log)->failing());
}

TEST(Audit, UnsyncedDeliveryLinesAreWholeAndFailLikeSyncedOnes) {
  const fs::path path = temp_dir() / "deliveries.jsonl";
  fs::remove(path);
  Ms clock;
  auto log = FileAuditLog::open(path, clock);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->record_unsynced("ring_delivered", {{"host", "web1"}}).ok());
  EXPECT_EQ(
      read(path),
      "{\"event\":\"ring_delivered\",\"host\":\"web1\",\"ts\":\"2027-01-15T08:00:00.123Z\"}\n");
  auto full = FileAuditLog::open("/dev/full", clock);
  ASSERT_TRUE(full.ok());
  EXPECT_FALSE((*full)->record_unsynced("ring_delivered", {{"host", "web1"}}).ok());
  EXPECT_TRUE((*full)->failing());
}

TEST(Audit, ReopenFollowsThePathAfterTheFileWasMovedAway) {
  const fs::path dir = temp_dir();
  const fs::path path = dir / "rotated.jsonl";
  fs::remove(path);
  fs::remove(dir / "rotated.jsonl.1");
  Ms clock;
  auto log = FileAuditLog::open(path, clock);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->record("one", {}).ok());
  fs::rename(path, dir / "rotated.jsonl.1");
  ASSERT_TRUE((*log)->record("two", {}).ok());  // still the old, moved file
  ASSERT_TRUE((*log)->reopen().ok());
  ASSERT_TRUE((*log)->record("three", {}).ok());
  EXPECT_NE(read(dir / "rotated.jsonl.1").find("\"two\""), std::string::npos);
  EXPECT_EQ(read(path).find("\"two\""), std::string::npos);
  EXPECT_NE(read(path).find("\"three\""), std::string::npos);
}

TEST(Audit, WithoutAFileEventsGoToTheLogAndNothingIsKept) {
  Ms clock;
  LogAuditLog log(clock);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(log.record("ring_delivered", {{"n", i}}).ok());
  EXPECT_EQ(log.failures_total(), 0u);
}

}  // namespace
}  // namespace stek::server

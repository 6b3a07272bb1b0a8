// The h2o sink (ticket file, mtime, configuration check) and the generic command sink (file,
// command after a change, failure kept and retried with backoff), on real files and commands.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "fakes.h"
#include "held_ring.h"
#include "sink_fixtures.h"
#include "sinks/command.h"
#include "sinks/h2o.h"
#include "testing/fixed_clock.h"

namespace stek::agent {
namespace {

using std::chrono::milliseconds;
using testing::make_ring;
using testing::read_text;
using testing::TempDir;

using test::kE;
using test::kT;

using test::served_at;

time_t mtime_of(const std::filesystem::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0);
  return st.st_mtime;
}

TEST(H2oSink, WritesEveryUsableKeyWithItsValidityAndNoPendingKey) {
  TempDir dir(true);
  H2oSink sink({dir / "tickets.yaml", std::nullopt});
  KeyRing ring = served_at(kT);
  auto report = sink.apply(&ring, kE);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->files_written, 1);
  const std::string text = read_text(dir / "tickets.yaml");
  // e-2, e-1 (decrypt), e (encrypt), e+1 (next): four keys; e+2, e+3 are pending.
  std::size_t names = 0;
  for (std::size_t p = 0; (p = text.find("- name: ", p)) != std::string::npos; ++p) ++names;
  EXPECT_EQ(names, 4u);
  EXPECT_NE(text.find("not_before: " + std::to_string(kE * 60)), std::string::npos);
  EXPECT_NE(text.find("not_before: " + std::to_string((kE + 1) * 60)), std::string::npos);
  EXPECT_EQ(text.find("not_before: " + std::to_string((kE + 2) * 60)), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat((dir / "tickets.yaml").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(H2oSink, NoRingLeavesAnEmptyListSoH2oDropsStekKeys) {
  TempDir dir(true);
  H2oSink sink({dir / "tickets.yaml", std::nullopt});
  KeyRing ring = served_at(kT);
  ASSERT_TRUE(sink.apply(&ring, kE).ok());
  ASSERT_TRUE(sink.apply(nullptr, kE + 10).ok());
  EXPECT_EQ(read_text(dir / "tickets.yaml"), "[]\n");
}

// h2o notices a change by the mtime's second: two writes within one second must still differ.
TEST(H2oSink, EveryChangeMovesTheMtimeToANewSecond) {
  TempDir dir(true);
  H2oSink sink({dir / "tickets.yaml", std::nullopt});
  KeyRing at_e = served_at(kT);
  KeyRing at_e1 = served_at(kT + 60);
  ASSERT_TRUE(sink.apply(&at_e, kE).ok());
  const time_t first = mtime_of(dir / "tickets.yaml");
  ASSERT_TRUE(sink.apply(&at_e1, kE + 1).ok());
  EXPECT_GT(mtime_of(dir / "tickets.yaml"), first);
}

TEST(H2oConf, WarnsWhenH2oDoesNotReadTheFileOrPromisesTooLong) {
  const std::filesystem::path f = "/run/stek/h2o/tickets.yaml";
  const std::string good =
      "ssl-session-resumption:\n  mode: all\n  ticket-store: file\n"
      "  ticket-file: /run/stek/h2o/tickets.yaml\n  lifetime: 64800\n";
  EXPECT_TRUE(check_h2o_conf(good, f, 64800).empty());
  EXPECT_EQ(check_h2o_conf(good, f, 3600).size(), 1u);              // lifetime 64800 > hint 3600
  EXPECT_EQ(check_h2o_conf("listen: 443\n", f, 64800).size(), 1u);  // internal ticket store
  std::string ticket_only = good;
  ticket_only.replace(ticket_only.find("mode: all"), 9, "mode: ticket");
  // mode: ticket leaves OpenSSL's 7200 s hint whatever lifetime says.
  EXPECT_EQ(check_h2o_conf(ticket_only, f, 3600).size(), 1u);
  EXPECT_TRUE(check_h2o_conf(ticket_only, f, 7200).empty());
}

struct CommandFixture {
  TempDir dir{true};
  FixedClock clock{kT};
  testing::ByteRandom random{0xff};  // the longest jittered delay
  std::unique_ptr<CommandSink> sink;

  explicit CommandFixture(Format format = Format::json) {
    CommandSinkOptions o;
    o.format = format;
    o.path = dir / "keys";
    // Counts its runs; fails while FAIL exists.
    o.command = {
        "sh", "-c",
        "echo x >> '" + (dir / "runs").string() + "'; [ ! -e '" + (dir / "FAIL").string() + "' ]"};
    o.timeout = milliseconds(10000);
    sink = std::make_unique<CommandSink>(std::move(o), clock, random);
  }
  int runs() const {
    const std::string t = read_text(dir / "runs");
    return static_cast<int>(std::count(t.begin(), t.end(), '\n'));
  }
};

TEST(CommandSink, WritesTheFormatAndRunsTheCommandOnlyAfterAChange) {
  CommandFixture f(Format::haproxy80);
  KeyRing ring = served_at(kT);
  auto first = f.sink->apply(&ring, kE);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->files_written, 1);
  EXPECT_EQ(f.runs(), 1);
  ASSERT_TRUE(f.sink->apply(&ring, kE).ok());
  EXPECT_EQ(f.runs(), 1);
  auto back = read_key_file(Format::haproxy80, as_bytes(read_text(f.dir / "keys")));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->encrypting().key.name(), ring.encrypting().key.name());
  f.sink->force_next();
  ASSERT_TRUE(f.sink->apply(&ring, kE).ok());
  EXPECT_EQ(f.runs(), 2);
}

TEST(CommandSink, OneKeyFormatsGetTheEncryptingKey) {
  CommandFixture f(Format::nginx80);
  KeyRing ring = served_at(kT);
  ASSERT_TRUE(f.sink->apply(&ring, kE).ok());
  const std::string bytes = read_text(f.dir / "keys");
  ASSERT_EQ(bytes.size(), 80u);
  EXPECT_EQ(to_hex(as_bytes(bytes).first(16)), ring.encrypting().key.name_hex());
}

TEST(CommandSink, FortyEightByteFormatsGetTheProjectionOfEightyByteKeys) {
  CommandFixture f(Format::ats);
  KeyRing ring = served_at(kT);
  ASSERT_EQ(ring.encrypting().key.size(), KeySize::k80);
  ASSERT_TRUE(f.sink->apply(&ring, kE).ok());
  const std::string bytes = read_text(f.dir / "keys");
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(bytes.size() % 48, 0u);
  auto projected = project_to_48(ring.encrypting().key);
  ASSERT_TRUE(projected.ok());
  auto back = read_key_file(Format::ats, as_bytes(bytes));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->encrypting().key.name(), ring.encrypting().key.name());
  EXPECT_TRUE(back->encrypting().key.same_material(*projected));
}

TEST(CommandSink, AFailedCommandKeepsTheFileAndIsRetriedWithBackoff) {
  CommandFixture f;
  KeyRing ring = served_at(kT);
  ASSERT_TRUE(write_file_atomic(f.dir / "FAIL", {}, 0600).ok());
  auto failed = f.sink->apply(&ring, kE);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(f.sink->failures(), 1);
  EXPECT_FALSE(read_text(f.dir / "keys").empty());  // the keys are there all the same
  // Within the first delay (5 s, jitter 20 %: 4-5 s) nothing runs.
  f.clock.advance(3);
  EXPECT_FALSE(f.sink->apply(&ring, kE).ok());
  EXPECT_EQ(f.runs(), 1);
  f.clock.advance(3);
  EXPECT_FALSE(f.sink->apply(&ring, kE).ok());
  EXPECT_EQ(f.runs(), 2);
  EXPECT_EQ(f.sink->failures(), 2);
  // The second delay is 10 s.
  f.clock.advance(6);
  EXPECT_FALSE(f.sink->apply(&ring, kE).ok());
  EXPECT_EQ(f.runs(), 2);
  std::filesystem::remove(f.dir / "FAIL");
  f.clock.advance(5);
  auto ok = f.sink->apply(&ring, kE);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(f.runs(), 3);
  EXPECT_EQ(f.sink->failures(), 0);
}

TEST(CommandSink, NoRingErasesTheFileAndTellsTheServer) {
  CommandFixture f;
  KeyRing ring = served_at(kT);
  ASSERT_TRUE(f.sink->apply(&ring, kE).ok());
  auto report = f.sink->apply(nullptr, kE + 10);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->files_erased, 1);
  EXPECT_FALSE(std::filesystem::exists(f.dir / "keys"));
  EXPECT_EQ(f.runs(), 2);
}

}  // namespace
}  // namespace stek::agent

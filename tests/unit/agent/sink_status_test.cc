// Each sink's status as RingKeeper keeps it (issue 11, Deliver 7), driven by a fake sink that
// fails on demand and a fixed clock: last applied ring version, last success and failure
// times, the last error; sinks added and removed while running; pid files watched.
#include <gtest/gtest.h>
#include <unistd.h>

#include "stek/bytes.h"
#include "stek/file.h"

#include "fakes.h"
#include "metrics.h"
#include "ring_keeper.h"
#include "testing/fixed_clock.h"
#include "times.h"

namespace stek::agent {
namespace {

using test::kE;
using test::kT;
using testing::make_ring;
using testing::RecordingSink;
using testing::ring_update;
using testing::TempDir;

// One keeper with the sinks named in `names`, each a RecordingSink the test can make fail.
struct StatusRig {
  explicit StatusRig(std::vector<std::string> names = {"a"}) : clock(kT) {
    std::vector<std::unique_ptr<Sink>> sinks;
    for (const auto& n : names) sinks.push_back(recording(n));
    keeper =
        std::make_unique<RingKeeper>("eu", RingCache(dir.path(), "eu"), std::move(sinks), clock);
  }
  std::unique_ptr<Sink> recording(const std::string& name) {
    auto s = std::make_unique<RecordingSink>(name);
    by_name[name] = s.get();
    return s;
  }
  void deliver(std::uint64_t version) {
    keeper->apply(
        ring_update(make_ring("eu", kE - 2, kE + 2, clock.now(), version), "eu", clock.now()));
  }
  const SinkMetrics& status(const std::string& name) const {
    return keeper->metrics().sinks.at(name);
  }

  TempDir dir;
  FixedClock clock;
  std::map<std::string, RecordingSink*> by_name;
  std::unique_ptr<RingKeeper> keeper;
};

TEST(SinkStatus, ASuccessfulApplyRecordsTheRingVersionAndTime) {
  StatusRig rig;
  rig.deliver(7);
  const SinkMetrics& s = rig.status("a");
  EXPECT_EQ(s.applied_version, 7u);
  EXPECT_EQ(s.last_success, kT);
  EXPECT_EQ(s.last_failure, 0);
  EXPECT_FALSE(s.failing);
  EXPECT_TRUE(s.last_error.empty());
}

TEST(SinkStatus, AFailureKeepsTheLastSuccessAndIsClearedByTheNextSuccess) {
  StatusRig rig;
  rig.deliver(7);
  rig.by_name["a"]->fail = true;
  rig.clock.set(kT + 3);
  rig.deliver(8);
  {
    const SinkMetrics& s = rig.status("a");
    EXPECT_TRUE(s.failing);
    EXPECT_EQ(s.last_error, "sink down in this test");
    EXPECT_EQ(s.last_failure, kT + 3);
    EXPECT_EQ(s.last_success, kT);     // stays old
    EXPECT_EQ(s.applied_version, 7u);  // the server still runs version 7
    EXPECT_EQ(s.failures, 1u);
  }
  rig.clock.set(kT + 8);
  rig.keeper->refresh_due();  // the retry, still failing
  EXPECT_EQ(rig.status("a").failures, 2u);
  EXPECT_EQ(rig.status("a").last_success, kT);

  rig.by_name["a"]->fail = false;
  rig.clock.set(kT + 13);
  rig.keeper->refresh_due();
  const SinkMetrics& s = rig.status("a");
  EXPECT_FALSE(s.failing);
  EXPECT_EQ(s.last_success, kT + 13);
  EXPECT_EQ(s.applied_version, 8u);
  EXPECT_EQ(s.last_failure, kT + 8);  // kept for the record
}

TEST(SinkStatus, OnlyTheFailingSinkIsMarked) {
  StatusRig rig({"a", "b"});
  rig.by_name["b"]->fail = true;
  rig.deliver(7);
  EXPECT_FALSE(rig.status("a").failing);
  EXPECT_TRUE(rig.status("b").failing);
  EXPECT_EQ(rig.status("b").applied_version, 0u);
  EXPECT_EQ(rig.status("b").last_success, 0);
}

TEST(SinkStatus, MetricsCarryEachSinksStatusLabelledByItsName) {
  StatusRig rig({"nginx:/run/x"});
  rig.deliver(7);
  rig.by_name["nginx:/run/x"]->fail = true;
  rig.clock.set(kT + 4);
  rig.keeper->force_reapply();
  rig.keeper->refresh("test");
  const std::string text = render_prometheus(rig.keeper->metrics());
  const std::string label = "{sink=\"nginx:/run/x\"} ";
  EXPECT_NE(text.find("stek_agent_sink_applied_ring_version" + label + "7\n"), std::string::npos);
  EXPECT_NE(text.find("stek_agent_sink_last_success_timestamp_seconds" + label +
                      std::to_string(kT) + "\n"),
            std::string::npos);
  EXPECT_NE(text.find("stek_agent_sink_last_failure_timestamp_seconds" + label +
                      std::to_string(kT + 4) + "\n"),
            std::string::npos);
  EXPECT_NE(text.find("stek_agent_sink_failing" + label + "1\n"), std::string::npos);
  EXPECT_NE(text.find("stek_agent_sink_failures_total" + label + "1\n"), std::string::npos);
  EXPECT_EQ(text.find("sink down"), std::string::npos);  // the text is for /healthz
}

TEST(SinkStatus, ARemovedSinkIsWithdrawnAndAnAddedOneGetsTheHeldRing) {
  StatusRig rig({"a"});
  rig.deliver(7);
  auto a_calls = rig.by_name["a"]->calls;
  auto added = rig.recording("b");
  auto b_calls = rig.by_name["b"]->calls;
  std::vector<std::unique_ptr<Sink>> adding;
  adding.push_back(std::move(added));
  rig.keeper->change_sinks({"a"}, std::move(adding));
  ASSERT_EQ(a_calls->size(), 2u);
  EXPECT_FALSE(a_calls->back().encrypting.has_value());  // withdrawn: no keys
  EXPECT_EQ(rig.keeper->metrics().sinks.count("a"), 0u);
  ASSERT_EQ(rig.keeper->sinks().size(), 1u);

  rig.keeper->force_reapply();
  rig.keeper->refresh("SIGHUP");
  ASSERT_EQ(b_calls->size(), 1u);
  EXPECT_EQ(b_calls->back().encrypting, kE);
  EXPECT_EQ(rig.status("b").applied_version, 7u);
  EXPECT_EQ(a_calls->size(), 2u);  // never again
}

TEST(SinkStatus, ASinkRebuiltUnderItsNameIsNotWithdrawnAndKeepsItsCounts) {
  StatusRig rig({"a"});
  rig.by_name["a"]->fail = true;
  rig.deliver(7);
  auto old_calls = rig.by_name["a"]->calls;
  std::vector<std::unique_ptr<Sink>> adding;
  adding.push_back(rig.recording("a"));
  rig.keeper->change_sinks({"a"}, std::move(adding));
  EXPECT_TRUE(old_calls->empty());  // no withdrawal: the new sink takes over its files
  EXPECT_EQ(rig.status("a").failures, 1u);
  rig.keeper->force_reapply();
  rig.keeper->refresh("SIGHUP");
  EXPECT_FALSE(rig.status("a").failing);
  EXPECT_EQ(rig.status("a").failures, 1u);
}

TEST(SinkStatus, AMissingUnparsableOrStalePidFileIsAWarningUntilItNamesAProcess) {
  StatusRig rig({"a"});
  const auto pid_file = rig.dir / "server.pid";
  rig.keeper->watch_pid_file("a", pid_file);
  rig.keeper->load_cache();  // at start
  EXPECT_NE(rig.status("a").pid_file_problem.find("does not exist"), std::string::npos);

  ASSERT_TRUE(write_file_atomic(pid_file, as_bytes(std::string("nginx\n")), 0644).ok());
  rig.keeper->refresh("test");
  EXPECT_NE(rig.status("a").pid_file_problem.find("does not hold a process id"), std::string::npos);

  // The largest pid Linux can hand out, unused here.
  ASSERT_TRUE(write_file_atomic(pid_file, as_bytes(std::string("4194303\n")), 0644).ok());
  rig.keeper->refresh("test");
  EXPECT_NE(rig.status("a").pid_file_problem.find("not running"), std::string::npos);

  const std::string self = std::to_string(::getpid()) + "\n";
  ASSERT_TRUE(write_file_atomic(pid_file, as_bytes(self), 0644).ok());
  rig.keeper->refresh("test");
  EXPECT_TRUE(rig.status("a").pid_file_problem.empty());
  EXPECT_NE(render_prometheus(rig.keeper->metrics())
                .find("stek_agent_sink_pid_file_problem{sink=\"a\"} 0\n"),
            std::string::npos);
}

TEST(SinkStatus, ASinkRebuiltWithoutASignalReloadDropsItsPidFileWarning) {
  StatusRig rig({"a"});
  rig.keeper->watch_pid_file("a", rig.dir / "missing.pid");
  rig.keeper->load_cache();
  ASSERT_FALSE(rig.status("a").pid_file_problem.empty());
  std::vector<std::unique_ptr<Sink>> adding;
  adding.push_back(rig.recording("a"));
  rig.keeper->change_sinks({"a"}, std::move(adding));
  rig.keeper->refresh("SIGHUP");
  EXPECT_TRUE(rig.status("a").pid_file_problem.empty());
}

}  // namespace
}  // namespace stek::agent

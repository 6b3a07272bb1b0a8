// stekd's lifecycle metrics: the erasure deadline of the oldest epoch secret from a real key
// service (fixed clock, in-memory store), and the rendered text.
#include "lifecycle_metrics.h"

#include <gtest/gtest.h>

#include "fakes_server.h"

namespace stek::server {
namespace {

using namespace split_testing;

// The rig's schedule: I = 60 s, H = 2, L = 2; it starts at kStart, the first second of kEpoch.
TEST(LifecycleMetrics, OldestSecretIsDueAtTheStartOfTheEpochAfterItsDecryptWindow) {
  NetPartsRig rig;
  LifecycleFigures f = lifecycle_figures(rig.keys, true);
  EXPECT_TRUE(f.healthy);
  EXPECT_EQ(f.interval, 60);
  // A fresh start holds kEpoch .. kEpoch + 2: kEpoch decrypts through kEpoch + 2.
  ASSERT_TRUE(f.erase_due.has_value());
  EXPECT_EQ(*f.erase_due, kStart + 3 * 60);

  // At that boundary maintenance erases it; the next one is due an interval later.
  rig.clock.set(kStart + 3 * 60);
  ASSERT_TRUE(rig.keys.maintain(rig.clock.now()).ok());
  f = lifecycle_figures(rig.keys, true);
  EXPECT_EQ(*f.erase_due, kStart + 4 * 60);
}

TEST(LifecycleMetrics, SecretKeptPastItsDeadlineShowsAsADueTimeInThePast) {
  NetPartsRig rig;
  // Time moves on without maintenance (a store that refuses commits looks the same).
  rig.clock.set(kStart + 10 * 60);
  const LifecycleFigures f = lifecycle_figures(rig.keys, false);
  EXPECT_LT(*f.erase_due, rig.clock.now());
  EXPECT_FALSE(f.healthy);
}

TEST(LifecycleMetrics, TextHasHealthIntervalAndDeadline) {
  EXPECT_EQ(render_lifecycle_metrics({true, 3600, 1'800'007'200}),
            "# HELP stek_healthy 1 while /healthz answers 200 (current key held, audit writable, "
            "clock trusted, etcd usable), else 0\n"
            "# TYPE stek_healthy gauge\n"
            "stek_healthy 1\n"
            "# HELP stek_schedule_interval_seconds Configured epoch length I in seconds\n"
            "# TYPE stek_schedule_interval_seconds gauge\n"
            "stek_schedule_interval_seconds 3600\n"
            "# HELP stek_epoch_secret_erase_due_timestamp_seconds Unix time by which the oldest "
            "epoch secret held must be erased (the end of its decrypt window); in the past means "
            "erasure is overdue\n"
            "# TYPE stek_epoch_secret_erase_due_timestamp_seconds gauge\n"
            "stek_epoch_secret_erase_due_timestamp_seconds 1800007200\n");
  const std::string none = render_lifecycle_metrics({false, 60, std::nullopt});
  EXPECT_NE(none.find("stek_healthy 0\n"), std::string::npos);
  EXPECT_EQ(none.find("erase_due"), std::string::npos);
}

}  // namespace
}  // namespace stek::server

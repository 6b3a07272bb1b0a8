// OwedReload: when a sink asks its server to reload, and that a failed reload is asked again.
#include <deque>
#include <memory>

#include <gtest/gtest.h>

#include "reload.h"

namespace stek::agent {
namespace {

// A reloader that answers from a script and counts how often it was asked.
class ScriptedReloader final : public Reloader {
 public:
  ScriptedReloader(std::deque<Result<bool>> answers, int* asked)
      : answers_(std::move(answers)), asked_(asked) {}
  Result<bool> reload() override {
    ++*asked_;
    if (answers_.empty()) return true;
    auto next = std::move(answers_.front());
    answers_.pop_front();
    return next;
  }

 private:
  std::deque<Result<bool>> answers_;
  int* asked_;
};

OwedReload owed_with(std::deque<Result<bool>> answers, int* asked) {
  return OwedReload(std::make_unique<ScriptedReloader>(std::move(answers), asked));
}

TEST(OwedReload, AsksOnlyWhenSomethingChanged) {
  int asked = 0;
  auto reload = owed_with({}, &asked);
  auto quiet = reload.settle(false);
  ASSERT_TRUE(quiet.ok());
  EXPECT_FALSE(*quiet);
  EXPECT_EQ(asked, 0);
  auto changed = reload.settle(true);
  ASSERT_TRUE(changed.ok());
  EXPECT_TRUE(*changed);
  EXPECT_EQ(asked, 1);
  ASSERT_TRUE(reload.settle(false).ok());
  EXPECT_EQ(asked, 1);
}

TEST(OwedReload, AReloadConfirmedAnotherWayIsNoLongerOwed) {
  // HAProxy's runtime API took the keys: the owed reload of the key file is dropped.
  int asked = 0;
  auto reload = owed_with({}, &asked);
  reload.owe();
  reload.forgive();
  auto quiet = reload.settle(false);
  ASSERT_TRUE(quiet.ok());
  EXPECT_FALSE(*quiet);
  EXPECT_EQ(asked, 0);
  EXPECT_TRUE(reload.can_reload());
  EXPECT_FALSE(OwedReload(nullptr).can_reload());
}

TEST(OwedReload, FailedReloadIsAskedAgainUntilItSucceeds) {
  int asked = 0;
  auto reload =
      owed_with({make_error(Errc::io, "down"), make_error(Errc::io, "down"), true}, &asked);
  auto first = reload.settle(true);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, Errc::io);
  EXPECT_FALSE(reload.settle(false).ok());
  auto third = reload.settle(false);
  ASSERT_TRUE(third.ok());
  EXPECT_TRUE(*third);
  ASSERT_TRUE(reload.settle(false).ok());
  EXPECT_EQ(asked, 3);
}

TEST(OwedReload, ForcedReloadIsAskedWithoutAChange) {
  int asked = 0;
  auto reload = owed_with({}, &asked);
  reload.owe();
  ASSERT_TRUE(reload.settle(false).ok());
  EXPECT_EQ(asked, 1);
}

TEST(OwedReload, ServerNotRunningIsPassedOnAndNotOwed) {
  int asked = 0;
  auto reload = owed_with({false}, &asked);
  auto stopped = reload.settle(true);
  ASSERT_TRUE(stopped.ok());
  EXPECT_FALSE(*stopped);
  ASSERT_TRUE(reload.settle(false).ok());
  EXPECT_EQ(asked, 1);
}

TEST(OwedReload, WithoutAReloaderNothingIsAsked) {
  OwedReload none(nullptr);
  none.owe();
  auto result = none.settle(true);
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(*result);
}

}  // namespace
}  // namespace stek::agent

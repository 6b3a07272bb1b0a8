// The long-poll wait list: who is woken, how often, and when a waiter leaves.
#include "wait_list.h"

#include <vector>

#include <gtest/gtest.h>

namespace stek::server {
namespace {

struct Recorder {
  std::vector<ConnectionId> woken;
  WaitList list{[this](ConnectionId id) { woken.push_back(id); }};
};

TEST(WaitList, RingChangeWakesOnlyThatDomainsWaiters) {
  Recorder r;
  r.list.add(1, {"eu-west", 10});
  r.list.add(2, {"us-east", 10});
  r.list.add(3, {"eu-west", 11});
  r.list.ring_changed("eu-west");
  EXPECT_EQ(r.woken, (std::vector<ConnectionId>{1, 3}));
}

TEST(WaitList, WakesEachWaiterOnceUntilItWaitsAgain) {
  Recorder r;
  r.list.add(1, {"eu-west", 10});
  r.list.ring_changed("eu-west");
  r.list.ring_changed("eu-west");
  EXPECT_EQ(r.woken, std::vector<ConnectionId>{1});
  ASSERT_TRUE(r.list.take(1).has_value());
  r.list.add(1, {"eu-west", 11});
  r.list.ring_changed("eu-west");
  EXPECT_EQ(r.woken, (std::vector<ConnectionId>{1, 1}));
}

TEST(WaitList, WokenWaiterKeepsItsVersionUntilTaken) {
  Recorder r;
  r.list.add(7, {"eu-west", 42});
  r.list.all_rings_changed();
  EXPECT_EQ(r.list.size(), 1u);
  const auto w = r.list.take(7);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->domain, "eu-west");
  EXPECT_EQ(w->version, 42u);
  EXPECT_EQ(r.list.size(), 0u);
  EXPECT_FALSE(r.list.take(7).has_value());
}

TEST(WaitList, TakenWaiterIsNeverWoken) {
  Recorder r;
  r.list.add(1, {"eu-west", 10});
  r.list.take(1);  // the connection closed
  r.list.all_rings_changed();
  EXPECT_TRUE(r.woken.empty());
}

TEST(WaitList, NewWaitOnAConnectionReplacesItsOldOne) {
  Recorder r;
  r.list.add(1, {"eu-west", 10});
  r.list.add(1, {"us-east", 10});
  EXPECT_EQ(r.list.size(), 1u);
  r.list.ring_changed("eu-west");
  EXPECT_TRUE(r.woken.empty());
  r.list.ring_changed("us-east");
  EXPECT_EQ(r.woken, std::vector<ConnectionId>{1});
}

TEST(WaitList, WakeMayCallBackIntoTheList) {
  std::vector<ConnectionId> woken;
  WaitList* self = nullptr;
  WaitList list([&](ConnectionId id) {
    woken.push_back(id);
    self->take(id);
  });
  self = &list;
  list.add(1, {"eu-west", 1});
  list.add(2, {"eu-west", 1});
  list.ring_changed("eu-west");
  EXPECT_EQ(woken, (std::vector<ConnectionId>{1, 2}));
  EXPECT_EQ(list.size(), 0u);
}

TEST(WaitList, FinishedPollsLeaveNothingBehind) {
  Recorder r;
  const std::vector<std::string> domains = {"eu-west", "us-east", "ap-south"};
  for (ConnectionId id = 1; id <= 3000; ++id) {
    r.list.add(id, {domains[id % 3], id});
    switch (id % 4) {
      case 0:  // timed out: the answer takes the waiter
        break;
      case 1:  // its ring changed, then the answer took it
        r.list.ring_changed(domains[id % 3]);
        break;
      case 2:  // its host was denied
        r.list.wake(id);
        break;
      case 3:  // a new epoch, but the client closed first
        r.list.all_rings_changed();
        break;
    }
    ASSERT_TRUE(r.list.take(id).has_value()) << id;
    EXPECT_TRUE(r.list.empty()) << id;
  }
  EXPECT_EQ(r.list.size(), 0u);
}

TEST(WaitList, ManyParkedPollsAllCancelledLeaveNothingBehind) {
  Recorder r;
  for (ConnectionId id = 1; id <= 1000; ++id) r.list.add(id, {id % 2 ? "eu-west" : "us-east", 1});
  EXPECT_EQ(r.list.size(), 1000u);
  r.list.ring_changed("eu-west");  // half of them woken, not yet answered
  for (ConnectionId id = 1; id <= 1000; ++id) r.list.take(id);  // every connection closed
  EXPECT_TRUE(r.list.empty());
  r.list.all_rings_changed();
  EXPECT_EQ(r.woken.size(), 500u);  // nobody woken after leaving
}

}  // namespace
}  // namespace stek::server

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

}  // namespace
}  // namespace stek::server

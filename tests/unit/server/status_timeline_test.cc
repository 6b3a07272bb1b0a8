// The key-validity timeline as data: each epoch's state around the current one, epochs
// stekd never made, boundaries at t-1, t and t+1, and a window too wide to draw one by one.
#include "status_timeline.h"

#include <chrono>

#include <gtest/gtest.h>

namespace stek::server {
namespace {

// I = 60 s, H = 2, L = 2: the rig's schedule (fakes_server.h).
Schedule timeline_schedule() {
  return *Schedule::make({60, 2, 2});
}

// "erased erased decrypt-only ...": the states in order, for readable expectations.
std::string states_of(const std::vector<TimelineSlot>& slots) {
  std::string out;
  for (const TimelineSlot& s : slots) {
    out += (out.empty() ? "" : " ") + std::string(slot_state_name(s.state));
  }
  return out;
}

TEST(KeyTimeline, ShowsEveryStateAroundTheCurrentEpoch) {
  const auto slots = key_timeline(timeline_schedule(), 100, EpochRange{98, 102}, {}, false);
  ASSERT_EQ(slots.size(), 7u);
  EXPECT_EQ(slots.front().first, 96);
  EXPECT_EQ(slots.back().last, 102);
  EXPECT_EQ(states_of(slots), "erased erased decrypt-only decrypt-only encrypting next pending");
  for (const TimelineSlot& s : slots) EXPECT_EQ(s.first, s.last);
}

TEST(KeyTimeline, EpochsBeforeTheFirstSecretAreNotHeldRatherThanErased) {
  // stekd started in epoch 100: it made 100..102 and nothing older.
  const auto slots = key_timeline(timeline_schedule(), 100, EpochRange{100, 102}, {}, false);
  EXPECT_EQ(states_of(slots), "erased erased not-held not-held encrypting next pending");
}

TEST(KeyTimeline, NoSecretHeldMakesEveryLiveEpochNotHeld) {
  const auto slots = key_timeline(timeline_schedule(), 100, std::nullopt, {}, false);
  EXPECT_EQ(states_of(slots), "erased erased not-held not-held not-held not-held not-held");
}

TEST(KeyTimeline, CarriesKeyLabelsAndMarksAKnownDomainsMissingKeyNotHeld) {
  const std::map<Epoch, KeyLabel> keys = {
      {99, {"aa", 1}}, {100, {"bb", 2}}, {101, {"cc", 2}}, {102, {"dd", 2}}};
  const auto slots = key_timeline(timeline_schedule(), 100, EpochRange{98, 102}, keys, true);
  EXPECT_EQ(states_of(slots), "erased erased not-held decrypt-only encrypting next pending");
  ASSERT_TRUE(slots[4].key);
  EXPECT_EQ(slots[4].key->name_hex, "bb");
  EXPECT_EQ(slots[4].key->secret_version, 2u);
  EXPECT_FALSE(slots[0].key);  // erased: no name, even if one were given
}

TEST(KeyTimeline, MovesByOneEpochExactlyAtTheBoundary) {
  const Schedule schedule = timeline_schedule();
  const UnixSeconds boundary = 101 * 60;
  const EpochRange held{97, 103};
  auto at = [&](UnixSeconds t) {
    return key_timeline(schedule, schedule.epoch_at(t), held, {}, false);
  };
  const auto before = at(boundary - 1);
  const auto on = at(boundary);
  const auto after = at(boundary + 1);
  auto state_of_epoch = [](const std::vector<TimelineSlot>& slots, Epoch e) {
    for (const TimelineSlot& s : slots) {
      if (s.first <= e && e <= s.last) return std::string(slot_state_name(s.state));
    }
    return std::string("absent");
  };
  EXPECT_EQ(state_of_epoch(before, 100), "encrypting");
  EXPECT_EQ(state_of_epoch(before, 101), "next");
  EXPECT_EQ(state_of_epoch(before, 97), "erased");
  EXPECT_EQ(state_of_epoch(on, 100), "decrypt-only");
  EXPECT_EQ(state_of_epoch(on, 101), "encrypting");
  EXPECT_EQ(state_of_epoch(on, 102), "next");
  EXPECT_EQ(state_of_epoch(on, 98), "erased");
  EXPECT_EQ(states_of(on), states_of(after));
}

TEST(KeyTimeline, AWideWindowMergesItsOldestDecryptOnlyEpochsIntoOneSlot) {
  // I = 1 s, H = 1000: 1005 epochs to show, drawn in kMaxTimelineSlots boxes.
  const Schedule schedule = *Schedule::make({1, 1000, 2});
  const Epoch e = 1'000'000;
  const auto slots = key_timeline(schedule, e, EpochRange{e - 1000, e + 2}, {}, false);
  ASSERT_EQ(slots.size(), kMaxTimelineSlots);
  EXPECT_EQ(slots[2].state, SlotState::decrypt_only);
  EXPECT_EQ(slots[2].first, e - 1000);
  EXPECT_GT(slots[2].last, slots[2].first);
  EXPECT_EQ(slots[3].first, slots[2].last + 1);  // no epoch lost or repeated
  EXPECT_EQ(slots[slots.size() - 3].state, SlotState::encrypting);
  EXPECT_EQ(slots.back().last, e + 2);
}

TEST(KeyTimeline, TheLongestHistoryTheScheduleAllowsIsQuick) {
  // H x I = 7 days with I = 1 s: 604,803 epochs, still one pass.
  const Schedule schedule = *Schedule::make({1, 7 * 24 * 3600, 2});
  const auto start = std::chrono::steady_clock::now();
  const auto slots = key_timeline(schedule, 2'000'000, EpochRange{0, 2'000'002}, {}, false);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(slots.size(), kMaxTimelineSlots);
}

}  // namespace
}  // namespace stek::server

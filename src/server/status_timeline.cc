// The key-validity timeline, as data.
#include "status_timeline.h"

namespace stek::server {

std::string_view slot_state_name(SlotState state) {
  switch (state) {
    case SlotState::erased:
      return "erased";
    case SlotState::not_held:
      return "not-held";
    case SlotState::decrypt_only:
      return "decrypt-only";
    case SlotState::encrypting:
      return "encrypting";
    case SlotState::next:
      return "next";
    case SlotState::pending:
      return "pending";
  }
  return "erased";
}

namespace {

SlotState state_of(KeyRole role) {
  switch (role) {
    case KeyRole::pending:
      return SlotState::pending;
    case KeyRole::next:
      return SlotState::next;
    case KeyRole::encrypt:
      return SlotState::encrypting;
    case KeyRole::decrypt:
      return SlotState::decrypt_only;
    case KeyRole::expired:
      return SlotState::erased;
  }
  return SlotState::erased;
}

}  // namespace

std::vector<TimelineSlot> key_timeline(const Schedule& schedule, Epoch current,
                                       std::optional<EpochRange> held,
                                       const std::map<Epoch, KeyLabel>& keys, bool names_known) {
  // Roles as of the current epoch's start: the page shows the epoch stekd serves, which is
  // the trusted one (a refused clock step does not move it).
  const UnixSeconds at = schedule.epoch_start(current);
  const Epoch first = current - schedule.history() - kErasedShown;
  Epoch last = current + schedule.lookahead();
  if (held && held->last > last) last = held->last;  // made under a longer look-ahead
  // Too many to draw one by one: the oldest runs of decrypt-only (or not held) epochs share a
  // slot, until the count fits. One pass, nothing materialised beyond what is drawn.
  const auto total = static_cast<std::uint64_t>(last - first + 1);
  std::uint64_t to_merge = total > kMaxTimelineSlots ? total - kMaxTimelineSlots : 0;
  std::vector<TimelineSlot> slots;
  for (Epoch k = first; k <= last; ++k) {
    TimelineSlot slot{k, k, state_of(schedule.role(k, at)), std::nullopt};
    const auto key = keys.find(k);
    if (slot.state != SlotState::erased) {
      if (!held || !held->contains(k) || (names_known && key == keys.end())) {
        slot.state = SlotState::not_held;
      } else if (key != keys.end()) {
        slot.key = key->second;
      }
    }
    const bool mergeable =
        slot.state == SlotState::decrypt_only || slot.state == SlotState::not_held;
    if (to_merge > 0 && mergeable && !slots.empty() && slots.back().state == slot.state) {
      slots.back().last = k;
      slots.back().key.reset();
      --to_merge;
      continue;
    }
    slots.push_back(std::move(slot));
  }
  return slots;
}

}  // namespace stek::server

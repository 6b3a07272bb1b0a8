// The key-validity timeline of the status page: for one domain, the state of each epoch's key
// around the current epoch (erased, decrypt-only, encrypting, next, pending, or never made).
// Pure: the roles come from Schedule::role, the one definition of them; the page draws it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stek/schedule.h"

namespace stek::server {

enum class SlotState {
  erased,        // older than e-H: its secret is erased (if it was ever made)
  not_held,      // in the window, but stekd holds no key for it (it started later)
  decrypt_only,  // e-H .. e-1: opens tickets, which are renewed
  encrypting,    // e: seals new tickets
  next,          // e+1: opens tickets (clock skew between hosts), does not seal yet
  pending,       // e+2 .. e+L: handed out ahead, not accepted yet
};

// "erased", "not-held", "decrypt-only", "encrypting", "next", "pending": the CSS class and the
// word the page shows.
std::string_view slot_state_name(SlotState state);

// What the page may say about one epoch's key of a domain: its name (public: every ticket
// carries it) and the domain secret version it came from. Never key bytes.
struct KeyLabel {
  std::string name_hex;
  std::uint32_t secret_version = 0;
};

struct TimelineSlot {
  Epoch first = 0;  // a slot is one epoch, or a run of the oldest decrypt-only epochs when
  Epoch last = 0;   // the window is wider than kMaxTimelineSlots
  SlotState state = SlotState::erased;
  std::optional<KeyLabel> key;  // single-epoch slots whose key is known
};

// Expired epochs shown before the window, so erasure is visible.
inline constexpr Epoch kErasedShown = 2;
// Past this many slots the oldest decrypt-only epochs share one slot (H can be in the
// thousands with a short interval).
inline constexpr std::size_t kMaxTimelineSlots = 48;

// The slots from current-H-kErasedShown to current+L under `schedule` (the served one), as of
// epoch `current`. `held`: the epochs whose secrets stekd holds. `keys`: the domain's keys by
// epoch when known; then a held epoch without a key is not_held too. Empty `keys` and
// `names_known` false: states from `held` alone (host-scoped domains, whose names differ
// per host).
std::vector<TimelineSlot> key_timeline(const Schedule& schedule, Epoch current,
                                       std::optional<EpochRange> held,
                                       const std::map<Epoch, KeyLabel>& keys, bool names_known);

}  // namespace stek::server

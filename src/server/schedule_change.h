// Schedule changes across restarts: the decisions, free of I/O. The state records the schedule
// its secrets were made under; a restart with another history or look-ahead opens a transition
// during which every key live under either schedule is kept (and served), until the last key
// made under the old one has expired by its rules. Another interval renumbers epochs: refused.
#pragma once

#include <optional>
#include <string>

#include "stek/result.h"
#include "stek/schedule.h"

#include "store.h"

namespace stek::server {

// Errc::invalid_argument when `configured` has another interval than the schedule `state`
// records (or, for a state of an earlier release that records none, when the epochs it holds
// do not fit the configured interval). The message says how to change the interval safely.
// `where` names the store for the message.
Status check_interval(const StoreState& state, const ScheduleParams& configured,
                      const std::string& where);

// Each of H and L the larger of the two: what keeps every key live under either.
ScheduleParams wider(const ScheduleParams& a, const ScheduleParams& b);

// The schedule keys are kept and served under at t: the configured one, widened by the
// previous one while its transition lasts (t <= live_until).
ScheduleParams effective_schedule(const ScheduleParams& configured,
                                  const std::optional<PreviousSchedule>& previous, UnixSeconds t);

// The schedule a state of an earlier release (none recorded) was made under, as far as its
// epochs tell: the held epochs reach back H and ahead L from the epoch of its trusted time.
// Its interval is taken to be `configured`'s (check_interval guards that).
ScheduleParams inferred_schedule(const StoreState& state, const ScheduleParams& configured,
                                 UnixSeconds t);

// What the state records after a change from `recorded` (the schedule in force until now)
// to `configured` at t: the previous schedule and how long its keys stay live, or nullopt
// when the configured schedule already keeps every key the old one would (no transition).
// A transition still open at t is folded in: the wider of both, the later deadline.
// `newest_epoch`: the newest epoch secret held, the last key made under `recorded`.
std::optional<PreviousSchedule> transition_after_change(const ScheduleParams& recorded,
                                                        const std::optional<PreviousSchedule>& open,
                                                        const ScheduleParams& configured,
                                                        std::optional<Epoch> newest_epoch,
                                                        UnixSeconds t);

}  // namespace stek::server

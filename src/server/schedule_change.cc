// Schedule changes across restarts: interval check, transition and effective schedule.
#include "schedule_change.h"

#include <algorithm>

namespace stek::server {

namespace {

bool same(const ScheduleParams& a, const ScheduleParams& b) {
  return a.interval == b.interval && a.history == b.history && a.lookahead == b.lookahead;
}

// The last second a key of epoch `last` opens tickets under `p` (Schedule::not_after).
UnixSeconds live_until(const ScheduleParams& p, Epoch last) {
  return (last + p.history + 1) * p.interval - 1;
}

// How to get out of a refused interval change, in every message that refuses one.
constexpr const char* kIntervalAdvice =
    "Epochs are numbered by the interval, so keys made under one cannot be kept under another, "
    "and stekd neither erases them nor mixes them: put the interval they were made with back, "
    "or change it as docs/operating.md, \"Changing the schedule\" describes (a new state: "
    "tickets issued before it stop resuming once)";

}  // namespace

Status check_interval(const StoreState& state, const ScheduleParams& configured,
                      const std::string& where) {
  if (state.schedule) {
    if (state.schedule->interval == configured.interval) return {};
    return make_error(Errc::invalid_argument,
                      where + ": the state's keys were made with schedule.interval = " +
                          std::to_string(state.schedule->interval) + " s, the configuration says " +
                          std::to_string(configured.interval) + " s. " + kIntervalAdvice);
  }
  // A state of an earlier release: its trusted time's epoch under the configured interval
  // must be among the epochs it holds, as it is under the interval they were made with.
  if (state.epoch_secrets.empty() || state.trusted_time == 0) return {};
  const Epoch e = Schedule::make(configured).value().epoch_at(state.trusted_time);
  const Epoch oldest = state.epoch_secrets.begin()->first;
  const Epoch newest = state.epoch_secrets.rbegin()->first;
  if (e >= oldest && e <= newest) return {};
  return make_error(Errc::invalid_argument,
                    where + ": the state holds epochs " + std::to_string(oldest) + ".." +
                        std::to_string(newest) + ", but its last trusted time is epoch " +
                        std::to_string(e) +
                        " under schedule.interval = " + std::to_string(configured.interval) +
                        " s: the keys were made with another interval. " + kIntervalAdvice);
}

ScheduleParams wider(const ScheduleParams& a, const ScheduleParams& b) {
  return {a.interval, std::max(a.history, b.history), std::max(a.lookahead, b.lookahead)};
}

ScheduleParams effective_schedule(const ScheduleParams& configured,
                                  const std::optional<PreviousSchedule>& previous, UnixSeconds t) {
  if (!previous || t > previous->live_until) return configured;
  return wider(configured, previous->params);
}

ScheduleParams inferred_schedule(const StoreState& state, const ScheduleParams& configured,
                                 UnixSeconds t) {
  if (state.epoch_secrets.empty()) return configured;
  const Schedule s = Schedule::make(configured).value();
  const Epoch e = s.epoch_at(state.trusted_time != 0 ? state.trusted_time : t);
  const Epoch oldest = state.epoch_secrets.begin()->first;
  const Epoch newest = state.epoch_secrets.rbegin()->first;
  return {configured.interval, std::max<std::int64_t>(0, e - oldest),
          std::max<std::int64_t>(1, newest - e)};
}

std::optional<PreviousSchedule> transition_after_change(const ScheduleParams& recorded,
                                                        const std::optional<PreviousSchedule>& open,
                                                        const ScheduleParams& configured,
                                                        std::optional<Epoch> newest_epoch,
                                                        UnixSeconds t) {
  std::optional<PreviousSchedule> out;
  if (open && t <= open->live_until) out = open;
  if (newest_epoch && !same(wider(configured, recorded), configured)) {
    const UnixSeconds until = live_until(recorded, *newest_epoch);
    if (!out) {
      out = PreviousSchedule{recorded, until};
    } else {
      out->params = wider(out->params, recorded);
      out->live_until = std::max(out->live_until, until);
    }
  }
  // A transition whose old keys the configured schedule keeps anyway is no transition.
  if (out && (t > out->live_until || same(wider(configured, out->params), configured)))
    return std::nullopt;
  return out;
}

}  // namespace stek::server

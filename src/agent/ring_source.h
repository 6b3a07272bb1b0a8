// RingSource: where the agent's rings come from (stekd's long-poll, or a ring file for
// offline use and tests). The agent asks it for the next ring in a loop; everything the
// agent does with a ring is the same whichever source brought it.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "clock_skew.h"
#include "held_ring.h"

namespace stek::agent {

// What one RingSource::next() brought.
struct RingUpdate {
  enum class Sync {
    none,      // nothing to report (e.g. the ring file is unchanged or unreadable)
    answered,  // the source answered: a new ring or "the held one is current"
    failed,    // a failed sync attempt: counted in stek_agent_sync_failures_total
  };
  Sync sync = Sync::none;
  std::optional<HeldRing> ring;        // newer than the held one and accepted for this domain
  std::string from;                    // where `ring` came from, for the log
  std::chrono::milliseconds pause{0};  // how long to wait before asking again
  std::optional<SkewSample> clock;     // stekd stated its time: for the clock-skew estimate
  // The server this update is about (it answered or failed); empty for other sources.
  std::string server;
  // The server answered keys that contradict the held ring (ring_conflict.h): the answer was
  // refused (sync failed), or its ring taken because the held keys no longer serve. Raises
  // the ring-conflict alarm for `server` until it answers in agreement.
  std::optional<std::string> conflict;
};

class RingSource {
 public:
  virtual ~RingSource() = default;
  // Fetches, or waits for (a long-poll), a ring newer than `held` (none: anything). One
  // attempt per call; failures are logged here and reported in the update, never thrown.
  virtual RingUpdate next(const std::optional<HeldRing>& held) = 0;
  // Ends a wait in flight, if any (on shutdown, from the agent's io_context).
  virtual void cancel() = 0;
  // Where rings come from, one "name: value" line each, for --check-config and the log.
  virtual std::string describe() const = 0;
};

}  // namespace stek::agent

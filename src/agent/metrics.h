// The agent's health in numbers, rendered as Prometheus text for /metrics. Holds counts,
// versions and times only: never key bytes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "stek/schedule.h"

#include "clock_skew.h"

namespace stek::agent {

struct SinkMetrics {
  std::uint64_t writes = 0;    // files written (keys and include/ring files)
  std::uint64_t reloads = 0;   // server reloads requested
  std::uint64_t erasures = 0;  // key files erased
  std::uint64_t failures = 0;  // applies that failed
  std::uint64_t warnings = 0;  // configuration warnings (e.g. ssl_session_timeout too long)
  // Status of the last apply, kept by RingKeeper for every sink alike.
  std::uint64_t applied_version = 0;  // ring version of the last successful apply, 0: none
  UnixSeconds last_success = 0;       // time of the last successful apply, 0: never
  UnixSeconds last_failure = 0;       // time of the last failed apply, 0: never
  bool failing = false;               // the last apply failed: the server may not run the ring
  std::string last_error;             // message of the last failure (no key bytes)
  std::string pid_file_problem;       // reload = "signal": what is wrong with the pid file
};

struct Metrics {
  std::string domain;
  std::uint64_t ring_version = 0;
  Epoch current_epoch = 0;
  std::int64_t runway_seconds = 0;
  UnixSeconds runway_end = 0;  // now + runway_seconds at the last refresh, 0: no key covers now
  std::int64_t interval = 0;   // the held ring's schedule, 0: no ring held
  std::uint64_t keys_held = 0;
  std::uint64_t keys_served = 0;
  bool serving = false;       // a held key covers the current epoch
  UnixSeconds last_sync = 0;  // last good answer from stekd (or ring file), 0: never
  std::uint64_t sync_failures = 0;
  std::uint64_t rings_accepted = 0;
  std::uint64_t keys_erased = 0;                // keys dropped from memory at expiry
  std::uint64_t ring_conflicts = 0;             // answers refused for contradicting the held ring
  std::string ring_conflict;                    // the ring-conflict alarm (/healthz); empty: none
  std::map<std::string, SinkMetrics> sinks;     // by sink name
  std::optional<SkewEstimate> clock_skew;       // none until stekd stated its time
  std::optional<SkewBounds> clock_skew_bounds;  // none until a ring (its schedule) is held
  SkewLevel clock_skew_level = SkewLevel::ok;
};

std::string render_prometheus(const Metrics& m);
// The agent's whole /metrics: render_prometheus, then stek_build_info and the process families
// (src/net/process_metrics.h, read from /proc/self now).
std::string metrics_page(const Metrics& m);

}  // namespace stek::agent

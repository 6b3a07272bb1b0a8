// The agent's clock skew against stekd: estimated from the time stekd states on each keyring
// answer, judged against the bound of docs/design.md (2S + R + C <= I, so S < I/2), and
// alarmed before that bound is reached. Pure: the caller passes in times and logs what
// SkewWatch says should be logged.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "stek/schedule.h"

namespace stek::agent {

// One exchange with stekd. Agent times are this host's wall clock (Clock::now_ms).
struct SkewSample {
  std::int64_t sent_ms = 0;      // the request was sent (or its connection opened)
  std::int64_t received_ms = 0;  // the answer was read
  std::int64_t server_ms = 0;    // stekd's wall clock when it made the answer (X-Stek-Time-Ms)
  std::int64_t held_ms = 0;      // how long stekd held the request (X-Stek-Held-Ms)
};

struct SkewEstimate {
  // stekd's clock minus this host's: positive when this host is behind stekd.
  std::int64_t skew_ms = 0;
  // The true skew is within skew_ms +- uncertainty_ms: half the round trip without the hold.
  std::int64_t uncertainty_ms = 0;
  std::int64_t at_ms = 0;  // when it was measured (this host's clock)
};

// skew = server - (sent + received) / 2 with the hold taken out of the round trip (stekd's
// answer left it somewhere between the request's arrival and the answer's departure); none
// when the host's clock went backwards during the exchange.
std::optional<SkewEstimate> estimate_skew(const SkewSample& sample);

// The skew this host may have under a schedule. The hard bound is I/2: with 2S + R + C <= I
// and no reload or agent downtime, a host further off than I/2 than stekd (and so possibly
// I from another host) is beyond every margin. The warning comes at half of it, I/4, which
// leaves the other half of the interval for reloads and agent downtime (R + C <= I/2).
struct SkewBounds {
  double limit_seconds = 0;  // I / 2: /healthz fails beyond it
  double warn_seconds = 0;   // I / 4: a warning beyond it
};
SkewBounds skew_bounds(const Schedule& schedule);

enum class SkewLevel {
  ok,
  warn,   // the skew may be beyond warn_seconds: |skew| + uncertainty > warn
  alarm,  // the skew is certainly beyond the limit: |skew| - uncertainty > limit
};
SkewLevel skew_level(const SkewEstimate& estimate, const SkewBounds& bounds);

// "this host's clock is 45.002 s ahead of stekd's (+- 0.001 s)", for logs and /healthz.
std::string describe_skew(const SkewEstimate& estimate);

// "clock skew: <describe_skew>, beyond the bound of 30 s (half the interval)", for /healthz.
std::string skew_alarm_text(const SkewEstimate& estimate, const SkewBounds& bounds);

// What to log: the level and one line of text.
struct SkewNotice {
  SkewLevel level = SkewLevel::ok;
  std::string text;
};

// Keeps the latest estimate and its level under the held ring's schedule, and rate-limits the
// log: a level worse than the one last logged is logged at once, anything else (a repeat, a
// milder level, the return to normal) at most once per kLogEvery.
class SkewWatch {
 public:
  static constexpr std::int64_t kLogEveryMs = 10 * 60 * 1000;

  // A new exchange; the latest estimate replaces the previous one.
  void observe(const SkewSample& sample);
  // Judges the latest estimate under `schedule` at `now_ms` (none: no ring held, so no
  // bound is known) and returns the line to log now, if any.
  std::optional<SkewNotice> evaluate(const Schedule* schedule, std::int64_t now_ms);

  const std::optional<SkewEstimate>& estimate() const { return estimate_; }
  const std::optional<SkewBounds>& bounds() const { return bounds_; }
  SkewLevel level() const { return level_; }

 private:
  std::optional<SkewEstimate> estimate_;
  std::optional<SkewBounds> bounds_;
  SkewLevel level_ = SkewLevel::ok;
  SkewLevel logged_level_ = SkewLevel::ok;
  std::optional<std::int64_t> logged_at_ms_;
};

}  // namespace stek::agent

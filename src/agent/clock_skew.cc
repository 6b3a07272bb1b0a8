// Clock skew: the estimate from one exchange, the bounds of a schedule, and the log decisions.
#include "clock_skew.h"

#include <algorithm>
#include <cstdio>

namespace stek::agent {

namespace {

std::string seconds_text(double seconds) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.3f", seconds);
  return buf;
}

std::string bound_text(double seconds) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%g", seconds);
  return buf;
}

}  // namespace

std::optional<SkewEstimate> estimate_skew(const SkewSample& s) {
  const std::int64_t round_trip = s.received_ms - s.sent_ms;
  if (round_trip < 0) return std::nullopt;
  // stekd held the request at most as long as the whole exchange took here; more means the
  // two clocks ran at different rates meanwhile (a step): the hold is then all of it.
  const std::int64_t held = std::clamp<std::int64_t>(s.held_ms, 0, round_trip);
  // stekd read the request at server_ms - held and answered at server_ms; in this host's
  // time the first happened after sent_ms and the second before received_ms. Their midpoints
  // line up when the network delay is the same both ways; any asymmetry is at most the
  // network part of the round trip, halved.
  SkewEstimate e;
  const std::int64_t twice = 2 * s.server_ms - held - s.sent_ms - s.received_ms;
  e.skew_ms = twice >= 0 ? (twice + 1) / 2 : -((-twice + 1) / 2);
  e.uncertainty_ms = (round_trip - held + 1) / 2;
  e.at_ms = s.received_ms;
  return e;
}

SkewBounds skew_bounds(const Schedule& schedule) {
  const double interval = static_cast<double>(schedule.interval());
  return {interval / 2, interval / 4};
}

SkewLevel skew_level(const SkewEstimate& estimate, const SkewBounds& bounds) {
  const double skew =
      static_cast<double>(estimate.skew_ms < 0 ? -estimate.skew_ms : estimate.skew_ms) / 1000;
  const double uncertainty = static_cast<double>(estimate.uncertainty_ms) / 1000;
  // /healthz fails only on a skew the measurement proves, so a slow answer on a loaded host
  // cannot fail it; the warning comes on a skew the measurement cannot rule out.
  if (skew - uncertainty > bounds.limit_seconds) return SkewLevel::alarm;
  if (skew + uncertainty > bounds.warn_seconds) return SkewLevel::warn;
  return SkewLevel::ok;
}

std::string describe_skew(const SkewEstimate& e) {
  const double skew = static_cast<double>(e.skew_ms) / 1000;
  const double uncertainty = static_cast<double>(e.uncertainty_ms) / 1000;
  return "this host's clock is " + seconds_text(skew < 0 ? -skew : skew) + " s " +
         (skew > 0 ? "behind" : "ahead of") + " stekd's (+- " + seconds_text(uncertainty) + " s)";
}

std::string skew_alarm_text(const SkewEstimate& estimate, const SkewBounds& bounds) {
  return "clock skew: " + describe_skew(estimate) + ", beyond the bound of " +
         bound_text(bounds.limit_seconds) + " s (half the interval)";
}

void SkewWatch::observe(const SkewSample& sample) {
  if (auto e = estimate_skew(sample)) estimate_ = *e;
}

std::optional<SkewNotice> SkewWatch::evaluate(const Schedule* schedule, std::int64_t now_ms) {
  if (schedule) bounds_ = skew_bounds(*schedule);
  level_ = estimate_ && bounds_ ? skew_level(*estimate_, *bounds_) : SkewLevel::ok;
  if (level_ == SkewLevel::ok && logged_level_ == SkewLevel::ok) return std::nullopt;
  const bool worse = level_ > logged_level_;
  const bool due = !logged_at_ms_ || now_ms - *logged_at_ms_ >= kLogEveryMs;
  if ((!worse && !due) || !estimate_ || !bounds_) return std::nullopt;
  logged_level_ = level_;
  logged_at_ms_ = now_ms;

  SkewNotice notice{level_, "clock skew: " + describe_skew(*estimate_)};
  const std::string limit = bound_text(bounds_->limit_seconds);
  switch (level_) {
    case SkewLevel::alarm:
      notice.text = skew_alarm_text(*estimate_, *bounds_) +
                    ", docs/design.md: hosts of this domain may refuse each other's tickets; "
                    "correct this host's clock (NTP)";
      break;
    case SkewLevel::warn:
      notice.text += ", more than half of the bound of " + limit +
                     " s (half the interval, docs/design.md); check this host's NTP";
      break;
    case SkewLevel::ok:
      notice.text += ", back within half of the bound of " + limit + " s";
      break;
  }
  return notice;
}

}  // namespace stek::agent

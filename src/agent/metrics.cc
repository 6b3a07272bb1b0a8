// The agent's metrics in Prometheus text (src/net/prometheus.h renders and escapes).
#include "metrics.h"

#include "process_metrics.h"
#include "prometheus.h"

namespace stek::agent {

using net::MetricType;

std::string render_prometheus(const Metrics& m) {
  net::PrometheusText out;
  auto metric = [&](std::string_view name, MetricType type, std::string_view help, auto value) {
    out.family(name, type, help);
    out.sample(name, {{"domain", m.domain}}, value);
  };
  metric("stek_agent_ring_version", MetricType::gauge, "Version of the ring this agent holds.",
         m.ring_version);
  metric("stek_agent_current_epoch", MetricType::gauge, "Epoch this agent serves now.",
         m.current_epoch);
  metric("stek_agent_runway_seconds", MetricType::gauge,
         "Seconds this agent can keep rotating on held keys without stekd.", m.runway_seconds);
  metric("stek_agent_serving", MetricType::gauge, "1 when a held key covers the current epoch.",
         m.serving ? 1 : 0);
  metric("stek_agent_keys_held", MetricType::gauge, "Keys held in memory.", m.keys_held);
  metric("stek_agent_keys_served", MetricType::gauge, "Keys given to servers (all roles).",
         m.keys_served);
  metric("stek_agent_last_sync_timestamp_seconds", MetricType::gauge,
         "Unix time of the last good answer from stekd, 0 if none.", m.last_sync);
  metric("stek_agent_sync_failures_total", MetricType::counter,
         "Failed attempts to sync with stekd.", m.sync_failures);
  metric("stek_agent_rings_accepted_total", MetricType::counter, "New ring versions accepted.",
         m.rings_accepted);
  metric("stek_agent_keys_erased_total", MetricType::counter, "Expired keys erased from memory.",
         m.keys_erased);
  struct Field {
    const char* name;
    MetricType type;
    const char* help;
    std::uint64_t SinkMetrics::*member;
  };
  static constexpr Field kFields[] = {
      {"stek_agent_sink_writes_total", MetricType::counter, "Files a sink wrote.",
       &SinkMetrics::writes},
      {"stek_agent_sink_reloads_total", MetricType::counter, "Server reloads a sink requested.",
       &SinkMetrics::reloads},
      {"stek_agent_sink_erasures_total", MetricType::counter, "Key files a sink erased.",
       &SinkMetrics::erasures},
      {"stek_agent_sink_failures_total", MetricType::counter, "Sink updates that failed.",
       &SinkMetrics::failures},
      {"stek_agent_sink_warnings", MetricType::gauge, "Configuration warnings of a sink's server.",
       &SinkMetrics::warnings},
  };
  for (const Field& f : kFields) {
    out.family(f.name, f.type, f.help);
    for (const auto& [name, s] : m.sinks) out.sample(f.name, {{"sink", name}}, s.*(f.member));
  }
  // Each sink's status (RingKeeper keeps it alike for every sink); the error's text is on
  // /healthz, not in a label.
  auto per_sink = [&](std::string_view name, std::string_view help, auto value) {
    out.family(name, MetricType::gauge, help);
    for (const auto& [sink, s] : m.sinks) out.sample(name, {{"sink", sink}}, value(s));
  };
  per_sink("stek_agent_sink_applied_ring_version",
           "Ring version of the sink's last successful apply, 0 if none.",
           [](const SinkMetrics& s) { return s.applied_version; });
  per_sink("stek_agent_sink_last_success_timestamp_seconds",
           "Unix time of the sink's last successful apply, 0 if never.",
           [](const SinkMetrics& s) { return s.last_success; });
  per_sink("stek_agent_sink_last_failure_timestamp_seconds",
           "Unix time of the sink's last failed apply, 0 if never.",
           [](const SinkMetrics& s) { return s.last_failure; });
  per_sink("stek_agent_sink_failing",
           "1 while the sink's last apply failed (/healthz fails), else 0.",
           [](const SinkMetrics& s) { return s.failing ? 1 : 0; });
  per_sink("stek_agent_sink_pid_file_problem",
           "1 when the pid file a signal reload needs is missing, unparsable or stale.",
           [](const SinkMetrics& s) { return s.pid_file_problem.empty() ? 0 : 1; });
  // Clock skew against stekd (clock_skew.h): the estimate once stekd stated its time, the
  // bound once a ring's schedule is held.
  if (m.clock_skew) {
    metric("stek_agent_clock_skew_seconds", MetricType::gauge,
           "stekd's clock minus this host's, as last measured (positive: this host is behind).",
           static_cast<double>(m.clock_skew->skew_ms) / 1000);
    metric("stek_agent_clock_skew_uncertainty_seconds", MetricType::gauge,
           "The measured skew is within this much of the true one (half the network round trip).",
           static_cast<double>(m.clock_skew->uncertainty_ms) / 1000);
  }
  if (m.clock_skew_bounds) {
    metric("stek_agent_clock_skew_limit_seconds", MetricType::gauge,
           "The largest skew allowed (interval / 2); a warning beyond half of it.",
           m.clock_skew_bounds->limit_seconds);
  }
  metric("stek_agent_clock_skew_alarm", MetricType::gauge,
         "0: skew within half the limit; 1: it may be beyond half the limit (warning); "
         "2: it is beyond the limit (/healthz fails).",
         static_cast<int>(m.clock_skew_level));
  // Added after the families above (issue 12): the split-brain guard (ring_conflict.h).
  metric("stek_agent_ring_conflicts_total", MetricType::counter,
         "Answers whose keys contradict the held ring (split brain between key servers).",
         m.ring_conflicts);
  // Added after the families above (issue 14): the runway as the time it ends, which stays true
  // between refreshes (stek_agent_runway_seconds is as of the last one), and the interval that
  // alert rules compare it with.
  metric("stek_agent_runway_end_timestamp_seconds", MetricType::gauge,
         "Unix time at which the held keys run out (the end of the last epoch held without a "
         "gap from the current one), 0 if no held key covers the current epoch.",
         m.runway_end);
  if (m.interval > 0) {
    metric("stek_agent_interval_seconds", MetricType::gauge,
           "Epoch length of the held ring's schedule, in seconds.", m.interval);
  }
  return out.text();
}

std::string metrics_page(const Metrics& m) {
  return render_prometheus(m) + net::process_metrics_text("stek-agent");
}

}  // namespace stek::agent

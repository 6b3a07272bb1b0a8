// stekd's /metrics (the status page is status_page.cc).
#include "status_render.h"

#include "prometheus.h"

namespace stek::server {

std::string render_server_metrics(const ServerStatus& s, const TransportStats& transport) {
  using net::MetricType;
  net::PrometheusText m;
  m.single("stek_up", MetricType::gauge, "1 when the current epoch's secret exists",
           s.healthy ? 1 : 0);
  m.single("stek_current_epoch", MetricType::gauge, "Current epoch number", s.epoch);
  m.single("stek_epoch_secrets_held", MetricType::gauge,
           "Epoch secrets held (history + current + lookahead)", s.epoch_secrets_held);
  m.single("stek_domains", MetricType::gauge, "Configured domains", s.domains.size());
  m.single("stek_agents_known", MetricType::gauge, "Agents seen since start", s.agent_counts.known);
  m.single("stek_agents_connected", MetricType::gauge, "Agents with an open connection",
           s.agent_counts.connected);
  m.single("stek_agents_stale", MetricType::gauge,
           "Agents not seen recently or without the current key", s.agent_counts.stale);
  m.single("stek_connections_open", MetricType::gauge, "Open client connections",
           transport.connections_open);
  m.single("stek_connections_unauthenticated", MetricType::gauge,
           "Open connections without a verified identity yet (limits.max_unauthenticated)",
           transport.connections_unauthenticated);
  m.single("stek_unauthenticated_dropped_total", MetricType::counter,
           "Connections without an identity closed to make room for newer ones",
           transport.unauthenticated_dropped);
  m.single("stek_long_polls_waiting", MetricType::gauge, "Long polls parked until a ring changes",
           s.long_polls_waiting);
  m.single("stek_accept_paused", MetricType::gauge,
           "1 while accepting connections is paused (out of file descriptors or memory)",
           transport.accept_paused ? 1 : 0);
  m.single("stek_accept_failures_total", MetricType::counter,
           "Accepts that failed for lack of file descriptors or memory (each pausing the "
           "accept loop, 50 ms growing to 1 s)",
           transport.accept_failures);
  m.single("stek_erasures_total", MetricType::counter, "Secrets erased", s.erasures_total);
  m.single("stek_audit_failures_total", MetricType::counter,
           "Audit events that could not be written (their actions were refused)",
           s.audit_failures_total);
  m.single("stek_audit_failing", MetricType::gauge, "1 while the audit log cannot be written",
           s.audit_failing ? 1 : 0);
  m.single("stek_clock_step_alarm", MetricType::gauge,
           "1 while a wall-clock step larger than schedule.max_clock_step is refused",
           s.clock_step_alarm ? 1 : 0);
  m.single("stek_clock_offset_seconds", MetricType::gauge,
           "Wall clock minus the time stekd trusts, at the last maintenance", s.clock_offset);
  m.single("stek_clock_steps_refused_total", MetricType::counter,
           "Maintenance rounds that refused the wall clock's time", s.clock_steps_refused);
  m.family("stek_requests_total", MetricType::counter, "Requests answered, by HTTP status");
  for (const auto& [status, n] : transport.requests_by_status) {
    m.sample("stek_requests_total", {{"status", std::to_string(status)}}, n);
  }
  m.family("stek_ring_version", MetricType::gauge, "Current ring version per domain");
  for (const DomainStatus& d : s.domains) {
    m.sample("stek_ring_version", {{"domain", d.name}}, d.ring_version);
  }
  // For the alert rules (contrib/observability/stek-alerts.yml): health as /healthz answers it,
  // the interval, and the erasure deadline as a timestamp to compare with time().
  m.single("stek_healthy", MetricType::gauge,
           "1 while /healthz answers 200 (current key held, audit writable, clock trusted, etcd "
           "usable), else 0",
           s.health_failing ? 0 : 1);
  m.single("stek_schedule_interval_seconds", MetricType::gauge,
           "Configured epoch length I in seconds", s.schedule.interval);
  if (s.erase_due) {
    m.single("stek_epoch_secret_erase_due_timestamp_seconds", MetricType::gauge,
             "Unix time by which the oldest epoch secret held must be erased (the end of its "
             "decrypt window); in the past means erasure is overdue",
             *s.erase_due);
  }
  return m.text();
}

}  // namespace stek::server

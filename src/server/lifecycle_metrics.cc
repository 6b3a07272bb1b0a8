// stekd's health, interval and erasure deadline for /metrics.
#include "lifecycle_metrics.h"

#include "prometheus.h"

namespace stek::server {

LifecycleFigures lifecycle_figures(const KeyService& keys, bool healthy) {
  LifecycleFigures f;
  f.healthy = healthy;
  f.interval = keys.schedule().interval();
  if (const auto held = keys.epochs_held()) {
    const Schedule& served = keys.served_schedule();
    f.erase_due = served.epoch_start(held->first + served.history() + 1);
  }
  return f;
}

std::string render_lifecycle_metrics(const LifecycleFigures& f) {
  using net::MetricType;
  net::PrometheusText m;
  m.single("stek_healthy", MetricType::gauge,
           "1 while /healthz answers 200 (current key held, audit writable, clock trusted, etcd "
           "usable), else 0",
           f.healthy ? 1 : 0);
  m.single("stek_schedule_interval_seconds", MetricType::gauge,
           "Configured epoch length I in seconds", f.interval);
  if (f.erase_due) {
    m.single("stek_epoch_secret_erase_due_timestamp_seconds", MetricType::gauge,
             "Unix time by which the oldest epoch secret held must be erased (the end of its "
             "decrypt window); in the past means erasure is overdue",
             *f.erase_due);
  }
  return m.text();
}

}  // namespace stek::server

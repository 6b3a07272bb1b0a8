// Composition of stekd's network parts, and the epoch-boundary maintenance timer.
#include "key_server.h"

#include <spdlog/spdlog.h>

#include "server_status.h"
#include "status_render.h"

namespace stek::server {

KeyServer::KeyServer(boost::asio::io_context& io, ServerConfig config, KeyService& keys,
                     const Clock& clock, AuditSink& audit)
    : config_(std::move(config)),
      keys_(keys),
      clock_(clock),
      io_(io),
      agents_(clock, config_.connections_per_identity, config_.stale_after),
      waits_([this](ConnectionId id) { transport_.wake(id); }),
      keyring_(keys, agents_, waits_, clock, config_.long_poll_timeout),
      admin_(keys, agents_, waits_, audit, clock),
      router_(keys, agents_, waits_, keyring_, admin_),
      transport_(io, router_,
                 TransportLimits{.max_connections = config_.max_connections,
                                 .header_bytes = config_.header_bytes,
                                 .body_bytes = config_.body_bytes}),
      maintenance_(io) {}

Status KeyServer::start() {
  STEK_TRY(
      transport_.start(config_.listen, {config_.tls_cert, config_.tls_key, config_.tls_client_ca}));
  spdlog::info("listening on {}:{} (agents and admins, mutual TLS)", config_.listen.host,
               transport_.port());
  if (config_.metrics_listen) {
    STEK_ASSIGN_OR_RETURN(
        metrics_, net::MetricsListener::start(io_, config_.metrics_listen->host,
                                              config_.metrics_listen->port, metrics_endpoints()));
    spdlog::info("metrics on http://{}:{}/metrics", config_.metrics_listen->host, metrics_->port());
  }
  schedule_maintenance();
  return {};
}

net::MetricsEndpoints KeyServer::metrics_endpoints() {
  return {
      .metrics =
          [this] {
            return render_server_metrics(collect_status(keys_, agents_, clock_.now()),
                                         transport_.stats());
          },
      .health =
          [this] {
            const ClockGuard& guard = keys_.clock_guard();
            if (guard.alarmed()) {
              return net::HealthReport{false, "clock step refused: wall clock " +
                                                  std::to_string(guard.offset()) +
                                                  " s off the trusted time (bound " +
                                                  std::to_string(guard.max_step()) + " s)"};
            }
            return keys_.healthy(clock_.now())
                       ? net::HealthReport{true, "ok"}
                       : net::HealthReport{false, "no key for the current epoch"};
          },
      .status_page =
          [this] { return render_status_page(collect_status(keys_, agents_, clock_.now())); },
  };
}

void KeyServer::stop() {
  stopping_ = true;
  transport_.stop();
  if (metrics_) metrics_->stop();
  maintenance_.cancel();
}

void KeyServer::schedule_maintenance() {
  if (stopping_) return;
  // Wake at the next boundary, and at least every 30 s so a stepped clock is noticed.
  maintenance_.expires_after(
      until_next_boundary(keys_.schedule(), clock_, std::chrono::seconds(30)));
  maintenance_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    maintain_now();
    schedule_maintenance();
  });
}

void KeyServer::maintain_now() {
  const Epoch before = keys_.current_epoch();
  auto changed = keys_.maintain(clock_.now(), clock_.elapsed_ms());
  if (!changed.ok()) {
    spdlog::error("key maintenance failed: {}", changed.error().message);
    return;
  }
  if (keys_.current_epoch() != before || *changed) {
    spdlog::info("epoch {}: rings advanced, waking {} waiting agents", keys_.current_epoch(),
                 waits_.size());
    waits_.all_rings_changed();
  }
}

}  // namespace stek::server

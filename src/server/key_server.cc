// Composition of stekd's network parts, and the epoch-boundary maintenance timer.
#include "key_server.h"

#include <spdlog/spdlog.h>

#include "process_metrics.h"
#include "server_status.h"
#include "status_render.h"

namespace stek::server {

KeyServer::KeyServer(boost::asio::io_context& io, ServerConfig config, KeyService& keys,
                     DenyStore& denied, const Clock& clock, AuditSink& audit)
    : config_(std::move(config)),
      keys_(keys),
      clock_(clock),
      audit_(audit),
      io_(io),
      denied_(denied),
      agents_(clock, config_.connections_per_identity, config_.stale_after),
      waits_([this](ConnectionId id) { transport_.wake(id); }),
      keyring_(keys, agents_, waits_, clock, config_.long_poll_timeout, audit),
      admin_(keys, agents_, waits_, audit, clock, denied_,
             [this](const std::string& host) { router_.end_polls_of(host); }),
      router_(keys, agents_, waits_, keyring_, admin_, denied_, audit),
      transport_(
          io, router_,
          TransportLimits{.max_connections = config_.max_connections,
                          .max_unauthenticated = config_.max_unauthenticated,
                          .header_bytes = config_.header_bytes,
                          .body_bytes = config_.body_bytes,
                          .handshake_timeout = std::chrono::seconds(config_.handshake_timeout)}),
      maintenance_(io) {}

Status KeyServer::start() {
  STEK_TRY(denied_.reload());
  if (!denied_.hosts().empty()) {
    spdlog::info("{} hosts on the deny-list ({})", denied_.hosts().size(), denied_.describe());
  }
  transport_.on_revoked([this](const Peer& peer) {
    const std::string who = peer.identity ? peer.identity->key() : "unidentified";
    spdlog::warn("closed the connection of {} from {}: its certificate is revoked", who,
                 peer.address);
    // The connection is closed whether or not the line can be written.
    (void)audit_.record("connection_revoked",
                        {{"identity", who}, {"peer", peer.address}, {"serial", peer.serial}});
  });
  STEK_TRY(transport_.start(
      config_.listen, {config_.tls_cert, config_.tls_key, config_.tls_client_ca, config_.tls_crl}));
  spdlog::info("listening on {}:{} (agents and admins, mutual TLS)", config_.listen.host,
               transport_.port());
  if (config_.metrics_listen) {
    STEK_ASSIGN_OR_RETURN(
        metrics_, net::MetricsListener::start(io_, config_.metrics_listen->host,
                                              config_.metrics_listen->port, metrics_endpoints()));
    spdlog::info("metrics on http://{}:{}/metrics", config_.metrics_listen->host, metrics_->port());
  }
  // A boundary may have passed since the keys were loaded (a slow start): maintain now, or the
  // new epoch's look-ahead key would wait for the next boundary.
  maintain_now();
  schedule_maintenance();
  return {};
}

net::MetricsEndpoints KeyServer::metrics_endpoints() {
  return {
      .metrics =
          [this] {
            return render_server_metrics(snapshot(), transport_.stats()) +
                   net::process_metrics_text("stekd");
          },
      .health = [this] { return health(); },
      .status_page =
          [this] {
            ServerStatus status = snapshot();
            add_key_labels(status, keys_);
            return render_status_page(status);
          },
  };
}

ServerStatus KeyServer::snapshot() const {
  ServerStatus status = collect_status(keys_, agents_, clock_.now(), &audit_);
  status.long_polls_waiting = waits_.size();
  const net::HealthReport report = health();
  status.health_text = report.text;
  status.health_failing = !report.healthy;
  return status;
}

net::HealthReport KeyServer::health() const {
  if (audit_.failing()) return {false, "the audit log cannot be written"};
  const ClockGuard& guard = keys_.clock_guard();
  if (guard.alarmed()) {
    return {false, "clock step refused: wall clock " + std::to_string(guard.offset()) +
                       " s off the trusted time (bound " + std::to_string(guard.max_step()) +
                       " s)"};
  }
  if (replica_.problem) {
    if (auto problem = replica_.problem()) return {false, *problem};
  }
  const std::string role = replica_.role ? " (etcd " + replica_.role() + ")" : "";
  return keys_.healthy(clock_.now())
             ? net::HealthReport{true, "ok" + role}
             : net::HealthReport{false, "no key for the current epoch" + role};
}

void KeyServer::stop() {
  stopping_ = true;
  transport_.stop();
  if (metrics_) metrics_->stop();
  maintenance_.cancel();
}

void KeyServer::reload() {
  if (auto ok = transport_.reload_trust(true); !ok.ok()) {
    spdlog::error("SIGHUP: client CA or CRL reload failed, keeping the previous ones: {}",
                  ok.error().message);
  }
  if (auto ok = denied_.reload(); !ok.ok()) {
    spdlog::error("SIGHUP: deny-list reload failed, keeping the previous one: {}",
                  ok.error().message);
    return;
  }
  // Hosts the file now denies lose their open long polls too.
  for (const auto& host : denied_.hosts()) router_.end_polls_of(host);
  spdlog::info("SIGHUP: client CA, CRLs and deny-list reloaded ({} hosts denied)",
               denied_.hosts().size());
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

void KeyServer::reload_state() {
  auto changed = keys_.refresh(clock_.now(), clock_.elapsed_ms(), true);
  if (!changed.ok()) {
    spdlog::error("reloading the state failed: {}", changed.error().message);
    return;
  }
  if (*changed) {
    spdlog::info("state changed in the store: waking {} waiting agents", waits_.size());
    waits_.all_rings_changed();
  }
}

bool KeyServer::reload_denied() {
  auto added = denied_.refresh();
  if (!added.ok()) {
    spdlog::error("reading the deny-list failed, keeping the one held: {}", added.error().message);
    return false;
  }
  for (const std::string& host : *added) {
    spdlog::warn("host {} denied on another replica: it gets 403 on every request from now on",
                 host);
    router_.end_polls_of(host);
  }
  return true;
}

void KeyServer::maintain_now() {
  const Epoch before = keys_.current_epoch();
  // A replica that does not lead makes and erases nothing: it only moves on with the clock.
  const bool follower = replica_.leads && !replica_.leads();
  auto changed = follower ? keys_.refresh(clock_.now(), clock_.elapsed_ms(), false)
                          : keys_.maintain(clock_.now(), clock_.elapsed_ms());
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

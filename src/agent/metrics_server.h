// The agent's plain-HTTP /metrics, /healthz and / (status page) port: the shared listener of
// src/net (metrics_listener.h) bound to the agent's metrics_listen address.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "stek/result.h"

#include "config.h"
#include "metrics_listener.h"

namespace stek::agent {

using HealthReport = net::HealthReport;

class MetricsServer {
 public:
  using Render = std::function<std::string()>;
  using Health = std::function<HealthReport()>;

  // Binds at once (so a bad address is a start-up error) and serves from `io`. `page`: the
  // HTML of GET / (status_page.h).
  static Result<std::unique_ptr<MetricsServer>> start(boost::asio::io_context& io,
                                                      const ListenAddress& address, Render render,
                                                      Health health, Render page);
  // The bound port (useful with port 0).
  std::uint16_t port() const { return listener_->port(); }

 private:
  explicit MetricsServer(std::unique_ptr<net::MetricsListener> listener)
      : listener_(std::move(listener)) {}
  std::unique_ptr<net::MetricsListener> listener_;
};

}  // namespace stek::agent

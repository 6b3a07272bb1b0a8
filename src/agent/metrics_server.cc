// The agent's metrics port: /metrics, /healthz and the status page.
#include "metrics_server.h"

namespace stek::agent {

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(boost::asio::io_context& io,
                                                            const ListenAddress& address,
                                                            Render render, Health health,
                                                            Render page) {
  auto listener = net::MetricsListener::start(
      io, address.host, address.port, {std::move(render), std::move(health), std::move(page)});
  if (!listener.ok()) {
    return make_error(listener.error().code, "metrics_listen: " + listener.error().message);
  }
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(listener).value()));
}

}  // namespace stek::agent

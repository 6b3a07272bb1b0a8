// The agent's metrics port: /metrics and /healthz, no status page.
#include "metrics_server.h"

namespace stek::agent {

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(boost::asio::io_context& io,
                                                            const ListenAddress& address,
                                                            Render render, Health health) {
  auto listener = net::MetricsListener::start(io, address.host, address.port,
                                              {std::move(render), std::move(health), {}});
  if (!listener.ok()) {
    return make_error(listener.error().code, "metrics_listen: " + listener.error().message);
  }
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(listener).value()));
}

}  // namespace stek::agent

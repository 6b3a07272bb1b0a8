// A small plain-HTTP listener for /metrics (Prometheus text) and /healthz, running on the
// agent's io_context. It serves numbers only; keys never pass through it.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "stek/result.h"

#include "config.h"

namespace boost::asio {
class io_context;
}

namespace stek::agent {

struct HealthReport {
  bool healthy;
  std::string text;
};

class MetricsServer {
 public:
  using Render = std::function<std::string()>;
  using Health = std::function<HealthReport()>;

  // Binds at once (so a bad address is a start-up error) and serves from `io`.
  static Result<std::unique_ptr<MetricsServer>> start(boost::asio::io_context& io,
                                                      const ListenAddress& address, Render render,
                                                      Health health);
  ~MetricsServer();
  // The bound port (useful with port 0).
  std::uint16_t port() const;

 private:
  struct Impl;
  explicit MetricsServer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace stek::agent

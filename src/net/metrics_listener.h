// A plain-HTTP listener for numbers only, shared by stekd and stek-agent: GET /metrics
// (Prometheus text), GET /healthz and, when given, GET / (a status page for people). One
// short request per connection, bounded in time and count. Keys never pass through it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "stek/result.h"

namespace boost::asio {
class io_context;
}

namespace stek::net {

struct HealthReport {
  bool healthy;
  std::string text;  // one line, without the newline
};

struct MetricsEndpoints {
  std::function<std::string()> metrics;      // GET /metrics
  std::function<HealthReport()> health;      // GET /healthz: 200 when healthy, else 503
  std::function<std::string()> status_page;  // GET /: HTML; empty: no page
};

struct PlainReply {
  unsigned status = 200;
  std::string content_type;
  std::string body;
};

// The answer to one request (query strings are ignored), without sockets.
PlainReply route_metrics_request(const MetricsEndpoints& endpoints, std::string_view method,
                                 std::string_view target);

class MetricsListener {
 public:
  // Binds at once (so a bad address is a start-up error) and serves from `io`.
  static Result<std::unique_ptr<MetricsListener>> start(boost::asio::io_context& io,
                                                        const std::string& host, std::uint16_t port,
                                                        MetricsEndpoints endpoints);
  // Stops: closes the acceptor and every open connection; no endpoint is called afterwards.
  ~MetricsListener();
  void stop();
  // The bound port (useful with port 0).
  std::uint16_t port() const;

 private:
  class State;
  explicit MetricsListener(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace stek::net

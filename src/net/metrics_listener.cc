// The metrics listener on Boost.Beast: one request per connection, then close.
#include "metrics_listener.h"

#include <set>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "accept_backoff.h"

namespace stek::net {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

// Scrapers and health checks open a connection or two; more is a misbehaving client.
constexpr std::size_t kMaxConnections = 16;
constexpr auto kRequestTimeout = std::chrono::seconds(5);
constexpr std::string_view kText = "text/plain; charset=utf-8";

}  // namespace

PlainReply route_metrics_request(const MetricsEndpoints& endpoints, std::string_view method,
                                 std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  if (method != "GET") return {405, std::string(kText), "GET only\n"};
  if (path == "/metrics") {
    return {200, "text/plain; version=0.0.4; charset=utf-8", endpoints.metrics()};
  }
  if (path == "/healthz") {
    HealthReport h = endpoints.health();
    return {h.healthy ? 200u : 503u, std::string(kText), h.text + "\n"};
  }
  if (path == "/" && endpoints.status_page) {
    return {200, "text/html; charset=utf-8", endpoints.status_page()};
  }
  return {404, std::string(kText),
          endpoints.status_page ? "not found: /, /metrics and /healthz only\n"
                                : "not found: /metrics and /healthz only\n"};
}

class MetricsListener::State : public std::enable_shared_from_this<State> {
 public:
  State(asio::io_context& io, MetricsEndpoints endpoints)
      : acceptor(io), io_(io), endpoints_(std::move(endpoints)), accept_timer_(io) {}

  void accept() {
    acceptor.async_accept([self = shared_from_this()](error_code ec, tcp::socket socket) {
      if (self->stopped_) return;
      if (ec) return self->accept_failed(ec);
      self->backoff_.succeeded();
      self->serve(std::move(socket));
      self->accept();
    });
  }

  // Out of descriptors: pause instead of spinning (accept_backoff.h); the program's own
  // listener logs the episode.
  void accept_failed(error_code ec) {
    const auto pause = backoff_.failed(ec.value());
    if (pause.delay.count() == 0) return accept();
    accept_timer_.expires_after(pause.delay);
    accept_timer_.async_wait([self = shared_from_this()](error_code timer_ec) {
      if (!timer_ec && !self->stopped_) self->accept();
    });
  }

  void stop() {
    stopped_ = true;
    error_code ignored;
    acceptor.close(ignored);
    accept_timer_.cancel();
    for (const auto& c : std::set(connections_)) close(c);
  }

  tcp::acceptor acceptor;

 private:
  struct Connection {
    explicit Connection(asio::io_context& io) : socket(io), timer(io) {}
    tcp::socket socket;
    asio::steady_timer timer;
    boost::beast::flat_buffer buffer;
    http::request<http::empty_body> request;
    http::response<http::string_body> response;
  };
  using ConnectionPtr = std::shared_ptr<Connection>;

  void serve(tcp::socket socket) {
    if (connections_.size() >= kMaxConnections) return;  // closing the socket refuses it
    auto c = std::make_shared<Connection>(io_);
    c->socket = std::move(socket);
    connections_.insert(c);
    c->timer.expires_after(kRequestTimeout);
    c->timer.async_wait([self = shared_from_this(), c](error_code ec) {
      if (!ec) self->close(c);
    });
    http::async_read(c->socket, c->buffer, c->request,
                     [self = shared_from_this(), c](error_code ec, std::size_t) {
                       if (ec || self->stopped_) return self->close(c);
                       self->respond(c);
                     });
  }

  void respond(const ConnectionPtr& c) {
    const auto method = c->request.method_string();
    const auto target = c->request.target();
    PlainReply reply =
        route_metrics_request(endpoints_, std::string_view(method.data(), method.size()),
                              std::string_view(target.data(), target.size()));
    auto& res = c->response;
    res.version(11);
    res.keep_alive(false);
    res.result(reply.status);
    res.set(http::field::content_type, reply.content_type);
    res.set(http::field::cache_control, "no-store");
    res.body() = std::move(reply.body);
    res.prepare_payload();
    http::async_write(c->socket, res,
                      [self = shared_from_this(), c](error_code, std::size_t) { self->close(c); });
  }

  void close(const ConnectionPtr& c) {
    error_code ignored;
    c->socket.shutdown(tcp::socket::shutdown_both, ignored);
    c->socket.close(ignored);
    c->timer.cancel();
    connections_.erase(c);
  }

  asio::io_context& io_;
  MetricsEndpoints endpoints_;
  std::set<ConnectionPtr> connections_;
  bool stopped_ = false;
  asio::steady_timer accept_timer_;
  AcceptBackoff backoff_;
};

MetricsListener::MetricsListener(std::shared_ptr<State> state) : state_(std::move(state)) {}

MetricsListener::~MetricsListener() {
  stop();
}

void MetricsListener::stop() {
  state_->stop();
}

std::uint16_t MetricsListener::port() const {
  error_code ec;
  return state_->acceptor.local_endpoint(ec).port();
}

Result<std::unique_ptr<MetricsListener>> MetricsListener::start(asio::io_context& io,
                                                                const std::string& host,
                                                                std::uint16_t port,
                                                                MetricsEndpoints endpoints) {
  auto state = std::make_shared<State>(io, std::move(endpoints));
  error_code ec;
  const auto ip = asio::ip::make_address(host, ec);
  if (ec) return make_error(Errc::invalid_argument, "\"" + host + "\" is not an IP address");
  const tcp::endpoint endpoint(ip, port);
  auto& acceptor = state->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return make_error(
        Errc::io, "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
  }
  state->accept();
  return std::unique_ptr<MetricsListener>(new MetricsListener(std::move(state)));
}

}  // namespace stek::net

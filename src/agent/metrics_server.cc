// The metrics listener: one short request per connection, bounded in time and size.
#include "metrics_server.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace stek::agent {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {
constexpr int kMaxConnections = 16;
constexpr auto kRequestTimeout = std::chrono::seconds(5);
}  // namespace

struct MetricsServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& i, Render r, Health h)
      : io(i), acceptor(i), render(std::move(r)), health(std::move(h)) {}
  asio::io_context& io;
  tcp::acceptor acceptor;
  Render render;
  Health health;
  int connections = 0;
  bool stopped = false;

  struct Connection {
    explicit Connection(asio::io_context& io) : socket(io), timer(io) {}
    tcp::socket socket;
    asio::steady_timer timer;
    boost::beast::flat_buffer buffer;
    http::request<http::empty_body> request;
    http::response<http::string_body> response;
  };

  void accept() {
    acceptor.async_accept([self = shared_from_this()](error_code ec, tcp::socket socket) {
      if (self->stopped) return;
      if (!ec) self->serve(std::move(socket));
      self->accept();
    });
  }

  void serve(tcp::socket socket) {
    if (connections >= kMaxConnections) return;  // closing the socket refuses it
    ++connections;
    auto c = std::make_shared<Connection>(io);
    c->socket = std::move(socket);
    c->timer.expires_after(kRequestTimeout);
    c->timer.async_wait([c](error_code ec) {
      if (!ec) {
        error_code ignored;
        c->socket.close(ignored);
      }
    });
    http::async_read(c->socket, c->buffer, c->request,
                     [self = shared_from_this(), c](error_code ec, std::size_t) {
                       if (ec) return self->done(c);
                       self->respond(c);
                     });
  }

  void respond(const std::shared_ptr<Connection>& c) {
    auto& res = c->response;
    res.version(11);
    res.keep_alive(false);
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.set(http::field::cache_control, "no-store");
    const auto target = c->request.target();
    const auto path = target.substr(0, target.find('?'));
    if (c->request.method() != http::verb::get) {
      res.result(http::status::method_not_allowed);
      res.body() = "GET only\n";
    } else if (path == "/metrics") {
      res.result(http::status::ok);
      res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      res.body() = render();
    } else if (path == "/healthz") {
      HealthReport h = health();
      res.result(h.healthy ? http::status::ok : http::status::service_unavailable);
      res.body() = h.text + "\n";
    } else {
      res.result(http::status::not_found);
      res.body() = "not found: /metrics and /healthz only\n";
    }
    res.prepare_payload();
    http::async_write(c->socket, res,
                      [self = shared_from_this(), c](error_code, std::size_t) { self->done(c); });
  }

  void done(const std::shared_ptr<Connection>& c) {
    error_code ignored;
    c->socket.shutdown(tcp::socket::shutdown_both, ignored);
    c->socket.close(ignored);
    c->timer.cancel();
    --connections;
  }
};

MetricsServer::MetricsServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

MetricsServer::~MetricsServer() {
  impl_->stopped = true;
  error_code ignored;
  impl_->acceptor.close(ignored);
}

std::uint16_t MetricsServer::port() const {
  error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(asio::io_context& io,
                                                            const ListenAddress& address,
                                                            Render render, Health health) {
  auto impl = std::make_shared<Impl>(io, std::move(render), std::move(health));
  error_code ec;
  const auto ip = asio::ip::make_address(address.host, ec);
  if (ec) {
    return make_error(Errc::invalid_argument,
                      "metrics_listen: \"" + address.host + "\" is not an IP address");
  }
  const tcp::endpoint endpoint(ip, address.port);
  const std::string where = "metrics_listen " + address.host + ":" + std::to_string(address.port);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error(Errc::io, where + ": " + ec.message());
  impl->accept();
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

}  // namespace stek::agent

// stekd's HTTPS transport: accept, TLS handshake, HTTP/1.1 reads and writes, long polls.
#include "mtls_transport.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/bn.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <spdlog/spdlog.h>

#include "revocation.h"

namespace stek::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

class Connection;

namespace {
// The serial number in hex, as `openssl x509 -serial` prints it: audit lines name the
// certificate that was used, not only the identity it carries.
std::string certificate_serial(X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  if (bn == nullptr) return {};
  char* hex = BN_bn2hex(bn);
  std::string out = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}
}  // namespace

class TransportState : public std::enable_shared_from_this<TransportState> {
 public:
  TransportState(asio::io_context& io, HttpHandler& h, TransportLimits l)
      : handler(&h),
        limits(l),
        ssl_context(ssl::context::tls_server),
        acceptor(io),
        trust_timer(io) {}

  void accept();
  void close_all();
  Status reload_trust(bool force);
  void watch_trust();

  HttpHandler* handler;  // null once the transport is gone
  TransportLimits limits;
  ssl::context ssl_context;
  tcp::acceptor acceptor;
  bool stopping = false;
  ConnectionId last_id = 0;
  std::map<ConnectionId, std::weak_ptr<Connection>> connections;
  TransportStats stats;
  std::optional<ClientTrust> trust;
  std::vector<FileStamp> failed_stamps;  // the files as they were when a reload failed
  asio::steady_timer trust_timer;
  std::function<void(const Peer&)> revoked;
};

// One TLS connection: handshake, identity, then HTTP/1.1 requests until either side closes.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, std::shared_ptr<TransportState> state, ConnectionId id)
      : stream_(std::move(socket), state->ssl_context),
        state_(std::move(state)),
        timer_(stream_.get_executor()) {
    peer_.connection = id;
    error_code ec;
    auto ep = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec) peer_.address = ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  ~Connection() {
    state_->connections.erase(peer_.connection);
    if (state_->stats.connections_open > 0) --state_->stats.connections_open;
    if (opened_ && state_->handler != nullptr) state_->handler->closed(peer_);
  }

  void start() {
    beast::get_lowest_layer(stream_).expires_after(state_->limits.handshake_timeout);
    stream_.async_handshake(ssl::stream_base::server,
                            [self = shared_from_this()](error_code ec) { self->on_handshake(ec); });
  }

  void wake() {
    if (waiting_) timer_.cancel();
  }

  const Peer& peer() const { return peer_; }
  X509* peer_certificate() { return SSL_get0_peer_certificate(stream_.native_handle()); }

  void close() {
    error_code ec;
    waiting_ = false;
    timer_.cancel();
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(stream_).close();
  }

 private:
  void on_handshake(error_code ec) {
    if (ec || state_->stopping) return;  // failed handshakes get nothing, not even a count
    SSL* ssl = stream_.native_handle();
    X509* cert = SSL_get0_peer_certificate(ssl);
    const long verified = SSL_get_verify_result(ssl);
    if (cert == nullptr) {
      peer_.refusal = "no client certificate";
    } else if (verified != X509_V_OK) {
      // A revoked certificate lands here (X509_V_ERR_CERT_REVOKED): 403 on its requests.
      peer_.refusal = X509_verify_cert_error_string(verified);
      peer_.serial = certificate_serial(cert);
    } else {
      peer_.serial = certificate_serial(cert);
      auto id = identity_from_certificate(cert);
      if (id.ok()) {
        peer_.identity = std::move(id).value();
      } else {
        peer_.refusal = "certificate names no stek identity";
      }
    }
    opened_ = true;
    if (state_->handler != nullptr) state_->handler->opened(peer_);
    read();
  }

  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(state_->limits.header_bytes));
    parser_->body_limit(state_->limits.body_bytes);
    beast::get_lowest_layer(stream_).expires_after(state_->limits.idle_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(error_code ec) {
    if (ec == http::error::header_limit) {
      return send(error_response(431, "request headers too large"), true);
    }
    if (ec == http::error::body_limit) {
      return send(error_response(413, "request body too large"), true);
    }
    if (ec || state_->stopping || state_->handler == nullptr) return close();
    request_ = parser_->release();
    HttpReply reply = state_->handler->handle(request_value());
    if (auto* poll = std::get_if<LongPoll>(&reply)) return wait(poll->timeout);
    send(std::move(std::get<HttpResponse>(reply)));
  }

  HttpRequest request_value() const {
    HttpRequest r;
    r.peer = peer_;
    const auto method = request_.method_string();
    r.method.assign(method.data(), method.size());
    const auto target = request_.target();
    r.target.assign(target.data(), target.size());
    for (const auto& field : request_) {
      const auto name = field.name_string();
      const auto value = field.value();
      r.headers.emplace_back(std::string(name.data(), name.size()),
                             std::string(value.data(), value.size()));
    }
    r.body = request_.body();
    return r;
  }

  // A long poll: answer when woken or at the timeout. Meanwhile the only thing a client
  // sends is its end of the connection (well-behaved clients never pipeline behind a
  // request without an answer), so a readable socket means the client is gone.
  void wait(std::chrono::seconds timeout) {
    waiting_ = true;
    auto& tcp_stream = beast::get_lowest_layer(stream_);
    tcp_stream.expires_never();
    timer_.expires_after(timeout);
    timer_.async_wait([self = shared_from_this()](error_code) { self->end_wait(); });
    tcp_stream.socket().async_wait(tcp::socket::wait_read,
                                   [self = shared_from_this()](error_code ec) {
                                     if (ec || !self->waiting_) return;
                                     self->close();
                                   });
  }

  void end_wait() {
    if (!waiting_) return;
    waiting_ = false;
    error_code ec;
    beast::get_lowest_layer(stream_).socket().cancel(ec);  // the readability wait
    if (state_->stopping || state_->handler == nullptr) return close();
    send(state_->handler->resume(peer_));
  }

  void send(HttpResponse reply, bool force_close = false) {
    reply_ = std::move(reply);
    if (force_close) reply_.close = true;
    ++state_->stats.requests_by_status[reply_.status];
    response_ = {};
    response_.result(reply_.status);
    response_.version(11);
    response_.set(http::field::server, "stekd");
    response_.set(http::field::content_type, reply_.content_type);
    response_.set(http::field::cache_control, "no-store");
    for (const auto& [k, v] : reply_.headers) response_.set(k, v);
    // buffer_body points into the reply: the ring document is never copied.
    if (reply_.secret) {
      response_.body().data = const_cast<std::uint8_t*>(reply_.secret->data());
      response_.body().size = reply_.secret->size();
    } else {
      response_.body().data = reply_.text.data();
      response_.body().size = reply_.text.size();
    }
    response_.body().more = false;
    response_.keep_alive(!reply_.close && request_.keep_alive());
    response_.content_length(reply_.secret ? reply_.secret->size() : reply_.text.size());
    beast::get_lowest_layer(stream_).expires_after(state_->limits.idle_timeout);
    http::async_write(stream_, response_, [self = shared_from_this()](error_code ec, std::size_t) {
      const bool keep = !ec && self->response_.keep_alive() && !self->state_->stopping;
      self->reply_ = {};  // drop the shared ring document
      if (keep) {
        self->read();
      } else {
        self->stream_.async_shutdown([self](error_code) { self->close(); });
      }
    });
  }

  beast::ssl_stream<beast::tcp_stream> stream_;
  std::shared_ptr<TransportState> state_;
  asio::steady_timer timer_;
  Peer peer_;
  bool opened_ = false;
  bool waiting_ = false;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> request_;
  http::response<http::buffer_body> response_;
  HttpResponse reply_;
};

void TransportState::accept() {
  acceptor.async_accept([self = shared_from_this()](error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || self->stopping) return;
    if (!ec) {
      // A CRL replaced since the last check applies to this handshake already.
      if (auto ok = self->reload_trust(false); !ok.ok()) {
        spdlog::error("client CA or CRL reload failed, keeping the previous ones: {}",
                      ok.error().message);
      }
      if (self->connections.size() >= self->limits.max_connections) {
        spdlog::warn("connection limit {} reached; refusing a connection",
                     self->limits.max_connections);
      } else {
        const ConnectionId id = ++self->last_id;
        auto c = std::make_shared<Connection>(std::move(socket), self, id);
        self->connections.emplace(id, c);
        ++self->stats.connections_open;
        c->start();
      }
    }
    self->accept();
  });
}

void TransportState::close_all() {
  std::vector<std::shared_ptr<Connection>> open;
  for (const auto& [id, c] : connections) {
    if (auto p = c.lock()) open.push_back(std::move(p));
  }
  for (const auto& c : open) c->close();
}

Status TransportState::reload_trust(bool force) {
  if (!trust) return {};
  const std::vector<FileStamp> now = trust->stamps_now();
  // A file that failed to load is tried again when it changes again, not at every check.
  if (!force && (now == trust->stamps_at_load() || now == failed_stamps)) return {};
  auto loaded = trust->reload();
  if (!loaded.ok()) {
    failed_stamps = now;
    return loaded.error();
  }
  failed_stamps.clear();
  ClientTrust next = std::move(loaded).value();
  SSL_CTX_set_cert_store(ssl_context.native_handle(), next.share_store());
  trust = std::move(next);
  spdlog::info("client CA and CRLs loaded: {} CRLs", trust->crl_count());
  std::vector<std::shared_ptr<Connection>> revoked_now;
  for (const auto& [id, weak] : connections) {
    auto c = weak.lock();
    if (c && c->peer().identity && trust->revokes(c->peer_certificate())) {
      revoked_now.push_back(std::move(c));
    }
  }
  for (const auto& c : revoked_now) {
    if (revoked) revoked(c->peer());
    c->close();
  }
  return {};
}

// Once a second: an idle long poll of a revoked host must end without waiting for an accept.
void TransportState::watch_trust() {
  trust_timer.expires_after(std::chrono::seconds(1));
  trust_timer.async_wait([self = shared_from_this()](error_code ec) {
    if (ec || self->stopping) return;
    if (auto ok = self->reload_trust(false); !ok.ok()) {
      spdlog::error("client CA or CRL reload failed, keeping the previous ones: {}",
                    ok.error().message);
    }
    self->watch_trust();
  });
}

MtlsTransport::MtlsTransport(asio::io_context& io, HttpHandler& handler, TransportLimits limits)
    : state_(std::make_shared<TransportState>(io, handler, limits)) {}

MtlsTransport::~MtlsTransport() {
  stop();
  state_->handler = nullptr;
}

Status MtlsTransport::start(const Endpoint& listen, const TlsFiles& tls) {
  error_code ec;
  ssl::context& ctx = state_->ssl_context;
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                  ssl::context::single_dh_use);
  ctx.use_certificate_chain_file(tls.cert.string(), ec);
  if (ec) {
    return make_error(Errc::io, tls.cert.string() + ": cannot load certificate: " + ec.message());
  }
  ctx.use_private_key_file(tls.key.string(), ssl::context::pem, ec);
  if (ec) {
    return make_error(Errc::io, tls.key.string() + ": cannot load private key: " + ec.message());
  }
  auto trust = ClientTrust::load(tls.client_ca, tls.crl);
  if (!trust.ok()) return trust.error().with_context("client CA or CRL");
  SSL_CTX_set_cert_store(ctx.native_handle(), trust->share_store());
  if (trust->crl_count() > 0) {
    spdlog::info("client certificates are checked against {} CRLs (tls.crl and tls.client_ca)",
                 trust->crl_count());
  }
  state_->trust = std::move(trust).value();
  // Every client must present a certificate; one that does not verify gets a 403 on its
  // request (not a bare handshake failure), so clients see a clear answer.
  ctx.set_verify_mode(ssl::verify_peer);
  ctx.set_verify_callback([](bool, ssl::verify_context&) { return true; });
  SSL_CTX_set_session_cache_mode(ctx.native_handle(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx.native_handle(), SSL_OP_NO_TICKET);
  // Long polls sit idle for minutes: give idle connections' record buffers back.
  SSL_CTX_set_mode(ctx.native_handle(), SSL_MODE_RELEASE_BUFFERS);

  const auto address = asio::ip::make_address(listen.host, ec);
  if (ec) return make_error(Errc::invalid_argument, listen.host + " is not an IP address");
  const tcp::endpoint endpoint(address, listen.port);
  tcp::acceptor& a = state_->acceptor;
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error(Errc::io, "cannot listen on " + listen.text() + ": " + ec.message());
  state_->accept();
  state_->watch_trust();
  return {};
}

void MtlsTransport::stop() {
  state_->stopping = true;
  error_code ec;
  state_->acceptor.close(ec);
  state_->trust_timer.cancel();
  state_->close_all();
}

void MtlsTransport::wake(ConnectionId id) {
  auto it = state_->connections.find(id);
  if (it == state_->connections.end()) return;
  if (auto c = it->second.lock()) c->wake();
}

Status MtlsTransport::reload_trust(bool force) {
  return state_->reload_trust(force);
}

void MtlsTransport::on_revoked(std::function<void(const Peer&)> f) {
  state_->revoked = std::move(f);
}

std::uint16_t MtlsTransport::port() const {
  error_code ec;
  return state_->acceptor.local_endpoint(ec).port();
}

const TransportStats& MtlsTransport::stats() const {
  return state_->stats;
}

}  // namespace stek::server

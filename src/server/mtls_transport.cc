// stekd's HTTPS transport: accept, TLS handshake, HTTP/1.1 reads and writes, long polls.
#include "mtls_transport.h"

#include <set>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <openssl/bn.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <spdlog/spdlog.h>

#include "accept_backoff.h"
#include "revocation.h"
#include "tls_socket.h"

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
        accept_timer(io),
        trust_timer(io) {}

  void accept();
  void accepted(tcp::socket socket);
  void accept_failed(error_code ec);
  void close_all();
  Status reload_trust(bool force);
  void watch_trust();
  // The unauthenticated budget: a new connection joins it, one that proves an identity or
  // closes leaves it; at the limit the oldest is closed to make room.
  void make_room_for_unauthenticated();
  void left_unauthenticated(ConnectionId id);

  HttpHandler* handler;  // null once the transport is gone
  TransportLimits limits;
  ssl::context ssl_context;
  tcp::acceptor acceptor;
  bool stopping = false;
  ConnectionId last_id = 0;
  std::map<ConnectionId, std::weak_ptr<Connection>> connections;
  std::set<ConnectionId> unauthenticated;  // ascending ids: the oldest first
  bool budget_full_logged = false;         // once per episode of a full budget
  net::AcceptBackoff backoff;
  asio::steady_timer accept_timer;
  TransportStats stats;
  std::optional<ClientTrust> trust;
  std::vector<FileStamp> failed_stamps;  // the files as they were when a reload failed
  asio::steady_timer trust_timer;
  std::function<void(const Peer&)> revoked;
};

// One TLS connection: handshake, identity, then HTTP/1.1 requests until either side closes.
// What an idle one holds (a long poll waits for minutes, by the thousand) is kept small: the
// TLS state without record buffers (tls_socket.h), two timers, the peer, and no request or
// response.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, std::shared_ptr<TransportState> state, ConnectionId id)
      : stream_(std::move(socket), state->ssl_context.native_handle()),
        state_(std::move(state)),
        timer_(stream_.get_executor()),
        deadline_(stream_.get_executor()) {
    peer_.connection = id;
    error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) peer_.address = ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  ~Connection() {
    state_->connections.erase(peer_.connection);
    state_->left_unauthenticated(peer_.connection);
    if (state_->stats.connections_open > 0) --state_->stats.connections_open;
    if (opened_ && state_->handler != nullptr) state_->handler->closed(peer_);
  }

  void start() {
    expire_after(state_->limits.handshake_timeout);
    stream_.async_handshake([self = shared_from_this()](error_code ec) { self->on_handshake(ec); });
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
    deadline_.cancel();
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

 private:
  // The connection closes unless the operation under way (handshake, read, write) ends within
  // `timeout`; a later call replaces the deadline.
  void expire_after(std::chrono::seconds timeout) {
    deadline_.expires_after(timeout);
    deadline_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->deadline_.expiry() > asio::steady_timer::clock_type::now()) return;
      self->close();
    });
  }

  void on_handshake(error_code ec) {
    if (ec || state_->stopping) return close();  // failed handshakes get nothing, not even a count
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
    // Without an identity the connection stays in the unauthenticated budget, and its one
    // request (answered 403) must come within the handshake deadline.
    if (peer_.identity) state_->left_unauthenticated(peer_.connection);
    opened_ = true;
    if (state_->handler != nullptr) state_->handler->opened(peer_);
    read();
  }

  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(state_->limits.header_bytes));
    parser_->body_limit(state_->limits.body_bytes);
    expire_after(peer_.identity ? state_->limits.idle_timeout : state_->limits.handshake_timeout);
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
    const auto request = parser_->release();
    parser_.reset();
    keep_alive_ = request.keep_alive();
    HttpReply reply = state_->handler->handle(request_value(request));
    if (auto* poll = std::get_if<LongPoll>(&reply)) return wait(poll->timeout);
    send(std::move(std::get<HttpResponse>(reply)));
  }

  HttpRequest request_value(const http::request<http::string_body>& request) const {
    HttpRequest r;
    r.peer = peer_;
    const auto method = request.method_string();
    r.method.assign(method.data(), method.size());
    const auto target = request.target();
    r.target.assign(target.data(), target.size());
    for (const auto& field : request) {
      const auto name = field.name_string();
      const auto value = field.value();
      r.headers.emplace_back(std::string(name.data(), name.size()),
                             std::string(value.data(), value.size()));
    }
    r.body = request.body();
    return r;
  }

  // A long poll: answer when woken or at the timeout. Meanwhile the only thing a client
  // sends is its end of the connection (well-behaved clients never pipeline behind a
  // request without an answer), so a readable socket means the client is gone.
  void wait(std::chrono::seconds timeout) {
    waiting_ = true;
    deadline_.expires_at(asio::steady_timer::time_point::max());  // no deadline while waiting
    buffer_.shrink_to_fit();                                      // empty between requests
    timer_.expires_after(timeout);
    timer_.async_wait([self = shared_from_this()](error_code) { self->end_wait(); });
    stream_.socket().async_wait(tcp::socket::wait_read, [self = shared_from_this()](error_code ec) {
      if (ec || !self->waiting_) return;
      self->close();
    });
  }

  void end_wait() {
    if (!waiting_) return;
    waiting_ = false;
    error_code ec;
    stream_.socket().cancel(ec);  // the readability wait
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
    response_.keep_alive(!reply_.close && keep_alive_);
    response_.content_length(reply_.secret ? reply_.secret->size() : reply_.text.size());
    expire_after(state_->limits.idle_timeout);
    http::async_write(stream_, response_, [self = shared_from_this()](error_code ec, std::size_t) {
      const bool keep = !ec && self->response_.keep_alive() && !self->state_->stopping;
      self->reply_ = {};  // drop the shared ring document
      self->response_ = {};
      if (keep) {
        self->read();
      } else {
        self->stream_.async_shutdown([self](error_code) { self->close(); });
      }
    });
  }

  TlsSocket stream_;
  std::shared_ptr<TransportState> state_;
  asio::steady_timer timer_;     // the long poll's end
  asio::steady_timer deadline_;  // of the handshake, read or write under way
  Peer peer_;
  bool opened_ = false;
  bool waiting_ = false;
  bool keep_alive_ = false;  // the request being answered asked to keep the connection
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::buffer_body> response_;
  HttpResponse reply_;
};

void TransportState::accept() {
  acceptor.async_accept([self = shared_from_this()](error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || self->stopping) return;
    if (ec) return self->accept_failed(ec);
    self->accepted(std::move(socket));
    self->accept();
  });
}

void TransportState::accepted(tcp::socket socket) {
  if (auto failures = backoff.succeeded()) {
    stats.accept_paused = false;
    spdlog::warn("accepting connections again after {} failed accepts", *failures);
  }
  if (connections.size() >= limits.max_connections) {
    spdlog::warn("connection limit {} reached; refusing a connection", limits.max_connections);
    return;  // the socket closes here
  }
  make_room_for_unauthenticated();
  const ConnectionId id = ++last_id;
  auto c = std::make_shared<Connection>(std::move(socket), shared_from_this(), id);
  connections.emplace(id, c);
  unauthenticated.insert(id);
  ++stats.connections_open;
  stats.connections_unauthenticated = unauthenticated.size();
  c->start();
}

// Out of descriptors, the listening socket stays readable and every accept fails at once:
// pause, log the first failure of the episode, and accept again when the pause ends.
void TransportState::accept_failed(error_code ec) {
  const auto pause = backoff.failed(ec.value());
  if (pause.delay.count() == 0) return accept();  // that client's problem only
  stats.accept_failures = backoff.failures_total();
  stats.accept_paused = true;
  if (pause.episode_started) {
    spdlog::error(
        "cannot accept connections: {} ({} open, {} without an identity); pausing {} ms, "
        "growing to {} ms, until an accept succeeds (not logged again until then). Raise the "
        "file descriptor limit (ulimit -n, LimitNOFILE=) above limits.max_connections",
        ec.message(), connections.size(), unauthenticated.size(), pause.delay.count(),
        net::AcceptBackoff::kLongestPause.count());
  }
  accept_timer.expires_after(pause.delay);
  accept_timer.async_wait([self = shared_from_this()](error_code timer_ec) {
    if (timer_ec || self->stopping) return;
    self->accept();
  });
}

void TransportState::make_room_for_unauthenticated() {
  if (unauthenticated.size() < limits.max_unauthenticated || unauthenticated.empty()) return;
  const ConnectionId oldest = *unauthenticated.begin();
  left_unauthenticated(oldest);
  ++stats.unauthenticated_dropped;
  if (!budget_full_logged) {
    budget_full_logged = true;
    spdlog::warn(
        "{} connections without an identity (limits.max_unauthenticated): closing the oldest "
        "for each new one (not logged again until half of them are gone)",
        limits.max_unauthenticated);
  }
  if (auto it = connections.find(oldest); it != connections.end()) {
    if (auto c = it->second.lock()) c->close();
  }
}

void TransportState::left_unauthenticated(ConnectionId id) {
  if (unauthenticated.erase(id) == 0) return;
  stats.connections_unauthenticated = unauthenticated.size();
  if (budget_full_logged && unauthenticated.size() <= limits.max_unauthenticated / 2) {
    budget_full_logged = false;
    spdlog::info("connections without an identity back to {}, {} closed early so far",
                 unauthenticated.size(), stats.unauthenticated_dropped);
  }
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

// Once a second (and on SIGHUP): a replaced CRL applies to new handshakes and ends the open
// connections, idle long polls included, of what it revokes. Not at every accept: a flood of
// connections would cost a stat of every file each.
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
  auto trust = load_server_tls(state_->ssl_context, tls);
  if (!trust.ok()) return trust.error();
  if (trust->crl_count() > 0) {
    spdlog::info("client certificates are checked against {} CRLs (tls.crl and tls.client_ca)",
                 trust->crl_count());
  }
  state_->trust = std::move(trust).value();

  error_code ec;
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
  state_->accept_timer.cancel();
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

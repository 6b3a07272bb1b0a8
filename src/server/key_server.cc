// stekd's HTTPS (mutual TLS) and metrics listeners on Boost.Beast.
#include "key_server.h"

#include <optional>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include "identity.h"

namespace stek::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using nlohmann::json;

namespace {

constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
constexpr auto kIdleTimeout = std::chrono::seconds(60);

// A reply whose body either is shared key material (never copied into a std::string) or text.
struct Reply {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string text;
  std::shared_ptr<const SecretBytes> secret;
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;
};

Reply json_reply(unsigned status, const json& body) {
  Reply r;
  r.status = status;
  r.text = body.dump() + "\n";
  return r;
}

Reply error_reply(unsigned status, const std::string& message) {
  return json_reply(status, {{"error", message}});
}

Result<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%') {
      if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
        return make_error(Errc::bad_format, "bad percent-encoding");
      }
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

Result<std::map<std::string, std::string>> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    const auto amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    STEK_ASSIGN_OR_RETURN(std::string key, percent_decode(pair.substr(0, eq)));
    STEK_ASSIGN_OR_RETURN(std::string value,
                          percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1)));
    if (!out.emplace(key, value).second) {
      return make_error(Errc::bad_format, "query parameter \"" + key + "\" given twice");
    }
  }
  return out;
}

Result<std::uint64_t> parse_u64(const std::string& s, const char* what) {
  if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789") != std::string::npos) {
    return make_error(Errc::bad_format, std::string(what) + " must be a non-negative integer");
  }
  try {
    return static_cast<std::uint64_t>(std::stoull(s));
  } catch (const std::exception&) {
    return make_error(Errc::bad_format, std::string(what) + " is out of range");
  }
}

}  // namespace

class Session;

class KeyServer::Impl {
 public:
  Impl(asio::io_context& io, ServerConfig config, KeyService& keys, const Clock& clock,
       AuditSink& audit)
      : io_(io),
        config_(std::move(config)),
        keys_(keys),
        clock_(clock),
        audit_(audit),
        ssl_(ssl::context::tls_server),
        acceptor_(io),
        metrics_acceptor_(io),
        maintenance_(io) {}

  Status start();
  void stop();
  void maintain_now();

  // Called by sessions.
  Reply handle(Session& s, const http::request<http::string_body>& req);
  Reply finish_wait(Session& s);
  void add_connection(Session& s);
  void remove_connection(Session& s);
  void add_waiter(const std::string& domain, std::weak_ptr<Session> s) {
    waiters_[domain].push_back(std::move(s));
  }
  void count(unsigned status) { ++counters_.requests_by_status[static_cast<int>(status)]; }
  const ServerConfig& config() const { return config_; }
  ssl::context& ssl_context() { return ssl_; }
  bool stopping() const { return stopping_; }

  std::uint16_t port() const { return port_; }
  std::uint16_t metrics_port() const { return metrics_port_; }

 private:
  void accept();
  void accept_metrics();
  void schedule_maintenance();
  void wake(const std::string& domain);
  void wake_all();
  std::string metrics_text();
  Reply keyring(Session& s, const std::map<std::string, std::string>& query);
  Reply admin(Session& s, const http::request<http::string_body>& req, std::string_view path);
  json agents_json();
  bool is_stale(const AgentRecord& a, UnixSeconds now) const;

  asio::io_context& io_;
  ServerConfig config_;
  KeyService& keys_;
  const Clock& clock_;
  AuditSink& audit_;
  ssl::context ssl_;
  tcp::acceptor acceptor_;
  tcp::acceptor metrics_acceptor_;
  asio::steady_timer maintenance_;
  std::uint16_t port_ = 0;
  std::uint16_t metrics_port_ = 0;
  bool stopping_ = false;
  std::map<std::string, std::vector<std::weak_ptr<Session>>> waiters_;
  std::map<std::string, std::size_t> per_identity_;
  std::map<std::string, AgentRecord> agents_;
  std::set<Session*> sessions_;
  ServerCounters counters_;

  friend class Session;
};

// One TLS connection: handshake, identity, then HTTP/1.1 requests until close.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, KeyServer::Impl& server)
      : stream_(std::move(socket), server.ssl_context()),
        server_(server),
        timer_(stream_.get_executor()) {
    beast::error_code ec;
    auto ep = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec) address_ = ep.address().to_string() + ":" + std::to_string(ep.port());
  }
  ~Session() { server_.remove_connection(*this); }

  void start() {
    beast::get_lowest_layer(stream_).expires_after(kHandshakeTimeout);
    stream_.async_handshake(
        ssl::stream_base::server,
        [self = shared_from_this()](beast::error_code ec) { self->on_handshake(ec); });
  }

  // Long-poll support.
  void wait(const std::string& domain, std::uint64_t version, std::chrono::seconds timeout) {
    waiting_ = true;
    wait_domain_ = domain;
    wait_version_ = version;
    beast::get_lowest_layer(stream_).expires_never();
    timer_.expires_after(timeout);
    server_.add_waiter(domain, weak_from_this());
    timer_.async_wait([self = shared_from_this()](beast::error_code) {
      if (!self->waiting_) return;
      self->waiting_ = false;
      self->send(self->server_.finish_wait(*self));
    });
  }
  void wake() {
    if (waiting_) timer_.cancel();
  }
  void close() {
    beast::error_code ec;
    timer_.cancel();
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(stream_).close();
  }

  const std::optional<Identity>& identity() const { return identity_; }
  const std::string& address() const { return address_; }
  const std::string& wait_domain() const { return wait_domain_; }
  std::uint64_t wait_version() const { return wait_version_; }
  bool over_limit = false;

 private:
  void on_handshake(beast::error_code ec) {
    if (ec) return;  // failed handshakes are counted by nobody; they get no keys
    SSL* ssl = stream_.native_handle();
    X509* peer = SSL_get0_peer_certificate(ssl);
    if (peer != nullptr && SSL_get_verify_result(ssl) == X509_V_OK) {
      auto id = identity_from_certificate(peer);
      if (id.ok()) identity_ = std::move(id).value();
    }
    server_.add_connection(*this);
    read();
  }

  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.config().header_bytes));
    parser_->body_limit(server_.config().body_bytes);
    beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::header_limit)
      return send(error_reply(431, "request headers too large"), true);
    if (ec == http::error::body_limit)
      return send(error_reply(413, "request body too large"), true);
    if (ec) return close();
    request_ = parser_->release();
    Reply reply = server_.handle(*this, request_);
    if (reply.status == 0) return;  // waiting: the long-poll timer sends the reply
    send(std::move(reply));
  }

  void send(Reply reply, bool force_close = false) {
    reply_ = std::move(reply);
    if (force_close) reply_.close = true;
    server_.count(reply_.status);
    response_ = {};
    response_.result(reply_.status);
    response_.version(11);
    response_.set(http::field::server, "stekd");
    response_.set(http::field::content_type, reply_.content_type);
    response_.set(http::field::cache_control, "no-store");
    for (const auto& [k, v] : reply_.headers) response_.set(k, v);
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
    beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
    http::async_write(
        stream_, response_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
          const bool keep = !ec && self->response_.keep_alive() && !self->server_.stopping();
          self->reply_ = {};  // drop the shared ring document
          if (keep) {
            self->read();
          } else {
            self->stream_.async_shutdown([self](beast::error_code) { self->close(); });
          }
        });
  }

  beast::ssl_stream<beast::tcp_stream> stream_;
  KeyServer::Impl& server_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> request_;
  http::response<http::buffer_body> response_;
  Reply reply_;
  std::optional<Identity> identity_;
  std::string address_;
  bool waiting_ = false;
  std::string wait_domain_;
  std::uint64_t wait_version_ = 0;
};

// The metrics port: plain HTTP, one request per connection, no keys anywhere.
class MetricsSession : public std::enable_shared_from_this<MetricsSession> {
 public:
  MetricsSession(tcp::socket socket,
                 std::function<std::pair<unsigned, std::string>(std::string_view)> route)
      : stream_(std::move(socket)), route_(std::move(route)) {}
  void start() {
    stream_.expires_after(std::chrono::seconds(10));
    http::async_read(
        stream_, buffer_, request_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
          if (ec) return;
          const auto t = self->request_.target();
          auto [status, body] = self->route_(std::string_view(t.data(), t.size()));
          self->response_.result(status);
          self->response_.version(11);
          self->response_.set(http::field::content_type,
                              t == "/" ? "text/html; charset=utf-8" : "text/plain; version=0.0.4");
          self->response_.body() = std::move(body);
          self->response_.keep_alive(false);
          self->response_.prepare_payload();
          http::async_write(self->stream_, self->response_, [self](beast::error_code, std::size_t) {
            beast::error_code ignored;
            self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
          });
        });
  }

 private:
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::empty_body> request_;
  http::response<http::string_body> response_;
  std::function<std::pair<unsigned, std::string>(std::string_view)> route_;
};

Status KeyServer::Impl::start() {
  boost::system::error_code ec;
  ssl_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  ssl_.use_certificate_chain_file(config_.tls_cert.string(), ec);
  if (ec)
    return make_error(Errc::io,
                      config_.tls_cert.string() + ": cannot load certificate: " + ec.message());
  ssl_.use_private_key_file(config_.tls_key.string(), ssl::context::pem, ec);
  if (ec)
    return make_error(Errc::io,
                      config_.tls_key.string() + ": cannot load private key: " + ec.message());
  ssl_.load_verify_file(config_.tls_client_ca.string(), ec);
  if (ec)
    return make_error(Errc::io,
                      config_.tls_client_ca.string() + ": cannot load client CA: " + ec.message());
  // Every client must present a certificate; one that does not verify gets a 403 on its
  // request (not a bare handshake failure), so clients see a clear answer.
  ssl_.set_verify_mode(ssl::verify_peer);
  ssl_.set_verify_callback([](bool, ssl::verify_context&) { return true; });
  SSL_CTX_set_session_cache_mode(ssl_.native_handle(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ssl_.native_handle(), SSL_OP_NO_TICKET);
  // Long-polls sit idle for minutes: give idle connections' record buffers back.
  SSL_CTX_set_mode(ssl_.native_handle(), SSL_MODE_RELEASE_BUFFERS);

  auto bind = [&](tcp::acceptor& a, const Endpoint& e, std::uint16_t& bound) -> Status {
    auto address = asio::ip::make_address(e.host, ec);
    if (ec) return make_error(Errc::invalid_argument, e.host + " is not an IP address");
    tcp::endpoint ep(address, e.port);
    a.open(ep.protocol(), ec);
    if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) a.bind(ep, ec);
    if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return make_error(Errc::io, "cannot listen on " + e.text() + ": " + ec.message());
    bound = a.local_endpoint().port();
    return {};
  };
  STEK_TRY(bind(acceptor_, config_.listen, port_));
  if (config_.metrics_listen)
    STEK_TRY(bind(metrics_acceptor_, *config_.metrics_listen, metrics_port_));
  spdlog::info("listening on {}:{} (agents and admins, mutual TLS)", config_.listen.host, port_);
  if (config_.metrics_listen)
    spdlog::info("metrics on http://{}:{}/metrics", config_.metrics_listen->host, metrics_port_);
  accept();
  if (config_.metrics_listen) accept_metrics();
  schedule_maintenance();
  return {};
}

void KeyServer::Impl::stop() {
  stopping_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
  metrics_acceptor_.close(ec);
  maintenance_.cancel();
  for (Session* s : std::vector<Session*>(sessions_.begin(), sessions_.end())) s->close();
}

void KeyServer::Impl::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || stopping_) return;
    if (!ec) {
      if (sessions_.size() >= config_.max_connections) {
        spdlog::warn("connection limit {} reached; refusing a connection", config_.max_connections);
      } else {
        auto s = std::make_shared<Session>(std::move(socket), *this);
        sessions_.insert(s.get());
        ++counters_.connections_open;
        s->start();
      }
    }
    accept();
  });
}

void KeyServer::Impl::accept_metrics() {
  metrics_acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || stopping_) return;
    if (!ec) {
      std::make_shared<MetricsSession>(
          std::move(socket),
          [this](std::string_view target) -> std::pair<unsigned, std::string> {
            if (target == "/metrics") return {200, metrics_text()};
            if (target == "/healthz") {
              return keys_.healthy(clock_.now())
                         ? std::pair<unsigned, std::string>{200, "ok\n"}
                         : std::pair<unsigned, std::string>{503, "no key for the current epoch\n"};
            }
            if (target == "/") {
              const UnixSeconds now = clock_.now();
              std::string page =
                  "<!doctype html><title>stekd</title><h1>stekd</h1><p>epoch " +
                  std::to_string(keys_.current_epoch()) + ", interval " +
                  std::to_string(keys_.schedule().interval()) + " s, history " +
                  std::to_string(keys_.schedule().history()) + ", lookahead " +
                  std::to_string(keys_.schedule().lookahead()) +
                  "</p><table border=1><tr><th>domain<th>ring version<th>secret version</tr>";
              for (const std::string& d : keys_.domains()) {
                page += "<tr><td>" + d + "<td>" + std::to_string(keys_.ring_version(d)) + "<td>" +
                        std::to_string(keys_.secret_version(d)) + "</tr>";
              }
              page +=
                  "</table><table border=1><tr><th>agent<th>domains<th>last seen (s ago)<th>holds "
                  "through epoch<th>connected<th>stale</tr>";
              for (const auto& [host, a] : agents_) {
                std::string ds;
                for (const auto& d : a.domains) ds += (ds.empty() ? "" : ", ") + d;
                page += "<tr><td>" + host + "<td>" + ds + "<td>" +
                        std::to_string(now - a.last_seen) + "<td>" +
                        (a.holds_through_epoch ? std::to_string(*a.holds_through_epoch) : "-") +
                        "<td>" + (a.connections > 0 ? "yes" : "no") + "<td>" +
                        (is_stale(a, now) ? "STALE" : "no") + "</tr>";
              }
              page += "</table><p><a href=/metrics>metrics</a></p>\n";
              return {200, page};
            }
            return {404, "not found\n"};
          })
          ->start();
    }
    accept_metrics();
  });
}

void KeyServer::Impl::schedule_maintenance() {
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

void KeyServer::Impl::maintain_now() {
  const UnixSeconds now = clock_.now();
  const Epoch before = keys_.current_epoch();
  auto changed = keys_.maintain(now);
  if (!changed.ok()) {
    spdlog::error("key maintenance failed: {}", changed.error().message);
    return;
  }
  if (keys_.current_epoch() != before || *changed) {
    spdlog::info("epoch {}: rings advanced, waking {} waiting agents", keys_.current_epoch(), [&] {
      std::size_t n = 0;
      for (auto& [d, w] : waiters_) n += w.size();
      return n;
    }());
    wake_all();
  }
}

void KeyServer::Impl::wake(const std::string& domain) {
  auto it = waiters_.find(domain);
  if (it == waiters_.end()) return;
  std::vector<std::weak_ptr<Session>> list = std::move(it->second);
  waiters_.erase(it);
  for (auto& w : list) {
    if (auto s = w.lock()) s->wake();
  }
}

void KeyServer::Impl::wake_all() {
  std::vector<std::string> domains;
  for (const auto& [d, w] : waiters_) domains.push_back(d);
  for (const auto& d : domains) wake(d);
}

void KeyServer::Impl::add_connection(Session& s) {
  if (!s.identity()) return;
  const std::string key = s.identity()->key();
  if (++per_identity_[key] > config_.connections_per_identity) s.over_limit = true;
  // Only hosts of configured domains are agents; anything else just gets its 403s.
  const auto& domains = s.identity()->domains;
  const bool serves = std::any_of(domains.begin(), domains.end(),
                                  [&](const std::string& d) { return keys_.has_domain(d); });
  if (s.identity()->kind == Identity::Kind::agent && serves) {
    AgentRecord& a = agents_[s.identity()->name];
    a.domains = s.identity()->domains;
    a.address = s.address();
    a.last_seen = clock_.now();
    ++a.connections;
  }
}

void KeyServer::Impl::remove_connection(Session& s) {
  sessions_.erase(&s);
  if (counters_.connections_open > 0) --counters_.connections_open;
  if (!s.identity()) return;
  auto it = per_identity_.find(s.identity()->key());
  if (it != per_identity_.end() && --it->second == 0) per_identity_.erase(it);
  if (s.identity()->kind == Identity::Kind::agent) {
    auto a = agents_.find(s.identity()->name);
    if (a != agents_.end() && a->second.connections > 0) --a->second.connections;
  }
}

Reply KeyServer::Impl::handle(Session& s, const http::request<http::string_body>& req) {
  if (!s.identity()) {
    Reply r = error_reply(403, "forbidden");
    r.close = true;
    return r;
  }
  if (s.over_limit) {
    Reply r = error_reply(429, "too many connections for this identity");
    r.close = true;
    return r;
  }
  const std::string_view target(req.target().data(), req.target().size());
  const auto qpos = target.find('?');
  const std::string_view path = target.substr(0, qpos);
  auto query =
      parse_query(qpos == std::string_view::npos ? std::string_view{} : target.substr(qpos + 1));
  if (!query.ok()) return error_reply(400, query.error().message);
  if (path == "/v1/keyring") {
    if (s.identity()->kind != Identity::Kind::agent) return error_reply(403, "forbidden");
    if (req.method() != http::verb::get) return error_reply(405, "use GET");
    return keyring(s, *query);
  }
  if (path.rfind("/v1/admin/", 0) == 0) {
    if (s.identity()->kind != Identity::Kind::admin) return error_reply(403, "forbidden");
    return admin(s, req, path);
  }
  return error_reply(404, "no such path");
}

Reply KeyServer::Impl::keyring(Session& s, const std::map<std::string, std::string>& query) {
  const Identity& id = *s.identity();
  std::string domain;
  std::optional<std::uint64_t> wait;
  std::int64_t timeout = config_.long_poll_timeout;
  for (const auto& [k, v] : query) {
    if (k == "domain") {
      domain = v;
    } else if (k == "wait") {
      auto n = parse_u64(v, "wait");
      if (!n.ok()) return error_reply(400, n.error().message);
      wait = *n;
    } else if (k == "timeout") {
      auto n = parse_u64(v, "timeout");
      if (!n.ok() || *n < 1) return error_reply(400, "timeout must be a positive integer");
      timeout = std::min<std::int64_t>(static_cast<std::int64_t>(*n), config_.long_poll_timeout);
    } else {
      return error_reply(400, "unknown query parameter \"" + k + "\"");
    }
  }
  if (domain.empty()) {
    if (id.domains.size() != 1)
      return error_reply(400, "this certificate names several domains: pass domain=");
    domain = id.domains.front();
  }
  // Only the certificate's own domains, and only configured ones: 403 and nothing else.
  if (std::find(id.domains.begin(), id.domains.end(), domain) == id.domains.end() ||
      !keys_.has_domain(domain)) {
    return error_reply(403, "forbidden");
  }
  if (!keys_.healthy(clock_.now())) return error_reply(503, "key store not ready");
  AgentRecord& agent = agents_[id.name];
  agent.domains = id.domains;
  agent.last_seen = clock_.now();
  if (wait) {
    agent.holds_through_epoch =
        static_cast<Epoch>(*wait >> kVersionEpochShift) + keys_.schedule().lookahead();
  }
  const std::uint64_t version = keys_.ring_version(domain);
  if (!wait || version > *wait) {
    auto doc = keys_.ring_document(domain);
    if (!doc.ok()) {
      spdlog::error("ring for {} failed: {}", domain, doc.error().message);
      return error_reply(500, "ring derivation failed");
    }
    agent.holds_through_epoch = keys_.current_epoch() + keys_.schedule().lookahead();
    Reply r;
    r.secret = *doc;
    r.headers.emplace_back("X-Stek-Ring-Version", std::to_string(version));
    return r;
  }
  s.wait(domain, *wait, std::chrono::seconds(timeout));
  Reply deferred;
  deferred.status = 0;
  return deferred;
}

Reply KeyServer::Impl::finish_wait(Session& s) {
  const std::string& domain = s.wait_domain();
  if (stopping_) {
    Reply r = error_reply(503, "stekd is stopping");
    r.close = true;
    return r;
  }
  const std::uint64_t version = keys_.ring_version(domain);
  if (s.identity()) agents_[s.identity()->name].last_seen = clock_.now();
  if (version > s.wait_version()) {
    auto doc = keys_.ring_document(domain);
    if (!doc.ok()) return error_reply(500, "ring derivation failed");
    if (s.identity()) {
      agents_[s.identity()->name].holds_through_epoch =
          keys_.current_epoch() + keys_.schedule().lookahead();
    }
    Reply r;
    r.secret = *doc;
    r.headers.emplace_back("X-Stek-Ring-Version", std::to_string(version));
    return r;
  }
  Reply r;
  r.status = 304;
  r.content_type = "application/json";
  r.headers.emplace_back("X-Stek-Ring-Version", std::to_string(version));
  return r;
}

bool KeyServer::Impl::is_stale(const AgentRecord& a, UnixSeconds now) const {
  return now - a.last_seen > config_.stale_after ||
         (a.holds_through_epoch && *a.holds_through_epoch < keys_.current_epoch() + 1);
}

json KeyServer::Impl::agents_json() {
  const UnixSeconds now = clock_.now();
  json out = json::array();
  for (const auto& [host, a] : agents_) {
    json e = {{"host", host},
              {"domains", a.domains},
              {"address", a.address},
              {"last_seen", a.last_seen},
              {"connected", a.connections > 0},
              {"stale", is_stale(a, now)}};
    e["holds_through_epoch"] = a.holds_through_epoch ? json(*a.holds_through_epoch) : json(nullptr);
    out.push_back(std::move(e));
  }
  return out;
}

Reply KeyServer::Impl::admin(Session& s, const http::request<http::string_body>& req,
                             std::string_view path) {
  const std::string actor = s.identity()->name;
  const UnixSeconds now = clock_.now();
  if (path == "/v1/admin/status") {
    if (req.method() != http::verb::get) return error_reply(405, "use GET");
    audit_.record("admin_status", {{"actor", actor}});
    json domains = json::array();
    for (const std::string& d : keys_.domains()) {
      domains.push_back({{"name", d},
                         {"ring_version", keys_.ring_version(d)},
                         {"secret_version", keys_.secret_version(d)}});
    }
    std::size_t connected = 0, stale = 0;
    for (const auto& [h, a] : agents_) {
      connected += a.connections > 0;
      stale += is_stale(a, now);
    }
    const auto held = keys_.epochs_held();
    const auto& p = keys_.schedule().params();
    return json_reply(
        200, {{"epoch", keys_.current_epoch()},
              {"healthy", keys_.healthy(now)},
              {"schedule",
               {{"interval", p.interval},
                {"history", p.history},
                {"lookahead", p.lookahead},
                {"lifetime_hint", keys_.schedule().lifetime_hint()}}},
              {"epochs_held", held ? json{held->first, held->last} : json::array()},
              {"domains", domains},
              {"agents", {{"known", agents_.size()}, {"connected", connected}, {"stale", stale}}}});
  }
  if (path == "/v1/admin/agents") {
    if (req.method() != http::verb::get) return error_reply(405, "use GET");
    audit_.record("admin_agents", {{"actor", actor}});
    return json_reply(200, agents_json());
  }
  static constexpr std::string_view kDomains = "/v1/admin/domains/";
  static constexpr std::string_view kRotate = "/rotate-secret";
  if (path.rfind(kDomains, 0) == 0 && path.size() > kDomains.size() + kRotate.size() &&
      path.substr(path.size() - kRotate.size()) == kRotate) {
    if (req.method() != http::verb::post) return error_reply(405, "use POST");
    auto domain = percent_decode(
        path.substr(kDomains.size(), path.size() - kDomains.size() - kRotate.size()));
    if (!domain.ok()) return error_reply(400, domain.error().message);
    if (!keys_.has_domain(*domain)) return error_reply(404, "domain is not configured");
    auto version = keys_.rotate_domain_secret(*domain, now, actor);
    if (!version.ok()) {
      spdlog::error("rotation of {} failed: {}", *domain, version.error().message);
      return error_reply(500, "rotation failed: " + version.error().message);
    }
    spdlog::warn(
        "domain {} secret replaced (version {}) by {}: every ticket of the domain stops resuming",
        *domain, *version, actor);
    wake(*domain);
    return json_reply(200, {{"domain", *domain},
                            {"secret_version", *version},
                            {"ring_version", keys_.ring_version(*domain)}});
  }
  return error_reply(404, "no such admin path");
}

std::string KeyServer::Impl::metrics_text() {
  const UnixSeconds now = clock_.now();
  std::size_t connected = 0, stale = 0;
  for (const auto& [h, a] : agents_) {
    connected += a.connections > 0;
    stale += is_stale(a, now);
  }
  std::string m;
  auto gauge = [&](const char* name, const char* help, const std::string& value) {
    m += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n" + name + " " +
         value + "\n";
  };
  gauge("stek_up", "1 when the current epoch's secret exists", keys_.healthy(now) ? "1" : "0");
  gauge("stek_current_epoch", "Current epoch number", std::to_string(keys_.current_epoch()));
  gauge("stek_epoch_secrets_held", "Epoch secrets held (history + current + lookahead)",
        std::to_string(keys_.epoch_secrets_held()));
  gauge("stek_domains", "Configured domains", std::to_string(keys_.domains().size()));
  gauge("stek_agents_known", "Agents seen since start", std::to_string(agents_.size()));
  gauge("stek_agents_connected", "Agents with an open connection", std::to_string(connected));
  gauge("stek_agents_stale", "Agents not seen recently or without the current key",
        std::to_string(stale));
  gauge("stek_connections_open", "Open client connections",
        std::to_string(counters_.connections_open));
  m += "# HELP stek_erasures_total Secrets erased\n# TYPE stek_erasures_total "
       "counter\nstek_erasures_total " +
       std::to_string(keys_.erasures_total()) + "\n";
  m += "# HELP stek_requests_total Requests answered, by HTTP status\n# TYPE stek_requests_total "
       "counter\n";
  for (const auto& [status, n] : counters_.requests_by_status) {
    m += "stek_requests_total{status=\"" + std::to_string(status) + "\"} " + std::to_string(n) +
         "\n";
  }
  m += "# HELP stek_ring_version Current ring version per domain\n# TYPE stek_ring_version gauge\n";
  for (const std::string& d : keys_.domains()) {
    m += "stek_ring_version{domain=" + json(d).dump() + "} " +
         std::to_string(keys_.ring_version(d)) + "\n";
  }
  return m;
}

KeyServer::KeyServer(asio::io_context& io, ServerConfig config, KeyService& keys,
                     const Clock& clock, AuditSink& audit)
    : impl_(std::make_unique<Impl>(io, std::move(config), keys, clock, audit)) {}
KeyServer::~KeyServer() = default;
Status KeyServer::start() {
  return impl_->start();
}
void KeyServer::stop() {
  impl_->stop();
}
std::uint16_t KeyServer::port() const {
  return impl_->port();
}
std::uint16_t KeyServer::metrics_port() const {
  return impl_->metrics_port();
}
void KeyServer::maintain_now() {
  impl_->maintain_now();
}

}  // namespace stek::server

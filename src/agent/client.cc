// Long-poll client over Boost.Beast and asio::ssl. Each request runs asynchronously on the
// agent's io_context under one deadline timer (connect phase, then read phase), so every
// step is bounded and the metrics listener and boundary timer keep running meanwhile.
#include "client.h"

#include <charconv>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "stek/bytes.h"

namespace stek::agent {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

Result<ServerUrl> parse_server_url(std::string_view url) {
  auto parsed = net::parse_https_url(url);
  if (!parsed.ok()) return parsed.error().with_context("server");
  if (!parsed->base_path.empty()) {
    return make_error(Errc::invalid_argument, "server \"" + std::string(url) +
                                                  "\": no path (expected https://HOST[:PORT])");
  }
  return parsed;
}

std::string keyring_target(const PollRequest& request) {
  std::string target = "/v1/keyring?domain=";
  for (const char c : request.domain) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      target.push_back(c);
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      target.push_back('%');
      target.push_back(kHex[u >> 4]);
      target.push_back(kHex[u & 15]);
    }
  }
  if (request.wait) target += "&wait=" + std::to_string(*request.wait);
  target += "&timeout=" + std::to_string(request.timeout);
  return target;
}

namespace {

// Response bodies hold key bytes: every buffer they pass through is wiped when released.
using SecretBody = http::basic_string_body<char, std::char_traits<char>, WipingAllocator<char>>;
using SecretBuffer = beast::basic_flat_buffer<WipingAllocator<char>>;

std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

// Printable text of a non-ring answer (stekd's {"error": ...}), shortened, for errors.
std::string short_text(const SecretString& body) {
  std::string out;
  for (const char c : body) {
    if (out.size() >= 200) {
      out += "...";
      break;
    }
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  return out;
}

// One request: resolve, connect, handshake, write, read, each step a completion handler.
struct Op : std::enable_shared_from_this<Op> {
  Op(asio::io_context& io, ssl::context& ctx) : resolver(io), stream(io, ctx), timer(io) {}

  tcp::resolver resolver;
  ssl::stream<tcp::socket> stream;
  asio::steady_timer timer;
  http::request<http::empty_body> request;
  SecretBuffer buffer;
  http::response_parser<SecretBody> parser;
  std::string server;  // for messages
  std::string phase = "resolve";
  std::chrono::milliseconds phase_limit{0};
  bool done = false;
  bool timed_out = false;
  bool cancelled = false;
  std::optional<Error> error;

  void arm(std::chrono::milliseconds limit) {
    phase_limit = limit;
    timer.expires_after(limit);
    timer.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->done) return;
      self->timed_out = true;
      self->abort();
    });
  }

  void abort() {
    error_code ignored;
    resolver.cancel();
    stream.lowest_layer().cancel(ignored);
    stream.lowest_layer().close(ignored);
  }

  void fail(const std::string& what, error_code ec) {
    if (done) return;
    std::string why;
    if (cancelled) {
      why = "cancelled";
    } else if (timed_out) {
      why = "no progress within " + std::to_string(phase_limit.count()) + " ms";
    } else {
      why = ec.message();
      if (ec.category() == asio::error::get_ssl_category()) {
        const std::string detail = openssl_errors();
        if (!detail.empty()) why += " (" + detail + ")";
      }
    }
    error = make_error(Errc::io, server + ": " + what + ": " + why);
    finish();
  }

  void finish() {
    done = true;
    timer.cancel();
    error_code ignored;
    stream.lowest_layer().close(ignored);
  }
};

}  // namespace

struct HttpsClient::Impl {
  Impl(asio::io_context& i, ClientTimeouts t) : io(i), ctx(ssl::context::tls_client), timeouts(t) {}
  asio::io_context& io;
  ssl::context ctx;
  ClientTimeouts timeouts;
  std::shared_ptr<Op> current;
};

HttpsClient::HttpsClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpsClient::~HttpsClient() = default;

Result<std::unique_ptr<HttpsClient>> HttpsClient::make(asio::io_context& io, const ClientTls& tls,
                                                       ClientTimeouts timeouts) {
  auto impl = std::make_unique<Impl>(io, timeouts);
  SSL_CTX* ctx = impl->ctx.native_handle();
  ERR_clear_error();
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
    return make_error(Errc::crypto, "cannot require TLS 1.2: " + openssl_errors());
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, tls.cert.c_str()) != 1) {
    return make_error(Errc::invalid_argument, "tls.cert " + tls.cert.string() +
                                                  ": not a PEM certificate chain (" +
                                                  openssl_errors() + ")");
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, tls.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    // OpenSSL's message names the file only: never key material.
    return make_error(
        Errc::invalid_argument,
        "tls.key " + tls.key.string() + ": not a PEM private key (" + openssl_errors() + ")");
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return make_error(
        Errc::invalid_argument,
        "tls.key " + tls.key.string() + " does not belong to tls.cert " + tls.cert.string());
  }
  if (SSL_CTX_load_verify_locations(ctx, tls.ca.c_str(), nullptr) != 1) {
    return make_error(
        Errc::invalid_argument,
        "tls.ca " + tls.ca.string() + ": not PEM CA certificates (" + openssl_errors() + ")");
  }
  // Only the configured CA: the system trust store has no say over who hands out keys.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  return std::unique_ptr<HttpsClient>(new HttpsClient(std::move(impl)));
}

void HttpsClient::cancel() {
  if (auto op = impl_->current; op && !op->done) {
    op->cancelled = true;
    op->abort();
  }
}

Result<PollAnswer> HttpsClient::poll(const ServerUrl& server, const PollRequest& req) {
  auto op = std::make_shared<Op>(impl_->io, impl_->ctx);
  impl_->current = op;
  op->server = server.text;
  op->parser.body_limit(kMaxRingBody);
  op->parser.header_limit(16 * 1024);
  op->request = http::request<http::empty_body>(http::verb::get, keyring_target(req), 11);
  op->request.set(http::field::host, server.host.find(':') != std::string::npos
                                         ? "[" + server.host + "]:" + server.port
                                         : server.host + ":" + server.port);
  op->request.set(http::field::user_agent, "stek-agent/0.1");
  op->request.set(http::field::connection, "close");

  SSL* ssl = op->stream.native_handle();
  if (server.host_is_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), server.host.c_str());
  } else {
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(server.host.c_str()));  // SSL_set_tlsext_host_name, cast-free
    SSL_set1_host(ssl, server.host.c_str());
  }

  const auto read_limit =
      std::chrono::milliseconds(req.timeout * 1000) + impl_->timeouts.read_grace;
  op->arm(impl_->timeouts.connect);
  op->resolver.async_resolve(
      server.host, server.port,
      [op, read_limit](error_code ec, tcp::resolver::results_type results) {
        if (ec) return op->fail("resolve", ec);
        op->phase = "connect";
        asio::async_connect(op->stream.lowest_layer(), results,
                            [op, read_limit](error_code ec2, const tcp::endpoint&) {
                              if (ec2) return op->fail("connect", ec2);
                              op->stream.async_handshake(
                                  ssl::stream_base::client, [op, read_limit](error_code ec3) {
                                    if (ec3) return op->fail("TLS handshake", ec3);
                                    http::async_write(
                                        op->stream, op->request,
                                        [op, read_limit](error_code ec4, std::size_t) {
                                          if (ec4) return op->fail("send request", ec4);
                                          op->timer.cancel();
                                          op->arm(read_limit);
                                          http::async_read(op->stream, op->buffer, op->parser,
                                                           [op](error_code ec5, std::size_t) {
                                                             if (ec5)
                                                               return op->fail("read answer", ec5);
                                                             op->finish();
                                                           });
                                        });
                                  });
                            });
      });

  while (!op->done) {
    if (impl_->io.run_one() == 0) {  // the io_context was stopped: give up at once
      op->cancelled = true;
      op->abort();
      op->fail("request", asio::error::operation_aborted);
      break;
    }
  }
  impl_->current.reset();
  if (op->error) return *op->error;

  auto& response = op->parser.get();
  PollAnswer answer;
  answer.status = static_cast<int>(response.result_int());
  if (auto it = response.find("X-Stek-Ring-Version"); it != response.end()) {
    std::uint64_t v = 0;
    const auto value = it->value();
    auto [end, err] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (err == std::errc() && end == value.data() + value.size()) answer.ring_version = v;
  }
  if (answer.status == 200) {
    const SecretString& body = response.body();
    answer.body = SecretBytes::copy_of(as_bytes({body.data(), body.size()}));
  } else if (answer.status != 304 && !response.body().empty()) {
    // Non-ring answers carry stekd's {"error": "..."}: keep it for the error message.
    const std::string text = short_text(response.body());
    answer.body = SecretBytes::copy_of(as_bytes(text));
  }
  return answer;
}

}  // namespace stek::agent

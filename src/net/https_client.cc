// The HTTPS client: asio::ssl and Boost.Beast on the caller's io_context. Each request runs
// asynchronously under one timer (connect phase, then read phase), so every step is bounded
// and the caller's other work on the io_context keeps running meanwhile.
#include "https_client.h"

#include <cctype>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "api/host_port.h"

namespace stek::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

Result<Url> parse_https_url(std::string_view url) {
  auto bad = [&](const std::string& why) {
    return make_error(Errc::invalid_argument,
                      "\"" + std::string(url) + "\": " + why + " (expected https://HOST[:PORT])");
  };
  constexpr std::string_view kScheme = "https://";
  if (url.substr(0, kScheme.size()) != kScheme) return bad("only https:// is supported");
  std::string_view rest = url.substr(kScheme.size());
  Url out;
  out.text = std::string(url);
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view path = rest.substr(slash);
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    out.base_path = std::string(path);
    rest = rest.substr(0, slash);
  }
  if (url.find_first_of("?#") != std::string_view::npos ||
      rest.find('@') != std::string_view::npos) {
    return bad("no user part, query or fragment");
  }
  // The authority is HOST[:PORT] with IPv6 in brackets: the one parser in src/api.
  auto authority = api::parse_host_port(rest, {.default_port = 443, .allow_port_zero = false});
  if (!authority.ok()) return bad(authority.error().message);
  out.host = authority->host;
  out.port = std::to_string(authority->port);
  boost::system::error_code ec;
  asio::ip::make_address(out.host, ec);
  out.host_is_ip = !ec;
  return out;
}

namespace {

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Answers may hold key bytes: every buffer they pass through is wiped when released.
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

// The TLS policy, on the context every connection of one client shares.
Status apply_tls_policy(SSL_CTX* ctx, const ClientTls& tls) {
  ERR_clear_error();
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
    return make_error(Errc::crypto, "cannot require TLS 1.2: " + openssl_errors());
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, tls.cert.c_str()) != 1) {
    return make_error(Errc::invalid_argument, "client certificate " + tls.cert.string() +
                                                  ": not a PEM certificate chain (" +
                                                  openssl_errors() + ")");
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, tls.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    // OpenSSL's message names the file only: never key material.
    return make_error(Errc::invalid_argument, "client key " + tls.key.string() +
                                                  ": not a PEM private key, or not the key of " +
                                                  tls.cert.string() + " (" + openssl_errors() +
                                                  ")");
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return make_error(Errc::invalid_argument, "client key " + tls.key.string() +
                                                  " does not belong to the certificate " +
                                                  tls.cert.string());
  }
  if (SSL_CTX_load_verify_locations(ctx, tls.ca.c_str(), nullptr) != 1) {
    return make_error(
        Errc::invalid_argument,
        "CA file " + tls.ca.string() + ": not PEM CA certificates (" + openssl_errors() + ")");
  }
  // Only the configured CA: the system trust store has no say over who hands out keys.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  return {};
}

// The per-connection half of the policy: the certificate must name the URL's host.
void expect_server_name(SSL* ssl, const Url& server) {
  if (server.host_is_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), server.host.c_str());
  } else {
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(server.host.c_str()));  // SSL_set_tlsext_host_name, cast-free
    SSL_set1_host(ssl, server.host.c_str());
  }
}

// One request: resolve, connect, handshake, write, read, each step a completion handler.
struct Op : std::enable_shared_from_this<Op> {
  Op(asio::io_context& io, ssl::context& ctx) : resolver(io), stream(io, ctx), timer(io) {}

  tcp::resolver resolver;
  ssl::stream<tcp::socket> stream;
  asio::steady_timer timer;
  http::request<http::string_body> request;
  SecretBuffer buffer;
  http::response_parser<SecretBody> parser;
  std::string server;  // for messages
  std::uint64_t max_body = 0;
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

  void run(const Url& url, const RequestLimits& limits) {
    const auto read_limit = limits.read;
    arm(limits.connect);
    resolver.async_resolve(
        url.host, url.port,
        [op = shared_from_this(), read_limit](error_code ec, tcp::resolver::results_type results) {
          if (ec) return op->fail("resolve", ec);
          asio::async_connect(op->stream.lowest_layer(), results,
                              [op, read_limit](error_code ec2, const tcp::endpoint&) {
                                if (ec2) return op->fail("connect", ec2);
                                op->handshake(read_limit);
                              });
        });
  }

  void handshake(std::chrono::milliseconds read_limit) {
    stream.async_handshake(
        ssl::stream_base::client, [op = shared_from_this(), read_limit](error_code ec) {
          if (ec) return op->fail("TLS handshake", ec);
          http::async_write(op->stream, op->request, [op, read_limit](error_code ec2, std::size_t) {
            if (ec2) return op->fail("send request", ec2);
            op->read(read_limit);
          });
        });
  }

  void read(std::chrono::milliseconds read_limit) {
    timer.cancel();
    arm(read_limit);
    http::async_read_header(
        stream, buffer, parser, [op = shared_from_this()](error_code ec, std::size_t) {
          if (ec) return op->fail("read answer", ec);
          // Boost 1.74's parser does not hold a Content-Length to body_limit (it does hold
          // chunked and unframed bodies to it): refuse an announced oversize body here.
          if (const auto length = op->parser.content_length(); length && *length > op->max_body) {
            return op->fail("read answer", http::error::body_limit);
          }
          http::async_read(op->stream, op->buffer, op->parser, [op](error_code ec2, std::size_t) {
            if (ec2) return op->fail("read answer", ec2);
            op->finish();
          });
        });
  }
};

std::string host_header(const Url& url) {
  return url.host.find(':') != std::string::npos ? "[" + url.host + "]:" + url.port
                                                 : url.host + ":" + url.port;
}

http::verb verb_of(const std::string& method) {
  const http::verb v = http::string_to_verb(method);
  return v == http::verb::unknown ? http::verb::get : v;
}

}  // namespace

const std::string* HttpResponse::header(std::string_view name) const {
  const auto it = headers.find(lowercase(name));
  return it == headers.end() ? nullptr : &it->second;
}

struct HttpsClient::Impl {
  Impl(asio::io_context& i, std::string ua)
      : io(i), ctx(ssl::context::tls_client), user_agent(std::move(ua)) {}
  asio::io_context& io;
  ssl::context ctx;
  std::string user_agent;
  std::shared_ptr<Op> current;
};

HttpsClient::HttpsClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpsClient::~HttpsClient() = default;

Result<std::unique_ptr<HttpsClient>> HttpsClient::make(asio::io_context& io, const ClientTls& tls,
                                                       std::string user_agent) {
  auto impl = std::make_unique<Impl>(io, std::move(user_agent));
  STEK_TRY(apply_tls_policy(impl->ctx.native_handle(), tls));
  return std::unique_ptr<HttpsClient>(new HttpsClient(std::move(impl)));
}

void HttpsClient::cancel() {
  if (auto op = impl_->current; op && !op->done) {
    op->cancelled = true;
    op->abort();
  }
}

Result<HttpResponse> HttpsClient::request(const Url& server, const HttpRequest& req) {
  auto op = std::make_shared<Op>(impl_->io, impl_->ctx);
  impl_->current = op;
  op->server = server.text;
  op->max_body = req.limits.max_body;
  op->parser.body_limit(req.limits.max_body);
  op->parser.header_limit(16 * 1024);
  op->request =
      http::request<http::string_body>(verb_of(req.method), server.base_path + req.target, 11);
  op->request.set(http::field::host, host_header(server));
  op->request.set(http::field::user_agent, impl_->user_agent);
  op->request.set(http::field::connection, "close");
  op->request.body() = req.body;
  op->request.prepare_payload();
  expect_server_name(op->stream.native_handle(), server);

  op->run(server, req.limits);
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
  HttpResponse out;
  out.status = response.result_int();
  for (const auto& field : response) {
    out.headers[lowercase(field.name_string())] =
        std::string(field.value().data(), field.value().size());
  }
  out.body = std::move(response.body());
  return out;
}

Result<HttpResponse> https_request(const ClientTls& tls, const Url& url, const std::string& method,
                                   const std::string& target, const std::string& body,
                                   std::chrono::seconds timeout) {
  asio::io_context io;
  STEK_ASSIGN_OR_RETURN(auto client, HttpsClient::make(io, tls, "stek"));
  HttpRequest request;
  request.method = method;
  request.target = target;
  request.body = body;
  request.limits.connect = timeout;
  request.limits.read = timeout;
  request.limits.max_body = 16 << 20;
  return client->request(url, request);
}

}  // namespace stek::net

// Blocking Beast HTTPS client with a deadline.
#include "https_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>

namespace stek::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

Result<Url> parse_https_url(const std::string& url) {
  static constexpr std::string_view kScheme = "https://";
  if (url.rfind(kScheme, 0) != 0) return make_error(Errc::invalid_argument, "\"" + url + "\" is not an https:// URL");
  std::string rest = url.substr(kScheme.size());
  Url u;
  const auto slash = rest.find('/');
  if (slash != std::string::npos) {
    u.base_path = rest.substr(slash);
    while (!u.base_path.empty() && u.base_path.back() == '/') u.base_path.pop_back();
    rest = rest.substr(0, slash);
  }
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string::npos) return make_error(Errc::invalid_argument, "bad IPv6 address in " + url);
    u.host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') u.port = rest.substr(close + 2);
  } else {
    const auto colon = rest.rfind(':');
    u.host = rest.substr(0, colon);
    if (colon != std::string::npos) u.port = rest.substr(colon + 1);
  }
  if (u.host.empty() || u.port.empty() || u.port.find_first_not_of("0123456789") != std::string::npos) {
    return make_error(Errc::invalid_argument, "\"" + url + "\" has no valid host and port");
  }
  return u;
}

Result<HttpResponse> https_request(const ClientTls& tls, const Url& url, const std::string& method,
                                   const std::string& target, const std::string& body,
                                   std::chrono::seconds timeout) {
  asio::io_context io;
  ssl::context ctx(ssl::context::tls_client);
  boost::system::error_code ec;
  ctx.set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  ctx.load_verify_file(tls.ca.string(), ec);
  if (ec) return make_error(Errc::io, tls.ca.string() + ": cannot load CA: " + ec.message());
  ctx.use_certificate_chain_file(tls.cert.string(), ec);
  if (ec) return make_error(Errc::io, tls.cert.string() + ": cannot load certificate: " + ec.message());
  ctx.use_private_key_file(tls.key.string(), ssl::context::pem, ec);
  if (ec) return make_error(Errc::io, tls.key.string() + ": cannot load key: " + ec.message());
  ctx.set_verify_mode(ssl::verify_peer);

  beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
  // Name the server for SNI and for certificate checks (an IP address or a DNS name).
  boost::system::error_code addr_ec;
  asio::ip::make_address(url.host, addr_ec);
  if (addr_ec) SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(url.host.c_str()));
  stream.set_verify_callback(ssl::host_name_verification(url.host));

  HttpResponse out;
  Status status;
  tcp::resolver resolver(io);
  const std::string where = url.host + ":" + url.port;
  auto fail = [&](const std::string& what, const boost::system::error_code& e) {
    status = make_error(Errc::io, where + ": " + what + ": " + e.message());
  };
  beast::flat_buffer buffer;
  http::request<http::string_body> req{method == "POST" ? http::verb::post : http::verb::get, url.base_path + target, 11};
  req.set(http::field::host, url.host);
  req.set(http::field::user_agent, "stek");
  req.body() = body;
  req.prepare_payload();
  http::response_parser<http::string_body> parser;
  parser.body_limit(16 << 20);

  beast::get_lowest_layer(stream).expires_after(timeout);
  resolver.async_resolve(url.host, url.port, [&](const boost::system::error_code& e, tcp::resolver::results_type r) {
    if (e) return fail("resolve", e);
    beast::get_lowest_layer(stream).async_connect(r, [&](const boost::system::error_code& e2, const tcp::endpoint&) {
      if (e2) return fail("connect", e2);
      stream.async_handshake(ssl::stream_base::client, [&](const boost::system::error_code& e3) {
        if (e3) return fail("TLS handshake", e3);
        http::async_write(stream, req, [&](const boost::system::error_code& e4, std::size_t) {
          if (e4) return fail("write", e4);
          http::async_read(stream, buffer, parser, [&](const boost::system::error_code& e5, std::size_t) {
            if (e5) return fail("read", e5);
            auto res = parser.release();
            out.status = res.result_int();
            for (const auto& f : res) {
              std::string name(f.name_string().data(), f.name_string().size());
              for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
              out.headers[name] = std::string(f.value().data(), f.value().size());
            }
            out.body = std::move(res.body());
            beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
            stream.async_shutdown([](const boost::system::error_code&) {});
          });
        });
      });
    });
  });
  io.run();
  if (!status.ok()) return status.error();
  if (out.status == 0) return make_error(Errc::io, where + ": no response");
  return out;
}

}  // namespace stek::net

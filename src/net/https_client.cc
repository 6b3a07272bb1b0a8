// Blocking Beast HTTPS client with a deadline.
#include "https_client.h"

#include <charconv>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
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
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return bad("unclosed [");
    out.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("junk after ]");
      port = rest.substr(1);
    }
  } else {
    const auto colon = rest.rfind(':');
    out.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port = rest.substr(colon + 1);
  }
  if (out.host.empty()) return bad("no host");
  if (port.empty()) port = "443";
  unsigned value = 0;
  auto [end, err] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (err != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
    return bad("bad port");
  }
  out.port = std::string(port);
  boost::system::error_code ec;
  asio::ip::make_address(out.host, ec);
  out.host_is_ip = !ec;
  return out;
}

Result<HttpResponse> https_request(const ClientTls& tls, const Url& url, const std::string& method,
                                   const std::string& target, const std::string& body,
                                   std::chrono::seconds timeout) {
  asio::io_context io;
  ssl::context ctx(ssl::context::tls_client);
  boost::system::error_code ec;
  ctx.set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                  ssl::context::no_tlsv1_1);
  ctx.load_verify_file(tls.ca.string(), ec);
  if (ec) return make_error(Errc::io, tls.ca.string() + ": cannot load CA: " + ec.message());
  ctx.use_certificate_chain_file(tls.cert.string(), ec);
  if (ec)
    return make_error(Errc::io, tls.cert.string() + ": cannot load certificate: " + ec.message());
  ctx.use_private_key_file(tls.key.string(), ssl::context::pem, ec);
  if (ec) return make_error(Errc::io, tls.key.string() + ": cannot load key: " + ec.message());
  ctx.set_verify_mode(ssl::verify_peer);

  beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
  // Name the server for SNI and for certificate checks (an IP address or a DNS name).
  boost::system::error_code addr_ec;
  asio::ip::make_address(url.host, addr_ec);
  if (addr_ec)
    SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(url.host.c_str()));
  stream.set_verify_callback(ssl::host_name_verification(url.host));

  HttpResponse out;
  Status status;
  tcp::resolver resolver(io);
  const std::string where = url.host + ":" + url.port;
  auto fail = [&](const std::string& what, const boost::system::error_code& e) {
    status = make_error(Errc::io, where + ": " + what + ": " + e.message());
  };
  beast::flat_buffer buffer;
  http::request<http::string_body> req{method == "POST" ? http::verb::post : http::verb::get,
                                       url.base_path + target, 11};
  req.set(http::field::host, url.host);
  req.set(http::field::user_agent, "stek");
  req.body() = body;
  req.prepare_payload();
  http::response_parser<http::string_body> parser;
  parser.body_limit(16 << 20);

  beast::get_lowest_layer(stream).expires_after(timeout);
  resolver.async_resolve(
      url.host, url.port, [&](const boost::system::error_code& e, tcp::resolver::results_type r) {
        if (e) return fail("resolve", e);
        beast::get_lowest_layer(stream).async_connect(r, [&](const boost::system::error_code& e2,
                                                             const tcp::endpoint&) {
          if (e2) return fail("connect", e2);
          stream.async_handshake(
              ssl::stream_base::client, [&](const boost::system::error_code& e3) {
                if (e3) return fail("TLS handshake", e3);
                http::async_write(
                    stream, req, [&](const boost::system::error_code& e4, std::size_t) {
                      if (e4) return fail("write", e4);
                      http::async_read(
                          stream, buffer, parser,
                          [&](const boost::system::error_code& e5, std::size_t) {
                            if (e5) return fail("read", e5);
                            auto res = parser.release();
                            out.status = res.result_int();
                            for (const auto& f : res) {
                              std::string name(f.name_string().data(), f.name_string().size());
                              for (char& c : name)
                                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
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

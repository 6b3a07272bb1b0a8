// The HTTPS client against a real TLS server on 127.0.0.1, on the same io_context: the TLS
// policy (configured CA only, host name or IP checked, client certificate sent), the limits
// (time, response size) and cancellation.
#include "https_client.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

#include "pki.h"

namespace stek::net {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;

// A dev PKI (stekctl pki init) in a temporary directory: ca, stekd (the server) and
// admin-admin (a client).
class Pki {
 public:
  explicit Pki(std::vector<std::string> server_names = {"localhost", "127.0.0.1"}) {
    std::string tmpl = (fs::temp_directory_path() / "stek-net-test-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    ctl::PkiInitArgs args;
    args.dir = dir_;
    args.server_names = std::move(server_names);
    auto made = ctl::pki_init(args);
    EXPECT_TRUE(made.ok()) << made.error().message;
  }
  ~Pki() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path operator/(const std::string& name) const { return dir_ / name; }
  ClientTls client() const {
    return {dir_ / "admin-admin.crt", dir_ / "admin-admin.key", dir_ / "ca.crt"};
  }

 private:
  fs::path dir_;
};

// A TLS server that requires a client certificate from the PKI's CA, reads one request and
// sends `answer` (raw HTTP), or nothing when `answer` is empty.
class TestServer {
 public:
  TestServer(asio::io_context& io, const Pki& pki, std::string answer)
      : ctx_(ssl::context::tls_server),
        acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        answer_(std::move(answer)) {
    ctx_.use_certificate_chain_file((pki / "stekd.crt").string());
    ctx_.use_private_key_file((pki / "stekd.key").string(), ssl::context::pem);
    ctx_.load_verify_file((pki / "ca.crt").string());
    ctx_.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    accept();
  }
  std::string port() const { return std::to_string(acceptor_.local_endpoint().port()); }
  bool client_certificate_seen = false;
  std::string request;

 private:
  using Stream = ssl::stream<tcp::socket>;
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec) return;
      auto stream = std::make_shared<Stream>(std::move(socket), ctx_);
      stream->async_handshake(
          ssl::stream_base::server, [this, stream](boost::system::error_code e) {
            if (e) return;
            client_certificate_seen = SSL_get0_peer_certificate(stream->native_handle()) != nullptr;
            read(stream);
          });
      accept();
    });
  }
  void read(std::shared_ptr<Stream> stream) {
    asio::async_read_until(*stream, asio::dynamic_buffer(request), "\r\n\r\n",
                           [this, stream](boost::system::error_code e, std::size_t) {
                             if (e || answer_.empty()) {
                               held_.push_back(stream);  // silent: keep the connection open
                               return;
                             }
                             asio::async_write(*stream, asio::buffer(answer_),
                                               [stream](boost::system::error_code, std::size_t) {});
                           });
  }

  ssl::context ctx_;
  tcp::acceptor acceptor_;
  std::string answer_;
  std::vector<std::shared_ptr<Stream>> held_;
};

std::string http_answer(const std::string& body, const std::string& extra_headers = "") {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + extra_headers +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

Url url(const std::string& text) {
  auto u = parse_https_url(text);
  EXPECT_TRUE(u.ok()) << text;
  return *u;
}

HttpRequest get(const std::string& target, milliseconds read = milliseconds(10000)) {
  HttpRequest r;
  r.target = target;
  r.limits.read = read;
  return r;
}

TEST(HttpsClient, SendsItsCertificateAndReadsTheAnswer) {
  Pki pki;
  asio::io_context io;
  TestServer server(io, pki, http_answer("{\"ok\":true}", "X-Stek-Ring-Version: 42\r\n"));
  auto client = HttpsClient::make(io, pki.client(), "stek-test/1");
  ASSERT_TRUE(client.ok()) << client.error().message;
  auto r = (*client)->request(url("https://127.0.0.1:" + server.port()), get("/v1/x?a=1"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(std::string(r->body.begin(), r->body.end()), "{\"ok\":true}");
  EXPECT_EQ(r->headers.at("x-stek-ring-version"), "42");
  EXPECT_TRUE(server.client_certificate_seen);
  EXPECT_EQ(server.request.rfind("GET /v1/x?a=1 HTTP/1.1\r\n", 0), 0u);
  EXPECT_NE(server.request.find("User-Agent: stek-test/1"), std::string::npos);
}

TEST(HttpsClient, ChecksADnsNameAgainstTheCertificate) {
  Pki pki;
  asio::io_context io;
  TestServer server(io, pki, http_answer("{}"));
  auto client = HttpsClient::make(io, pki.client(), "stek-test/1");
  ASSERT_TRUE(client.ok());
  auto r = (*client)->request(url("https://localhost:" + server.port()), get("/"));
  ASSERT_TRUE(r.ok()) << r.error().message;
}

TEST(HttpsClient, RefusesAServerCertificateForAnotherHost) {
  Pki pki({"stekd.example"});
  asio::io_context io;
  TestServer server(io, pki, http_answer("{}"));
  auto client = HttpsClient::make(io, pki.client(), "stek-test/1");
  ASSERT_TRUE(client.ok());
  auto by_ip = (*client)->request(url("https://127.0.0.1:" + server.port()), get("/"));
  ASSERT_FALSE(by_ip.ok());
  EXPECT_EQ(by_ip.error().code, Errc::io);
  auto by_name = (*client)->request(url("https://localhost:" + server.port()), get("/"));
  EXPECT_FALSE(by_name.ok());
}

TEST(HttpsClient, TrustsOnlyTheConfiguredCa) {
  Pki pki;
  Pki other;
  asio::io_context io;
  TestServer server(io, pki, http_answer("{}"));
  ClientTls tls = pki.client();
  tls.ca = other / "ca.crt";
  auto client = HttpsClient::make(io, tls, "stek-test/1");
  ASSERT_TRUE(client.ok());
  auto r = (*client)->request(url("https://127.0.0.1:" + server.port()), get("/"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("TLS handshake"), std::string::npos);
}

TEST(HttpsClient, RefusesAnAnswerLargerThanTheLimit) {
  Pki pki;
  asio::io_context io;
  TestServer server(io, pki, http_answer(std::string(4096, 'x')));
  auto client = HttpsClient::make(io, pki.client(), "stek-test/1");
  ASSERT_TRUE(client.ok());
  HttpRequest request = get("/");
  request.limits.max_body = 1024;
  auto r = (*client)->request(url("https://127.0.0.1:" + server.port()), request);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::io);
}

TEST(HttpsClient, GivesUpOnASilentServerAfterTheReadLimit) {
  Pki pki;
  asio::io_context io;
  TestServer server(io, pki, "");
  auto client = HttpsClient::make(io, pki.client(), "stek-test/1");
  ASSERT_TRUE(client.ok());
  const auto start = std::chrono::steady_clock::now();
  auto r =
      (*client)->request(url("https://127.0.0.1:" + server.port()), get("/", milliseconds(300)));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("no progress within 300 ms"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(HttpsClient, CancelEndsALongPollAtOnce) {
  Pki pki;
  asio::io_context io;
  TestServer server(io, pki, "");
  auto client = HttpsClient::make(io, pki.client(), "stek-test/1");
  ASSERT_TRUE(client.ok());
  asio::steady_timer shutdown(io);
  shutdown.expires_after(milliseconds(300));
  shutdown.async_wait([&](boost::system::error_code) { (*client)->cancel(); });
  const auto start = std::chrono::steady_clock::now();
  auto r = (*client)->request(url("https://127.0.0.1:" + server.port()),
                              get("/", std::chrono::minutes(10)));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("cancelled"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(HttpsClient, NamesTheFileThatCannotBeLoaded) {
  Pki pki;
  asio::io_context io;
  ClientTls tls = pki.client();
  tls.cert = pki / "missing.crt";
  auto missing = HttpsClient::make(io, tls, "stek-test/1");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::invalid_argument);
  EXPECT_NE(missing.error().message.find("missing.crt"), std::string::npos);

  tls = pki.client();
  tls.key = pki / "stekd.key";  // another certificate's key
  auto mismatch = HttpsClient::make(io, tls, "stek-test/1");
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.error().code, Errc::invalid_argument);
  EXPECT_NE(mismatch.error().message.find("stekd.key"), std::string::npos);
}

TEST(HttpsRequest, OneShotRequestForCommandLineTools) {
  Pki pki;
  // The server runs on its own thread's io_context: https_request blocks on a private one.
  asio::io_context io;
  TestServer server(io, pki, http_answer("{\"epoch\":1}"));
  std::thread runner([&io] { io.run_for(std::chrono::seconds(20)); });
  auto r = https_request(pki.client(), url("https://127.0.0.1:" + server.port()), "POST",
                         "/v1/admin/x", "", std::chrono::seconds(10));
  io.stop();
  runner.join();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(server.request.rfind("POST /v1/admin/x HTTP/1.1\r\n", 0), 0u);
}

TEST(ParseHttpsUrl, TakesHostPortAndPath) {
  auto u = parse_https_url("https://[::1]:8443/base/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, "8443");
  EXPECT_EQ(u->base_path, "/base");
  EXPECT_TRUE(u->host_is_ip);
  auto name = parse_https_url("https://stekd.example");
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(name->port, "443");
  EXPECT_FALSE(name->host_is_ip);
}

TEST(ParseHttpsUrl, RefusesOtherSchemesUserPartsQueriesAndBadPorts) {
  EXPECT_FALSE(parse_https_url("http://h").ok());
  EXPECT_FALSE(parse_https_url("https://u@h").ok());
  EXPECT_FALSE(parse_https_url("https://h/?q").ok());
  EXPECT_FALSE(parse_https_url("https://h:0").ok());
  EXPECT_FALSE(parse_https_url("https://h:65536").ok());
  EXPECT_FALSE(parse_https_url("https://[::1").ok());
}

}  // namespace
}  // namespace stek::net

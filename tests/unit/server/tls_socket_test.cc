// TlsSocket with real sockets on 127.0.0.1 and stekd's own TLS context (load_server_tls, a
// development PKI): Beast writes an HTTP response through it to an OpenSSL client with an
// admin certificate, on a thread of its own, which counts the TLS records it receives.
#include "tls_socket.h"

#include <chrono>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include "pki.h"
#include "tls_context.h"

namespace stek::server {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;

// What the client saw: the plaintext after the handshake, and how many application-data
// records carried it.
struct Received {
  std::string bytes;
  int records = 0;
  bool ok = false;
};

void count_app_records(int write_p, int /*version*/, int content_type, const void* buf,
                       std::size_t len, SSL* /*ssl*/, void* arg) {
  // TLS 1.3 reports each record's inner content type; 23 is application data.
  if (write_p == 0 && content_type == SSL3_RT_INNER_CONTENT_TYPE && len == 1 &&
      *static_cast<const unsigned char*>(buf) == SSL3_RT_APPLICATION_DATA) {
    ++static_cast<Received*>(arg)->records;
  }
}

// Connects, waits `delay_reading` (so a large answer fills the socket and the server's writes
// meet WANT_WRITE), then reads until `want` bytes came or the server closed.
Received read_as_client(const fs::path& pki, unsigned short port, std::size_t want,
                        std::chrono::milliseconds delay_reading = {}) {
  Received out;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_use_certificate_chain_file(ctx, (pki / "admin-admin.crt").c_str());
  SSL_CTX_use_PrivateKey_file(ctx, (pki / "admin-admin.key").c_str(), SSL_FILETYPE_PEM);
  SSL* ssl = SSL_new(ctx);
  SSL_set_msg_callback(ssl, count_app_records);
  SSL_set_msg_callback_arg(ssl, &out);
  asio::io_context io;
  tcp::socket socket(io);
  boost::system::error_code ec;
  socket.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  if (!ec && SSL_set_fd(ssl, static_cast<int>(socket.native_handle())) == 1 &&
      SSL_connect(ssl) == 1) {
    std::this_thread::sleep_for(delay_reading);
    char buf[65536];
    std::size_t n = 0;
    while (out.bytes.size() < want && SSL_read_ex(ssl, buf, sizeof buf, &n) == 1) {
      out.bytes.append(buf, n);
    }
    out.ok = out.bytes.size() == want;
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return out;
}

struct SocketRig {
  SocketRig()
      : dir(fs::path(::testing::TempDir()) / ("stek-tls-socket-" + std::to_string(::getpid()))) {
    fs::remove_all(dir);
    ctl::PkiInitArgs pki;
    pki.dir = dir;
    EXPECT_TRUE(ctl::pki_init(pki).ok());
    auto trust = load_server_tls(
        ctx, {.cert = dir / "stekd.crt", .key = dir / "stekd.key", .client_ca = dir / "ca.crt"});
    EXPECT_TRUE(trust.ok()) << trust.error().message;
    acceptor.open(tcp::v4());
    acceptor.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor.listen();
  }
  ~SocketRig() { fs::remove_all(dir); }

  // Serves one response with `fields` header fields and `body` through a TlsSocket, to a
  // client that reads as read_as_client does; returns what the client received.
  Received serve(int fields, const std::string& body, std::chrono::milliseconds delay = {}) {
    http::response<http::string_body> response{http::status::ok, 11};
    for (int i = 0; i < fields; ++i) response.set("x-field-" + std::to_string(i), "value");
    response.body() = body;
    response.prepare_payload();
    const std::string expected = [&] {
      std::ostringstream s;
      s << response;
      return s.str();
    }();
    Received got;
    std::thread client([&] {
      got = read_as_client(dir, acceptor.local_endpoint().port(), expected.size(), delay);
    });
    TlsSocket stream(acceptor.accept(), ctx.native_handle());
    boost::system::error_code result = asio::error::would_block;
    stream.async_handshake([&](boost::system::error_code ec) {
      if (ec) {
        result = ec;
        return;
      }
      http::async_write(stream, response,
                        [&](boost::system::error_code ec2, std::size_t) { result = ec2; });
    });
    io.run_for(std::chrono::seconds(30));
    stream.socket().close();
    client.join();
    EXPECT_FALSE(result) << result.message();
    EXPECT_TRUE(got.bytes == expected)
        << "received " << got.bytes.size() << " of " << expected.size() << " bytes";
    return got;
  }

  fs::path dir;
  asio::ssl::context ctx{asio::ssl::context::tls_server};
  asio::io_context io;
  tcp::acceptor acceptor{io};
};

TEST(TlsSocketWrite, AnHttpHeaderAndSmallBodyLeaveInOneRecord) {
  SocketRig rig;
  // A ring answer: a dozen header fields (Beast gives each its own buffer) and 1.4 KB.
  const Received got = rig.serve(12, std::string(1400, 'k'));
  ASSERT_TRUE(got.ok);
  EXPECT_EQ(got.records, 1);
}

TEST(TlsSocketWrite, AnAnswerLargerThanOneRecordArrivesWholeInFullRecords) {
  SocketRig rig;
  const std::string body(100000, 'b');
  const Received got = rig.serve(3, body);
  ASSERT_TRUE(got.ok);
  // 100 KB and a header in records of up to 16 KiB: seven, not one per buffer and part.
  EXPECT_EQ(got.records, static_cast<int>((got.bytes.size() + 16383) / 16384));
}

TEST(TlsSocketWrite, AWriteThatMeetsAFullSocketIsRetriedWithTheSameBytes) {
  SocketRig rig;
  // 8 MB against a client that starts reading only after 300 ms (not a wait for anything:
  // the bytes must match however the two interleave), so the socket buffers fill, OpenSSL
  // says WANT_WRITE, and the record it holds is sent again when the socket drains.
  std::string body(8 << 20, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 23);
  const Received got = rig.serve(2, body, std::chrono::milliseconds(300));
  ASSERT_TRUE(got.ok);
}

}  // namespace
}  // namespace stek::server

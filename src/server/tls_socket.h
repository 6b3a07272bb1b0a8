// TlsSocket: a server-side TLS connection in which OpenSSL reads and writes the non-blocking
// socket itself, with asio only waiting for readiness; a Beast AsyncStream (async_read_some,
// async_write_some) plus handshake and shutdown.
//
// Why not asio's ssl::stream: it keeps four 17 KiB buffers for each connection's whole life
// (its own input and output buffers and a BIO pair between them and OpenSSL), 68 of the
// 85 KiB an idle long poll cost stekd. Here the only record buffers are OpenSSL's, and
// SSL_MODE_RELEASE_BUFFERS gives them back whenever the connection is idle.
//
// One operation at a time in each direction, on one thread (stekd's event loop), as Beast's
// HTTP reads and writes use it. After the socket is closed every operation fails with
// bad_descriptor without touching OpenSSL, whose descriptor number may belong to a newer
// connection by then.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <type_traits>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "stek/secret.h"

namespace stek::server {

class TlsSocket {
 public:
  using socket_type = boost::asio::ip::tcp::socket;
  using executor_type = socket_type::executor_type;

  // Takes the accepted socket; `ctx` must outlive this object. native_handle() is null if
  // OpenSSL could not make the connection (every operation then fails).
  TlsSocket(socket_type socket, SSL_CTX* ctx) : socket_(std::move(socket)), ssl_(SSL_new(ctx)) {
    boost::system::error_code ec;
    socket_.non_blocking(true, ec);
    if (ssl_ != nullptr &&
        (ec || SSL_set_fd(ssl_, static_cast<int>(socket_.native_handle())) != 1)) {
      SSL_free(ssl_);
      ssl_ = nullptr;
    }
    if (ssl_ == nullptr) return;
    SSL_set_accept_state(ssl_);
    // A record may be sent in parts (partial writes); a write retried after WANT_WRITE offers
    // the same bytes, and moving them is allowed as well.
    SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                           SSL_MODE_RELEASE_BUFFERS);
  }
  ~TlsSocket() { SSL_free(ssl_); }
  TlsSocket(const TlsSocket&) = delete;
  TlsSocket& operator=(const TlsSocket&) = delete;

  executor_type get_executor() { return socket_.get_executor(); }
  SSL* native_handle() { return ssl_; }
  socket_type& socket() { return socket_; }

  template <class Handler>
  auto async_handshake(Handler&& handler) {
    return start<false>([](SSL* ssl, std::size_t&) { return SSL_do_handshake(ssl); },
                        std::forward<Handler>(handler));
  }

  template <class MutableBuffers, class Handler>
  auto async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    boost::asio::mutable_buffer first;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers) && first.size() == 0; ++it) {
      first = *it;
    }
    return start<true>(
        [first](SSL* ssl, std::size_t& n) {
          if (first.size() == 0) return 1;
          return SSL_read_ex(ssl, first.data(), first.size(), &n);
        },
        std::forward<Handler>(handler));
  }

  // Writes the start of the buffers, up to one full TLS record (16 KiB), as one record: Beast
  // hands over an HTTP header as one small buffer per field, and a record (and a send) for
  // each made a ring answer ten records instead of one. They are copied into a buffer that
  // lives while the write does and is wiped after it: a ring answer holds key bytes. The
  // copy is made once, so a write retried after WANT_WRITE offers OpenSSL the same bytes.
  template <class ConstBuffers, class Handler>
  auto async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    return start<true>(
        [buffers, record = SecretBytes()](SSL* ssl, std::size_t& n) mutable {
          if (record.empty()) {
            const std::size_t size =
                std::min<std::size_t>(boost::asio::buffer_size(buffers), SSL3_RT_MAX_PLAIN_LENGTH);
            if (size == 0) return 1;
            record = SecretBytes(size);
            boost::asio::buffer_copy(boost::asio::buffer(record.data(), size), buffers);
          }
          return SSL_write_ex(ssl, record.data(), record.size(), &n);
        },
        std::forward<Handler>(handler));
  }

  // Sends close_notify and waits for the peer's (or its end of the connection).
  template <class Handler>
  auto async_shutdown(Handler&& handler) {
    return start<false>(
        [](SSL* ssl, std::size_t&) {
          const int r = SSL_shutdown(ssl);
          return r == 0 ? SSL_shutdown(ssl) : r;
        },
        std::forward<Handler>(handler));
  }

 private:
  // Runs `attempt` (an OpenSSL call: 1 when done) until it is done or fails, waiting for the
  // socket between tries. Never completes inside the initiating call.
  template <bool WithSize, class Attempt>
  struct Op {
    TlsSocket& s;
    Attempt attempt;
    std::size_t bytes = 0;
    bool started = false;
    bool finished = false;
    boost::system::error_code result;

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}) {
      const bool initiating = !started;
      started = true;
      if (!finished) {
        bool want_read = false;
        if (ec) {
          finish(ec);
        } else if (!s.socket_.is_open() || s.ssl_ == nullptr) {
          finish(boost::asio::error::bad_descriptor);
        } else {
          ERR_clear_error();
          errno = 0;
          const int r = attempt(s.ssl_, bytes);
          if (r == 1) {
            finish({});
          } else {
            switch (SSL_get_error(s.ssl_, r)) {
              case SSL_ERROR_WANT_READ:
                want_read = true;
                break;
              case SSL_ERROR_WANT_WRITE:
                break;
              case SSL_ERROR_ZERO_RETURN:
                finish(boost::asio::error::eof);
                break;
              case SSL_ERROR_SYSCALL:
                finish(errno != 0
                           ? boost::system::error_code(errno, boost::system::system_category())
                           : boost::system::error_code(boost::asio::ssl::error::stream_truncated));
                break;
              default:
                finish(boost::system::error_code(static_cast<int>(ERR_get_error()),
                                                 boost::asio::error::get_ssl_category()));
            }
          }
        }
        if (!finished) {
          s.socket_.async_wait(want_read ? socket_type::wait_read : socket_type::wait_write,
                               std::move(self));
          return;
        }
        if (initiating) {
          boost::asio::post(s.socket_.get_executor(), std::move(self));
          return;
        }
      }
      if constexpr (WithSize) {
        self.complete(result, bytes);
      } else {
        self.complete(result);
      }
    }

    void finish(boost::system::error_code ec) {
      finished = true;
      result = ec;
    }
  };

  template <bool WithSize, class Attempt, class Handler>
  auto start(Attempt attempt, Handler&& handler) {
    using Signature = std::conditional_t<WithSize, void(boost::system::error_code, std::size_t),
                                         void(boost::system::error_code)>;
    return boost::asio::async_compose<Handler, Signature>(
        Op<WithSize, Attempt>{*this, std::move(attempt), 0, false, false, {}}, handler, socket_);
  }

  socket_type socket_;
  SSL* ssl_;
};

}  // namespace stek::server

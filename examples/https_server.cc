// A small event-driven HTTPS server (epoll, one thread, non-blocking OpenSSL) that shows how to
// serve TLS session tickets with libstek. Read it top to bottom: main() sets up the SSL_CTX in
// the chosen mode, then the loop accepts, handshakes, answers one request and closes.
//
//   stek-example-server --cert C --key K --port P --tickets ring --ring /run/stek/ring.json
//   stek-example-server ... --tickets stateless --cache-size 20000   (STEK-less)
//   stek-example-server ... --tickets stateless --server-prefix HEX32 (STEK-less behind a
//                                            balancer that routes by it: docs/routing.md)
//   stek-example-server ... --tickets openssl    (OpenSSL's built-in keys: the benchmark baseline)
//
// GET /        -> "resumed=1 protocol=TLSv1.3 tickets=ring\n"
// GET /status  -> JSON: connection counts and libstek's key status (names, runway; never keys)
//
// It listens on 127.0.0.1 only: it is an example and a test fixture, not a web server.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stek/bytes.h"
#include "stek/openssl.h"

namespace {

struct Config {
  std::string cert, key;
  int port = 0;
  std::string tickets = "ring";  // ring | stateless | openssl | off
  std::string ring;              // stek-agent's JSON ring file, for --tickets ring
  std::string watch = "loop";    // loop: inotify fd in our epoll; thread: libstek's own thread
  std::size_t cache_size = 20480;
  std::string server_prefix;        // 32 hex digits, for --tickets stateless
  std::string early_data = "off";   // off | single-use | replayable
  std::string sid_ctx = "default";  // default | nginx | hex bytes
  std::string min_tls = "1.2";
};

// ------------------------------------------------------------------ setting up the SSL_CTX

// Everything libstek-specific is in this function.
struct Tickets {
  std::shared_ptr<stek::openssl::TicketKeys> keys;          // ring mode only
  std::unique_ptr<stek::openssl::RingFileWatcher> watcher;  // ring mode only
};

stek::Result<Tickets> set_up_tickets(SSL_CTX* ctx, const Config& cfg) {
  Tickets t;
  if (cfg.tickets == "ring") {
    // 1. One TicketKeys per key domain; any number of SSL_CTXs may share it.
    t.keys = std::make_shared<stek::openssl::TicketKeys>();
    // 2. Feed it from stek-agent's ring file. open() reads the file now; a missing or bad file
    //    is reported in status() and handshakes are full ones until a good ring arrives.
    STEK_ASSIGN_OR_RETURN(t.watcher, stek::openssl::RingFileWatcher::open(cfg.ring, t.keys));
    if (cfg.watch == "thread") STEK_TRY(t.watcher->start());
    // 3. Install on the SSL_CTX with the safe defaults (psk_dhe_ke only, no 0-RTT, lifetime
    //    H x I capped at 7 days).
    stek::openssl::InstallOptions options;
    if (cfg.early_data == "replayable") options.early_data = stek::openssl::EarlyData::replayable;
    if (cfg.early_data == "single-use") options.early_data = stek::openssl::EarlyData::single_use;
    if (cfg.sid_ctx == "nginx") {
      // Share tickets with nginx hosts of the same domain: use nginx's session id context.
      STEK_ASSIGN_OR_RETURN(options.session_id_context,
                            stek::openssl::nginx_session_id_context(ctx));
    } else if (cfg.sid_ctx != "default") {
      STEK_ASSIGN_OR_RETURN(stek::SecretBytes raw, stek::from_hex(cfg.sid_ctx));
      options.session_id_context.assign(raw.view().begin(), raw.view().end());
    }
    STEK_TRY(stek::openssl::install(ctx, t.keys, options));
  } else if (cfg.tickets == "stateless") {
    // STEK-less: tickets only name sessions held in this process. With a server prefix every
    // session id begins with it, so a balancer that routes by it brings clients back here.
    stek::openssl::StatefulOptions options{.cache_size = cfg.cache_size};
    if (!cfg.server_prefix.empty()) {
      auto prefix = stek::parse_key_name_hex(cfg.server_prefix);
      if (!prefix.ok()) {
        return stek::make_error(prefix.error().code, "--server-prefix: " + prefix.error().message);
      }
      options.server_prefix = *prefix;
    }
    STEK_TRY(stek::openssl::enable_stateful_tickets(ctx, options));
  } else if (cfg.tickets == "openssl") {
    // OpenSSL's built-in keys: random per process, never rotated. The benchmark baseline.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  } else {
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  }
  return t;
}

SSL_CTX* make_ctx(const Config& cfg) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return nullptr;
  SSL_CTX_set_min_proto_version(ctx, cfg.min_tls == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx, cfg.cert.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, cfg.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    ERR_print_errors_fp(stderr);
    SSL_CTX_free(ctx);
    return nullptr;
  }
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return ctx;
}

// ------------------------------------------------------------------ the event loop

struct Stats {
  std::uint64_t connections = 0, handshakes = 0, resumed = 0, failed = 0;
};

struct Connection {
  int fd = -1;
  SSL* ssl = nullptr;
  enum class State { handshake, read, write } state = State::handshake;
  std::string in, out;
  std::size_t written = 0;
  ~Connection() {
    SSL_free(ssl);
    if (fd >= 0) ::close(fd);
  }
};

class Server {
 public:
  Server(SSL_CTX* ctx, const Config& cfg, Tickets& tickets)
      : ctx_(ctx), cfg_(cfg), tickets_(tickets) {}

  bool listen_on(int port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_, 1024) != 0) {
      std::perror("bind/listen");
      return false;
    }
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    std::printf("listening 127.0.0.1:%d tickets=%s\n", ntohs(addr.sin_port), cfg_.tickets.c_str());
    std::fflush(stdout);
    return true;
  }

  int run() {
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    watch(listener_, EPOLLIN, &listener_);
    // Stop cleanly on SIGTERM/SIGINT: signals arrive as readable events, like everything else.
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    signals_ = ::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    watch(signals_, EPOLLIN, &signals_);
    // libstek's ring watcher in our loop: its inotify fd is one more readable fd, and its
    // timeout makes the loop wake at each epoch boundary to rotate.
    const bool loop_watch = tickets_.watcher && cfg_.watch == "loop";
    if (loop_watch) watch(tickets_.watcher->fd(), EPOLLIN, tickets_.watcher.get());

    epoll_event events[64];
    for (;;) {
      const int timeout = loop_watch ? static_cast<int>(tickets_.watcher->timeout().count()) : -1;
      const int n = ::epoll_wait(epoll_, events, 64, timeout);
      if (n < 0 && errno != EINTR) return 1;
      if (n == 0 && loop_watch) tickets_.watcher->process();  // epoch boundary or retry
      for (int i = 0; i < n; ++i) {
        void* tag = events[i].data.ptr;
        if (tag == &listener_) {
          accept_all();
        } else if (tag == &signals_) {
          return 0;
        } else if (loop_watch && tag == tickets_.watcher.get()) {
          tickets_.watcher->process();
        } else {
          drive(static_cast<Connection*>(tag));
        }
      }
    }
  }

 private:
  void watch(int fd, std::uint32_t events, void* tag) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = tag;
    ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
  }

  void rearm(Connection* c, int ssl_error) {
    epoll_event ev{};
    ev.events = ssl_error == SSL_ERROR_WANT_WRITE ? EPOLLOUT : EPOLLIN;
    ev.data.ptr = c;
    ::epoll_ctl(epoll_, EPOLL_CTL_MOD, c->fd, &ev);
  }

  void close(Connection* c) {
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, c->fd, nullptr);
    delete c;
  }

  void accept_all() {
    for (;;) {
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN: no more pending
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto* c = new Connection;
      c->fd = fd;
      c->ssl = SSL_new(ctx_);
      SSL_set_fd(c->ssl, fd);
      SSL_set_accept_state(c->ssl);
      ++stats_.connections;
      watch(fd, EPOLLIN, c);
      drive(c);
    }
  }

  // Advances one connection as far as it can go without blocking.
  void drive(Connection* c) {
    for (;;) {
      ERR_clear_error();
      switch (c->state) {
        case Connection::State::handshake: {
          const int r = SSL_do_handshake(c->ssl);
          if (r != 1) return wait_or_close(c, r, true);
          ++stats_.handshakes;
          if (SSL_session_reused(c->ssl)) ++stats_.resumed;
          c->state = Connection::State::read;
          break;
        }
        case Connection::State::read: {
          char buf[4096];
          const int r = SSL_read(c->ssl, buf, sizeof buf);
          if (r <= 0) return wait_or_close(c, r, false);
          c->in.append(buf, static_cast<std::size_t>(r));
          if (c->in.find("\r\n\r\n") == std::string::npos) {
            if (c->in.size() > 16384) return close(c);
            break;
          }
          c->out = respond(c);
          c->state = Connection::State::write;
          break;
        }
        case Connection::State::write: {
          const int r = SSL_write(c->ssl, c->out.data() + c->written,
                                  static_cast<int>(c->out.size() - c->written));
          if (r <= 0) return wait_or_close(c, r, false);
          c->written += static_cast<std::size_t>(r);
          if (c->written < c->out.size()) break;
          SSL_shutdown(c->ssl);  // close_notify; we do not wait for the client's
          return close(c);
        }
      }
    }
  }

  void wait_or_close(Connection* c, int r, bool in_handshake) {
    const int err = SSL_get_error(c->ssl, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return rearm(c, err);
    if (in_handshake) ++stats_.failed;
    close(c);
  }

  std::string respond(Connection* c) {
    const bool status = c->in.rfind("GET /status", 0) == 0;
    std::string body;
    if (status) {
      body = "{\"tickets\":\"" + cfg_.tickets +
             "\",\"connections\":" + std::to_string(stats_.connections) +
             ",\"handshakes\":" + std::to_string(stats_.handshakes) +
             ",\"resumed\":" + std::to_string(stats_.resumed) +
             ",\"failed\":" + std::to_string(stats_.failed) + ",\"cached_sessions\":" +
             std::to_string(cfg_.tickets == "stateless" ? stek::openssl::stateful_sessions(ctx_)
                                                        : SSL_CTX_sess_number(ctx_));
      if (tickets_.keys)
        body += ",\"keys\":" + stek::openssl::key_status_json(tickets_.keys->status());
      body += "}\n";
    } else {
      body = std::string("resumed=") + (SSL_session_reused(c->ssl) ? "1" : "0") +
             " protocol=" + SSL_get_version(c->ssl) + " tickets=" + cfg_.tickets + "\n";
    }
    return "HTTP/1.1 200 OK\r\nContent-Type: " +
           std::string(status ? "application/json" : "text/plain") +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
           body;
  }

  SSL_CTX* ctx_;
  const Config& cfg_;
  Tickets& tickets_;
  Stats stats_;
  int listener_ = -1, epoll_ = -1, signals_ = -1;
};

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  CLI::App app{
      "stek-example-server: an HTTPS server on 127.0.0.1 that serves TLS session tickets "
      "with libstek (see docs/libstek.md)"};
  app.add_option("--cert", cfg.cert, "Certificate chain (PEM)")->required();
  app.add_option("--key", cfg.key, "Private key (PEM)")->required();
  app.add_option("--port", cfg.port, "TCP port on 127.0.0.1 (0: any free port, printed)")
      ->capture_default_str();
  app.add_option("--tickets", cfg.tickets,
                 "ring: stek's keys from --ring; stateless: STEK-less (server-side sessions); "
                 "openssl: OpenSSL's built-in keys; off: no resumption")
      ->check(CLI::IsMember({"ring", "stateless", "openssl", "off"}))
      ->capture_default_str();
  app.add_option("--ring", cfg.ring, "stek-agent's JSON ring file (for --tickets ring)");
  app.add_option("--watch", cfg.watch,
                 "loop: the ring file's inotify fd joins this server's epoll loop; thread: "
                 "libstek watches on its own thread")
      ->check(CLI::IsMember({"loop", "thread"}))
      ->capture_default_str();
  app.add_option("--cache-size", cfg.cache_size, "Sessions held in stateless mode")
      ->capture_default_str();
  app.add_option("--server-prefix", cfg.server_prefix,
                 "Stateless mode: 32 hex digits (16 bytes) that begin every session id and TLS "
                 "1.3 ticket, unique per server, for routing by HAProxy (docs/routing.md)");
  app.add_option("--early-data", cfg.early_data, "0-RTT: off, single-use or replayable (see docs)")
      ->check(CLI::IsMember({"off", "single-use", "replayable"}))
      ->capture_default_str();
  app.add_option("--sid-ctx", cfg.sid_ctx,
                 "Session id context: default (OpenSSL's, empty), nginx (to share tickets with "
                 "nginx), or hex bytes")
      ->capture_default_str();
  app.add_option("--min-tls", cfg.min_tls, "Lowest TLS version: 1.2 or 1.3")
      ->check(CLI::IsMember({"1.2", "1.3"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (cfg.tickets == "ring" && cfg.ring.empty()) {
    std::cerr << "stek-example-server: --tickets ring needs --ring FILE\n";
    return 2;
  }
  if (!cfg.server_prefix.empty() && cfg.tickets != "stateless") {
    std::cerr << "stek-example-server: --server-prefix is for --tickets stateless\n";
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);

  SSL_CTX* ctx = make_ctx(cfg);
  if (ctx == nullptr) return 1;
  auto tickets = set_up_tickets(ctx, cfg);
  if (!tickets.ok()) {
    std::cerr << "stek-example-server: " << tickets.error().message << "\n";
    SSL_CTX_free(ctx);
    return 1;
  }
  if (tickets->keys) {
    const auto s = tickets->keys->status();
    std::cerr << "keys: current " << (s.has_keys ? s.current_key : "(none)")
              << (s.last_error.empty() ? "" : ", " + s.last_error) << "\n";
  }
  Server server(ctx, cfg, *tickets);
  if (!server.listen_on(cfg.port)) return 1;
  const int rc = server.run();
  if (tickets->watcher) tickets->watcher->stop();
  SSL_CTX_free(ctx);
  return rc;
}

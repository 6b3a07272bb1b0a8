// Resumed TLS handshakes over TCP on 127.0.0.1, one server binary, the ticket path switched:
//   BM_ResumeBuiltin   OpenSSL's own ticket keys (no callback): the baseline
//   BM_ResumeLibstek   libstek's callback with a ring of 3, 20 or 1000 keys, optionally with
//                      a new snapshot published every 100 ms by another thread (swap:1)
//   BM_ResumeLibstekNoFresh13  libstek with fresh_tls13_tickets off: no new TLS 1.3 ticket
//                      after a resumption under the current key (what nginx's callback does)
//   BM_ResumeStateful  STEK-less: the ticket names a session in the server's cache
//   BM_FullHandshake   no session offered: what resumption saves
// A server thread accepts one connection at a time (blocking sockets): handshake, one byte
// of application data, close_notify. The client thread (the benchmark loop) connects, offers
// its newest session, reads the byte (and any TLS 1.3 tickets), closes. Both run on this
// machine, so a handshake's time includes both sides' CPU; the ratio is what matters. Each
// benchmark reports the share of resumed handshakes and p50/p99 latency in microseconds.
//
// The last benchmark, BM_SessionMemory, measures heap bytes held per session by the server
// (STEK-less holds every session; with ring tickets the server keeps nothing: measured ~12 B)
// and how often a client resumes when it lands on another server of the same domain.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stek/clock.h"
#include "stek/openssl.h"
#include "stek/ossl_ptr.h"
#include "stek/random.h"

#include "tls_pair.h"

namespace stek::openssl {
namespace {

using testing::SessionPtr;
using testing::SslCtxPtr;

enum class Mode { builtin, ring, ring_no_fresh13, stateful };

int tls_version(std::int64_t arg) {
  return arg == 13 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

// A ring of `size` keys as stek-agent hands it to a host: look-ahead 1, history H = size - 2
// (so e-H .. e+1), 10-minute epochs, 80-byte keys. The clock is fixed so that no rotation
// happens during a run.
constexpr UnixSeconds kNow = 1'800'000'000;

KeyRing make_ring(std::size_t size) {
  const std::int64_t history = static_cast<std::int64_t>(size) - 2;
  const Schedule schedule =
      Schedule::make({.interval = 600, .history = history, .lookahead = 1}).value();
  const EpochRange w = schedule.held_window(kNow);
  SystemRandom random;
  std::vector<RingKey> keys;
  for (Epoch e = w.last; e >= w.first; --e) {
    KeyMeta meta;
    meta.epoch = e;
    meta.domain = "bench";
    meta.role = schedule.role(e, kNow);
    keys.push_back({random_ticket_key(random, KeySize::k80).value(), meta});
  }
  RingInfo info;
  info.schedule = schedule.params();
  info.version = 1;
  KeyRing ring = KeyRing::make(std::move(keys), info).value();
  if (ring.size() != size) throw std::runtime_error("ring has the wrong size");
  return ring;
}

// The server side: an SSL_CTX with the chosen ticket path and its keys.
struct ServerSetup {
  SslCtxPtr ctx;
  std::shared_ptr<TicketKeys> keys;  // ring modes only
  std::optional<KeyRing> source;     // ring modes: what the swapping thread publishes again
};

// Always kNow, so the ring's roles hold for the whole run.
class PinnedClock final : public Clock {
 public:
  UnixSeconds now() const override { return kNow; }
};

const Clock& bench_clock() {
  static const PinnedClock clock;
  return clock;
}

ServerSetup make_server(Mode mode, int version, std::size_t ring_size) {
  ServerSetup s;
  s.ctx = testing::make_server_ctx(version);
  switch (mode) {
    case Mode::builtin:
      break;  // OpenSSL's defaults: tickets on, keys made by OpenSSL at SSL_CTX_new
    case Mode::ring:
    case Mode::ring_no_fresh13: {
      KeysOptions keys_options;
      keys_options.clock = &bench_clock();
      s.keys = std::make_shared<TicketKeys>(keys_options);
      s.source = make_ring(ring_size);
      if (!s.keys->update(s.source->clone()).ok()) throw std::runtime_error("ring refused");
      InstallOptions options;
      options.fresh_tls13_tickets = mode == Mode::ring;  // the default
      if (!install(s.ctx.get(), s.keys, options).ok()) throw std::runtime_error("install failed");
      break;
    }
    case Mode::stateful:
      if (!enable_stateful_tickets(s.ctx.get()).ok()) throw std::runtime_error("stateful failed");
      break;
  }
  return s;
}

// Accepts on 127.0.0.1 (an ephemeral port) and serves connections one at a time.
class LoopbackServer {
 public:
  explicit LoopbackServer(SSL_CTX* ctx) : ctx_(ctx) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(fd_, 64) != 0 || getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~LoopbackServer() {
    stop_.store(true);
    shutdown(fd_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    close(fd_);
  }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;
  int port() const { return port_; }

 private:
  void run() {
    while (!stop_.load()) {
      const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      const int one = 1;
      setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      UniquePtr<SSL> owner(SSL_new(ctx_));
      SSL* ssl = owner.get();
      SSL_set_fd(ssl, c);
      if (SSL_accept(ssl) == 1) {
        char byte = 'k';
        SSL_write(ssl, &byte, 1);
        SSL_read(ssl, &byte, 1);  // until the client's close_notify
        SSL_shutdown(ssl);
      }
      ERR_clear_error();
      owner.reset();
      close(c);
    }
  }

  SSL_CTX* ctx_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct ClientResult {
  bool ok = false;
  bool resumed = false;
  bool new_ticket = false;  // the server sent a ticket (the client's session changed)
};

// One connection: offer `session` (may be null), read the server's byte, close cleanly.
// Replaces `session` with the client's newest one.
ClientResult connect_once(SSL_CTX* client_ctx, int port, SessionPtr& session) {
  ClientResult r;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return r;
  }
  UniquePtr<SSL> owner(SSL_new(client_ctx));
  SSL* ssl = owner.get();
  SSL_set_fd(ssl, fd);
  if (session) SSL_set_session(ssl, session.get());
  char byte = 0;
  if (SSL_connect(ssl) == 1 && SSL_read(ssl, &byte, 1) == 1 && byte == 'k') {
    r.ok = true;
    r.resumed = SSL_session_reused(ssl) == 1;
    SSL_shutdown(ssl);
    SSL_SESSION* newest = SSL_get1_session(ssl);
    r.new_ticket = newest != session.get();
    session.reset(newest);
  }
  ERR_clear_error();
  owner.reset();
  close(fd);
  return r;
}

// Publishes the ring again every 100 ms (parsing and deriving as a ring file reload does)
// until destroyed.
class Swapper {
 public:
  Swapper(std::shared_ptr<TicketKeys> keys, const KeyRing& source) : keys_(std::move(keys)) {
    thread_ = std::thread([this, &source] {
      std::unique_lock lock(mu_);
      while (!cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_; })) {
        if (keys_->update(source.clone()).ok()) ++swaps_;
      }
    });
  }
  ~Swapper() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  Swapper(const Swapper&) = delete;
  Swapper& operator=(const Swapper&) = delete;
  std::uint64_t swaps() const { return swaps_.load(); }

 private:
  std::shared_ptr<TicketKeys> keys_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::atomic<std::uint64_t> swaps_{0};
  std::thread thread_;
};

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

void run_handshakes(benchmark::State& state, Mode mode, int version, std::size_t ring_size,
                    bool swap, bool offer_session) {
  signal(SIGPIPE, SIG_IGN);
  ServerSetup server = make_server(mode, version, ring_size);
  LoopbackServer listener(server.ctx.get());
  SslCtxPtr client = testing::make_client_ctx(version);
  SessionPtr session;
  if (offer_session && !connect_once(client.get(), listener.port(), session).ok) {
    state.SkipWithError("the first handshake failed");
    return;
  }
  std::unique_ptr<Swapper> swapper;
  if (swap) swapper = std::make_unique<Swapper>(server.keys, *server.source);

  std::vector<double> micros;
  micros.reserve(1 << 16);
  std::int64_t resumed = 0;
  std::int64_t failed = 0;
  std::int64_t new_tickets = 0;
  for (auto _ : state) {
    if (!offer_session) session.reset();
    const auto t0 = std::chrono::steady_clock::now();
    const ClientResult r = connect_once(client.get(), listener.port(), session);
    micros.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    resumed += r.resumed ? 1 : 0;
    failed += r.ok ? 0 : 1;
    new_tickets += r.new_ticket ? 1 : 0;
    if (!r.ok && !session) {
      state.SkipWithError("a handshake failed and left no session");
      return;
    }
  }
  const auto n = static_cast<double>(state.iterations());
  state.counters["resumed"] = static_cast<double>(resumed) / n;
  state.counters["failed"] = static_cast<double>(failed);
  state.counters["new_ticket"] = static_cast<double>(new_tickets) / n;
  state.counters["p50_us"] = percentile(micros, 0.50);
  state.counters["p99_us"] = percentile(micros, 0.99);
  state.counters["handshakes/s"] = benchmark::Counter(n, benchmark::Counter::kIsRate);
  if (swapper) state.counters["swaps"] = static_cast<double>(swapper->swaps());
  if (server.keys) {
    state.counters["tickets_issued"] = static_cast<double>(server.keys->status().counters.issued);
  }
}

// The label that names the built-in baseline of the same TLS version (bench/ratios.py).
std::string builtin_label(const benchmark::State& state) {
  return "vs BM_ResumeBuiltin/tls:" + std::to_string(state.range(0));
}

void BM_ResumeBuiltin(benchmark::State& state) {
  run_handshakes(state, Mode::builtin, tls_version(state.range(0)), 0, false, true);
}
BENCHMARK(BM_ResumeBuiltin)->ArgName("tls")->Arg(12)->Arg(13)->MinTime(2)->UseRealTime();

void BM_ResumeLibstek(benchmark::State& state) {
  state.SetLabel(builtin_label(state));
  run_handshakes(state, Mode::ring, tls_version(state.range(0)),
                 static_cast<std::size_t>(state.range(1)), state.range(2) != 0, true);
}
BENCHMARK(BM_ResumeLibstek)
    ->ArgNames({"tls", "ring", "swap"})
    ->ArgsProduct({{12, 13}, {3, 20, 1000}, {0, 1}})
    ->MinTime(2)
    ->UseRealTime();

void BM_ResumeLibstekNoFresh13(benchmark::State& state) {
  // OpenSSL's client uses a TLS 1.3 ticket once: without a fresh ticket every other
  // connection is a full handshake (resumed = 0.5), which is why fresh tickets are the default.
  state.SetLabel("vs BM_ResumeBuiltin/tls:13");
  run_handshakes(state, Mode::ring_no_fresh13, TLS1_3_VERSION, 3, false, true);
}
BENCHMARK(BM_ResumeLibstekNoFresh13)->MinTime(2)->UseRealTime();

void BM_ResumeStateful(benchmark::State& state) {
  state.SetLabel(builtin_label(state));
  run_handshakes(state, Mode::stateful, tls_version(state.range(0)), 0, false, true);
}
BENCHMARK(BM_ResumeStateful)->ArgName("tls")->Arg(12)->Arg(13)->MinTime(2)->UseRealTime();

void BM_FullHandshake(benchmark::State& state) {
  state.SetLabel(builtin_label(state));
  run_handshakes(state, Mode::builtin, tls_version(state.range(0)), 0, false, false);
}
BENCHMARK(BM_FullHandshake)->ArgName("tls")->Arg(12)->Arg(13)->MinTime(2)->UseRealTime();

// ------------------------------------------------------------------ the same in memory

// An in-memory handshake that offers `session`.
testing::Handshake resume_with(SSL_CTX* server, SSL_CTX* client, SSL_SESSION* session) {
  testing::HandshakeOptions options;
  options.resume = session;
  return testing::handshake(server, client, options);
}

// One resumption offering `session`, replaced by the newest one. Not inlined, so that an
// instruction count can be taken of it alone:
//   valgrind --tool=callgrind --toggle-collect='*resume_in_memory*'
//     build/bench/bench_openssl --benchmark_filter=InMemory
[[gnu::noinline]] bool resume_in_memory(SSL_CTX* server, SSL_CTX* client, SessionPtr& session) {
  testing::Handshake h = resume_with(server, client, session.get());
  if (h.session) session = std::move(h.session);
  return h.resumed;
}

// Both sides in this thread over a memory BIO pair: no sockets, no scheduler, so the time is
// the CPU of one resumed handshake, client and server together, without loopback noise.
void run_in_memory(benchmark::State& state, Mode mode, int version, std::size_t ring_size) {
  ServerSetup server = make_server(mode, version, ring_size);
  SslCtxPtr client = testing::make_client_ctx(version);
  SessionPtr session = testing::handshake(server.ctx.get(), client.get()).session;
  std::int64_t resumed = 0;
  for (auto _ : state) resumed += resume_in_memory(server.ctx.get(), client.get(), session) ? 1 : 0;
  state.counters["resumed"] =
      static_cast<double>(resumed) / static_cast<double>(state.iterations());
}

void BM_InMemoryResumeBuiltin(benchmark::State& state) {
  run_in_memory(state, Mode::builtin, tls_version(state.range(0)), 0);
}
BENCHMARK(BM_InMemoryResumeBuiltin)->ArgName("tls")->Arg(12)->Arg(13);

void BM_InMemoryResumeLibstek(benchmark::State& state) {
  state.SetLabel("vs BM_InMemoryResumeBuiltin/tls:" + std::to_string(state.range(0)));
  run_in_memory(state, Mode::ring, tls_version(state.range(0)),
                static_cast<std::size_t>(state.range(1)));
}
BENCHMARK(BM_InMemoryResumeLibstek)->ArgNames({"tls", "ring"})->ArgsProduct({{12, 13}, {3, 1000}});

// ------------------------------------------------------------------ STEK-less trade-off

std::size_t heap_in_use() {
  return mallinfo2().uordblks;
}

// Heap held by the server after `n` full handshakes from fresh clients, per handshake, and the
// share of those clients that resume on the same server and on another server of the domain.
void BM_SessionMemory(benchmark::State& state) {
  const Mode mode = state.range(0) == 0 ? Mode::ring : Mode::stateful;
  const int version = tls_version(state.range(1));
  constexpr int kSessions = 4000;
  constexpr int kProbes = 200;
  for (auto _ : state) {
    ServerSetup home = make_server(mode, version, 3);
    ServerSetup other = make_server(mode, version, 3);
    if (mode == Mode::ring) {  // the other server of the domain holds the same ring
      other.keys = home.keys;
      if (!install(other.ctx.get(), other.keys).ok()) state.SkipWithError("install");
    }
    SslCtxPtr client = testing::make_client_ctx(version);
    testing::handshake(home.ctx.get(), client.get());  // OpenSSL's lazy set-up, not counted
    // The client drops each session at once: what stays on the heap is the server's.
    const std::size_t before = heap_in_use();
    for (int i = 0; i < kSessions; ++i) {
      if (!testing::handshake(home.ctx.get(), client.get()).ok) {
        state.SkipWithError("handshake failed");
      }
    }
    const double per_session =
        (static_cast<double>(heap_in_use()) - static_cast<double>(before)) / kSessions;
    // Each probe offers a session of its own: OpenSSL's client uses a TLS 1.3 ticket once.
    int resumed_home = 0;
    int resumed_other = 0;
    for (int i = 0; i < kProbes; ++i) {
      const SessionPtr a = testing::handshake(home.ctx.get(), client.get()).session;
      const SessionPtr b = testing::handshake(home.ctx.get(), client.get()).session;
      resumed_home += resume_with(home.ctx.get(), client.get(), a.get()).resumed;
      resumed_other += resume_with(other.ctx.get(), client.get(), b.get()).resumed;
    }
    state.counters["heap_bytes_per_session"] = per_session;
    state.counters["resumed_same_server"] = static_cast<double>(resumed_home) / kProbes;
    state.counters["resumed_other_server"] = static_cast<double>(resumed_other) / kProbes;
  }
  state.SetLabel(mode == Mode::ring ? "ring tickets" : "STEK-less (stateful)");
}
BENCHMARK(BM_SessionMemory)
    ->ArgNames({"stateful", "tls"})
    ->ArgsProduct({{0, 1}, {12, 13}})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace stek::openssl

// stek-scan's TLS client: one bounded connection at a time, non-blocking sockets with
// deadlines, OpenSSL's session callbacks for tickets, and the raw psk_ke probe.
#include "probe.h"

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "args.h"
#include "tcp.h"
#include "tls13.h"

namespace stek::scan {

namespace {

// Everything the OpenSSL callbacks learn during one connection.
struct Collector {
  std::vector<std::shared_ptr<SSL_SESSION>> sessions;  // from the new-session callback
  std::vector<std::optional<std::uint32_t>> age_adds;  // parallel to sessions
  std::optional<tls::NewSessionTicket> last_ticket_message;
  int ticket_messages = 0;
  int handshake_messages_in = 0;
  std::string ticket_parse_error;
};

constexpr int kCollectorIndex = 0;  // the "app data" ex_data slot every SSL has

std::shared_ptr<SSL_SESSION> share(SSL_SESSION* s) {
  return UniquePtr<SSL_SESSION>(s);  // shared, still freed by the one SSL_SESSION deleter
}

int on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* c = static_cast<Collector*>(SSL_get_ex_data(ssl, kCollectorIndex));
  if (c == nullptr) return 0;
  c->sessions.push_back(share(session));  // returning 1 keeps OpenSSL's reference for us
  c->age_adds.push_back(c->last_ticket_message ? c->last_ticket_message->age_add : std::nullopt);
  return 1;
}

void on_message(int write_p, int /*version*/, int content_type, const void* buf, size_t len,
                SSL* ssl, void* arg) {
  auto* c = static_cast<Collector*>(arg);
  if (write_p != 0 || c == nullptr || content_type != SSL3_RT_HANDSHAKE || len < 1) return;
  ++c->handshake_messages_in;
  const auto* bytes = static_cast<const std::uint8_t*>(buf);
  if (bytes[0] != tls::kNewSessionTicket) return;
  ++c->ticket_messages;
  auto parsed =
      tls::parse_new_session_ticket(ByteView(bytes, len), SSL_version(ssl) == TLS1_3_VERSION);
  if (parsed.ok()) {
    c->last_ticket_message = std::move(parsed).value();
  } else {
    c->last_ticket_message.reset();
    c->ticket_parse_error = parsed.error().message;
  }
}

std::string openssl_reason(unsigned long err) {
  if (err == 0) return "TLS protocol error";
  const char* reason = ERR_reason_error_string(err);
  return reason != nullptr ? reason : fmt::format("OpenSSL error {:#x}", err);
}

Failure classify_failure(SSL* ssl, int ret, int saved_errno, const Collector& c) {
  const int e = SSL_get_error(ssl, ret);
  const unsigned long err = ERR_peek_last_error();
  if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && err == 0)) {
    if (saved_errno == 0 || saved_errno == ECONNRESET || saved_errno == EPIPE) {
      return {ProbeStatus::closed, saved_errno == 0 ? "the server closed the connection"
                                                    : "the server reset the connection"};
    }
    return {ProbeStatus::handshake_failed, fmt::format("socket: {}", std::strerror(saved_errno))};
  }
  // OpenSSL 3 reports an EOF in the middle of a handshake as an SSL error of its own.
  if (ERR_GET_REASON(err) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    return {ProbeStatus::closed, "the server closed the connection during the handshake"};
  }
  // A reply that fails record parsing before any handshake message arrived is not TLS
  // (an HTTP server answering "400 Bad Request", SSH's banner, ...).
  const int reason = ERR_GET_REASON(err);
  if (c.handshake_messages_in == 0 &&
      (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
       reason == SSL_R_RECORD_LENGTH_MISMATCH || reason == SSL_R_UNEXPECTED_MESSAGE ||
       reason == SSL_R_UNEXPECTED_RECORD)) {
    return {ProbeStatus::not_tls,
            "the server did not answer with TLS (" + openssl_reason(err) + ")"};
  }
  return {ProbeStatus::handshake_failed, openssl_reason(err)};
}

TicketSeen describe_ticket(const SSL_SESSION* s) {
  const unsigned char* p = nullptr;
  std::size_t n = 0;
  SSL_SESSION_get0_ticket(s, &p, &n);
  TicketSeen t;
  t.length = n;
  t.lifetime_hint = static_cast<std::uint32_t>(SSL_SESSION_get_ticket_lifetime_hint(s));
  const ByteView ticket(p, n);
  t.shape = shape_of(ticket);
  t.layout = guess_ticket_layout(ticket);
  t.key_name = key_name_under(t.layout, t.shape);  // settled later from all tickets
  t.zero_key = check_zero_key(ticket);
  return t;
}

bool has_ticket(const SSL_SESSION* s) {
  return SSL_SESSION_has_ticket(s) == 1;
}

}  // namespace

Millis SystemMillisClock::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<std::unique_ptr<Prober>> Prober::make(const ProbeOptions& options, const MillisClock& clock,
                                             Random& random) {
  UniquePtr<SSL_CTX> owned(SSL_CTX_new(TLS_client_method()));
  if (!owned) return make_error(Errc::crypto, "SSL_CTX_new failed");
  SSL_CTX* ctx = owned.get();
  // A scanner talks to whatever is out there: old protocol versions and weak parameters
  // are measured, not refused. Certificates are checked and reported, never enforced.
  SSL_CTX_set_security_level(ctx, 0);
  SSL_CTX_set_options(ctx, SSL_OP_LEGACY_SERVER_CONNECT);
  int min = TLS1_VERSION;
  int max = TLS1_3_VERSION;
  if (options.versions == TlsVersions::tls12) min = max = TLS1_2_VERSION;
  if (options.versions == TlsVersions::tls13) min = max = TLS1_3_VERSION;
  SSL_CTX_set_min_proto_version(ctx, min);
  SSL_CTX_set_max_proto_version(ctx, max);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_default_verify_paths(ctx);
  if (!options.ca_file.empty() &&
      SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) != 1) {
    ERR_clear_error();
    return make_error(Errc::io, options.ca_file + ": cannot load CA certificates");
  }
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, on_new_session);
  return std::unique_ptr<Prober>(new Prober(options, clock, random, std::move(owned)));
}

Prober::Prober(const ProbeOptions& options, const MillisClock& clock, Random& random,
               UniquePtr<SSL_CTX> ctx)
    : options_(options), clock_(clock), random_(random), ctx_(std::move(ctx)) {}

ProbeResult Prober::connect(const Endpoint& ep, ConnKind kind, const HeldTicket* offer) {
  ProbeResult result;
  Connection& conn = result.connection;
  conn.time_ms = clock_.now_ms();
  conn.endpoint = ep.label();
  conn.sni = ep.sni;
  conn.kind = kind;
  if (offer != nullptr) {
    conn.offered_ticket = true;
    conn.offered_key_name = offer->key_name;
    conn.offered_shape = offer->shape;
    conn.offered_from = offer->endpoint;
    conn.offered_issued_ms = offer->received_ms;
  }
  const auto started = SteadyClock::now();
  auto finish = [&](std::optional<Failure> failure) {
    if (failure) {
      conn.status = failure->status;
      conn.detail = failure->detail;
    }
    conn.duration_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started).count();
    ERR_clear_error();
    return std::move(result);
  };

  auto connected = tcp_connect(ep, options_.connect_timeout);
  if (auto* f = std::get_if<Failure>(&connected)) return finish(*f);
  Fd fd = std::move(std::get<Fd>(connected));

  Collector collector;
  const UniquePtr<SSL> ssl(SSL_new(ctx_.get()));
  if (!ssl) return finish(Failure{ProbeStatus::handshake_failed, "SSL_new failed"});
  SSL_set_ex_data(ssl.get(), kCollectorIndex, &collector);
  SSL_set_msg_callback(ssl.get(), on_message);
  SSL_set_msg_callback_arg(ssl.get(), &collector);
  SSL_set_fd(ssl.get(), fd.get());
  if (!ep.sni.empty()) {
    // SSL_set_tlsext_host_name, without the macro's C cast.
    SSL_ctrl(ssl.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(ep.sni.c_str()));
    SSL_set1_host(ssl.get(), ep.sni.c_str());
  } else if (is_ip_address(ep.host)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), ep.host.c_str());
  }
  if (offer != nullptr && offer->session) {
    SSL_set_session(ssl.get(), offer->session.get());
    // A TLS 1.2 ticket goes in an extension a TLS 1.3 server ignores: offered with 1.3 allowed,
    // it is never judged and a shared key looks unshared. Offer each ticket at its own version.
    const int version = SSL_SESSION_get_protocol_version(offer->session.get());
    if (version == TLS1_2_VERSION) SSL_set_max_proto_version(ssl.get(), TLS1_2_VERSION);
  }

  // Handshake, bounded.
  const Deadline deadline = SteadyClock::now() + options_.handshake_timeout;
  for (;;) {
    ERR_clear_error();
    errno = 0;
    const int r = SSL_connect(ssl.get());
    if (r == 1) break;
    const int saved_errno = errno;
    const int e = SSL_get_error(ssl.get(), r);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
      SSL_set_ex_data(ssl.get(), kCollectorIndex, nullptr);
      return finish(classify_failure(ssl.get(), r, saved_errno, collector));
    }
    const Wait w = wait_fd(fd.get(), e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
    if (w != Wait::ready) {
      SSL_set_ex_data(ssl.get(), kCollectorIndex, nullptr);
      return finish(Failure{ProbeStatus::timeout,
                            fmt::format("TLS handshake not finished within {}",
                                        format_duration_ms(options_.handshake_timeout.count()))});
    }
  }

  const bool tls13 = SSL_version(ssl.get()) == TLS1_3_VERSION;
  conn.tls_version = SSL_get_version(ssl.get());
  conn.cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(ssl.get()));
  conn.resumed = SSL_session_reused(ssl.get()) == 1;
  if (!conn.resumed) {
    CertCheck cert;
    const long v = SSL_get_verify_result(ssl.get());
    if (SSL_get0_peer_certificate(ssl.get()) == nullptr) {
      cert.error = "no certificate";
    } else if (v == X509_V_OK) {
      cert.verified = true;
    } else {
      cert.error = X509_verify_cert_error_string(v);
    }
    conn.cert = cert;
  }

  // TLS 1.3 tickets arrive after the handshake: read (without consuming application data)
  // until one came and the line went quiet, or until the bound.
  if (tls13) {
    const Deadline hard = SteadyClock::now() + options_.ticket_wait;
    std::optional<Deadline> quiet;
    for (;;) {
      const std::size_t before = collector.sessions.size();
      char byte;
      ERR_clear_error();
      const int r = SSL_peek(ssl.get(), &byte, 1);
      if (r > 0) break;  // application data: the server's tickets come before it
      const int e = SSL_get_error(ssl.get(), r);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) break;
      if (collector.sessions.size() > before) quiet = SteadyClock::now() + options_.ticket_quiet;
      const Deadline until = quiet ? std::min(hard, *quiet) : hard;
      if (SteadyClock::now() >= until) break;
      if (wait_fd(fd.get(), e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, until) != Wait::ready) {
        break;
      }
    }
  }

  // A TLS 1.2 resumption that brings a renewed ticket does not call the new-session
  // callback; the renewed ticket is in the connection's session.
  if (collector.sessions.empty() && collector.ticket_messages > 0 && conn.resumed) {
    if (SSL_SESSION* s = SSL_get1_session(ssl.get())) {
      collector.sessions.push_back(share(s));
      collector.age_adds.push_back(std::nullopt);
    }
  }
  for (std::size_t i = 0; i < collector.sessions.size(); ++i) {
    const SSL_SESSION* s = collector.sessions[i].get();
    if (!has_ticket(s)) continue;  // an empty NewSessionTicket: the server issues none
    conn.tickets.push_back(describe_ticket(s));
    HeldTicket held;
    held.session = collector.sessions[i];
    held.endpoint = conn.endpoint;
    held.received_ms = clock_.now_ms();
    held.key_name = conn.tickets.back().key_name;
    held.shape = conn.tickets.back().shape;
    held.age_add = collector.age_adds[i];
    held.tls13 = tls13;
    result.ticket = std::move(held);
  }
  conn.renewed = conn.resumed && !conn.tickets.empty();

  SSL_set_ex_data(ssl.get(), kCollectorIndex, nullptr);
  SSL_set_msg_callback_arg(ssl.get(), nullptr);
  SSL_set_quiet_shutdown(ssl.get(), 1);  // a closing alert is a courtesy; do not wait
  SSL_shutdown(ssl.get());
  return finish(std::nullopt);
}

namespace {

struct PskOutcome {
  bool resumed = false;  // the server selected our PSK
  bool key_share = false;
  bool failed = false;  // no usable answer (connection, timeout, garbage)
  std::string detail;
};

Result<SecretBytes> x25519_public_share() {
  // The private half is never needed: the probe stops at ServerHello.
  const UniquePtr<EVP_PKEY> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
  if (!key) return make_error(Errc::crypto, "X25519 key generation failed");
  SecretBytes pub(32);
  std::size_t n = pub.size();
  const int ok = EVP_PKEY_get_raw_public_key(key.get(), pub.data(), &n);
  if (ok != 1 || n != 32) return make_error(Errc::crypto, "X25519 public key export failed");
  return pub;
}

}  // namespace

PskKeProbe Prober::check_psk_ke(const Endpoint& ep, const HeldTicket& ticket) {
  PskKeProbe out;
  out.time_ms = clock_.now_ms();
  out.endpoint = ep.label();
  out.ticket_key_name = ticket.key_name;
  const SSL_SESSION* s = ticket.session.get();
  if (s == nullptr || !ticket.tls13 || SSL_SESSION_get_protocol_version(s) != TLS1_3_VERSION) {
    out.result = PskKeResult::error;
    out.detail = "no TLS 1.3 ticket to offer";
    return out;
  }
  const SSL_CIPHER* cipher = SSL_SESSION_get0_cipher(s);
  const EVP_MD* md = cipher != nullptr ? SSL_CIPHER_get_handshake_digest(cipher) : nullptr;
  if (md == nullptr) {
    out.detail = "the ticket's session has no cipher suite";
    return out;
  }
  const tls::HashAlg hash = EVP_MD_get_size(md) == 48 ? tls::HashAlg::sha384 : tls::HashAlg::sha256;
  // For a TLS 1.3 session OpenSSL keeps the ticket's PSK (the resumption secret expanded
  // with the ticket nonce) in the session's master key.
  SecretBytes psk(SSL_SESSION_get_master_key(s, nullptr, 0));
  SSL_SESSION_get_master_key(s, psk.data(), psk.size());
  const unsigned char* tp = nullptr;
  std::size_t tn = 0;
  SSL_SESSION_get0_ticket(s, &tp, &tn);

  auto attempt = [&](tls::PskMode mode) -> PskOutcome {
    PskOutcome o;
    tls::PskHelloParams p;
    p.server_name = ep.sni;
    p.cipher_suite = SSL_CIPHER_get_protocol_id(cipher);
    p.hash = hash;
    p.psk = psk.view();
    p.identity = ByteView(tp, tn);
    const auto age =
        static_cast<std::uint32_t>(std::max<Millis>(0, clock_.now_ms() - ticket.received_ms));
    p.obfuscated_age = age + ticket.age_add.value_or(0);
    p.mode = mode;
    if (auto st = random_.fill(p.random); !st.ok()) {
      o.failed = true;
      o.detail = st.error().message;
      return o;
    }
    if (mode == tls::PskMode::psk_dhe_ke) {
      auto share = x25519_public_share();
      if (!share.ok()) {
        o.failed = true;
        o.detail = share.error().message;
        return o;
      }
      p.x25519_share.assign(share->view().begin(), share->view().end());
    }
    auto hello = tls::build_psk_client_hello(p);
    if (!hello.ok()) {
      o.failed = true;
      o.detail = hello.error().message;
      return o;
    }
    auto connected = tcp_connect(ep, options_.connect_timeout);
    if (auto* f = std::get_if<Failure>(&connected)) {
      o.failed = true;
      o.detail = f->detail;
      return o;
    }
    Fd fd = std::move(std::get<Fd>(connected));
    const Deadline deadline = SteadyClock::now() + options_.handshake_timeout;
    Bytes records;
    for (std::size_t at = 0; at < hello->size(); at += 16384) {
      const std::size_t n = std::min<std::size_t>(16384, hello->size() - at);
      records.insert(records.end(), {0x16, 0x03, 0x01, static_cast<std::uint8_t>(n >> 8),
                                     static_cast<std::uint8_t>(n & 0xff)});
      records.insert(records.end(), hello->begin() + static_cast<long>(at),
                     hello->begin() + static_cast<long>(at + n));
    }
    if (!write_all(fd.get(), records, deadline)) {
      o.failed = true;
      o.detail = "could not send the ClientHello";
      return o;
    }
    Bytes received;
    constexpr std::size_t kMaxReply = tls::kMaxHandshakeMessage + 4096;
    for (;;) {
      auto first = tls::first_server_message(received);
      if (!first.ok()) {
        o.failed = true;
        o.detail = first.error().message;
        return o;
      }
      if (first->has_value()) {
        const tls::FirstServerMessage& msg = **first;
        if (msg.alert) {
          o.detail = "alert " + tls::alert_name(msg.alert_description);
          return o;
        }
        auto sh = tls::parse_server_hello(msg.handshake);
        if (!sh.ok()) {
          o.failed = true;
          o.detail = sh.error().message;
          return o;
        }
        if (sh->hello_retry_request) {
          o.detail = "HelloRetryRequest: the server wants an (EC)DHE key share";
        } else if (sh->selected_version != tls::kTls13) {
          o.detail = "the server did not negotiate TLS 1.3";
        } else if (sh->selected_identity == 0) {
          o.resumed = true;
          o.key_share = sh->key_share;
          o.detail = sh->key_share ? "ServerHello selected the PSK with a key share"
                                   : "ServerHello selected the PSK without a key share";
        } else {
          o.detail = "ServerHello without the PSK (full handshake)";
        }
        return o;
      }
      if (received.size() > kMaxReply) {
        o.failed = true;
        o.detail = "reply too large";
        return o;
      }
      if (wait_fd(fd.get(), POLLIN, deadline) != Wait::ready) {
        o.failed = true;
        o.detail = "no reply within " + format_duration_ms(options_.handshake_timeout.count());
        return o;
      }
      std::uint8_t buf[4096];
      const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
      if (n == 0) {
        o.detail = "the server closed the connection";
        return o;
      }
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        o.detail = fmt::format("recv: {}", std::strerror(errno));
        return o;
      }
      received.insert(received.end(), buf, buf + n);
    }
  };

  const PskOutcome ke = attempt(tls::PskMode::psk_ke);
  out.detail = ke.detail;
  if (ke.resumed && !ke.key_share) {
    out.result = PskKeResult::accepted;
    return out;
  }
  if (ke.resumed && ke.key_share) {
    out.result = PskKeResult::error;
    out.detail = "protocol violation: the server sent a key share the client did not offer";
    return out;
  }
  if (ke.failed) {
    out.result = PskKeResult::error;
    return out;
  }
  const PskOutcome dhe = attempt(tls::PskMode::psk_dhe_ke);
  out.control_detail = dhe.detail;
  out.result = dhe.resumed && dhe.key_share ? PskKeResult::rejected : PskKeResult::inconclusive;
  return out;
}

}  // namespace stek::scan

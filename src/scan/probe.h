// The network half of stek-scan: an OpenSSL client that makes one bounded TLS connection
// and records what the server did with session tickets, and the psk_ke probe, which
// sends its own ClientHello (see tls13.h for why).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "stek/ossl_ptr.h"
#include "stek/random.h"
#include "stek/result.h"

#include "observation.h"

namespace stek::scan {

enum class TlsVersions { any, tls12, tls13 };

struct ProbeOptions {
  std::chrono::milliseconds connect_timeout{5000};  // DNS and TCP, each
  std::chrono::milliseconds handshake_timeout{10000};
  // TLS 1.3 tickets come after the handshake: how long to read for them at most, and how
  // long to wait for more once one arrived.
  std::chrono::milliseconds ticket_wait{1500};
  std::chrono::milliseconds ticket_quiet{200};
  TlsVersions versions = TlsVersions::any;
  std::string ca_file;  // extra trust anchors for the certificate check; empty: system's
};

// A ticket the client holds and may offer later.
struct HeldTicket {
  std::shared_ptr<SSL_SESSION> session;
  std::string endpoint;  // who issued it
  Millis received_ms = 0;
  std::optional<KeyName> key_name;
  TicketShape shape;
  std::optional<std::uint32_t> age_add;  // TLS 1.3 obfuscation value, from NewSessionTicket
  bool tls13 = false;
};

struct ProbeResult {
  Connection connection;
  std::optional<HeldTicket> ticket;  // the last ticket the server sent, if any
};

// Wall clock in milliseconds; injected so recorded times can be pinned.
class MillisClock {
 public:
  virtual ~MillisClock() = default;
  virtual Millis now_ms() const = 0;
};

class SystemMillisClock final : public MillisClock {
 public:
  Millis now_ms() const override;
};

class Prober {
 public:
  static Result<std::unique_ptr<Prober>> make(const ProbeOptions& options, const MillisClock& clock,
                                              Random& random);
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;

  // One TLS connection to `endpoint`, offering `offer` for resumption if given. Bounded by
  // the options' timeouts; never throws; every failure is a status in the result.
  ProbeResult connect(const Endpoint& endpoint, ConnKind kind, const HeldTicket* offer);

  // Offers `ticket` (a TLS 1.3 ticket this endpoint or a peer issued) with psk_ke as the
  // only key exchange mode. If refused, offers it again with psk_dhe_ke as a control, so a
  // refusal is only reported when the ticket itself is good.
  PskKeProbe check_psk_ke(const Endpoint& endpoint, const HeldTicket& ticket);

 private:
  Prober(const ProbeOptions& options, const MillisClock& clock, Random& random,
         UniquePtr<SSL_CTX> ctx);
  ProbeOptions options_;
  const MillisClock& clock_;
  Random& random_;
  UniquePtr<SSL_CTX> ctx_;
};

}  // namespace stek::scan

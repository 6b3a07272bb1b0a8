// The file `--keep-tickets` writes: the scanner's own resumable sessions (the last ticket
// of each endpoint with the TLS session needed to offer it), so that `merge --cross-resume`
// can offer one vantage point's tickets to another's endpoints. It is a secret: whoever
// holds it can resume those sessions. The parser takes untrusted text and never crashes.
//
//   stek-scan-tickets 1 COUNT
//   ticket ENDPOINT SNI|- TLS_VERSION ISSUED_UNIX_MS LIFETIME_HINT_S SESSION_BASE64
//   ... (COUNT lines; lines starting with # are comments)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stek/result.h"
#include "stek/secret.h"

namespace stek::scan {

inline constexpr std::string_view kTicketsMagic = "stek-scan-tickets";
inline constexpr int kTicketsVersion = 1;
inline constexpr std::size_t kMaxKeptTickets = 4096;
inline constexpr std::size_t kMaxSessionBytes = 16384;  // a DER SSL_SESSION with its ticket

struct KeptTicket {
  std::string endpoint;     // Endpoint::label(): host:port or [v6]:port
  std::string sni;          // empty: none
  std::string tls_version;  // "TLSv1.3", as OpenSSL names it
  std::int64_t issued_ms = 0;
  std::uint32_t lifetime_hint_s = 0;  // 0: the server gave none
  SecretBytes session;                // DER (i2d_SSL_SESSION): holds the session's secret

  KeptTicket() = default;
  KeptTicket(KeptTicket&&) = default;
  KeptTicket& operator=(KeptTicket&&) = default;
};

// The file's text, in wiped storage.
SecretString format_kept_tickets(const std::vector<KeptTicket>& tickets);

// Errors name the line and what is wrong, never the session bytes.
Result<std::vector<KeptTicket>> parse_kept_tickets(std::string_view text);

}  // namespace stek::scan

// Carrying tickets between vantage points. `once`/`watch --keep-tickets FILE` keep the
// scanner's last ticket per endpoint with its session; `merge --cross-resume` offers each
// vantage point's kept tickets, live, to every other vantage point's endpoints. A ticket
// from X that resumes at Y's endpoint means X's and Y's locations share a STEK, even when
// the stack hides its key names (Go 1.21+, stateful TLS 1.3 tickets).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "stek/result.h"

#include "analysis.h"
#include "merge.h"
#include "probe.h"
#include "tickets_file.h"

namespace stek::scan {

inline constexpr std::size_t kMaxCrossOffers = 1024;  // connections one merge may make

// The held ticket's session as DER, with what is needed to offer it again.
Result<KeptTicket> keep_ticket(const HeldTicket& held, const std::string& sni);
// The reverse: a session OpenSSL can offer. `endpoint` of the result is the issuer's.
Result<HeldTicket> held_from_kept(const KeptTicket& kept);

enum class CrossOutcome { resumed, refused, not_tried, failed };
std::string_view cross_outcome_name(CrossOutcome o);

// One kept ticket of vantage point `from_vantage` offered to an endpoint of `to_vantage`.
struct CrossOffer {
  std::string from_vantage;
  std::string from_endpoint;
  std::string to_vantage;
  std::string to_endpoint;
  std::string tls_version;
  Millis issued_ms = 0;
  Millis tried_ms = 0;  // 0 when not tried
  CrossOutcome outcome = CrossOutcome::not_tried;
  std::string detail;  // why not tried, or how the connection failed
};

struct VantageTickets {
  std::string vantage;  // the report it goes with
  std::vector<KeptTicket> tickets;
};

// Offers every vantage point's tickets to every other's endpoints (from the reports), one
// bounded connection each, at most kMaxCrossOffers. A ticket older than its lifetime hint
// is not tried (the server need not accept it: a refusal would prove nothing).
// A TLS 1.2 session resumes only if the client offers no later version (the server would
// pick TLS 1.3 and ignore the ticket): one prober per version, chosen by the session's.
struct CrossProbers {
  Prober& tls12;
  Prober& tls13;
  Prober& any;  // older versions
};

// `here`: the vantage point (report) the merge runs at, or empty. A name behind anycast
// reaches one location from wherever the merge runs: offering X's ticket to Y's endpoint
// when both scanned the same endpoint would test the merge's own location, not Y's. So
// without `here` such offers are not tried; with it, only offers to `here`'s endpoints are
// made, and they do reach its location.
std::vector<CrossOffer> offer_across(const std::vector<VantageReport>& reports,
                                     const std::vector<VantageTickets>& tickets,
                                     CrossProbers probers, const MillisClock& clock,
                                     const std::string& here = {});

// Pure: adds `cross_resumption` (every offer) to the merged JSON and, per pair of vantage
// points where a ticket resumed, a `shared_across_vantage_points` finding (method
// cross_resumption).
void add_cross_resumption(Json& merged, const std::vector<CrossOffer>& offers);

}  // namespace stek::scan

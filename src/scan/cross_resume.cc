// Keeping the scanner's sessions, and offering them across vantage points.
#include "cross_resume.h"

#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <openssl/ssl.h>

#include "args.h"
#include "ticket.h"

namespace stek::scan {

namespace {

// The endpoints a report scanned, as the scan addressed them.
std::vector<Endpoint> report_endpoints(const Json& report) {
  std::vector<Endpoint> out;
  const auto eps = report.find("endpoints");
  if (eps == report.end() || !eps->is_array()) return out;
  for (const Json& e : *eps) {
    if (!e.is_object()) continue;
    const auto port = e.find("port");
    if (port == e.end() || !port->is_number_unsigned() || port->get<std::uint64_t>() == 0 ||
        port->get<std::uint64_t>() > 65535) {
      continue;
    }
    Endpoint ep;
    ep.host = string_field(e, "host");
    ep.port = static_cast<std::uint16_t>(port->get<std::uint64_t>());
    ep.sni = string_field(e, "sni");
    if (!ep.host.empty()) out.push_back(std::move(ep));
  }
  return out;
}

Json offer_json(const CrossOffer& o) {
  return Json{{"from_vantage", o.from_vantage},
              {"from_endpoint", o.from_endpoint},
              {"to_vantage", o.to_vantage},
              {"to_endpoint", o.to_endpoint},
              {"tls_version", o.tls_version},
              {"issued", utc_ms(o.issued_ms)},
              {"tried", o.tried_ms != 0 ? Json(utc_ms(o.tried_ms)) : Json(nullptr)},
              {"result", cross_outcome_name(o.outcome)},
              {"detail", o.detail}};
}

}  // namespace

std::string_view cross_outcome_name(CrossOutcome o) {
  switch (o) {
    case CrossOutcome::resumed:
      return "resumed";
    case CrossOutcome::refused:
      return "refused";
    case CrossOutcome::not_tried:
      return "not_tried";
    case CrossOutcome::failed:
      return "failed";
  }
  return "?";
}

Result<KeptTicket> keep_ticket(const HeldTicket& held, const std::string& sni) {
  const SSL_SESSION* s = held.session.get();
  if (s == nullptr || SSL_SESSION_has_ticket(s) != 1) {
    return make_error(Errc::invalid_argument, held.endpoint + ": no ticket to keep");
  }
  const int n = i2d_SSL_SESSION(const_cast<SSL_SESSION*>(s), nullptr);
  if (n <= 0 || static_cast<std::size_t>(n) > kMaxSessionBytes) {
    return make_error(Errc::crypto, held.endpoint + ": the session cannot be encoded");
  }
  KeptTicket k;
  k.session = SecretBytes(static_cast<std::size_t>(n));
  unsigned char* p = k.session.data();
  if (i2d_SSL_SESSION(const_cast<SSL_SESSION*>(s), &p) != n) {
    return make_error(Errc::crypto, held.endpoint + ": the session cannot be encoded");
  }
  k.endpoint = held.endpoint;
  k.sni = sni;
  k.tls_version = held.tls13 ? "TLSv1.3" : "TLSv1.2";
  if (SSL_SESSION_get_protocol_version(s) < TLS1_2_VERSION) k.tls_version = "TLSv1.x";
  k.issued_ms = held.received_ms;
  k.lifetime_hint_s = static_cast<std::uint32_t>(SSL_SESSION_get_ticket_lifetime_hint(s));
  return k;
}

Result<HeldTicket> held_from_kept(const KeptTicket& kept) {
  const unsigned char* p = kept.session.data();
  SSL_SESSION* s = d2i_SSL_SESSION(nullptr, &p, static_cast<long>(kept.session.size()));
  if (s == nullptr || SSL_SESSION_has_ticket(s) != 1) {
    if (s != nullptr) SSL_SESSION_free(s);
    return make_error(Errc::invalid_argument,
                      kept.endpoint + ": the kept session is not a TLS session with a ticket");
  }
  HeldTicket h;
  h.session = std::shared_ptr<SSL_SESSION>(UniquePtr<SSL_SESSION>(s));
  h.endpoint = kept.endpoint;
  h.received_ms = kept.issued_ms;
  h.tls13 = SSL_SESSION_get_protocol_version(s) == TLS1_3_VERSION;
  const unsigned char* tp = nullptr;
  std::size_t tn = 0;
  SSL_SESSION_get0_ticket(s, &tp, &tn);
  h.shape = shape_of(ByteView(tp, tn));
  return h;
}

std::vector<CrossOffer> offer_across(const std::vector<VantageReport>& reports,
                                     const std::vector<VantageTickets>& tickets,
                                     CrossProbers probers, const MillisClock& clock,
                                     const std::string& here) {
  std::vector<CrossOffer> out;
  for (const VantageTickets& from : tickets) {
    for (const KeptTicket& kept : from.tickets) {
      auto held = held_from_kept(kept);
      const int version = held.ok() ? SSL_SESSION_get_protocol_version(held->session.get()) : 0;
      Prober& prober = version == TLS1_3_VERSION   ? probers.tls13
                       : version == TLS1_2_VERSION ? probers.tls12
                                                   : probers.any;
      for (const VantageReport& to : reports) {
        if (to.vantage == from.vantage || (!here.empty() && to.vantage != here)) continue;
        for (const Endpoint& ep : report_endpoints(to.report)) {
          CrossOffer o;
          o.from_vantage = from.vantage;
          o.from_endpoint = kept.endpoint;
          o.to_vantage = to.vantage;
          o.to_endpoint = ep.label();
          o.tls_version = kept.tls_version;
          o.issued_ms = kept.issued_ms;
          const Millis now = clock.now_ms();
          if (!held.ok()) {
            o.detail = held.error().message;
          } else if (here.empty() && ep.label() == kept.endpoint && ep.sni == kept.sni) {
            o.detail =
                "the same endpoint as the ticket's own: from here both reach one location "
                "(run the merge at a vantage point, with --here)";
          } else if (kept.lifetime_hint_s != 0 &&
                     now - kept.issued_ms > std::int64_t{kept.lifetime_hint_s} * 1000) {
            o.detail = fmt::format("expired: issued {} ago, lifetime hint {}",
                                   format_duration_ms(now - kept.issued_ms),
                                   format_duration_ms(std::int64_t{kept.lifetime_hint_s} * 1000));
          } else if (out.size() >= kMaxCrossOffers) {
            o.detail = fmt::format("over the limit of {} connections", kMaxCrossOffers);
          } else {
            const ProbeResult r = prober.connect(ep, ConnKind::cross, &*held);
            o.tried_ms = r.connection.time_ms;
            if (r.connection.status != ProbeStatus::ok) {
              o.outcome = CrossOutcome::failed;
              o.detail = fmt::format("{}: {}", probe_status_name(r.connection.status),
                                     r.connection.detail);
            } else {
              o.outcome = r.connection.resumed ? CrossOutcome::resumed : CrossOutcome::refused;
              if (!r.connection.resumed) o.detail = "full handshake";
            }
          }
          out.push_back(std::move(o));
        }
      }
    }
  }
  return out;
}

void add_cross_resumption(Json& merged, const std::vector<CrossOffer>& offers) {
  Json all = Json::array();
  std::map<std::pair<std::string, std::string>, Json> resumed;  // unordered pair -> offers
  for (const CrossOffer& o : offers) {
    all.push_back(offer_json(o));
    if (o.outcome != CrossOutcome::resumed) continue;
    auto pair = std::minmax(o.from_vantage, o.to_vantage);
    resumed[{pair.first, pair.second}].push_back(offer_json(o));
  }
  merged["cross_resumption"] = all;
  Json& findings = merged["findings"];
  for (auto& [pair, evidence] : resumed) {
    const std::vector<std::string> list{pair.first, pair.second};
    findings.push_back(Json{
        {"id", "shared_across_vantage_points"},
        {"severity", "warning"},
        {"vantage_points", list},
        {"summary",
         fmt::format("a ticket kept at one of {} resumed at the other's endpoint "
                     "({} offer{}): their locations share a STEK, whatever the "
                     "key names show",
                     fmt::join(list, " and "), evidence.size(), evidence.size() == 1 ? "" : "s")},
        {"evidence", Json{{"method", "cross_resumption"}, {"offers", evidence}}}});
  }
}

}  // namespace stek::scan

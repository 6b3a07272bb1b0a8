// Table and JSON renderings of a scan (the SVG is in svg.cc).
#include "report.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <ostream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "stek/bytes.h"

#include "args.h"
#include "timeline.h"

namespace stek::scan {

std::string clock_ms(Millis t) {
  return utc_ms(t).substr(11, 12);
}

std::string hint_text(std::optional<std::uint32_t> lo, std::optional<std::uint32_t> hi) {
  if (!hi) return "-";
  if (*lo == *hi) return format_duration_ms(std::int64_t{*hi} * 1000);
  return format_duration_ms(std::int64_t{*lo} * 1000) + ".." +
         format_duration_ms(std::int64_t{*hi} * 1000);
}

namespace {

Json ticket_json(const TicketSeen& t) {
  return Json{{"length", t.length},
              {"key_name", t.key_name ? Json(key_name_hex(*t.key_name)) : Json(nullptr)},
              {"lifetime_hint_s", t.lifetime_hint},
              {"layout", Json{{"guess", layout_name(t.layout.layout)},
                              {"confidence", confidence_name(t.layout.confidence)}}},
              {"zero_key", Json{{"checked", t.zero_key.applicable},
                                {"hmac", t.zero_key.hmac_zero},
                                {"aes_bits", t.zero_key.aes_zero_bits}}}};
}

Json connection_json(const Connection& c) {
  Json tickets = Json::array();
  for (const TicketSeen& t : c.tickets) tickets.push_back(ticket_json(t));
  Json offered = nullptr;
  if (c.offered_ticket) {
    offered = Json{
        {"key_name", c.offered_key_name ? Json(key_name_hex(*c.offered_key_name)) : Json(nullptr)},
        {"from", c.offered_from},
        {"issued", utc_ms(c.offered_issued_ms)}};
  }
  Json cert = nullptr;
  if (c.cert) cert = Json{{"verified", c.cert->verified}, {"error", c.cert->error}};
  return Json{{"time", utc_ms(c.time_ms)},
              {"time_unix_ms", c.time_ms},
              {"duration_ms", c.duration_ms},
              {"endpoint", c.endpoint},
              {"sni", c.sni},
              {"kind", conn_kind_name(c.kind)},
              {"status", probe_status_name(c.status)},
              {"detail", c.detail},
              {"tls_version", c.tls_version},
              {"cipher", c.cipher},
              {"certificate", cert},
              {"offered", offered},
              {"resumed", c.resumed},
              {"renewed", c.renewed},
              {"tickets", tickets}};
}

Json endpoint_json(const ScanData& data, const EndpointSummary& s) {
  Json keys = Json::array();
  for (const KeyLife& k : s.keys) {
    keys.push_back(Json{{"key_name", key_name_hex(k.name)},
                        {"first_seen", utc_ms(k.first_seen_ms)},
                        {"last_seen", utc_ms(k.last_seen_ms)},
                        {"life_s", static_cast<double>(k.life_ms()) / 1000.0},
                        {"tickets", k.tickets},
                        {"began_before_observation", k.from_start},
                        {"outlived_observation", k.to_end}});
  }
  Json rotations = Json::array();
  for (Millis t : s.rotations_ms) rotations.push_back(utc_ms(t));
  Json failures = Json::object();
  for (const auto& [k, v] : s.failures) failures[k] = v;
  Json out{{"endpoint", s.endpoint}};
  for (const Endpoint& e : data.endpoints) {
    if (e.label() != s.endpoint) continue;
    out["host"] = e.host;
    out["port"] = e.port;
    out["sni"] = e.sni;
  }
  out["connections"] = s.connections;
  out["ok"] = s.ok;
  out["failures"] = failures;
  out["tls_versions"] = s.tls_versions;
  out["certificate"] =
      s.cert ? Json{{"verified", s.cert->verified}, {"error", s.cert->error}} : Json(nullptr);
  out["tickets"] = s.tickets;
  out["ticket_layout"] = s.layout ? Json{{"layout", layout_name(s.layout->layout)},
                                         {"confidence", confidence_name(s.layout->confidence)},
                                         {"key_name_bytes", s.layout->name_size()},
                                         {"reason", s.layout->reason}}
                                  : Json(nullptr);
  out["tickets_without_key_name"] = s.tickets_hidden;
  out["lifetime_hint_s"] =
      s.max_hint ? Json{{"min", *s.min_hint}, {"max", *s.max_hint}} : Json(nullptr);
  out["resumption"] =
      Json{{"attempts", s.resume_attempts}, {"resumed", s.resumed}, {"renewed", s.renewed}};
  out["key_names"] = keys;
  out["rotations"] = rotations;
  out["timeline"] = timeline_json(data, s.endpoint);
  return out;
}

}  // namespace

void write_table(std::ostream& out, const ScanData& data, const Analysis& analysis,
                 const TableOptions& options) {
  out << fmt::format("stek-scan {}: {} endpoint{}, {} .. {} ({}", mode_name(data.mode),
                     data.endpoints.size(), data.endpoints.size() == 1 ? "" : "s",
                     utc_ms(data.started_ms), clock_ms(data.finished_ms),
                     format_duration_ms(data.finished_ms - data.started_ms));
  if (data.mode == Mode::watch) out << ", every " << format_duration_ms(data.every_ms);
  out << (data.interrupted ? ", interrupted)\n" : ")\n");

  std::size_t ew = 21;  // endpoint column width
  for (const EndpointSummary& s : analysis.endpoints) ew = std::max(ew, s.endpoint.size());

  if (options.connections && !data.connections.empty()) {
    out << "\nConnections\n";
    out << fmt::format("  {:<12}  {:<{}} {:<7} {:<16} {:<7} {:<7} {:>3}  {:<32}  {:>6}  {}\n",
                       "TIME (UTC)", "ENDPOINT", ew, "KIND", "STATUS", "TLS", "RESUMED", "TKT",
                       "KEY NAME (last ticket)", "HINT", "OFFERED");
    for (const Connection& c : data.connections) {
      const TicketSeen* last = c.tickets.empty() ? nullptr : &c.tickets.back();
      std::string name = "-";
      if (last != nullptr) name = last->key_name ? key_name_hex(*last->key_name) : "(hidden)";
      if (last != nullptr && last->zero_key.found()) name += " ZERO-KEY";
      std::string offered = "-";
      if (c.offered_ticket) {
        offered = c.offered_key_name ? key_name_hex(*c.offered_key_name).substr(0, 8) : "(hidden)";
        if (c.kind == ConnKind::cross) offered += " from " + c.offered_from;
        offered += " age " + format_duration_ms(c.time_ms - c.offered_issued_ms);
      }
      const std::string version = c.tls_version.empty() ? "-" : c.tls_version;
      out << fmt::format(
          "  {:<12}  {:<{}} {:<7} {:<16} {:<7} {:<7} {:>3}  {:<32}  {:>6}  {}\n",
          clock_ms(c.time_ms), c.endpoint, ew, conn_kind_name(c.kind), probe_status_name(c.status),
          version,
          c.status != ProbeStatus::ok ? "-"
          : c.offered_ticket          ? (c.resumed ? "yes" : "no")
                                      : "-",
          c.tickets.size(), name,
          last != nullptr ? format_duration_ms(std::int64_t{last->lifetime_hint} * 1000) : "-",
          offered);
      if (c.status != ProbeStatus::ok) out << "      " << c.detail << "\n";
    }
  }

  out << "\nEndpoints\n";
  out << fmt::format("  {:<{}} {:>7} {:>7} {:>5} {:>9}  {:<15} {:<15} {}\n", "ENDPOINT", ew,
                     "OK/CONN", "TICKETS", "KEYS", "ROTATIONS", "HINT", "RESUMED", "CERTIFICATE");
  for (const EndpointSummary& s : analysis.endpoints) {
    std::string cert = "-";
    if (s.cert) cert = s.cert->verified ? "verified" : "not verified: " + s.cert->error;
    out << fmt::format("  {:<{}} {:>7} {:>7} {:>5} {:>9}  {:<15} {:<15} {}\n", s.endpoint, ew,
                       fmt::format("{}/{}", s.ok, s.connections), s.tickets, s.keys.size(),
                       s.rotations_ms.size(), hint_text(s.min_hint, s.max_hint),
                       s.resume_attempts ? fmt::format("{}/{}", s.resumed, s.resume_attempts) : "-",
                       cert);
    if (s.layout && s.tickets > 0) {
      out << fmt::format("      layout {} ({} confidence): {}\n", layout_name(s.layout->layout),
                         confidence_name(s.layout->confidence), s.layout->reason);
    }
    for (const KeyLife& k : s.keys) {
      out << fmt::format("      key {}  {} .. {}  life {}{}  tickets {}\n", key_name_hex(k.name),
                         clock_ms(k.first_seen_ms), clock_ms(k.last_seen_ms),
                         format_duration_ms(k.life_ms()), k.complete() ? "" : "+", k.tickets);
    }
    if (!s.failures.empty()) {
      std::vector<std::string> parts;
      for (const auto& [k, v] : s.failures) parts.push_back(fmt::format("{} x{}", k, v));
      out << fmt::format("      failed: {} (last: {})\n", fmt::join(parts, ", "), s.last_failure);
    }
  }

  if (!data.psk_ke.empty()) {
    out << "\nTLS 1.3 resumption with psk_ke only (no (EC)DHE)\n";
    for (const PskKeProbe& p : data.psk_ke) {
      out << fmt::format("  {:<{}} {:<12}  {}\n", p.endpoint, ew, psk_ke_result_name(p.result),
                         p.detail);
      if (!p.control_detail.empty()) {
        out << fmt::format("  {:<{}} {:<12}  control with psk_dhe_ke: {}\n", "", ew, "",
                           p.control_detail);
      }
    }
  }

  out << "\nFindings\n";
  if (analysis.findings.empty()) out << "  none\n";
  for (const Finding& f : analysis.findings) {
    out << fmt::format("  [{}] {}: {}\n", severity_name(f.severity), f.id, f.summary);
  }
}

std::string report_text(const Json& report) {
  if (!report.is_object() || report.empty()) return report.dump(2);
  std::string out = "{";
  const char* sep = "\n";
  for (auto it = report.begin(); it != report.end(); ++it) {
    out += sep;
    sep = ",\n";
    out += "  " + Json(it.key()).dump() + ": ";
    const bool one_per_line = it.key() == "connections" || it.key() == "psk_ke";
    if (one_per_line && it->is_array() && !it->empty()) {
      out += "[";
      const char* item_sep = "\n    ";
      for (const Json& item : *it) {
        out += item_sep;
        item_sep = ",\n    ";
        out += item.dump();
      }
      out += "\n  ]";
      continue;
    }
    const std::string nested = it->dump(2);
    for (char c : nested) {
      out += c;
      if (c == '\n') out += "  ";
    }
  }
  return out + "\n}";
}

Json to_json(const ScanData& data, const Analysis& analysis) {
  Json endpoints = Json::array();
  for (const EndpointSummary& s : analysis.endpoints) endpoints.push_back(endpoint_json(data, s));
  Json connections = Json::array();
  for (const Connection& c : data.connections) connections.push_back(connection_json(c));
  Json psk = Json::array();
  for (const PskKeProbe& p : data.psk_ke) {
    psk.push_back(Json{{"endpoint", p.endpoint},
                       {"time", utc_ms(p.time_ms)},
                       {"ticket_key_name",
                        p.ticket_key_name ? Json(key_name_hex(*p.ticket_key_name)) : Json(nullptr)},
                       {"result", psk_ke_result_name(p.result)},
                       {"detail", p.detail},
                       {"control_detail", p.control_detail}});
  }
  Json findings = Json::array();
  for (const Finding& f : analysis.findings) {
    findings.push_back(Json{{"id", f.id},
                            {"severity", severity_name(f.severity)},
                            {"endpoints", f.endpoints},
                            {"summary", f.summary},
                            {"evidence", f.evidence}});
  }
  return Json{{"schema", kJsonSchema},
              {"mode", mode_name(data.mode)},
              {"started", utc_ms(data.started_ms)},
              {"finished", utc_ms(data.finished_ms)},
              {"started_unix_ms", data.started_ms},
              {"finished_unix_ms", data.finished_ms},
              {"every_s", static_cast<double>(data.every_ms) / 1000.0},
              {"duration_s", static_cast<double>(data.duration_ms) / 1000.0},
              {"interrupted", data.interrupted},
              {"worst_severity",
               analysis.findings.empty() ? Json(nullptr) : Json(severity_name(analysis.worst()))},
              {"endpoints", endpoints},
              {"connections", connections},
              {"psk_ke", psk},
              {"findings", findings}};
}

}  // namespace stek::scan

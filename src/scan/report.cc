// Table, JSON and SVG renderings of a scan.
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

namespace {

std::string clock_ms(Millis t) {
  return utc_ms(t).substr(11, 12);
}  // HH:MM:SS.mmm

std::string hint_text(std::optional<std::uint32_t> lo, std::optional<std::uint32_t> hi) {
  if (!hi) return "-";
  if (*lo == *hi) return format_duration_ms(std::int64_t{*hi} * 1000);
  return format_duration_ms(std::int64_t{*lo} * 1000) + ".." +
         format_duration_ms(std::int64_t{*hi} * 1000);
}

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

// Distinct colours: a qualitative palette first, then hues spaced by the golden angle.
std::string key_colour(std::size_t i) {
  static constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759",
                                             "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
                                             "#9c755f", "#17becf", "#bcbd22", "#8c564b"};
  constexpr std::size_t n = sizeof kPalette / sizeof kPalette[0];
  if (i < n) return kPalette[i];
  const double hue = std::fmod(static_cast<double>(i) * 137.508, 360.0);
  return fmt::format("hsl({:.0f},65%,{}%)", hue, i % 2 == 0 ? 45 : 60);
}

// A tick step of 1, 2 or 5 times a power of ten seconds, or a round minute/hour/day step,
// that gives about `target` ticks over `span_ms`.
std::int64_t tick_step_ms(std::int64_t span_ms, int target) {
  static constexpr std::int64_t kSteps[] = {
      100,      200,      500,      1000,      2000,      5000,       10000,     15000,   30000,
      60000,    120000,   300000,   600000,    900000,    1800000,    3600000,   7200000, 10800000,
      21600000, 43200000, 86400000, 172800000, 604800000, 1209600000, 2592000000};
  for (std::int64_t s : kSteps) {
    if (span_ms / s <= target) return s;
  }
  return kSteps[std::size(kSteps) - 1];
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

std::string render_svg(const ScanData& data, const Analysis& analysis) {
  constexpr int kWidth = 1000;
  constexpr int kLeft = 200;
  constexpr int kRight = 30;
  constexpr int kTop = 74;
  constexpr int kRow = 40;
  constexpr int kBar = 16;
  const int plot_w = kWidth - kLeft - kRight;
  const std::size_t rows = std::max<std::size_t>(1, analysis.endpoints.size());

  // Colours by first appearance of a key name anywhere.
  std::vector<KeyName> order;
  std::map<KeyName, std::vector<std::string>> seen_at;
  std::vector<std::pair<Millis, KeyName>> firsts;
  for (const EndpointSummary& s : analysis.endpoints) {
    for (const KeyLife& k : s.keys) {
      firsts.emplace_back(k.first_seen_ms, k.name);
      seen_at[k.name].push_back(s.endpoint);
    }
  }
  std::stable_sort(firsts.begin(), firsts.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::map<KeyName, std::size_t> colour_of;
  for (const auto& [t, name] : firsts) {
    if (colour_of.emplace(name, order.size()).second) order.push_back(name);
  }

  constexpr std::size_t kMaxLegend = 24;
  const std::size_t legend_items = std::min(order.size(), kMaxLegend);
  const int legend_rows = static_cast<int>((legend_items + 2) / 3) + (order.size() > kMaxLegend);
  const int plot_h = static_cast<int>(rows) * kRow;
  const int height = kTop + plot_h + 46 + legend_rows * 20 + 16;

  const Millis t0 = data.started_ms;
  const Millis t1 = std::max<Millis>(data.finished_ms, t0 + 1000);
  const double span = static_cast<double>(t1 - t0);
  auto x_of = [&](Millis t) {
    return kLeft + static_cast<double>(plot_w) * static_cast<double>(t - t0) / span;
  };

  std::string svg;
  auto add = [&](const std::string& s) { svg += s; };
  add(fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
      "font-size=\"12\">\n",
      kWidth, height));
  add(fmt::format("<rect width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>\n", kWidth, height));
  std::size_t warnings = 0;
  for (const Finding& f : analysis.findings) warnings += f.severity != Severity::info;
  add(
      fmt::format("<text x=\"16\" y=\"24\" font-size=\"16\" font-weight=\"bold\">stek-scan {}: "
                  "session ticket key names over time</text>\n",
                  mode_name(data.mode)));
  add(
      fmt::format("<text x=\"16\" y=\"44\" fill=\"#444\">{} .. {} UTC ({}){} · {} key "
                  "name{} · {} finding{} at warning or above</text>\n",
                  escape_markup(utc_ms(t0)), clock_ms(data.finished_ms),
                  format_duration_ms(data.finished_ms - t0),
                  data.mode == Mode::watch
                      ? fmt::format(", a connection every {}", format_duration_ms(data.every_ms))
                      : std::string(),
                  order.size(), order.size() == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s"));

  // Time axis with grid lines.
  const std::int64_t step = tick_step_ms(t1 - t0, 8);
  for (std::int64_t off = 0; t0 + off <= t1; off += step) {
    const double x = x_of(t0 + off);
    add(fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#e3e3e3\"/>\n", x,
        kTop - 6, kTop + plot_h));
    add(fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\" fill=\"#555\">+{}</text>\n",
                    x, kTop - 10, off == 0 ? "0s" : format_duration_ms(off)));
  }

  for (std::size_t r = 0; r < analysis.endpoints.size(); ++r) {
    const EndpointSummary& s = analysis.endpoints[r];
    const int y = kTop + static_cast<int>(r) * kRow;
    const int mid = y + kRow / 2;
    if (r % 2 == 0) {
      add(fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#f6f7f9\"/>\n",
                      kLeft, y, plot_w, kRow));
    }
    add(fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-weight=\"bold\">{}</text>\n",
                    kLeft - 10, mid - 2, escape_markup(s.endpoint)));
    add(fmt::format(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#666\" "
        "font-size=\"10\">{} key{}, {} rotation{}, hint {}</text>\n",
        kLeft - 10, mid + 11, s.keys.size(), s.keys.size() == 1 ? "" : "s", s.rotations_ms.size(),
        s.rotations_ms.size() == 1 ? "" : "s", hint_text(s.min_hint, s.max_hint)));
    for (const KeyLife& k : s.keys) {
      const double x0 = x_of(k.first_seen_ms);
      const double w = std::max(4.0, x_of(k.last_seen_ms) - x0);
      add(fmt::format(
          "<rect x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" rx=\"3\" "
          "fill=\"{}\"><title>{} on {}: {} .. {}</title></rect>\n",
          x0, mid - kBar / 2, w, kBar, key_colour(colour_of[k.name]), key_name_hex(k.name),
          escape_markup(s.endpoint), utc_ms(k.first_seen_ms), utc_ms(k.last_seen_ms)));
    }
    for (Millis t : s.rotations_ms) {
      const double x = x_of(t);
      add(
          fmt::format("<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#222\" "
                      "stroke-width=\"1.5\"/>\n",
                      x, mid - kBar / 2 - 4, mid + kBar / 2 + 4));
    }
    // Each connection: a tick above the bar (black: ticket with a name, grey: no ticket or a
    // hidden name, red cross: failed).
    for (const Connection& c : data.connections) {
      if (c.endpoint != s.endpoint) continue;
      const double x = x_of(c.time_ms);
      if (c.status != ProbeStatus::ok) {
        add(
            fmt::format("<path d=\"M{0:.1f} {1} l6 6 m0 -6 l-6 6\" stroke=\"#d62728\" "
                        "stroke-width=\"1.6\"><title>{2}: {3}</title></path>\n",
                        x - 3, y + 3, probe_status_name(c.status), escape_markup(c.detail)));
        continue;
      }
      const bool named = !c.tickets.empty() && c.tickets.back().key_name.has_value();
      add(
          fmt::format("<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"{3}\" "
                      "stroke-width=\"1\"/>\n",
                      x, mid + kBar / 2 + 2, mid + kBar / 2 + 7, named ? "#333" : "#aaa"));
    }
  }
  add(
      fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" "
                  "stroke=\"#bbb\"/>\n",
                  kLeft, kTop, plot_w, plot_h));

  // Legend: colour, key name prefix, where it was seen.
  int ly = kTop + plot_h + 28;
  add(
      fmt::format("<text x=\"16\" y=\"{}\" fill=\"#444\">Bars: a key name from its first to its "
                  "last ticket. Black lines: rotations. Ticks: connections (grey: no readable "
                  "key name). Red crosses: failed connections.</text>\n",
                  ly - 8));
  ly += 10;
  for (std::size_t i = 0; i < legend_items; ++i) {
    const int col = static_cast<int>(i % 3);
    const int row = static_cast<int>(i / 3);
    const int x = 16 + col * 320;
    const int yy = ly + row * 20;
    const auto& eps = seen_at[order[i]];
    add(fmt::format("<rect x=\"{}\" y=\"{}\" width=\"14\" height=\"12\" rx=\"2\" fill=\"{}\"/>\n",
                    x, yy - 10, key_colour(i)));
    add(
        fmt::format("<text x=\"{}\" y=\"{}\"><tspan font-family=\"DejaVu Sans Mono, monospace\">{}"
                    "</tspan><tspan dx=\"10\" fill=\"#666\">{}</tspan></text>\n",
                    x + 20, yy, key_name_hex(order[i]).substr(0, 12),
                    eps.size() > 1 ? fmt::format("shared by {} endpoints", eps.size())
                                   : escape_markup(eps.front())));
  }
  if (order.size() > kMaxLegend) {
    add(fmt::format("<text x=\"16\" y=\"{}\" fill=\"#666\">… and {} more key names</text>\n",
                    ly + (legend_rows - 1) * 20, order.size() - kMaxLegend));
  }
  add("</svg>\n");
  return svg;
}

}  // namespace stek::scan

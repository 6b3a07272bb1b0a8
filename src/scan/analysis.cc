// Findings from recorded connections. Every finding carries the evidence it rests on.
#include "analysis.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "args.h"
#include "time_text.h"

namespace stek::scan {

std::string_view severity_name(Severity s) {
  switch (s) {
    case Severity::info:
      return "info";
    case Severity::warning:
      return "warning";
    case Severity::critical:
      return "critical";
  }
  return "?";
}

Severity Analysis::worst() const {
  Severity w = Severity::info;
  for (const Finding& f : findings) w = std::max(w, f.severity);
  return w;
}

std::string utc_ms(Millis t) {
  return log::rfc3339_utc_ms(t);
}

namespace {

double seconds(std::int64_t ms) {
  return static_cast<double>(ms) / 1000.0;
}

struct TicketEvent {
  Millis time_ms;
  KeyName name;
};

EndpointSummary summarize(const std::string& label, const std::vector<const Connection*>& conns) {
  EndpointSummary s;
  s.endpoint = label;
  std::vector<TicketEvent> events;
  std::set<std::string> versions;
  for (const Connection* c : conns) {
    ++s.connections;
    if (c->status != ProbeStatus::ok) {
      ++s.failures[std::string(probe_status_name(c->status))];
      s.last_failure = c->detail;
      continue;
    }
    ++s.ok;
    if (!c->tls_version.empty()) versions.insert(c->tls_version);
    if (c->cert && !s.cert) s.cert = c->cert;
    if (c->kind == ConnKind::resume) {
      ++s.resume_attempts;
      if (c->resumed) ++s.resumed;
      if (c->renewed) ++s.renewed;
    }
    if (c->kind == ConnKind::aged) {
      s.aged.push_back(
          {c->offered_key_name.value_or(KeyName{}), c->offered_issued_ms, c->time_ms, c->resumed});
    }
    if (c->kind == ConnKind::retired && c->offered_key_name) {
      s.retired.push_back({*c->offered_key_name, c->offered_issued_ms, c->time_ms, c->resumed});
    }
    for (const TicketSeen& t : c->tickets) {
      ++s.tickets;
      // A hint of 0 means "unspecified" (RFC 5077); OpenSSL servers send it with tickets
      // renewed on a TLS 1.2 resumption.
      if (t.lifetime_hint != 0) {
        s.min_hint = std::min(s.min_hint.value_or(t.lifetime_hint), t.lifetime_hint);
        s.max_hint = std::max(s.max_hint.value_or(t.lifetime_hint), t.lifetime_hint);
      }
      if (!t.key_name) {
        ++s.tickets_hidden;
        if (std::find(s.hidden_lengths.begin(), s.hidden_lengths.end(), t.length) ==
            s.hidden_lengths.end()) {
          s.hidden_lengths.push_back(t.length);
        }
        continue;
      }
      events.push_back({c->time_ms, *t.key_name});
    }
  }
  s.tls_versions.assign(versions.begin(), versions.end());
  std::stable_sort(events.begin(), events.end(), [](const TicketEvent& a, const TicketEvent& b) {
    return a.time_ms < b.time_ms;
  });
  if (events.empty()) return s;
  s.first_ticket_ms = events.front().time_ms;
  s.last_ticket_ms = events.back().time_ms;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const TicketEvent& e = events[i];
    s.sequence.push_back(e.name);
    if (i > 0) s.resolution_ms = std::max(s.resolution_ms, e.time_ms - events[i - 1].time_ms);
    auto it = std::find_if(s.keys.begin(), s.keys.end(),
                           [&](const KeyLife& k) { return k.name == e.name; });
    if (it == s.keys.end()) {
      KeyLife k;
      k.name = e.name;
      k.first_seen_ms = k.last_seen_ms = e.time_ms;
      k.tickets = 1;
      if (!s.keys.empty()) s.rotations_ms.push_back(e.time_ms);
      s.keys.push_back(k);
    } else {
      if (i > 0 && events[i - 1].name != e.name) s.interleaved = true;
      it->last_seen_ms = e.time_ms;
      ++it->tickets;
    }
  }
  for (KeyLife& k : s.keys) {
    k.from_start = k.first_seen_ms == *s.first_ticket_ms;
    k.to_end = k.last_seen_ms == *s.last_ticket_ms;
  }
  return s;
}

Json key_life_json(const KeyLife& k) {
  return Json{{"key_name", key_name_hex(k.name)},
              {"first_seen", utc_ms(k.first_seen_ms)},
              {"last_seen", utc_ms(k.last_seen_ms)},
              {"life_s", seconds(k.life_ms())},
              {"tickets", k.tickets},
              {"began_before_observation", k.from_start},
              {"outlived_observation", k.to_end}};
}

Json retired_json(const RetiredCheck& r) {
  return Json{{"key_name", key_name_hex(r.name)},
              {"issued", utc_ms(r.issued_ms)},
              {"offered", utc_ms(r.checked_ms)},
              {"age_s", seconds(r.age_ms())},
              {"resumed", r.resumed}};
}

std::string short_name(const KeyName& n) {
  return key_name_hex(n).substr(0, 8);
}

void endpoint_findings(const ScanData& data, const EndpointSummary& s,
                       const std::vector<const Connection*>& conns, std::vector<Finding>& out) {
  const std::vector<std::string> here{s.endpoint};

  // All-zero keys, once per endpoint, with the first ticket that showed it.
  for (const Connection* c : conns) {
    const auto t = std::find_if(c->tickets.begin(), c->tickets.end(),
                                [](const TicketSeen& x) { return x.zero_key.found(); });
    if (t == c->tickets.end()) continue;
    Finding f{"zero_key", Severity::critical, here, "", Json::object()};
    std::string what;
    if (t->zero_key.hmac_zero) what = "its HMAC-SHA256 verifies under an all-zero key";
    if (t->zero_key.aes_zero_bits != 0) {
      what += fmt::format("{}it decrypts under an all-zero AES-{}-CBC key to a session",
                          what.empty() ? "" : " and ", t->zero_key.aes_zero_bits);
    }
    f.summary = fmt::format(
        "a ticket from {} opens with an all-zero key: {}. Anyone can decrypt every session "
        "resumed with such tickets",
        s.endpoint, what);
    f.evidence = Json{{"key_name", t->key_name ? key_name_hex(*t->key_name) : ""},
                      {"ticket_length", t->length},
                      {"hmac_sha256_all_zero_key", t->zero_key.hmac_zero},
                      {"aes_cbc_all_zero_key_bits", t->zero_key.aes_zero_bits},
                      {"seen", utc_ms(c->time_ms)},
                      {"tls_version", c->tls_version}};
    out.push_back(std::move(f));
    break;
  }

  if (s.ok > 0 && s.tickets == 0) {
    out.push_back({"no_ticket", Severity::info, here,
                   fmt::format("{} completed {} handshake{} and issued no session ticket",
                               s.endpoint, s.ok, s.ok == 1 ? "" : "s"),
                   Json{{"handshakes", s.ok}, {"tls_versions", s.tls_versions}}});
  }
  if (s.tickets_hidden > 0) {
    out.push_back({"key_name_hidden", Severity::info, here,
                   fmt::format("{} of {} tickets from {} show no key name stek-scan can find "
                               "(no known layout, or no prefix shared between tickets): "
                               "rotation cannot be followed by name",
                               s.tickets_hidden, s.tickets, s.endpoint),
                   Json{{"tickets", s.tickets_hidden}, {"lengths", s.hidden_lengths}}});
  }
  if (s.cert && !s.cert->verified) {
    out.push_back({"certificate_not_verified", Severity::info, here,
                   fmt::format("{}: certificate not verified ({}); scanned anyway", s.endpoint,
                               s.cert->error),
                   Json{{"error", s.cert->error}}});
  }
  if (!s.failures.empty()) {
    Json statuses = Json::object();
    for (const auto& [k, v] : s.failures) statuses[k] = v;
    out.push_back({"connection_failed", s.ok == 0 ? Severity::warning : Severity::info, here,
                   fmt::format("{}: {} of {} connections failed (last: {})", s.endpoint,
                               s.connections - s.ok, s.connections, s.last_failure),
                   Json{{"statuses", statuses}, {"last_detail", s.last_failure}}});
  }
  if (s.resume_attempts > 0 && s.resumed < s.resume_attempts) {
    out.push_back({"resumption_failed", Severity::info, here,
                   fmt::format("{} resumed {} of {} tickets it had issued shortly before",
                               s.endpoint, s.resumed, s.resume_attempts),
                   Json{{"attempts", s.resume_attempts}, {"resumed", s.resumed}}});
  }
  if (s.max_hint && *s.max_hint > kSevenDaysSeconds) {
    out.push_back(
        {"hint_over_7_days", Severity::warning, here,
         fmt::format("{} tells clients to keep tickets for {} (RFC 8446 allows at most 7 days)",
                     s.endpoint, format_duration_ms(std::int64_t{*s.max_hint} * 1000)),
         Json{{"lifetime_hint_s", *s.max_hint},
              {"limit_s", kSevenDaysSeconds},
              {"tls_versions", s.tls_versions}}});
  }

  const bool watched = data.mode == Mode::watch;
  if (!s.aged.empty()) {
    // Layout-free: the oldest ticket that still resumed and the youngest that did not.
    std::optional<std::int64_t> resumed_max;
    std::optional<std::int64_t> refused_min;
    Json checks = Json::array();
    for (const RetiredCheck& r : s.aged) {
      checks.push_back(Json{{"age_s", seconds(r.age_ms())}, {"resumed", r.resumed}});
      if (r.resumed) resumed_max = std::max(resumed_max.value_or(0), r.age_ms());
      if (!r.resumed) refused_min = std::min(refused_min.value_or(r.age_ms()), r.age_ms());
    }
    const std::string text =
        refused_min ? fmt::format("tickets resumed up to {} old and were refused from {} old",
                                  resumed_max ? format_duration_ms(*resumed_max) : "0s",
                                  format_duration_ms(*refused_min))
                    : fmt::format("every older ticket resumed, the oldest {} old",
                                  format_duration_ms(resumed_max.value_or(0)));
    out.push_back(
        {"acceptance_window", Severity::info, here,
         fmt::format("{}: {} (by resumption, no key name needed)", s.endpoint, text),
         Json{{"longest_resumed_age_s", resumed_max ? Json(seconds(*resumed_max)) : Json(nullptr)},
              {"shortest_refused_age_s", refused_min ? Json(seconds(*refused_min)) : Json(nullptr)},
              {"checks", checks}}});
    // Without key names, tickets as old as the watch still resuming is the sign of a key
    // that does not rotate (with names, never_rotates below says it).
    if (s.keys.empty() && !refused_min && resumed_max &&
        *resumed_max * 10 >= data.duration_ms * 9) {
      out.push_back({"never_rotates", Severity::warning, here,
                     fmt::format("{}: a ticket {} old still resumed at the end of a {} watch: "
                                 "its key did not rotate (measured by resumption)",
                                 s.endpoint, format_duration_ms(*resumed_max),
                                 format_duration_ms(data.duration_ms)),
                     Json{{"observed_s", seconds(*resumed_max)},
                          {"method", "resumption"},
                          {"lifetime_hint_s", s.max_hint.value_or(0)}}});
    }
  }
  if (s.keys.size() == 1 && s.keys[0].tickets >= 2 && s.keys[0].life_ms() > 0 && watched) {
    const KeyLife& k = s.keys[0];
    out.push_back(
        {"never_rotates", Severity::warning, here,
         fmt::format("{} issued every ticket under key {} for the whole observation ({}, {} "
                     "tickets): its key did not rotate",
                     s.endpoint, short_name(k.name), format_duration_ms(k.life_ms()), k.tickets),
         Json{{"key_name", key_name_hex(k.name)},
              {"first_seen", utc_ms(k.first_seen_ms)},
              {"last_seen", utc_ms(k.last_seen_ms)},
              {"observed_s", seconds(k.life_ms())},
              {"tickets", k.tickets},
              {"lifetime_hint_s", s.max_hint.value_or(0)}}});
  }

  if (s.keys.size() >= 2) {
    std::vector<std::int64_t> intervals;
    for (std::size_t i = 1; i < s.rotations_ms.size(); ++i) {
      intervals.push_back(s.rotations_ms[i] - s.rotations_ms[i - 1]);
    }
    std::vector<std::int64_t> sorted = intervals;
    std::sort(sorted.begin(), sorted.end());
    const KeyLife* longest = &s.keys[0];
    for (const KeyLife& k : s.keys) {
      if (k.life_ms() > longest->life_ms()) longest = &k;
    }
    Json keys = Json::array();
    for (const KeyLife& k : s.keys) keys.push_back(key_life_json(k));
    Json times = Json::array();
    for (Millis t : s.rotations_ms) times.push_back(utc_ms(t));
    Json ivals = Json::array();
    for (auto v : intervals) ivals.push_back(seconds(v));
    Json retired = Json::array();
    for (const RetiredCheck& r : s.retired) retired.push_back(retired_json(r));
    std::string interval_text =
        sorted.empty() ? "one rotation seen, no full interval yet"
                       : fmt::format("interval {} (median of {})",
                                     format_duration_ms(sorted[sorted.size() / 2]), sorted.size());
    Json ev{{"key_names", s.keys.size()},
            {"rotations", s.rotations_ms.size()},
            {"rotation_times", times},
            {"intervals_s", ivals},
            {"median_interval_s",
             sorted.empty() ? Json(nullptr) : Json(seconds(sorted[sorted.size() / 2]))},
            {"resolution_s", seconds(s.resolution_ms)},
            {"longest_life_s", seconds(longest->life_ms())},
            {"longest_life_key", key_name_hex(longest->name)},
            {"longest_life_complete", longest->complete()},
            {"keys", keys},
            {"retired_checks", retired}};
    out.push_back(
        {"rotation", Severity::info, here,
         fmt::format("{} rotated its key {} time{}: {}; longest key life {}{}", s.endpoint,
                     s.rotations_ms.size(), s.rotations_ms.size() == 1 ? "" : "s", interval_text,
                     format_duration_ms(longest->life_ms()),
                     longest->complete() ? "" : " (at least: seen at an edge)"),
         std::move(ev)});

    // The hint against the longest life of a key seen from its first ticket to its last.
    const KeyLife* complete = nullptr;
    for (const KeyLife& k : s.keys) {
      if (k.complete() && (complete == nullptr || k.life_ms() > complete->life_ms())) complete = &k;
    }
    if (complete != nullptr && s.max_hint &&
        std::int64_t{*s.max_hint} * 1000 > complete->life_ms()) {
      // A retired key's ticket refused while its hint still ran: the promise is broken.
      // The youngest such ticket is the strongest evidence.
      auto refused = s.retired.end();
      for (auto it = s.retired.begin(); it != s.retired.end(); ++it) {
        if (it->resumed || it->age_ms() >= std::int64_t{*s.max_hint} * 1000) continue;
        if (refused == s.retired.end() || it->age_ms() < refused->age_ms()) refused = it;
      }
      const bool broken = refused != s.retired.end();
      const std::string hint_text = format_duration_ms(std::int64_t{*s.max_hint} * 1000);
      const std::string life_text = format_duration_ms(complete->life_ms());
      out.push_back(
          {"hint_exceeds_key_life", broken ? Severity::warning : Severity::info, here,
           broken ? fmt::format("{} tells clients to keep tickets for {}, but issues under one "
                                "key for about {} and refused a retired key's ticket after {}",
                                s.endpoint, hint_text, life_text,
                                format_duration_ms(refused->age_ms()))
                  : fmt::format("{} tells clients to keep tickets for {} and issues under one key "
                                "for about {}: fine only if older keys still open tickets",
                                s.endpoint, hint_text, life_text),
           Json{{"lifetime_hint_s", *s.max_hint},
                {"longest_complete_key_life_s", seconds(complete->life_ms())},
                {"key_name", key_name_hex(complete->name)},
                {"retired_ticket_refused_within_hint", broken},
                {"retired_checks", retired}}});
    }
  }

  if (s.interleaved) {
    Json seq = Json::array();
    for (std::size_t i = 0; i < s.sequence.size() && i < 40; ++i) {
      seq.push_back(short_name(s.sequence[i]));
    }
    out.push_back({"interleaved_key_names", Severity::info, here,
                   fmt::format("{} alternates between {} key names: several servers with "
                               "different keys behind one address, or several encrypting keys",
                               s.endpoint, s.keys.size()),
                   Json{{"sequence", seq}}});
  }
}

// Key names seen at more than one endpoint: one STEK shared between them.
void shared_key_findings(const ScanData& data, Analysis& a) {
  std::map<KeyName, std::vector<std::string>> where;
  for (const EndpointSummary& s : a.endpoints) {
    for (const KeyLife& k : s.keys) where[k.name].push_back(s.endpoint);
  }
  std::set<std::pair<std::string, std::string>> explained;
  for (const auto& [name, eps] : where) {
    if (eps.size() < 2) continue;
    Json cross = Json::array();
    for (const Connection& c : data.connections) {
      if (c.kind != ConnKind::cross || c.status != ProbeStatus::ok) continue;
      if (std::find(eps.begin(), eps.end(), c.endpoint) == eps.end() ||
          std::find(eps.begin(), eps.end(), c.offered_from) == eps.end()) {
        continue;
      }
      cross.push_back(Json{{"from", c.offered_from}, {"to", c.endpoint}, {"resumed", c.resumed}});
      explained.insert({c.offered_from, c.endpoint});
    }
    a.findings.push_back(
        {"shared_stek", Severity::warning, eps,
         fmt::format("{} endpoints issue tickets under the same key {}: one STEK shared by {}",
                     eps.size(), short_name(name), fmt::join(eps, ", ")),
         Json{{"key_name", key_name_hex(name)}, {"endpoints", eps}, {"cross_resumption", cross}}});
  }
  // Tickets that resumed across endpoints without a shared issuing key name: the keys are
  // shared for decryption (or the names are hidden).
  for (const Connection& c : data.connections) {
    if (c.kind != ConnKind::cross || c.status != ProbeStatus::ok || !c.resumed) continue;
    if (explained.count({c.offered_from, c.endpoint}) != 0) continue;
    explained.insert({c.offered_from, c.endpoint});
    a.findings.push_back(
        {"cross_resumption",
         Severity::warning,
         {c.offered_from, c.endpoint},
         fmt::format("{} resumed a ticket issued by {}: they share a key that opens tickets",
                     c.endpoint, c.offered_from),
         Json{{"from", c.offered_from},
              {"to", c.endpoint},
              {"key_name", c.offered_key_name ? key_name_hex(*c.offered_key_name) : ""}}});
  }
}

// vhosts: one address under several server names. A ticket issued under one name that
// resumes under another lets a session cross from one site to the next, and shows the
// names share a ticket key: the class of CVE-2014-3616.
void vhost_findings(const ScanData& data, Analysis& a) {
  std::map<std::string, std::vector<std::string>> names_of;  // endpoint -> key names issued
  for (const EndpointSummary& s : a.endpoints) {
    for (const KeyLife& k : s.keys) names_of[s.endpoint].push_back(key_name_hex(k.name));
  }
  for (const Connection& c : data.connections) {
    if (c.kind != ConnKind::cross || c.status != ProbeStatus::ok || !c.resumed) continue;
    a.findings.push_back(
        {"cross_name_resumption",
         Severity::warning,
         {c.offered_from, c.endpoint},
         fmt::format("a ticket issued under {} resumed under {}: the names share a ticket key "
                     "and the server does not bind sessions to the name (CVE-2014-3616 class)",
                     c.offered_from, c.endpoint),
         Json{{"from", c.offered_from},
              {"to", c.endpoint},
              {"tls_version", c.tls_version},
              {"key_name", c.offered_key_name ? key_name_hex(*c.offered_key_name) : ""},
              {"issued_under_from", names_of[c.offered_from]},
              {"issued_under_to", names_of[c.endpoint]}}});
  }
}

}  // namespace

Analysis analyze(const ScanData& data) {
  Analysis a;
  // Endpoints in the order given, plus any that only appear in connections.
  std::vector<std::string> labels;
  for (const Endpoint& e : data.endpoints) labels.push_back(e.label());
  for (const Connection& c : data.connections) {
    if (std::find(labels.begin(), labels.end(), c.endpoint) == labels.end()) {
      labels.push_back(c.endpoint);
    }
  }
  for (const std::string& label : labels) {
    std::vector<const Connection*> conns;
    for (const Connection& c : data.connections) {
      if (c.endpoint == label) conns.push_back(&c);
    }
    a.endpoints.push_back(summarize(label, conns));
    if (const auto it = data.layouts.find(label); it != data.layouts.end()) {
      a.endpoints.back().layout = it->second;
    }
    if (a.endpoints.back().ok > 0) a.any_connection_ok = true;
    endpoint_findings(data, a.endpoints.back(), conns, a.findings);
  }

  if (data.mode == Mode::vhosts) {
    vhost_findings(data, a);
  } else {
    shared_key_findings(data, a);
  }

  for (const PskKeProbe& p : data.psk_ke) {
    if (p.result != PskKeResult::accepted) continue;
    a.findings.push_back(
        {"psk_ke_accepted",
         Severity::warning,
         {p.endpoint},
         fmt::format("{} resumes TLS 1.3 sessions with psk_ke (no (EC)DHE): whoever gets its "
                     "ticket key can decrypt those resumed connections",
                     p.endpoint),
         Json{{"detail", p.detail},
              {"tested", utc_ms(p.time_ms)},
              {"ticket_key_name", p.ticket_key_name ? key_name_hex(*p.ticket_key_name) : ""}}});
  }

  std::stable_sort(a.findings.begin(), a.findings.end(),
                   [](const Finding& x, const Finding& y) { return x.severity > y.severity; });
  return a;
}

}  // namespace stek::scan

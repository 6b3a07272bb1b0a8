// The scan modes and the command line.
#include "scan.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <ostream>

#include <fmt/format.h>
#include <time.h>

#include "stek/bytes.h"
#include "stek/file.h"

#include "analysis.h"
#include "args.h"
#include "cross_resume.h"
#include "report.h"

namespace stek::scan {

bool SystemSleeper::sleep_until(const MillisClock& clock, Millis t) {
  for (;;) {
    if (stop_ != nullptr && *stop_ != 0) return false;
    const Millis left = t - clock.now_ms();
    if (left <= 0) return true;
    const Millis slice = std::min<Millis>(left, 100);
    timespec ts{static_cast<time_t>(slice / 1000), static_cast<long>((slice % 1000) * 1000000)};
    nanosleep(&ts, nullptr);
  }
}

namespace {

std::string short_hex(const std::optional<KeyName>& n) {
  return n ? key_name_hex(*n).substr(0, 8) : "(hidden)";
}

// What the scan keeps per endpoint between steps.
struct EndpointState {
  std::optional<HeldTicket> previous;      // newest ticket, offered at the next step
  std::vector<HeldTicket> first_per_name;  // oldest ticket of each key name
  std::optional<KeyName> current;          // key name of the newest ticket
  bool psk_ke_done = false;
  // The latest tickets' shapes, to judge the layout as the scan goes.
  std::vector<TicketShape> shapes;
  std::vector<LayoutGuess> guesses;
  // One fresh ticket per step, thinned to every other one when full: the oldest stays, and
  // ages stay spread over the whole watch.
  std::vector<HeldTicket> history;
};

void keep_history(EndpointState& st, const std::optional<HeldTicket>& t) {
  if (!t) return;
  st.history.push_back(*t);
  if (st.history.size() <= kMaxHistory) return;
  std::vector<HeldTicket> thinned;
  for (std::size_t i = 0; i < st.history.size(); i += 2) thinned.push_back(st.history[i]);
  if (thinned.back().received_ms != st.history.back().received_ms) {
    thinned.push_back(st.history.back());
  }
  st.history = std::move(thinned);
}

// Tickets to offer back at the end of a watch, oldest first, at ages that halve from the
// oldest one's down to one step: the last that resumes and the first that does not bracket
// how long the endpoint accepts its tickets, with no key name needed.
std::vector<const HeldTicket*> aged_offers(const EndpointState& st, Millis now, std::int64_t step) {
  std::vector<const HeldTicket*> out;
  if (st.history.size() < 2) return out;
  std::int64_t age = now - st.history.front().received_ms;
  while (out.size() < kMaxAgedChecks && age >= step) {
    const HeldTicket* best = nullptr;
    for (const HeldTicket& h : st.history) {
      if (best == nullptr ||
          std::llabs(now - h.received_ms - age) < std::llabs(now - best->received_ms - age)) {
        best = &h;
      }
    }
    if (out.empty() || out.back() != best) out.push_back(best);
    age /= 2;
  }
  return out;
}

constexpr std::size_t kLayoutWindow = 64;

void remember(EndpointState& st, ProbeResult& r) {
  for (const TicketSeen& t : r.connection.tickets) {
    st.shapes.push_back(t.shape);
    st.guesses.push_back(t.layout);
  }
  if (st.shapes.size() > kLayoutWindow) {
    const auto drop = static_cast<long>(st.shapes.size() - kLayoutWindow);
    st.shapes.erase(st.shapes.begin(), st.shapes.begin() + drop);
    st.guesses.erase(st.guesses.begin(), st.guesses.begin() + drop);
  }
  if (!r.ticket) return;
  // The layout may change its mind as tickets come (a 4-byte Java key id looks like a
  // 16-byte name in one ticket): name every held ticket under the latest judgement.
  const LayoutGuess layout = guess_endpoint_layout(st.shapes, st.guesses);
  r.ticket->key_name = key_name_under(layout, r.ticket->shape);
  st.previous = r.ticket;
  std::vector<HeldTicket> firsts;
  for (HeldTicket& h : st.first_per_name) {
    h.key_name = key_name_under(layout, h.shape);
    const bool dup = std::any_of(firsts.begin(), firsts.end(),
                                 [&](const HeldTicket& f) { return f.key_name == h.key_name; });
    if (h.key_name && !dup) firsts.push_back(std::move(h));
  }
  st.first_per_name = std::move(firsts);
  st.current = r.ticket->key_name;
  if (!r.ticket->key_name) return;
  const bool known =
      std::any_of(st.first_per_name.begin(), st.first_per_name.end(),
                  [&](const HeldTicket& h) { return h.key_name == r.ticket->key_name; });
  if (!known && st.first_per_name.size() < 256) st.first_per_name.push_back(*r.ticket);
}

void report_progress(std::ostream* progress, const Connection& c) {
  if (progress == nullptr) return;
  std::string what;
  if (c.status != ProbeStatus::ok) {
    what = fmt::format("{}: {}", probe_status_name(c.status), c.detail);
  } else {
    what = fmt::format("{} {}", c.tls_version, c.resumed ? "resumed" : "full handshake");
    if (!c.tickets.empty()) {
      what += fmt::format(", {} ticket{} key {}", c.tickets.size(),
                          c.tickets.size() == 1 ? "" : "s", short_hex(c.tickets.back().key_name));
    } else {
      what += ", no ticket";
    }
  }
  *progress << fmt::format("stek-scan: {} {} {}: {}\n", utc_ms(c.time_ms).substr(11, 12),
                           c.endpoint, conn_kind_name(c.kind), what);
}

}  // namespace

ScanData run_scan(const ScanPlan& plan, Prober& prober, const MillisClock& clock, Sleeper& sleeper,
                  std::ostream* progress, std::vector<std::optional<HeldTicket>>* last_tickets) {
  ScanData data;
  data.mode = plan.mode;
  data.endpoints = plan.endpoints;
  data.every_ms = plan.every_ms;
  data.duration_ms = plan.duration_ms;
  data.started_ms = clock.now_ms();
  std::vector<EndpointState> state(plan.endpoints.size());

  auto record = [&](ProbeResult r) {
    report_progress(progress, r.connection);
    data.connections.push_back(std::move(r.connection));
  };

  std::int64_t steps = 1;
  if (plan.mode == Mode::watch && plan.every_ms > 0) {
    steps = std::min<std::int64_t>(plan.duration_ms / plan.every_ms + 1, kMaxSteps);
  }
  for (std::int64_t step = 0; step < steps; ++step) {
    if (step > 0 && !sleeper.sleep_until(clock, data.started_ms + step * plan.every_ms)) {
      data.interrupted = true;
      break;
    }
    for (std::size_t i = 0; i < plan.endpoints.size(); ++i) {
      const Endpoint& ep = plan.endpoints[i];
      EndpointState& st = state[i];
      ProbeResult fresh = prober.connect(ep, ConnKind::fresh, nullptr);
      // The ticket to offer back: the previous step's, or on the first step this one's.
      std::optional<HeldTicket> offer = st.previous ? st.previous : fresh.ticket;
      remember(st, fresh);
      if (plan.mode == Mode::watch) keep_history(st, fresh.ticket);
      record(std::move(fresh));
      if (plan.resume && offer) {
        ProbeResult again = prober.connect(ep, ConnKind::resume, &*offer);
        remember(st, again);
        record(std::move(again));
      }
      if (plan.psk_ke && !st.psk_ke_done && st.previous && st.previous->tls13) {
        st.psk_ke_done = true;
        data.psk_ke.push_back(prober.check_psk_ke(ep, *st.previous));
        if (progress != nullptr) {
          *progress << fmt::format("stek-scan: {} psk_ke: {} ({})\n", ep.label(),
                                   psk_ke_result_name(data.psk_ke.back().result),
                                   data.psk_ke.back().detail);
        }
      }
    }
  }

  if (plan.psk_ke) {
    for (std::size_t i = 0; i < plan.endpoints.size(); ++i) {
      if (state[i].psk_ke_done) continue;
      PskKeProbe p;
      p.time_ms = clock.now_ms();
      p.endpoint = plan.endpoints[i].label();
      p.result = PskKeResult::not_tested;
      p.detail = "no TLS 1.3 ticket to offer";
      data.psk_ke.push_back(std::move(p));
    }
  }

  if (plan.mode == Mode::watch && plan.retired && !data.interrupted) {
    for (std::size_t i = 0; i < plan.endpoints.size(); ++i) {
      EndpointState& st = state[i];
      if (st.first_per_name.size() < 2) continue;  // nothing retired
      // One more fresh ticket first: a rotation since the last step would otherwise make
      // the key judged current one that has just been retired.
      ProbeResult now = prober.connect(plan.endpoints[i], ConnKind::fresh, nullptr);
      remember(st, now);
      record(std::move(now));
      std::vector<HeldTicket> retired;
      for (const HeldTicket& h : st.first_per_name) {
        if (h.key_name != st.current) retired.push_back(h);
      }
      const std::size_t skip =
          retired.size() > kMaxRetiredChecks ? retired.size() - kMaxRetiredChecks : 0;
      for (std::size_t k = skip; k < retired.size(); ++k) {
        record(prober.connect(plan.endpoints[i], ConnKind::retired, &retired[k]));
      }
    }
  }

  if (plan.mode == Mode::watch && plan.aged && !data.interrupted) {
    for (std::size_t i = 0; i < plan.endpoints.size(); ++i) {
      for (const HeldTicket* h : aged_offers(state[i], clock.now_ms(), plan.every_ms)) {
        record(prober.connect(plan.endpoints[i], ConnKind::aged, h));
      }
    }
  }

  if (plan.mode == Mode::compare || plan.mode == Mode::vhosts) {
    for (std::size_t from = 0; from < plan.endpoints.size(); ++from) {
      if (!state[from].previous) continue;
      for (std::size_t to = 0; to < plan.endpoints.size(); ++to) {
        if (to == from) continue;
        record(prober.connect(plan.endpoints[to], ConnKind::cross, &*state[from].previous));
      }
    }
  }
  if (last_tickets != nullptr) {
    last_tickets->clear();
    for (const EndpointState& st : state) last_tickets->push_back(st.previous);
  }
  settle_layouts(data);
  data.finished_ms = clock.now_ms();
  return data;
}

void settle_layouts(ScanData& data) {
  std::map<std::string, std::vector<TicketSeen*>> by_endpoint;
  for (Connection& c : data.connections) {
    for (TicketSeen& t : c.tickets) by_endpoint[c.endpoint].push_back(&t);
  }
  for (auto& [label, tickets] : by_endpoint) {
    std::vector<TicketShape> shapes;
    std::vector<LayoutGuess> guesses;
    for (const TicketSeen* t : tickets) {
      shapes.push_back(t->shape);
      guesses.push_back(t->layout);
    }
    const LayoutGuess layout = guess_endpoint_layout(shapes, guesses);
    for (TicketSeen* t : tickets) t->key_name = key_name_under(layout, t->shape);
    data.layouts[label] = layout;
  }
  // An offered ticket is named under the layout of the endpoint that issued it.
  for (Connection& c : data.connections) {
    if (!c.offered_shape) continue;
    const auto it = data.layouts.find(c.offered_from);
    if (it != data.layouts.end()) c.offered_key_name = key_name_under(it->second, *c.offered_shape);
  }
}

int usage(Env& env, const std::string& message) {
  env.err << "stek-scan: " << message << "\n";
  return 2;
}

Status write_output(const std::string& path, std::string_view text, Env& env) {
  if (path == "-") {
    env.out << text;
    env.out.flush();
    return {};
  }
  return write_file_atomic(path, as_bytes(text), 0644);
}

namespace {

// The scanner's own sessions, created 0600 and renamed into place whole (write_file_atomic):
// they let their holder resume those sessions. Their bytes go nowhere else.
Status write_kept_tickets(const std::string& path, const std::vector<Endpoint>& endpoints,
                          const std::vector<std::optional<HeldTicket>>& last) {
  std::vector<KeptTicket> kept;
  for (std::size_t i = 0; i < last.size() && i < endpoints.size(); ++i) {
    if (!last[i]) continue;
    auto k = keep_ticket(*last[i], endpoints[i].sni);
    if (k.ok()) kept.push_back(std::move(k).value());
  }
  const SecretString text = format_kept_tickets(kept);
  return write_file_atomic(path, as_bytes(std::string_view(text.data(), text.size())), 0600);
}

}  // namespace

int run_cli(const CliArgs& args, Env& env) {
  if (args.endpoints.empty()) return usage(env, "no endpoint given");
  if (args.svg_out == "-") return usage(env, "--svg needs a file name");
  if (args.keep_tickets == "-") return usage(env, "--keep-tickets needs a file name");
  if (!args.keep_tickets.empty() && args.mode != Mode::once && args.mode != Mode::watch) {
    return usage(env, "--keep-tickets belongs to once and watch");
  }
  if (args.endpoints.size() > kMaxEndpoints) {
    return usage(env, fmt::format("at most {} endpoints per scan", kMaxEndpoints));
  }
  if (args.mode == Mode::compare &&
      (args.endpoints.size() < 2 || args.endpoints.size() > kMaxCompareEndpoints)) {
    return usage(env, fmt::format("compare needs 2 to {} endpoints", kMaxCompareEndpoints));
  }
  if (args.mode == Mode::vhosts && (args.endpoints.size() != 1 || args.names.size() < 2 ||
                                    args.names.size() > kMaxCompareEndpoints)) {
    return usage(
        env, fmt::format("vhosts needs one endpoint and 2 to {} --names", kMaxCompareEndpoints));
  }
  if (args.mode != Mode::vhosts && !args.names.empty()) {
    return usage(env, "--names belongs to vhosts");
  }
  ScanPlan plan;
  plan.mode = args.mode;
  plan.resume = !args.no_resume;
  plan.psk_ke = !args.no_psk_ke;
  plan.retired = !args.no_retired;
  plan.aged = !args.no_aged;
  for (const std::string& text : args.endpoints) {
    auto ep = parse_endpoint(text, args.sni);
    if (!ep.ok()) return usage(env, ep.error().message);
    if (args.mode == Mode::vhosts) {
      // One endpoint per server name, all at the same address.
      for (const std::string& name : args.names) {
        Endpoint named = *ep;
        named.sni = name == "-" ? std::string() : name;
        named.sni_in_label = true;
        const bool dup = std::any_of(plan.endpoints.begin(), plan.endpoints.end(),
                                     [&](const Endpoint& e) { return e.label() == named.label(); });
        if (dup) return usage(env, fmt::format("--names: {} given twice", name));
        plan.endpoints.push_back(named);
      }
      continue;
    }
    const bool dup = std::any_of(plan.endpoints.begin(), plan.endpoints.end(),
                                 [&](const Endpoint& e) { return e.label() == ep->label(); });
    if (dup) return usage(env, fmt::format("{}: given twice", ep->label()));
    plan.endpoints.push_back(*ep);
  }

  ProbeOptions probe;
  auto timeout = [&](const std::string& text, const char* what,
                     std::chrono::milliseconds& out) -> bool {
    auto ms = parse_duration_ms(text);
    if (!ms.ok() || *ms <= 0 || *ms > 300000) {
      env.err << "stek-scan: --" << what << " must be a duration from 1ms to 5m\n";
      return false;
    }
    out = std::chrono::milliseconds(*ms);
    return true;
  };
  if (!timeout(args.connect_timeout, "connect-timeout", probe.connect_timeout) ||
      !timeout(args.handshake_timeout, "handshake-timeout", probe.handshake_timeout) ||
      !timeout(args.ticket_wait, "ticket-wait", probe.ticket_wait)) {
    return 2;
  }
  if (args.tls == "1.2") {
    probe.versions = TlsVersions::tls12;
  } else if (args.tls == "1.3") {
    probe.versions = TlsVersions::tls13;
  } else if (args.tls != "any") {
    return usage(env, "--tls must be any, 1.2 or 1.3");
  }
  probe.ca_file = args.ca_file;

  if (args.mode == Mode::watch) {
    if (args.duration.empty() || args.every.empty()) {
      return usage(env, "watch needs --duration and --every");
    }
    auto d = parse_duration_ms(args.duration);
    if (!d.ok()) return usage(env, "--duration: " + d.error().message);
    auto e = parse_duration_ms(args.every);
    if (!e.ok()) return usage(env, "--every: " + e.error().message);
    if (*e < 200) return usage(env, "--every must be at least 200ms");
    if (*d < *e) return usage(env, "--duration must be at least --every");
    if (*d / *e + 1 > kMaxSteps) {
      return usage(env, fmt::format("--duration / --every gives more than {} steps", kMaxSteps));
    }
    plan.duration_ms = *d;
    plan.every_ms = *e;
  } else if (!args.duration.empty() || !args.every.empty()) {
    return usage(env, "--duration and --every belong to watch");
  }

  auto prober = Prober::make(probe, env.clock, env.random);
  if (!prober.ok()) return usage(env, prober.error().message);
  std::vector<std::optional<HeldTicket>> last;
  const ScanData data =
      run_scan(plan, **prober, env.clock, env.sleeper, args.quiet ? nullptr : &env.err, &last);
  const Analysis analysis = analyze(data);

  int rc = 0;
  if (!args.keep_tickets.empty()) {
    if (auto st = write_kept_tickets(args.keep_tickets, plan.endpoints, last); !st.ok()) {
      env.err << "stek-scan: " << st.error().message << "\n";
      rc = 4;
    }
  }
  if (args.json_out == "-") {
    env.out << report_text(to_json(data, analysis)) << "\n";
  } else {
    write_table(env.out, data, analysis, TableOptions{!args.brief});
    if (!args.json_out.empty()) {
      if (auto st = write_output(args.json_out, report_text(to_json(data, analysis)) + "\n", env);
          !st.ok()) {
        env.err << "stek-scan: " << st.error().message << "\n";
        rc = 4;
      }
    }
  }
  if (!args.svg_out.empty()) {
    if (auto st = write_output(args.svg_out, render_svg(data, analysis), env); !st.ok()) {
      env.err << "stek-scan: " << st.error().message << "\n";
      rc = 4;
    }
  }
  if (rc != 0) return rc;
  if (!analysis.any_connection_ok) return 3;
  return analysis.worst() >= Severity::warning && !analysis.findings.empty() ? 1 : 0;
}

}  // namespace stek::scan

// stek-scan: audits TLS endpoints' session ticket keys from outside. Flags are parsed
// here; the work is in src/scan.
#include <csignal>
#include <iostream>

#include <CLI/CLI.hpp>

#include "scan.h"

namespace {

volatile int g_stop = 0;  // set by SIGINT/SIGTERM: a watch stops and still reports

void on_signal(int) {
  g_stop = 1;
}

void add_common(CLI::App* cmd, stek::scan::CliArgs& a) {
  cmd->add_option("endpoints", a.endpoints, "HOST:PORT, HOST (port 443) or [IPV6]:PORT")
      ->required();
  cmd->add_option("--sni", a.sni,
                  "Server name to send to every endpoint (default: the host if it is a name, "
                  "none for addresses; - for none)");
  cmd->add_option("--tls", a.tls, "TLS versions to offer: any, 1.2 or 1.3")->capture_default_str();
  cmd->add_option("--connect-timeout", a.connect_timeout,
                  "Bound on DNS resolution and on the TCP connection, each")
      ->capture_default_str();
  cmd->add_option("--handshake-timeout", a.handshake_timeout, "Bound on the TLS handshake")
      ->capture_default_str();
  cmd->add_option("--ticket-wait", a.ticket_wait,
                  "How long to read for TLS 1.3 tickets after the handshake")
      ->capture_default_str();
  cmd->add_option("--ca-file", a.ca_file,
                  "Extra CA certificates (PEM) for the certificate check; the check is "
                  "reported, never enforced");
  cmd->add_option("--json", a.json_out,
                  "Write the JSON report (schema stek-scan/1) to FILE, or - for standard "
                  "output instead of the table");
  cmd->add_option("--svg", a.svg_out, "Write the SVG timeline to FILE");
  cmd->add_flag("--brief", a.brief, "Table without one line per connection");
  cmd->add_flag("--quiet,-q", a.quiet, "No progress lines on standard error");
  cmd->add_flag("--no-resume", a.no_resume, "Do not offer tickets back for resumption");
  cmd->add_flag("--no-psk-ke", a.no_psk_ke,
                "Skip the TLS 1.3 psk_ke (resumption without DHE) test");
}

void add_keep_tickets(CLI::App* cmd, stek::scan::CliArgs& a) {
  cmd->add_option("--keep-tickets", a.keep_tickets,
                  "Write the scanner's last ticket per endpoint, with the TLS session needed to "
                  "offer it, to FILE (mode 0600), for merge --cross-resume. A SECRET: whoever "
                  "holds it can resume those sessions");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "stek-scan: audit TLS endpoints' session ticket encryption keys (STEKs) from outside:\n"
      "key names over time, rotation, lifetime hints, keys shared between endpoints, psk_ke,\n"
      "all-zero keys. See docs/stek-scan.md.\n"
      "Exit codes: 0 no finding at warning or above, 1 a warning or critical finding,\n"
      "2 bad usage, 3 no endpoint completed a TLS handshake, 4 an output was not written."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "stek-scan 0.1.0");

  stek::scan::CliArgs once;
  once.mode = stek::scan::Mode::once;
  auto* o = app.add_subcommand("once", "Connect once to each endpoint, offer the ticket back");
  add_common(o, once);
  add_keep_tickets(o, once);

  stek::scan::CliArgs watch;
  watch.mode = stek::scan::Mode::watch;
  auto* w = app.add_subcommand(
      "watch",
      "Connect every T for D, follow key names over time, then offer retired keys' tickets");
  add_common(w, watch);
  add_keep_tickets(w, watch);
  w->add_option("--duration", watch.duration, "How long to watch, e.g. 10m, 2h, 1d")->required();
  w->add_option("--every", watch.every, "Time between connections, e.g. 30s, 5m")->required();
  w->add_flag("--no-retired", watch.no_retired,
              "Skip offering retired key names' tickets at the end");
  w->add_flag("--no-aged", watch.no_aged,
              "Skip offering older tickets at halving ages at the end (acceptance window)");

  stek::scan::CliArgs compare;
  compare.mode = stek::scan::Mode::compare;
  auto* c = app.add_subcommand(
      "compare", "Connect to 2 or more endpoints: shared key names, and cross-resumption");
  add_common(c, compare);

  stek::scan::CliArgs vhosts;
  vhosts.mode = stek::scan::Mode::vhosts;
  auto* v = app.add_subcommand(
      "vhosts",
      "Connect to one endpoint under several server names and offer each name's ticket under "
      "the others: cross-name resumption (virtual-host confusion)");
  add_common(v, vhosts);
  v->add_option("--names", vhosts.names,
                "Server names to send, comma-separated (2 to 16); - for no SNI")
      ->required()
      ->delimiter(',');

  stek::scan::MergeArgs merge;
  auto* m = app.add_subcommand(
      "merge",
      "Combine JSON reports taken from several vantage points and find key names seen from "
      "more than one (one STEK shared across locations, e.g. behind anycast)");
  m->add_option("reports", merge.reports, "stek-scan JSON reports (--json), 2 to 64")->required();
  m->add_option("--json", merge.json_out,
                "Write the merged JSON to FILE, or - for standard output");
  m->add_flag("--cross-resume", merge.cross_resume,
              "Offer each vantage point's kept tickets (--tickets), live, to every other "
              "vantage point's endpoints: a ticket that resumes there shows a shared STEK "
              "even when key names are hidden");
  m->add_option("--tickets", merge.tickets,
                "Tickets files (once/watch --keep-tickets), one per report in the same order, "
                "- for a report without one");
  m->add_option("--here", merge.here,
                "With --cross-resume: the report of the vantage point this merge runs at; "
                "only its endpoints are offered the others' tickets (needed when the vantage "
                "points scanned the same name, e.g. behind anycast)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error is exit code 2, as documented.
    return app.exit(e) == 0 ? 0 : 2;
  }

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  stek::scan::SystemMillisClock clock;
  stek::scan::SystemSleeper sleeper(&g_stop);
  stek::SystemRandom random;
  stek::scan::Env env{std::cout, std::cerr, clock, sleeper, random};
  if (*o) return stek::scan::run_cli(once, env);
  if (*w) return stek::scan::run_cli(watch, env);
  if (*c) return stek::scan::run_cli(compare, env);
  if (*v) return stek::scan::run_cli(vhosts, env);
  if (*m) return stek::scan::run_merge_cli(merge, env);
  return 2;
}

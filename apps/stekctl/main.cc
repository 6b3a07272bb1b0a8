// stekctl: stek's admin and offline tool. Flags are parsed here; the work is in src/ctl.
#include <iostream>
#include <map>

#include <CLI/CLI.hpp>

#include "stek/hardening.h"

#include "commands.h"
#include "online.h"
#include "pki.h"

namespace {

std::map<std::string, stek::Format> format_map() {
  std::map<std::string, stek::Format> m;
  for (stek::Format f : stek::kAllFormats) m.emplace(std::string(stek::format_name(f)), f);
  return m;
}

void add_schedule_flags(CLI::App* cmd, stek::ScheduleParams& p) {
  cmd->add_option("--interval", p.interval, "Rotation interval I in seconds")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--history", p.history, "Epochs H a ticket stays decryptable after its own")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--lookahead", p.lookahead, "Epochs L of keys made before use")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
}

void add_online_flags(CLI::App* cmd, stek::ctl::OnlineArgs& a) {
  cmd->add_option("--server", a.server, "stekd URL")->envname("STEK_SERVER")->capture_default_str();
  cmd->add_option("--cert", a.tls.cert, "Admin client certificate (PEM)")
      ->envname("STEK_CERT")
      ->required();
  cmd->add_option("--key", a.tls.key, "Its private key (PEM)")->envname("STEK_KEY")->required();
  cmd->add_option("--ca", a.tls.ca, "CA certificate that signed stekd's certificate")
      ->envname("STEK_CA")
      ->required();
  cmd->add_option("--timeout", a.timeout, "Seconds to wait for stekd")
      ->capture_default_str()
      ->check(CLI::Range(1, 600));
  cmd->add_flag("--json", a.json, "Print stekd's JSON answer");
}

}  // namespace

int main(int argc, char** argv) {
  // Keys pass through stekctl (keygen, convert, KEK, PKI): no core dumps, locked secrets.
  const auto hardening =
      stek::harden_process({.allow_core_dumps = stek::core_dumps_allowed_by_env()});
  for (const std::string& w : hardening.warnings) std::cerr << "stekctl: warning: " << w << "\n";
  CLI::App app{
      "stekctl: manage TLS session ticket encryption keys (STEKs).\n"
      "Offline subcommands work on key files; see `stekctl SUBCOMMAND --help` and "
      "docs/stekctl.md."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "stekctl 0.1.0");
  const auto formats = format_map();
  const std::string format_help = "Key file format: " + stek::format_names();
  auto format_check = CLI::CheckedTransformer(formats, CLI::ignore_case).description("");

  stek::ctl::KeygenArgs keygen;
  auto* kg = app.add_subcommand("keygen",
                                "Generate random keys in a server's key file format (mode 0600)");
  kg->add_option("--format,-f", keygen.format, format_help)
      ->required()
      ->transform(format_check)
      ->type_name("FORMAT");
  kg->add_option("--out,-o", keygen.out, "Output file, or - for standard output")->required();
  kg->add_option("--count", keygen.count,
                 "Number of keys (default: 1; haproxy 3 = previous, current, next; json/h2o 2 = "
                 "current, next)");
  kg->add_option("--size", keygen.size, "Key size for json and h2o: 48 (AES-128) or 80 (AES-256)")
      ->capture_default_str()
      ->check(CLI::IsMember({48, 80}));
  add_schedule_flags(kg, keygen.schedule);
  kg->add_flag("--force", keygen.force, "Replace OUT if it exists");

  stek::ctl::InspectArgs inspect;
  auto* in =
      app.add_subcommand("inspect", "Show the keys in a key file: names, roles, sizes, validity");
  in->add_option("file", inspect.path, "Key file, or - for standard input")->required();
  in->add_option("--format,-f", inspect.format, format_help + " (default: detected)")
      ->transform(format_check)
      ->type_name("FORMAT");
  in->add_flag("--reveal", inspect.reveal, "Also print the secret key bytes (hex)");
  in->add_flag("--json", inspect.json, "Machine-readable output");

  stek::ctl::ConvertArgs convert;
  auto* cv = app.add_subcommand(
      "convert", "Convert a key file between server formats, keeping which key encrypts");
  cv->add_option("--from", convert.from, format_help)
      ->required()
      ->transform(format_check)
      ->type_name("FORMAT");
  cv->add_option("--to", convert.to, format_help)
      ->required()
      ->transform(format_check)
      ->type_name("FORMAT");
  cv->add_option("in", convert.in, "Input file, or - for standard input")->required();
  cv->add_option("out", convert.out, "Output file, or - for standard output")->required();
  cv->add_flag("--only-encrypting", convert.only_encrypting,
               "Keep only the encrypting key (for one-key formats: nginx, apache)");
  cv->add_flag("--project-48", convert.project_48,
               "For 48-byte targets (nginx48, haproxy48, apache, ats) from 80-byte keys: write "
               "each key's 48-byte projection, keeping its name and the first 16 bytes of its "
               "HMAC and AES keys and dropping the other 16 of each (AES-256 becomes AES-128); "
               "without it such a conversion is refused");
  cv->add_flag("--force", convert.force, "Replace OUT if it exists");

  stek::ctl::DeriveArgs derive;
  auto* dv = app.add_subcommand(
      "derive",
      "Derive K(domain, epoch) = HKDF-SHA256(salt = domain secret, ikm = epoch secret, ...)\n"
      "for interop checks and test vectors. Secrets on a command line are visible to other\n"
      "local users (ps): use this with test secrets only.");
  dv->add_option("--epoch-secret", derive.epoch_secret_hex, "G_e, 32 bytes as 64 hex digits")
      ->required();
  dv->add_option("--domain-secret", derive.domain_secret_hex, "D_d, 32 bytes as 64 hex digits")
      ->required();
  dv->add_option("--domain", derive.domain, "Domain id (UTF-8)")->required();
  dv->add_option("--epoch", derive.epoch, "Epoch number e = floor(unix_time / interval)")
      ->required();
  dv->add_option("--format,-f", derive.format, format_help)
      ->capture_default_str()
      ->transform(format_check)
      ->type_name("FORMAT");
  dv->add_option("--out,-o", derive.out, "Output file, or - for standard output")->required();
  add_schedule_flags(dv, derive.schedule);
  dv->add_flag("--force", derive.force, "Replace OUT if it exists");

  stek::ctl::DemoArgs demo;
  auto* dm = app.add_subcommand("demo",
                                "Show the key schedule at work in memory: two domains' rings now "
                                "and after the next rotation");
  add_schedule_flags(dm, demo.schedule);
  dm->add_option("--domain", demo.domains, "Domains to show")->capture_default_str();

  stek::ctl::PkiInitArgs pki_init;
  std::vector<std::string> pki_hosts;
  stek::ctl::PkiIssueArgs pki_issue;
  std::string issue_host;
  auto* pki = app.add_subcommand(
      "pki", "Development PKI: a CA and certificates for stekd, admins and hosts");
  pki->require_subcommand(1);
  auto* pi = pki->add_subcommand(
      "init",
      "Make a development CA, stekd's certificate, admin and host certificates, and a KEK.\n"
      "For development and tests only: in production use your own CA (docs/operating.md).");
  pi->add_option("--dir", pki_init.dir, "Output directory")->required();
  pi->add_option("--server-name", pki_init.server_names, "DNS names or IPs in stekd's certificate")
      ->capture_default_str();
  pi->add_option("--host", pki_hosts,
                 "Host certificate to make, as HOST=DOMAIN[,DOMAIN...] (repeatable)");
  pi->add_option("--admin", pki_init.admins, "Admin certificate names")->capture_default_str();
  pi->add_option("--days", pki_init.days, "Validity in days")
      ->capture_default_str()
      ->check(CLI::Range(1, 3650));
  pi->add_flag("--force", pki_init.force, "Replace an existing PKI in DIR");
  auto* pis =
      pki->add_subcommand("issue", "Issue one more host or admin certificate from the CA in DIR");
  pis->add_option("--dir", pki_issue.dir, "Directory with ca.crt and ca.key")->required();
  pis->add_option("--host", issue_host, "HOST=DOMAIN[,DOMAIN...]");
  pis->add_option("--admin", pki_issue.admin, "Admin name");
  pis->add_option("--days", pki_issue.days, "Validity in days")
      ->capture_default_str()
      ->check(CLI::Range(1, 3650));

  stek::ctl::OnlineArgs online;
  auto* st =
      app.add_subcommand("status", "Show stekd's epoch, domains, ring versions and agent counts");
  add_online_flags(st, online);
  auto* ag = app.add_subcommand("agents",
                                "List agents with last-seen time and the newest epoch each holds");
  add_online_flags(ag, online);
  std::string rotate_domain;
  bool rotate_yes = false;
  auto* rot = app.add_subcommand(
      "rotate-domain-secret",
      "Compromise response: replace DOMAIN's secret for every epoch now. The new ring goes out\n"
      "at once and every ticket issued under the old secret stops resuming, by intent.");
  rot->add_option("domain", rotate_domain, "Domain id")->required();
  rot->add_flag("--yes", rotate_yes, "Confirm: all of the domain's sessions lose resumption")
      ->required();
  add_online_flags(rot, online);
  std::string deny_action;
  std::string deny_host;
  auto* dn = app.add_subcommand(
      "deny",
      "The deny-list of hosts: `deny add HOST` refuses HOST (403) whatever its certificate and\n"
      "ends its open long polls; `deny remove HOST` allows it again; `deny list` shows them.\n"
      "stekd keeps the list beside its state file (on etcd: in etcd, one list for every replica),\n"
      "so it survives restarts.");
  dn->add_option("action", deny_action, "add, remove or list")
      ->required()
      ->check(CLI::IsMember({"add", "remove", "list"}));
  dn->add_option("host", deny_host, "Host id (stek:host: in its certificate)");
  add_online_flags(dn, online);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help/--version: 0; usage errors: 2
  }

  stek::SystemRandom random;
  stek::SystemClock clock;
  stek::ctl::Env env{std::cout, std::cerr, random, clock};
  if (*kg) return stek::ctl::keygen(keygen, env);
  if (*in) return stek::ctl::inspect(inspect, env);
  if (*cv) return stek::ctl::convert(convert, env);
  if (*dv) return stek::ctl::derive(derive, env);
  if (*dm) return stek::ctl::demo(demo, env);
  auto report = [&](const stek::Status& s, const std::string& done) {
    if (!s.ok()) {
      std::cerr << "stekctl: " << s.error().message << "\n";
      return 1;
    }
    std::cerr << done << "\n";
    return 0;
  };
  if (*pi) {
    for (const auto& h : pki_hosts) {
      auto spec = stek::ctl::parse_host_spec(h);
      if (!spec.ok()) return report(spec.error(), "");
      pki_init.hosts.push_back(*spec);
    }
    return report(stek::ctl::pki_init(pki_init),
                  "wrote a development PKI and KEK to " + pki_init.dir.string());
  }
  if (*pis) {
    if (!issue_host.empty()) {
      auto spec = stek::ctl::parse_host_spec(issue_host);
      if (!spec.ok()) return report(spec.error(), "");
      pki_issue.host = *spec;
    }
    return report(stek::ctl::pki_issue(pki_issue),
                  "issued a certificate in " + pki_issue.dir.string());
  }
  if (*st) return stek::ctl::status(online, env);
  if (*ag) return stek::ctl::agents(online, env);
  if (*rot) return stek::ctl::rotate_domain_secret(online, rotate_domain, env);
  if (*dn) return stek::ctl::deny(online, deny_action, deny_host, env);
  return 2;
}

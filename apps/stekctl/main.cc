// stekctl: stek's admin and offline tool. Flags are parsed here; the work is in src/ctl.
#include <CLI/CLI.hpp>

#include <iostream>
#include <map>

#include "commands.h"

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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "stekctl: manage TLS session ticket encryption keys (STEKs).\n"
      "Offline subcommands work on key files; see `stekctl SUBCOMMAND --help` and docs/stekctl.md."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "stekctl 0.1.0");
  const auto formats = format_map();
  const std::string format_help = "Key file format: " + stek::format_names();
  auto format_check = CLI::CheckedTransformer(formats, CLI::ignore_case);

  stek::ctl::KeygenArgs keygen;
  auto* kg = app.add_subcommand("keygen", "Generate random keys in a server's key file format (mode 0600)");
  kg->add_option("--format,-f", keygen.format, format_help)->required()->transform(format_check);
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
  auto* in = app.add_subcommand("inspect", "Show the keys in a key file: names, roles, sizes, validity");
  in->add_option("file", inspect.path, "Key file, or - for standard input")->required();
  in->add_option("--format,-f", inspect.format, format_help + " (default: detected)")->transform(format_check);
  in->add_flag("--reveal", inspect.reveal, "Also print the secret key bytes (hex)");
  in->add_flag("--json", inspect.json, "Machine-readable output");

  stek::ctl::ConvertArgs convert;
  auto* cv = app.add_subcommand("convert", "Convert a key file between server formats, keeping which key encrypts");
  cv->add_option("--from", convert.from, format_help)->required()->transform(format_check);
  cv->add_option("--to", convert.to, format_help)->required()->transform(format_check);
  cv->add_option("in", convert.in, "Input file, or - for standard input")->required();
  cv->add_option("out", convert.out, "Output file, or - for standard output")->required();
  cv->add_flag("--only-encrypting", convert.only_encrypting,
               "Keep only the encrypting key (for one-key formats: nginx, apache)");
  cv->add_flag("--force", convert.force, "Replace OUT if it exists");

  stek::ctl::DeriveArgs derive;
  auto* dv = app.add_subcommand(
      "derive",
      "Derive K(domain, epoch) = HKDF-SHA256(salt = domain secret, ikm = epoch secret, ...)\n"
      "for interop checks and test vectors. Secrets on a command line are visible to other\n"
      "local users (ps): use this with test secrets only.");
  dv->add_option("--epoch-secret", derive.epoch_secret_hex, "G_e, 32 bytes as 64 hex digits")->required();
  dv->add_option("--domain-secret", derive.domain_secret_hex, "D_d, 32 bytes as 64 hex digits")->required();
  dv->add_option("--domain", derive.domain, "Domain id (UTF-8)")->required();
  dv->add_option("--epoch", derive.epoch, "Epoch number e = floor(unix_time / interval)")->required();
  dv->add_option("--format,-f", derive.format, format_help)->capture_default_str()->transform(format_check);
  dv->add_option("--out,-o", derive.out, "Output file, or - for standard output")->required();
  add_schedule_flags(dv, derive.schedule);
  dv->add_flag("--force", derive.force, "Replace OUT if it exists");

  stek::ctl::DemoArgs demo;
  auto* dm = app.add_subcommand(
      "demo", "Show the key schedule at work in memory: two domains' rings now and after the next rotation");
  add_schedule_flags(dm, demo.schedule);
  dm->add_option("--domain", demo.domains, "Domains to show")->capture_default_str();

  CLI11_PARSE(app, argc, argv);

  stek::SystemRandom random;
  stek::SystemClock clock;
  stek::ctl::Env env{std::cout, std::cerr, random, clock};
  if (*kg) return stek::ctl::keygen(keygen, env);
  if (*in) return stek::ctl::inspect(inspect, env);
  if (*cv) return stek::ctl::convert(convert, env);
  if (*dv) return stek::ctl::derive(derive, env);
  if (*dm) return stek::ctl::demo(demo, env);
  return 2;
}

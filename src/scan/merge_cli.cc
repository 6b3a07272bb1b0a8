// stek-scan merge's command line: read the reports (and, with --cross-resume, the kept
// tickets), merge, offer the tickets across vantage points, write the table or the JSON.
#include <algorithm>
#include <memory>
#include <ostream>

#include <fmt/format.h>

#include "stek/bytes.h"
#include "stek/file.h"

#include "cross_resume.h"
#include "merge.h"
#include "scan.h"

namespace stek::scan {

namespace {

Result<std::vector<VantageTickets>> read_tickets(const MergeArgs& args) {
  constexpr std::size_t kMaxTicketsFile = 64 << 20;
  std::vector<VantageTickets> out;
  for (std::size_t i = 0; i < args.tickets.size(); ++i) {
    if (args.tickets[i] == "-") continue;  // this vantage point kept none
    auto bytes = read_file(args.tickets[i], kMaxTicketsFile);
    if (!bytes.ok()) return bytes.error();
    auto parsed = parse_kept_tickets(as_chars(bytes->view()));
    if (!parsed.ok()) return parsed.error().with_context(args.tickets[i]);
    out.push_back({args.reports[i], std::move(parsed).value()});
  }
  return out;
}

}  // namespace

int run_merge_cli(const MergeArgs& args, Env& env) {
  constexpr std::size_t kMaxReportSize = 256 << 20;  // a day's watch is a few MB
  if (args.cross_resume != !args.tickets.empty()) {
    return usage(env, "--cross-resume and --tickets go together");
  }
  if (args.cross_resume && args.tickets.size() != args.reports.size()) {
    return usage(env, fmt::format("--tickets: one file per report ({} reports, {} files; "
                                  "- for a report without one)",
                                  args.reports.size(), args.tickets.size()));
  }
  if (!args.here.empty() &&
      (!args.cross_resume ||
       std::find(args.reports.begin(), args.reports.end(), args.here) == args.reports.end())) {
    return usage(env, "--here names one of the reports, with --cross-resume");
  }
  std::vector<VantageReport> reports;
  for (const std::string& file : args.reports) {
    auto bytes = read_file(file, kMaxReportSize);
    if (!bytes.ok()) return usage(env, bytes.error().message);
    const auto text = bytes->view();
    Json doc = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) return usage(env, file + ": not JSON");
    reports.push_back({file, std::move(doc)});
  }
  auto merged = merge_reports(reports);
  if (!merged.ok()) return usage(env, merged.error().message);
  if (args.cross_resume) {
    auto tickets = read_tickets(args);
    if (!tickets.ok()) return usage(env, tickets.error().message);
    std::unique_ptr<Prober> probers[3];
    for (TlsVersions v : {TlsVersions::tls12, TlsVersions::tls13, TlsVersions::any}) {
      ProbeOptions options;
      options.versions = v;
      auto prober = Prober::make(options, env.clock, env.random);
      if (!prober.ok()) return usage(env, prober.error().message);
      probers[static_cast<int>(v)] = std::move(prober).value();
    }
    const CrossProbers by_version{*probers[static_cast<int>(TlsVersions::tls12)],
                                  *probers[static_cast<int>(TlsVersions::tls13)],
                                  *probers[static_cast<int>(TlsVersions::any)]};
    add_cross_resumption(*merged,
                         offer_across(reports, *tickets, by_version, env.clock, args.here));
  }
  if (args.json_out == "-") {
    env.out << merged->dump(2) << "\n";
  } else {
    write_merge_table(env.out, *merged);
    if (!args.json_out.empty()) {
      if (auto st = write_output(args.json_out, merged->dump(2) + "\n", env); !st.ok()) {
        env.err << "stek-scan: " << st.error().message << "\n";
        return 4;
      }
    }
  }
  return (*merged)["findings"].empty() ? 0 : 1;
}

}  // namespace stek::scan

// stek-scan's modes (once, watch, compare) and its command line as a function, so tests
// drive it without a process. The app in apps/stek-scan only parses flags.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stek/random.h"

#include "observation.h"
#include "probe.h"

namespace stek::scan {

// Waiting between watch steps; injected so tests need not sleep.
class Sleeper {
 public:
  virtual ~Sleeper() = default;
  // Returns once `clock` reads at least t, or false early when asked to stop.
  virtual bool sleep_until(const MillisClock& clock, Millis t) = 0;
};

// Sleeps in short slices and stops early when *stop becomes non-zero (a signal handler).
class SystemSleeper final : public Sleeper {
 public:
  explicit SystemSleeper(const volatile int* stop) : stop_(stop) {}
  bool sleep_until(const MillisClock& clock, Millis t) override;

 private:
  const volatile int* stop_;
};

inline constexpr std::int64_t kMaxSteps = 100000;
inline constexpr std::size_t kMaxEndpoints = 64;
inline constexpr std::size_t kMaxCompareEndpoints = 16;  // compare makes n*(n-1) connections
inline constexpr std::size_t kMaxRetiredChecks = 16;     // per endpoint, at the end of a watch
inline constexpr std::size_t kMaxAgedChecks = 8;         // per endpoint, at the end of a watch
inline constexpr std::size_t kMaxHistory = 64;           // tickets kept per endpoint for them

struct ScanPlan {
  Mode mode = Mode::once;
  std::vector<Endpoint> endpoints;
  std::int64_t duration_ms = 0;  // watch
  std::int64_t every_ms = 0;     // watch
  bool resume = true;            // offer each endpoint's previous ticket back
  bool psk_ke = true;            // test TLS 1.3 psk_ke once per endpoint
  bool retired = true;           // watch: offer retired keys' tickets at the end
  bool aged = true;              // watch: offer older tickets at halving ages at the end
};

// Runs the plan. Every connection is bounded by the prober's timeouts and the number of
// connections by the plan, so this always returns. Progress lines go to `progress` if set.
// `last_tickets`, if given, receives each endpoint's newest ticket (in plan order), the
// scanner's own session for `--keep-tickets`; it never enters ScanData or the reports.
ScanData run_scan(const ScanPlan& plan, Prober& prober, const MillisClock& clock, Sleeper& sleeper,
                  std::ostream* progress,
                  std::vector<std::optional<HeldTicket>>* last_tickets = nullptr);

// Judges each endpoint's ticket layout from all the tickets it issued and names every
// ticket (and every offered ticket) under it; fills data.layouts. run_scan calls it.
void settle_layouts(ScanData& data);

struct CliArgs {
  Mode mode = Mode::once;
  std::vector<std::string> endpoints;
  std::string sni;                 // for every endpoint; "-" for none
  std::vector<std::string> names;  // vhosts: the server names to try on the one endpoint
  std::string tls = "any";
  std::string connect_timeout = "5s";
  std::string handshake_timeout = "10s";
  std::string ticket_wait = "1500ms";
  std::string duration;
  std::string every;
  std::string ca_file;
  std::string json_out;  // file, or "-" for standard output (instead of the table)
  std::string svg_out;
  std::string keep_tickets;  // once/watch: the file for the scanner's sessions (a secret)
  bool brief = false;        // table without the per-connection lines
  bool quiet = false;        // no progress lines on stderr
  bool no_resume = false;
  bool no_psk_ke = false;
  bool no_retired = false;
  bool no_aged = false;
};

struct Env {
  std::ostream& out;
  std::ostream& err;
  const MillisClock& clock;
  Sleeper& sleeper;
  Random& random;
};

// Exit codes: 0 scanned, nothing at warning or above; 1 a warning or critical finding;
// 2 bad usage; 3 no endpoint completed a TLS handshake; 4 an output could not be written.
int run_cli(const CliArgs& args, Env& env);

// Shared by the subcommands: a usage error on stderr ("stek-scan: ..."), returning exit code
// 2; and an output written to `path` (0644, atomically), or to standard output for "-".
int usage(Env& env, const std::string& message);
Status write_output(const std::string& path, std::string_view text, Env& env);

struct MergeArgs {
  std::vector<std::string> reports;
  std::string json_out;  // file, or "-" for standard output (instead of the table)
  // --cross-resume: offer the kept tickets (one file per report, same order; "-" for
  // none) live to every other vantage point's endpoints.
  bool cross_resume = false;
  std::vector<std::string> tickets;
  std::string here;  // the report of the vantage point the merge runs at, if any
};

// stek-scan merge REPORT.json...: the table (or JSON with json_out "-") of key names seen
// from several vantage points, and with cross_resume which tickets resumed across them.
// Exit codes: 0 no key shared across vantage points, 1 one is, 2 bad usage or a report or
// tickets file that cannot be read, 4 the JSON output could not be written.
int run_merge_cli(const MergeArgs& args, Env& env);

}  // namespace stek::scan

// RingKeeper: the agent's decisions, free of sockets and timers. It holds the domain's ring,
// takes newer rings from a RingSource, and at each refresh (epoch boundary, new ring,
// SIGHUP, retry) erases expired keys and gives every sink and the cache the ring as of the
// clock's now. The Agent calls it from its loop and timers; tests drive it with a fake source
// and a fixed clock.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "stek/clock.h"

#include "applied_state.h"
#include "cache.h"
#include "clock_skew.h"
#include "held_ring.h"
#include "metrics.h"
#include "ring_conflict.h"
#include "ring_source.h"
#include "sink.h"

namespace stek::agent {

class RingKeeper {
 public:
  // A sink that failed is retried this soon, not only at the next boundary.
  static constexpr std::chrono::seconds kSinkRetry{5};
  // Refreshes come at least this often, so a stepped wall clock is noticed.
  static constexpr std::chrono::seconds kMaxRefreshWait{60};

  // `applied`: what each sink last confirmed; nullopt keeps no record (every start then
  // reloads, which is safe).
  RingKeeper(std::string domain, RingCache cache, std::vector<std::unique_ptr<Sink>> sinks,
             const Clock& clock, std::optional<AppliedState> applied = std::nullopt);

  // Takes the cached ring, if it is usable; erases a damaged or unusable cache. Reads the
  // applied state first, so the first refresh knows what each sink's server confirmed.
  void load_cache();
  // SIGHUP: every sink re-applies and reloads its server at the next refresh, whatever the
  // files and the applied state say.
  void force_reapply();
  // SIGHUP with a changed configuration: drops the sinks named in `removed`, then takes
  // `added`. A dropped sink whose name is not among `added` is withdrawn first (applied
  // with no ring: its key files are erased), so no key outlives its erasure in a file the
  // agent stopped looking after. The next refresh applies the held ring to the new ones.
  void change_sinks(const std::vector<std::string>& removed,
                    std::vector<std::unique_ptr<Sink>> added);
  // `sink` reloads its server by signalling the process in `pid_file`: the file is checked at
  // start and at every refresh, and a missing or stale one is a warning (log, metrics,
  // /healthz text), since a reload would then do nothing.
  void watch_pid_file(const std::string& sink, std::filesystem::path pid_file);
  // Counts the update in the metrics, takes its clock-skew sample and its ring, if any. True
  // when a ring was taken.
  bool apply(RingUpdate update);
  // Brings sinks and cache to the held ring as of now (no ring held: sinks keep what they
  // have). `why` is for the log.
  void refresh(const char* why);
  // The refresh a timer asks for: the epoch boundary, or a retry after a sink failed.
  void refresh_due() { refresh(sink_retry_ ? "retry" : "epoch boundary"); }
  // How long until refresh_due() should run: just past the next epoch boundary, sooner after
  // a sink failed. Nothing while no ring is held.
  std::optional<std::chrono::milliseconds> next_refresh() const;

  const std::optional<HeldRing>& held() const { return held_; }
  const Metrics& metrics() const { return metrics_; }
  const RingCache& cache() const { return cache_; }
  const std::optional<AppliedState>& applied() const { return applied_; }
  const std::vector<std::unique_ptr<Sink>>& sinks() const { return sinks_; }
  // What is wrong now with each watched pid_file ("sink: problem"), as the start-up warns;
  // for --check-config, which does not start the agent.
  std::vector<std::string> pid_file_warnings() const;

 private:
  void take(HeldRing ring, const std::string& from);
  // Judges the latest clock-skew estimate under the held schedule; metrics and log.
  void check_clock();
  void check_sinks(const Schedule& schedule);
  void log_epoch(const KeyRing& served, Epoch epoch, UnixSeconds now);
  void apply_sinks(const KeyRing* served, Epoch epoch, const char* why);
  void check_pid_files();

  std::string domain_;
  RingCache cache_;
  std::vector<std::unique_ptr<Sink>> sinks_;
  const Clock& clock_;
  std::optional<AppliedState> applied_;

  std::optional<HeldRing> held_;
  std::string held_from_;  // where held_ came from, for the ring-conflict alarm
  ConflictWatch conflicts_;
  Metrics metrics_;
  SkewWatch skew_;
  bool sink_retry_ = false;  // a sink failed: refresh again soon
  bool force_ = false;       // SIGHUP: every sink re-applies and reloads
  // Sinks that applied successfully since this agent started: from then on a sink's own
  // change detection decides its reload, the confirmed record only covers a restart.
  std::set<std::string> applied_this_run_;
  std::optional<Epoch> logged_epoch_;      // last epoch announced in the log
  std::optional<Epoch> exhausted_logged_;  // last epoch the "no key" error was logged
  std::map<std::string, std::vector<std::string>> sink_warnings_;  // last logged, by sink
  std::map<std::string, std::filesystem::path> pid_files_;         // by sink
};

}  // namespace stek::agent

// Holding the ring, erasing expired keys, feeding sinks and the cache.
#include "ring_keeper.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "reload.h"
#include "time_text.h"

namespace stek::agent {

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

void erase_cache(const RingCache& cache) {
  if (auto e = cache.erase(); !e.ok()) spdlog::error("ring cache: {}", e.error().message);
}

}  // namespace

RingKeeper::RingKeeper(std::string domain, RingCache cache,
                       std::vector<std::unique_ptr<Sink>> sinks, const Clock& clock,
                       std::optional<AppliedState> applied)
    : domain_(std::move(domain)),
      cache_(std::move(cache)),
      sinks_(std::move(sinks)),
      clock_(clock),
      applied_(std::move(applied)) {
  metrics_.domain = domain_;
  for (const auto& s : sinks_) metrics_.sinks[s->name()];
}

void RingKeeper::load_cache() {
  check_pid_files();
  if (applied_) {
    if (auto read = applied_->load(); !read.ok()) {
      spdlog::warn("applied state: {}; every sink re-applies and reloads", read.error().message);
    }
  }
  auto loaded = cache_.load();
  if (!loaded.ok()) {
    spdlog::error("ring cache: {}; erasing it", loaded.error().message);
    return erase_cache(cache_);
  }
  if (!loaded->has_value()) {
    spdlog::info("no cached ring at {}", cache_.path().string());
    return;
  }
  // The cache may lack keys erased since; it keeps the identity of the version received.
  auto ring = HeldRing::accept(**loaded, domain_, clock_.now(), StatedId::trusted);
  if (!ring.ok()) {
    spdlog::warn("cached ring {} is not usable ({}); erasing it", cache_.path().string(),
                 ring.error().message);
    return erase_cache(cache_);
  }
  take(std::move(ring).value(), "the cache " + cache_.path().string());
}

bool RingKeeper::apply(RingUpdate update) {
  if (update.sync == RingUpdate::Sync::failed) ++metrics_.sync_failures;
  if (update.sync == RingUpdate::Sync::answered) metrics_.last_sync = clock_.now();
  if (update.clock) skew_.observe(*update.clock);
  conflicts_.observe(update, held_from_, clock_.now());
  metrics_.ring_conflicts = conflicts_.total();
  metrics_.ring_conflict = conflicts_.alarm();
  if (!update.ring) {
    check_clock();
    return false;
  }
  take(std::move(*update.ring), update.from);  // its refresh checks the clock
  return true;
}

void RingKeeper::check_clock() {
  const auto notice = skew_.evaluate(held_ ? &held_->schedule() : nullptr, clock_.now_ms());
  metrics_.clock_skew = skew_.estimate();
  metrics_.clock_skew_bounds = skew_.bounds();
  metrics_.clock_skew_level = skew_.level();
  if (!notice) return;
  switch (notice->level) {
    case SkewLevel::alarm:
      spdlog::error("{}", notice->text);
      break;
    case SkewLevel::warn:
      spdlog::warn("{}", notice->text);
      break;
    case SkewLevel::ok:
      spdlog::info("{}", notice->text);
      break;
  }
}

void RingKeeper::take(HeldRing ring, const std::string& from) {
  const auto epochs = ring.epochs();
  spdlog::info("accepted ring version {} from {}: {} keys, epochs {}..{}", ring.version(), from,
               ring.size(), epochs.back(), epochs.front());
  held_ = std::move(ring);
  held_from_ = from;
  ++metrics_.rings_accepted;
  metrics_.ring_version = held_->version();
  refresh("new ring");
}

void RingKeeper::check_sinks(const Schedule& schedule) {
  // Servers' configurations change under the agent: re-checked at every refresh, logged
  // when the findings change.
  for (const auto& s : sinks_) {
    auto warnings = s->check(schedule);
    auto& last = sink_warnings_[s->name()];
    if (warnings != last) {
      for (const auto& w : warnings) spdlog::warn("{}: {}", s->name(), w);
      if (warnings.empty() && !last.empty())
        spdlog::info("{}: configuration warnings resolved", s->name());
      last = warnings;
    }
    metrics_.sinks[s->name()].warnings = warnings.size();
  }
}

void RingKeeper::refresh(const char* why) {
  const UnixSeconds now = clock_.now();
  check_clock();
  check_pid_files();
  if (!held_) return;  // nothing to serve yet: sinks keep what they have
  const Schedule& schedule = held_->schedule();
  const Epoch epoch = schedule.epoch_at(now);
  check_sinks(schedule);
  const auto erased = held_->erase_expired(now);
  if (!erased.empty()) {
    metrics_.keys_erased += erased.size();
    spdlog::info("erased {} expired key(s) from memory: {}", erased.size(), join(erased));
  }
  auto served = held_->at(now);
  metrics_.current_epoch = epoch;
  metrics_.keys_held = held_->size();
  metrics_.runway_seconds = held_->runway(now);
  metrics_.runway_end = metrics_.runway_seconds > 0 ? now + metrics_.runway_seconds : 0;
  metrics_.interval = schedule.interval();
  metrics_.serving = served.ok();
  metrics_.keys_served = served.ok() ? served->size() : 0;

  if (served.ok()) {
    exhausted_logged_.reset();
    if (auto stored = cache_.store(*served); !stored.ok()) {
      spdlog::error("ring cache: {}", stored.error().message);
    }
    log_epoch(*served, epoch, now);
  } else if (exhausted_logged_ != epoch) {
    exhausted_logged_ = epoch;
    logged_epoch_.reset();
    spdlog::critical(
        "NO STEK KEY FOR EPOCH {} ({}): {}. Expired keys are never served: sinks get "
        "no stek keys until stekd delivers a ring (nginx falls back to per-process "
        "keys, so no resumption across hosts)",
        epoch, served.error().message, log::rfc3339_utc(now));
    erase_cache(cache_);
  }
  apply_sinks(served.ok() ? &*served : nullptr, epoch, why);
}

void RingKeeper::log_epoch(const KeyRing& served, Epoch epoch, UnixSeconds now) {
  if (logged_epoch_ == epoch) return;
  logged_epoch_ = epoch;
  spdlog::info("epoch {}: key {} encrypts, {} keys held; runway {} s (keys until {})", epoch,
               served.encrypting().key.name_hex(), served.size(), metrics_.runway_seconds,
               log::rfc3339_utc(now + metrics_.runway_seconds));
  if (metrics_.runway_seconds <= held_->schedule().interval()) {
    spdlog::warn(
        "runway is down to the last epoch ({} s): stekd has not delivered newer keys; "
        "after {} this host has no key to encrypt with",
        metrics_.runway_seconds, log::rfc3339_utc(now + metrics_.runway_seconds));
  }
}

void RingKeeper::force_reapply() {
  force_ = true;
}

void RingKeeper::watch_pid_file(const std::string& sink, std::filesystem::path pid_file) {
  pid_files_[sink] = std::move(pid_file);
}

std::vector<std::string> RingKeeper::pid_file_warnings() const {
  std::vector<std::string> out;
  for (const auto& [sink, path] : pid_files_) {
    if (auto problem = pid_file_problem(path)) out.push_back(sink + ": " + *problem);
  }
  return out;
}

void RingKeeper::check_pid_files() {
  for (const auto& [sink, path] : pid_files_) {
    std::string problem = pid_file_problem(path).value_or("");
    std::string& last = metrics_.sinks[sink].pid_file_problem;
    if (problem == last) continue;
    if (!problem.empty()) {
      spdlog::warn("{}: {}: a reload by signal does nothing until the server runs and writes it",
                   sink, problem);
    } else {
      spdlog::info("{}: pid_file {} names a running process again", sink, path.string());
    }
    last = std::move(problem);
  }
}

void RingKeeper::change_sinks(const std::vector<std::string>& removed,
                              std::vector<std::unique_ptr<Sink>> added) {
  const UnixSeconds now = clock_.now();
  const Epoch epoch = held_ ? held_->schedule().epoch_at(now) : 0;
  auto replaced = [&](const std::string& name) {
    return std::any_of(added.begin(), added.end(),
                       [&](const auto& s) { return s->name() == name; });
  };
  for (const std::string& name : removed) {
    auto it = std::find_if(sinks_.begin(), sinks_.end(),
                           [&](const auto& s) { return s->name() == name; });
    if (it == sinks_.end()) continue;
    if (replaced(name)) {
      spdlog::info("{}: configuration changed; rebuilt, it takes over the same files", name);
    } else {
      auto withdrawn = (*it)->apply(nullptr, epoch);
      if (withdrawn.ok()) {
        spdlog::info("{}: removed from the configuration; its key files are erased ({} erased)",
                     name, withdrawn->files_erased);
      } else {
        spdlog::error("{}: removed from the configuration; erasing its keys failed: {}", name,
                      withdrawn.error().message);
      }
      metrics_.sinks.erase(name);
      sink_warnings_.erase(name);
    }
    applied_this_run_.erase(name);  // a rebuilt sink is checked against its record again
    // A rebuilt sink is watched again if its new configuration still reloads by signal.
    if (pid_files_.erase(name) && metrics_.sinks.count(name))
      metrics_.sinks[name].pid_file_problem.clear();
    sinks_.erase(it);
  }
  for (auto& sink : added) {
    if (std::find(removed.begin(), removed.end(), sink->name()) == removed.end())
      spdlog::info("{}: added", sink->name());
    metrics_.sinks[sink->name()];
    sinks_.push_back(std::move(sink));
  }
}

void RingKeeper::apply_sinks(const KeyRing* served, Epoch epoch, const char* why) {
  bool failed = false;
  const AppliedRecord record = applied_record(served, held_->version(), epoch);
  const bool forced = force_;
  force_ = false;
  for (const auto& sink : sinks_) {
    // What the server runs after a restart is only known from a confirmed apply: the agent
    // may have been killed after writing the files and before the reload, so anything but an
    // exact match with the confirmed record means apply and reload again. Once the sink has
    // applied in this run it knows what it wrote: a new ring version that leaves its files
    // alone (a pending key the product does not take) reloads nothing.
    const bool restarted = applied_this_run_.count(sink->name()) == 0;
    const AppliedRecord* confirmed = applied_ ? applied_->confirmed(sink->name()) : nullptr;
    if (forced || (restarted && (confirmed == nullptr || !(*confirmed == record))))
      sink->force_next();
    auto report = sink->apply(served, epoch);
    SinkMetrics& m = metrics_.sinks[sink->name()];
    if (!report.ok()) {
      ++m.failures;
      m.failing = true;
      m.last_failure = clock_.now();
      m.last_error = report.error().message;
      failed = true;
      spdlog::error("{}: {} (retrying in {} s)", sink->name(), report.error().message,
                    kSinkRetry.count());
      continue;
    }
    if (applied_) {
      if (auto saved = applied_->confirm(sink->name(), record); !saved.ok()) {
        spdlog::error("applied state: {} (the next start reloads {})", saved.error().message,
                      sink->name());
      }
    }
    applied_this_run_.insert(sink->name());
    if (m.failing)
      spdlog::info("{}: applies again ({} failed apply(s) since start)", sink->name(), m.failures);
    m.failing = false;
    m.last_success = clock_.now();
    m.applied_version = held_->version();
    m.writes += static_cast<std::uint64_t>(report->files_written);
    m.erasures += static_cast<std::uint64_t>(report->files_erased);
    m.reloads += report->reloaded ? 1 : 0;
    if (report->files_written || report->files_erased || report->reloaded) {
      spdlog::info("{}: {} file(s) written, {} erased{} ({})", sink->name(), report->files_written,
                   report->files_erased, report->reloaded ? ", server reloaded" : "", why);
    }
  }
  sink_retry_ = failed;
}

std::optional<std::chrono::milliseconds> RingKeeper::next_refresh() const {
  if (!held_) return std::nullopt;
  return until_next_boundary(held_->schedule(), clock_, sink_retry_ ? kSinkRetry : kMaxRefreshWait);
}

}  // namespace stek::agent

// KeyService: the key schedule of the whole fleet. Makes epoch secrets L epochs ahead and
// one secret per domain, erases what has expired, derives each domain's ring K(d, E-H..E+L)
// and tracks ring versions. No I/O of its own beyond the injected Store; one thread uses it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stek/random.h"
#include "stek/ring.h"
#include "stek/schedule.h"

#include "api/ring_version.h"
#include "audit.h"
#include "clock_guard.h"
#include "schedule_change.h"
#include "store.h"

namespace stek::server {

class KeyService {
 public:
  // max_clock_step: the largest wall-clock step accepted (clock_guard.h); 0: no forward check.
  KeyService(Schedule schedule, std::vector<std::string> domains, Store& store, Random& random,
             AuditSink& audit, std::int64_t max_clock_step = 0);

  // Loads the store and brings it up to date for `now`. A damaged store is an error.
  Status start(UnixSeconds now, std::optional<std::int64_t> elapsed_ms = std::nullopt);

  // Creates the secrets the schedule needs at `now` (epochs E..E+L, a secret for every
  // configured domain) and erases expired ones (epochs before E-H, domain secret versions no
  // live epoch uses). Commits when anything changed; returns whether it did. Loads the store
  // first if start() did not. Errc::conflict when other writers won every compare-and-swap.
  // `now` is checked by the clock guard first: a time earlier than the last trusted one (also
  // from before a restart) counts as that time, a forward step larger than the bound (seen
  // against `elapsed_ms`, a clock that does not step) is refused, and no epoch older than the
  // oldest one held is ever made again.
  Result<bool> maintain(UnixSeconds now, std::optional<std::int64_t> elapsed_ms = std::nullopt);

  // A replica that does not lead (etcd_replica.h): takes the state another replica committed
  // (when `reload`) and advances the epoch to `now`, making and erasing nothing. Returns
  // whether the rings may have changed.
  Result<bool> refresh(UnixSeconds now, std::optional<std::int64_t> elapsed_ms, bool reload);

  // Compromise response: a new secret for the domain that applies to every epoch at once.
  // Returns the new secret version. Errc::not_found for a domain that is not configured,
  // Errc::conflict when other writers won every compare-and-swap.
  Result<std::uint32_t> rotate_domain_secret(const std::string& domain, UnixSeconds now,
                                             const std::string& actor);

  bool has_domain(const std::string& domain) const;
  // Host-scoped domains (domains.per_host): each host of such a domain gets its own keys,
  // K(d/h, e), derived from the domain's one secret with the host named in the derivation
  // (host_scope.h). Schedule, secret versions, erasure and audit stay the domain's.
  void set_per_host(std::vector<std::string> domains) { per_host_ = std::move(domains); }
  bool per_host(const std::string& domain) const;
  const std::vector<std::string>& domains() const { return domains_; }
  // The configured schedule: new secrets are made under it.
  const Schedule& schedule() const { return schedule_; }
  // The schedule keys are kept and rings served under as of the last maintain(): the
  // configured one, widened by the previous one while a schedule change is in transition.
  const Schedule& served_schedule() const { return served_; }
  // The previous schedule and until when its keys are kept, while a transition lasts.
  const std::optional<PreviousSchedule>& previous_schedule() const {
    return state_.previous_schedule;
  }
  Epoch current_epoch() const { return epoch_; }
  std::uint64_t ring_version(const std::string& domain) const;
  std::uint32_t secret_version(const std::string& domain) const;

  // The domain's ring as of the last maintain(), serialised as a ring file; cached per version
  // (and per host for a host-scoped domain). `host` names the agent; a host-scoped domain
  // needs it (Errc::invalid_argument without), other domains ignore it.
  Result<std::shared_ptr<const SecretBytes>> ring_document(const std::string& domain,
                                                           const std::string& host = {});
  Result<KeyRing> ring(const std::string& domain, const std::string& host = {}) const;
  // The domain secret versions of the keys ring(domain) holds, ascending, without deriving
  // them (what a delivery of the ring hands out, for the agent registry).
  std::vector<std::uint32_t> ring_secret_versions(const std::string& domain) const;

  std::optional<EpochRange> epochs_held() const;
  std::size_t epoch_secrets_held() const { return state_.epoch_secrets.size(); }
  std::uint64_t erasures_total() const { return erasures_; }
  // The store is loaded and the secret of the current epoch (at the trusted time) exists.
  bool healthy(UnixSeconds now) const;
  const ClockGuard& clock_guard() const { return guard_; }

 private:
  Status load();
  UnixSeconds trusted_time(UnixSeconds now, std::optional<std::int64_t> elapsed_ms);
  void mark_maintained(UnixSeconds t);
  const DomainSecret* secret_for(const std::string& domain, Epoch e) const;
  Result<bool> commit(StoreState next, const std::vector<nlohmann::json>& events);
  // Records the configured schedule in `next`; on a change of history or look-ahead, the
  // previous one until its keys expire; drops a transition that has ended at t.
  void record_schedule(StoreState& next, UnixSeconds t, std::vector<nlohmann::json>& events) const;

  Schedule schedule_;
  Schedule served_;
  std::vector<std::string> domains_;
  std::vector<std::string> per_host_;
  Store& store_;
  Random& random_;
  AuditSink& audit_;
  StoreState state_;
  bool loaded_ = false;
  Epoch epoch_ = 0;
  UnixSeconds maintained_at_ = 0;
  bool maintained_ = false;
  std::uint64_t erasures_ = 0;
  ClockGuard guard_;
  std::map<std::string, std::pair<std::uint64_t, std::shared_ptr<const SecretBytes>>> documents_;
};

}  // namespace stek::server

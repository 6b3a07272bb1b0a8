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
#include "store.h"

namespace stek::server {

class KeyService {
 public:
  KeyService(Schedule schedule, std::vector<std::string> domains, Store& store, Random& random,
             AuditSink& audit);

  // Loads the store and brings it up to date for `now`. A damaged store is an error.
  Status start(UnixSeconds now);

  // Creates the secrets the schedule needs at `now` (epochs E..E+L, a secret for every
  // configured domain) and erases expired ones (epochs before E-H, domain secret versions no
  // live epoch uses). Commits when anything changed; returns whether it did. Loads the store
  // first if start() did not. Errc::conflict when other writers won every compare-and-swap.
  // A `now` earlier than the last maintained time counts as that time, and no epoch older
  // than the oldest one held is ever made again.
  Result<bool> maintain(UnixSeconds now);

  // Compromise response: a new secret for the domain that applies to every epoch at once.
  // Returns the new secret version. Errc::not_found for a domain that is not configured,
  // Errc::conflict when other writers won every compare-and-swap.
  Result<std::uint32_t> rotate_domain_secret(const std::string& domain, UnixSeconds now,
                                             const std::string& actor);

  bool has_domain(const std::string& domain) const;
  const std::vector<std::string>& domains() const { return domains_; }
  const Schedule& schedule() const { return schedule_; }
  Epoch current_epoch() const { return epoch_; }
  std::uint64_t ring_version(const std::string& domain) const;
  std::uint32_t secret_version(const std::string& domain) const;

  // The domain's ring as of the last maintain(), serialised as a ring file; cached per version.
  Result<std::shared_ptr<const SecretBytes>> ring_document(const std::string& domain);
  Result<KeyRing> ring(const std::string& domain) const;

  std::optional<EpochRange> epochs_held() const;
  std::size_t epoch_secrets_held() const { return state_.epoch_secrets.size(); }
  std::uint64_t erasures_total() const { return erasures_; }
  // The current epoch's secret exists and the store is loaded.
  bool healthy(UnixSeconds now) const;

 private:
  Status load();
  UnixSeconds trusted_time(UnixSeconds now) const;
  void mark_maintained(UnixSeconds t);
  const DomainSecret* secret_for(const std::string& domain, Epoch e) const;
  Result<bool> commit(StoreState next, const std::vector<nlohmann::json>& events);

  Schedule schedule_;
  std::vector<std::string> domains_;
  Store& store_;
  Random& random_;
  AuditSink& audit_;
  StoreState state_;
  bool loaded_ = false;
  Epoch epoch_ = 0;
  UnixSeconds maintained_at_ = 0;
  bool maintained_ = false;
  std::uint64_t erasures_ = 0;
  std::map<std::string, std::pair<std::uint64_t, std::shared_ptr<const SecretBytes>>> documents_;
};

}  // namespace stek::server

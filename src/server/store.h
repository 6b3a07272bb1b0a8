// The key server's persistent state and the Store seam: the embedded sealed file store
// implements it, a distributed store (etcd) can too. Commits are compare-and-swap on a
// generation number, so two replicas can never both create a secret for one epoch.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "stek/result.h"
#include "stek/schedule.h"
#include "stek/secret.h"

namespace stek::server {

struct DomainSecret {
  std::uint32_t version = 1;
  // First epoch this version applies to. A compromise replacement applies to every epoch
  // (kAllEpochs); a scheduled one from a future epoch onward.
  Epoch start_epoch = 0;
  SecretBytes secret;
  DomainSecret clone() const { return {version, start_epoch, secret.clone()}; }
};

inline constexpr Epoch kAllEpochs = INT64_MIN;

// The schedule in force before a change of history or look-ahead, while keys made under it
// may still open tickets (schedule_change.h).
struct PreviousSchedule {
  ScheduleParams params;
  // The last second the newest key made under `params` opens tickets by its rules: until
  // then every key live under either schedule is kept.
  UnixSeconds live_until = 0;
};

struct StoreState {
  std::uint64_t generation = 0;  // 0: nothing stored yet
  // New domain secrets get versions above this. A state made again after the old one was lost
  // starts above every version the old one used (the file store keeps that number outside
  // the state file), and a domain dropped from the configuration leaves its versions here,
  // so a ring version never names two different sets of keys.
  std::uint32_t secret_version_base = 0;
  std::map<Epoch, SecretBytes> epoch_secrets;
  std::map<std::string, std::vector<DomainSecret>> domains;  // versions ascending
  // The key service's last trusted time when it committed (clock_guard.h); 0: none. After a
  // restart the epoch never goes back before it.
  UnixSeconds trusted_time = 0;
  // The schedule the secrets are made under; nullopt in states of earlier releases.
  std::optional<ScheduleParams> schedule;
  // Set from a change of schedule until the old schedule's keys have expired.
  std::optional<PreviousSchedule> previous_schedule;

  StoreState clone() const;
};

class Store {
 public:
  virtual ~Store() = default;
  // The stored state; generation 0 and no secrets when nothing was stored yet (the file
  // store: only when told to initialise). A damaged, foreign or rolled-back store is an
  // error, never an empty state.
  virtual Result<StoreState> load() = 0;
  // Stores `next` (next.generation == expected + 1) only if the stored generation is still
  // `expected`. Returns false, storing nothing, when another writer came first.
  virtual Result<bool> commit(const StoreState& next, std::uint64_t expected) = 0;
  // Where the state lives, for logs ("file /var/lib/stek/state.json").
  virtual std::string describe() const = 0;
};

}  // namespace stek::server

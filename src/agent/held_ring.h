// HeldRing: the keys one agent holds for its domain, as received from stekd (or its cache),
// minus those that expired since. Roles are not stored: they are re-derived from each key's
// epoch and the ring's schedule whenever the servers need a ring, so the host keeps
// rotating on schedule while stekd is unreachable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stek/ring.h"
#include "stek/schedule.h"

#include "api/ring_id.h"

namespace stek::agent {

// How HeldRing::accept treats the identity a ring states ("ring_id", api/ring_id.h).
enum class StatedId {
  // The ring is whole, as a key server made it (an answer from stekd): its identity is
  // computed from its keys, and a stated one that differs refuses the ring.
  must_match,
  // The ring may lack keys that expired since it was received (the agent's own cache, a ring
  // file a sink wrote): the stated identity is kept as it is, and without one (or with an
  // unreadable one) the identity is unknown.
  trusted,
};

class HeldRing {
 public:
  // Checks a ring for this host and takes its keys, or refuses it whole: it must carry a
  // schedule and a version; every key must name `domain` and an epoch and have a product
  // size (48 or 80 bytes); and some key must encrypt at `now` (a ring that does not cover
  // the current epoch means this host's clock or the key server is wrong).
  static Result<HeldRing> accept(const KeyRing& ring, std::string_view domain, UnixSeconds now,
                                 StatedId stated = StatedId::must_match);

  HeldRing(HeldRing&&) noexcept = default;
  HeldRing& operator=(HeldRing&&) noexcept = default;

  std::uint64_t version() const { return info_.version; }
  // The identity of the ring version as received (every key it had then, also those erased
  // since); none when a trusted ring stated none.
  const std::optional<api::RingId>& id() const { return id_; }
  // The held keys, newest epoch first (roles as received; at() re-derives them).
  const std::vector<RingKey>& keys() const { return keys_; }
  const Schedule& schedule() const { return schedule_; }
  const std::string& domain() const { return domain_; }
  std::size_t size() const { return keys_.size(); }
  bool empty() const { return keys_.empty(); }
  // Epochs of the held keys, newest first.
  std::vector<Epoch> epochs() const;

  // The ring the servers use at t (KeyRing::at: roles for t, expired keys left out), or an
  // error when no held key covers epoch(t).
  Result<KeyRing> at(UnixSeconds t) const;

  // Drops the keys that have expired at t; their bytes are wiped as they are destroyed.
  // Returns the names of the dropped keys.
  std::vector<std::string> erase_expired(UnixSeconds t);

  // Seconds from t until the end of the last epoch in the unbroken run of held keys that
  // starts at epoch(t): how long this host can rotate without the key server. 0 when no
  // held key covers epoch(t).
  std::int64_t runway(UnixSeconds t) const;

 private:
  HeldRing(std::vector<RingKey> keys, RingInfo info, Schedule schedule, std::string domain,
           std::optional<api::RingId> id)
      : keys_(std::move(keys)),
        info_(std::move(info)),
        schedule_(schedule),
        domain_(std::move(domain)),
        id_(id) {}

  std::vector<RingKey> keys_;  // newest epoch first
  RingInfo info_;              // info_.id: id_ as text, so the rings at() makes state it
  Schedule schedule_;
  std::string domain_;
  std::optional<api::RingId> id_;
};

}  // namespace stek::agent

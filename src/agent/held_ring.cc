// Validation of incoming rings, role re-derivation and expiry of held keys.
#include "held_ring.h"

#include <algorithm>

namespace stek::agent {

namespace {

// The identity the held ring keeps (see StatedId); called once every key has an epoch.
Result<std::optional<api::RingId>> held_identity(const KeyRing& ring, std::string_view domain,
                                                 StatedId stated) {
  const std::optional<std::string>& text = ring.info().id;
  if (stated == StatedId::trusted) {
    if (!text) return std::optional<api::RingId>{};
    auto id = api::parse_ring_id(*text, "ring_id");
    return id.ok() ? std::optional<api::RingId>(*id) : std::nullopt;
  }
  STEK_ASSIGN_OR_RETURN(api::RingId computed,
                        api::RingId::of(domain, ring.info().version, ring.keys()));
  if (text) {
    STEK_ASSIGN_OR_RETURN(api::RingId said, api::parse_ring_id(*text, "ring_id"));
    if (said != computed) {
      return make_error(Errc::integrity, "the ring states identity " + api::short_string(said) +
                                             " but its keys give " + api::short_string(computed));
    }
  }
  return std::optional<api::RingId>(computed);
}

}  // namespace

Result<HeldRing> HeldRing::accept(const KeyRing& ring, std::string_view domain, UnixSeconds now,
                                  StatedId stated) {
  const RingInfo& info = ring.info();
  if (!info.schedule) {
    return make_error(Errc::bad_format, "ring has no schedule; roles cannot be derived from it");
  }
  auto schedule = Schedule::make(*info.schedule);
  if (!schedule.ok()) return schedule.error().with_context("ring schedule");
  if (info.version == 0) return make_error(Errc::bad_format, "ring has no version");
  std::vector<RingKey> keys;
  keys.reserve(ring.size());
  for (const RingKey& k : ring.keys()) {
    const std::string name = k.key.name_hex();
    if (!k.meta.domain) {
      return make_error(Errc::invalid_argument, "key " + name + " names no domain");
    }
    if (*k.meta.domain != domain) {
      return make_error(Errc::invalid_argument, "key " + name + " belongs to domain \"" +
                                                    *k.meta.domain + "\", this host serves \"" +
                                                    std::string(domain) + "\"");
    }
    if (!k.meta.epoch) return make_error(Errc::invalid_argument, "key " + name + " has no epoch");
    if (!k.key.size()) {
      return make_error(
          Errc::unsupported,
          "key " + name + " is neither a 48- nor an 80-byte key; servers cannot use it");
    }
    keys.push_back(k.clone());
  }
  std::sort(keys.begin(), keys.end(),
            [](const RingKey& a, const RingKey& b) { return *a.meta.epoch > *b.meta.epoch; });
  for (std::size_t i = 1; i < keys.size(); ++i) {
    if (*keys[i].meta.epoch == *keys[i - 1].meta.epoch) {
      return make_error(Errc::duplicate_key, "keys " + keys[i - 1].key.name_hex() + " and " +
                                                 keys[i].key.name_hex() + " are both for epoch " +
                                                 std::to_string(*keys[i].meta.epoch));
    }
  }
  STEK_ASSIGN_OR_RETURN(std::optional<api::RingId> id, held_identity(ring, domain, stated));
  RingInfo kept = info;
  kept.id = id ? std::optional<std::string>(api::to_string(*id)) : std::nullopt;
  HeldRing held(std::move(keys), std::move(kept), *schedule, std::string(domain), id);
  if (auto served = held.at(now); !served.ok()) {
    return served.error().with_context("ring version " + std::to_string(info.version) +
                                       " (is this host's clock right?)");
  }
  return held;
}

std::vector<Epoch> HeldRing::epochs() const {
  std::vector<Epoch> out;
  out.reserve(keys_.size());
  for (const RingKey& k : keys_) out.push_back(*k.meta.epoch);
  return out;
}

Result<KeyRing> HeldRing::at(UnixSeconds t) const {
  const Epoch current = schedule_.epoch_at(t);
  std::vector<RingKey> live;
  for (const RingKey& k : keys_) {
    const KeyRole role = schedule_.role(*k.meta.epoch, t);
    if (role == KeyRole::expired) continue;
    RingKey copy = k.clone();
    copy.meta.role = role;
    live.push_back(std::move(copy));
  }
  const bool covered = std::any_of(live.begin(), live.end(),
                                   [&](const RingKey& k) { return *k.meta.epoch == current; });
  if (!covered) {
    std::string held = keys_.empty() ? std::string("none")
                                     : std::to_string(*keys_.back().meta.epoch) + ".." +
                                           std::to_string(*keys_.front().meta.epoch);
    return make_error(Errc::not_found, "no key for the current epoch " + std::to_string(current) +
                                           " (epochs held: " + held + ")");
  }
  STEK_ASSIGN_OR_RETURN(KeyRing ring, KeyRing::make(std::move(live), info_));
  // KeyRing::at is the library's one definition of roles, order and validity times.
  return ring.at(schedule_, t);
}

std::vector<std::string> HeldRing::erase_expired(UnixSeconds t) {
  std::vector<std::string> names;
  auto expired = [&](const RingKey& k) {
    return schedule_.role(*k.meta.epoch, t) == KeyRole::expired;
  };
  for (const RingKey& k : keys_) {
    if (expired(k)) names.push_back(k.key.name_hex());
  }
  std::erase_if(keys_, expired);
  return names;
}

std::int64_t HeldRing::runway(UnixSeconds t) const {
  // Count the unbroken run of held epochs from the current one: a gap ends the runway.
  Epoch e = schedule_.epoch_at(t);
  bool covered = false;
  for (auto it = keys_.rbegin(); it != keys_.rend(); ++it) {  // oldest first
    if (*it->meta.epoch == e) {
      covered = true;
      ++e;
    }
  }
  return covered ? schedule_.epoch_start(e) - t : 0;
}

}  // namespace stek::agent

// KeyRing: an immutable snapshot of the keys one server uses at one moment: exactly one
// encrypting key, the keys that still open tickets, and keys held for later. Built and
// validated off to the side, then published whole (e.g. through a shared_ptr swap).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "stek/key.h"
#include "stek/result.h"
#include "stek/schedule.h"

namespace stek {

// Metadata that travels with a key. Raw product formats carry none of it except the role,
// which their position implies.
struct KeyMeta {
  KeyRole role = KeyRole::encrypt;
  std::optional<std::string> domain;
  std::optional<Epoch> epoch;
  std::optional<UnixSeconds> not_before;
  std::optional<UnixSeconds> not_after;
  std::optional<std::uint32_t> secret_version;  // version of the domain secret it came from
};

struct RingKey {
  TicketKey key;
  KeyMeta meta;
  RingKey clone() const { return {key.clone(), meta}; }
};

struct RingInfo {
  std::optional<ScheduleParams> schedule;
  std::optional<UnixSeconds> generated_at;
  std::uint64_t version = 0;  // ring version from the key server; 0 when unknown
  // Identity of the key material of ring `version` as the key server made it (64 hex digits,
  // docs/api.md "Ring identity"); opaque here. The keys may be fewer than it covers: an agent
  // drops expired keys and keeps the identity of the version it received.
  std::optional<std::string> id;
};

struct KeyNameHash {
  std::size_t operator()(const KeyName& n) const noexcept;
};

class KeyRing {
 public:
  // Validates the whole set and refuses it whole: exactly one encrypting key, no expired
  // keys, unique names, unique key material, every key passes check_key_material. Keys are
  // kept in canonical order: encrypt, next, decrypt (in the given order), pending.
  static Result<KeyRing> make(std::vector<RingKey> keys, RingInfo info = {});

  KeyRing(KeyRing&&) noexcept = default;
  KeyRing& operator=(KeyRing&&) noexcept = default;
  KeyRing clone() const;

  const std::vector<RingKey>& keys() const { return keys_; }
  const RingInfo& info() const { return info_; }
  const RingKey& encrypting() const { return keys_[0]; }
  std::size_t size() const { return keys_.size(); }

  struct Match {
    const RingKey* key;
    bool renew;  // opened by a key other than the encrypting one: issue a fresh ticket
  };
  // O(1). Only keys whose role decrypts match; pending keys and unknown names do not.
  std::optional<Match> find(const KeyName& name) const;

  // Re-derives every role for time t from the keys' epochs (all keys need one), drops
  // expired keys, and sets not_before/not_after. Fails if no key covers epoch(t).
  Result<KeyRing> at(const Schedule& schedule, UnixSeconds t) const;

  // Whole-ring checks that need no time: every decrypting key shares the encrypting key's
  // size (products cannot mix AES-128 and AES-256 keys in one list).
  bool uniform_size() const;

 private:
  KeyRing(std::vector<RingKey> keys, RingInfo info);
  std::vector<RingKey> keys_;
  RingInfo info_;
  std::unordered_map<KeyName, std::size_t, KeyNameHash> index_;
};

}  // namespace stek

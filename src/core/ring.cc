// KeyRing validation, lookup and re-roling.
#include "stek/ring.h"

#include <algorithm>
#include <cstring>

namespace stek {

namespace {
int role_rank(KeyRole r) {
  switch (r) {
    case KeyRole::encrypt:
      return 0;
    case KeyRole::next:
      return 1;
    case KeyRole::decrypt:
      return 2;
    case KeyRole::pending:
      return 3;
    case KeyRole::expired:
      return 4;
  }
  return 5;
}
// Whether not_before and not_after of epoch k fit in 64-bit seconds. A ring file may carry
// any epoch; one far in the future would overflow Schedule's epoch arithmetic.
bool placeable(const Schedule& s, Epoch k) {
  std::int64_t end;
  std::int64_t start;
  return !__builtin_add_overflow(k, s.history() + 1, &end) &&
         !__builtin_mul_overflow(end, s.interval(), &end) &&
         !__builtin_mul_overflow(k, s.interval(), &start);
}
}  // namespace

std::size_t KeyNameHash::operator()(const KeyName& n) const noexcept {
  std::uint64_t a;
  std::uint64_t b;
  std::memcpy(&a, n.data(), 8);
  std::memcpy(&b, n.data() + 8, 8);
  // Names are usually random; mixing both halves keeps hand-written names spread too.
  std::uint64_t h = (a ^ (b * 0x9e3779b97f4a7c15ULL));
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 32;
  return static_cast<std::size_t>(h);
}

KeyRing::KeyRing(std::vector<RingKey> keys, RingInfo info)
    : keys_(std::move(keys)), info_(std::move(info)) {
  index_.reserve(keys_.size());
  for (std::size_t i = 0; i < keys_.size(); ++i) index_.emplace(keys_[i].key.name(), i);
}

Result<KeyRing> KeyRing::make(std::vector<RingKey> keys, RingInfo info) {
  if (keys.empty()) return make_error(Errc::invalid_argument, "key ring is empty");
  std::size_t encrypting = 0;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const RingKey& k = keys[i];
    if (k.meta.role == KeyRole::encrypt) ++encrypting;
    if (k.meta.role == KeyRole::expired) {
      return make_error(Errc::invalid_argument,
                        "key " + k.key.name_hex() + " is expired and must not be in a ring");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (keys[j].key.name() == k.key.name()) {
        return make_error(Errc::duplicate_key, "key name " + k.key.name_hex() +
                                                   " appears twice (keys " + std::to_string(j + 1) +
                                                   " and " + std::to_string(i + 1) + ")");
      }
      if (keys[j].key.same_material(k.key)) {
        return make_error(Errc::duplicate_key, "keys " + keys[j].key.name_hex() + " and " +
                                                   k.key.name_hex() + " share key material");
      }
    }
  }
  if (encrypting != 1) {
    return make_error(Errc::invalid_argument, "key ring has " + std::to_string(encrypting) +
                                                  " encrypting keys, expected exactly 1");
  }
  std::stable_sort(keys.begin(), keys.end(), [](const RingKey& a, const RingKey& b) {
    return role_rank(a.meta.role) < role_rank(b.meta.role);
  });
  return KeyRing(std::move(keys), std::move(info));
}

KeyRing KeyRing::clone() const {
  std::vector<RingKey> copy;
  copy.reserve(keys_.size());
  for (const RingKey& k : keys_) copy.push_back(k.clone());
  return KeyRing(std::move(copy), info_);
}

std::optional<KeyRing::Match> KeyRing::find(const KeyName& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) return std::nullopt;
  const RingKey& k = keys_[it->second];
  if (!role_decrypts(k.meta.role)) return std::nullopt;
  return Match{&k, k.meta.role != KeyRole::encrypt};
}

Result<KeyRing> KeyRing::at(const Schedule& schedule, UnixSeconds t) const {
  std::vector<RingKey> out;
  for (const RingKey& k : keys_) {
    if (!k.meta.epoch) {
      return make_error(Errc::invalid_argument,
                        "key " + k.key.name_hex() + " has no epoch; roles cannot be derived");
    }
    const Epoch epoch = *k.meta.epoch;
    KeyRole role = schedule.role(epoch, t);
    if (role == KeyRole::expired) continue;
    if (!placeable(schedule, epoch)) {
      return make_error(Errc::invalid_argument,
                        "key " + k.key.name_hex() + " has epoch " + std::to_string(epoch) +
                            ", too far away to place in time with a " +
                            std::to_string(schedule.interval()) + " s interval");
    }
    RingKey copy = k.clone();
    copy.meta.role = role;
    copy.meta.not_before = schedule.not_before(epoch);
    copy.meta.not_after = schedule.not_after(epoch);
    out.push_back(std::move(copy));
  }
  const bool has_current = std::any_of(
      out.begin(), out.end(), [](const RingKey& k) { return k.meta.role == KeyRole::encrypt; });
  if (!has_current) {
    return make_error(Errc::not_found, "no key for the current epoch " +
                                           std::to_string(schedule.epoch_at(t)) +
                                           ": the held keys have run out");
  }
  // Newest epoch first within each role.
  std::sort(out.begin(), out.end(),
            [](const RingKey& a, const RingKey& b) { return *a.meta.epoch > *b.meta.epoch; });
  RingInfo info = info_;
  info.schedule = schedule.params();
  return make(std::move(out), std::move(info));
}

bool KeyRing::uniform_size() const {
  const auto size = encrypting().key.size();
  return std::all_of(keys_.begin(), keys_.end(),
                     [&](const RingKey& k) { return k.key.size() == size; });
}

}  // namespace stek

// Comparing an answered ring with the held one, and the conflict alarm.
#include "ring_conflict.h"

#include <spdlog/spdlog.h>

namespace stek::agent {

namespace {

std::string version_text(std::uint64_t answered, std::uint64_t held) {
  return " (ring version " + std::to_string(answered) + " answered, " + std::to_string(held) +
         " held)";
}

std::string key_text(const RingKey& k) {
  return k.key.name_hex() + " (epoch " + std::to_string(*k.meta.epoch) + ", secret version " +
         std::to_string(k.meta.secret_version.value_or(0)) + ")";
}

std::optional<std::string> key_conflict(const RingKey& h, const RingKey& a, std::uint64_t vh,
                                        std::uint64_t va) {
  const std::uint32_t sh = h.meta.secret_version.value_or(0);
  const std::uint32_t sa = a.meta.secret_version.value_or(0);
  const Epoch e = *h.meta.epoch;
  if (h.key.name() == a.key.name()) {
    if (*a.meta.epoch != e || sa != sh) {
      return "key " + key_text(a) + " is held as " + key_text(h);
    }
    return std::nullopt;
  }
  if (*a.meta.epoch != e) return std::nullopt;
  if (sa == sh) {
    return "epoch " + std::to_string(e) + " has key " + a.key.name_hex() +
           " in the answer and key " + h.key.name_hex() + " held, both of domain secret version " +
           std::to_string(sa) + ": two secrets for one epoch";
  }
  if ((va > vh && sa < sh) || (va < vh && sa > sh) || va == vh) {
    return "epoch " + std::to_string(e) + " is of domain secret version " + std::to_string(sa) +
           " in the answer and " + std::to_string(sh) +
           " held, against the order of the ring versions: a server that missed a secret "
           "rotation";
  }
  return std::nullopt;  // a newer secret version in a newer ring: a secret rotation
}

}  // namespace

std::optional<std::string> find_conflict(const HeldRing& held, const HeldRing& answered) {
  const std::uint64_t vh = held.version();
  const std::uint64_t va = answered.version();
  std::map<Epoch, const RingKey*> by_epoch;
  std::map<KeyName, const RingKey*> by_name;
  for (const RingKey& k : held.keys()) {
    by_epoch[*k.meta.epoch] = &k;
    by_name[k.key.name()] = &k;
  }
  for (const RingKey& a : answered.keys()) {
    const auto named = by_name.find(a.key.name());
    const auto same_epoch = by_epoch.find(*a.meta.epoch);
    for (const RingKey* h : {named == by_name.end() ? nullptr : named->second,
                             same_epoch == by_epoch.end() ? nullptr : same_epoch->second}) {
      if (h == nullptr) continue;
      if (auto c = key_conflict(*h, a, vh, va)) return *c + version_text(va, vh);
    }
  }
  if (va == vh && held.id() && answered.id()) {
    if (auto c = find_conflict(held, va, *answered.id())) return c;
  }
  return std::nullopt;
}

std::optional<std::string> find_conflict(const HeldRing& held, std::uint64_t version,
                                         const api::RingId& id) {
  if (version != held.version() || !held.id() || id == *held.id()) return std::nullopt;
  return "ring version " + std::to_string(version) + " has identity " + api::short_string(id) +
         " there and " + api::short_string(*held.id()) + " held: one version, two sets of keys";
}

void ConflictWatch::observe(const RingUpdate& update, std::string_view held_from, UnixSeconds now) {
  if (update.server.empty()) return;
  if (!update.conflict) {
    if (update.sync == RingUpdate::Sync::answered && alarms_.erase(update.server) != 0) {
      spdlog::warn("{} agrees with the held ring again: its ring conflict is cleared",
                   update.server);
    }
    return;
  }
  ++total_;
  const std::string text = update.server + " disagrees with the held ring from " +
                           std::string(held_from) + ": " + *update.conflict;
  auto [it, added] = alarms_.try_emplace(update.server);
  Entry& entry = it->second;
  if (added || entry.text != text || now - entry.logged >= kRelogSeconds) {
    spdlog::error("RING CONFLICT (split brain?): {}. {}; see docs/operating.md, \"Ring conflicts\"",
                  text,
                  update.ring ? "The held keys no longer cover the current epoch, so this ring "
                                "was taken anyway"
                              : "This answer was refused; the held keys stay in service");
    entry.logged = now;
  } else {
    spdlog::debug("ring conflict again: {}", text);
  }
  entry.text = text;
}

std::string ConflictWatch::alarm() const {
  std::string out;
  for (const auto& [server, entry] : alarms_) out += (out.empty() ? "" : "; ") + entry.text;
  return out.empty() ? out : "ring conflict: " + out;
}

}  // namespace stek::agent

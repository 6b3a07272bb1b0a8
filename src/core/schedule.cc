// Epoch arithmetic and key roles.
#include "stek/schedule.h"

#include <limits>
#include <string>

namespace stek {

std::string_view key_role_name(KeyRole role) {
  switch (role) {
    case KeyRole::pending:
      return "pending";
    case KeyRole::next:
      return "next";
    case KeyRole::encrypt:
      return "encrypt";
    case KeyRole::decrypt:
      return "decrypt";
    case KeyRole::expired:
      return "expired";
  }
  return "unknown";
}

Result<KeyRole> parse_key_role(std::string_view name) {
  for (KeyRole r :
       {KeyRole::pending, KeyRole::next, KeyRole::encrypt, KeyRole::decrypt, KeyRole::expired}) {
    if (key_role_name(r) == name) return r;
  }
  return make_error(Errc::bad_format,
                    "unknown key role \"" + std::string(name) +
                        "\" (expected pending, next, encrypt, decrypt or expired)");
}

Result<Schedule> Schedule::make(const ScheduleParams& p) {
  if (p.interval < 1) {
    return make_error(Errc::invalid_argument,
                      "interval must be at least 1 second, got " + std::to_string(p.interval));
  }
  if (p.history < 0) {
    return make_error(Errc::invalid_argument,
                      "history must be 0 or more epochs, got " + std::to_string(p.history));
  }
  if (p.lookahead < 1) {
    return make_error(Errc::invalid_argument,
                      "lookahead must be at least 1 epoch (hosts need the next key before it is "
                      "used), got " +
                          std::to_string(p.lookahead));
  }
  // H*I bounds the ticket lifetime; TLS 1.3 caps lifetimes at 7 days.
  if (p.history > kMaxTicketLifetime / p.interval) {
    return make_error(Errc::invalid_argument, "history x interval = " + std::to_string(p.history) +
                                                  " x " + std::to_string(p.interval) +
                                                  " s exceeds 7 days (604800 s), the "
                                                  "longest ticket lifetime TLS 1.3 allows");
  }
  if (p.lookahead > 10000) {
    return make_error(Errc::invalid_argument, "lookahead of " + std::to_string(p.lookahead) +
                                                  " epochs is unreasonable (max 10000)");
  }
  // epoch_start, not_after and runway multiply epochs by I. Bounding the held window at
  // 2^62 s keeps them in range for every time within +-2^62 s (far beyond any Unix time);
  // with H = 0 the 7-day bound alone leaves I unbounded.
  constexpr std::int64_t kMaxWindowSeconds = std::int64_t{1} << 62;
  if (p.history + p.lookahead + 2 > kMaxWindowSeconds / p.interval) {
    return make_error(Errc::invalid_argument,
                      "interval of " + std::to_string(p.interval) +
                          " s is too large: (history + lookahead + 2) x interval exceeds 2^62 s");
  }
  return Schedule(p);
}

Schedule Schedule::standard() {
  return Schedule(ScheduleParams{});
}

Epoch Schedule::epoch_at(UnixSeconds t) const {
  Epoch q = t / p_.interval;
  if (t % p_.interval != 0 && t < 0) --q;  // floor, not truncation
  return q;
}

KeyRole Schedule::role(Epoch k, UnixSeconds t) const {
  const Epoch e = epoch_at(t);
  if (k > e + 1) return KeyRole::pending;
  if (k == e + 1) return KeyRole::next;
  if (k == e) return KeyRole::encrypt;
  if (k >= e - p_.history) return KeyRole::decrypt;
  return KeyRole::expired;
}

EpochRange Schedule::held_window(UnixSeconds t) const {
  const Epoch e = epoch_at(t);
  return {e - p_.history, e + p_.lookahead};
}

}  // namespace stek

// The key schedule: interval I, history H, look-ahead L, epochs and each key's role at a
// time t. Pure arithmetic on Unix seconds; the caller supplies the time.
#pragma once

#include <cstdint>
#include <string_view>

#include "stek/result.h"

namespace stek {

using UnixSeconds = std::int64_t;
using Epoch = std::int64_t;

// TLS 1.3 (RFC 8446 4.6.1) forbids a ticket lifetime above seven days.
inline constexpr std::int64_t kMaxTicketLifetime = 7 * 24 * 3600;

struct ScheduleParams {
  std::int64_t interval = 3600;  // I, seconds per epoch
  std::int64_t history = 18;     // H, epochs a ticket stays decryptable after its own
  std::int64_t lookahead = 2;    // L, epochs of keys handed out before they are used
};

// Lifecycle of one epoch's key, as seen at one moment.
enum class KeyRole {
  pending,  // made ahead of time (e+2 .. e+L), held but not accepted
  next,     // e+1: accepted for decryption (clock skew between hosts), never encrypts yet
  encrypt,  // e: encrypts new tickets, decrypts
  decrypt,  // e-H .. e-1: decrypts; tickets it opens are renewed
  expired,  // older than e-H: must be erased
};

std::string_view key_role_name(KeyRole role);
Result<KeyRole> parse_key_role(std::string_view name);

// Whether a key in this role opens tickets.
constexpr bool role_decrypts(KeyRole role) {
  return role == KeyRole::next || role == KeyRole::encrypt || role == KeyRole::decrypt;
}

struct EpochRange {
  Epoch first;  // inclusive
  Epoch last;   // inclusive
  bool contains(Epoch e) const { return e >= first && e <= last; }
};

class Schedule {
 public:
  // Validates: I >= 1 s, 0 <= H, 1 <= L <= 10000, H*I <= 7 days, and (H+L+2)*I <= 2^62 s so
  // that no arithmetic below overflows for times within +-2^62 s.
  static Result<Schedule> make(const ScheduleParams& params);
  // The defaults of DESIGN.md: I = 1 h, H = 18, L = 2.
  static Schedule standard();

  const ScheduleParams& params() const { return p_; }
  std::int64_t interval() const { return p_.interval; }
  std::int64_t history() const { return p_.history; }
  std::int64_t lookahead() const { return p_.lookahead; }

  // e = floor(t / I); correct for negative t too.
  Epoch epoch_at(UnixSeconds t) const;
  UnixSeconds epoch_start(Epoch e) const { return e * p_.interval; }
  // The first second of the next epoch after t.
  UnixSeconds next_boundary(UnixSeconds t) const { return epoch_start(epoch_at(t) + 1); }

  KeyRole role(Epoch key_epoch, UnixSeconds t) const;
  // Epochs whose keys a host holds at t: e-H .. e+L.
  EpochRange held_window(UnixSeconds t) const;

  // Key of epoch k encrypts from not_before(k) and opens tickets until not_after(k),
  // inclusive: the end of epoch k+H.
  UnixSeconds not_before(Epoch k) const { return epoch_start(k); }
  UnixSeconds not_after(Epoch k) const { return epoch_start(k + p_.history + 1) - 1; }

  // What to tell clients: H * I seconds. A ticket issued at the very end of epoch e is
  // still openable for H*I seconds after, so the hint never outlives the key.
  std::int64_t lifetime_hint() const { return p_.history * p_.interval; }

  // Seconds a host can run on the keys it holds at t with no key server: until the
  // end of epoch e+L.
  std::int64_t runway(UnixSeconds t) const {
    return epoch_start(epoch_at(t) + p_.lookahead + 1) - t;
  }

 private:
  explicit Schedule(const ScheduleParams& p) : p_(p) {}
  ScheduleParams p_;
};

}  // namespace stek

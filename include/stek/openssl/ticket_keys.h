// libstek: the ticket keys one or more SSL_CTXs share. TicketKeys holds a ring as an immutable
// snapshot, derives its roles on the ring's schedule (rotating by the clock on its own) and
// reports status without key bytes.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "stek/clock.h"
#include "stek/openssl/ticket_codec.h"
#include "stek/random.h"
#include "stek/result.h"
#include "stek/ring.h"
#include "stek/schedule.h"

namespace stek::openssl {

namespace detail {
struct KeysAccess;
}

// One published state of the keys. Immutable once published; handshakes hold it by shared_ptr.
struct KeySnapshot {
  // Roles as of derived_at; nullopt when no ring is loaded yet or the held keys have run out
  // (then no tickets are issued or accepted: full handshakes only).
  std::optional<KeyRing> ring;
  std::optional<Schedule> schedule;  // nullopt: roles as written in the ring file, no rotation
  UnixSeconds derived_at = 0;
  // When roles must be derived again (the next epoch boundary); nullopt if never.
  std::optional<UnixSeconds> refresh_at;
  // End of the last epoch whose key is held: after it no key can encrypt.
  std::optional<UnixSeconds> keys_run_out_at;
  std::uint64_t generation = 0;  // increases with every publish
};

// Counters of ticket outcomes since start. Monotonic; read with relaxed ordering.
struct TicketCounters {
  std::uint64_t issued = 0;          // tickets encrypted
  std::uint64_t not_issued = 0;      // ticket wanted but no encrypting key held
  std::uint64_t resumed = 0;         // TicketResult::ok
  std::uint64_t renewed = 0;         // TicketResult::renew
  std::uint64_t unknown_key = 0;     // TicketResult::unknown_key
  std::uint64_t invalid = 0;         // TicketResult::invalid (known name, failed MAC/decrypt)
  std::uint64_t refused_psk_ke = 0;  // TLS 1.3 resumption refused: SSL_OP_ALLOW_NO_DHE_KEX set
};

// What operators and health checks may see: names, times and counts, never key bytes.
struct KeyStatus {
  bool has_keys = false;    // a ticket can be issued now
  std::string current_key;  // hex name of the encrypting key, empty if none
  std::optional<Epoch> current_epoch;
  std::size_t keys_decrypting = 0;  // keys that open tickets now (current, next, older)
  std::size_t keys_held = 0;        // including pending ones
  // Seconds until the held keys run out if no new ring arrives; nullopt without a schedule.
  std::optional<std::int64_t> runway_seconds;
  std::uint64_t ring_version = 0;
  std::uint64_t generation = 0;
  std::optional<UnixSeconds> loaded_at;  // when the last good ring was accepted
  std::string last_error;                // empty if the last load succeeded
  bool source_present = true;            // false once the watched file is gone
  TicketCounters counters;
};
std::string key_status_json(const KeyStatus& status);

struct KeysOptions {
  const Clock* clock = nullptr;  // default: the system clock
  Random* random = nullptr;      // ticket IVs; default: OpenSSL's DRBG
  // Used when a ring carries no schedule of its own (stek-agent's files always do).
  std::optional<ScheduleParams> fallback_schedule;
};

// The key state one or more SSL_CTXs share. Thread-safe: any thread may update, tick or read
// status while handshakes run; handshakes never wait for a writer. A reader copies the
// published snapshot's pointer; a writer builds a new snapshot off to the side and swaps it.
class TicketKeys {
 public:
  explicit TicketKeys(KeysOptions options = {});
  ~TicketKeys();
  TicketKeys(const TicketKeys&) = delete;
  TicketKeys& operator=(const TicketKeys&) = delete;

  // Validates a new source ring, derives its roles for now and publishes it in one swap. On
  // error nothing changes (the error is also kept for status()).
  Status update(KeyRing source);
  // Derives roles again if an epoch boundary has passed since the last publish (rotation
  // without a new ring: the source may be gone). Cheap when nothing is due.
  void tick();
  // Time until tick() has work, for event loops; nullopt if never.
  std::optional<std::chrono::milliseconds> until_next_tick() const;

  // One snapshot; the caller keeps it for as long as it needs a consistent view.
  std::shared_ptr<const KeySnapshot> snapshot() const;
  // The snapshot for a handshake: rotates first if an epoch boundary has passed (so a server
  // that never runs a watcher or calls tick() still stops encrypting under an expired key).
  // Never waits: if another thread is publishing, returns the snapshot as it is.
  std::shared_ptr<const KeySnapshot> current();
  KeyStatus status() const;

  const Clock& clock() const { return *clock_; }
  Random& random() const { return *random_; }

 private:
  friend struct detail::KeysAccess;  // counters and source reports, for libstek's own parts
  struct State;                      // the published snapshot, the writers' state and the counters

  void rotate_locked(const std::shared_ptr<const KeySnapshot>& seen, UnixSeconds now);

  const Clock* clock_;
  Random* random_;
  std::optional<ScheduleParams> fallback_schedule_;
  std::unique_ptr<State> state_;
};

}  // namespace stek::openssl

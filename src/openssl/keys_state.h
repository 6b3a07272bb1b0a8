// Internal: what TicketKeys keeps behind its public face -- the published snapshot cell, the
// writers' state and the ticket counters -- and the access libstek's own parts (the SSL_CTX
// callbacks, the ring watcher, the C API) need to count outcomes and report the source.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "stek/openssl/ticket_keys.h"

namespace stek::openssl {

namespace detail {

// Holds the published snapshot. A reader copies the pointer; a writer swaps it; the old
// snapshot is released outside the lock. The lock covers one pointer copy, never a rotation's
// work, so a handshake never waits for a ring to be parsed or derived. (libstdc++ 12's
// std::atomic<std::shared_ptr> is a spinlock too -- is_lock_free() is false -- and its load()
// unlocks with relaxed ordering, which ThreadSanitizer reports as a data race.)
class SnapshotCell {
 public:
  std::shared_ptr<const KeySnapshot> load() const {
    std::lock_guard lock(mu_);
    return current_;
  }
  void store(std::shared_ptr<const KeySnapshot> next) {
    {
      std::lock_guard lock(mu_);
      current_.swap(next);
    }
    // next now holds the previous snapshot; it is released here, outside the lock.
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const KeySnapshot> current_;
};

struct AtomicCounters {
  std::atomic<std::uint64_t> issued{0}, not_issued{0}, resumed{0}, renewed{0}, unknown_key{0},
      invalid{0}, refused_psk_ke{0};
};

// For libstek's parts only: counting and source reports are not part of the public API.
struct KeysAccess {
  static void count(TicketKeys& keys, TicketResult result);
  static void count_issued(TicketKeys& keys, bool issued);
  static void count_refused_psk_ke(TicketKeys& keys);
  // A ring source's failure (the file vanished, did not parse), kept for status().
  static void report_source_error(TicketKeys& keys, const Error& error, bool source_present);
  static void report_source_ok(TicketKeys& keys);
};

}  // namespace detail

struct TicketKeys::State {
  mutable std::mutex mu;  // serialises writers only; readers use current
  std::optional<KeyRing> source;
  std::uint64_t generation = 0;
  std::optional<UnixSeconds> loaded_at;
  std::string last_error;
  bool source_present = true;

  detail::SnapshotCell current;
  detail::AtomicCounters counters;
};

}  // namespace stek::openssl

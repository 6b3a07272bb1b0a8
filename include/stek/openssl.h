// libstek for OpenSSL servers: stek's key rings inside the process. A TicketKeys object holds
// the ring as an immutable snapshot swapped atomically; install() wires it into an SSL_CTX
// through SSL_CTX_set_tlsext_ticket_key_evp_cb; RingFileWatcher keeps it fresh from
// stek-agent's JSON ring file; enable_stateful_tickets() is the STEK-less alternative.
// A how-to is in docs/libstek.md; examples/https_server.cc uses every part.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>

#include <openssl/ssl.h>

#include "stek/bytes.h"
#include "stek/clock.h"
#include "stek/random.h"
#include "stek/result.h"
#include "stek/ring.h"
#include "stek/schedule.h"

namespace stek::openssl {

// ---------------------------------------------------------------- tickets without a handshake

// Tickets use OpenSSL's layout (kTicketIvSize and friends in stek/key.h). 80-byte keys use
// AES-256-CBC with a 32-byte HMAC key; 48-byte keys AES-128-CBC with a 16-byte HMAC key (as
// nginx does).

// What one ticket operation decided for one handshake.
enum class TicketResult {
  ok,           // opened by the current key: resume
  renew,        // opened by an older (or next) key: resume and issue a ticket under the current key
  unknown_key,  // no held key has this name: full handshake
  invalid,      // a held key's name but bad MAC, padding or size: full handshake
};
std::string_view ticket_result_name(TicketResult result);

struct OpenedTicket {
  TicketResult result = TicketResult::invalid;
  // The serialised session (it holds the master secret), for ok and renew.
  ByteView plaintext() const { return storage.view(0, length); }
  bool resumes() const { return result == TicketResult::ok || result == TicketResult::renew; }

  SecretBytes storage;  // wiped on destruction; may be longer than the plaintext
  std::size_t length = 0;
};

// Seals and opens tickets in OpenSSL's layout with the keys of a ring: used by the fuzz target,
// the benchmark and by tools that read tickets. Reuses its OpenSSL contexts, so one TicketCodec
// per thread; not thread-safe.
class TicketCodec {
 public:
  static Result<TicketCodec> make();
  TicketCodec(TicketCodec&&) noexcept;
  TicketCodec& operator=(TicketCodec&&) noexcept;
  ~TicketCodec();

  // Seals under the ring's encrypting key with a fresh IV from random.
  Result<Bytes> seal(const KeyRing& ring, ByteView plaintext, Random& random);
  // Seals under a given key and IV (16 bytes): for test vectors and benchmarks.
  Result<Bytes> seal_with(const TicketKey& key, ByteView iv, ByteView plaintext);
  // Never fails on untrusted input: the result says what happened.
  OpenedTicket open(const KeyRing& ring, ByteView ticket);

 private:
  struct Impl;
  explicit TicketCodec(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------- key snapshots

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

// The key state one or more SSL_CTXs share. Thread-safe: any thread may update, tick or read
// status while handshakes run; handshakes never take a lock.
class TicketKeys {
 public:
  explicit TicketKeys(KeysOptions options = {});
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
  std::shared_ptr<const KeySnapshot> snapshot() const { return current_.load(); }
  // The snapshot for a handshake: rotates first if an epoch boundary has passed (so a server
  // that never runs a watcher or calls tick() still stops encrypting under an expired key).
  // Never waits: if another thread is publishing, returns the snapshot as it is.
  std::shared_ptr<const KeySnapshot> current();
  KeyStatus status() const;

  // For ring sources: record a failure (the file vanished, did not parse) without touching keys.
  void report_source_error(const Error& error, bool source_present);
  void report_source_ok();

  // Called by the OpenSSL callbacks; also usable by other integrations.
  void count(TicketResult result);
  void count_issued(bool issued);
  void count_refused_psk_ke();
  const Clock& clock() const { return *clock_; }
  Random& random() const { return *random_; }

 private:
  void rotate_locked(const std::shared_ptr<const KeySnapshot>& seen, UnixSeconds now);

  const Clock* clock_;
  Random* random_;
  std::optional<ScheduleParams> fallback_schedule_;

  mutable std::mutex mu_;  // serialises writers only; readers use current_
  std::optional<KeyRing> source_;
  std::uint64_t generation_ = 0;
  std::optional<UnixSeconds> loaded_at_;
  std::string last_error_;
  bool source_present_ = true;

  SnapshotCell current_;

  struct AtomicCounters {
    std::atomic<std::uint64_t> issued{0}, not_issued{0}, resumed{0}, renewed{0}, unknown_key{0},
        invalid{0}, refused_psk_ke{0};
  };
  AtomicCounters counters_;
};

// ---------------------------------------------------------------- SSL_CTX integration

enum class EarlyData {
  off,  // default: no 0-RTT
  // 0-RTT with OpenSSL's anti-replay: OpenSSL then makes TLS 1.3 tickets single-use and
  // stateful (server cache), so the ring is NOT used for TLS 1.3 tickets and 0-RTT works only
  // on the server that issued the ticket.
  single_use,
  // 0-RTT on ring tickets with SSL_OP_NO_ANTI_REPLAY: any server of the domain accepts the
  // same early data again for the ticket's lifetime. Only for requests that are safe to
  // replay (RFC 8470); see docs/libstek.md.
  replayable,
};

struct InstallOptions {
  // Lifetime hint and session timeout. Default: H x I of the ring's schedule (the standard
  // schedule's 18 h if none is loaded yet). Always capped at 7 days (RFC 8446).
  std::optional<std::chrono::seconds> lifetime;
  EarlyData early_data = EarlyData::off;
  std::uint32_t max_early_data = 16384;  // when early data is on
  // TLS 1.3 resumption without (EC)DHE (psk_ke) has no forward secrecy against a stolen
  // STEK. Off: the callback refuses tickets on connections that allow it.
  bool allow_psk_ke = false;
  // Issue a new ticket after every TLS 1.3 resumption, not only when the key was not the
  // current one. With a ticket key callback OpenSSL sends a TLS 1.3 ticket after a resumption
  // only when the callback asks for renewal (nginx's never does for its current key); OpenSSL's
  // built-in keys always renew. Clients that use a ticket once (RFC 8446 C.4; OpenSSL, GnuTLS
  // and BoringSSL clients) otherwise get a full handshake every other time (measured:
  // BM_ResumeLibstekNoFresh13). TLS 1.2 renews only for non-current keys either way.
  bool fresh_tls13_tickets = true;
  // Count final outcomes (MAC failures) with SSL_CTX_set_session_ticket_cb. Turn off if the
  // application installs its own session ticket callbacks.
  bool observe_outcomes = true;
  // Session id context to set (nginx interop: see nginx_session_id_context). Empty: unchanged.
  Bytes session_id_context;
};

// Serves tickets from keys on ctx: clears SSL_OP_NO_TICKET and SSL_OP_ALLOW_NO_DHE_KEX, sets
// the session timeout and early data per options, and installs the ticket key callback. The
// SSL_CTX holds a reference to keys. With SNI, install on every SSL_CTX a connection may switch
// to.
Status install(SSL_CTX* ctx, std::shared_ptr<TicketKeys> keys, const InstallOptions& options = {});

// The session id context nginx 1.x sets on a server block (measured against nginx 1.22, see
// docs/libstek.md): SHA-1 over the module's name ("HTTP" for http, "STREAM" for stream), then the
// SHA-1 of each certificate's DER in the order of its ssl_certificate directives, then the
// SHA-1 of each client CA name when client certificates are verified. OpenSSL refuses to resume
// a session made under another context, so a libstek server that shares keys with nginx must
// set the same one (InstallOptions::session_id_context).
Result<Bytes> nginx_session_id_context(std::span<X509* const> certificates,
                                       const STACK_OF(X509_NAME) * client_cas = nullptr,
                                       std::string_view module = "HTTP");
// The same for the certificate loaded into ctx and its client CA list.
Result<Bytes> nginx_session_id_context(SSL_CTX* ctx, std::string_view module = "HTTP");

// ---------------------------------------------------------------- STEK-less mode

struct StatefulOptions {
  std::size_t cache_size = 20480;          // sessions held; the oldest are evicted beyond it
  std::chrono::seconds timeout{2 * 3600};  // session lifetime, capped at 7 days
  const Clock* clock = nullptr;            // expiry checks; default: the system clock
};
// STEK-less: tickets are opaque ids of sessions held in this process's cache (TLS 1.3
// stateful tickets, TLS 1.2 session ids). Nothing in a ticket can be decrypted by anyone.
// Resumption works only on this process.
// The sessions are kept by libstek (serialised, wiped when dropped), not in OpenSSL's internal
// cache, so a session stays resumable when its connection ends without the server's
// close_notify (OpenSSL's internal cache drops it then). Replaces the SSL_CTX's session cache
// callbacks; sets an info callback (to forget sessions after fatal alerts) unless one is set.
Status enable_stateful_tickets(SSL_CTX* ctx, const StatefulOptions& options = {});
// Sessions held now for ctx in STEK-less mode (0 if the mode is not enabled on ctx).
std::size_t stateful_sessions(const SSL_CTX* ctx);

// ---------------------------------------------------------------- ring source

// Watches stek-agent's JSON ring file with inotify on its directory (the agent replaces the
// file by rename, which a watch on the file itself would lose) and feeds TicketKeys. Either run
// it on its own thread (start) or put fd() into your event loop and call process() when it is
// readable or timeout() has passed.
class RingFileWatcher {
 public:
  // Reads the file once now (a failure is reported in keys->status(), not here) and sets up
  // the watch. Fails only if inotify cannot be used.
  static Result<std::unique_ptr<RingFileWatcher>> open(std::filesystem::path path,
                                                       std::shared_ptr<TicketKeys> keys);
  ~RingFileWatcher();
  RingFileWatcher(const RingFileWatcher&) = delete;
  RingFileWatcher& operator=(const RingFileWatcher&) = delete;

  int fd() const { return inotify_fd_; }
  // How long an event loop may wait before calling process(): the next epoch boundary (0.1 s
  // steps in the last second before it, as the clock has whole seconds), or a retry while the
  // directory is missing. Never more than 1 s (clock jumps, missed events).
  std::chrono::milliseconds timeout() const;
  // Drains pending events, reloads the file if it changed, and rotates if an epoch ended.
  void process();
  // Reads the file now, whatever inotify said.
  void reload();

  // Runs process() on a background thread until stop() or destruction.
  Status start();
  void stop();

  std::uint64_t reloads() const { return reloads_.load(std::memory_order_relaxed); }

 private:
  RingFileWatcher(std::filesystem::path path, std::shared_ptr<TicketKeys> keys, int inotify_fd,
                  int stop_fd);
  void try_add_watch();
  void run();

  std::filesystem::path path_;
  std::shared_ptr<TicketKeys> keys_;
  int inotify_fd_ = -1;
  int stop_fd_ = -1;  // eventfd that wakes the thread for stop()
  int watch_ = -1;
  std::atomic<std::uint64_t> reloads_{0};
  std::thread thread_;
};

// Reads a JSON ring file (as stek-agent writes it) into a ring.
Result<KeyRing> read_ring_file(const std::filesystem::path& path);

}  // namespace stek::openssl

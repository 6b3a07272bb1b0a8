// HAProxy sink: the `tls-ticket-keys` file (base64 lines, for HAProxy's start and reloads) and
// a live rotation through the runtime API on the stats socket (`set ssl tls-key`, checked with
// `show tls-keys`): no reload, no dropped connection. HAProxy holds a fixed number of keys
// (TLS_TICKETS_NO, 3 in Debian's build: previous, current, next); the ring is mapped onto them.
// When the socket is unavailable the sink falls back to the file and a reload, and logs it.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stek/random.h"

#include "../reload.h"
#include "../sink.h"

namespace stek::agent {

struct HaproxySinkOptions {
  std::filesystem::path path;                   // the tls-ticket-keys file, mode 0600 (tmpfs)
  std::optional<std::filesystem::path> socket;  // stats socket at level admin; none: reload only
  std::unique_ptr<Reloader> reloader;           // used when the socket is unavailable; null: none
  std::optional<std::filesystem::path> haproxy_cfg;  // checked for tune.ssl.lifetime
  std::chrono::milliseconds timeout{5000};           // per runtime API command
  Random* random = nullptr;  // host-local keys while no stek key covers the epoch
};

// HAProxy's key slots for a ring, oldest first: n-2 previous keys (the newest decrypt-only
// keys; a young ring repeats its oldest key, or the current one), the encrypting key, the next
// key (the current one again when the ring has none). Each record is name | AES | HMAC.
Result<std::vector<SecretBytes>> haproxy_slots(const KeyRing& ring, std::size_t n);
// How many of `desired` (from the end) `set ssl tls-key` must push so HAProxy's keys, listed
// in `current` (show tls-keys order), become `desired`: 0 when they already are; a normal
// rotation pushes 1; anything else pushes all.
std::size_t keys_to_push(const std::vector<SecretBytes>& current,
                         const std::vector<SecretBytes>& desired);
// The longest lifetime hint HAProxy can honour with `slots` keys under this schedule: a ticket
// issued at the end of an epoch opens while its key is among the slots' n-2 previous keys.
std::int64_t haproxy_lifetime_limit(const Schedule& schedule, std::size_t slots);
// tune.ssl.lifetime from haproxy.cfg text (global section), in seconds; nullopt when unset.
Result<std::optional<std::int64_t>> parse_haproxy_ssl_lifetime(std::string_view cfg);

// The lifetime hint HAProxy 2.6 sends when tune.ssl.lifetime is unset: OpenSSL's default
// session timeout (measured: 7200 s with Debian 12's HAProxy 2.6.12).
inline constexpr std::int64_t kHaproxyDefaultLifetimeHint = 7200;

class HaproxySink final : public Sink {
 public:
  explicit HaproxySink(HaproxySinkOptions options);

  const std::string& name() const override { return name_; }
  Result<SinkReport> apply(const KeyRing* ring, Epoch epoch) override;
  // Only the fallback needs it: the runtime API path reads HAProxy's keys back every time.
  void force_next() override { reload_.owe(); }
  std::vector<std::string> check(const Schedule& schedule) const override;

 private:
  Result<std::vector<SecretBytes>> desired(const KeyRing* ring, Epoch epoch);
  Result<bool> write_file(const std::vector<SecretBytes>& slots);
  // Brings HAProxy's keys to `slots` through the runtime API; the number of keys set.
  Result<std::size_t> apply_live(std::vector<SecretBytes>& slots, const KeyRing* ring, Epoch epoch,
                                 SinkReport& report);

  HaproxySinkOptions options_;
  std::string name_;
  std::size_t slot_count_ = 3;  // TLS_TICKETS_NO, as HAProxy's show tls-keys last listed it
  OwedReload reload_;           // the fallback's reload (the key file changed, or forced)
  bool falling_back_ = false;   // the last apply used the fallback (logged once)
  std::optional<Epoch> keyless_epoch_;
  std::vector<SecretBytes> keyless_;  // host-local keys of keyless_epoch_
  mutable std::optional<std::int64_t> reported_limit_;
};

}  // namespace stek::agent

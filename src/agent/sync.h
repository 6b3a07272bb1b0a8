// The agent's sync state machine, free of I/O: which stekd to ask next, how long to wait
// after failures, and what to do with each answer (docs/api.md, GET /v1/keyring).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "stek/secret.h"

#include "api/ring_id.h"
#include "backoff.h"
#include "held_ring.h"

namespace stek::agent {

// One HTTP answer from stekd, as the client received it.
struct PollAnswer {
  int status = 0;
  std::optional<std::uint64_t> ring_version;   // X-Stek-Ring-Version, when present and numeric
  std::optional<api::RingId> ring_id;          // X-Stek-Ring-Id, when present and well-formed
  std::optional<std::int64_t> server_time_ms;  // X-Stek-Time-Ms, when present and numeric
  std::int64_t held_ms = 0;                    // X-Stek-Held-Ms (0 when absent)
  SecretBytes body;                            // the ring file on 200; wiped when dropped
};

// What one answer means for the held ring: a new ring to hold, or keep what is held (304).
// An error is a failed sync (the caller backs off and fails over); its message names no key
// bytes.
Result<std::optional<HeldRing>> check_answer(const PollAnswer& answer,
                                             const std::optional<HeldRing>& held,
                                             std::string_view domain, UnixSeconds now);

// Failover and backoff across several stekd servers. The agent stays on a server while it
// answers; a failure moves to the next server in configuration order at once, and only
// after a whole round of servers has failed does it wait, longer after each failed round.
class ServerRotation {
 public:
  ServerRotation(std::vector<std::string> servers, Backoff backoff);

  const std::string& current() const { return servers_[index_]; }
  std::size_t current_index() const { return index_; }
  int consecutive_failures() const { return failures_; }

  // A good answer (a new ring or 304): stay here, forget past failures.
  void on_success() { failures_ = 0; }
  // A failed attempt: moves to the next server and returns how long to wait before trying
  // it (zero while servers of the current round remain untried).
  std::chrono::milliseconds on_failure();

 private:
  std::vector<std::string> servers_;
  Backoff backoff_;
  std::size_t index_ = 0;
  int failures_ = 0;
};

}  // namespace stek::agent

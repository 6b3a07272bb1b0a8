// The split-brain guard (docs/operating.md, "Ring conflicts"): whether a ring a server answers
// can belong to the same history of key secrets as the ring this agent holds, and the alarm
// the agent raises while a server disagrees. Two stekds with separate state (or a store
// restored beside a live one) make different keys for one epoch and one ring version; an
// agent that failed over between them would otherwise hand its servers conflicting keys.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "api/ring_id.h"
#include "held_ring.h"
#include "ring_source.h"

namespace stek::agent {

// What in `answered` contradicts `held`, or nullopt when nothing does. A contradiction is:
//  - one ring version with another identity (other keys);
//  - a key name on another epoch or domain secret version;
//  - one epoch with two keys of one domain secret version (two secrets for one epoch);
//  - one epoch whose domain secret version went back in the newer ring (or forward in the
//    older one): versions only grow, by a secret rotation.
// The text names versions, epochs, key names and identities, never key bytes.
std::optional<std::string> find_conflict(const HeldRing& held, const HeldRing& answered);

// The same for an answer that states only a ring version and its identity (a 304): a
// conflict when the version is the held one and the identity differs.
std::optional<std::string> find_conflict(const HeldRing& held, std::uint64_t version,
                                         const api::RingId& id);

// The agent's ring-conflict alarm: which servers disagree with the held ring now, and how
// many conflicting answers were refused. Free of I/O but the log.
class ConflictWatch {
 public:
  // A conflict is logged again at most this often while it stays the same.
  static constexpr std::int64_t kRelogSeconds = 300;

  // One update of the ring source: a conflict raises the alarm for its server (logged at
  // error level, rate-limited); any other answer of that server clears it. `held_from`
  // names where the held ring came from.
  void observe(const RingUpdate& update, std::string_view held_from, UnixSeconds now);

  std::uint64_t total() const { return total_; }
  // "ring conflict: ..." naming every disagreeing server and where the held ring came from;
  // empty when none disagrees.
  std::string alarm() const;

 private:
  struct Entry {
    std::string text;
    UnixSeconds logged = 0;
  };
  std::map<std::string, Entry> alarms_;  // by server
  std::uint64_t total_ = 0;
};

}  // namespace stek::agent

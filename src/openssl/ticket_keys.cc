// TicketKeys: the published key snapshot, its time-driven re-derivation, and status.
#include "stek/openssl/ticket_keys.h"

#include <algorithm>
#include <limits>

#include <nlohmann/json.hpp>

#include "keys_state.h"

namespace stek::openssl {

namespace {

const Clock& default_clock() {
  static const SystemClock clock;
  return clock;
}

Random& default_random() {
  static SystemRandom random;  // stateless: RAND_bytes is thread-safe
  return random;
}

bool all_keys_have_epochs(const KeyRing& ring) {
  return std::all_of(ring.keys().begin(), ring.keys().end(),
                     [](const RingKey& k) { return k.meta.epoch.has_value(); });
}

Epoch newest_epoch(const KeyRing& ring) {
  Epoch e = std::numeric_limits<Epoch>::min();
  for (const RingKey& k : ring.keys()) e = std::max(e, *k.meta.epoch);
  return e;
}

Epoch oldest_epoch(const KeyRing& ring) {
  Epoch e = std::numeric_limits<Epoch>::max();
  for (const RingKey& k : ring.keys()) e = std::min(e, *k.meta.epoch);
  return e;
}

// The schedule that drives a ring's roles, if it can have one.
Result<std::optional<Schedule>> schedule_for(const KeyRing& ring,
                                             const std::optional<ScheduleParams>& fallback) {
  std::optional<ScheduleParams> params = ring.info().schedule ? ring.info().schedule : fallback;
  if (!params || !all_keys_have_epochs(ring)) return std::optional<Schedule>{};
  auto schedule = Schedule::make(*params);
  if (!schedule.ok()) return schedule.error().with_context("ring schedule");
  return std::optional<Schedule>{*schedule};
}

// Roles of `source` at `now` into snap. An error means no key encrypts now.
Status derive_into(const KeyRing& source, const std::optional<Schedule>& schedule, UnixSeconds now,
                   KeySnapshot& snap) {
  snap.derived_at = now;
  if (!schedule) {
    snap.ring = source.clone();  // roles as written; nothing rotates
    return {};
  }
  snap.schedule = schedule;
  snap.refresh_at = schedule->next_boundary(now);
  snap.keys_run_out_at = schedule->epoch_start(newest_epoch(source) + 1);
  auto roled = source.at(*schedule, now);
  if (!roled.ok()) {
    const Epoch e = schedule->epoch_at(now);
    return make_error(roled.error().code,
                      "no held key encrypts in epoch " + std::to_string(e) + " (held epochs " +
                          std::to_string(oldest_epoch(source)) + ".." +
                          std::to_string(newest_epoch(source)) +
                          "): full handshakes only until a new ring arrives; check stek-agent "
                          "and the clock");
  }
  snap.ring = std::move(roled).value();
  return {};
}

}  // namespace

TicketKeys::TicketKeys(KeysOptions options)
    : clock_(options.clock ? options.clock : &default_clock()),
      random_(options.random ? options.random : &default_random()),
      fallback_schedule_(options.fallback_schedule),
      state_(std::make_unique<State>()) {
  state_->current.store(std::make_shared<const KeySnapshot>());
}

TicketKeys::~TicketKeys() = default;

std::shared_ptr<const KeySnapshot> TicketKeys::snapshot() const {
  return state_->current.load();
}

Status TicketKeys::update(KeyRing source) {
  std::lock_guard lock(state_->mu);
  const UnixSeconds now = clock_->now();
  auto schedule = schedule_for(source, fallback_schedule_);
  Status result;
  if (!schedule.ok()) {
    result = schedule.error();
  } else {
    // Build the whole snapshot off to the side; publish only if it can encrypt now.
    auto snap = std::make_shared<KeySnapshot>();
    result = derive_into(source, *schedule, now, *snap);
    if (result.ok()) {
      snap->generation = ++state_->generation;
      state_->source = std::move(source);
      state_->loaded_at = now;
      state_->last_error.clear();
      state_->current.store(std::move(snap));
      return {};
    }
  }
  state_->last_error = "ring refused, previous keys kept: " + result.error().message;
  return result;
}

void TicketKeys::tick() {
  const auto snap = state_->current.load();
  if (!snap->refresh_at) return;
  const UnixSeconds now = clock_->now();
  if (now < *snap->refresh_at) return;
  std::lock_guard lock(state_->mu);
  rotate_locked(snap, now);
}

std::shared_ptr<const KeySnapshot> TicketKeys::current() {
  auto snap = state_->current.load();
  if (!snap->refresh_at) return snap;
  const UnixSeconds now = clock_->now();
  if (now < *snap->refresh_at) return snap;
  // A handshake never waits for a writer: if one is busy (a ring update, or another handshake
  // rotating), it publishes the same rotation or a newer ring in a moment.
  std::unique_lock lock(state_->mu, std::try_to_lock);
  if (!lock.owns_lock()) return snap;
  rotate_locked(snap, now);
  return state_->current.load();
}

// Publishes the roles at `now` unless another writer replaced `seen` meanwhile.
void TicketKeys::rotate_locked(const std::shared_ptr<const KeySnapshot>& seen, UnixSeconds now) {
  if (state_->current.load() != seen || !state_->source) return;  // another writer got here first
  auto next = std::make_shared<KeySnapshot>();
  auto schedule = schedule_for(*state_->source, fallback_schedule_);
  Status s = schedule.ok() ? derive_into(*state_->source, *schedule, now, *next)
                           : Status(schedule.error());
  if (!s.ok()) {
    state_->last_error = s.error().message;
    next->ring.reset();  // no encrypting key: stop issuing rather than extend an old key's life
  }
  next->generation = ++state_->generation;
  state_->current.store(std::move(next));
}

std::optional<std::chrono::milliseconds> TicketKeys::until_next_tick() const {
  const auto snap = state_->current.load();
  if (!snap->refresh_at) return std::nullopt;
  const UnixSeconds now = clock_->now();
  return std::chrono::milliseconds(std::max<std::int64_t>(0, *snap->refresh_at - now) * 1000);
}

KeyStatus TicketKeys::status() const {
  const auto snap = state_->current.load();
  KeyStatus s;
  const UnixSeconds now = clock_->now();
  if (snap->ring) {
    const KeyRing& ring = *snap->ring;
    s.has_keys = true;
    s.current_key = ring.encrypting().key.name_hex();
    s.current_epoch = ring.encrypting().meta.epoch;
    s.keys_held = ring.size();
    s.keys_decrypting = static_cast<std::size_t>(
        std::count_if(ring.keys().begin(), ring.keys().end(),
                      [](const RingKey& k) { return role_decrypts(k.meta.role); }));
    s.ring_version = ring.info().version;
  }
  if (snap->keys_run_out_at)
    s.runway_seconds = std::max<std::int64_t>(0, *snap->keys_run_out_at - now);
  s.generation = snap->generation;
  {
    std::lock_guard lock(state_->mu);
    s.loaded_at = state_->loaded_at;
    s.last_error = state_->last_error;
    s.source_present = state_->source_present;
  }
  const auto get = [](const std::atomic<std::uint64_t>& a) {
    return a.load(std::memory_order_relaxed);
  };
  s.counters.issued = get(state_->counters.issued);
  s.counters.not_issued = get(state_->counters.not_issued);
  s.counters.resumed = get(state_->counters.resumed);
  s.counters.renewed = get(state_->counters.renewed);
  s.counters.unknown_key = get(state_->counters.unknown_key);
  s.counters.invalid = get(state_->counters.invalid);
  s.counters.refused_psk_ke = get(state_->counters.refused_psk_ke);
  return s;
}

namespace detail {

void KeysAccess::report_source_error(TicketKeys& keys, const Error& error, bool source_present) {
  TicketKeys::State& st = *keys.state_;
  std::lock_guard lock(st.mu);
  st.last_error = error.message;
  st.source_present = source_present;
}

void KeysAccess::report_source_ok(TicketKeys& keys) {
  TicketKeys::State& st = *keys.state_;
  std::lock_guard lock(st.mu);
  st.source_present = true;
}

void KeysAccess::count(TicketKeys& keys, TicketResult result) {
  AtomicCounters& c = keys.state_->counters;
  std::atomic<std::uint64_t>* counter = nullptr;
  switch (result) {
    case TicketResult::ok:
      counter = &c.resumed;
      break;
    case TicketResult::renew:
      counter = &c.renewed;
      break;
    case TicketResult::unknown_key:
      counter = &c.unknown_key;
      break;
    case TicketResult::invalid:
      counter = &c.invalid;
      break;
  }
  if (counter != nullptr) counter->fetch_add(1, std::memory_order_relaxed);
}

void KeysAccess::count_issued(TicketKeys& keys, bool issued) {
  AtomicCounters& c = keys.state_->counters;
  (issued ? c.issued : c.not_issued).fetch_add(1, std::memory_order_relaxed);
}

void KeysAccess::count_refused_psk_ke(TicketKeys& keys) {
  keys.state_->counters.refused_psk_ke.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace detail

std::string key_status_json(const KeyStatus& s) {
  nlohmann::ordered_json j;
  j["has_keys"] = s.has_keys;
  j["current_key"] = s.current_key;
  j["current_epoch"] = s.current_epoch ? nlohmann::ordered_json(*s.current_epoch) : nullptr;
  j["keys_decrypting"] = s.keys_decrypting;
  j["keys_held"] = s.keys_held;
  j["runway_seconds"] = s.runway_seconds ? nlohmann::ordered_json(*s.runway_seconds) : nullptr;
  j["ring_version"] = s.ring_version;
  j["generation"] = s.generation;
  j["loaded_at"] = s.loaded_at ? nlohmann::ordered_json(*s.loaded_at) : nullptr;
  j["last_error"] = s.last_error;
  j["source_present"] = s.source_present;
  j["counters"] = {{"issued", s.counters.issued},
                   {"not_issued", s.counters.not_issued},
                   {"resumed", s.counters.resumed},
                   {"renewed", s.counters.renewed},
                   {"unknown_key", s.counters.unknown_key},
                   {"invalid", s.counters.invalid},
                   {"refused_psk_ke", s.counters.refused_psk_ke}};
  return j.dump();
}

}  // namespace stek::openssl

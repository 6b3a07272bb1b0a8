// The fleet's key schedule: creation, erasure, derivation, versions.
#include "key_service.h"

#include <algorithm>
#include <cstdlib>
#include <set>

#include <spdlog/spdlog.h>

#include "stek/derive.h"
#include "stek/formats.h"

#include "api/ring_id.h"
#include "host_scope.h"

namespace stek::server {

using nlohmann::json;

KeyService::KeyService(Schedule schedule, std::vector<std::string> domains, Store& store,
                       Random& random, AuditSink& audit, std::int64_t max_clock_step)
    : schedule_(schedule),
      served_(schedule),
      domains_(std::move(domains)),
      store_(store),
      random_(random),
      audit_(audit),
      guard_(max_clock_step) {}

namespace {
// A commit that loses the compare-and-swap this many times in a row gives up for this round
// (Errc::conflict); the next maintenance round starts afresh.
constexpr int kCommitAttempts = 8;
}  // namespace

Status KeyService::start(UnixSeconds now, std::optional<std::int64_t> elapsed_ms) {
  STEK_TRY(load());
  auto changed = maintain(now, elapsed_ms);
  if (!changed.ok()) return changed.error();
  return {};
}

Status KeyService::load() {
  auto state = store_.load();
  if (!state.ok()) return state.error();
  STEK_TRY(check_interval(*state, schedule_.params(), store_.describe()));
  state_ = std::move(state).value();
  loaded_ = true;
  guard_.restore(state_.trusted_time);
  spdlog::info("store {}: generation {}, {} epoch secrets, {} domains", store_.describe(),
               state_.generation, state_.epoch_secrets.size(), state_.domains.size());
  return {};
}

UnixSeconds KeyService::trusted_time(UnixSeconds now, std::optional<std::int64_t> elapsed_ms) {
  const bool was_alarmed = guard_.alarmed();
  const UnixSeconds t = guard_.observe(now, elapsed_ms);
  if (guard_.alarmed() && !was_alarmed) {
    spdlog::error(
        "clock step refused: the wall clock is {} s {} the trusted time (bound {} s); keeping "
        "epoch {} and every secret live then until the clock is right again",
        std::abs(guard_.offset()), guard_.offset() > 0 ? "ahead of" : "behind", guard_.max_step(),
        schedule_.epoch_at(t));
  } else if (!guard_.alarmed() && was_alarmed) {
    spdlog::warn("clock is back within {} s of the trusted time; epoch {}", guard_.max_step(),
                 schedule_.epoch_at(t));
  } else if (t > now) {
    spdlog::warn("clock is {} s behind the trusted time; keeping epoch {}", t - now,
                 schedule_.epoch_at(t));
  }
  return t;
}

void KeyService::mark_maintained(UnixSeconds t) {
  maintained_ = true;
  maintained_at_ = t;
  epoch_ = schedule_.epoch_at(t);
  // The configured schedule validated, so did the wider one (each bound holds for both).
  auto served = Schedule::make(effective_schedule(schedule_.params(), state_.previous_schedule, t));
  served_ = served.ok() ? *served : schedule_;
}

namespace {
json schedule_fields(const ScheduleParams& p) {
  return {{"interval", p.interval}, {"history", p.history}, {"lookahead", p.lookahead}};
}
}  // namespace

void KeyService::record_schedule(StoreState& next, UnixSeconds t, std::vector<json>& events) const {
  const ScheduleParams& configured = schedule_.params();
  const bool legacy = !next.schedule;
  // A state of an earlier release records none: what its epochs show it was made under.
  const ScheduleParams recorded = legacy ? inferred_schedule(next, configured, t) : *next.schedule;
  const std::optional<Epoch> newest =
      next.epoch_secrets.empty() ? std::nullopt
                                 : std::optional<Epoch>(next.epoch_secrets.rbegin()->first);
  const bool changed =
      recorded.history != configured.history || recorded.lookahead != configured.lookahead;
  std::optional<PreviousSchedule> previous =
      changed ? transition_after_change(recorded, next.previous_schedule, configured, newest, t)
              : transition_after_change(configured, next.previous_schedule, configured, newest, t);
  if (legacy || changed) {
    json ev = {{"event", legacy ? "schedule_recorded" : "schedule_changed"},
               {"schedule", schedule_fields(configured)}};
    if (changed) ev["previous"] = schedule_fields(recorded);
    if (previous) {
      ev["transition"] = schedule_fields(previous->params);
      ev["keys_kept_until"] = previous->live_until;
    }
    events.push_back(std::move(ev));
    if (changed) {
      spdlog::warn(
          "schedule changed: history {} -> {}, lookahead {} -> {}; {}", recorded.history,
          configured.history, recorded.lookahead, configured.lookahead,
          previous ? "every key live under either schedule is kept and served until unix time " +
                         std::to_string(previous->live_until) + " (history " +
                         std::to_string(previous->params.history) + ", lookahead " +
                         std::to_string(previous->params.lookahead) + ")"
                   : std::string("the new schedule keeps every key the old one would"));
    }
  } else if (next.previous_schedule && !previous) {
    events.push_back({{"event", "schedule_transition_ended"},
                      {"previous", schedule_fields(next.previous_schedule->params)},
                      {"keys_kept_until", next.previous_schedule->live_until},
                      {"schedule", schedule_fields(configured)}});
  }
  next.schedule = configured;
  next.previous_schedule = previous;
}

const DomainSecret* KeyService::secret_for(const std::string& domain, Epoch e) const {
  auto it = state_.domains.find(domain);
  if (it == state_.domains.end()) return nullptr;
  const DomainSecret* best = nullptr;
  for (const DomainSecret& v : it->second) {
    if (v.start_epoch <= e && (best == nullptr || v.version > best->version)) best = &v;
  }
  return best;
}

Result<bool> KeyService::maintain(UnixSeconds now, std::optional<std::int64_t> elapsed_ms) {
  // Without start(), decide on the stored state, never on an empty one.
  if (!loaded_) STEK_TRY(load());
  const UnixSeconds t = trusted_time(now, elapsed_ms);
  for (int attempt = 0; attempt < kCommitAttempts; ++attempt) {
    const Epoch e = schedule_.epoch_at(t);
    StoreState next = state_.clone();
    next.trusted_time = std::max(next.trusted_time, t);
    std::vector<json> events;
    // Before any secret is made or erased: a change of schedule keeps the old one's keys.
    record_schedule(next, t, events);
    const ScheduleParams kept = effective_schedule(schedule_.params(), next.previous_schedule, t);
    const Epoch oldest = e - kept.history;

    // Epochs below the oldest one held were erased (or were never needed): making one again
    // would give an epoch a second secret (a clock stepped back across a restart).
    const std::optional<Epoch> oldest_held =
        next.epoch_secrets.empty() ? std::nullopt
                                   : std::optional<Epoch>(next.epoch_secrets.begin()->first);
    for (Epoch k = e; k <= e + schedule_.lookahead(); ++k) {
      if (next.epoch_secrets.count(k) != 0 || (oldest_held && k < *oldest_held)) continue;
      STEK_ASSIGN_OR_RETURN(SecretBytes g, random_secret(random_, kEpochSecretSize));
      next.epoch_secrets.emplace(k, std::move(g));
      events.push_back({{"event", "epoch_secret_created"}, {"epoch", k}});
    }
    for (auto it = next.epoch_secrets.begin();
         it != next.epoch_secrets.end() && it->first < oldest;) {
      events.push_back({{"event", "epoch_secret_erased"}, {"epoch", it->first}});
      it = next.epoch_secrets.erase(it);  // SecretBytes wipes itself
    }
    for (const std::string& d : domains_) {
      auto& versions = next.domains[d];
      if (versions.empty()) {
        // Above every version an earlier state or a dropped domain used (StoreState).
        if (next.secret_version_base >= api::RingVersion::kMaxSecretVersion)
          return make_error(Errc::unsupported, "domain secret version limit reached");
        const std::uint32_t first = next.secret_version_base + 1;
        STEK_ASSIGN_OR_RETURN(SecretBytes s, random_secret(random_, kDomainSecretSize));
        versions.push_back({first, kAllEpochs, std::move(s)});
        events.push_back(
            {{"event", "domain_secret_created"}, {"domain", d}, {"secret_version", first}});
      }
    }
    for (auto it = next.domains.begin(); it != next.domains.end();) {
      const bool configured =
          std::find(domains_.begin(), domains_.end(), it->first) != domains_.end();
      if (!configured) {
        for (const DomainSecret& v : it->second) {
          next.secret_version_base = std::max(next.secret_version_base, v.version);
          events.push_back({{"event", "domain_secret_erased"},
                            {"domain", it->first},
                            {"secret_version", v.version},
                            {"reason", "domain no longer configured"}});
        }
        it = next.domains.erase(it);
        continue;
      }
      // Keep the versions live epochs use, and the newest.
      std::set<std::uint32_t> needed{it->second.back().version};
      for (const auto& [k, g] : next.epoch_secrets) {
        const DomainSecret* best = nullptr;
        for (const DomainSecret& v : it->second) {
          if (v.start_epoch <= k && (best == nullptr || v.version > best->version)) best = &v;
        }
        if (best != nullptr) needed.insert(best->version);
      }
      auto& versions = it->second;
      for (auto v = versions.begin(); v != versions.end();) {
        if (needed.count(v->version) == 0) {
          events.push_back({{"event", "domain_secret_erased"},
                            {"domain", it->first},
                            {"secret_version", v->version},
                            {"reason", "no live epoch uses it"}});
          v = versions.erase(v);
        } else {
          ++v;
        }
      }
      ++it;
    }

    if (events.empty()) {
      mark_maintained(t);
      return false;
    }
    auto committed = commit(std::move(next), events);
    if (!committed.ok()) return committed.error();
    if (*committed) {
      mark_maintained(t);
      return true;
    }
    // Another writer came first: take its state and decide again.
    STEK_ASSIGN_OR_RETURN(state_, store_.load());
  }
  return make_error(Errc::conflict, store_.describe() + " changed under every one of " +
                                        std::to_string(kCommitAttempts) +
                                        " attempts; maintenance gives up this round");
}

Result<bool> KeyService::refresh(UnixSeconds now, std::optional<std::int64_t> elapsed_ms,
                                 bool reload) {
  bool changed = false;
  if (reload || !loaded_) {
    STEK_ASSIGN_OR_RETURN(StoreState state, store_.load());
    if (!loaded_ || state.generation != state_.generation) {
      STEK_TRY(check_interval(state, schedule_.params(), store_.describe()));
      state_ = std::move(state);
      loaded_ = true;
      guard_.restore(state_.trusted_time);
      documents_.clear();
      changed = true;
    }
  }
  const Epoch before = epoch_;
  mark_maintained(trusted_time(now, elapsed_ms));
  return changed || epoch_ != before;
}

Result<bool> KeyService::commit(StoreState next, const std::vector<json>& events) {
  next.generation = state_.generation + 1;
  // Audit first: a change that cannot be audited is not made. Each line names the generation
  // it belongs to; a commit that then does not happen is audited as such when it can be.
  for (const json& ev : events) {
    json fields = ev;
    const std::string name = fields["event"].get<std::string>();
    fields.erase("event");
    fields["generation"] = next.generation;
    if (auto audited = audit_.record(name, std::move(fields)); !audited.ok()) {
      return audited.error().with_context("nothing changed");
    }
  }
  auto stored = store_.commit(next, state_.generation);
  if (!stored.ok() || !*stored) {
    (void)audit_.record("commit_not_done",
                        {{"generation", next.generation},
                         {"reason", stored.ok() ? "store changed" : stored.error().message}});
    if (!stored.ok()) return stored.error();
    return false;
  }
  state_ = std::move(next);
  documents_.clear();
  for (const json& ev : events) {
    const std::string name = ev["event"].get<std::string>();
    if (name.find("erased") != std::string::npos) ++erasures_;
    spdlog::info("{} {}", name, ev.dump());
  }
  return true;
}

Result<std::uint32_t> KeyService::rotate_domain_secret(const std::string& domain, UnixSeconds now,
                                                       const std::string& actor) {
  if (!has_domain(domain))
    return make_error(Errc::not_found, "domain " + domain + " is not configured");
  if (!loaded_) STEK_TRY(load());
  // A rotation does not advance time: it keeps the time maintenance last trusted.
  const UnixSeconds trusted = guard_.trusted().value_or(now);
  for (int attempt = 0; attempt < kCommitAttempts; ++attempt) {
    StoreState next = state_.clone();
    next.trusted_time = std::max(next.trusted_time, trusted);
    auto& versions = next.domains[domain];
    const std::uint32_t old = versions.empty() ? next.secret_version_base : versions.back().version;
    if (old >= api::RingVersion::kMaxSecretVersion)
      return make_error(Errc::unsupported, "domain secret version limit reached");
    STEK_ASSIGN_OR_RETURN(SecretBytes s, random_secret(random_, kDomainSecretSize));
    std::vector<json> events;
    for (const DomainSecret& v : versions) {
      events.push_back({{"event", "domain_secret_erased"},
                        {"domain", domain},
                        {"secret_version", v.version},
                        {"reason", "compromise rotation"},
                        {"actor", actor}});
    }
    versions.clear();
    versions.push_back({old + 1, kAllEpochs, std::move(s)});
    events.insert(events.begin(), json{{"event", "domain_secret_rotated"},
                                       {"domain", domain},
                                       {"secret_version", old + 1},
                                       {"mode", "compromise"},
                                       {"actor", actor}});
    STEK_ASSIGN_OR_RETURN(bool stored, commit(std::move(next), events));
    if (stored) {
      mark_maintained(trusted);
      return old + 1;
    }
    STEK_ASSIGN_OR_RETURN(state_, store_.load());
  }
  return make_error(Errc::conflict, store_.describe() + " changed under every one of " +
                                        std::to_string(kCommitAttempts) +
                                        " attempts; rotation not done, try again");
}

bool KeyService::has_domain(const std::string& domain) const {
  return std::find(domains_.begin(), domains_.end(), domain) != domains_.end();
}

std::uint32_t KeyService::secret_version(const std::string& domain) const {
  auto it = state_.domains.find(domain);
  if (it == state_.domains.end() || it->second.empty()) return 0;
  return it->second.back().version;
}

std::uint64_t KeyService::ring_version(const std::string& domain) const {
  // Epochs (Unix time / interval) stay far below RingVersion::kMaxEpoch, and rotation stops
  // at kMaxSecretVersion, so make() cannot refuse here.
  auto version = api::RingVersion::make(epoch_, secret_version(domain));
  return version.ok() ? version->wire() : 0;
}

bool KeyService::per_host(const std::string& domain) const {
  return std::find(per_host_.begin(), per_host_.end(), domain) != per_host_.end();
}

Result<KeyRing> KeyService::ring(const std::string& domain, const std::string& host) const {
  if (!has_domain(domain))
    return make_error(Errc::not_found, "domain " + domain + " is not configured");
  STEK_ASSIGN_OR_RETURN(const std::string derived,
                        derivation_domain(domain, host, per_host(domain)));
  std::vector<RingKey> keys;
  const EpochRange window = served_.held_window(maintained_at_);
  for (auto it = state_.epoch_secrets.rbegin(); it != state_.epoch_secrets.rend(); ++it) {
    const Epoch k = it->first;
    if (!window.contains(k)) continue;
    const DomainSecret* d = secret_for(domain, k);
    if (d == nullptr) continue;
    STEK_ASSIGN_OR_RETURN(TicketKey key,
                          derive_ticket_key(d->secret.view(), it->second.view(), derived, k));
    KeyMeta meta;
    meta.role = served_.role(k, maintained_at_);
    meta.domain = domain;
    meta.epoch = k;
    meta.not_before = served_.not_before(k);
    meta.not_after = served_.not_after(k);
    meta.secret_version = d->version;
    keys.push_back({std::move(key), std::move(meta)});
  }
  RingInfo info;
  // During a transition, the wider schedule: hosts then keep the old schedule's keys too.
  info.schedule = served_.params();
  info.generated_at = maintained_at_;
  info.version = ring_version(domain);
  // What names this version's keys for agents (api/ring_id.h); no key byte goes into it.
  STEK_ASSIGN_OR_RETURN(api::RingId id, api::RingId::of(domain, info.version, keys));
  info.id = api::to_string(id);
  return KeyRing::make(std::move(keys), info);
}

std::vector<std::uint32_t> KeyService::ring_secret_versions(const std::string& domain) const {
  std::set<std::uint32_t> versions;
  const EpochRange window = served_.held_window(maintained_at_);
  for (const auto& [k, g] : state_.epoch_secrets) {
    if (!window.contains(k)) continue;
    if (const DomainSecret* d = secret_for(domain, k)) versions.insert(d->version);
  }
  return {versions.begin(), versions.end()};
}

Result<std::shared_ptr<const SecretBytes>> KeyService::ring_document(const std::string& domain,
                                                                     const std::string& host) {
  const std::uint64_t version = ring_version(domain);
  STEK_ASSIGN_OR_RETURN(const std::string derived,
                        derivation_domain(domain, host, per_host(domain)));
  auto it = documents_.find(derived);
  if (it != documents_.end() && it->second.first == version) return it->second.second;
  STEK_ASSIGN_OR_RETURN(KeyRing r, ring(domain, host));
  STEK_ASSIGN_OR_RETURN(SecretBytes doc, write_key_file(Format::json, r, {maintained_at_}));
  auto shared = std::make_shared<const SecretBytes>(std::move(doc));
  documents_[derived] = {version, shared};
  return shared;
}

std::optional<EpochRange> KeyService::epochs_held() const {
  if (state_.epoch_secrets.empty()) return std::nullopt;
  return EpochRange{state_.epoch_secrets.begin()->first, state_.epoch_secrets.rbegin()->first};
}

bool KeyService::healthy(UnixSeconds now) const {
  if (!loaded_) return false;
  // Judged at the trusted time: a refused clock step does not stop the service (the clock
  // alarm is reported on its own, clock_guard()).
  const std::optional<UnixSeconds> trusted = guard_.trusted();
  const UnixSeconds t = trusted && (guard_.alarmed() || now < *trusted) ? *trusted : now;
  return state_.epoch_secrets.count(schedule_.epoch_at(t)) != 0;
}

}  // namespace stek::server

// Sealed state file. Layout (docs/operating.md, "State file"):
//   {"stek_state": 1, "kek_id": "<hex>", "generation": N, ["secret_version_base": B,]
//    "records": [{"kind": "epoch", "epoch": e, "sealed": b64},
//                {"kind": "domain", "domain": d, "version": v, "start_epoch": s, "sealed": b64}],
//    "trusted_time": T, ["schedule": {"interval": I, "history": H, "lookahead": L},]
//    ["previous_schedule": {"interval": I, "history": H, "lookahead": L, "live_until": T},]
//    "manifest": b64}
// Each record's associated data is its own metadata (kind, epoch / domain, version, start),
// and the manifest seals the generation, the version base (when not 0), the list of record
// identities, the trusted time (when not 0) and the schedules (when recorded). Files of
// earlier releases have no schedule: they are read as such.
#include "file_store.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <sys/file.h>
#include <unistd.h>

#include "stek/bytes.h"
#include "stek/file.h"

#include "leftovers.h"

namespace stek::server {

namespace {

using nlohmann::json;
constexpr int kStateFormat = 1;

std::string epoch_aad(Epoch e) {
  return "stek/state/v1 epoch " + std::to_string(e);
}

std::string domain_aad(const std::string& domain, std::uint32_t version, Epoch start) {
  // JSON-escape the domain so no domain id can forge another record's identity.
  return "stek/state/v1 domain " + json(domain).dump() + " " + std::to_string(version) + " " +
         std::to_string(start);
}

json schedule_json(const ScheduleParams& p) {
  return {{"interval", p.interval}, {"history", p.history}, {"lookahead", p.lookahead}};
}

json previous_json(const PreviousSchedule& p) {
  json j = schedule_json(p.params);
  j["live_until"] = p.live_until;
  return j;
}

std::string manifest_text(const StoreState& s, const std::vector<std::string>& ids) {
  json m = {{"generation", s.generation}, {"records", ids}};
  if (s.secret_version_base != 0) m["secret_version_base"] = s.secret_version_base;
  // Sealed with the rest; absent when 0 or unset, so files written before they existed
  // still verify (and a schedule cannot be altered or dropped unnoticed).
  if (s.trusted_time != 0) m["trusted_time"] = s.trusted_time;
  if (s.schedule) m["schedule"] = schedule_json(*s.schedule);
  if (s.previous_schedule) m["previous_schedule"] = previous_json(*s.previous_schedule);
  return m.dump();
}

// The highest domain secret version `s` has used: what a state made anew must start above.
std::uint32_t highest_secret_version(const StoreState& s) {
  std::uint32_t high = s.secret_version_base;
  for (const auto& [d, versions] : s.domains)
    for (const DomainSecret& v : versions) high = std::max(high, v.version);
  return high;
}

// How to get out of a refused state, in every message that refuses one.
constexpr const char* kStartAnew =
    "Put the newest state file back; if there is none, move this one away and start stekd once "
    "with --init: it makes new secrets (every ticket stops resuming once) under ring versions "
    "above the old ones (docs/operating.md, \"Backups and restarts\")";

std::string b64(ByteView bytes) {
  SecretBytes t = to_base64(bytes);  // ciphertext: not secret, but the codec returns SecretBytes
  return std::string(as_chars(t.view()));
}

Result<Bytes> unb64(const json& v, const std::string& what) {
  if (!v.is_string()) return make_error(Errc::bad_format, what + " is not a string");
  auto bytes = from_base64(v.get<std::string>());
  if (!bytes.ok()) return bytes.error().with_context(what);
  return Bytes(bytes->data(), bytes->data() + bytes->size());
}

template <class T>
Result<T> field(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end())
    return make_error(Errc::bad_format, std::string("field \"") + name + "\" is missing");
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    return make_error(Errc::bad_format, std::string("field \"") + name + "\" has the wrong type");
  }
}

Result<ScheduleParams> parse_schedule(const json& j) {
  if (!j.is_object()) return make_error(Errc::bad_format, "schedule is not an object");
  ScheduleParams p;
  STEK_ASSIGN_OR_RETURN(p.interval, field<std::int64_t>(j, "interval"));
  STEK_ASSIGN_OR_RETURN(p.history, field<std::int64_t>(j, "history"));
  STEK_ASSIGN_OR_RETURN(p.lookahead, field<std::int64_t>(j, "lookahead"));
  if (auto valid = Schedule::make(p); !valid.ok()) return valid.error();
  return p;
}

}  // namespace

StoreState StoreState::clone() const {
  StoreState s;
  s.generation = generation;
  s.secret_version_base = secret_version_base;
  s.trusted_time = trusted_time;
  s.schedule = schedule;
  s.previous_schedule = previous_schedule;
  for (const auto& [e, g] : epoch_secrets) s.epoch_secrets.emplace(e, g.clone());
  for (const auto& [d, versions] : domains) {
    auto& out = s.domains[d];
    for (const DomainSecret& v : versions) out.push_back(v.clone());
  }
  return s;
}

FileStore::FileStore(std::filesystem::path path, Kek kek, Random& random, FileStoreOptions options)
    : path_(std::move(path)),
      kek_(std::move(kek)),
      random_(random),
      options_(std::move(options)),
      counter_(options_.generation_file, kek_, random_) {}

Result<StoreState> FileStore::load() {
  std::lock_guard lock(mu_);
  return read_locked();
}

Result<StoreState> FileStore::read_locked() {
  auto rolled_back = [&](std::uint64_t found) {
    return make_error(Errc::rollback, path_.string() + ": state file went back from generation " +
                                          std::to_string(seen_generation_) + " to " +
                                          std::to_string(found) +
                                          " (an old copy restored?); refusing it, because it may "
                                          "bring back erased secrets. " +
                                          kStartAnew);
  };
  std::error_code ec;
  const bool exists = std::filesystem::exists(std::filesystem::symlink_status(path_, ec));
  if (!exists) {
    if (seen_generation_ > 0) return rolled_back(0);
    STEK_ASSIGN_OR_RETURN(std::optional<HighWaterMark> mark, counter_.read());
    if (mark) {
      if (!options_.init) {
        return make_error(Errc::rollback,
                          path_.string() + ": state file is missing, but generation " +
                              std::to_string(mark->generation) + " was committed (counter " +
                              counter_.path().string() +
                              "): it was deleted or moved; stekd will not start afresh by "
                              "itself. " +
                              kStartAnew);
      }
      // Numbered on from the lost state: generations and secret versions never repeat.
      StoreState fresh;
      fresh.generation = mark->generation;
      fresh.secret_version_base = mark->secret_version;
      return fresh;
    }
    if (!options_.init) {
      return make_error(Errc::not_found, path_.string() +
                                             ": no state file. On the first start, run stekd once "
                                             "with --init to make one; otherwise put it back (it "
                                             "was deleted or moved)");
    }
    return StoreState{};
  }
  if (options_.init && seen_generation_ == 0) {
    return make_error(Errc::invalid_argument, path_.string() +
                                                  ": --init makes a new state, but this state file "
                                                  "exists; start stekd without --init");
  }
  STEK_ASSIGN_OR_RETURN(StoreState state, read_file_locked());
  if (state.generation < seen_generation_) return rolled_back(state.generation);
  STEK_ASSIGN_OR_RETURN(std::optional<HighWaterMark> mark, counter_.read());
  // A file newer than the mark is the commit a crash cut off before the counter was written
  // (or a counter restored from an old backup): it cannot be forged without the KEK.
  if (mark && state.generation < mark->generation) {
    return make_error(Errc::rollback,
                      path_.string() + ": state file is at generation " +
                          std::to_string(state.generation) + ", but generation " +
                          std::to_string(mark->generation) + " was committed (counter " +
                          counter_.path().string() +
                          "): it is an older copy (a restored backup?) and would bring back "
                          "secrets erased since, such as a domain secret replaced after a "
                          "compromise; refusing it. " +
                          kStartAnew);
  }
  seen_generation_ = state.generation;
  return state;
}

Result<StoreState> FileStore::read_file_locked() {
  STEK_ASSIGN_OR_RETURN(SecretBytes raw, read_file(path_, 64 << 20));
  json doc = json::parse(raw.view().begin(), raw.view().end(), nullptr, false);
  auto damaged = [&](const std::string& why) {
    return make_error(Errc::integrity,
                      path_.string() + ": state file is damaged (" + why +
                          "); refusing to start rather than make new keys. "
                          "Put the newest copy back; if there is none, move it away and "
                          "start stekd once with --init");
  };
  if (doc.is_discarded() || !doc.is_object()) return damaged("not valid JSON");
  auto format = field<int>(doc, "stek_state");
  if (!format.ok() || *format != kStateFormat) return damaged("not a stek state file of format 1");
  auto kek_id = field<std::string>(doc, "kek_id");
  if (!kek_id.ok()) return damaged(kek_id.error().message);
  if (*kek_id != kek_.id) {
    return make_error(Errc::integrity,
                      path_.string() + ": state file was sealed with another KEK (id " + *kek_id +
                          "; the configured KEK has id " + kek_.id + ")");
  }
  auto generation = field<std::uint64_t>(doc, "generation");
  if (!generation.ok()) return damaged(generation.error().message);
  StoreState state;
  state.generation = *generation;
  if (doc.contains("secret_version_base")) {
    auto base = field<std::uint32_t>(doc, "secret_version_base");
    if (!base.ok()) return damaged(base.error().message);
    state.secret_version_base = *base;
  }
  if (doc.contains("trusted_time")) {
    auto trusted = field<UnixSeconds>(doc, "trusted_time");
    if (!trusted.ok()) return damaged(trusted.error().message);
    state.trusted_time = *trusted;
  }
  if (doc.contains("schedule")) {
    auto schedule = parse_schedule(doc["schedule"]);
    if (!schedule.ok()) return damaged("schedule: " + schedule.error().message);
    state.schedule = *schedule;
  }
  if (doc.contains("previous_schedule")) {
    const json& p = doc["previous_schedule"];
    auto schedule = parse_schedule(p);
    if (!schedule.ok()) return damaged("previous_schedule: " + schedule.error().message);
    auto until = p.is_object() ? field<UnixSeconds>(p, "live_until")
                               : Result<UnixSeconds>(make_error(Errc::bad_format, "not an object"));
    if (!until.ok()) return damaged("previous_schedule: " + until.error().message);
    state.previous_schedule = PreviousSchedule{*schedule, *until};
  }
  std::vector<std::string> ids;
  auto records = doc.find("records");
  if (records == doc.end() || !records->is_array()) return damaged("no record list");
  for (const json& r : *records) {
    auto kind = field<std::string>(r, "kind");
    if (!kind.ok()) return damaged(kind.error().message);
    auto sealed = unb64(r.value("sealed", json()), "sealed");
    if (!sealed.ok()) return damaged(sealed.error().message);
    std::string aad;
    if (*kind == "epoch") {
      auto e = field<Epoch>(r, "epoch");
      if (!e.ok()) return damaged(e.error().message);
      aad = epoch_aad(*e);
      auto secret = unseal(kek_, *sealed, aad);
      if (!secret.ok())
        return damaged("epoch " + std::to_string(*e) + ": " + secret.error().message);
      state.epoch_secrets.emplace(*e, std::move(secret).value());
    } else if (*kind == "domain") {
      auto d = field<std::string>(r, "domain");
      auto v = field<std::uint32_t>(r, "version");
      auto s = field<Epoch>(r, "start_epoch");
      if (!d.ok() || !v.ok() || !s.ok()) return damaged("domain record fields");
      aad = domain_aad(*d, *v, *s);
      auto secret = unseal(kek_, *sealed, aad);
      if (!secret.ok()) return damaged("domain " + *d + ": " + secret.error().message);
      state.domains[*d].push_back({*v, *s, std::move(secret).value()});
    } else {
      return damaged("unknown record kind " + *kind);
    }
    ids.push_back(aad);
  }
  auto manifest = unb64(doc.value("manifest", json()), "manifest");
  if (!manifest.ok()) return damaged(manifest.error().message);
  auto listed = unseal(kek_, *manifest, "stek/state/v1 manifest");
  if (!listed.ok()) return damaged("manifest: " + listed.error().message);
  if (as_chars(listed->view()) != manifest_text(state, ids)) {
    return damaged("records do not match the sealed manifest");
  }
  for (auto& [d, versions] : state.domains) {
    std::sort(versions.begin(), versions.end(),
              [](const DomainSecret& a, const DomainSecret& b) { return a.version < b.version; });
  }
  return state;
}

Result<int> FileStore::lock() {
  // An advisory lock on a sibling file serialises writers in other processes.
  std::filesystem::path lock_path = path_;
  lock_path += ".lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(Errc::io, lock_path.string() + ": cannot open lock file");
  const auto deadline = std::chrono::steady_clock::now() + options_.lock_wait;
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err != EWOULDBLOCK && err != EINTR) {
      ::close(fd);
      return make_error(Errc::io, lock_path.string() + ": cannot lock: " + std::strerror(err));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::close(fd);
      return make_error(Errc::conflict,
                        lock_path.string() + ": another process holds the lock (waited " +
                            std::to_string(options_.lock_wait.count()) + " ms); commit not done");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return fd;
}

namespace {
struct Unlock {
  int fd;
  ~Unlock() { ::close(fd); }
};
}  // namespace

Result<std::size_t> FileStore::remove_leftovers() {
  std::lock_guard guard(mu_);
  STEK_ASSIGN_OR_RETURN(int fd, lock());
  Unlock unlock{fd};
  STEK_ASSIGN_OR_RETURN(std::size_t state_files, remove_temp_leftovers(path_));
  STEK_ASSIGN_OR_RETURN(std::size_t counter_files, remove_temp_leftovers(counter_.path()));
  return state_files + counter_files;
}

Result<bool> FileStore::commit(const StoreState& next, std::uint64_t expected) {
  std::lock_guard guard(mu_);
  if (next.generation != expected + 1) {
    return make_error(Errc::invalid_argument, "commit must advance the generation by one");
  }
  // Under the lock, the generation check makes the write a compare-and-swap.
  STEK_ASSIGN_OR_RETURN(int fd, lock());
  Unlock unlock{fd};
  STEK_ASSIGN_OR_RETURN(StoreState current, read_locked());
  // Older than what the caller last saw: an old copy was put back, not a concurrent write.
  if (current.generation < expected) {
    return make_error(Errc::rollback, path_.string() + ": state file is at generation " +
                                          std::to_string(current.generation) +
                                          ", older than generation " + std::to_string(expected) +
                                          " read before; refusing to commit over it");
  }
  if (current.generation != expected) return false;
  STEK_TRY(write_locked(next));
  return true;
}

Status FileStore::write_locked(const StoreState& next) {
  json records = json::array();
  std::vector<std::string> ids;
  for (const auto& [e, g] : next.epoch_secrets) {
    const std::string aad = epoch_aad(e);
    STEK_ASSIGN_OR_RETURN(Bytes sealed, seal(kek_, g.view(), aad, random_));
    records.push_back({{"kind", "epoch"}, {"epoch", e}, {"sealed", b64(sealed)}});
    ids.push_back(aad);
  }
  for (const auto& [d, versions] : next.domains) {
    for (const DomainSecret& v : versions) {
      const std::string aad = domain_aad(d, v.version, v.start_epoch);
      STEK_ASSIGN_OR_RETURN(Bytes sealed, seal(kek_, v.secret.view(), aad, random_));
      records.push_back({{"kind", "domain"},
                         {"domain", d},
                         {"version", v.version},
                         {"start_epoch", v.start_epoch},
                         {"sealed", b64(sealed)}});
      ids.push_back(aad);
    }
  }
  const std::string manifest = manifest_text(next, ids);
  STEK_ASSIGN_OR_RETURN(Bytes sealed_manifest,
                        seal(kek_, as_bytes(manifest), "stek/state/v1 manifest", random_));
  json doc = {{"stek_state", kStateFormat},        {"kek_id", kek_.id},
              {"generation", next.generation},     {"records", std::move(records)},
              {"trusted_time", next.trusted_time}, {"manifest", b64(sealed_manifest)}};
  if (next.secret_version_base != 0) doc["secret_version_base"] = next.secret_version_base;
  if (next.schedule) doc["schedule"] = schedule_json(*next.schedule);
  if (next.previous_schedule) doc["previous_schedule"] = previous_json(*next.previous_schedule);
  const std::string text = doc.dump(1) + "\n";
  ReplacedFile replaced(path_);
  STEK_TRY(write_file_atomic(path_, as_bytes(text), 0600));
  seen_generation_ = next.generation;
  // The replaced file held secrets this commit may have erased: zero it now that the new
  // one is durable.
  replaced.wipe();
  // Only after the state file: see the class comment for why this order is crash safe.
  if (auto raised = counter_.write({next.generation, highest_secret_version(next)}); !raised.ok()) {
    return make_error(Errc::io, path_.string() + ": generation " + std::to_string(next.generation) +
                                    " is committed, but the generation counter was not raised (" +
                                    raised.error().message +
                                    "); old copies of the state file go undetected until it is");
  }
  return {};
}

}  // namespace stek::server

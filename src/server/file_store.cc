// Sealed state file. Layout (docs/operating.md, "State file"):
//   {"stek_state": 1, "kek_id": "<hex>", "generation": N,
//    "records": [{"kind": "epoch", "epoch": e, "sealed": b64},
//                {"kind": "domain", "domain": d, "version": v, "start_epoch": s, "sealed": b64}],
//    "trusted_time": T, "manifest": b64}
// Each record's associated data is its own metadata (kind, epoch / domain, version, start),
// and the manifest seals the generation, the list of record identities and the trusted time.
#include "file_store.h"

#include <cerrno>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <sys/file.h>
#include <unistd.h>

#include "stek/bytes.h"
#include "stek/file.h"

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

std::string manifest_text(std::uint64_t generation, const std::vector<std::string>& ids,
                          UnixSeconds trusted_time) {
  json m = {{"generation", generation}, {"records", ids}};
  // Sealed with the rest; absent when 0, so files written before it existed still verify.
  if (trusted_time != 0) m["trusted_time"] = trusted_time;
  return m.dump();
}

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

}  // namespace

StoreState StoreState::clone() const {
  StoreState s;
  s.generation = generation;
  s.trusted_time = trusted_time;
  for (const auto& [e, g] : epoch_secrets) s.epoch_secrets.emplace(e, g.clone());
  for (const auto& [d, versions] : domains) {
    auto& out = s.domains[d];
    for (const DomainSecret& v : versions) out.push_back(v.clone());
  }
  return s;
}

FileStore::FileStore(std::filesystem::path path, Kek kek, Random& random,
                     std::chrono::milliseconds lock_wait)
    : path_(std::move(path)), kek_(std::move(kek)), random_(random), lock_wait_(lock_wait) {}

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
                                          "bring back erased secrets");
  };
  std::error_code ec;
  if (!std::filesystem::exists(path_, ec)) {
    if (seen_generation_ > 0) return rolled_back(0);
    return StoreState{};
  }
  STEK_ASSIGN_OR_RETURN(SecretBytes raw, read_file(path_, 64 << 20));
  json doc = json::parse(raw.view().begin(), raw.view().end(), nullptr, false);
  auto damaged = [&](const std::string& why) {
    return make_error(Errc::integrity,
                      path_.string() + ": state file is damaged (" + why +
                          "); refusing to start rather than make new keys. "
                          "Restore it from a backup or move it away to start afresh");
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
  if (doc.contains("trusted_time")) {
    auto trusted = field<UnixSeconds>(doc, "trusted_time");
    if (!trusted.ok()) return damaged(trusted.error().message);
    state.trusted_time = *trusted;
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
  if (as_chars(listed->view()) != manifest_text(state.generation, ids, state.trusted_time)) {
    return damaged("records do not match the sealed manifest");
  }
  for (auto& [d, versions] : state.domains) {
    std::sort(versions.begin(), versions.end(),
              [](const DomainSecret& a, const DomainSecret& b) { return a.version < b.version; });
  }
  if (state.generation < seen_generation_) return rolled_back(state.generation);
  seen_generation_ = state.generation;
  return state;
}

Result<bool> FileStore::commit(const StoreState& next, std::uint64_t expected) {
  std::lock_guard lock(mu_);
  if (next.generation != expected + 1) {
    return make_error(Errc::invalid_argument, "commit must advance the generation by one");
  }
  // An advisory lock on a sibling file serialises writers in other processes; then the
  // generation check makes the write a compare-and-swap.
  std::filesystem::path lock_path = path_;
  lock_path += ".lock";
  int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) return make_error(Errc::io, lock_path.string() + ": cannot open lock file");
  struct Unlock {
    int fd;
    ~Unlock() { ::close(fd); }
  } unlock{lock_fd};
  // Bounded: a process that holds the lock forever must not stall stekd's maintenance.
  const auto deadline = std::chrono::steady_clock::now() + lock_wait_;
  while (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      return make_error(Errc::io, lock_path.string() + ": cannot lock: " + std::strerror(errno));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return make_error(Errc::conflict,
                        lock_path.string() + ": another process holds the lock (waited " +
                            std::to_string(lock_wait_.count()) + " ms); commit not done");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  STEK_ASSIGN_OR_RETURN(StoreState current, read_locked());
  // Older than what the caller last saw: an old copy was put back, not a concurrent write.
  if (current.generation < expected) {
    return make_error(Errc::rollback, path_.string() + ": state file is at generation " +
                                          std::to_string(current.generation) +
                                          ", older than generation " + std::to_string(expected) +
                                          " read before; refusing to commit over it");
  }
  if (current.generation != expected) return false;

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
  const std::string manifest = manifest_text(next.generation, ids, next.trusted_time);
  STEK_ASSIGN_OR_RETURN(Bytes sealed_manifest,
                        seal(kek_, as_bytes(manifest), "stek/state/v1 manifest", random_));
  json doc = {{"stek_state", kStateFormat},        {"kek_id", kek_.id},
              {"generation", next.generation},     {"records", std::move(records)},
              {"trusted_time", next.trusted_time}, {"manifest", b64(sealed_manifest)}};
  const std::string text = doc.dump(1) + "\n";
  STEK_TRY(write_file_atomic(path_, as_bytes(text), 0600));
  seen_generation_ = next.generation;
  return true;
}

}  // namespace stek::server

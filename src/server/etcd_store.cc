// The etcd store: layout and rules in etcd_store.h; docs/etcd.md, "What etcd stores".
#include "etcd_store.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "stek/bytes.h"

#include "etcd_deny_store.h"
#include "etcd_leader.h"
#include "etcd_wire.h"

namespace stek::server {

namespace {

using nlohmann::json;
constexpr int kFormat = 1;

std::string b64(ByteView bytes) {
  SecretBytes t = to_base64(bytes);  // ciphertext: not secret, but the codec returns SecretBytes
  return std::string(as_chars(t.view()));
}

// A record of the manifest: what it is, where it lives, and the generation that made it.
struct Record {
  std::string key;
  bool is_epoch = true;
  Epoch epoch = 0;
  std::string domain;
  std::uint32_t version = 0;
  Epoch start_epoch = 0;
  std::uint64_t made_in = 0;
  ByteView secret;  // commit only: the plaintext to seal
};

std::string record_aad(const Record& r) {
  std::string aad = "stek/etcd/v1 " + r.key;
  if (!r.is_epoch) aad += " start " + std::to_string(r.start_epoch);
  return aad + " generation " + std::to_string(r.made_in);
}

json record_json(const Record& r) {
  json j = {{"key", r.key}, {"made_in", r.made_in}};
  if (r.is_epoch) {
    j["kind"] = "epoch";
    j["epoch"] = r.epoch;
  } else {
    j["kind"] = "domain";
    j["domain"] = r.domain;
    j["version"] = r.version;
    j["start_epoch"] = r.start_epoch;
  }
  return j;
}

json schedule_json(const ScheduleParams& p) {
  return {{"interval", p.interval}, {"history", p.history}, {"lookahead", p.lookahead}};
}

Result<ScheduleParams> schedule_of(const json& j) {
  ScheduleParams p;
  p.interval = j.at("interval").get<std::int64_t>();
  p.history = j.at("history").get<std::int64_t>();
  p.lookahead = j.at("lookahead").get<std::int64_t>();
  if (auto valid = Schedule::make(p); !valid.ok()) return valid.error();
  return p;
}

}  // namespace

EtcdStore::EtcdStore(etcd::Transport& transport, Kek kek, Random& random, EtcdStoreOptions options)
    : transport_(transport), kek_(std::move(kek)), random_(random), options_(std::move(options)) {
  while (!options_.prefix.empty() && options_.prefix.back() == '/') options_.prefix.pop_back();
}

std::string EtcdStore::describe() const {
  return "etcd " + options_.prefix + " (" + transport_.describe() + ")";
}

Result<StoreState> EtcdStore::load() {
  std::lock_guard lock(mu_);
  return load_locked();
}

Result<std::int64_t> EtcdStore::manifest_revision() {
  const std::string key = options_.prefix + "/manifest";
  STEK_ASSIGN_OR_RETURN(
      SecretString body,
      transport_.post("/v3/kv/range", etcd::range_request(key, false, true).dump()));
  STEK_ASSIGN_OR_RETURN(etcd::RangeResult range, etcd::parse_range(body));
  return range.kvs.empty() ? 0 : range.kvs.front().mod_revision;
}

Result<StoreState> EtcdStore::load_locked() {
  const std::string manifest_key = options_.prefix + "/manifest";
  STEK_ASSIGN_OR_RETURN(
      SecretString body,
      transport_.post("/v3/kv/range",
                      etcd::range_request(options_.prefix + "/", true, false).dump()));
  STEK_ASSIGN_OR_RETURN(etcd::RangeResult range, etcd::parse_range(body));
  std::map<std::string, const etcd::KeyValue*> by_key;
  for (const etcd::KeyValue& kv : range.kvs) by_key[kv.key] = &kv;
  auto damaged = [&](const std::string& why) {
    return make_error(Errc::integrity, describe() + ": state is damaged (" + why +
                                           "); refusing it rather than make new keys. Restore "
                                           "the newest etcd backup (docs/etcd.md)");
  };

  auto manifest = by_key.find(manifest_key);
  if (manifest == by_key.end()) {
    if (seen_generation_ > 0)
      return make_error(Errc::rollback, describe() + ": the manifest is gone after generation " +
                                            std::to_string(seen_generation_) + " was seen");
    // The leader key (etcd_leader.h) is no record: a replica that leads before its first
    // commit has written only that one. Nor is the deny-list (etcd_deny_store.h), which an
    // admin may change before the first commit.
    const std::string leader_key = etcd_leader_key(options_.prefix);
    const std::string deny_key = etcd_deny_key(options_.prefix);
    const bool records = std::any_of(
        range.kvs.begin(), range.kvs.end(),
        [&](const etcd::KeyValue& kv) { return kv.key != leader_key && kv.key != deny_key; });
    if (records) return damaged("records without a manifest");
    if (!options_.init) {
      return make_error(Errc::not_found,
                        describe() +
                            ": no state under this prefix. On the first start, run "
                            "stekd once with --init to make one");
    }
    loaded_ = Loaded{};
    return StoreState{};
  }
  const etcd::KeyValue& m = *manifest->second;
  json wrapper = json::parse(m.value.begin(), m.value.end(), nullptr, false);
  if (wrapper.is_discarded() || !wrapper.is_object() ||
      wrapper.value("stek_etcd_state", 0) != kFormat)
    return damaged("the manifest is not a stek manifest of format 1");
  const std::string kek_id = wrapper.value("kek_id", "");
  if (kek_id != kek_.id) {
    return make_error(Errc::integrity, describe() + ": state was sealed with another KEK (id " +
                                           kek_id + "; the configured KEK has id " + kek_.id + ")");
  }
  auto sealed = from_base64(wrapper.value("sealed", ""));
  if (!sealed.ok()) return damaged("manifest: not base64");
  auto text = unseal(kek_, sealed->view(), "stek/etcd/v1 manifest " + manifest_key);
  if (!text.ok()) return damaged("manifest: " + text.error().message);
  json doc = json::parse(as_chars(text->view()), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return damaged("manifest: not JSON");

  StoreState state;
  Loaded loaded;
  try {
    state.generation = doc.at("generation").get<std::uint64_t>();
    state.secret_version_base = doc.value("secret_version_base", std::uint32_t{0});
    state.trusted_time = doc.value("trusted_time", UnixSeconds{0});
    if (doc.contains("schedule")) {
      STEK_ASSIGN_OR_RETURN(state.schedule, schedule_of(doc["schedule"]));
    }
    if (doc.contains("previous_schedule")) {
      STEK_ASSIGN_OR_RETURN(ScheduleParams p, schedule_of(doc["previous_schedule"]));
      state.previous_schedule =
          PreviousSchedule{p, doc["previous_schedule"].at("live_until").get<UnixSeconds>()};
    }
    // Each put of the manifest raises its etcd version by one, and each commit puts it once:
    // an old manifest put back (a replay) leaves the version ahead of its generation.
    const auto since = doc.at("since").get<std::uint64_t>();
    if (since > state.generation ||
        static_cast<std::uint64_t>(m.version) != state.generation - since + 1) {
      return make_error(Errc::rollback,
                        describe() + ": the manifest of generation " +
                            std::to_string(state.generation) + " was written " +
                            std::to_string(m.version) +
                            " times: an old manifest was put back (a replay); refusing it, "
                            "because it may bring back erased secrets. Restore the newest "
                            "etcd backup (docs/etcd.md)");
    }
    for (const json& r : doc.at("records")) {
      Record rec;
      rec.key = r.at("key").get<std::string>();
      rec.made_in = r.at("made_in").get<std::uint64_t>();
      rec.is_epoch = r.at("kind").get<std::string>() == "epoch";
      if (rec.is_epoch) {
        rec.epoch = r.at("epoch").get<Epoch>();
      } else {
        rec.domain = r.at("domain").get<std::string>();
        rec.version = r.at("version").get<std::uint32_t>();
        rec.start_epoch = r.at("start_epoch").get<Epoch>();
      }
      auto kv = by_key.find(rec.key);
      if (kv == by_key.end()) return damaged("record " + rec.key + " is missing");
      // Records are made once and never replaced: a second put is a value put back.
      if (kv->second->version != 1) return damaged("record " + rec.key + " was replaced");
      auto bytes =
          from_base64(std::string_view(kv->second->value.data(), kv->second->value.size()));
      if (!bytes.ok()) return damaged("record " + rec.key + ": not base64");
      auto secret = unseal(kek_, bytes->view(), record_aad(rec));
      if (!secret.ok()) return damaged("record " + rec.key + ": " + secret.error().message);
      if (rec.is_epoch) {
        state.epoch_secrets.emplace(rec.epoch, std::move(secret).value());
      } else {
        state.domains[rec.domain].push_back(
            {rec.version, rec.start_epoch, std::move(secret).value()});
      }
      loaded.made_in[rec.key] = rec.made_in;
    }
    loaded.since = since;
  } catch (const json::exception& e) {
    return damaged(std::string("manifest fields: ") + e.what());
  }
  if (state.generation < seen_generation_) {
    return make_error(Errc::rollback, describe() + ": state went back from generation " +
                                          std::to_string(seen_generation_) + " to " +
                                          std::to_string(state.generation) +
                                          " (an old backup restored?); refusing it");
  }
  for (auto& [d, versions] : state.domains) {
    std::sort(versions.begin(), versions.end(),
              [](const DomainSecret& a, const DomainSecret& b) { return a.version < b.version; });
  }
  loaded.generation = state.generation;
  loaded.mod_revision = m.mod_revision;
  loaded_ = std::move(loaded);
  seen_generation_ = state.generation;
  return state;
}

Result<bool> EtcdStore::commit(const StoreState& next, std::uint64_t expected) {
  std::lock_guard lock(mu_);
  if (next.generation != expected + 1)
    return make_error(Errc::invalid_argument, "commit must advance the generation by one");
  if (!loaded_ || loaded_->generation != expected) {
    STEK_ASSIGN_OR_RETURN(StoreState current, load_locked());
    if (current.generation < expected) {
      return make_error(Errc::rollback, describe() + ": state is at generation " +
                                            std::to_string(current.generation) +
                                            ", older than generation " + std::to_string(expected) +
                                            " read before; refusing to commit over it");
    }
    if (current.generation != expected) return false;
  }
  const std::string manifest_key = options_.prefix + "/manifest";
  std::vector<etcd::Compare> compares;
  std::vector<etcd::Operation> ops;
  // The manifest is still the one loaded, or there is none yet.
  compares.push_back(loaded_->mod_revision == 0
                         ? etcd::Compare{manifest_key, etcd::Compare::Target::create_revision, 0}
                         : etcd::Compare{manifest_key, etcd::Compare::Target::mod_revision,
                                         loaded_->mod_revision});
  std::vector<Record> records;
  for (const auto& [e, g] : next.epoch_secrets) {
    Record r;
    r.key = options_.prefix + "/epoch/" + std::to_string(e);
    r.epoch = e;
    r.secret = g.view();
    records.push_back(std::move(r));
  }
  for (const auto& [d, versions] : next.domains) {
    for (const DomainSecret& v : versions) {
      Record r;
      r.key = options_.prefix + "/domain/" + d + "/" + std::to_string(v.version);
      r.is_epoch = false;
      r.domain = d;
      r.version = v.version;
      r.start_epoch = v.start_epoch;
      r.secret = v.secret.view();
      records.push_back(std::move(r));
    }
  }
  std::map<std::string, std::uint64_t> made_in;
  json listed = json::array();
  for (Record& r : records) {
    auto known = loaded_->made_in.find(r.key);
    if (known != loaded_->made_in.end()) {
      r.made_in = known->second;  // kept as it is
    } else {
      r.made_in = next.generation;
      // Made only if no replica made this secret first: never two secrets for one key.
      compares.push_back({r.key, etcd::Compare::Target::create_revision, 0});
      STEK_ASSIGN_OR_RETURN(Bytes sealed, seal(kek_, r.secret, record_aad(r), random_));
      ops.push_back({etcd::Operation::Kind::put, r.key, b64(sealed), 0});
    }
    made_in[r.key] = r.made_in;
    listed.push_back(record_json(r));
  }
  for (const auto& [key, g] : loaded_->made_in) {
    if (made_in.count(key) == 0) ops.push_back({etcd::Operation::Kind::erase, key, {}, 0});
  }
  const std::uint64_t since = loaded_->mod_revision == 0 ? next.generation : loaded_->since;
  json m = {{"generation", next.generation}, {"since", since}, {"records", std::move(listed)}};
  if (next.secret_version_base != 0) m["secret_version_base"] = next.secret_version_base;
  if (next.trusted_time != 0) m["trusted_time"] = next.trusted_time;
  if (next.schedule) m["schedule"] = schedule_json(*next.schedule);
  if (next.previous_schedule) {
    json p = schedule_json(next.previous_schedule->params);
    p["live_until"] = next.previous_schedule->live_until;
    m["previous_schedule"] = std::move(p);
  }
  const std::string text = m.dump();
  STEK_ASSIGN_OR_RETURN(
      Bytes sealed_manifest,
      seal(kek_, as_bytes(text), "stek/etcd/v1 manifest " + manifest_key, random_));
  const json wrapper = {
      {"stek_etcd_state", kFormat}, {"kek_id", kek_.id}, {"sealed", b64(sealed_manifest)}};
  ops.push_back({etcd::Operation::Kind::put, manifest_key, wrapper.dump(), 0});

  STEK_ASSIGN_OR_RETURN(SecretString body,
                        transport_.post("/v3/kv/txn", etcd::txn_request(compares, ops).dump()));
  STEK_ASSIGN_OR_RETURN(etcd::TxnResult txn, etcd::parse_txn(body));
  if (!txn.succeeded) {
    loaded_.reset();  // another replica came first: load again before the next commit
    return false;
  }
  loaded_ = Loaded{next.generation, txn.revision, std::move(made_in), since};
  seen_generation_ = next.generation;
  return true;
}

}  // namespace stek::server

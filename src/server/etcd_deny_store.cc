// The deny-list record in etcd: layout and rules in etcd_deny_store.h; docs/etcd.md.
#include "etcd_deny_store.h"

#include <nlohmann/json.hpp>

#include "stek/bytes.h"
#include "stek/derive.h"

namespace stek::server {

namespace {

using nlohmann::json;
constexpr int kDenyFormat = 1;

std::string deny_aad(const std::string& key, std::int64_t version) {
  return "stek/etcd/v1 deny " + key + " version " + std::to_string(version);
}

}  // namespace

std::string etcd_deny_key(const std::string& prefix) {
  return prefix + "/deny";
}

Result<std::string> encode_deny_record(const Kek& kek, const std::string& key, std::int64_t version,
                                       const std::set<std::string>& hosts, Random& random) {
  const std::string text = json{{"denied_hosts", hosts}}.dump();
  STEK_ASSIGN_OR_RETURN(Bytes sealed, seal(kek, as_bytes(text), deny_aad(key, version), random));
  SecretBytes b64 = to_base64(sealed);  // ciphertext: not secret, but the codec returns SecretBytes
  return json{{"stek_etcd_deny", kDenyFormat},
              {"kek_id", kek.id},
              {"sealed", std::string(as_chars(b64.view()))}}
      .dump();
}

Result<std::set<std::string>> decode_deny_record(const Kek& kek, const etcd::KeyValue& kv) {
  const auto bad = [&](const std::string& why) {
    return make_error(Errc::bad_format, kv.key + ": not a stek deny-list record (" + why + ")");
  };
  const json wrapper = json::parse(kv.value.begin(), kv.value.end(), nullptr, false);
  if (!wrapper.is_object() || wrapper.value("stek_etcd_deny", 0) != kDenyFormat)
    return bad("expected format 1");
  const std::string kek_id = wrapper.value("kek_id", "");
  if (kek_id != kek.id) {
    return make_error(Errc::integrity, kv.key + ": sealed with another KEK (id " + kek_id +
                                           "; the configured KEK has id " + kek.id + ")");
  }
  auto sealed = from_base64(wrapper.value("sealed", ""));
  if (!sealed.ok()) return bad("sealed is not base64");
  auto text = unseal(kek, sealed->view(), deny_aad(kv.key, kv.version));
  if (!text.ok()) {
    return make_error(Errc::integrity,
                      kv.key + ": does not open as version " + std::to_string(kv.version) +
                          " of the deny-list (damaged, or an old value put back); refusing it "
                          "rather than forget denials. Restore the newest etcd backup "
                          "(docs/etcd.md)");
  }
  const json doc = json::parse(as_chars(text->view()), nullptr, false);
  if (!doc.is_object() || !doc.contains("denied_hosts") || !doc["denied_hosts"].is_array())
    return bad("no denied_hosts list");
  std::set<std::string> hosts;
  for (const json& h : doc["denied_hosts"]) {
    if (!h.is_string() || !validate_domain_id(h.get<std::string>()).ok())
      return bad("a host id no certificate can carry");
    hosts.insert(h.get<std::string>());
  }
  return hosts;
}

EtcdDenyStore::EtcdDenyStore(etcd::Transport& transport, Kek kek, Random& random,
                             std::string prefix, int max_attempts)
    : transport_(transport),
      kek_(std::move(kek)),
      random_(random),
      key_(etcd_deny_key(prefix)),
      max_attempts_(max_attempts) {}

std::string EtcdDenyStore::describe() const {
  return "etcd " + key_ + " (" + transport_.describe() + ")";
}

Result<EtcdDenyStore::Read> EtcdDenyStore::read() {
  STEK_ASSIGN_OR_RETURN(
      SecretString body,
      transport_.post("/v3/kv/range", etcd::range_request(key_, false, false).dump()));
  STEK_ASSIGN_OR_RETURN(etcd::RangeResult range, etcd::parse_range(body));
  Read out;
  if (range.kvs.empty()) {
    // stekd never deletes the record: gone after being seen, someone took every denial away.
    if (seen_version_ > 0) {
      return make_error(Errc::rollback,
                        describe() + ": the deny-list is gone after version " +
                            std::to_string(seen_version_) +
                            " was seen; refusing to forget denials. Restore the newest etcd "
                            "backup (docs/etcd.md)");
    }
    return out;
  }
  const etcd::KeyValue& kv = range.kvs.front();
  if (seen_version_ > 0 && (kv.create_revision != seen_create_ || kv.version < seen_version_)) {
    return make_error(Errc::rollback, describe() + ": the deny-list went back from version " +
                                          std::to_string(seen_version_) + " to " +
                                          std::to_string(kv.version) +
                                          " (made again, or an old backup restored); refusing "
                                          "it rather than forget denials");
  }
  STEK_ASSIGN_OR_RETURN(out.hosts, decode_deny_record(kek_, kv));
  out.mod_revision = kv.mod_revision;
  out.version = kv.version;
  seen_create_ = kv.create_revision;
  seen_version_ = kv.version;
  return out;
}

Result<std::set<std::string>> EtcdDenyStore::load() {
  std::lock_guard lock(mu_);
  STEK_ASSIGN_OR_RETURN(Read held, read());
  return std::move(held.hosts);
}

Result<bool> EtcdDenyStore::update(const std::string& host, bool deny) {
  std::lock_guard lock(mu_);
  for (int attempt = 0; attempt < max_attempts_; ++attempt) {
    STEK_ASSIGN_OR_RETURN(Read held, read());
    if (held.hosts.contains(host) == deny) return false;
    set_denied(held.hosts, host, deny);
    STEK_ASSIGN_OR_RETURN(std::string value,
                          encode_deny_record(kek_, key_, held.version + 1, held.hosts, random_));
    // Written only over the record just read: a change another replica made since is never
    // lost; this one is made again on top of it.
    const etcd::Compare unchanged =
        held.mod_revision == 0
            ? etcd::Compare{key_, etcd::Compare::Target::create_revision, 0}
            : etcd::Compare{key_, etcd::Compare::Target::mod_revision, held.mod_revision};
    const etcd::Operation put{etcd::Operation::Kind::put, key_, std::move(value), 0};
    STEK_ASSIGN_OR_RETURN(
        SecretString body,
        transport_.post("/v3/kv/txn", etcd::txn_request({unchanged}, {put}).dump()));
    STEK_ASSIGN_OR_RETURN(etcd::TxnResult txn, etcd::parse_txn(body));
    if (txn.succeeded) {
      seen_create_ = held.mod_revision == 0 ? txn.revision : seen_create_;
      seen_version_ = held.version + 1;
      return true;
    }
  }
  return make_error(Errc::conflict, describe() + ": lost " + std::to_string(max_attempts_) +
                                        " races in a row to other writers; try again");
}

}  // namespace stek::server

// Test double for etcd's JSON gateway: an in-memory key space with etcd's revisions
// (create_revision, mod_revision, version), prefix ranges, transactions with EQUAL
// comparisons on CREATE and MOD (and read-only ones of ranges), and leases that a test expires by
// hand. It parses the same request bodies stekd sends, so the store's and the election's requests
// are checked too.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "stek/bytes.h"

#include "etcd_transport.h"

namespace stek::server::testing {

class FakeEtcd final : public etcd::Transport {
 public:
  struct Entry {
    std::string value;
    std::int64_t create_revision = 0;
    std::int64_t mod_revision = 0;
    std::int64_t version = 0;
    std::int64_t lease = 0;
  };

  std::map<std::string, Entry> keys;
  std::int64_t revision = 1;
  std::map<std::int64_t, bool> leases;        // id -> alive
  std::optional<Error> fail;                  // every request fails with it (etcd unreachable)
  std::function<void(FakeEtcd&)> before_txn;  // a concurrent writer, just before a txn applies
  int txns = 0;

  Result<SecretString> post(const std::string& path, const std::string& body) override {
    if (fail) return *fail;
    const nlohmann::json req = nlohmann::json::parse(body);
    nlohmann::json out;
    if (path == "/v3/kv/range") {
      out = range(req);
    } else if (path == "/v3/kv/txn") {
      if (before_txn) {
        auto hook = std::move(before_txn);
        before_txn = nullptr;
        hook(*this);
      }
      out = txn(req);
    } else if (path == "/v3/lease/grant") {
      const std::int64_t id = std::stoll(req.at("ID").get<std::string>());
      if (leases.count(id) != 0) return make_error(Errc::io, "fake etcd: lease exists");
      leases[id] = true;
      out = {{"ID", std::to_string(id)}, {"TTL", req.at("TTL")}};
    } else if (path == "/v3/lease/keepalive") {
      const std::int64_t id = std::stoll(req.at("ID").get<std::string>());
      out = {{"result", {{"ID", std::to_string(id)}}}};
      if (leases[id]) out["result"]["TTL"] = "5";
    } else if (path == "/v3/lease/revoke") {
      expire(std::stoll(req.at("ID").get<std::string>()));
      out = nlohmann::json::object();
    } else {
      return make_error(Errc::io, "fake etcd: no " + path);
    }
    std::string text = out.dump();
    return SecretString(text.begin(), text.end());
  }
  std::string describe() const override { return "fake etcd"; }

  void put(const std::string& key, const std::string& value, std::int64_t lease = 0) {
    ++revision;
    Entry& e = keys[key];
    if (e.version == 0) e.create_revision = revision;
    e.mod_revision = revision;
    ++e.version;
    e.value = value;
    e.lease = lease;
  }
  // etcd deletes the keys of an expired lease.
  void expire(std::int64_t lease) {
    leases[lease] = false;
    for (auto it = keys.begin(); it != keys.end();)
      it = it->second.lease == lease ? keys.erase(it) : std::next(it);
  }

 private:
  static std::string unb64(const nlohmann::json& v) {
    auto bytes = from_base64(v.get<std::string>());
    return std::string(as_chars(bytes.value().view()));
  }
  static std::string b64(const std::string& s) {
    SecretBytes t = to_base64(as_bytes(s));
    return std::string(as_chars(t.view()));
  }
  nlohmann::json kv_json(const std::string& key, const Entry& e) const {
    nlohmann::json kv = {{"key", b64(key)},
                         {"value", b64(e.value)},
                         {"create_revision", std::to_string(e.create_revision)},
                         {"mod_revision", std::to_string(e.mod_revision)},
                         {"version", std::to_string(e.version)}};
    if (e.lease != 0) kv["lease"] = std::to_string(e.lease);
    return kv;
  }
  nlohmann::json range(const nlohmann::json& req) const {
    const std::string key = unb64(req.at("key"));
    nlohmann::json kvs = nlohmann::json::array();
    if (req.contains("range_end")) {
      const std::string end = unb64(req["range_end"]);
      for (auto it = keys.lower_bound(key); it != keys.end() && it->first < end; ++it)
        kvs.push_back(kv_json(it->first, it->second));
    } else if (auto it = keys.find(key); it != keys.end()) {
      kvs.push_back(kv_json(it->first, it->second));
    }
    nlohmann::json out = {{"header", {{"revision", std::to_string(revision)}}}};
    if (!kvs.empty()) out["kvs"] = kvs;  // proto3: an empty list is left out
    return out;
  }
  nlohmann::json txn(const nlohmann::json& req) {
    ++txns;
    bool ok = true;
    for (const auto& c : req.at("compare")) {
      auto it = keys.find(unb64(c.at("key")));
      const bool create = c.at("target") == "CREATE";
      const std::int64_t want =
          std::stoll(c.at(create ? "create_revision" : "mod_revision").get<std::string>());
      const std::int64_t have =
          it == keys.end() ? 0 : (create ? it->second.create_revision : it->second.mod_revision);
      ok = ok && have == want;
    }
    nlohmann::json responses = nlohmann::json::array();
    if (ok) {
      bool writes = false;
      for (const auto& op : req.at("success")) writes = writes || !op.contains("request_range");
      if (writes) ++revision;  // one revision for the whole transaction, as etcd does
      const std::int64_t at = revision;
      for (const auto& op : req.at("success")) {
        if (op.contains("request_range")) {
          responses.push_back({{"response_range", range(op["request_range"])}});
        } else if (op.contains("request_put")) {
          const auto& p = op["request_put"];
          Entry& e = keys[unb64(p.at("key"))];
          if (e.version == 0) e.create_revision = at;
          e.mod_revision = at;
          ++e.version;
          e.value = unb64(p.at("value"));
          e.lease = p.contains("lease") ? std::stoll(p["lease"].get<std::string>()) : 0;
        } else {
          keys.erase(unb64(op.at("request_delete_range").at("key")));
        }
      }
    } else {
      for (const auto& op : req.at("failure"))
        responses.push_back({{"response_range", range(op.at("request_range"))}});
    }
    nlohmann::json out = {{"header", {{"revision", std::to_string(revision)}}}};
    if (ok) out["succeeded"] = true;
    if (!responses.empty()) out["responses"] = responses;
    return out;
  }
};

}  // namespace stek::server::testing

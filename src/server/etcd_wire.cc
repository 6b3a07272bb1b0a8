// JSON bodies of etcd's gateway and parsers of its answers.
#include "etcd_wire.h"

#include <charconv>

#include "stek/bytes.h"

namespace stek::server::etcd {

using nlohmann::json;

namespace {

std::string b64(std::string_view s) {
  SecretBytes t = to_base64(as_bytes(s));
  return std::string(as_chars(t.view()));
}

Error malformed(const std::string& why) {
  return make_error(Errc::bad_format, "etcd answer: " + why);
}

// An int64 as the gateway writes it: a decimal string (or a plain number); absent: 0.
Result<std::int64_t> int_field(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return std::int64_t{0};
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (!it->is_string()) return malformed(std::string(name) + " is not a number");
  const std::string& s = it->get_ref<const std::string&>();
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty())
    return malformed(std::string(name) + " is not a decimal integer");
  return v;
}

Result<std::string> b64_field(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return std::string();
  if (!it->is_string()) return malformed(std::string(name) + " is not a string");
  auto bytes = from_base64(it->get_ref<const std::string&>());
  if (!bytes.ok()) return malformed(std::string(name) + " is not base64");
  return std::string(as_chars(bytes->view()));
}

Result<json> parse_object(std::string_view body) {
  json doc = json::parse(body.begin(), body.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return malformed("not a JSON object");
  // The gateway's error shape: {"error": "...", "code": N, "message": "..."}.
  for (const char* name : {"error", "message"}) {
    auto it = doc.find(name);
    if (it != doc.end() && it->is_string()) {
      return make_error(Errc::io, "etcd: " + it->get<std::string>());
    }
  }
  return doc;
}

Result<std::vector<KeyValue>> parse_kvs(const json& obj) {
  std::vector<KeyValue> out;
  auto it = obj.find("kvs");
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_array()) return malformed("kvs is not a list");
  for (const json& kv : *it) {
    if (!kv.is_object()) return malformed("a kv is not an object");
    KeyValue v;
    STEK_ASSIGN_OR_RETURN(v.key, b64_field(kv, "key"));
    STEK_ASSIGN_OR_RETURN(std::string value, b64_field(kv, "value"));
    v.value = SecretString(value.begin(), value.end());
    STEK_ASSIGN_OR_RETURN(v.create_revision, int_field(kv, "create_revision"));
    STEK_ASSIGN_OR_RETURN(v.mod_revision, int_field(kv, "mod_revision"));
    STEK_ASSIGN_OR_RETURN(v.version, int_field(kv, "version"));
    STEK_ASSIGN_OR_RETURN(v.lease, int_field(kv, "lease"));
    out.push_back(std::move(v));
  }
  return out;
}

Result<std::int64_t> header_revision(const json& doc) {
  auto it = doc.find("header");
  if (it == doc.end()) return std::int64_t{0};
  if (!it->is_object()) return malformed("header is not an object");
  return int_field(*it, "revision");
}

bool bool_field(const json& obj, const char* name) {
  auto it = obj.find(name);
  return it != obj.end() && it->is_boolean() && it->get<bool>();
}

}  // namespace

std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

json range_request(std::string_view key, bool prefix, bool serializable) {
  json r = {{"key", b64(key)}};
  if (prefix) r["range_end"] = b64(prefix_end(key));
  if (serializable) r["serializable"] = true;
  return r;
}

json txn_request(const std::vector<Compare>& compares, const std::vector<Operation>& ops,
                 std::string_view failure_range_key) {
  json cmp = json::array();
  for (const Compare& c : compares) {
    const bool create = c.target == Compare::Target::create_revision;
    cmp.push_back({{"key", b64(c.key)},
                   {"result", "EQUAL"},
                   {"target", create ? "CREATE" : "MOD"},
                   {create ? "create_revision" : "mod_revision", std::to_string(c.revision)}});
  }
  json success = json::array();
  for (const Operation& op : ops) {
    if (op.kind == Operation::Kind::put) {
      json put = {{"key", b64(op.key)}, {"value", b64(op.value)}};
      if (op.lease != 0) put["lease"] = std::to_string(op.lease);
      success.push_back({{"request_put", std::move(put)}});
    } else {
      success.push_back({{"request_delete_range", {{"key", b64(op.key)}}}});
    }
  }
  json failure = json::array();
  if (!failure_range_key.empty())
    failure.push_back({{"request_range", range_request(failure_range_key, false, false)}});
  return {{"compare", std::move(cmp)}, {"success", std::move(success)}, {"failure", failure}};
}

json read_txn_request(const std::vector<std::string>& keys) {
  json success = json::array();
  for (const std::string& key : keys)
    success.push_back({{"request_range", range_request(key, false, true)}});
  return {{"compare", json::array()}, {"success", std::move(success)}};
}

json lease_grant_request(std::int64_t ttl_seconds, std::int64_t id) {
  return {{"TTL", std::to_string(ttl_seconds)}, {"ID", std::to_string(id)}};
}

json lease_id_request(std::int64_t id) {
  return {{"ID", std::to_string(id)}};
}

Result<RangeResult> parse_range(std::string_view body) {
  STEK_ASSIGN_OR_RETURN(json doc, parse_object(body));
  RangeResult r;
  STEK_ASSIGN_OR_RETURN(r.revision, header_revision(doc));
  STEK_ASSIGN_OR_RETURN(r.kvs, parse_kvs(doc));
  r.more = bool_field(doc, "more");
  return r;
}

Result<TxnResult> parse_txn(std::string_view body) {
  STEK_ASSIGN_OR_RETURN(json doc, parse_object(body));
  TxnResult r;
  r.succeeded = bool_field(doc, "succeeded");
  STEK_ASSIGN_OR_RETURN(r.revision, header_revision(doc));
  auto responses = doc.find("responses");
  if (!r.succeeded && responses != doc.end()) {
    if (!responses->is_array()) return malformed("responses is not a list");
    for (const json& one : *responses) {
      if (!one.is_object()) return malformed("a response is not an object");
      auto range = one.find("response_range");
      if (range == one.end()) continue;
      if (!range->is_object()) return malformed("response_range is not an object");
      STEK_ASSIGN_OR_RETURN(r.failure_range, parse_kvs(*range));
      break;
    }
  }
  return r;
}

Result<std::vector<RangeResult>> parse_read_txn(std::string_view body, std::size_t keys) {
  STEK_ASSIGN_OR_RETURN(json doc, parse_object(body));
  // No comparisons: a transaction that does not succeed is no answer of etcd's.
  if (!bool_field(doc, "succeeded")) return malformed("a read without comparisons did not succeed");
  STEK_ASSIGN_OR_RETURN(std::int64_t revision, header_revision(doc));
  auto responses = doc.find("responses");
  if (responses == doc.end() || !responses->is_array() || responses->size() != keys)
    return malformed("expected " + std::to_string(keys) + " responses");
  std::vector<RangeResult> out;
  for (const json& one : *responses) {
    auto range = one.is_object() ? one.find("response_range") : one.end();
    if (!one.is_object() || range == one.end() || !range->is_object())
      return malformed("a response is not a range");
    RangeResult r;
    r.revision = revision;
    STEK_ASSIGN_OR_RETURN(r.kvs, parse_kvs(*range));
    r.more = bool_field(*range, "more");
    out.push_back(std::move(r));
  }
  return out;
}

namespace {
Result<LeaseResult> lease_of(const json& obj) {
  if (!obj.is_object()) return malformed("lease answer is not an object");
  LeaseResult r;
  STEK_ASSIGN_OR_RETURN(r.id, int_field(obj, "ID"));
  STEK_ASSIGN_OR_RETURN(r.ttl, int_field(obj, "TTL"));
  return r;
}
}  // namespace

Result<LeaseResult> parse_lease_grant(std::string_view body) {
  STEK_ASSIGN_OR_RETURN(json doc, parse_object(body));
  STEK_ASSIGN_OR_RETURN(LeaseResult r, lease_of(doc));
  if (r.id == 0 || r.ttl <= 0) return malformed("lease grant without an ID or TTL");
  return r;
}

Result<LeaseResult> parse_lease_keepalive(std::string_view body) {
  // A streaming answer: {"result": {...}} (several lines when more than one came).
  const std::string_view first = body.substr(0, body.find('\n'));
  STEK_ASSIGN_OR_RETURN(json doc, parse_object(first));
  auto it = doc.find("result");
  if (it == doc.end()) return malformed("keepalive answer without a result");
  return lease_of(*it);
}

}  // namespace stek::server::etcd

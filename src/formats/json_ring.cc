// stek's own ring file: JSON with metadata per key and the schedule that produced it.
// Schema (docs/formats.md):
//   {"stek_ring": 1, "version": N, "ring_id": hex, "generated_at": T,
//    "schedule": {"interval": I, "history": H, "lookahead": L, "lifetime_hint": H*I},
//    "keys": [{"name": hex, "role": "encrypt", "domain": "...", "epoch": e,
//              "not_before": T, "not_after": T, "secret_version": v,
//              "hmac_key": base64, "aes_key": base64}, ...]}
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#include "stek/bytes.h"

#include "codecs.h"
#include "secure_json.h"

namespace stek::formats {

namespace {

constexpr int kRingFormatVersion = 1;

std::string field_error(const char* field, const char* want) {
  return std::string("field \"") + field + "\" " + want;
}

template <class Int>
Result<std::optional<Int>> optional_int(const SecureJson& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::optional<Int>{};
  if (!it->is_number_integer())
    return make_error(Errc::bad_format, field_error(field, "is not an integer"));
  // Range-check before converting: a number that does not fit is refused, never wrapped.
  if (it->is_number_unsigned()) {
    const auto u = it->template get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<Int>::max())) {
      return make_error(Errc::bad_format, field_error(field, "is out of range"));
    }
    return std::optional<Int>{static_cast<Int>(u)};
  }
  const auto v = it->template get<std::int64_t>();
  if constexpr (std::is_unsigned_v<Int>) {
    if (v < 0) return make_error(Errc::bad_format, field_error(field, "is negative"));
    if (static_cast<std::uint64_t>(v) > std::numeric_limits<Int>::max()) {
      return make_error(Errc::bad_format, field_error(field, "is out of range"));
    }
  } else if (v < std::numeric_limits<Int>::min() || v > std::numeric_limits<Int>::max()) {
    return make_error(Errc::bad_format, field_error(field, "is out of range"));
  }
  return std::optional<Int>{static_cast<Int>(v)};
}

Result<std::string> required_string(const SecureJson& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end()) return make_error(Errc::bad_format, field_error(field, "is missing"));
  if (!it->is_string()) return make_error(Errc::bad_format, field_error(field, "is not a string"));
  const SecretString& s = it->get_ref<const SecretString&>();
  return std::string(s.data(), s.size());
}

Result<SecretBytes> required_secret(const SecureJson& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end()) return make_error(Errc::bad_format, field_error(field, "is missing"));
  if (!it->is_string()) return make_error(Errc::bad_format, field_error(field, "is not a string"));
  const SecretString& s = it->get_ref<const SecretString&>();
  auto bytes = from_base64({s.data(), s.size()});
  if (!bytes.ok()) return bytes.error().with_context(std::string("field \"") + field + "\"");
  return bytes;
}

Result<RingKey> parse_key(const SecureJson& k) {
  if (!k.is_object()) return make_error(Errc::bad_format, "is not an object");
  STEK_ASSIGN_OR_RETURN(std::string name_hex, required_string(k, "name"));
  STEK_ASSIGN_OR_RETURN(KeyName name, parse_key_name_hex(name_hex));
  STEK_ASSIGN_OR_RETURN(std::string role_name, required_string(k, "role"));
  STEK_ASSIGN_OR_RETURN(KeyRole role, parse_key_role(role_name));
  STEK_ASSIGN_OR_RETURN(SecretBytes hmac, required_secret(k, "hmac_key"));
  STEK_ASSIGN_OR_RETURN(SecretBytes aes, required_secret(k, "aes_key"));
  STEK_ASSIGN_OR_RETURN(TicketKey key, TicketKey::make(name, std::move(hmac), std::move(aes)));
  KeyMeta meta;
  meta.role = role;
  if (auto it = k.find("domain"); it != k.end() && !it->is_null()) {
    STEK_ASSIGN_OR_RETURN(std::string domain, required_string(k, "domain"));
    meta.domain = domain;
  }
  STEK_ASSIGN_OR_RETURN(meta.epoch, optional_int<Epoch>(k, "epoch"));
  STEK_ASSIGN_OR_RETURN(meta.not_before, optional_int<UnixSeconds>(k, "not_before"));
  STEK_ASSIGN_OR_RETURN(meta.not_after, optional_int<UnixSeconds>(k, "not_after"));
  STEK_ASSIGN_OR_RETURN(meta.secret_version, optional_int<std::uint32_t>(k, "secret_version"));
  return RingKey{std::move(key), std::move(meta)};
}

}  // namespace

Result<KeyRing> read_json(ByteView contents) {
  SecureJson doc;
  try {
    doc = SecureJson::parse(contents.begin(), contents.end());
  } catch (const SecureJson::parse_error& e) {
    // e.what() can quote the input, which holds key bytes: report the position only.
    return make_error(Errc::bad_format,
                      "not valid JSON (syntax error at byte " + std::to_string(e.byte) + ")");
  } catch (const SecureJson::out_of_range&) {
    // Thrown for numbers no double holds (e.g. 1e400); what() quotes the number.
    return make_error(Errc::bad_format, "not valid JSON (a number is out of range)");
  } catch (const SecureJson::exception&) {
    return make_error(Errc::bad_format, "not valid JSON");
  }
  if (!doc.is_object()) return make_error(Errc::bad_format, "top level is not an object");
  STEK_ASSIGN_OR_RETURN(auto format_version, optional_int<std::int64_t>(doc, "stek_ring"));
  if (!format_version)
    return make_error(Errc::bad_format, "field \"stek_ring\" is missing: not a stek ring file");
  if (*format_version != kRingFormatVersion) {
    return make_error(Errc::unsupported, "ring format version " + std::to_string(*format_version) +
                                             " is not supported (this build reads version 1)");
  }
  RingInfo info;
  STEK_ASSIGN_OR_RETURN(auto version, optional_int<std::uint64_t>(doc, "version"));
  info.version = version.value_or(0);
  if (auto it = doc.find("ring_id"); it != doc.end() && !it->is_null()) {
    STEK_ASSIGN_OR_RETURN(std::string id, required_string(doc, "ring_id"));
    info.id = std::move(id);
  }
  STEK_ASSIGN_OR_RETURN(info.generated_at, optional_int<UnixSeconds>(doc, "generated_at"));
  if (auto it = doc.find("schedule"); it != doc.end() && !it->is_null()) {
    if (!it->is_object())
      return make_error(Errc::bad_format, "field \"schedule\" is not an object");
    ScheduleParams p;
    STEK_ASSIGN_OR_RETURN(auto interval, optional_int<std::int64_t>(*it, "interval"));
    STEK_ASSIGN_OR_RETURN(auto history, optional_int<std::int64_t>(*it, "history"));
    STEK_ASSIGN_OR_RETURN(auto lookahead, optional_int<std::int64_t>(*it, "lookahead"));
    if (!interval || !history || !lookahead) {
      return make_error(Errc::bad_format, "schedule needs interval, history and lookahead");
    }
    p.interval = *interval;
    p.history = *history;
    p.lookahead = *lookahead;
    auto checked = Schedule::make(p);
    if (!checked.ok()) return checked.error().with_context("schedule");
    info.schedule = p;
  }
  auto keys_it = doc.find("keys");
  if (keys_it == doc.end() || !keys_it->is_array()) {
    return make_error(Errc::bad_format, "field \"keys\" is missing or not a list");
  }
  std::vector<RingKey> keys;
  for (std::size_t i = 0; i < keys_it->size(); ++i) {
    auto key = parse_key((*keys_it)[i]);
    if (!key.ok()) return key.error().with_context("keys[" + std::to_string(i) + "]");
    keys.push_back(std::move(key).value());
  }
  return KeyRing::make(std::move(keys), std::move(info));
}

Result<SecretBytes> write_json(const KeyRing& ring, const WriteOptions& options) {
  SecureJson doc = SecureJson::object();
  doc["stek_ring"] = kRingFormatVersion;
  doc["version"] = ring.info().version;
  if (ring.info().id) doc["ring_id"] = *ring.info().id;
  doc["generated_at"] = ring.info().generated_at.value_or(options.now);
  if (const auto& s = ring.info().schedule) {
    doc["schedule"] = {{"interval", s->interval},
                       {"history", s->history},
                       {"lookahead", s->lookahead},
                       {"lifetime_hint", s->history * s->interval}};
  }
  SecureJson keys = SecureJson::array();
  for (const RingKey& k : ring.keys()) {
    SecureJson entry = SecureJson::object();
    entry["name"] = k.key.name_hex();
    entry["role"] = std::string(key_role_name(k.meta.role));
    if (k.meta.domain) entry["domain"] = *k.meta.domain;
    if (k.meta.epoch) entry["epoch"] = *k.meta.epoch;
    if (k.meta.not_before) entry["not_before"] = *k.meta.not_before;
    if (k.meta.not_after) entry["not_after"] = *k.meta.not_after;
    if (k.meta.secret_version) entry["secret_version"] = *k.meta.secret_version;
    SecretBytes hmac = to_base64(k.key.hmac_key().view());
    SecretBytes aes = to_base64(k.key.aes_key().view());
    entry["hmac_key"] = SecretString(reinterpret_cast<const char*>(hmac.data()), hmac.size());
    entry["aes_key"] = SecretString(reinterpret_cast<const char*>(aes.data()), aes.size());
    keys.push_back(std::move(entry));
  }
  doc["keys"] = std::move(keys);
  SecretString text;
  try {
    text = doc.dump(2);
  } catch (const SecureJson::type_error&) {
    // dump() refuses strings that are not UTF-8; only a domain can be one here.
    return make_error(Errc::invalid_argument, "a domain is not valid UTF-8");
  }
  text.push_back('\n');
  return SecretBytes::copy_of(as_bytes({text.data(), text.size()}));
}

}  // namespace stek::formats

// The nginx sink.
#include "nginx.h"

#include <regex>
#include <set>

#include "stek/bytes.h"
#include "stek/file.h"
#include "stek/formats.h"

#include "../nginx_conf.h"
#include "../nginx_tenants.h"
#include "own_file.h"

namespace stek::agent {

namespace fs = std::filesystem;

namespace {

// nginx's config syntax: a double-quoted argument with \ and " escaped.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

bool is_key_file_name(const std::string& name) {
  static const std::regex kPattern("[0-9a-f]{32}\\.key");
  return std::regex_match(name, kPattern);
}

// The keys nginx gets, in its order: encrypting, next, then decrypt-only keys newest first
// (KeyRing::at's canonical order). Pending keys are held back: nginx would accept them.
std::vector<const RingKey*> listed_keys(const KeyRing* ring) {
  std::vector<const RingKey*> out;
  if (ring == nullptr) return out;
  for (const RingKey& k : ring->keys()) {
    if (role_decrypts(k.meta.role)) out.push_back(&k);
  }
  return out;
}

Result<SecretBytes> key_file_bytes(const RingKey& k) {
  RingKey one = k.clone();
  one.meta.role = KeyRole::encrypt;
  std::vector<RingKey> keys;
  keys.push_back(std::move(one));
  STEK_ASSIGN_OR_RETURN(KeyRing single, KeyRing::make(std::move(keys)));
  const Format format = k.key.size() == KeySize::k48 ? Format::nginx48 : Format::nginx80;
  return write_key_file(format, single);
}

}  // namespace

NginxSink::NginxSink(NginxSinkOptions options)
    : options_(std::move(options)),
      name_("nginx:" + options_.include.string()),
      reload_(std::move(options_.reloader)) {}

fs::path NginxSink::key_path(const TicketKey& key) const {
  return options_.dir / (key.name_hex() + ".key");
}

std::string NginxSink::include_text(const KeyRing* ring) const {
  const auto keys = listed_keys(ring);
  std::string text = "# Written by stek-agent; do not edit. ";
  if (keys.empty()) {
    text +=
        "No stek key covers the current epoch:\n"
        "# nginx uses its own per-process ticket keys until stek-agent has keys again.\n";
    return text;
  }
  text += "The first key encrypts; the others only decrypt.\n";
  for (const RingKey* k : keys) {
    text += "ssl_session_ticket_key " + quoted(key_path(k->key).string()) + ";\n";
  }
  return text;
}

Status NginxSink::prepare() {
  std::error_code ec;
  if (std::filesystem::exists(options_.include, ec)) return {};
  STEK_TRY(check_own_file(options_.include));
  const std::string text = include_text(nullptr);
  return write_file_atomic(options_.include, as_bytes(text), 0644);
}

Result<SinkReport> NginxSink::apply(const KeyRing* ring, Epoch epoch) {
  SinkReport report;
  const auto keys = listed_keys(ring);
  std::set<std::string> listed;
  bool key_changed = false;
  for (const RingKey* k : keys) {
    const fs::path path = key_path(k->key);
    listed.insert(path.filename().string());
    STEK_TRY(check_own_file(path));
    STEK_ASSIGN_OR_RETURN(SecretBytes bytes, key_file_bytes(*k));
    STEK_ASSIGN_OR_RETURN(bool wrote, write_file_if_changed(path, bytes.view(), 0600));
    if (wrote) {
      ++report.files_written;
      key_changed = true;
    }
  }
  const std::string text = include_text(ring);
  STEK_TRY(check_own_file(options_.include));
  STEK_ASSIGN_OR_RETURN(bool include_changed,
                        write_file_if_changed(options_.include, as_bytes(text), 0644));
  if (include_changed) ++report.files_written;

  // Without stek keys nginx falls back to keys of its own, made at each (re)load: reloading
  // once per epoch keeps those host-local keys as short-lived as stek's.
  const bool keyless_rotation = ring == nullptr && keyless_epoch_ != epoch;
  keyless_epoch_ = ring == nullptr ? std::optional<Epoch>(epoch) : std::nullopt;

  Status reload_status;
  auto reloaded = reload_.settle(include_changed || key_changed || keyless_rotation);
  if (reloaded.ok()) {
    report.reloaded = *reloaded;
  } else {
    reload_status = reloaded.error().with_context("reload");
  }

  // The include no longer names these files, so no later reload can read them: erase them
  // even when this reload failed (nginx keeps what it loaded in memory either way).
  std::error_code ec;
  for (fs::directory_iterator it(options_.dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string file = it->path().filename().string();
    if (!is_key_file_name(file) || listed.count(file)) continue;
    // erase_file zeroes only a file no other name shares; a link is only unlinked.
    STEK_TRY(erase_file(it->path()));
    ++report.files_erased;
  }
  if (ec) return make_error(Errc::io, options_.dir.string() + ": cannot list: " + ec.message());
  if (!reload_status.ok()) return reload_status.error();
  return report;
}

std::vector<std::string> NginxSink::check(const Schedule& schedule) const {
  std::vector<std::string> warnings =
      check_session_timeout(schedule.lifetime_hint(), schedule.interval());
  if (!options_.nginx_conf) return warnings;
  if (auto tenants = check_nginx_tenants(*options_.nginx_conf, options_.include); tenants.ok()) {
    // Refusals stop the agent at start (make_sinks); after a change of nginx.conf they are
    // warnings here.
    for (const auto* list : {&tenants->refusals, &tenants->warnings})
      warnings.insert(warnings.end(), list->begin(), list->end());
  }
  return warnings;
}

std::vector<std::string> NginxSink::check_session_timeout(std::int64_t lifetime_hint,
                                                          std::int64_t interval) const {
  std::vector<std::string> warnings;
  if (!options_.nginx_conf) return warnings;
  auto found = find_session_timeouts(*options_.nginx_conf);
  if (!found.ok()) {
    warnings.push_back("cannot check ssl_session_timeout: " + found.error().message);
    return warnings;
  }
  const std::int64_t recommended = recommended_session_timeout(lifetime_hint, interval);
  const std::string advice = "; set ssl_session_timeout " + std::to_string(recommended) + "s;";
  if (found->empty() && kNginxDefaultSessionTimeout > recommended) {
    warnings.push_back("nginx's default ssl_session_timeout (300 s) exceeds " +
                       std::to_string(recommended) + " s, stek's lifetime hint of " +
                       std::to_string(lifetime_hint) + " s less a margin" + advice);
  }
  for (const SessionTimeout& t : *found) {
    if (t.seconds > lifetime_hint) {
      warnings.push_back(t.where + ": ssl_session_timeout " + std::to_string(t.seconds) +
                         " s exceeds stek's lifetime hint of " + std::to_string(lifetime_hint) +
                         " s: clients would keep tickets that no key opens any more" + advice);
    } else if (t.seconds > recommended) {
      warnings.push_back(t.where + ": ssl_session_timeout " + std::to_string(t.seconds) +
                         " s is within " + std::to_string(lifetime_hint - recommended) +
                         " s of stek's lifetime hint of " + std::to_string(lifetime_hint) +
                         " s, too little margin for clock skew, reloads and agent downtime "
                         "(docs/design.md, bounds): a ticket may be refused near the end of "
                         "its life" +
                         advice);
    }
  }
  return warnings;
}

}  // namespace stek::agent

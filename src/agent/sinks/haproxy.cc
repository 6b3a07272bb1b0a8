// The HAProxy sink.
#include "haproxy.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

#include <spdlog/spdlog.h>

#include "stek/bytes.h"
#include "stek/file.h"

#include "../haproxy_cli.h"
#include "own_file.h"

namespace stek::agent {

namespace fs = std::filesystem;

namespace {

// HAProxy's record: name | AES | HMAC (its struct tls_sess_key), 48 or 80 bytes.
SecretBytes record_of(const TicketKey& key) {
  const ByteView aes = key.aes_key().view();
  const ByteView hmac = key.hmac_key().view();
  SecretBytes out(kKeyNameSize + aes.size() + hmac.size());
  std::memcpy(out.data(), key.name().data(), kKeyNameSize);
  std::memcpy(out.data() + kKeyNameSize, aes.data(), aes.size());
  std::memcpy(out.data() + kKeyNameSize + aes.size(), hmac.data(), hmac.size());
  return out;
}

bool same(const SecretBytes& a, const SecretBytes& b) {
  return a.size() == b.size() && std::equal(a.data(), a.data() + a.size(), b.data());
}

bool same_file(const std::string& listed, const fs::path& ours) {
  if (listed == ours.string()) return true;
  std::error_code ec1, ec2;
  const fs::path a = fs::weakly_canonical(listed, ec1);
  const fs::path b = fs::weakly_canonical(ours, ec2);
  return !ec1 && !ec2 && a == b;
}

// HAProxy's time syntax: a number and an optional unit (us, ms, s, m, h, d); seconds by
// default for tune.ssl.lifetime.
std::optional<std::int64_t> parse_seconds(std::string_view v) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || n < 0) return std::nullopt;
  const std::string_view unit(end, static_cast<std::size_t>(v.data() + v.size() - end));
  if (unit.empty() || unit == "s") return n;
  if (unit == "ms") return n / 1000;
  if (unit == "us") return n / 1000000;
  if (unit == "m") return n * 60;
  if (unit == "h") return n * 3600;
  if (unit == "d") return n * 86400;
  return std::nullopt;
}

}  // namespace

Result<std::vector<SecretBytes>> haproxy_slots(const KeyRing& ring, std::size_t n) {
  if (n < 2) return make_error(Errc::unsupported, "HAProxy lists fewer than 2 ticket keys");
  const RingKey& current = ring.encrypting();
  const RingKey* next = &current;
  std::vector<const RingKey*> older;  // decrypt-only keys, newest first (the ring's order)
  for (const RingKey& k : ring.keys()) {
    if (k.meta.role == KeyRole::next && next == &current) next = &k;
    if (k.meta.role == KeyRole::decrypt && older.size() < n - 2) older.push_back(&k);
  }
  if (older.empty()) older.push_back(&current);
  while (older.size() < n - 2) older.push_back(older.back());  // repeat the oldest
  std::vector<SecretBytes> slots;
  for (auto it = older.rbegin(); it != older.rend() && slots.size() < n - 2; ++it) {
    slots.push_back(record_of((*it)->key));
  }
  slots.push_back(record_of(current.key));
  slots.push_back(record_of(next->key));
  for (const SecretBytes& s : slots) {
    if (s.size() != slots.front().size()) {
      return make_error(Errc::unsupported,
                        "HAProxy cannot mix 48- and 80-byte keys; the ring holds both");
    }
  }
  return slots;
}

std::size_t keys_to_push(const std::vector<SecretBytes>& current,
                         const std::vector<SecretBytes>& desired) {
  const std::size_t n = desired.size();
  if (current.size() != n) return n;
  for (std::size_t k = 0; k < n; ++k) {
    bool match = true;
    for (std::size_t i = k; i < n && match; ++i) match = same(current[i], desired[i - k]);
    if (match) return k;
  }
  return n;
}

std::int64_t haproxy_lifetime_limit(const Schedule& schedule, std::size_t slots) {
  const auto previous = static_cast<std::int64_t>(slots < 2 ? 0 : slots - 2);
  return std::min(schedule.history(), previous) * schedule.interval();
}

Result<std::optional<std::int64_t>> parse_haproxy_ssl_lifetime(std::string_view cfg) {
  static const char* const kSections[] = {
      "global",   "defaults", "frontend", "backend",     "listen", "peers", "resolvers",
      "userlist", "mailers",  "program",  "http-errors", "ring",   "cache", "fcgi-app"};
  std::optional<std::int64_t> found;
  bool global = false;
  std::size_t line_no = 0;
  while (!cfg.empty()) {
    const std::size_t end = cfg.find('\n');
    std::string_view line = cfg.substr(0, end);
    cfg = end == std::string_view::npos ? std::string_view{} : cfg.substr(end + 1);
    ++line_no;
    if (const std::size_t hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    std::vector<std::string_view> words;
    for (std::size_t i = 0; i < line.size();) {
      while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
      std::size_t j = i;
      while (j < line.size() && !std::isspace(static_cast<unsigned char>(line[j]))) ++j;
      if (j > i) words.push_back(line.substr(i, j - i));
      i = j;
    }
    if (words.empty()) continue;
    if (std::find(std::begin(kSections), std::end(kSections), words[0]) != std::end(kSections)) {
      global = words[0] == "global";
      continue;
    }
    if (!global || words[0] != "tune.ssl.lifetime") continue;
    auto seconds = words.size() == 2 ? parse_seconds(words[1]) : std::nullopt;
    if (!seconds) {
      return make_error(Errc::bad_format, "line " + std::to_string(line_no) +
                                              ": tune.ssl.lifetime needs one time value");
    }
    found = seconds;  // the last one wins, as in HAProxy
  }
  return found;
}

HaproxySink::HaproxySink(HaproxySinkOptions options)
    : options_(std::move(options)),
      name_("haproxy:" + options_.path.string()),
      reload_(std::move(options_.reloader)) {}

Result<std::vector<SecretBytes>> HaproxySink::desired(const KeyRing* ring, Epoch epoch) {
  if (ring != nullptr) {
    keyless_epoch_.reset();
    keyless_.clear();
    return haproxy_slots(*ring, slot_count_);
  }
  // No stek key covers the epoch: expired keys must go, so HAProxy gets keys of its own,
  // fresh each epoch (what nginx does at each reload), and resumes only on this host.
  if (keyless_epoch_ != epoch || keyless_.size() != slot_count_) {
    if (options_.random == nullptr) {
      return make_error(Errc::invalid_argument, "no random source for host-local keys");
    }
    keyless_.clear();
    for (std::size_t i = 0; i < slot_count_; ++i) {
      STEK_ASSIGN_OR_RETURN(TicketKey key, random_ticket_key(*options_.random, KeySize::k80));
      keyless_.push_back(record_of(key));
    }
    keyless_epoch_ = epoch;
  }
  std::vector<SecretBytes> out;
  for (const SecretBytes& k : keyless_) out.push_back(k.clone());
  return out;
}

Result<bool> HaproxySink::write_file(const std::vector<SecretBytes>& slots) {
  SecretString text;
  for (const SecretBytes& s : slots) {
    const SecretBytes line = to_base64(s.view());
    text.append(reinterpret_cast<const char*>(line.data()), line.size());
    text += '\n';
  }
  STEK_TRY(check_own_file(options_.path));
  return write_file_if_changed(options_.path, as_bytes({text.data(), text.size()}), 0600);
}

Result<std::size_t> HaproxySink::apply_live(std::vector<SecretBytes>& slots, const KeyRing* ring,
                                            Epoch epoch, SinkReport& report) {
  const HaproxyCli cli(*options_.socket, options_.timeout);
  STEK_ASSIGN_OR_RETURN(SecretString refs_text, cli.command("show tls-keys"));
  STEK_ASSIGN_OR_RETURN(auto refs, parse_tls_keys_refs({refs_text.data(), refs_text.size()}));
  const auto ref = std::find_if(refs.begin(), refs.end(), [&](const TlsKeysRef& r) {
    return same_file(r.file, options_.path);
  });
  if (ref == refs.end()) {
    return make_error(Errc::config, "HAProxy (" + options_.socket->string() +
                                        ") loads no tls-ticket-keys " + options_.path.string() +
                                        ": name this file in its bind lines' tls-ticket-keys");
  }
  const std::string id = "#" + std::to_string(ref->id);
  auto read_keys = [&]() -> Result<std::vector<SecretBytes>> {
    STEK_ASSIGN_OR_RETURN(SecretString dump, cli.command("show tls-keys " + id));
    return parse_tls_keys_dump({dump.data(), dump.size()});
  };
  STEK_ASSIGN_OR_RETURN(auto current, read_keys());
  if (current.size() != slot_count_) {
    // HAProxy was built with another TLS_TICKETS_NO: map the ring onto its number of keys.
    slot_count_ = current.size();
    STEK_ASSIGN_OR_RETURN(slots, desired(ring, epoch));
    STEK_ASSIGN_OR_RETURN(bool wrote, write_file(slots));
    if (wrote) ++report.files_written;
  }
  if (current.front().size() != slots.front().size()) {
    return make_error(Errc::config, "HAProxy holds " + std::to_string(current.front().size()) +
                                        "-byte keys for " + options_.path.string() +
                                        " and cannot take " + std::to_string(slots.front().size()) +
                                        "-byte keys at run time: restart it on stek's file");
  }
  const std::size_t push = keys_to_push(current, slots);
  for (std::size_t i = slots.size() - push; i < slots.size(); ++i) {
    SecretString command = "set ssl tls-key ";
    command.append(id);
    command += ' ';
    const SecretBytes b64 = to_base64(slots[i].view());
    command.append(reinterpret_cast<const char*>(b64.data()), b64.size());
    STEK_ASSIGN_OR_RETURN(SecretString answer, cli.command({command.data(), command.size()}));
    STEK_TRY(check_set_tls_key_answer({answer.data(), answer.size()}));
  }
  if (push > 0) {
    STEK_ASSIGN_OR_RETURN(auto after, read_keys());
    if (keys_to_push(after, slots) != 0) {
      return make_error(Errc::conflict, "after set ssl tls-key, HAProxy (" +
                                            options_.socket->string() +
                                            ") lists other keys: does something else set them?");
    }
  }
  return push;
}

Result<SinkReport> HaproxySink::apply(const KeyRing* ring, Epoch epoch) {
  SinkReport report;
  STEK_ASSIGN_OR_RETURN(auto slots, desired(ring, epoch));
  STEK_ASSIGN_OR_RETURN(bool wrote, write_file(slots));
  if (wrote) ++report.files_written;
  if (wrote) reload_.owe();
  if (options_.socket) {
    auto live = apply_live(slots, ring, epoch, report);
    if (live.ok()) {
      if (falling_back_)
        spdlog::info("{}: runtime API {} answers again", name_, options_.socket->string());
      falling_back_ = false;
      reload_.forgive();  // HAProxy's own listing confirmed the keys
      if (*live > 0) {
        spdlog::info("{}: set {} key(s) through the runtime API {} (no reload)", name_, *live,
                     options_.socket->string());
      }
      return report;
    }
    // HAProxy answered and refused: a reload would not help either.
    if (live.error().code != Errc::not_found && live.error().code != Errc::io) {
      return live.error();
    }
    if (!falling_back_) {
      spdlog::warn("{}: runtime API unavailable ({}); falling back to the key file and {}", name_,
                   live.error().message,
                   reload_.can_reload() ? "a reload" : "no reload (reload = \"none\")");
    }
    falling_back_ = true;
  }
  auto reloaded = reload_.settle(false);
  if (!reloaded.ok()) return reloaded.error().with_context("reload");
  report.reloaded = *reloaded;
  return report;
}

std::vector<std::string> HaproxySink::check(const Schedule& schedule) const {
  const std::int64_t limit = haproxy_lifetime_limit(schedule, slot_count_);
  if (reported_limit_ != limit) {
    reported_limit_ = limit;
    spdlog::info(
        "{}: HAProxy holds {} ticket keys (previous, current, next): under this schedule the "
        "longest lifetime hint it can honour is {} s (tune.ssl.lifetime {}); stek's own hint "
        "is {} s",
        name_, slot_count_, limit, limit, schedule.lifetime_hint());
  }
  std::vector<std::string> warnings;
  if (!options_.haproxy_cfg) return warnings;
  auto text = read_file(*options_.haproxy_cfg, 4 << 20);
  if (!text.ok()) {
    warnings.push_back("cannot check tune.ssl.lifetime: " + text.error().message);
    return warnings;
  }
  auto lifetime = parse_haproxy_ssl_lifetime(as_chars(text->view()));
  if (!lifetime.ok()) {
    warnings.push_back(options_.haproxy_cfg->string() + ": " + lifetime.error().message);
    return warnings;
  }
  const std::string fix =
      "; set tune.ssl.lifetime " + std::to_string(limit) + " in its global section";
  if (!*lifetime && kHaproxyDefaultLifetimeHint > limit) {
    warnings.push_back(options_.haproxy_cfg->string() +
                       ": no tune.ssl.lifetime, so HAProxy promises clients OpenSSL's default " +
                       std::to_string(kHaproxyDefaultLifetimeHint) + " s, longer than the " +
                       std::to_string(limit) + " s its " + std::to_string(slot_count_) +
                       " ticket keys can honour" + fix);
  } else if (*lifetime && **lifetime > limit) {
    warnings.push_back(options_.haproxy_cfg->string() + ": tune.ssl.lifetime " +
                       std::to_string(**lifetime) + " s exceeds the " + std::to_string(limit) +
                       " s HAProxy's " + std::to_string(slot_count_) +
                       " ticket keys can honour: clients would keep tickets no key opens" + fix);
  }
  return warnings;
}

}  // namespace stek::agent

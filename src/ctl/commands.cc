// stekctl offline subcommands: keygen, inspect, convert, derive, demo.
#include "commands.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "stek/bytes.h"
#include "stek/derive.h"
#include "stek/file.h"

#include "time_text.h"

namespace stek::ctl {

int fail(Env& env, const Error& e) {
  env.err << "stekctl: " << e.message << "\n";
  return 1;
}

namespace {

std::string utc(std::optional<UnixSeconds> t) {
  if (!t) return "-";
  return log::rfc3339_utc(*t);
}

std::string size_text(const TicketKey& k) {
  if (auto s = k.size()) return std::to_string(static_cast<int>(*s));
  return fmt::format("{}+{}", k.hmac_key().size(), k.aes_key().size());
}

Result<SecretBytes> read_input(const std::string& path) {
  if (path != "-") return read_file(path);
  std::string data;  // stdin: bounded like files
  char buf[4096];
  ssize_t n;
  while ((n = ::read(0, buf, sizeof buf)) > 0) {
    data.append(buf, static_cast<std::size_t>(n));
    if (data.size() > kMaxKeyFileSize) {
      secure_wipe(data.data(), data.size());
      return make_error(Errc::bad_size, "standard input is larger than the key file limit");
    }
  }
  secure_wipe(buf, sizeof buf);
  SecretBytes out = SecretBytes::copy_of(as_bytes(data));
  secure_wipe(data.data(), data.size());
  return out;
}

Status write_output(const std::string& path, const SecretBytes& bytes, bool force, Env& env) {
  if (path == "-") {
    env.out.write(reinterpret_cast<const char*>(bytes.data()),
                  static_cast<std::streamsize>(bytes.size()));
    env.out.flush();
    return {};
  }
  std::error_code ec;
  if (!force && std::filesystem::exists(path, ec)) {
    return make_error(Errc::io, path + ": exists; pass --force to replace it");
  }
  return write_file_atomic(path, bytes.view(), 0600);
}

KeySize size_for(Format format, int requested) {
  if (auto s = format_key_size(format)) return *s;
  return requested == 48 ? KeySize::k48 : KeySize::k80;
}

bool format_has_next_slot(Format f) {
  return f == Format::haproxy48 || f == Format::haproxy80 || f == Format::json || f == Format::h2o;
}

RingKey with_schedule_meta(TicketKey key, const Schedule& schedule, Epoch epoch, UnixSeconds now) {
  KeyMeta meta;
  meta.role = schedule.role(epoch, now);
  meta.epoch = epoch;
  meta.not_before = schedule.not_before(epoch);
  meta.not_after = schedule.not_after(epoch);
  return {std::move(key), std::move(meta)};
}

void print_table(const KeyRing& ring, bool reveal, Env& env) {
  env.out << fmt::format("  {:<8} {:<32} {:>5} {:>9}  {:<20}  {:<20}  {}\n", "ROLE", "NAME", "SIZE",
                         "EPOCH", "NOT_BEFORE", "NOT_AFTER", "DOMAIN");
  for (const RingKey& k : ring.keys()) {
    env.out << fmt::format(
        "  {:<8} {:<32} {:>5} {:>9}  {:<20}  {:<20}  {}\n", key_role_name(k.meta.role),
        k.key.name_hex(), size_text(k.key), k.meta.epoch ? std::to_string(*k.meta.epoch) : "-",
        utc(k.meta.not_before), utc(k.meta.not_after), k.meta.domain.value_or("-"));
    if (reveal) {
      SecretString h = to_hex_secret(k.key.hmac_key().view());
      SecretString a = to_hex_secret(k.key.aes_key().view());
      env.out << "    hmac " << std::string_view(h.data(), h.size()) << "\n";
      env.out << "    aes  " << std::string_view(a.data(), a.size()) << "\n";
    }
  }
}

}  // namespace

int keygen(const KeygenArgs& args, Env& env) {
  const KeySize size = size_for(args.format, args.size);
  const bool has_next = format_has_next_slot(args.format);
  int count = args.count;
  if (count == 0) {
    count = (args.format == Format::haproxy48 || args.format == Format::haproxy80) ? 3
            : has_next                                                             ? 2
                                                                                   : 1;
  }
  auto schedule = Schedule::make(args.schedule);
  if (!schedule.ok()) return fail(env, schedule.error());
  const std::int64_t max_count = schedule->history() + (has_next ? 2 : 1);
  if (count < 1 || count > max_count) {
    return fail(env, make_error(Errc::invalid_argument,
                                fmt::format("--count must be 1 to {} (history + current{})",
                                            max_count, has_next ? " + next" : "")));
  }
  const UnixSeconds now = env.clock.now();
  const Epoch top = schedule->epoch_at(now) + (has_next ? 1 : 0);
  std::vector<RingKey> keys;
  for (int i = 0; i < count; ++i) {
    auto key = random_ticket_key(env.random, size);
    if (!key.ok()) return fail(env, key.error());
    keys.push_back(with_schedule_meta(std::move(key).value(), *schedule, top - i, now));
  }
  RingInfo info;
  info.schedule = args.schedule;
  info.generated_at = now;
  auto ring = KeyRing::make(std::move(keys), info);
  if (!ring.ok()) return fail(env, ring.error());
  auto bytes = write_key_file(args.format, *ring, {now});
  if (!bytes.ok()) return fail(env, bytes.error());
  if (auto s = write_output(args.out, *bytes, args.force, env); !s.ok())
    return fail(env, s.error());
  if (args.out != "-") {
    env.err << fmt::format("wrote {} ({}, {} key{}, encrypting key {}), mode 0600\n", args.out,
                           format_name(args.format), ring->size(), ring->size() == 1 ? "" : "s",
                           ring->encrypting().key.name_hex());
  }
  return 0;
}

int inspect(const InspectArgs& args, Env& env) {
  auto contents = read_input(args.path);
  if (!contents.ok()) return fail(env, contents.error());
  Format format;
  if (args.format) {
    format = *args.format;
  } else {
    auto detected = detect_format(contents->view());
    if (!detected.ok()) return fail(env, detected.error().with_context(args.path));
    format = *detected;
  }
  auto ring = read_key_file(format, contents->view(), {env.clock.now()});
  if (!ring.ok()) return fail(env, ring.error().with_context(args.path));

  if (args.json) {
    nlohmann::ordered_json doc;
    doc["path"] = args.path;
    doc["format"] = format_name(format);
    doc["ring_version"] = ring->info().version;
    if (const auto& s = ring->info().schedule) {
      doc["schedule"] = {
          {"interval", s->interval}, {"history", s->history}, {"lookahead", s->lookahead}};
    }
    doc["keys"] = nlohmann::ordered_json::array();
    for (const RingKey& k : ring->keys()) {
      nlohmann::ordered_json e;
      e["name"] = k.key.name_hex();
      e["role"] = key_role_name(k.meta.role);
      e["size"] = k.key.size() ? static_cast<int>(*k.key.size()) : 0;
      e["hmac_key_bytes"] = k.key.hmac_key().size();
      e["aes_key_bytes"] = k.key.aes_key().size();
      if (k.meta.domain) e["domain"] = *k.meta.domain;
      if (k.meta.epoch) e["epoch"] = *k.meta.epoch;
      if (k.meta.not_before) e["not_before"] = *k.meta.not_before;
      if (k.meta.not_after) e["not_after"] = *k.meta.not_after;
      if (k.meta.secret_version) e["secret_version"] = *k.meta.secret_version;
      if (args.reveal) {
        e["hmac_key"] = to_hex(k.key.hmac_key().view());
        e["aes_key"] = to_hex(k.key.aes_key().view());
      }
      doc["keys"].push_back(std::move(e));
    }
    env.out << doc.dump(2) << "\n";
    return 0;
  }
  env.out << fmt::format("{}: {}, {} key{}\n", args.path, format_name(format), ring->size(),
                         ring->size() == 1 ? "" : "s");
  if (const auto& s = ring->info().schedule) {
    env.out << fmt::format(
        "schedule: interval {} s, history {}, lookahead {}, lifetime hint {} s\n", s->interval,
        s->history, s->lookahead, s->history * s->interval);
  }
  print_table(*ring, args.reveal, env);
  if (format == Format::haproxy48 || format == Format::haproxy80) {
    if (ring->size() > 3) {
      env.out << fmt::format(
          "note: HAProxy (TLS_TICKETS_NO=3 by default) uses only the last 3 of "
          "these {} lines\n",
          ring->size());
    }
  }
  return 0;
}

int convert(const ConvertArgs& args, Env& env) {
  auto contents = read_input(args.in);
  if (!contents.ok()) return fail(env, contents.error());
  const UnixSeconds now = env.clock.now();
  auto ring = read_key_file(args.from, contents->view(), {now});
  if (!ring.ok()) return fail(env, ring.error().with_context(args.in));
  KeyRing source = std::move(ring).value();
  if (args.only_encrypting) {
    std::vector<RingKey> one;
    one.push_back(source.encrypting().clone());
    auto single = KeyRing::make(std::move(one), source.info());
    if (!single.ok()) return fail(env, single.error());
    source = std::move(single).value();
  }
  const bool to_48 = format_key_size(args.to) == KeySize::k48;
  if (args.project_48 && !to_48) {
    env.err << fmt::format("stekctl: --project-48 needs a 48-byte target format, not {}\n",
                           format_name(args.to));
    return 2;
  }
  const bool has_wide_keys =
      std::any_of(source.keys().begin(), source.keys().end(),
                  [](const RingKey& k) { return k.key.size() != KeySize::k48; });
  if (to_48 && has_wide_keys) {
    if (!args.project_48) {
      return fail(env, make_error(Errc::unsupported,
                                  std::string(format_name(args.to)) +
                                      " takes 48-byte keys and the input holds 80-byte keys: pass "
                                      "--project-48 to write each key's 48-byte projection (same "
                                      "name, first 16 bytes of its HMAC and AES keys; AES-256 "
                                      "becomes AES-128)"));
    }
    auto projected = project_ring_to_48(source);
    if (!projected.ok()) return fail(env, projected.error());
    source = std::move(projected).value();
    env.err << fmt::format(
        "projected {} key{} to 48 bytes: kept names and the first 16 bytes of each HMAC and AES "
        "key, dropped the other 16 bytes of each\n",
        source.size(), source.size() == 1 ? "" : "s");
  }
  auto bytes = write_key_file(args.to, source, {now});
  if (!bytes.ok()) return fail(env, bytes.error());
  if (auto s = write_output(args.out, *bytes, args.force, env); !s.ok())
    return fail(env, s.error());
  if (args.out != "-") {
    env.err << fmt::format("wrote {} ({} -> {}, encrypting key {})\n", args.out,
                           format_name(args.from), format_name(args.to),
                           source.encrypting().key.name_hex());
  }
  return 0;
}

int derive(const DeriveArgs& args, Env& env) {
  auto epoch_secret = from_hex(args.epoch_secret_hex);
  if (!epoch_secret.ok()) return fail(env, epoch_secret.error().with_context("--epoch-secret"));
  auto domain_secret = from_hex(args.domain_secret_hex);
  if (!domain_secret.ok()) return fail(env, domain_secret.error().with_context("--domain-secret"));
  auto schedule = Schedule::make(args.schedule);
  if (!schedule.ok()) return fail(env, schedule.error());
  const KeySize size = size_for(args.format, 80);
  auto key =
      derive_ticket_key(domain_secret->view(), epoch_secret->view(), args.domain, args.epoch, size);
  if (!key.ok()) return fail(env, key.error());
  // The derived key is shown as the encrypting key of its own epoch.
  RingKey entry = with_schedule_meta(std::move(key).value(), *schedule, args.epoch,
                                     schedule->epoch_start(args.epoch));
  entry.meta.domain = args.domain;
  std::vector<RingKey> keys;
  keys.push_back(std::move(entry));
  RingInfo info;
  info.schedule = args.schedule;
  info.generated_at = env.clock.now();
  auto ring = KeyRing::make(std::move(keys), info);
  if (!ring.ok()) return fail(env, ring.error());
  auto bytes = write_key_file(args.format, *ring, {env.clock.now()});
  if (!bytes.ok()) return fail(env, bytes.error());
  if (auto s = write_output(args.out, *bytes, args.force, env); !s.ok())
    return fail(env, s.error());
  if (args.out != "-") {
    env.err << fmt::format("wrote {} ({}, K({}, {}) = key name {})\n", args.out,
                           format_name(args.format), args.domain, args.epoch,
                           ring->encrypting().key.name_hex());
  }
  return 0;
}

int demo(const DemoArgs& args, Env& env) {
  auto schedule = Schedule::make(args.schedule);
  if (!schedule.ok()) return fail(env, schedule.error());
  const UnixSeconds now = env.clock.now();
  const EpochRange window = schedule->held_window(now);
  env.out << fmt::format(
      "stek demo: in-memory key schedule, no files, no network\n"
      "schedule: interval {} s, history {} epochs, lookahead {} epochs, lifetime hint {} s\n"
      "now {} = epoch {}; hosts hold epochs {}..{}; runway without the key server {} s\n\n",
      schedule->interval(), schedule->history(), schedule->lookahead(), schedule->lifetime_hint(),
      utc(now), schedule->epoch_at(now), window.first, window.last, schedule->runway(now));

  // Fleet-wide epoch secrets G_e, one per epoch of the window, and one domain secret D_d
  // per domain.
  std::map<Epoch, SecretBytes> epoch_secrets;
  for (Epoch e = window.first; e <= window.last; ++e) {
    auto g = random_secret(env.random, kEpochSecretSize);
    if (!g.ok()) return fail(env, g.error());
    epoch_secrets.emplace(e, std::move(g).value());
  }
  std::vector<KeyRing> rings;
  for (const std::string& domain : args.domains) {
    auto d = random_secret(env.random, kDomainSecretSize);
    if (!d.ok()) return fail(env, d.error());
    std::vector<RingKey> keys;
    for (Epoch e = window.last; e >= window.first; --e) {
      auto key = derive_ticket_key(d->view(), epoch_secrets.at(e).view(), domain, e);
      if (!key.ok()) return fail(env, key.error());
      RingKey entry = with_schedule_meta(std::move(key).value(), *schedule, e, now);
      entry.meta.domain = domain;
      entry.meta.secret_version = 1;
      keys.push_back(std::move(entry));
    }
    RingInfo info;
    info.schedule = args.schedule;
    auto ring = KeyRing::make(std::move(keys), info);
    if (!ring.ok()) return fail(env, ring.error());
    env.out << fmt::format("domain {}: {} keys held, key name {} encrypts\n", domain, ring->size(),
                           ring->encrypting().key.name_hex());
    print_table(*ring, false, env);
    env.out << "\n";
    rings.push_back(std::move(ring).value());
  }

  // Keys must differ across domains: one stolen location exposes only itself.
  std::size_t shared = 0;
  for (std::size_t i = 0; i < rings.size(); ++i) {
    for (std::size_t j = i + 1; j < rings.size(); ++j) {
      for (const RingKey& k : rings[i].keys()) shared += rings[j].find(k.key.name()) ? 1 : 0;
    }
  }
  env.out << fmt::format("key names shared between domains: {}\n", shared);

  const UnixSeconds later = schedule->next_boundary(now);
  auto rotated = rings.front().at(*schedule, later);
  if (!rotated.ok()) return fail(env, rotated.error());
  const KeyRing& before = rings.front();
  auto old = rotated->find(before.encrypting().key.name());
  env.out << fmt::format(
      "after the rotation at {} (domain {}): key {} encrypts; the old current key {} still opens "
      "tickets and renews them: {}\n",
      utc(later), args.domains.front(), rotated->encrypting().key.name_hex(),
      before.encrypting().key.name_hex(), old && old->renew ? "yes" : "NO");
  return shared == 0 && old && old->renew ? 0 : 1;
}

}  // namespace stek::ctl

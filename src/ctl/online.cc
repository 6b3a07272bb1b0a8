// Admin API calls and their human-readable output.
#include "online.h"

#include <ostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "api/http.h"

namespace stek::ctl {

namespace {

using nlohmann::json;

Result<json> call(const OnlineArgs& args, const std::string& method, const std::string& target) {
  STEK_ASSIGN_OR_RETURN(net::Url url, net::parse_https_url(args.server));
  STEK_ASSIGN_OR_RETURN(
      net::HttpResponse res,
      net::https_request(args.tls, url, method, target, "", std::chrono::seconds(args.timeout)));
  // Admin answers hold no key bytes: plain strings from here on.
  const std::string text(res.body.begin(), res.body.end());
  json body = json::parse(text, nullptr, false);
  if (res.status != 200) {
    std::string why = body.is_object() && body.contains("error") && body["error"].is_string()
                          ? body["error"].get<std::string>()
                          : text;
    if (res.status == 403) why += " (is this an admin certificate signed by stekd's client CA?)";
    return make_error(Errc::io, fmt::format("stekd answered {}: {}", res.status, why));
  }
  if (body.is_discarded())
    return make_error(Errc::bad_format, "stekd sent a body that is not JSON");
  return body;
}

}  // namespace

int status(const OnlineArgs& args, Env& env) {
  auto s = call(args, "GET", std::string(api::kAdminStatusPath));
  if (!s.ok()) return fail(env, s.error());
  if (args.json) {
    env.out << s->dump(2) << "\n";
    return 0;
  }
  const json& j = *s;
  env.out << fmt::format(
      "epoch {} ({}), interval {} s, history {}, lookahead {}, lifetime hint {} s\n",
      j["epoch"].get<long long>(), j["healthy"].get<bool>() ? "healthy" : "UNHEALTHY",
      j["schedule"]["interval"].get<long long>(), j["schedule"]["history"].get<long long>(),
      j["schedule"]["lookahead"].get<long long>(), j["schedule"]["lifetime_hint"].get<long long>());
  if (j["epochs_held"].size() == 2) {
    env.out << fmt::format("epoch secrets held: {}..{}\n", j["epochs_held"][0].get<long long>(),
                           j["epochs_held"][1].get<long long>());
  }
  env.out << fmt::format(
      "agents: {} known, {} connected, {} stale\n", j["agents"]["known"].get<long long>(),
      j["agents"]["connected"].get<long long>(), j["agents"]["stale"].get<long long>());
  env.out << fmt::format("  {:<24} {:>16} {:>14}\n", "DOMAIN", "RING VERSION", "SECRET VERSION");
  for (const auto& d : j["domains"]) {
    env.out << fmt::format("  {:<24} {:>16} {:>14}\n", d["name"].get<std::string>(),
                           d["ring_version"].get<unsigned long long>(),
                           d["secret_version"].get<unsigned long long>());
  }
  return 0;
}

int agents(const OnlineArgs& args, Env& env) {
  auto a = call(args, "GET", std::string(api::kAdminAgentsPath));
  if (!a.ok()) return fail(env, a.error());
  if (args.json) {
    env.out << a->dump(2) << "\n";
    return 0;
  }
  // SERVED columns are what stekd sent the host; HOLDS TO may come from the agent's own claim
  // (wait=), so an operator checks a rotation against SERVED RING.
  const UnixSeconds now = env.clock.now();
  env.out << fmt::format("{:<24} {:<24} {:>10} {:>20} {:>14} {:>10} {:>9} {:>6}\n", "HOST",
                         "DOMAINS", "SEEN (s)", "SERVED RING", "SERVED SECRETS", "HOLDS TO",
                         "CONNECTED", "STALE");
  for (const auto& e : *a) {
    std::string domains;
    for (const auto& d : e["domains"])
      domains += (domains.empty() ? "" : ",") + d.get<std::string>();
    std::string ring = "-";
    std::string secrets = "-";
    if (e.contains("served") && e["served"].is_object()) {
      ring = std::to_string(e["served"]["ring_version"].get<unsigned long long>());
      secrets.clear();
      for (const auto& v : e["served"]["secret_versions"])
        secrets += (secrets.empty() ? "" : ",") + std::to_string(v.get<unsigned long long>());
    }
    env.out << fmt::format(
        "{:<24} {:<24} {:>10} {:>20} {:>14} {:>10} {:>9} {:>6}\n", e["host"].get<std::string>(),
        domains, now - e["last_seen"].get<long long>(), ring, secrets.empty() ? "-" : secrets,
        e["holds_through_epoch"].is_null()
            ? std::string("-")
            : std::to_string(e["holds_through_epoch"].get<long long>()),
        e["connected"].get<bool>() ? "yes" : "no", e["stale"].get<bool>() ? "STALE" : "no");
  }
  return 0;
}

int rotate_domain_secret(const OnlineArgs& args, const std::string& domain, Env& env) {
  auto r = call(args, "POST", api::rotate_secret_path(domain));
  if (!r.ok()) return fail(env, r.error());
  if (args.json) {
    env.out << r->dump(2) << "\n";
    return 0;
  }
  env.out << fmt::format(
      "domain {}: new secret version {}, ring version {}; agents are being sent the new ring, "
      "and every ticket issued under the old secret no longer resumes\n",
      (*r)["domain"].get<std::string>(), (*r)["secret_version"].get<unsigned long long>(),
      (*r)["ring_version"].get<unsigned long long>());
  return 0;
}

int deny(const OnlineArgs& args, const std::string& action, const std::string& host, Env& env) {
  if (action == "list") {
    auto r = call(args, "GET", std::string(api::kAdminDenyPath));
    if (!r.ok()) return fail(env, r.error());
    if (args.json) {
      env.out << r->dump(2) << "\n";
      return 0;
    }
    for (const auto& h : (*r)["denied_hosts"]) env.out << h.get<std::string>() << "\n";
    return 0;
  }
  if (action != "add" && action != "remove") {
    env.err << "stekctl: deny: expected add, remove or list, got " << action << "\n";
    return 2;
  }
  if (host.empty()) {
    env.err << "stekctl: deny " << action << ": name the HOST\n";
    return 2;
  }
  const bool add = action == "add";
  auto r = call(args, add ? "POST" : "DELETE", api::deny_host_path(host));
  if (!r.ok()) return fail(env, r.error());
  if (args.json) {
    env.out << r->dump(2) << "\n";
    return 0;
  }
  const bool changed = (*r)["changed"].get<bool>();
  if (add) {
    env.out << fmt::format("host {} {}: it gets 403 on every request and its open polls end\n",
                           host, changed ? "denied" : "was already denied");
  } else {
    env.out << fmt::format("host {} {}\n", host,
                           changed ? "removed from the deny-list" : "was not denied");
  }
  return 0;
}

}  // namespace stek::ctl

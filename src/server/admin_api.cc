// The admin API.
#include "admin_api.h"

#include <spdlog/spdlog.h>

#include "stek/derive.h"

#include "api/http.h"
#include "api/percent.h"
#include "server_status.h"

namespace stek::server {

using nlohmann::json;

namespace {

json status_json(const ServerStatus& s) {
  json domains = json::array();
  for (const DomainStatus& d : s.domains) {
    domains.push_back(
        {{"name", d.name}, {"ring_version", d.ring_version}, {"secret_version", d.secret_version}});
  }
  return {{"epoch", s.epoch},
          {"healthy", s.healthy},
          {"schedule",
           {{"interval", s.schedule.interval},
            {"history", s.schedule.history},
            {"lookahead", s.schedule.lookahead},
            {"lifetime_hint", s.lifetime_hint}}},
          {"epochs_held",
           s.epochs_held ? json{s.epochs_held->first, s.epochs_held->last} : json::array()},
          {"domains", domains},
          {"agents",
           {{"known", s.agent_counts.known},
            {"connected", s.agent_counts.connected},
            {"stale", s.agent_counts.stale}}}};
}

json agents_json(const ServerStatus& s) {
  json out = json::array();
  for (const AgentStatus& a : s.agents) {
    json e = {{"host", a.host},           {"domains", a.domains},     {"address", a.address},
              {"last_seen", a.last_seen}, {"connected", a.connected}, {"stale", a.stale}};
    e["holds_through_epoch"] = a.holds_through_epoch ? json(*a.holds_through_epoch) : json(nullptr);
    e["claimed_ring_version"] =
        a.claimed_ring_version ? json(*a.claimed_ring_version) : json(nullptr);
    e["served"] = a.served ? json{{"ring_version", a.served->ring_version},
                                  {"secret_versions", a.served->secret_versions},
                                  {"through_epoch", a.served->through_epoch},
                                  {"at", a.served->at}}
                           : json(nullptr);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

AdminApi::AdminApi(KeyService& keys, const AgentRegistry& agents, WaitList& waits, AuditSink& audit,
                   const Clock& clock, DenyList& denied, OnDenied on_denied)
    : keys_(keys),
      agents_(agents),
      waits_(waits),
      audit_(audit),
      clock_(clock),
      denied_(denied),
      on_denied_(std::move(on_denied)) {}

HttpResponse AdminApi::handle(const HttpRequest& request, std::string_view path) {
  HttpResponse r = dispatch(request, path);
  if (r.status >= 400) refused(request, path, r);
  return r;
}

nlohmann::json AdminApi::who(const HttpRequest& request, std::string_view path) {
  const auto& id = request.peer.identity;
  return {{"actor", id ? id->name : ""},
          {"peer", request.peer.address},
          {"serial", request.peer.serial},
          {"method", request.method},
          {"path", path}};
}

bool AdminApi::audited(std::string_view event, const HttpRequest& request, std::string_view path,
                       json fields) {
  json line = who(request, path);
  line.update(fields);
  return audit_.record(event, std::move(line)).ok();
}

void AdminApi::refused(const HttpRequest& request, std::string_view path, const HttpResponse& r) {
  std::string message;
  if (auto body = json::parse(r.text, nullptr, false); body.is_object()) {
    message = body.value("error", "");
  }
  const auto& id = request.peer.identity;
  spdlog::warn("admin {} {} from {} ({}, serial {}): {} {}", api::quote_for_message(request.method),
               api::quote_for_message(path), request.peer.address, id ? id->name : "no identity",
               request.peer.serial, r.status, message);
  (void)audited("admin_refused", request, path, {{"status", r.status}, {"error", message}});
}

HttpResponse AdminApi::dispatch(const HttpRequest& request, std::string_view path) {
  if (!request.peer.identity || request.peer.identity->kind != Identity::Kind::admin) {
    return error_response(403, "forbidden");
  }
  const std::string& actor = request.peer.identity->name;
  if (path == api::kAdminStatusPath) {
    if (request.method != "GET") return error_response(405, "use GET");
    if (!audited("admin_status", request, path)) return audit_unavailable("nothing shown");
    return json_response(200, status_json(collect_status(keys_, agents_, clock_.now())));
  }
  if (path == api::kAdminAgentsPath) {
    if (request.method != "GET") return error_response(405, "use GET");
    if (!audited("admin_agents", request, path)) return audit_unavailable("nothing shown");
    return json_response(200, agents_json(collect_status(keys_, agents_, clock_.now())));
  }
  if (path == api::kAdminDenyPath || path.starts_with(std::string(api::kAdminDenyPath) + "/")) {
    return deny(request, path);
  }
  auto domain = api::rotate_secret_domain(path);
  if (!domain.ok() && domain.error().code == Errc::not_found) {
    return error_response(404, "no such admin path");
  }
  if (request.method != "POST") return error_response(405, "use POST");
  if (!domain.ok()) return error_response(400, domain.error().message);
  if (!keys_.has_domain(*domain)) return error_response(404, "domain is not configured");
  if (!audited("admin_rotate_secret", request, path, {{"domain", *domain}})) {
    return audit_unavailable("rotation refused, nothing changed");
  }
  return rotate(actor, *domain);
}

HttpResponse AdminApi::audit_unavailable(const std::string& what) {
  return error_response(503, "the audit log cannot be written: " + what);
}

HttpResponse AdminApi::rotate(const std::string& actor, const std::string& domain) {
  // The deny-list as stored now, before the new ring exists: a host denied a moment ago
  // through another stekd replica (docs/etcd.md) must not receive it here. Not reading it
  // does not stop a compromise rotation; the list held stays in force.
  if (auto added = denied_.refresh(); !added.ok()) {
    spdlog::warn(
        "before the rotation of {}: the deny-list could not be read again ({}); the one "
        "held applies",
        domain, added.error().message);
  } else if (on_denied_) {
    for (const std::string& host : *added) on_denied_(host);
  }
  auto version = keys_.rotate_domain_secret(domain, clock_.now(), actor);
  if (!version.ok()) {
    spdlog::error("rotation of {} failed: {}", domain, version.error().message);
    if (audit_.failing()) return audit_unavailable("rotation refused, nothing changed");
    return error_response(500, "rotation failed: " + version.error().message);
  }
  spdlog::warn(
      "domain {} secret replaced (version {}) by {}: every ticket of the domain stops resuming",
      domain, *version, actor);
  waits_.ring_changed(domain);
  return json_response(200, {{"domain", domain},
                             {"secret_version", *version},
                             {"ring_version", keys_.ring_version(domain)}});
}

HttpResponse AdminApi::deny(const HttpRequest& request, std::string_view path) {
  const std::string& actor = request.peer.identity->name;
  if (path == api::kAdminDenyPath) {
    if (request.method != "GET") return error_response(405, "use GET");
    if (!audited("admin_deny_list", request, path)) return audit_unavailable("nothing shown");
    return json_response(200, {{"denied_hosts", denied_.hosts()}});
  }
  auto host = api::deny_path_host(path);
  if (!host.ok()) return error_response(400, host.error().message);
  if (request.method != "POST" && request.method != "DELETE") {
    return error_response(405, "use POST to deny a host, DELETE to allow it again");
  }
  if (auto valid = validate_domain_id(*host); !valid.ok()) {
    return error_response(400, "not a host id: " + valid.error().message);
  }
  const bool add = request.method == "POST";
  // The audit line comes first: a denial must be on record before it takes effect.
  if (!audited(add ? "host_denied" : "host_allowed", request, path, {{"host", *host}})) {
    return audit_unavailable("the deny-list is unchanged");
  }
  auto changed = add ? denied_.add(*host) : denied_.remove(*host);
  if (!changed.ok()) {
    const unsigned status = changed.error().code == Errc::invalid_argument ? 400 : 500;
    spdlog::error("deny-list change for {} failed: {}", api::quote_for_message(*host),
                  changed.error().message);
    return error_response(status, changed.error().message);
  }
  if (add) {
    spdlog::warn("host {} denied by {}: it gets 403 on every request from now on", *host, actor);
    if (on_denied_) on_denied_(*host);
  } else {
    spdlog::warn("host {} removed from the deny-list by {}", *host, actor);
  }
  return json_response(200, {{"host", *host}, {"denied", add}, {"changed", *changed}});
}

}  // namespace stek::server

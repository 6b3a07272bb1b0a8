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
  HttpResponse r = route(request, path);
  if (r.status != 200) {
    const Peer& peer = request.peer;
    const std::string who = peer.identity ? peer.identity->key() : "unidentified";
    spdlog::warn("admin call {} {} by {} from {} refused: {}", request.method,
                 api::quote_for_message(path), who, peer.address, r.status);
    audit_.record("admin_refused", {{"identity", who},
                                    {"address", peer.address},
                                    {"method", api::quote_for_message(request.method)},
                                    {"path", api::quote_for_message(path)},
                                    {"status", r.status}});
  }
  return r;
}

HttpResponse AdminApi::route(const HttpRequest& request, std::string_view path) {
  if (!request.peer.identity || request.peer.identity->kind != Identity::Kind::admin) {
    return error_response(403, "forbidden");
  }
  const std::string& actor = request.peer.identity->name;
  if (path == api::kAdminStatusPath) {
    if (request.method != "GET") return error_response(405, "use GET");
    audit_.record("admin_status", {{"actor", actor}});
    return json_response(200, status_json(collect_status(keys_, agents_, clock_.now())));
  }
  if (path == api::kAdminAgentsPath) {
    if (request.method != "GET") return error_response(405, "use GET");
    audit_.record("admin_agents", {{"actor", actor}});
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
  return rotate(actor, *domain);
}

HttpResponse AdminApi::rotate(const std::string& actor, const std::string& domain) {
  if (!keys_.has_domain(domain)) return error_response(404, "domain is not configured");
  auto version = keys_.rotate_domain_secret(domain, clock_.now(), actor);
  if (!version.ok()) {
    spdlog::error("rotation of {} failed: {}", domain, version.error().message);
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

}  // namespace stek::server

namespace stek::server {

HttpResponse AdminApi::deny(const HttpRequest& request, std::string_view path) {
  const std::string& actor = request.peer.identity->name;
  if (path == api::kAdminDenyPath) {
    if (request.method != "GET") return error_response(405, "use GET");
    audit_.record("admin_deny_list", {{"actor", actor}, {"address", request.peer.address}});
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
  audit_.record(add ? "host_denied" : "host_allowed",
                {{"actor", actor}, {"address", request.peer.address}, {"host", *host}});
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

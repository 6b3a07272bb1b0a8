// The admin API.
#include "admin_api.h"

#include <spdlog/spdlog.h>

#include "query.h"
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
                   const Clock& clock)
    : keys_(keys), agents_(agents), waits_(waits), audit_(audit), clock_(clock) {}

HttpResponse AdminApi::handle(const HttpRequest& request, std::string_view path) {
  if (!request.peer.identity || request.peer.identity->kind != Identity::Kind::admin) {
    return error_response(403, "forbidden");
  }
  const std::string& actor = request.peer.identity->name;
  if (path == "/v1/admin/status") {
    if (request.method != "GET") return error_response(405, "use GET");
    audit_.record("admin_status", {{"actor", actor}});
    return json_response(200, status_json(collect_status(keys_, agents_, clock_.now())));
  }
  if (path == "/v1/admin/agents") {
    if (request.method != "GET") return error_response(405, "use GET");
    audit_.record("admin_agents", {{"actor", actor}});
    return json_response(200, agents_json(collect_status(keys_, agents_, clock_.now())));
  }
  static constexpr std::string_view kDomains = "/v1/admin/domains/";
  static constexpr std::string_view kRotate = "/rotate-secret";
  if (path.starts_with(kDomains) && path.size() > kDomains.size() + kRotate.size() &&
      path.ends_with(kRotate)) {
    if (request.method != "POST") return error_response(405, "use POST");
    return rotate(actor,
                  path.substr(kDomains.size(), path.size() - kDomains.size() - kRotate.size()));
  }
  return error_response(404, "no such admin path");
}

HttpResponse AdminApi::rotate(const std::string& actor, std::string_view encoded_domain) {
  auto domain = percent_decode(encoded_domain);
  if (!domain.ok()) return error_response(400, domain.error().message);
  if (!keys_.has_domain(*domain)) return error_response(404, "domain is not configured");
  auto version = keys_.rotate_domain_secret(*domain, clock_.now(), actor);
  if (!version.ok()) {
    spdlog::error("rotation of {} failed: {}", *domain, version.error().message);
    return error_response(500, "rotation failed: " + version.error().message);
  }
  spdlog::warn(
      "domain {} secret replaced (version {}) by {}: every ticket of the domain stops resuming",
      *domain, *version, actor);
  waits_.ring_changed(*domain);
  return json_response(200, {{"domain", *domain},
                             {"secret_version", *version},
                             {"ring_version", keys_.ring_version(*domain)}});
}

}  // namespace stek::server

// Request routing and connection bookkeeping.
#include "api_router.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "api/http.h"
#include "api/query.h"

namespace stek::server {

ApiRouter::ApiRouter(const KeyService& keys, AgentRegistry& agents, WaitList& waits,
                     KeyringApi& keyring, AdminApi& admin, const DenyList& denied, AuditSink& audit)
    : keys_(keys),
      agents_(agents),
      waits_(waits),
      keyring_(keyring),
      admin_(admin),
      denied_(denied),
      audit_(audit) {}

bool ApiRouter::denied(const Peer& peer) const {
  return peer.identity && peer.identity->kind == Identity::Kind::agent &&
         denied_.contains(peer.identity->name);
}

HttpResponse ApiRouter::refuse(const Peer& peer, const std::string& reason) {
  const std::string who = peer.identity ? peer.identity->key() : "unidentified";
  spdlog::warn("refused {} from {}: {}", who, peer.address, reason);
  // Refused whether or not the line is written; not synced: a flood of refused clients
  // must not cost a disk flush each.
  (void)audit_.record_unsynced(
      "request_denied",
      {{"identity", who}, {"peer", peer.address}, {"serial", peer.serial}, {"reason", reason}});
  HttpResponse r = error_response(403, "forbidden");
  r.close = true;
  return r;
}

void ApiRouter::opened(const Peer& peer) {
  if (!peer.identity) return;
  if (peer.identity->kind == Identity::Kind::agent) {
    agent_hosts_.emplace(peer.connection, peer.identity->name);
  }
  // Only hosts of configured domains are agents; anything else just gets its 403s.
  const auto& domains = peer.identity->domains;
  const bool fleet_agent = std::any_of(domains.begin(), domains.end(),
                                       [&](const std::string& d) { return keys_.has_domain(d); });
  if (!agents_.connected(*peer.identity, peer.address, fleet_agent)) {
    over_limit_.insert(peer.connection);
  }
}

HttpReply ApiRouter::handle(const HttpRequest& request) {
  if (!request.peer.identity) {
    // The admin API audits its own refusals (with the certificate serial); others here.
    const std::string_view path = api::split_target(request.target).path;
    if (path.starts_with(api::kAdminPrefix)) {
      HttpResponse r = admin_.handle(request, path);
      r.close = true;
      return r;
    }
    return refuse(request.peer, request.peer.refusal.empty() ? "no verified client certificate"
                                                             : request.peer.refusal);
  }
  if (denied(request.peer)) return refuse(request.peer, "host is on the deny-list");
  if (over_limit_.contains(request.peer.connection)) {
    HttpResponse r = error_response(429, "too many connections for this identity");
    r.close = true;
    return r;
  }
  const auto [path, query_text] = api::split_target(request.target);
  auto query = api::parse_query(query_text);
  if (!query.ok()) return error_response(400, query.error().message);
  if (path == api::kKeyringPath) return keyring_.handle(request, *query);
  if (path.starts_with(api::kAdminPrefix)) return admin_.handle(request, path);
  return error_response(404, "no such path");
}

HttpResponse ApiRouter::resume(const Peer& peer) {
  if (denied(peer)) {
    waits_.take(peer.connection);
    return refuse(peer, "host is on the deny-list");
  }
  return keyring_.resume(peer);
}

void ApiRouter::end_polls_of(const std::string& host) {
  for (const auto& [id, name] : agent_hosts_) {
    if (name == host) waits_.wake(id);
  }
}

void ApiRouter::closed(const Peer& peer) {
  over_limit_.erase(peer.connection);
  agent_hosts_.erase(peer.connection);
  waits_.take(peer.connection);
  if (peer.identity) agents_.disconnected(*peer.identity);
}

}  // namespace stek::server

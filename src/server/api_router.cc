// Request routing and connection bookkeeping.
#include "api_router.h"

#include <algorithm>

#include "api/http.h"
#include "api/query.h"

namespace stek::server {

ApiRouter::ApiRouter(const KeyService& keys, AgentRegistry& agents, WaitList& waits,
                     KeyringApi& keyring, AdminApi& admin)
    : keys_(keys), agents_(agents), waits_(waits), keyring_(keyring), admin_(admin) {}

void ApiRouter::opened(const Peer& peer) {
  if (!peer.identity) return;
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
    // The admin API audits its refusals, this one too; elsewhere a 403 is all there is.
    const std::string_view path = api::split_target(request.target).path;
    HttpResponse r = path.starts_with(api::kAdminPrefix) ? admin_.handle(request, path)
                                                         : error_response(403, "forbidden");
    r.close = true;
    return r;
  }
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
  return keyring_.resume(peer);
}

void ApiRouter::closed(const Peer& peer) {
  over_limit_.erase(peer.connection);
  waits_.take(peer.connection);
  if (peer.identity) agents_.disconnected(*peer.identity);
}

}  // namespace stek::server

// GET /v1/keyring: authorisation by certificate domain, then the ring or a long poll.
#include "keyring_api.h"

#include <algorithm>
#include <optional>

#include <spdlog/spdlog.h>

#include "api/http.h"
#include "api/query.h"
#include "api/ring_version.h"

namespace stek::server {

KeyringApi::KeyringApi(KeyService& keys, AgentRegistry& agents, WaitList& waits, const Clock& clock,
                       std::int64_t long_poll_timeout, AuditSink& audit)
    : keys_(keys),
      agents_(agents),
      waits_(waits),
      clock_(clock),
      long_poll_timeout_(long_poll_timeout),
      audit_(audit) {}

std::int64_t KeyringApi::steady_ms() const {
  return clock_.elapsed_ms().value_or(clock_.now_ms());
}

void KeyringApi::stamp_time(HttpResponse& response, std::int64_t received_ms) const {
  // The hold is measured first, so both values describe the same moment.
  const std::int64_t held = std::max<std::int64_t>(0, steady_ms() - received_ms);
  response.headers.emplace_back(std::string(api::kServerTimeHeader),
                                std::to_string(clock_.now_ms()));
  response.headers.emplace_back(std::string(api::kHeldHeader), std::to_string(held));
}

HttpReply KeyringApi::handle(const HttpRequest& request,
                             const std::map<std::string, std::string>& query) {
  const std::int64_t received_ms = steady_ms();
  if (!request.peer.identity || request.peer.identity->kind != Identity::Kind::agent) {
    return error_response(403, "forbidden");
  }
  if (request.method != "GET") return error_response(405, "use GET");
  const Identity& id = *request.peer.identity;
  auto parsed = api::keyring_query(query);
  if (!parsed.ok()) return error_response(400, parsed.error().message);
  std::string domain = parsed->domain.value_or("");
  std::optional<std::uint64_t> wait;
  if (parsed->wait) wait = parsed->wait->wire();
  const std::int64_t timeout =
      parsed->timeout ? static_cast<std::int64_t>(std::min<std::uint64_t>(
                            *parsed->timeout, static_cast<std::uint64_t>(long_poll_timeout_)))
                      : long_poll_timeout_;
  if (domain.empty()) {
    if (id.domains.size() != 1) {
      return error_response(400, "this certificate names several domains: pass domain=");
    }
    domain = id.domains.front();
  }
  // Only the certificate's own domains, and only configured ones: 403 and nothing else.
  if (std::find(id.domains.begin(), id.domains.end(), domain) == id.domains.end() ||
      !keys_.has_domain(domain)) {
    return error_response(403, "forbidden");
  }
  if (!keys_.healthy(clock_.now())) return error_response(503, "key store not ready");
  agents_.saw(id);
  if (wait) {
    agents_.claims(id.name, *wait, parsed->wait->epoch() + keys_.schedule().lookahead());
  }
  const std::uint64_t version = keys_.ring_version(domain);
  if (!wait || version > *wait) return ring_response(domain, version, request.peer, received_ms);
  waits_.add(request.peer.connection, {domain, *wait, received_ms});
  return LongPoll{std::chrono::seconds(timeout)};
}

HttpResponse KeyringApi::resume(const Peer& peer) {
  const auto waiter = waits_.take(peer.connection);
  if (!waiter || !peer.identity) return error_response(500, "no long poll on this connection");
  const Identity& id = *peer.identity;
  agents_.saw(id);
  const std::uint64_t version = keys_.ring_version(waiter->domain);
  if (version > waiter->version) {
    return ring_response(waiter->domain, version, peer, waiter->received_ms);
  }
  HttpResponse r;
  r.status = 304;
  stamp_version(r, waiter->domain, id.name, version);
  stamp_time(r, waiter->received_ms);
  return r;
}

void KeyringApi::stamp_version(HttpResponse& response, const std::string& domain,
                               const std::string& host, std::uint64_t version) {
  response.headers.emplace_back(std::string(api::kRingVersionHeader), std::to_string(version));
  // A NUL cannot occur in a domain id, so the per-host key never meets a domain's own.
  auto& [known, id] = ring_ids_[keys_.per_host(domain) ? domain + '\0' + host : domain];
  if (known != version || id.empty()) {
    auto ring = keys_.ring(domain, host);
    if (!ring.ok() || !ring->info().id || ring->info().version != version) {
      spdlog::error("identity of ring version {} of {}: {}", version, domain,
                    ring.ok() ? "none" : ring.error().message);
      return;  // the answer stays valid without it; agents then compare the keys they get
    }
    known = version;
    id = *ring->info().id;
  }
  response.headers.emplace_back(std::string(api::kRingIdHeader), id);
}

ServedRing KeyringApi::served_ring(const std::string& domain, std::uint64_t version) const {
  ServedRing served;
  served.ring_version = version;
  served.through_epoch = keys_.current_epoch() + keys_.schedule().lookahead();
  // The versions of the keys actually sent, not only the newest: a scheduled replacement
  // leaves older epochs on the version they were made with. Read from the state, not by
  // deriving the ring again: ring_document() derived it once for every agent of the version.
  served.secret_versions = keys_.ring_secret_versions(domain);
  return served;
}

HttpResponse KeyringApi::ring_response(const std::string& domain, std::uint64_t version,
                                       const Peer& peer, std::int64_t received_ms) {
  const Identity& id = *peer.identity;
  auto doc = keys_.ring_document(domain, id.name);
  if (!doc.ok()) {
    spdlog::error("ring for {} failed: {}", domain, doc.error().message);
    return error_response(500, "ring derivation failed");
  }
  // No key leaves stekd unaudited.
  if (!audit_
           .record_unsynced("ring_delivered", {{"host", id.name},
                                               {"domain", domain},
                                               {"ring_version", version},
                                               {"peer", peer.address},
                                               {"serial", peer.serial}})
           .ok()) {
    return error_response(503, "the audit log cannot be written: no ring delivered");
  }
  agents_.served(id.name, served_ring(domain, version));
  HttpResponse r;
  r.secret = *doc;
  stamp_version(r, domain, id.name, version);
  stamp_time(r, received_ms);
  return r;
}

}  // namespace stek::server

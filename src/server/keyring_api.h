// KeyringApi: GET /v1/keyring (docs/api.md). Answers an agent with its own domain's ring at
// once when it is newer than the version the agent holds, else parks the request on the
// wait list as a long poll until the ring changes or the timeout passes. Every answer states
// the ring version and the identity of its keys, so agents can detect a split brain.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "stek/clock.h"

#include "agent_registry.h"
#include "audit.h"
#include "http_handler.h"
#include "key_service.h"
#include "wait_list.h"

namespace stek::server {

class KeyringApi {
 public:
  // long_poll_timeout: the longest wait, in seconds (server.long_poll_timeout). Every
  // delivery of a ring is audited first; none is made when the audit cannot be written.
  KeyringApi(KeyService& keys, AgentRegistry& agents, WaitList& waits, const Clock& clock,
             std::int64_t long_poll_timeout, AuditSink& audit);

  // One request with its decoded query.
  HttpReply handle(const HttpRequest& request, const std::map<std::string, std::string>& query);
  // The answer to a long poll that was woken or timed out: the ring if it is newer than the
  // agent's, else 304.
  HttpResponse resume(const Peer& peer);

 private:
  HttpResponse ring_response(const std::string& domain, std::uint64_t version, const Peer& peer,
                             std::int64_t received_ms);
  // Milliseconds on a clock that is not stepped when there is one, else the wall clock: for
  // how long a request was held.
  std::int64_t steady_ms() const;
  // States stekd's time on a keyring answer (api::kServerTimeHeader, api::kHeldHeader) for
  // a request that arrived at `received_ms` (steady_ms()).
  void stamp_time(HttpResponse& response, std::int64_t received_ms) const;
  // What the agent is sent with ring `version`, for the registry.
  ServedRing served_ring(const std::string& domain, std::uint64_t version) const;
  // States the ring version and its identity (api::kRingVersionHeader, api::kRingIdHeader)
  // of the ring `host` is served (its own for a host-scoped domain).
  void stamp_version(HttpResponse& response, const std::string& domain, const std::string& host,
                     std::uint64_t version);

  KeyService& keys_;
  AgentRegistry& agents_;
  WaitList& waits_;
  const Clock& clock_;
  std::int64_t long_poll_timeout_;
  AuditSink& audit_;
  // The identity of each ring's current version: (version, identity), made once per version
  // (it derives the ring's keys); keyed by domain, or by domain and host for a per-host domain.
  std::map<std::string, std::pair<std::uint64_t, std::string>> ring_ids_;
};

}  // namespace stek::server

// ApiRouter: stekd's HttpHandler. Refuses clients without a verified identity (403) or over
// their connection limit (429), decodes the query, and hands each path to its API; keeps the
// agent registry and the wait list in step with connections opening and closing.
#pragma once

#include <set>

#include "admin_api.h"
#include "agent_registry.h"
#include "http_handler.h"
#include "key_service.h"
#include "keyring_api.h"
#include "wait_list.h"

namespace stek::server {

class ApiRouter final : public HttpHandler {
 public:
  ApiRouter(const KeyService& keys, AgentRegistry& agents, WaitList& waits, KeyringApi& keyring,
            AdminApi& admin);

  void opened(const Peer& peer) override;
  HttpReply handle(const HttpRequest& request) override;
  HttpResponse resume(const Peer& peer) override;
  void closed(const Peer& peer) override;

 private:
  const KeyService& keys_;
  AgentRegistry& agents_;
  WaitList& waits_;
  KeyringApi& keyring_;
  AdminApi& admin_;
  std::set<ConnectionId> over_limit_;
};

}  // namespace stek::server

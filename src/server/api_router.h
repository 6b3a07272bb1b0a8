// ApiRouter: stekd's HttpHandler. Refuses clients without a verified identity (no certificate,
// not chaining to the client CA, revoked by a CRL) and deny-listed hosts (403, logged and
// audited), and clients over their connection limit (429); decodes the query, and hands each path
// to its API; keeps the agent registry and the wait list in step with connections opening and
// closing.
#pragma once

#include <map>
#include <set>
#include <string>

#include "admin_api.h"
#include "agent_registry.h"
#include "audit.h"
#include "deny_list.h"
#include "http_handler.h"
#include "key_service.h"
#include "keyring_api.h"
#include "wait_list.h"

namespace stek::server {

class ApiRouter final : public HttpHandler {
 public:
  ApiRouter(const KeyService& keys, AgentRegistry& agents, WaitList& waits, KeyringApi& keyring,
            AdminApi& admin, const DenyList& denied, AuditSink& audit);

  void opened(const Peer& peer) override;
  HttpReply handle(const HttpRequest& request) override;
  HttpResponse resume(const Peer& peer) override;
  void closed(const Peer& peer) override;

  // Ends the long polls of `host`'s connections now (it was just deny-listed): each is
  // answered 403 and closed.
  void end_polls_of(const std::string& host);

 private:
  bool denied(const Peer& peer) const;
  HttpResponse refuse(const Peer& peer, const std::string& reason);

  const KeyService& keys_;
  AgentRegistry& agents_;
  WaitList& waits_;
  KeyringApi& keyring_;
  AdminApi& admin_;
  const DenyList& denied_;
  AuditSink& audit_;
  std::set<ConnectionId> over_limit_;
  std::map<ConnectionId, std::string> agent_hosts_;  // open connections of host identities
};

}  // namespace stek::server

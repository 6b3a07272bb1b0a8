// AdminApi: /v1/admin/... for admin identities (docs/api.md): status, the agent list, and
// the compromise rotation of a domain secret, whose new ring goes to waiting agents at once.
// Every request is in the audit log with the admin's name.
#pragma once

#include <string_view>

#include "stek/clock.h"

#include "agent_registry.h"
#include "audit.h"
#include "http_handler.h"
#include "key_service.h"
#include "wait_list.h"

namespace stek::server {

class AdminApi {
 public:
  AdminApi(KeyService& keys, const AgentRegistry& agents, WaitList& waits, AuditSink& audit,
           const Clock& clock);

  // One request whose path starts with /v1/admin/.
  HttpResponse handle(const HttpRequest& request, std::string_view path);

 private:
  HttpResponse rotate(const std::string& actor, const std::string& domain);

  KeyService& keys_;
  const AgentRegistry& agents_;
  WaitList& waits_;
  AuditSink& audit_;
  const Clock& clock_;
};

}  // namespace stek::server

// AdminApi: /v1/admin/... for admin identities (docs/api.md): status, the agent list, and
// the compromise rotation of a domain secret, whose new ring goes to waiting agents at once.
// Every request is in the audit log, granted or refused, with the caller's name, address and
// certificate serial; a request that cannot be audited is refused with 503 and does nothing.
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
  HttpResponse dispatch(const HttpRequest& request, std::string_view path);
  HttpResponse rotate(const std::string& actor, const std::string& domain);
  // Audit of admin requests: who asked (name, peer address, certificate serial) and for what.
  static nlohmann::json who(const HttpRequest& request, std::string_view path);
  bool audited(std::string_view event, const HttpRequest& request, std::string_view path,
               nlohmann::json fields = nlohmann::json::object());
  void refused(const HttpRequest& request, std::string_view path, const HttpResponse& r);
  static HttpResponse audit_unavailable(const std::string& what);

  KeyService& keys_;
  const AgentRegistry& agents_;
  WaitList& waits_;
  AuditSink& audit_;
  const Clock& clock_;
};

}  // namespace stek::server

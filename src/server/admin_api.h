// AdminApi: /v1/admin/... for admin identities (docs/api.md): status, the agent list, and
// the compromise rotation of a domain secret, whose new ring goes to waiting agents at once,
// and the deny-list of hosts. Every request is in the audit log, granted or refused, with the
// caller's name, address and certificate serial; a request that cannot be audited is refused
// with 503 and does nothing. Refusals are also logged.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "stek/clock.h"

#include "agent_registry.h"
#include "audit.h"
#include "deny_list.h"
#include "http_handler.h"
#include "key_service.h"
#include "wait_list.h"

namespace stek::server {

class AdminApi {
 public:
  // `on_denied` is called with a host just added to the deny-list (stekd ends its polls).
  using OnDenied = std::function<void(const std::string& host)>;
  AdminApi(KeyService& keys, const AgentRegistry& agents, WaitList& waits, AuditSink& audit,
           const Clock& clock, DenyList& denied, OnDenied on_denied);

  // One request whose path starts with /v1/admin/.
  HttpResponse handle(const HttpRequest& request, std::string_view path);

 private:
  HttpResponse dispatch(const HttpRequest& request, std::string_view path);
  HttpResponse rotate(const std::string& actor, const std::string& domain);
  HttpResponse deny(const HttpRequest& request, std::string_view path);
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
  DenyList& denied_;
  OnDenied on_denied_;
};

}  // namespace stek::server

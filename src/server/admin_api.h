// AdminApi: /v1/admin/... for admin identities (docs/api.md): status, the agent list, and
// the compromise rotation of a domain secret, whose new ring goes to waiting agents at once,
// and the deny-list of hosts. Every request is in the audit log with the admin's name;
// refused ones (403, 404, 405, ...) with the peer address, and in the log.
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
  HttpResponse route(const HttpRequest& request, std::string_view path);
  HttpResponse rotate(const std::string& actor, const std::string& domain);
  HttpResponse deny(const HttpRequest& request, std::string_view path);

  KeyService& keys_;
  const AgentRegistry& agents_;
  WaitList& waits_;
  AuditSink& audit_;
  const Clock& clock_;
  DenyList& denied_;
  OnDenied on_denied_;
};

}  // namespace stek::server

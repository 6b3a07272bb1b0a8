// KeyServer: stekd's network side, composed of small parts: the mTLS transport
// (mtls_transport.h) with the API router as its handler (api_router.h: keyring API, admin
// API), the agent registry, the long-poll wait list, and the plain-HTTP metrics listener with
// the status page. It also wakes at every epoch boundary to run key maintenance.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "stek/clock.h"

#include "admin_api.h"
#include "agent_registry.h"
#include "api_router.h"
#include "audit.h"
#include "config.h"
#include "deny_list.h"
#include "key_service.h"
#include "keyring_api.h"
#include "metrics_listener.h"
#include "mtls_transport.h"
#include "server_status.h"
#include "wait_list.h"

namespace stek::server {

class KeyServer {
 public:
  // `denied` keeps the deny-list of hosts (deny_store.h: the file beside the state file, or
  // the record in etcd); it outlives the server.
  KeyServer(boost::asio::io_context& io, ServerConfig config, KeyService& keys, DenyStore& denied,
            const Clock& clock, AuditSink& audit);

  // Binds both ports and starts accepting; schedules key maintenance at epoch boundaries.
  Status start();
  // Stops accepting and closes every connection; the io_context then runs out of work.
  void stop();

  std::uint16_t port() const { return transport_.port(); }
  std::uint16_t metrics_port() const { return metrics_ ? metrics_->port() : 0; }

  // Runs maintenance now (also done by the boundary timer) and wakes waiting agents when a
  // ring changed.
  void maintain_now();
  // Replicas on etcd (etcd_replica.h): `leads` says whether this process may make and erase
  // secrets (when not, maintenance only advances the epoch), `role` is shown by /healthz, and
  // `problem` (etcd unusable) makes /healthz answer 503 with it while the keys held are served.
  struct ReplicaHooks {
    std::function<bool()> leads;
    std::function<std::string()> role;
    std::function<std::optional<std::string>()> problem;
  };
  void set_replica_hooks(ReplicaHooks hooks) { replica_ = std::move(hooks); }
  // Loads the state another replica committed and wakes the agents whose ring changed.
  void reload_state();
  // Reads the deny-list another replica changed and ends the long polls of the hosts it now
  // denies; false (logged) when it cannot be read, the list held staying in force.
  bool reload_denied();

  // SIGHUP: re-reads the client CA, the CRLs and the deny-list; ends the connections
  // of what they now revoke. Errors are logged; the previous ones stay in force.
  void reload();

 private:
  void schedule_maintenance();
  net::MetricsEndpoints metrics_endpoints();
  // What /healthz answers; the status page shows it, /metrics says it as stek_healthy.
  net::HealthReport health() const;
  // The status for /metrics and the status page: the key service and the agents as they are
  // now, the long polls waiting, and /healthz's answer.
  ServerStatus snapshot() const;

  ServerConfig config_;
  KeyService& keys_;
  const Clock& clock_;
  AuditSink& audit_;
  boost::asio::io_context& io_;
  DenyList denied_;
  AgentRegistry agents_;
  WaitList waits_;
  KeyringApi keyring_;
  AdminApi admin_;
  ApiRouter router_;
  MtlsTransport transport_;
  std::unique_ptr<net::MetricsListener> metrics_;
  boost::asio::steady_timer maintenance_;
  bool stopping_ = false;
  ReplicaHooks replica_;
};

}  // namespace stek::server

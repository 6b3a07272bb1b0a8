// KeyServer: stekd's network side. One HTTPS port with mutual TLS for agents and admins
// (docs/api.md) and a plain-HTTP metrics port. Runs on one asio event loop: thousands of
// long-polls cost a timer and a socket each, not a thread.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "audit.h"
#include "config.h"
#include "key_service.h"
#include "stek/clock.h"

namespace stek::server {

struct AgentRecord {
  std::vector<std::string> domains;
  std::string address;
  UnixSeconds last_seen = 0;
  std::optional<Epoch> holds_through_epoch;
  std::size_t connections = 0;
};

struct ServerCounters {
  std::map<int, std::uint64_t> requests_by_status;
  std::uint64_t connections_open = 0;
};

class KeyServer {
 public:
  KeyServer(boost::asio::io_context& io, ServerConfig config, KeyService& keys, const Clock& clock,
            AuditSink& audit);
  ~KeyServer();

  // Binds both ports and starts accepting; schedules key maintenance at epoch boundaries.
  Status start();
  // Stops accepting and closes every connection; the io_context then runs out of work.
  void stop();

  std::uint16_t port() const;
  std::uint16_t metrics_port() const;

  // Runs maintenance now (also done by the boundary timer) and wakes waiting agents when a
  // ring changed.
  void maintain_now();

  class Impl;  // public so the connection classes in key_server.cc can name it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace stek::server

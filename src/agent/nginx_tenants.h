// What separates tenants (stek domains) on one nginx. nginx 1.22 encrypts and decrypts every
// session ticket on a listen socket with the keys of that socket's default server, whatever
// server block the client names (SNI): measured, tests/integration/test_agent_nginx_tenants.py.
// So a server block's own ssl_session_ticket_key lines separate nothing when another block
// shares its listen address:port; only a listen socket per domain does.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "stek/result.h"

namespace stek::agent {

struct TenantCheck {
  // Another server block with ticket keys of its own (another domain) shares a listen socket
  // with a block that includes this sink's file: the agent refuses such a configuration.
  std::vector<std::string> refusals;
  // A block without ticket keys of its own shares the socket: it issues and accepts tickets
  // under the socket's default server's keys (a warning: it may be the same tenant).
  std::vector<std::string> warnings;
};

// Checks nginx's configuration `conf` for the server blocks that include `include` (the file
// the nginx sink writes). An include outside server blocks (http level) is one domain for all
// servers: nothing to check.
Result<TenantCheck> check_nginx_tenants(const std::filesystem::path& conf,
                                        const std::filesystem::path& include);

}  // namespace stek::agent

// Tenant separation on nginx: server blocks that share a listen socket share ticket keys.
#include "nginx_tenants.h"

#include <algorithm>
#include <fstream>

#include "nginx_conf.h"

namespace stek::agent {

namespace fs = std::filesystem;

namespace {

fs::path canonical_or_self(const fs::path& p) {
  std::error_code ec;
  fs::path c = fs::weakly_canonical(p, ec);
  return ec ? p.lexically_normal() : c;
}

bool includes(const NginxServer& server, const fs::path& include) {
  return std::any_of(server.includes.begin(), server.includes.end(),
                     [&](const fs::path& p) { return canonical_or_self(p) == include; });
}

// Ticket keys of its own: ssl_session_ticket_key lines, or an include that stek-agent wrote
// (keyless until that agent's first ring).
bool has_own_keys(const NginxServer& server) {
  if (server.ticket_keys) return true;
  static const std::string kMark = "# Written by stek-agent";
  return std::any_of(server.includes.begin(), server.includes.end(), [](const fs::path& p) {
    std::ifstream in(p);
    std::string head(kMark.size(), '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    return in && head == kMark;
  });
}

bool listens_on(const NginxServer& server, const std::string& socket) {
  return std::find(server.listens.begin(), server.listens.end(), socket) != server.listens.end();
}

// The server nginx uses for a socket's handshakes: the one marked default_server, else the
// first that listens on it.
const NginxServer* default_server(const std::vector<NginxServer>& servers,
                                  const std::string& socket) {
  const NginxServer* first = nullptr;
  for (const NginxServer& s : servers) {
    if (!listens_on(s, socket)) continue;
    if (std::find(s.default_listens.begin(), s.default_listens.end(), socket) !=
        s.default_listens.end())
      return &s;
    if (first == nullptr) first = &s;
  }
  return first;
}

}  // namespace

Result<TenantCheck> check_nginx_tenants(const fs::path& conf, const fs::path& include) {
  STEK_ASSIGN_OR_RETURN(std::vector<NginxServer> servers, find_http_servers(conf));
  const fs::path mine = canonical_or_self(include);
  TenantCheck check;
  std::vector<std::string> done;  // "socket|other server" pairs already reported
  for (const NginxServer& ours : servers) {
    if (!includes(ours, mine)) continue;
    for (const std::string& socket : ours.listens) {
      const NginxServer* def = default_server(servers, socket);
      for (const NginxServer& other : servers) {
        if (&other == &ours || !listens_on(other, socket) || includes(other, mine)) continue;
        const std::string pair = socket + "|" + other.where;
        if (std::find(done.begin(), done.end(), pair) != done.end()) continue;
        done.push_back(pair);
        std::string text =
            "listen " + socket + " is shared by the server block at " + ours.where +
            " (this sink's keys) and the one at " + other.where +
            (has_own_keys(other) ? " (ticket keys of its own: another domain)"
                                 : " (no ticket keys of its own)") +
            ": nginx encrypts and decrypts every ticket on one listen socket with the keys of "
            "its default server (" +
            (def ? def->where : std::string("?")) +
            "), so a ticket issued under one server name resumes under the other; give each "
            "domain its own listen address or port (docs/stek-agent.md, tenants)";
        (has_own_keys(other) ? check.refusals : check.warnings).push_back(std::move(text));
      }
    }
  }
  return check;
}

}  // namespace stek::agent

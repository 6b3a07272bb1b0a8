// The derivation id of host-scoped domains.
#include "host_scope.h"

#include "stek/derive.h"

namespace stek::server {

Result<std::string> derivation_domain(const std::string& domain, const std::string& host,
                                      bool per_host) {
  if (!per_host) return domain;
  if (host.empty()) {
    return make_error(Errc::invalid_argument,
                      "domain " + domain + " has keys per host: the ring needs a host name");
  }
  std::string id = domain + "/" + host;
  if (auto ok = validate_domain_id(id); !ok.ok()) {
    return make_error(Errc::invalid_argument,
                      "host " + host + " of per-host domain " + domain + ": " + ok.error().message);
  }
  return id;
}

}  // namespace stek::server

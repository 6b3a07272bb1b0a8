// Who a client certificate says it is: stek:host:, stek:domain: and stek:admin: URI SANs.
#pragma once

#include <openssl/x509.h>

#include <string>
#include <vector>

#include "stek/result.h"

namespace stek::server {

struct Identity {
  enum class Kind { agent, admin };
  Kind kind = Kind::agent;
  std::string name;                  // host id or admin name
  std::vector<std::string> domains;  // agents only
  std::string key() const { return (kind == Kind::admin ? "admin:" : "host:") + name; }
};

// Parses a verified peer certificate. Errors describe what is wrong without echoing data.
Result<Identity> identity_from_certificate(X509* cert);

// Parses the URI SAN strings themselves (exposed for tests).
Result<Identity> identity_from_uris(const std::vector<std::string>& uris);

}  // namespace stek::server

// Host-scoped domains: the domain id a host's keys are derived under. A host of a per-host
// domain d derives K(d/h, e) = HKDF(salt = D_d, ikm = G_e, info = "stek/v1" 0 "d/h" 0 e), so
// each host's keys differ while the domain keeps one secret, one schedule and one erasure.
#pragma once

#include <string>

#include "stek/result.h"

namespace stek::server {

// The id that goes into the derivation's info string: `domain` itself, or "domain/host" for a
// per-host domain. Errc::invalid_argument when a per-host domain has no host, or when the
// combined id is not a valid domain id (too long, control characters).
Result<std::string> derivation_domain(const std::string& domain, const std::string& host,
                                      bool per_host);

}  // namespace stek::server

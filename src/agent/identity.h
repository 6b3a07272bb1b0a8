// Who the agent is, read from its client certificate's URI subjectAltNames with the one
// identity codec stekd uses (api/identity.h, docs/api.md: stek:host:<id>, stek:domain:<id>).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "stek/result.h"

namespace stek::agent {

struct CertIdentity {
  std::optional<std::string> host;
  std::vector<std::string> domains;  // sorted, each once
};

// Reads the first (leaf) certificate of a PEM file. A certificate that names a stek identity
// must follow stekd's rule: two hosts, a host without a domain, an admin certificate or a
// malformed SAN are errors here as they would be 403s at stekd. One that names no host and
// no admin gives an empty identity (a ring-file agent may carry any certificate).
Result<CertIdentity> read_cert_identity(const std::filesystem::path& cert);

}  // namespace stek::agent

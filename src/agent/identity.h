// Who the agent is, read from its client certificate's URI subjectAltNames
// (docs/api.md: stek:host:<id>, stek:domain:<id>, percent-decoded).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "stek/result.h"

namespace stek::agent {

struct CertIdentity {
  std::optional<std::string> host;
  std::vector<std::string> domains;
};

// Reads the first (leaf) certificate of a PEM file.
Result<CertIdentity> read_cert_identity(const std::filesystem::path& cert);

// Percent-decoding of one URI SAN component; an error for malformed escapes.
Result<std::string> percent_decode(std::string_view text);

}  // namespace stek::agent

// stekctl pki: a development certificate authority for stekd, admins and hosts, with the
// URI SANs stek reads identities from (docs/api.md). For production, use your own CA.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "stek/result.h"

namespace stek::ctl {

struct HostSpec {
  std::string host;
  std::vector<std::string> domains;
};
// Parses "HOST=DOMAIN[,DOMAIN...]".
Result<HostSpec> parse_host_spec(const std::string& text);

struct PkiInitArgs {
  std::filesystem::path dir;
  std::vector<std::string> server_names{"localhost", "127.0.0.1"};  // SANs of stekd's certificate
  std::vector<HostSpec> hosts;
  std::vector<std::string> admins{"admin"};
  int days = 365;
  bool force = false;
};
// Writes ca.{crt,key}, stekd.{crt,key}, admin-<name>.{crt,key}, host-<host>.{crt,key} and a
// fresh KEK file `kek` (mode 0400). Keys are 0600, certificates 0644.
Status pki_init(const PkiInitArgs& args);

struct PkiIssueArgs {
  std::filesystem::path dir;  // holds ca.crt and ca.key
  std::optional<HostSpec> host;
  std::optional<std::string> admin;
  int days = 365;
};
// Issues one more host or admin certificate from the CA in dir.
Status pki_issue(const PkiIssueArgs& args);

}  // namespace stek::ctl

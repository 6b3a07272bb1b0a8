// What `stekd --check-config` checks beyond the TOML itself, as a start would find it: every TLS
// file loads (certificate, the key that matches it, client CA, CRLs), the deny-list file parses,
// and every directory stekd writes in exists and is writable. Binds no port, writes no file.
#pragma once

#include <filesystem>
#include <vector>

#include "stek/result.h"

#include "config.h"

namespace stek::server {

// Every problem found, each a clear message naming the file; empty when all is well.
// `log_file`: stekd's --log-file, "" when it logs to stderr.
std::vector<Error> check_server_files(const ServerConfig& config,
                                      const std::filesystem::path& log_file);

}  // namespace stek::server

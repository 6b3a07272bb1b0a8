// stekd --check-config: files and directories, checked without changing any of them.
#include "config_check.h"

#include <cerrno>
#include <cstring>

#include <unistd.h>

#include "deny_list.h"
#include "tls_context.h"

namespace stek::server {

namespace {

namespace fs = std::filesystem;

// A file stekd creates or appends to: its directory must exist and be writable, and the file,
// when it exists, writable too.
void check_writable(const fs::path& file, const std::string& what, std::vector<Error>& problems) {
  const fs::path dir = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    problems.push_back(make_error(
        Errc::io, what + " " + file.string() + ": directory " + dir.string() + " does not exist"));
    return;
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    problems.push_back(make_error(Errc::io, what + " " + file.string() + ": directory " +
                                                dir.string() +
                                                " is not writable: " + std::strerror(errno)));
    return;
  }
  if (fs::exists(fs::symlink_status(file, ec)) && ::access(file.c_str(), W_OK) != 0) {
    problems.push_back(make_error(
        Errc::io, what + " " + file.string() + " is not writable: " + std::strerror(errno)));
  }
}

}  // namespace

std::vector<Error> check_server_files(const ServerConfig& c, const fs::path& log_file) {
  std::vector<Error> problems;
  if (auto tls = check_server_tls({c.tls_cert, c.tls_key, c.tls_client_ca, c.tls_crl}); !tls.ok()) {
    problems.push_back(tls.error().with_context("tls"));
  }
  const fs::path deny_file = DenyList::beside(c.store_path);
  if (auto denied = DenyList::load(deny_file); !denied.ok()) {
    problems.push_back(denied.error().with_context("deny-list"));
  }
  check_writable(c.store_path, "store.path", problems);
  // On etcd the deny-list is in etcd; a file there is only read once, to be merged into it.
  if (c.store_backend == "file") {
    check_writable(deny_file, "deny-list", problems);
    check_writable(c.generation_file, "store.generation_file", problems);
  }
  if (!c.audit_path.empty()) check_writable(c.audit_path, "audit.path", problems);
  if (!log_file.empty()) check_writable(log_file, "--log-file", problems);
  return problems;
}

}  // namespace stek::server

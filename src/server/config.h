// stekd's configuration: a TOML file; every key has a default (docs/configuration.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "stek/result.h"
#include "stek/schedule.h"

#include "api/host_port.h"

namespace stek::server {

// "127.0.0.1:8443" or "[::1]:8443" (api/host_port.h); port 0 means any free port.
using Endpoint = api::HostPort;
Result<Endpoint> parse_endpoint(const std::string& text);

struct ServerConfig {
  Endpoint listen{"127.0.0.1", 8443};  // server.listen: agent and admin API (mTLS)
  std::optional<Endpoint> metrics_listen = Endpoint{"127.0.0.1", 9464};  // "" disables
  std::int64_t long_poll_timeout = 300;  // server.long_poll_timeout, seconds
  std::int64_t stale_after = 0;          // server.stale_after; 0: 2 x long_poll_timeout

  std::filesystem::path tls_cert;       // tls.cert
  std::filesystem::path tls_key;        // tls.key
  std::filesystem::path tls_client_ca;  // tls.client_ca
  // tls.crl: CRL files (PEM), a path or a list; each client certificate is checked against
  // its issuer's CRL at every handshake; files are re-read when they change or on SIGHUP.
  std::vector<std::filesystem::path> tls_crl;

  ScheduleParams schedule;  // schedule.interval/history/lookahead
  // schedule.max_clock_step, seconds: a larger wall-clock step is refused and alarmed
  // (docs/design.md, "Clock steps"). 0 in the file: the check is off. Default: 3 intervals.
  std::int64_t max_clock_step = -1;

  std::string store_backend = "file";  // store.backend: "file" or "etcd" (docs/etcd.md)
  // store.backend = "etcd": the cluster's client URLs (https://HOST:PORT, tried in turn), the
  // key prefix every replica of one fleet shares, and the TLS files stekd presents to etcd.
  std::vector<std::string> etcd_endpoints;  // store.endpoints
  std::string etcd_prefix = "/stek";        // store.prefix
  std::filesystem::path etcd_ca;            // store.etcd_ca
  std::filesystem::path etcd_cert;          // store.etcd_cert
  std::filesystem::path etcd_key;           // store.etcd_key
  std::int64_t etcd_lease_ttl = 5;          // store.lease_ttl, seconds
  std::int64_t etcd_poll_ms = 500;          // store.poll_interval_ms
  std::int64_t etcd_timeout_ms = 2000;      // store.timeout_ms, per request phase
  std::filesystem::path store_path = "/var/lib/stek/state.json";  // store.path
  std::filesystem::path kek_file = "/etc/stek/kek";               // store.kek_file
  // store.generation_file: the state's high-water mark, kept apart from the state file so
  // that an old copy of it is caught; "" (default): kek_file + ".generation".
  std::filesystem::path generation_file;

  std::vector<std::string> domains;  // domains.names
  // domains.per_host: domains (each also in names) whose hosts get keys of their own,
  // K(d/host, e) (host_scope.h); resumption across hosts then needs routing (docs/routing.md).
  std::vector<std::string> per_host_domains;

  std::size_t connections_per_identity = 4;  // limits.connections_per_identity
  std::size_t max_connections = 20000;       // limits.max_connections
  // limits.max_unauthenticated: connections without a verified identity yet (TLS handshake
  // under way, or no valid client certificate); beyond it the oldest is closed.
  std::size_t max_unauthenticated = 1000;
  std::int64_t handshake_timeout = 10;  // limits.handshake_timeout, seconds
  std::size_t header_bytes = 8192;      // limits.header_bytes
  std::size_t body_bytes = 4096;        // limits.body_bytes

  std::filesystem::path audit_path;  // audit.path ("" = log to stderr only)
};

// Relative paths are taken from the config file's directory.
Result<ServerConfig> load_server_config(const std::filesystem::path& path);
Result<ServerConfig> parse_server_config(std::string_view toml_text,
                                         const std::filesystem::path& base_dir);

}  // namespace stek::server

// TOML parsing and validation of stekd's configuration.
#include "config.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "stek/derive.h"

#include "https_client.h"

namespace stek::server {

Result<Endpoint> parse_endpoint(const std::string& text) {
  return api::parse_host_port(text, {.default_port = std::nullopt, .allow_port_zero = true});
}

namespace {

// Every problem with the configuration is Errc::config, whatever the part that found it.
Error config_error(std::string message) {
  return make_error(Errc::config, std::move(message));
}
Error config_error(const Error& cause, const std::string& key) {
  return config_error(key + ": " + cause.message);
}

template <class T>
Status read_int(const toml::table& t, std::string_view section, std::string_view key, T& out,
                std::int64_t min, std::int64_t max) {
  const toml::node* n = t.at_path(std::string(section) + "." + std::string(key)).node();
  if (n == nullptr) return {};
  auto v = n->value<std::int64_t>();
  if (!v || *v < min || *v > max) {
    return config_error(std::string(section) + "." + std::string(key) +
                        " must be an integer from " + std::to_string(min) + " to " +
                        std::to_string(max));
  }
  out = static_cast<T>(*v);
  return {};
}

Status read_string(const toml::table& t, std::string_view path, std::string& out) {
  const toml::node* n = t.at_path(path).node();
  if (n == nullptr) return {};
  auto v = n->value<std::string>();
  if (!v) return config_error(std::string(path) + " must be a string");
  out = *v;
  return {};
}

Status read_path(const toml::table& t, std::string_view path, const std::filesystem::path& base,
                 std::filesystem::path& out) {
  std::string s;
  STEK_TRY(read_string(t, path, s));
  if (!s.empty())
    out = std::filesystem::path(s).is_absolute() ? std::filesystem::path(s) : base / s;
  return {};
}

// A path or a list of paths.
Status read_paths(const toml::table& t, std::string_view path, const std::filesystem::path& base,
                  std::vector<std::filesystem::path>& out) {
  const toml::node* n = t.at_path(path).node();
  if (n == nullptr) return {};
  std::vector<std::string> items;
  if (auto one = n->value<std::string>()) {
    items.push_back(*one);
  } else if (const auto* arr = n->as_array()) {
    for (const auto& e : *arr) {
      auto v = e.value<std::string>();
      if (!v) return config_error(std::string(path) + " must be a path or a list of paths");
      items.push_back(*v);
    }
  } else {
    return config_error(std::string(path) + " must be a path or a list of paths");
  }
  for (const auto& s : items) {
    if (s.empty()) return config_error(std::string(path) + " lists an empty path");
    out.push_back(std::filesystem::path(s).is_absolute() ? std::filesystem::path(s) : base / s);
  }
  return {};
}

const std::set<std::string> kKnown = {"server.listen",
                                      "server.metrics_listen",
                                      "server.long_poll_timeout",
                                      "server.stale_after",
                                      "tls.cert",
                                      "tls.key",
                                      "tls.client_ca",
                                      "tls.crl",
                                      "schedule.interval",
                                      "schedule.history",
                                      "schedule.lookahead",
                                      "schedule.max_clock_step",
                                      "store.backend",
                                      "store.path",
                                      "store.kek_file",
                                      "store.generation_file",
                                      "store.endpoints",
                                      "store.prefix",
                                      "store.etcd_ca",
                                      "store.etcd_cert",
                                      "store.etcd_key",
                                      "store.lease_ttl",
                                      "store.poll_interval_ms",
                                      "store.timeout_ms",
                                      "domains.names",
                                      "domains.per_host",
                                      "limits.connections_per_identity",
                                      "limits.max_connections",
                                      "limits.max_unauthenticated",
                                      "limits.handshake_timeout",
                                      "limits.header_bytes",
                                      "limits.body_bytes",
                                      "audit.path"};

// The [store] keys of the etcd backend; refused with the file backend, where they would be
// silently ignored.
Status read_etcd(const toml::table& t, const std::filesystem::path& base, ServerConfig& c) {
  const bool etcd = c.store_backend == "etcd";
  for (const char* key :
       {"store.endpoints", "store.prefix", "store.etcd_ca", "store.etcd_cert", "store.etcd_key",
        "store.lease_ttl", "store.poll_interval_ms", "store.timeout_ms"}) {
    if (!etcd && t.at_path(key).node() != nullptr)
      return config_error(std::string(key) + " applies only to store.backend = \"etcd\"");
  }
  if (!etcd) return {};
  if (const toml::node* n = t.at_path("store.endpoints").node()) {
    const auto* arr = n->as_array();
    if (arr == nullptr) return config_error("store.endpoints must be a list of URLs");
    for (const auto& e : *arr) {
      auto v = e.value<std::string>();
      if (!v) return config_error("store.endpoints must be a list of URLs");
      if (auto url = net::parse_https_url(*v); !url.ok())
        return config_error(url.error(), "store.endpoints");
      c.etcd_endpoints.push_back(*v);
    }
  }
  if (c.etcd_endpoints.empty())
    return config_error("store.endpoints must list the etcd cluster's client URLs (https://...)");
  STEK_TRY(read_string(t, "store.prefix", c.etcd_prefix));
  while (!c.etcd_prefix.empty() && c.etcd_prefix.back() == '/') c.etcd_prefix.pop_back();
  if (c.etcd_prefix.empty() || c.etcd_prefix.front() != '/')
    return config_error("store.prefix must start with / and name more than the root");
  STEK_TRY(read_path(t, "store.etcd_ca", base, c.etcd_ca));
  STEK_TRY(read_path(t, "store.etcd_cert", base, c.etcd_cert));
  STEK_TRY(read_path(t, "store.etcd_key", base, c.etcd_key));
  if (c.etcd_ca.empty() || c.etcd_cert.empty() || c.etcd_key.empty()) {
    return config_error(
        "store.etcd_ca, store.etcd_cert and store.etcd_key are required with the etcd backend: "
        "stekd talks to etcd over TLS with a client certificate only");
  }
  STEK_TRY(read_int(t, "store", "lease_ttl", c.etcd_lease_ttl, 1, 300));
  STEK_TRY(read_int(t, "store", "poll_interval_ms", c.etcd_poll_ms, 50, 60000));
  STEK_TRY(read_int(t, "store", "timeout_ms", c.etcd_timeout_ms, 100, 60000));
  return {};
}

}  // namespace

Result<ServerConfig> parse_server_config(std::string_view text, const std::filesystem::path& base) {
  toml::table t;
  try {
    t = toml::parse(text);
  } catch (const toml::parse_error& e) {
    return config_error(std::string("TOML syntax error at line ") +
                        std::to_string(e.source().begin.line) + ": " +
                        std::string(e.description()));
  }
  // Unknown keys are errors: a typo must not silently fall back to a default.
  for (const auto& [section, node] : t) {
    const auto* sub = node.as_table();
    if (sub == nullptr)
      return config_error("unknown top-level key \"" + std::string(section.str()) + "\"");
    for (const auto& [key, value] : *sub) {
      const std::string full = std::string(section.str()) + "." + std::string(key.str());
      if (kKnown.count(full) == 0)
        return config_error("unknown configuration key \"" + full + "\"");
    }
  }
  ServerConfig c;
  std::string s;
  if (t.at_path("server.listen")) {
    STEK_TRY(read_string(t, "server.listen", s));
    auto listen = parse_endpoint(s);
    if (!listen.ok()) return config_error(listen.error(), "server.listen");
    c.listen = *listen;
  }
  if (t.at_path("server.metrics_listen")) {
    s.clear();
    STEK_TRY(read_string(t, "server.metrics_listen", s));
    if (s.empty()) {
      c.metrics_listen.reset();
    } else {
      auto metrics = parse_endpoint(s);
      if (!metrics.ok()) return config_error(metrics.error(), "server.metrics_listen");
      c.metrics_listen = *metrics;
    }
  }
  STEK_TRY(read_int(t, "server", "long_poll_timeout", c.long_poll_timeout, 1, 3600));
  STEK_TRY(read_int(t, "server", "stale_after", c.stale_after, 0, 86400 * 7));
  STEK_TRY(read_path(t, "tls.cert", base, c.tls_cert));
  STEK_TRY(read_path(t, "tls.key", base, c.tls_key));
  STEK_TRY(read_path(t, "tls.client_ca", base, c.tls_client_ca));
  STEK_TRY(read_paths(t, "tls.crl", base, c.tls_crl));
  STEK_TRY(read_int(t, "schedule", "interval", c.schedule.interval, 1, 86400 * 7));
  STEK_TRY(read_int(t, "schedule", "history", c.schedule.history, 0, 100000));
  STEK_TRY(read_int(t, "schedule", "lookahead", c.schedule.lookahead, 1, 10000));
  if (auto sched = Schedule::make(c.schedule); !sched.ok())
    return config_error(sched.error(), "schedule");
  STEK_TRY(read_int(t, "schedule", "max_clock_step", c.max_clock_step, 0, 86400 * 365));
  if (c.max_clock_step < 0) c.max_clock_step = 3 * c.schedule.interval;
  STEK_TRY(read_string(t, "store.backend", c.store_backend));
  if (c.store_backend != "file" && c.store_backend != "etcd") {
    return config_error("store.backend \"" + c.store_backend +
                        "\" is not supported (this build has: file, etcd)");
  }
  STEK_TRY(read_etcd(t, base, c));
  STEK_TRY(read_path(t, "store.path", base, c.store_path));
  STEK_TRY(read_path(t, "store.kek_file", base, c.kek_file));
  STEK_TRY(read_path(t, "store.generation_file", base, c.generation_file));
  // Beside the KEK by default: backups of the state directory do not carry it back.
  if (c.generation_file.empty()) c.generation_file = c.kek_file.string() + ".generation";
  if (const toml::node* n = t.at_path("domains.names").node()) {
    const auto* arr = n->as_array();
    if (arr == nullptr) return config_error("domains.names must be a list of strings");
    for (const auto& d : *arr) {
      auto v = d.value<std::string>();
      if (!v) return config_error("domains.names must be a list of strings");
      if (auto ok = validate_domain_id(*v); !ok.ok())
        return config_error(ok.error(), "domains.names");
      if (std::find(c.domains.begin(), c.domains.end(), *v) != c.domains.end()) {
        return config_error("domains.names lists \"" + *v + "\" twice");
      }
      c.domains.push_back(*v);
    }
  }
  if (c.domains.empty()) return config_error("domains.names must list at least one domain");
  if (const toml::node* n = t.at_path("domains.per_host").node()) {
    const auto* arr = n->as_array();
    if (arr == nullptr) return config_error("domains.per_host must be a list of strings");
    for (const auto& d : *arr) {
      auto v = d.value<std::string>();
      if (!v) return config_error("domains.per_host must be a list of strings");
      if (std::find(c.domains.begin(), c.domains.end(), *v) == c.domains.end()) {
        return config_error("domains.per_host names \"" + *v +
                            "\", which domains.names does not list");
      }
      if (std::find(c.per_host_domains.begin(), c.per_host_domains.end(), *v) !=
          c.per_host_domains.end()) {
        return config_error("domains.per_host lists \"" + *v + "\" twice");
      }
      c.per_host_domains.push_back(*v);
    }
  }
  STEK_TRY(
      read_int(t, "limits", "connections_per_identity", c.connections_per_identity, 1, 100000));
  STEK_TRY(read_int(t, "limits", "max_connections", c.max_connections, 1, 1000000));
  STEK_TRY(read_int(t, "limits", "max_unauthenticated", c.max_unauthenticated, 1, 1000000));
  STEK_TRY(read_int(t, "limits", "handshake_timeout", c.handshake_timeout, 1, 300));
  STEK_TRY(read_int(t, "limits", "header_bytes", c.header_bytes, 1024, 1 << 20));
  STEK_TRY(read_int(t, "limits", "body_bytes", c.body_bytes, 0, 1 << 20));
  STEK_TRY(read_path(t, "audit.path", base, c.audit_path));
  if (c.tls_cert.empty() || c.tls_key.empty() || c.tls_client_ca.empty()) {
    return config_error(
        "tls.cert, tls.key and tls.client_ca are required (stekctl pki init makes them)");
  }
  if (c.stale_after == 0) c.stale_after = 2 * c.long_poll_timeout;
  return c;
}

Result<ServerConfig> load_server_config(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return make_error(Errc::io, path.string() + ": cannot read configuration");
  std::stringstream ss;
  ss << in.rdbuf();
  auto c = parse_server_config(ss.str(), std::filesystem::absolute(path).parent_path());
  if (!c.ok()) return c.error().with_context(path.string());
  return c;
}

}  // namespace stek::server

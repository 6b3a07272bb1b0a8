// stek-agent's configuration: a TOML file in which every key has a default and a doc line
// (config_reference(), printed by --help and kept in examples/stek-agent.toml).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "stek/result.h"

#include "api/host_port.h"
#include "client.h"

namespace stek::agent {

enum class ReloadMode { signal, command, none };

struct NginxSinkConfig {
  std::filesystem::path dir = "/run/stek/nginx";
  std::filesystem::path include = "/run/stek/nginx/tickets.conf";
  ReloadMode reload = ReloadMode::signal;
  std::filesystem::path pid_file = "/run/nginx.pid";
  std::vector<std::string> reload_command;
  std::int64_t reload_timeout = 30;  // seconds
  std::optional<std::filesystem::path> nginx_conf;

  bool operator==(const NginxSinkConfig&) const = default;
};

struct JsonSinkConfig {
  std::filesystem::path path = "/run/stek/ring.json";

  bool operator==(const JsonSinkConfig&) const = default;
};

// Apache httpd: the one 48-byte SSLSessionTicketKeyFile and a graceful restart.
struct ApacheSinkConfig {
  std::filesystem::path path = "/run/stek/apache/ticket.key";
  ReloadMode reload = ReloadMode::command;
  std::filesystem::path pid_file = "/run/apache2/apache2.pid";  // reload = signal: SIGUSR1
  std::vector<std::string> reload_command = {"apachectl", "-k", "graceful"};
  std::int64_t reload_timeout = 30;  // seconds

  bool operator==(const ApacheSinkConfig&) const = default;
};

// Traffic Server: the multi-key 48-byte ticket key file and `traffic_ctl config reload`.
struct AtsSinkConfig {
  std::filesystem::path path = "/run/stek/ats/ticket.key";
  ReloadMode reload = ReloadMode::command;
  std::vector<std::string> reload_command = {"traffic_ctl", "config", "reload"};
  std::int64_t reload_timeout = 30;  // seconds

  bool operator==(const AtsSinkConfig&) const = default;
};

// type = "haproxy": the tls-ticket-keys file, live rotation on the runtime API; reload only
// when the socket is unavailable.
struct HaproxySinkConfig {
  std::filesystem::path path = "/run/stek/haproxy/tickets.keys";
  std::optional<std::filesystem::path> socket = "/run/haproxy/admin.sock";  // "": none
  ReloadMode reload = ReloadMode::signal;
  std::filesystem::path pid_file = "/run/haproxy.pid";
  std::vector<std::string> reload_command;
  std::int64_t reload_timeout = 30;  // seconds; also bounds each runtime API command
  std::optional<std::filesystem::path> haproxy_cfg;

  bool operator==(const HaproxySinkConfig&) const = default;
};

// type = "haproxy_route": this host's entries in the routing map of a load-balancing HAProxy
// (sinks/haproxy_route.h, docs/routing.md).
struct HaproxyRouteSinkConfig {
  std::filesystem::path socket = "/run/haproxy/admin.sock";
  std::string map;                   // required: the map file as haproxy.cfg names it
  std::string server;                // required: this host's server name in the HAProxy backend
  std::int64_t command_timeout = 5;  // seconds per runtime API command

  bool operator==(const HaproxyRouteSinkConfig&) const = default;
};

// type = "h2o": h2o's ticket-file, which h2o re-reads by itself.
struct H2oSinkConfig {
  std::filesystem::path path = "/run/stek/h2o/tickets.yaml";
  std::optional<std::filesystem::path> h2o_conf;

  bool operator==(const H2oSinkConfig&) const = default;
};

// type = "command" (or "generic"): any stekctl format, a file, a command after each change.
struct CommandSinkConfig {
  std::string format = "json";
  std::filesystem::path path;
  std::vector<std::string> command;
  std::int64_t command_timeout = 30;  // seconds

  bool operator==(const CommandSinkConfig&) const = default;
};

using SinkConfig =
    std::variant<NginxSinkConfig, JsonSinkConfig, ApacheSinkConfig, AtsSinkConfig,
                 HaproxySinkConfig, H2oSinkConfig, CommandSinkConfig, HaproxyRouteSinkConfig>;

struct AgentConfig {
  std::vector<std::string> servers;
  std::string domain;  // empty: the one domain the client certificate names
  ClientTls tls{"/etc/stek/agent.crt", "/etc/stek/agent.key", "/etc/stek/ca.crt"};
  std::filesystem::path cache_dir = "/run/stek";
  std::filesystem::path applied_state;  // empty: <cache_dir>/<domain>.applied
  bool allow_persistent_cache = false;
  std::int64_t poll_timeout = 60;    // seconds
  std::int64_t connect_timeout = 5;  // seconds
  std::int64_t read_grace = 10;      // seconds
  double backoff_initial = 1.0;      // seconds
  double backoff_max = 60.0;         // seconds
  double backoff_jitter = 0.5;
  std::string metrics_listen;  // "HOST:PORT", empty: off
  std::string log_level = "info";
  std::vector<SinkConfig> sinks;
};

struct ConfigKey {
  std::string_view key;
  std::string_view default_value;
  std::string_view doc;
};

// Every key the file may hold, with its default and meaning.
std::span<const ConfigKey> config_reference();
// config_reference() as text for --help.
std::string config_reference_text();

// Parses and checks the syntax and values of a configuration (not whether files exist:
// see Agent::create). Unknown keys are errors, so a typo never silently means a default.
Result<AgentConfig> parse_config(std::string_view text, std::string_view source);
Result<AgentConfig> load_config(const std::filesystem::path& path);

// "127.0.0.1:9465" or "[::1]:9465" -> host and port; port 0 means any free port.
using ListenAddress = api::HostPort;
Result<ListenAddress> parse_listen_address(std::string_view text);

}  // namespace stek::agent

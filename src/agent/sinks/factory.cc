// Sink construction from the configuration.
#include "factory.h"

#include <signal.h>

#include "../cache.h"
#include "../nginx_tenants.h"
#include "../reload.h"
#include "apache.h"
#include "ats.h"
#include "command.h"
#include "h2o.h"
#include "haproxy.h"
#include "haproxy_route.h"
#include "json.h"
#include "nginx.h"

namespace stek::agent {

namespace fs = std::filesystem;

namespace {

std::unique_ptr<Reloader> make_reloader(const NginxSinkConfig& c) {
  switch (c.reload) {
    case ReloadMode::signal:
      return std::make_unique<SignalReloader>(c.pid_file, SIGHUP);
    case ReloadMode::command:
      return std::make_unique<CommandReloader>(c.reload_command,
                                               std::chrono::seconds(c.reload_timeout));
    case ReloadMode::none:
      break;
  }
  return nullptr;
}

Result<std::unique_ptr<Sink>> make_nginx(const NginxSinkConfig& c, bool allow_persistent) {
  STEK_TRY(prepare_key_dir(c.dir, allow_persistent, "nginx sink dir"));
  std::error_code ec;
  if (!fs::is_directory(c.include.parent_path().empty() ? "." : c.include.parent_path(), ec)) {
    return make_error(Errc::invalid_argument, "nginx sink include " + c.include.string() +
                                                  ": its directory does not exist");
  }
  if (c.nginx_conf && !fs::exists(*c.nginx_conf, ec)) {
    return make_error(Errc::invalid_argument,
                      "nginx sink nginx_conf " + c.nginx_conf->string() + " does not exist");
  }
  if (c.nginx_conf) {
    // Tenants: two domains on one listen socket would resume each other's tickets. A
    // configuration that does not parse is only warned about (NginxSink::check).
    auto tenants = check_nginx_tenants(*c.nginx_conf, c.include);
    if (tenants.ok() && !tenants->refusals.empty()) {
      std::string text = "nginx sink " + c.include.string() + ": " + tenants->refusals[0];
      if (tenants->refusals.size() > 1)
        text += " (and " + std::to_string(tenants->refusals.size() - 1) + " more)";
      return make_error(Errc::invalid_argument, text);
    }
  }
  NginxSinkOptions o;
  o.dir = c.dir;
  o.include = c.include;
  o.nginx_conf = c.nginx_conf;
  o.reloader = make_reloader(c);
  auto sink = std::make_unique<NginxSink>(std::move(o));
  STEK_TRY(sink->prepare());
  return std::unique_ptr<Sink>(std::move(sink));
}

Result<std::unique_ptr<Sink>> make_json(const JsonSinkConfig& c, bool allow_persistent) {
  const fs::path dir = c.path.parent_path().empty() ? fs::path(".") : c.path.parent_path();
  STEK_TRY(prepare_key_dir(dir, allow_persistent, "json sink directory"));
  return std::unique_ptr<Sink>(std::make_unique<JsonSink>(c.path));
}

// apache and ats: a reload command, or (Apache only) SIGUSR1, on which Apache restarts
// gracefully: children finish their connections, new ones load the new key file.
template <typename C>
std::unique_ptr<Reloader> make_key_file_reloader(const C& c) {
  if (c.reload == ReloadMode::command) {
    return std::make_unique<CommandReloader>(c.reload_command,
                                             std::chrono::seconds(c.reload_timeout));
  }
  if constexpr (std::is_same_v<C, ApacheSinkConfig>) {
    if (c.reload == ReloadMode::signal)
      return std::make_unique<SignalReloader>(c.pid_file, SIGUSR1);
  }
  return nullptr;
}

fs::path parent_of(const fs::path& p) {
  return p.parent_path().empty() ? fs::path(".") : p.parent_path();
}

Result<std::unique_ptr<Sink>> make_apache(const ApacheSinkConfig& c, bool allow_persistent) {
  STEK_TRY(prepare_key_dir(parent_of(c.path), allow_persistent, "apache sink directory"));
  return std::unique_ptr<Sink>(std::make_unique<ApacheSink>(
      ApacheSinkOptions{.key_file = c.path, .reloader = make_key_file_reloader(c)}));
}

Result<std::unique_ptr<Sink>> make_ats(const AtsSinkConfig& c, bool allow_persistent) {
  STEK_TRY(prepare_key_dir(parent_of(c.path), allow_persistent, "ats sink directory"));
  return std::unique_ptr<Sink>(std::make_unique<AtsSink>(
      AtsSinkOptions{.key_file = c.path, .reloader = make_key_file_reloader(c)}));
}

Result<std::unique_ptr<Sink>> make_haproxy(const HaproxySinkConfig& c, bool allow_persistent) {
  STEK_TRY(prepare_key_dir(parent_of(c.path), allow_persistent, "haproxy sink path's directory"));
  std::error_code ec;
  if (c.haproxy_cfg && !fs::exists(*c.haproxy_cfg, ec)) {
    return make_error(Errc::invalid_argument,
                      "haproxy sink haproxy_cfg " + c.haproxy_cfg->string() + " does not exist");
  }
  // A process-wide source of keys for the keyless fallback (OpenSSL's DRBG, stateless here).
  static SystemRandom random;
  HaproxySinkOptions o;
  o.path = c.path;
  o.socket = c.socket;
  o.haproxy_cfg = c.haproxy_cfg;
  o.timeout = std::chrono::seconds(c.reload_timeout);
  o.random = &random;
  // HAProxy's master-worker mode reloads on SIGUSR2 (Debian's unit: kill -USR2 $MAINPID).
  if (c.reload == ReloadMode::signal) {
    o.reloader = std::make_unique<SignalReloader>(c.pid_file, SIGUSR2);
  } else if (c.reload == ReloadMode::command) {
    o.reloader =
        std::make_unique<CommandReloader>(c.reload_command, std::chrono::seconds(c.reload_timeout));
  }
  return std::unique_ptr<Sink>(std::make_unique<HaproxySink>(std::move(o)));
}

Result<std::unique_ptr<Sink>> make_h2o(const H2oSinkConfig& c, bool allow_persistent) {
  STEK_TRY(prepare_key_dir(parent_of(c.path), allow_persistent, "h2o sink path's directory"));
  std::error_code ec;
  if (c.h2o_conf && !fs::exists(*c.h2o_conf, ec)) {
    return make_error(Errc::invalid_argument,
                      "h2o sink h2o_conf " + c.h2o_conf->string() + " does not exist");
  }
  return std::unique_ptr<Sink>(std::make_unique<H2oSink>(H2oSinkOptions{c.path, c.h2o_conf}));
}

Result<std::unique_ptr<Sink>> make_command(const CommandSinkConfig& c, bool allow_persistent) {
  STEK_TRY(prepare_key_dir(parent_of(c.path), allow_persistent, "command sink path's directory"));
  static SystemClock clock;
  static SystemRandom random;
  CommandSinkOptions o;
  STEK_ASSIGN_OR_RETURN(o.format, parse_format_name(c.format));
  o.path = c.path;
  o.command = c.command;
  o.timeout = std::chrono::seconds(c.command_timeout);
  return std::unique_ptr<Sink>(std::make_unique<CommandSink>(std::move(o), clock, random));
}

}  // namespace

Result<std::vector<std::unique_ptr<Sink>>> make_sinks(const std::vector<SinkConfig>& configs,
                                                      bool allow_persistent) {
  std::vector<std::unique_ptr<Sink>> sinks;
  for (const SinkConfig& config : configs) {
    auto sink = std::visit(
        [&](const auto& c) {
          using C = std::decay_t<decltype(c)>;
          if constexpr (std::is_same_v<C, NginxSinkConfig>) {
            return make_nginx(c, allow_persistent);
          } else if constexpr (std::is_same_v<C, ApacheSinkConfig>) {
            return make_apache(c, allow_persistent);
          } else if constexpr (std::is_same_v<C, AtsSinkConfig>) {
            return make_ats(c, allow_persistent);
          } else if constexpr (std::is_same_v<C, HaproxySinkConfig>) {
            return make_haproxy(c, allow_persistent);
          } else if constexpr (std::is_same_v<C, HaproxyRouteSinkConfig>) {
            return Result<std::unique_ptr<Sink>>(
                std::make_unique<HaproxyRouteSink>(HaproxyRouteSinkOptions{
                    c.socket, c.map, c.server, std::chrono::seconds(c.command_timeout)}));
          } else if constexpr (std::is_same_v<C, H2oSinkConfig>) {
            return make_h2o(c, allow_persistent);
          } else if constexpr (std::is_same_v<C, CommandSinkConfig>) {
            return make_command(c, allow_persistent);
          } else {
            static_assert(std::is_same_v<C, JsonSinkConfig>, "a sink type without a factory");
            return make_json(c, allow_persistent);
          }
        },
        config);
    if (!sink.ok()) return sink.error();
    sinks.push_back(std::move(sink).value());
  }
  return sinks;
}

}  // namespace stek::agent

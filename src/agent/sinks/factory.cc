// Sink construction from the configuration.
#include "factory.h"

#include <signal.h>

#include "../cache.h"
#include "../reload.h"
#include "apache.h"
#include "ats.h"
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

Result<std::unique_ptr<Sink>> make_apache(const ApacheSinkConfig& c, bool allow_persistent) {
  const fs::path dir = c.path.parent_path().empty() ? fs::path(".") : c.path.parent_path();
  STEK_TRY(prepare_key_dir(dir, allow_persistent, "apache sink directory"));
  return std::unique_ptr<Sink>(std::make_unique<ApacheSink>(
      ApacheSinkOptions{.key_file = c.path, .reloader = make_key_file_reloader(c)}));
}

Result<std::unique_ptr<Sink>> make_ats(const AtsSinkConfig& c, bool allow_persistent) {
  const fs::path dir = c.path.parent_path().empty() ? fs::path(".") : c.path.parent_path();
  STEK_TRY(prepare_key_dir(dir, allow_persistent, "ats sink directory"));
  return std::unique_ptr<Sink>(std::make_unique<AtsSink>(
      AtsSinkOptions{.key_file = c.path, .reloader = make_key_file_reloader(c)}));
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

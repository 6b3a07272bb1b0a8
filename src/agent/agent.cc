// The agent's process: setup from the configuration, then one io_context that runs the
// ring source's loop, the refresh timer, the metrics listener and signals. The decisions are
// in RingKeeper; where rings come from is a RingSource.
#include "agent.h"

#include <algorithm>
#include <functional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <signal.h>
#include <spdlog/spdlog.h>

#include "stek/derive.h"

#include "cache.h"
#include "config_reload.h"
#include "identity.h"
#include "metrics_server.h"
#include "notify.h"
#include "ring_file_source.h"
#include "ring_keeper.h"
#include "sinks/factory.h"
#include "status_page.h"
#include "stekd_source.h"

namespace stek::agent {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using std::chrono::milliseconds;

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

Result<std::string> resolve_domain(const AgentConfig& c, bool need_cert, std::string& note,
                                   std::string& host) {
  std::optional<CertIdentity> id;
  std::error_code ec;
  if (need_cert || fs::exists(c.tls.cert, ec)) {
    auto read = read_cert_identity(c.tls.cert);
    if (!read.ok()) return read.error().with_context("tls.cert");
    id = std::move(read).value();
    if (id->host) {
      note = "host \"" + *id->host + "\"";
      host = *id->host;
    }
  }
  std::string domain = c.domain;
  if (domain.empty()) {
    if (!id || id->domains.empty()) {
      return make_error(Errc::invalid_argument,
                        "domain is not set and tls.cert names no stek:domain: URI SAN; set domain");
    }
    if (id->domains.size() > 1) {
      return make_error(Errc::invalid_argument,
                        "tls.cert names several domains (" + join(id->domains) +
                            "): set domain to the one this agent serves (one agent per domain)");
    }
    domain = id->domains.front();
  } else if (id && !id->domains.empty() &&
             std::find(id->domains.begin(), id->domains.end(), domain) == id->domains.end()) {
    return make_error(Errc::invalid_argument, "domain \"" + domain +
                                                  "\" is not among the domains tls.cert names (" +
                                                  join(id->domains) + "); stekd would refuse it");
  }
  if (auto valid = validate_domain_id(domain); !valid.ok())
    return valid.error().with_context("domain");
  return domain;
}

// "a\nb\n" -> "a; b", for one log line.
std::string one_line(std::string text) {
  while (!text.empty() && text.back() == '\n') text.pop_back();
  std::string out;
  for (const char c : text) out += c == '\n' ? std::string("; ") : std::string(1, c);
  return out;
}

}  // namespace

struct Agent::Impl {
  Impl(AgentOptions o, const Clock& c, Random& r)
      : options(std::move(o)),
        config(options.config),
        clock(c),
        random(r),
        refresh_timer(io),
        wait_timer(io),
        signals(io) {}

  AgentOptions options;
  AgentConfig& config;  // as running: sinks and log_level follow SIGHUP
  const Clock& clock;
  Random& random;
  asio::io_context io;
  asio::steady_timer refresh_timer;
  asio::steady_timer wait_timer;
  asio::signal_set signals;

  std::string domain;
  std::string identity_note;
  std::string host;  // stek:host: of tls.cert, for the status page; empty when it names none
  std::unique_ptr<RingSource> source;
  std::unique_ptr<RingKeeper> keeper;
  std::unique_ptr<MetricsServer> metrics_server;
  bool stopping = false;

  Status setup();
  void watch_pid_files(const std::vector<SinkConfig>& configs,
                       const std::vector<std::unique_ptr<Sink>>& sinks);
  void reload_config();
  void arm_refresh_timer();
  void wait(milliseconds d);
  HealthReport health() const;
  std::string status_page() const;
};

Status Agent::Impl::setup() {
  const bool offline = options.ring_file.has_value();
  if (!offline && config.servers.empty()) {
    return make_error(Errc::invalid_argument,
                      "servers is empty: list at least one stekd URL "
                      "(or pass --ring-file for offline use)");
  }
  STEK_ASSIGN_OR_RETURN(domain, resolve_domain(config, !offline, identity_note, host));
  STEK_TRY(prepare_key_dir(config.cache_dir, config.allow_persistent_cache, "cache_dir"));
  STEK_ASSIGN_OR_RETURN(auto sinks, make_sinks(config.sinks, config.allow_persistent_cache));

  fs::path applied = config.applied_state;
  if (applied.empty()) {
    applied = config.cache_dir / (domain_file_stem(domain) + ".applied");
  } else {
    STEK_TRY(prepare_key_dir(applied.parent_path().empty() ? fs::path(".") : applied.parent_path(),
                             config.allow_persistent_cache, "applied_state's directory"));
  }
  keeper = std::make_unique<RingKeeper>(domain, RingCache(config.cache_dir, domain),
                                        std::move(sinks), clock, AppliedState(applied));
  watch_pid_files(config.sinks, keeper->sinks());
  if (offline) {
    source = std::make_unique<RingFileSource>(*options.ring_file, domain, clock);
  } else {
    STEK_ASSIGN_OR_RETURN(source, StekdSource::make(io, config, domain, clock, random));
  }
  if (!config.metrics_listen.empty()) {
    STEK_ASSIGN_OR_RETURN(ListenAddress address, parse_listen_address(config.metrics_listen));
    STEK_ASSIGN_OR_RETURN(metrics_server,
                          MetricsServer::start(
                              io, address, [this] { return metrics_page(keeper->metrics()); },
                              [this] { return health(); }, [this] { return status_page(); }));
  }
  return {};
}

void Agent::Impl::watch_pid_files(const std::vector<SinkConfig>& configs,
                                  const std::vector<std::unique_ptr<Sink>>& sinks) {
  for (std::size_t i = 0; i < configs.size() && i < sinks.size(); ++i) {
    if (auto pid_file = signal_pid_file(configs[i]))
      keeper->watch_pid_file(sinks[i]->name(), *pid_file);
  }
}

void Agent::Impl::reload_config() {
  if (options.config_path.empty()) return;
  const std::string path = options.config_path.string();
  auto next = load_config(options.config_path);
  if (!next.ok()) {
    spdlog::error("SIGHUP: {}; keeping the running configuration", next.error().message);
    return;
  }
  const auto restart = restart_only_changes(config, *next);
  if (!restart.empty()) {
    spdlog::warn("SIGHUP: {} changed {}: these take effect only after a restart", path,
                 join(restart));
  }
  const SinkPlan plan = plan_sinks(config.sinks, next->sinks);
  std::vector<SinkConfig> added_configs;
  for (const std::size_t n : plan.added) added_configs.push_back(next->sinks[n]);
  auto added = make_sinks(added_configs, config.allow_persistent_cache);
  if (!added.ok()) {
    spdlog::error("SIGHUP: {}: {}; keeping the running configuration", path, added.error().message);
    return;
  }
  // The keeper's sinks are in config.sinks' order: change_sinks drops the removed ones and
  // appends the added ones, and config.sinks follows suit.
  std::vector<std::string> removed;
  for (const std::size_t r : plan.removed) removed.push_back(keeper->sinks()[r]->name());
  std::vector<std::string> added_names;
  for (const auto& sink : *added) added_names.push_back(sink->name());
  keeper->change_sinks(removed, std::move(added).value());
  for (std::size_t i = 0; i < added_configs.size(); ++i) {
    if (auto pid_file = signal_pid_file(added_configs[i]))
      keeper->watch_pid_file(added_names[i], *pid_file);
  }
  std::vector<SinkConfig> running;
  for (const std::size_t r : plan.kept) running.push_back(config.sinks[r]);
  for (auto& c : added_configs) running.push_back(std::move(c));
  config.sinks = std::move(running);
  if (!options.log_level_fixed && next->log_level != config.log_level) {
    config.log_level = next->log_level;
    spdlog::set_level(spdlog::level::from_str(config.log_level));
  }
  std::size_t rebuilt = 0;
  for (const auto& name : added_names)
    rebuilt += std::count(removed.begin(), removed.end(), name) > 0 ? 1 : 0;
  spdlog::info("SIGHUP: re-read {}: {} sink(s) kept, {} rebuilt, {} added, {} removed", path,
               plan.kept.size(), rebuilt, plan.added.size() - rebuilt,
               plan.removed.size() - rebuilt);
}

HealthReport Agent::Impl::health() const {
  const Metrics& metrics = keeper->metrics();
  std::vector<std::string> failures;
  std::vector<std::string> warnings;
  for (const auto& [name, s] : metrics.sinks) {
    if (s.failing)
      failures.push_back("sink " + name + " failed to apply ring version " +
                         std::to_string(metrics.ring_version) + ": " + s.last_error);
    if (!s.pid_file_problem.empty()) warnings.push_back("sink " + name + ": " + s.pid_file_problem);
  }
  if (!metrics.serving) {
    failures.push_back(keeper->held() ? "no stek key covers the current epoch " +
                                            std::to_string(metrics.current_epoch)
                                      : "no ring yet");
  }
  if (metrics.clock_skew_level == SkewLevel::alarm) {
    failures.push_back(skew_alarm_text(*metrics.clock_skew, *metrics.clock_skew_bounds));
  }
  if (!metrics.ring_conflict.empty()) failures.push_back(metrics.ring_conflict);
  if (!failures.empty()) {
    std::string text;
    for (const auto& f : failures) text += (text.empty() ? "" : "; ") + f;
    for (const auto& w : warnings) text += "; warning: " + w;
    return {false, text};
  }
  std::string text = "ok: epoch " + std::to_string(metrics.current_epoch) + ", runway " +
                     std::to_string(metrics.runway_seconds) + " s";
  for (const auto& w : warnings) text += "; warning: " + w;
  return {true, text};
}

std::string Agent::Impl::status_page() const {
  const UnixSeconds now = clock.now();
  std::optional<UnixSeconds> runway_end;
  if (const auto& held = keeper->held()) {
    if (const std::int64_t runway = held->runway(now); runway > 0) runway_end = now + runway;
  }
  return render_agent_status_page(keeper->metrics(), {now, host, runway_end, health()});
}

void Agent::Impl::arm_refresh_timer() {
  if (stopping) return;
  const auto due = keeper->next_refresh();
  if (!due) return;
  refresh_timer.expires_after(*due);
  refresh_timer.async_wait([this](boost::system::error_code ec) {
    if (ec || stopping) return;
    keeper->refresh_due();
    arm_refresh_timer();
  });
}

void Agent::Impl::wait(milliseconds d) {
  if (d.count() <= 0 || stopping) return;
  bool done = false;
  wait_timer.expires_after(d);
  wait_timer.async_wait([&done](boost::system::error_code) { done = true; });
  while (!done) {
    if (io.run_one() == 0) break;
  }
}

Agent::Agent(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Agent::~Agent() = default;

Result<std::unique_ptr<Agent>> Agent::create(AgentOptions options, const Clock& clock,
                                             Random& random) {
  auto impl = std::make_unique<Impl>(std::move(options), clock, random);
  STEK_TRY(impl->setup());
  return std::unique_ptr<Agent>(new Agent(std::move(impl)));
}

const std::string& Agent::domain() const {
  return impl_->domain;
}
const Metrics& Agent::metrics() const {
  return impl_->keeper->metrics();
}

std::string Agent::describe() const {
  const Impl& d = *impl_;
  std::string out =
      "domain: " + d.domain + (d.identity_note.empty() ? "" : " (" + d.identity_note + ")") + "\n";
  out += d.source->describe();
  out += "cache: " + d.keeper->cache().path().string() + "\n";
  if (d.keeper->applied()) out += "applied state: " + d.keeper->applied()->path().string() + "\n";
  for (const auto& s : d.keeper->sinks()) out += "sink: " + s->name() + "\n";
  for (const auto& w : d.keeper->pid_file_warnings()) {
    out += "warning: " + w +
           ": a reload by signal does nothing until the server runs and "
           "writes it\n";
  }
  if (d.metrics_server) out += "metrics: port " + std::to_string(d.metrics_server->port()) + "\n";
  return out;
}

int Agent::run() {
  Impl& d = *impl_;
  d.signals.add(SIGINT);
  d.signals.add(SIGTERM);
  d.signals.add(SIGHUP);
  std::function<void(boost::system::error_code, int)> on_signal =
      [&d, &on_signal](boost::system::error_code ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
          d.reload_config();
          spdlog::info("SIGHUP: re-applying every sink and reloading its server");
          d.keeper->force_reapply();
          d.keeper->refresh("SIGHUP");
          d.arm_refresh_timer();
          d.signals.async_wait(on_signal);
          return;
        }
        spdlog::info("signal {}: stopping", sig);
        d.stopping = true;
        d.source->cancel();
        d.wait_timer.cancel();
        d.refresh_timer.cancel();
      };
  d.signals.async_wait(on_signal);

  spdlog::info("stek-agent for domain \"{}\"{}: {}; {} sink(s); cache {}", d.domain,
               d.identity_note.empty() ? "" : " (" + d.identity_note + ")",
               one_line(d.source->describe()), d.keeper->sinks().size(),
               d.keeper->cache().path().string());
  // systemd (Type=notify) hears READY=1 once a held key covers now (from the cache or stekd)
  // and the sinks have it: a unit ordered after stek-agent starts with keys in place.
  bool told_ready = false;
  const auto tell_ready_once = [&d, &told_ready] {
    if (told_ready || !d.keeper->metrics().serving) return;
    told_ready = true;
    service::notify_ready("serving domain " + d.domain + ", ring version " +
                          std::to_string(d.keeper->metrics().ring_version));
  };
  d.keeper->load_cache();
  tell_ready_once();
  d.arm_refresh_timer();
  while (!d.stopping) {
    RingUpdate update = d.source->next(d.keeper->held());
    if (d.stopping) break;
    const milliseconds pause = update.pause;
    if (d.keeper->apply(std::move(update))) d.arm_refresh_timer();
    tell_ready_once();
    d.wait(pause);
  }
  service::notify_stopping();
  spdlog::info("stopped");
  return 0;
}

}  // namespace stek::agent

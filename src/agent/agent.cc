// The agent's loop: sync (long-poll or ring file), epoch-boundary refresh, sinks, cache.
#include "agent.h"

#include <ctime>
#include <map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <signal.h>
#include <spdlog/spdlog.h>

#include "stek/derive.h"
#include "stek/file.h"
#include "stek/formats.h"

#include "cache.h"
#include "client.h"
#include "held_ring.h"
#include "identity.h"
#include "metrics_server.h"
#include "sinks/json.h"
#include "sinks/nginx.h"
#include "sync.h"

namespace stek::agent {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

// A sink that failed is retried this soon, not only at the next boundary.
constexpr auto kSinkRetry = seconds(5);
// The ring file of --ring-file is re-read this often.
constexpr auto kRingFilePoll = seconds(1);
// The boundary timer wakes at least this often, so a stepped wall clock is noticed.
constexpr std::int64_t kMaxTimerSeconds = 60;

std::string utc(UnixSeconds t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

Result<std::string> resolve_domain(const AgentConfig& c, bool need_cert, std::string& note) {
  std::optional<CertIdentity> id;
  std::error_code ec;
  if (need_cert || fs::exists(c.tls.cert, ec)) {
    auto read = read_cert_identity(c.tls.cert);
    if (!read.ok()) return read.error().with_context("tls.cert");
    id = std::move(read).value();
    if (id->host) note = "host \"" + *id->host + "\"";
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

}  // namespace

struct Agent::Impl {
  Impl(AgentOptions o, const Clock& c, Random& r)
      : options(std::move(o)),
        config(options.config),
        clock(c),
        random(r),
        boundary_timer(io),
        wait_timer(io),
        signals(io) {}

  AgentOptions options;
  const AgentConfig& config;
  const Clock& clock;
  Random& random;
  asio::io_context io;
  asio::steady_timer boundary_timer;
  asio::steady_timer wait_timer;
  asio::signal_set signals;

  std::string domain;
  std::string identity_note;
  std::vector<ServerUrl> servers;
  std::unique_ptr<HttpsClient> client;
  std::optional<ServerRotation> rotation;
  std::unique_ptr<RingCache> cache;
  std::vector<std::unique_ptr<Sink>> sinks;
  std::unique_ptr<MetricsServer> metrics_server;

  std::optional<HeldRing> held;
  Metrics metrics;
  bool stopping = false;
  bool sink_retry = false;                // a sink failed: refresh again soon
  std::optional<Epoch> logged_epoch;      // last epoch announced in the log
  std::optional<Epoch> exhausted_logged;  // last epoch the "no key" error was logged
  std::map<std::string, std::vector<std::string>> sink_warnings;  // last logged, by sink
  std::string last_ring_file_error;

  Status setup();
  void load_cache();
  void refresh(const char* why);
  void check_sinks(const Schedule& schedule);
  void arm_boundary_timer();
  void wait(milliseconds d);
  void poll_once();
  void read_ring_file();
  void take(HeldRing ring, const std::string& from);
  HealthReport health() const;
};

Status Agent::Impl::setup() {
  const bool offline = options.ring_file.has_value();
  if (!offline && config.servers.empty()) {
    return make_error(Errc::invalid_argument,
                      "servers is empty: list at least one stekd URL "
                      "(or pass --ring-file for offline use)");
  }
  STEK_ASSIGN_OR_RETURN(domain, resolve_domain(config, !offline, identity_note));
  metrics.domain = domain;

  STEK_TRY(prepare_key_dir(config.cache_dir, config.allow_persistent_cache, "cache_dir"));
  cache = std::make_unique<RingCache>(config.cache_dir, domain);

  for (const SinkConfig& s : config.sinks) {
    if (const auto* n = std::get_if<NginxSinkConfig>(&s)) {
      STEK_TRY(prepare_key_dir(n->dir, config.allow_persistent_cache, "nginx sink dir"));
      std::error_code ec;
      if (!fs::is_directory(n->include.parent_path().empty() ? "." : n->include.parent_path(),
                            ec)) {
        return make_error(Errc::invalid_argument, "nginx sink include " + n->include.string() +
                                                      ": its directory does not exist");
      }
      if (n->nginx_conf && !fs::exists(*n->nginx_conf, ec)) {
        return make_error(Errc::invalid_argument,
                          "nginx sink nginx_conf " + n->nginx_conf->string() + " does not exist");
      }
      NginxSinkOptions o;
      o.dir = n->dir;
      o.include = n->include;
      o.nginx_conf = n->nginx_conf;
      if (n->reload == ReloadMode::signal)
        o.reloader = std::make_unique<SignalReloader>(n->pid_file, SIGHUP);
      if (n->reload == ReloadMode::command) {
        o.reloader =
            std::make_unique<CommandReloader>(n->reload_command, seconds(n->reload_timeout));
      }
      auto sink = std::make_unique<NginxSink>(std::move(o));
      STEK_TRY(sink->prepare());
      sinks.push_back(std::move(sink));
    } else if (const auto* j = std::get_if<JsonSinkConfig>(&s)) {
      const fs::path dir = j->path.parent_path().empty() ? fs::path(".") : j->path.parent_path();
      STEK_TRY(prepare_key_dir(dir, config.allow_persistent_cache, "json sink directory"));
      sinks.push_back(std::make_unique<JsonSink>(j->path));
    }
  }
  for (const auto& s : sinks) metrics.sinks[s->name()];

  if (!offline) {
    for (const std::string& s : config.servers) {
      STEK_ASSIGN_OR_RETURN(ServerUrl url, parse_server_url(s));
      servers.push_back(std::move(url));
    }
    ClientTimeouts t;
    t.connect = seconds(config.connect_timeout);
    t.read_grace = seconds(config.read_grace);
    STEK_ASSIGN_OR_RETURN(client, HttpsClient::make(io, config.tls, t));
    BackoffPolicy policy;
    policy.initial = milliseconds(static_cast<std::int64_t>(config.backoff_initial * 1000));
    policy.max = milliseconds(static_cast<std::int64_t>(config.backoff_max * 1000));
    policy.jitter = config.backoff_jitter;
    rotation.emplace(config.servers, Backoff(policy, random));
  }
  if (!config.metrics_listen.empty()) {
    STEK_ASSIGN_OR_RETURN(ListenAddress address, parse_listen_address(config.metrics_listen));
    STEK_ASSIGN_OR_RETURN(metrics_server,
                          MetricsServer::start(
                              io, address, [this] { return render_prometheus(metrics); },
                              [this] { return health(); }));
  }
  return {};
}

HealthReport Agent::Impl::health() const {
  if (!metrics.serving) {
    return {false,
            held ? "no stek key covers the current epoch " + std::to_string(metrics.current_epoch)
                 : "no ring yet"};
  }
  return {true, "ok: epoch " + std::to_string(metrics.current_epoch) + ", runway " +
                    std::to_string(metrics.runway_seconds) + " s"};
}

void Agent::Impl::take(HeldRing ring, const std::string& from) {
  const auto epochs = ring.epochs();
  spdlog::info("accepted ring version {} from {}: {} keys, epochs {}..{}", ring.version(), from,
               ring.size(), epochs.back(), epochs.front());
  held = std::move(ring);
  ++metrics.rings_accepted;
  metrics.ring_version = held->version();
  refresh("new ring");
  arm_boundary_timer();
}

void Agent::Impl::check_sinks(const Schedule& schedule) {
  // Servers' configurations change under the agent: re-checked at every refresh, logged
  // when the findings change.
  for (const auto& s : sinks) {
    auto warnings = s->check(schedule);
    auto& last = sink_warnings[s->name()];
    if (warnings != last) {
      for (const auto& w : warnings) spdlog::warn("{}: {}", s->name(), w);
      if (warnings.empty() && !last.empty())
        spdlog::info("{}: configuration warnings resolved", s->name());
      last = warnings;
    }
    metrics.sinks[s->name()].warnings = warnings.size();
  }
}

void Agent::Impl::load_cache() {
  auto loaded = cache->load();
  if (!loaded.ok()) {
    spdlog::error("ring cache: {}; erasing it", loaded.error().message);
    if (auto e = cache->erase(); !e.ok()) spdlog::error("ring cache: {}", e.error().message);
    return;
  }
  if (!loaded->has_value()) {
    spdlog::info("no cached ring at {}", cache->path().string());
    return;
  }
  auto ring = HeldRing::accept(**loaded, domain, clock.now());
  if (!ring.ok()) {
    spdlog::warn("cached ring {} is not usable ({}); erasing it", cache->path().string(),
                 ring.error().message);
    if (auto e = cache->erase(); !e.ok()) spdlog::error("ring cache: {}", e.error().message);
    return;
  }
  take(std::move(ring).value(), "the cache " + cache->path().string());
}

void Agent::Impl::refresh(const char* why) {
  const UnixSeconds now = clock.now();
  if (!held) return;  // nothing to serve yet: sinks keep what they have
  const Schedule& schedule = held->schedule();
  const Epoch epoch = schedule.epoch_at(now);
  check_sinks(schedule);
  const auto erased = held->erase_expired(now);
  if (!erased.empty()) {
    metrics.keys_erased += erased.size();
    spdlog::info("erased {} expired key(s) from memory: {}", erased.size(), join(erased));
  }
  auto served = held->at(now);
  metrics.current_epoch = epoch;
  metrics.keys_held = held->size();
  metrics.runway_seconds = held->runway(now);
  metrics.serving = served.ok();
  metrics.keys_served = served.ok() ? served->size() : 0;

  if (served.ok()) {
    exhausted_logged.reset();
    if (auto stored = cache->store(*served); !stored.ok()) {
      spdlog::error("ring cache: {}", stored.error().message);
    }
    if (logged_epoch != epoch) {
      logged_epoch = epoch;
      spdlog::info("epoch {}: key {} encrypts, {} keys held; runway {} s (keys until {})", epoch,
                   served->encrypting().key.name_hex(), served->size(), metrics.runway_seconds,
                   utc(now + metrics.runway_seconds));
      if (metrics.runway_seconds <= schedule.interval()) {
        spdlog::warn(
            "runway is down to the last epoch ({} s): stekd has not delivered newer keys; "
            "after {} this host has no key to encrypt with",
            metrics.runway_seconds, utc(now + metrics.runway_seconds));
      }
    }
  } else if (exhausted_logged != epoch) {
    exhausted_logged = epoch;
    logged_epoch.reset();
    spdlog::critical(
        "NO STEK KEY FOR EPOCH {} ({}): {}. Expired keys are never served: sinks get "
        "no stek keys until stekd delivers a ring (nginx falls back to per-process "
        "keys, so no resumption across hosts)",
        epoch, served.error().message, utc(now));
    if (auto e = cache->erase(); !e.ok()) spdlog::error("ring cache: {}", e.error().message);
  }

  bool failed = false;
  for (const auto& sink : sinks) {
    auto report = sink->apply(served.ok() ? &*served : nullptr, epoch);
    SinkMetrics& m = metrics.sinks[sink->name()];
    if (!report.ok()) {
      ++m.failures;
      failed = true;
      spdlog::error("{}: {} (retrying in {} s)", sink->name(), report.error().message,
                    kSinkRetry.count());
      continue;
    }
    m.writes += static_cast<std::uint64_t>(report->files_written);
    m.erasures += static_cast<std::uint64_t>(report->files_erased);
    m.reloads += report->reloaded ? 1 : 0;
    if (report->files_written || report->files_erased || report->reloaded) {
      spdlog::info("{}: {} file(s) written, {} erased{} ({})", sink->name(), report->files_written,
                   report->files_erased, report->reloaded ? ", server reloaded" : "", why);
    }
  }
  sink_retry = failed;
}

void Agent::Impl::arm_boundary_timer() {
  if (!held || stopping) return;
  const seconds most(sink_retry ? kSinkRetry.count() : kMaxTimerSeconds);
  boundary_timer.expires_after(until_next_boundary(held->schedule(), clock, most));
  boundary_timer.async_wait([this](boost::system::error_code ec) {
    if (ec || stopping) return;
    refresh(sink_retry ? "retry" : "epoch boundary");
    arm_boundary_timer();
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

void Agent::Impl::poll_once() {
  const ServerUrl& server = servers[rotation->current_index()];
  PollRequest request;
  request.domain = domain;
  if (held) request.wait = held->version();
  request.timeout = config.poll_timeout;
  auto answer = client->poll(server, request);
  if (stopping) return;
  Result<std::optional<HeldRing>> verdict = answer.ok()
                                                ? check_answer(*answer, held, domain, clock.now())
                                                : Result<std::optional<HeldRing>>(answer.error());
  if (!verdict.ok()) {
    ++metrics.sync_failures;
    const auto delay = rotation->on_failure();
    spdlog::warn("sync with {} failed: {}; next attempt: {} in {} ms", server.text,
                 verdict.error().message, servers[rotation->current_index()].text, delay.count());
    wait(delay);
    return;
  }
  rotation->on_success();
  metrics.last_sync = clock.now();
  if (verdict->has_value()) {
    take(std::move(**verdict), server.text);
  } else {
    spdlog::debug("{}: ring version {} is current", server.text, held->version());
  }
}

void Agent::Impl::read_ring_file() {
  const fs::path& path = *options.ring_file;
  auto report = [&](const std::string& message) {
    if (message != last_ring_file_error) spdlog::error("ring file {}: {}", path.string(), message);
    last_ring_file_error = message;
  };
  auto bytes = read_file(path);
  if (!bytes.ok()) return report(bytes.error().message);
  auto ring = read_key_file(Format::json, bytes->view());
  if (!ring.ok()) return report(ring.error().message);
  if (held && ring->info().version <= held->version()) return;  // nothing newer
  auto accepted = HeldRing::accept(*ring, domain, clock.now());
  if (!accepted.ok()) return report(accepted.error().message);
  last_ring_file_error.clear();
  metrics.last_sync = clock.now();
  take(std::move(accepted).value(), "ring file " + path.string());
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
  return impl_->metrics;
}

std::string Agent::describe() const {
  const Impl& d = *impl_;
  std::string out =
      "domain: " + d.domain + (d.identity_note.empty() ? "" : " (" + d.identity_note + ")") + "\n";
  if (d.options.ring_file) {
    out += "source: ring file " + d.options.ring_file->string() + " (offline)\n";
  } else {
    for (const ServerUrl& s : d.servers) out += "server: " + s.text + "\n";
  }
  out += "cache: " + d.cache->path().string() + "\n";
  for (const auto& s : d.sinks) out += "sink: " + s->name() + "\n";
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
          spdlog::info("SIGHUP: refreshing sinks");
          d.refresh("SIGHUP");
          d.arm_boundary_timer();
          d.signals.async_wait(on_signal);
          return;
        }
        spdlog::info("signal {}: stopping", sig);
        d.stopping = true;
        if (d.client) d.client->cancel();
        d.wait_timer.cancel();
        d.boundary_timer.cancel();
      };
  d.signals.async_wait(on_signal);

  spdlog::info("stek-agent for domain \"{}\"{}: {}; {} sink(s); cache {}", d.domain,
               d.identity_note.empty() ? "" : " (" + d.identity_note + ")",
               d.options.ring_file ? "ring file " + d.options.ring_file->string()
                                   : std::to_string(d.servers.size()) + " stekd server(s)",
               d.sinks.size(), d.cache->path().string());
  d.load_cache();
  while (!d.stopping) {
    if (d.options.ring_file) {
      d.read_ring_file();
      d.wait(kRingFilePoll);
    } else {
      d.poll_once();
    }
  }
  spdlog::info("stopped");
  return 0;
}

}  // namespace stek::agent

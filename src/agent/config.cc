// TOML configuration of stek-agent (toml++).
#include "config.h"

#include <fstream>
#include <set>
#include <sstream>
#include <type_traits>

#include <toml++/toml.h>

#include "stek/formats.h"

namespace stek::agent {

namespace {

constexpr ConfigKey kReference[] = {
    {"servers", "[]",
     "stekd base URLs, e.g. [\"https://stekd-1:8443\", \"https://stekd-2:8443\"]; tried in order, "
     "failing over on any error (required unless --ring-file)"},
    {"domain", "\"\"",
     "domain whose keys this host serves; empty: the one stek:domain: name in tls.cert"},
    {"tls.cert", "\"/etc/stek/agent.crt\"",
     "client certificate (PEM chain, leaf first) naming this host"},
    {"tls.key", "\"/etc/stek/agent.key\"", "private key of tls.cert (PEM)"},
    {"tls.ca", "\"/etc/stek/ca.crt\"",
     "CA certificates that sign stekd's certificate (PEM); nothing else is trusted"},
    {"cache_dir", "\"/run/stek\"",
     "directory for <domain>.json, the last ring, so a restart without stekd still serves keys; "
     "must be tmpfs or ramfs"},
    {"applied_state", "\"\"",
     "file recording what each sink's server confirmed it serves (written after each reload); "
     "a restarted agent reloads when it is missing or differs; empty: "
     "<cache_dir>/<domain>.applied; must be tmpfs or ramfs"},
    {"allow_persistent_cache", "false",
     "accept cache and sink directories on persistent storage (keys then outlive erasure on disk)"},
    {"poll_timeout", "60",
     "seconds stekd may hold one long-poll (1..3600; at most stekd's server.long_poll_timeout)"},
    {"connect_timeout", "5", "seconds to connect, finish the TLS handshake and send a request"},
    {"read_grace", "10", "seconds beyond poll_timeout to wait for an answer before giving up"},
    {"backoff_initial", "1.0", "seconds to wait after the first round of failed servers"},
    {"backoff_max", "60.0",
     "longest wait between rounds; the wait doubles each failed round up to this"},
    {"backoff_jitter", "0.5",
     "random fraction taken off each wait (0..1) so hosts do not retry in lock step"},
    {"metrics_listen", "\"\"",
     "HOST:PORT for plain-HTTP /metrics, /healthz and a status page at / (e.g. 127.0.0.1:9465); "
     "empty: off. "
     "/healthz is 503 when no held key covers now, this host's clock is off stekd's by more "
     "than half the interval, a sink's last apply failed (naming the sink and its error), or a "
     "stekd answered keys that contradict the held ring"},
    {"log_level", "\"info\"", "trace, debug, info, warn, error or critical"},
    {"sink", "[]",
     "[[sink]] tables, each one server to feed; type = \"nginx\", \"json\", \"haproxy\", "
     "\"h2o\", \"apache\", \"ats\", \"command\" or \"haproxy_route\""},
    {"sink.type", "(required)",
     "\"nginx\": key files + include + reload; \"json\": stek's ring file for libstek; "
     "\"haproxy\": tls-ticket-keys file + runtime API; \"h2o\": h2o's ticket-file; "
     "\"apache\": one 48-byte key file + graceful restart; \"ats\": Traffic Server's "
     "48-byte key file + traffic_ctl config reload; \"command\" (or \"generic\"): any "
     "format, a file and a command; \"haproxy_route\": this host's entries in a load "
     "balancer's ticket routing map (docs/routing.md)"},
    {"sink.dir", "\"/run/stek/nginx\"",
     "nginx: directory for the 80-byte key files (mode 0600; must be tmpfs)"},
    {"sink.include", "\"/run/stek/nginx/tickets.conf\"",
     "nginx: file of ssl_session_ticket_key lines to `include` in each server block"},
    {"sink.reload", "\"signal\"",
     "nginx: \"signal\" (SIGHUP to the pid in pid_file), \"command\" (run reload_command) or "
     "\"none\"; haproxy: the same, used only when the socket is unavailable (signal: SIGUSR2 "
     "to the master-worker's pid); apache: \"command\" (default), \"signal\" (SIGUSR1: "
     "graceful restart) or \"none\"; ats: \"command\" (default) or \"none\""},
    {"sink.pid_file", "\"/run/nginx.pid\"",
     "nginx: pid file of the nginx master (reload = \"signal\"); haproxy: of HAProxy's "
     "master (default \"/run/haproxy.pid\"); apache: of the Apache parent (default "
     "\"/run/apache2/apache2.pid\"). Missing, unparsable or naming no running process: a "
     "warning (log, metrics, /healthz), since a reload then does nothing"},
    {"sink.reload_command", "[]",
     "nginx: argv to run for a reload, e.g. [\"nginx\", \"-s\", \"reload\"] (reload = "
     "\"command\"); apache default [\"apachectl\", \"-k\", \"graceful\"], ats default "
     "[\"traffic_ctl\", \"config\", \"reload\"]"},
    {"sink.reload_timeout", "30",
     "nginx, haproxy, apache, ats: seconds reload_command may run before it is killed "
     "(haproxy: also each runtime API command)"},
    {"sink.nginx_conf", "(none)",
     "nginx: main config file, read to warn when ssl_session_timeout exceeds the lifetime "
     "hint H x I less a margin of 60 s (or I when shorter) for clock skew and reloads"},
    {"sink.path", "\"/run/stek/ring.json\"",
     "json: the ring file to write; haproxy: the tls-ticket-keys file (default "
     "\"/run/stek/haproxy/tickets.keys\"); h2o: the ticket-file (default "
     "\"/run/stek/h2o/tickets.yaml\"); apache: the SSLSessionTicketKeyFile (default "
     "\"/run/stek/apache/ticket.key\"); ats: the file of "
     "proxy.config.ssl.server.ticket_key.filename (default \"/run/stek/ats/ticket.key\"); "
     "command: the key file (required). Mode 0600; the directory must be tmpfs"},
    {"sink.socket", "\"/run/haproxy/admin.sock\"",
     "haproxy: stats socket at level admin, for set ssl tls-key without a reload; \"\": none "
     "(every change reloads)"},
    {"sink.haproxy_cfg", "(none)",
     "haproxy: haproxy.cfg, read to warn when tune.ssl.lifetime exceeds what its 3 keys honour"},
    {"sink.map", "(required)",
     "haproxy_route: the map file of key name -> server, as haproxy.cfg names it"},
    {"sink.server", "(required)",
     "haproxy_route: this host's server name in the HAProxy backend (socket: the load "
     "balancer's stats socket, level admin; command_timeout: seconds per command, default 5)"},
    {"sink.h2o_conf", "(none)",
     "h2o: h2o.conf, read to check ssl-session-resumption (ticket-file, lifetime)"},
    {"sink.format", "\"json\"",
     "command: the key file's format (nginx48, nginx80, haproxy48, haproxy80, apache, ats, h2o, "
     "json); one-key formats get the encrypting key"},
    {"sink.command", "[]",
     "command: argv run after each change (no shell), e.g. [\"systemctl\", \"reload\", \"x\"]; "
     "a failure is retried with backoff (5 s doubling to 300 s)"},
    {"sink.command_timeout", "30", "command: seconds the command may run before it is killed"},
};

// Reads one table, remembering which keys were used so the rest can be reported.
class Reader {
 public:
  Reader(const toml::table& table, std::string prefix, std::string_view source)
      : table_(table), prefix_(std::move(prefix)), source_(source) {}

  Status string(const char* key, std::string& out) {
    const toml::node* n = find(key);
    if (n == nullptr) return {};
    if (!n->is_string()) return wrong(key, *n, "a string");
    out = *n->value<std::string>();
    return {};
  }
  Status path(const char* key, std::filesystem::path& out) {
    std::string s = out.string();
    STEK_TRY(string(key, s));
    if (s.empty()) return error(key, find(key), "must not be empty");
    out = s;
    return {};
  }
  Status optional_path(const char* key, std::optional<std::filesystem::path>& out) {
    if (find(key) == nullptr) return {};
    std::filesystem::path p;
    STEK_TRY(path(key, p));
    out = p;
    return {};
  }
  Status boolean(const char* key, bool& out) {
    const toml::node* n = find(key);
    if (n == nullptr) return {};
    if (!n->is_boolean()) return wrong(key, *n, "true or false");
    out = *n->value<bool>();
    return {};
  }
  Status integer(const char* key, std::int64_t& out, std::int64_t min, std::int64_t max) {
    const toml::node* n = find(key);
    if (n == nullptr) return {};
    if (!n->is_integer()) return wrong(key, *n, "an integer");
    const std::int64_t v = *n->value<std::int64_t>();
    if (v < min || v > max) {
      return error(key, n,
                   "must be " + std::to_string(min) + " to " + std::to_string(max) + ", got " +
                       std::to_string(v));
    }
    out = v;
    return {};
  }
  Status number(const char* key, double& out, double min, double max) {
    const toml::node* n = find(key);
    if (n == nullptr) return {};
    if (!n->is_number()) return wrong(key, *n, "a number");
    const double v =
        n->is_integer() ? static_cast<double>(*n->value<std::int64_t>()) : *n->value<double>();
    if (!(v >= min && v <= max)) {
      std::ostringstream os;
      os << "must be " << min << " to " << max << ", got " << v;
      return error(key, n, os.str());
    }
    out = v;
    return {};
  }
  Status strings(const char* key, std::vector<std::string>& out) {
    const toml::node* n = find(key);
    if (n == nullptr) return {};
    const toml::array* a = n->as_array();
    if (a == nullptr) return wrong(key, *n, "a list of strings");
    out.clear();
    for (const toml::node& item : *a) {
      if (!item.is_string()) return wrong(key, item, "a list of strings");
      out.push_back(*item.value<std::string>());
    }
    return {};
  }
  const toml::node* find(const char* key) {
    used_.insert(key);
    return table_.get(key);
  }
  // Any key nobody asked for is a typo or an option this version lacks.
  Status unknown() const {
    for (auto&& [k, v] : table_) {
      if (!used_.count(std::string(k.str()))) {
        return error(std::string(k.str()).c_str(), &v, "unknown key (see stek-agent --help)");
      }
    }
    return {};
  }
  Error error(const char* key, const toml::node* n, const std::string& what) const {
    std::string where(source_);
    if (n != nullptr && n->source().begin.line > 0)
      where += ":" + std::to_string(n->source().begin.line);
    return make_error(Errc::invalid_argument, where + ": " + prefix_ + key + " " + what);
  }

 private:
  Error wrong(const char* key, const toml::node& n, const char* want) const {
    return error(key, &n, std::string("must be ") + want);
  }
  const toml::table& table_;
  std::string prefix_;
  std::string_view source_;
  std::set<std::string> used_;
};

// apache and ats: one key file and a reload that defaults to a command.
template <typename C>
Status parse_key_file_sink(Reader& r, C& c, bool signal_allowed) {
  STEK_TRY(r.path("path", c.path));
  std::string reload = "command";
  STEK_TRY(r.string("reload", reload));
  if (reload == "command") {
    c.reload = ReloadMode::command;
  } else if (reload == "none") {
    c.reload = ReloadMode::none;
  } else if (reload == "signal" && signal_allowed) {
    c.reload = ReloadMode::signal;
  } else {
    return r.error("reload", r.find("reload"),
                   signal_allowed ? "must be \"command\", \"signal\" or \"none\""
                                  : "must be \"command\" or \"none\"");
  }
  if constexpr (std::is_same_v<C, ApacheSinkConfig>) STEK_TRY(r.path("pid_file", c.pid_file));
  STEK_TRY(r.strings("reload_command", c.reload_command));
  if (c.reload_command.empty()) {
    return r.error("reload_command", r.find("reload_command"), "must not be empty");
  }
  STEK_TRY(r.integer("reload_timeout", c.reload_timeout, 1, 3600));
  return r.unknown();
}

// reload, pid_file, reload_command, reload_timeout: shared by the nginx and haproxy sinks.
template <class C>
Status parse_reload(Reader& r, C& c) {
  std::string reload = "signal";
  STEK_TRY(r.string("reload", reload));
  if (reload == "signal")
    c.reload = ReloadMode::signal;
  else if (reload == "command")
    c.reload = ReloadMode::command;
  else if (reload == "none")
    c.reload = ReloadMode::none;
  else
    return r.error("reload", r.find("reload"), "must be \"signal\", \"command\" or \"none\"");
  STEK_TRY(r.path("pid_file", c.pid_file));
  STEK_TRY(r.strings("reload_command", c.reload_command));
  STEK_TRY(r.integer("reload_timeout", c.reload_timeout, 1, 3600));
  if (c.reload == ReloadMode::command && c.reload_command.empty()) {
    return r.error("reload_command", r.find("reload"), "is required when reload = \"command\"");
  }
  if (c.reload != ReloadMode::command && !c.reload_command.empty()) {
    return r.error("reload_command", r.find("reload_command"),
                   "is set but reload is not \"command\"");
  }
  return {};
}

Result<SinkConfig> parse_other_sink(Reader& r, const std::string& type) {
  if (type == "haproxy") {
    HaproxySinkConfig c;
    STEK_TRY(r.path("path", c.path));
    std::string socket = c.socket->string();
    STEK_TRY(r.string("socket", socket));
    c.socket = socket.empty() ? std::nullopt : std::optional<std::filesystem::path>(socket);
    STEK_TRY(parse_reload(r, c));
    STEK_TRY(r.optional_path("haproxy_cfg", c.haproxy_cfg));
    STEK_TRY(r.unknown());
    return SinkConfig(c);
  }
  if (type == "haproxy_route") {
    HaproxyRouteSinkConfig c;
    STEK_TRY(r.path("socket", c.socket));
    STEK_TRY(r.string("map", c.map));
    STEK_TRY(r.string("server", c.server));
    STEK_TRY(r.integer("command_timeout", c.command_timeout, 1, 3600));
    if (c.map.empty()) return r.error("map", r.find("map"), "is required");
    if (c.server.empty()) return r.error("server", r.find("server"), "is required");
    STEK_TRY(r.unknown());
    return SinkConfig(c);
  }
  if (type == "h2o") {
    H2oSinkConfig c;
    STEK_TRY(r.path("path", c.path));
    STEK_TRY(r.optional_path("h2o_conf", c.h2o_conf));
    STEK_TRY(r.unknown());
    return SinkConfig(c);
  }
  CommandSinkConfig c;
  STEK_TRY(r.string("format", c.format));
  if (auto f = parse_format_name(c.format); !f.ok())
    return r.error("format", r.find("format"), f.error().message);
  if (r.find("path") == nullptr) return r.error("path", nullptr, "is required");
  STEK_TRY(r.path("path", c.path));
  STEK_TRY(r.strings("command", c.command));
  STEK_TRY(r.integer("command_timeout", c.command_timeout, 1, 3600));
  STEK_TRY(r.unknown());
  return SinkConfig(c);
}

Result<SinkConfig> parse_sink(const toml::table& t, std::size_t index, std::string_view source) {
  Reader r(t, "sink[" + std::to_string(index) + "].", source);
  std::string type;
  STEK_TRY(r.string("type", type));
  if (type == "haproxy" || type == "h2o" || type == "command" || type == "generic" ||
      type == "haproxy_route") {
    return parse_other_sink(r, type);
  }
  if (type == "nginx") {
    NginxSinkConfig c;
    STEK_TRY(r.path("dir", c.dir));
    STEK_TRY(r.path("include", c.include));
    STEK_TRY(parse_reload(r, c));
    STEK_TRY(r.optional_path("nginx_conf", c.nginx_conf));
    if (c.include.parent_path() == c.dir && c.include.filename().string().size() == 36 &&
        c.include.extension() == ".key") {
      return r.error("include", r.find("include"), "must not look like a key file name");
    }
    STEK_TRY(r.unknown());
    return SinkConfig(c);
  }
  if (type == "json") {
    JsonSinkConfig c;
    STEK_TRY(r.path("path", c.path));
    STEK_TRY(r.unknown());
    return SinkConfig(c);
  }
  if (type == "apache") {
    ApacheSinkConfig c;
    STEK_TRY(parse_key_file_sink(r, c, true));
    return SinkConfig(c);
  }
  if (type == "ats") {
    AtsSinkConfig c;
    STEK_TRY(parse_key_file_sink(r, c, false));
    return SinkConfig(c);
  }
  constexpr const char* kTypes =
      "(\"nginx\", \"json\", \"haproxy\", \"h2o\", \"apache\", \"ats\", \"command\" or "
      "\"haproxy_route\")";
  if (type.empty()) return r.error("type", nullptr, std::string("is required ") + kTypes);
  return r.error("type", r.find("type"), "\"" + type + "\" is not a sink type " + kTypes);
}

}  // namespace

std::span<const ConfigKey> config_reference() {
  return kReference;
}

std::string config_reference_text() {
  std::string out = "Configuration file keys (TOML; default, then meaning):\n";
  for (const ConfigKey& k : kReference) {
    out += "  " + std::string(k.key) + " = " + std::string(k.default_value) + "\n      " +
           std::string(k.doc) + "\n";
  }
  return out;
}

Result<ListenAddress> parse_listen_address(std::string_view text) {
  return api::parse_host_port(text, {.default_port = std::nullopt, .allow_port_zero = true});
}

Result<AgentConfig> parse_config(std::string_view text, std::string_view source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return make_error(Errc::bad_format, std::string(source) + ":" +
                                            std::to_string(e.source().begin.line) + ": " +
                                            std::string(e.description()));
  }
  AgentConfig c;
  Reader r(root, "", source);
  STEK_TRY(r.strings("servers", c.servers));
  for (const std::string& s : c.servers) {
    if (auto url = parse_server_url(s); !url.ok())
      return r.error("servers", r.find("servers"), url.error().message);
  }
  STEK_TRY(r.string("domain", c.domain));
  if (const toml::node* tls = r.find("tls")) {
    const toml::table* t = tls->as_table();
    if (t == nullptr) return r.error("tls", tls, "must be a table");
    Reader tr(*t, "tls.", source);
    STEK_TRY(tr.path("cert", c.tls.cert));
    STEK_TRY(tr.path("key", c.tls.key));
    STEK_TRY(tr.path("ca", c.tls.ca));
    STEK_TRY(tr.unknown());
  }
  STEK_TRY(r.path("cache_dir", c.cache_dir));
  std::optional<std::filesystem::path> applied_state;
  STEK_TRY(r.optional_path("applied_state", applied_state));
  if (applied_state) c.applied_state = *applied_state;
  STEK_TRY(r.boolean("allow_persistent_cache", c.allow_persistent_cache));
  STEK_TRY(r.integer("poll_timeout", c.poll_timeout, 1, 3600));
  STEK_TRY(r.integer("connect_timeout", c.connect_timeout, 1, 300));
  STEK_TRY(r.integer("read_grace", c.read_grace, 1, 300));
  STEK_TRY(r.number("backoff_initial", c.backoff_initial, 0.01, 3600));
  STEK_TRY(r.number("backoff_max", c.backoff_max, 0.01, 86400));
  STEK_TRY(r.number("backoff_jitter", c.backoff_jitter, 0, 1));
  if (c.backoff_max < c.backoff_initial) {
    return r.error("backoff_max", r.find("backoff_max"), "must not be less than backoff_initial");
  }
  STEK_TRY(r.string("metrics_listen", c.metrics_listen));
  if (!c.metrics_listen.empty()) {
    if (auto a = parse_listen_address(c.metrics_listen); !a.ok()) {
      return r.error("metrics_listen", r.find("metrics_listen"), a.error().message);
    }
  }
  STEK_TRY(r.string("log_level", c.log_level));
  static const std::set<std::string> kLevels = {"trace", "debug", "info",
                                                "warn",  "error", "critical"};
  if (!kLevels.count(c.log_level)) {
    return r.error("log_level", r.find("log_level"),
                   "must be trace, debug, info, warn, error or critical");
  }
  if (const toml::node* sinks = r.find("sink")) {
    const toml::array* a = sinks->as_array();
    if (a == nullptr) return r.error("sink", sinks, "must be [[sink]] tables");
    for (std::size_t i = 0; i < a->size(); ++i) {
      const toml::table* t = (*a)[i].as_table();
      if (t == nullptr) return r.error("sink", &(*a)[i], "must be [[sink]] tables");
      STEK_ASSIGN_OR_RETURN(SinkConfig sink, parse_sink(*t, i, source));
      c.sinks.push_back(std::move(sink));
    }
  }
  STEK_TRY(r.unknown());
  // Two sinks writing one file or one key directory would erase each other's keys.
  std::set<std::filesystem::path> outputs;
  for (const SinkConfig& s : c.sinks) {
    std::vector<std::filesystem::path> paths;
    if (const auto* n = std::get_if<NginxSinkConfig>(&s)) paths = {n->dir, n->include};
    if (const auto* j = std::get_if<JsonSinkConfig>(&s)) paths = {j->path};
    if (const auto* a = std::get_if<ApacheSinkConfig>(&s)) paths = {a->path};
    if (const auto* a = std::get_if<AtsSinkConfig>(&s)) paths = {a->path};
    if (const auto* h = std::get_if<HaproxySinkConfig>(&s)) paths = {h->path};
    if (const auto* h = std::get_if<H2oSinkConfig>(&s)) paths = {h->path};
    if (const auto* g = std::get_if<CommandSinkConfig>(&s)) paths = {g->path};
    for (const auto& p : paths) {
      if (!outputs.insert(p.lexically_normal()).second) {
        return make_error(Errc::invalid_argument,
                          std::string(source) + ": two sinks write " + p.string());
      }
    }
  }
  return c;
}

Result<AgentConfig> load_config(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return make_error(Errc::io, path.string() + ": cannot open the configuration file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path.string());
}

}  // namespace stek::agent

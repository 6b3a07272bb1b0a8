#include "dev.h"

#include <cstdlib>
#include <fstream>
#include <system_error>
#include <utility>
#include <vector>

#include <unistd.h>

#include "pki.h"

namespace stek::dev {
namespace fs = std::filesystem;

namespace {

constexpr const char* kStekdToml =
    R"(# stekd --dev: development only. Made by stekd; thrown away with this directory.
[server]
listen = "127.0.0.1:{port}"
metrics_listen = "127.0.0.1:0"
long_poll_timeout = 60
[tls]
cert = "stekd.crt"
key = "stekd.key"
client_ca = "ca.crt"
[schedule]
interval = 60
history = 10
lookahead = 2
[store]
path = "state.json"
kek_file = "kek"
[domains]
names = ["dev"]
[audit]
path = "audit.jsonl"
)";

constexpr const char* kAgentToml = R"(# stek-agent for stekd --dev: development only.
servers = ["https://127.0.0.1:{port}"]
cache_dir = "{dir}/agent"
# The development directory may be on disk: allowed here, never in production.
allow_persistent_cache = true
[tls]
cert = "{dir}/host-web1.crt"
key = "{dir}/host-web1.key"
ca = "{dir}/ca.crt"
[[sink]]
type = "nginx"
dir = "{dir}/nginx"
include = "{dir}/nginx/tickets.conf"
reload = "signal"
pid_file = "{dir}/nginx.pid"
)";

constexpr const char* kNginxConf = R"(# nginx for stekd --dev: development only.
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path {dir}/nginx-tmp;
    proxy_temp_path {dir}/nginx-tmp;
    fastcgi_temp_path {dir}/nginx-tmp;
    uwsgi_temp_path {dir}/nginx-tmp;
    scgi_temp_path {dir}/nginx-tmp;
    server {
        listen 127.0.0.1:{nginx_port} ssl;
        ssl_certificate {dir}/stekd.crt;
        ssl_certificate_key {dir}/stekd.key;
        ssl_session_cache off;
        ssl_session_tickets on;
        ssl_session_timeout 600s;
        include {dir}/nginx/tickets.conf;
        location / { return 200 "stek dev\n"; }
    }
}
)";

// The template with each {name} replaced.
std::string fill(std::string text, const std::vector<std::pair<std::string, std::string>>& vars) {
  for (const auto& [name, value] : vars) {
    const std::string key = "{" + name + "}";
    for (auto at = text.find(key); at != std::string::npos; at = text.find(key, at + value.size()))
      text.replace(at, key.size(), value);
  }
  return text;
}

Status write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) return make_error(Errc::io, path.string() + ": cannot write");
  return {};
}

Result<fs::path> new_directory(const fs::path& wanted) {
  std::error_code ec;
  if (!wanted.empty()) {
    fs::create_directories(wanted, ec);
    if (ec) return make_error(Errc::io, wanted.string() + ": " + ec.message());
    return fs::absolute(wanted);
  }
  // tmpfs when there is one: the agent's cache and nginx's key files then stay off disk.
  const fs::path shm = "/dev/shm";
  std::string pattern =
      ((fs::is_directory(shm, ec) && ::access(shm.c_str(), W_OK) == 0) ? shm
                                                                       : fs::temp_directory_path())
          .string() +
      "/stekd-dev-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr)
    return make_error(Errc::io, pattern + ": cannot make a temporary directory");
  return fs::path(pattern);
}

}  // namespace

Result<DevSetup> make_dev_setup(const fs::path& dir, std::uint16_t port) {
  DevSetup setup;
  STEK_ASSIGN_OR_RETURN(setup.dir, new_directory(dir));
  ctl::PkiInitArgs pki{.dir = setup.dir,
                       .hosts = {{"web1", {"dev"}}},
                       .admins = {"admin"},
                       .days = 30,
                       .force = true};
  STEK_TRY(ctl::pki_init(pki));
  setup.config = setup.dir / "stekd.toml";
  STEK_TRY(write_text(setup.config, fill(kStekdToml, {{"port", std::to_string(port)}})));
  if (port != 0 && port < 65535) setup.nginx_port = static_cast<std::uint16_t>(port + 1);
  return setup;
}

Result<std::string> attach_instructions(const DevSetup& setup, std::uint16_t port,
                                        std::uint16_t metrics_port) {
  const std::string dir = setup.dir.string();
  const std::vector<std::pair<std::string, std::string>> vars{
      {"dir", dir},
      {"port", std::to_string(port)},
      {"nginx_port", std::to_string(setup.nginx_port)}};
  std::error_code ec;
  fs::create_directories(setup.dir / "nginx-tmp", ec);
  STEK_TRY(write_text(setup.dir / "agent.toml", fill(kAgentToml, vars)));
  STEK_TRY(write_text(setup.dir / "nginx.conf", fill(kNginxConf, vars)));
  const std::string url = "https://127.0.0.1:" + std::to_string(port);
  const std::string rule(78, '=');
  return rule + "\n" +
         "  stekd --dev: DEVELOPMENT ONLY. NEVER USE THIS FOR REAL TRAFFIC.\n"
         "  The CA key, the KEK and every secret lie unprotected in " +
         dir +
         "\n"
         "  (removed when stekd stops, unless --dev-dir named it). Interval 60 s, history 10,\n"
         "  domain \"dev\".\n" +
         rule + "\n" + "  key API   " + url + "  (mutual TLS, CA " + dir + "/ca.crt)\n" +
         "  metrics   http://127.0.0.1:" + std::to_string(metrics_port) +
         "/metrics  (status page: /)\n\n"
         "  1. Attach an agent (host web1, domain dev), in another shell:\n"
         "     stek-agent --config " +
         dir +
         "/agent.toml\n\n"
         "  2. Then nginx (in a third shell) on https://127.0.0.1:" +
         std::to_string(setup.nginx_port) +
         ", fed by that agent:\n"
         "     nginx -p " +
         dir + " -e " + dir + "/nginx-error.log -c " + dir +
         "/nginx.conf\n"
         "     openssl s_client -connect 127.0.0.1:" +
         std::to_string(setup.nginx_port) + " -sess_out " + dir +
         "/s.pem </dev/null\n"
         "     openssl s_client -connect 127.0.0.1:" +
         std::to_string(setup.nginx_port) + " -sess_in " + dir +
         "/s.pem </dev/null | grep Reused\n\n"
         "  3. Ask stekd as the admin:\n"
         "     stekctl status --server " +
         url + " --cert " + dir + "/admin-admin.crt --key " + dir + "/admin-admin.key --ca " + dir +
         "/ca.crt\n" + rule + "\n";
}

}  // namespace stek::dev

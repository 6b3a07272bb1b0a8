// Just enough of nginx's configuration syntax to find `ssl_session_timeout`: nginx tells
// clients that a ticket lives that long, so it must not exceed stek's lifetime hint.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "stek/result.h"

namespace stek::agent {

// nginx's time syntax for second-valued directives: "300", "5m", "18h", "1d", "1h 30m",
// units y M w d h m s in decreasing order, each at most once; a bare number is seconds.
Result<std::int64_t> parse_nginx_time(std::string_view text);

struct SessionTimeout {
  std::int64_t seconds;
  std::string where;  // "file:line"
};

// Every ssl_session_timeout directive in `conf` and the files it includes (globs resolved
// against the main file's directory, as nginx does with the default prefix).
Result<std::vector<SessionTimeout>> find_session_timeouts(const std::filesystem::path& conf);

// A server block of nginx's http section, as far as ticket keys go: on which listen sockets it
// serves and where its keys come from.
struct NginxServer {
  std::string where;                            // "file:line" of `server {`
  std::vector<std::string> listens;             // "address:port" ("*:443"), in order
  std::vector<std::string> default_listens;     // those marked default_server
  std::vector<std::filesystem::path> includes;  // every file included inside it, resolved
  bool ticket_keys = false;                     // has ssl_session_ticket_key (here or included)
};

// Every server block of `conf`'s http section, in nginx's order (includes followed).
Result<std::vector<NginxServer>> find_http_servers(const std::filesystem::path& conf);

// nginx's default when no directive sets it.
inline constexpr std::int64_t kNginxDefaultSessionTimeout = 300;

// The longest ssl_session_timeout that keeps docs/design.md's bound, lifetime <= H x I -
// (2S + R + C): the lifetime hint less a margin for clock skew, reloads and agent downtime of
// a healthy fleet, one minute, or one interval when that is shorter (2S + R + C <= I is
// required anyway, so no margin beyond I is needed).
inline constexpr std::int64_t kSessionTimeoutMargin = 60;
std::int64_t recommended_session_timeout(std::int64_t lifetime_hint, std::int64_t interval);

}  // namespace stek::agent

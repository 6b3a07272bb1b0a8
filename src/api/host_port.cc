// HOST:PORT parsing with bracketed IPv6.
#include "api/host_port.h"

#include <arpa/inet.h>

#include "api/percent.h"

namespace stek::api {

namespace {

bool is_ipv6(std::string_view host) {
  const std::string text(host);
  unsigned char address[16];
  return inet_pton(AF_INET6, text.c_str(), address) == 1;
}

bool name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

}  // namespace

std::string HostPort::text() const {
  const std::string p = std::to_string(port);
  return host_is_ipv6() ? "[" + host + "]:" + p : host + ":" + p;
}

Result<HostPort> parse_host_port(std::string_view text, HostPortRules rules) {
  auto bad = [&](const std::string& why) {
    return make_error(Errc::invalid_argument, quote_for_message(text) + ": " + why);
  };
  HostPort out;
  std::string_view host;
  std::optional<std::string_view> port;  // what follows the ':' after the host, if any
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return bad("missing ']' after the IPv6 address");
    host = text.substr(1, close - 1);
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("expected ':PORT' after ']'");
      port = rest.substr(1);
    }
    if (!is_ipv6(host)) return bad("brackets must hold an IPv6 address");
  } else {
    const auto colon = text.find(':');
    if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos) {
      return bad("write an IPv6 address in brackets: [ADDRESS]:PORT");
    }
    host = text.substr(0, colon);
    if (colon != std::string_view::npos) port = text.substr(colon + 1);
    if (host.empty()) return bad("no host before the port");
    if (host.size() > 253) return bad("host is longer than 253 bytes");
    for (const char c : host) {
      if (!name_char(c)) return bad("the host may hold only A-Z a-z 0-9 . - _");
    }
  }
  out.host = std::string(host);
  if (!port) {
    if (!rules.default_port) return bad("no port (expected HOST:PORT)");
    out.port = *rules.default_port;
    return out;
  }
  if (port->empty()) return bad("empty port after ':'");
  if (port->size() > 5 || port->find_first_not_of("0123456789") != std::string_view::npos) {
    return bad("port must be a number from " + std::string(rules.allow_port_zero ? "0" : "1") +
               " to 65535");
  }
  unsigned value = 0;
  for (const char c : *port) value = value * 10 + static_cast<unsigned>(c - '0');
  if (value > 65535 || (value == 0 && !rules.allow_port_zero)) {
    return bad("port " + std::to_string(value) + " is outside " +
               (rules.allow_port_zero ? "0" : "1") + "..65535");
  }
  out.port = static_cast<std::uint16_t>(value);
  return out;
}

}  // namespace stek::api

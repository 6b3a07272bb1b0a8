// The one HOST:PORT parser for listen addresses (stekd, stek-agent) and targets (stek-scan,
// stekd URLs): "name:443", "192.0.2.1:443", "[2001:db8::1]:443", and "name" alone where a
// default port applies. IPv6 addresses must be bracketed: "::1:443" is ambiguous.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "stek/result.h"

namespace stek::api {

struct HostPort {
  std::string host;  // a DNS name, an IPv4 address, or an IPv6 address without brackets
  std::uint16_t port = 0;

  bool host_is_ipv6() const { return host.find(':') != std::string::npos; }
  // "host:port", with brackets around an IPv6 host.
  std::string text() const;
};

struct HostPortRules {
  // Used when the text has no ":PORT"; without one, the port is required.
  std::optional<std::uint16_t> default_port;
  // Listeners may ask for port 0 (any free port); targets may not.
  bool allow_port_zero = false;
};

// Errors (Errc::invalid_argument) quote the text and say what is wrong with it.
// A host is a bracketed IPv6 address, or 1 to 253 bytes of A-Z a-z 0-9 . - _ (names and
// IPv4 addresses); whether a name resolves is not checked here.
Result<HostPort> parse_host_port(std::string_view text, HostPortRules rules = {});

}  // namespace stek::api

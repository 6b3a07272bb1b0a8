// Parsing of endpoints and durations, and the names of the recorded enums.
#include "args.h"

#include <cctype>
#include <limits>

#include <arpa/inet.h>
#include <fmt/format.h>

#include "api/host_port.h"

namespace stek::scan {

std::string Endpoint::label() const {
  if (sni_in_label) {
    Endpoint plain = *this;
    plain.sni_in_label = false;
    return fmt::format("{}@{}", sni.empty() ? "-" : sni, plain.label());
  }
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

std::string_view probe_status_name(ProbeStatus s) {
  switch (s) {
    case ProbeStatus::ok:
      return "ok";
    case ProbeStatus::resolve_failed:
      return "resolve_failed";
    case ProbeStatus::refused:
      return "refused";
    case ProbeStatus::connect_timeout:
      return "connect_timeout";
    case ProbeStatus::connect_failed:
      return "connect_failed";
    case ProbeStatus::not_tls:
      return "not_tls";
    case ProbeStatus::handshake_failed:
      return "handshake_failed";
    case ProbeStatus::timeout:
      return "timeout";
    case ProbeStatus::closed:
      return "closed";
  }
  return "?";
}

std::string_view conn_kind_name(ConnKind k) {
  switch (k) {
    case ConnKind::fresh:
      return "fresh";
    case ConnKind::resume:
      return "resume";
    case ConnKind::cross:
      return "cross";
    case ConnKind::retired:
      return "retired";
    case ConnKind::aged:
      return "aged";
  }
  return "?";
}

std::string_view psk_ke_result_name(PskKeResult r) {
  switch (r) {
    case PskKeResult::accepted:
      return "accepted";
    case PskKeResult::rejected:
      return "rejected";
    case PskKeResult::inconclusive:
      return "inconclusive";
    case PskKeResult::error:
      return "error";
    case PskKeResult::not_tested:
      return "not_tested";
  }
  return "?";
}

std::string_view mode_name(Mode m) {
  switch (m) {
    case Mode::once:
      return "once";
    case Mode::watch:
      return "watch";
    case Mode::compare:
      return "compare";
    case Mode::vhosts:
      return "vhosts";
  }
  return "?";
}

bool is_ip_address(std::string_view host) {
  const std::string h(host);
  unsigned char buf[16];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

Result<Endpoint> parse_endpoint(std::string_view text, std::string_view sni) {
  STEK_ASSIGN_OR_RETURN(api::HostPort parsed, api::parse_host_port(text, {.default_port = 443}));
  Endpoint ep;
  ep.host = std::move(parsed.host);
  ep.port = parsed.port;
  if (sni == "-") {
    ep.sni.clear();
  } else if (!sni.empty()) {
    ep.sni = std::string(sni);
  } else if (!is_ip_address(ep.host)) {
    ep.sni = ep.host;
  }
  return ep;
}

Result<std::int64_t> parse_duration_ms(std::string_view text) {
  if (text.empty()) return make_error(Errc::invalid_argument, "empty duration");
  std::int64_t total = 0;
  std::size_t i = 0;
  constexpr std::int64_t kMax = std::int64_t{366} * 24 * 3600 * 1000;  // a year is plenty
  while (i < text.size()) {
    std::int64_t n = 0;
    const std::size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      n = n * 10 + (text[i] - '0');
      if (n > kMax) return make_error(Errc::invalid_argument, fmt::format("{}: too long", text));
      ++i;
    }
    if (i == start) {
      return make_error(Errc::invalid_argument,
                        fmt::format("'{}': expected a number such as 30s, 10m, 2h", text));
    }
    std::string_view unit;
    const std::size_t ustart = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    unit = text.substr(ustart, i - ustart);
    std::int64_t scale = 0;
    if (unit.empty() || unit == "s") {
      scale = 1000;
    } else if (unit == "ms") {
      scale = 1;
    } else if (unit == "m") {
      scale = 60 * 1000;
    } else if (unit == "h") {
      scale = 3600 * 1000;
    } else if (unit == "d") {
      scale = 24 * 3600 * 1000;
    } else {
      return make_error(Errc::invalid_argument,
                        fmt::format("'{}': unknown unit '{}' (ms, s, m, h, d)", text, unit));
    }
    total += n * scale;
    if (total > kMax) return make_error(Errc::invalid_argument, fmt::format("{}: too long", text));
    if (unit.empty() && (start != 0 || i < text.size())) {
      return make_error(Errc::invalid_argument, fmt::format("'{}': a unit is missing", text));
    }
  }
  return total;
}

std::string format_duration_ms(std::int64_t ms) {
  if (ms < 0) return "-" + format_duration_ms(-ms);
  if (ms < 1000) return fmt::format("{}ms", ms);
  if (ms < 60 * 1000) {
    if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
    return fmt::format("{:.1f}s", static_cast<double>(ms) / 1000.0);
  }
  std::int64_t s = ms / 1000;
  std::string out;
  const std::int64_t d = s / 86400;
  s %= 86400;
  const std::int64_t h = s / 3600;
  s %= 3600;
  const std::int64_t m = s / 60;
  s %= 60;
  if (d) out += fmt::format("{}d", d);
  if (h) out += fmt::format("{}h", h);
  if (m) out += fmt::format("{}m", m);
  if (s && !d) out += fmt::format("{}s", s);
  return out;
}

}  // namespace stek::scan

// Command-line values stek-scan parses: endpoints and durations.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "stek/result.h"

#include "observation.h"

namespace stek::scan {

// "host:port", "host" (port 443), "[v6]:port" or "[v6]". The SNI defaults to the host
// when it is a name and to none when it is an address; `sni` overrides it ("-" = none).
Result<Endpoint> parse_endpoint(std::string_view text, std::string_view sni = {});

// "90", "90s", "1500ms", "10m", "2h", "1d", or a sum such as "1h30m", into milliseconds.
Result<std::int64_t> parse_duration_ms(std::string_view text);
// The reverse, for people: "1h30m", "2.5s", "750ms".
std::string format_duration_ms(std::int64_t ms);

bool is_ip_address(std::string_view host);

}  // namespace stek::scan

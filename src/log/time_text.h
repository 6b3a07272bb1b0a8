// The one timestamp format of every stek program: RFC 3339 in UTC ("2026-12-01T22:10:05.123Z").
// Log lines, the audit log, stek-scan's reports and stekctl's tables all print times with it.
#pragma once

#include <cstdint>
#include <string>

namespace stek::log {

// Milliseconds since the Unix epoch as "2026-12-01T22:10:05.123Z" (negative times too).
std::string rfc3339_utc_ms(std::int64_t unix_ms);

// Whole seconds, for times that have no fraction (key validity): "2026-12-01T22:10:05Z".
std::string rfc3339_utc(std::int64_t unix_seconds);

}  // namespace stek::log

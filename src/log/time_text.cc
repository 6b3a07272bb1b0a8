// RFC 3339 UTC timestamps.
#include "time_text.h"

#include <cstdio>
#include <ctime>

namespace stek::log {

namespace {

std::string format(std::int64_t seconds, int millis, bool with_millis) {
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[80];  // room for any int the compiler cannot rule out
  if (with_millis) {
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  } else {
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  }
  return text;
}

}  // namespace

std::string rfc3339_utc_ms(std::int64_t unix_ms) {
  // Floor division, so that -1 ms is 23:59:59.999 of the day before.
  std::int64_t seconds = unix_ms / 1000;
  std::int64_t ms = unix_ms % 1000;
  if (ms < 0) {
    ms += 1000;
    --seconds;
  }
  return format(seconds, static_cast<int>(ms), true);
}

std::string rfc3339_utc(std::int64_t unix_seconds) {
  return format(unix_seconds, 0, false);
}

}  // namespace stek::log

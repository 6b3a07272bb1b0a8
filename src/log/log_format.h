// The log lines of stekd and stek-agent: one shape for both, times in RFC 3339 UTC, as text
// ("2026-12-01T22:10:05.123Z stekd info: message") or as one JSON object per line
// ({"time": ..., "level": ..., "program": ..., "message": ...}) for log collectors.
// Messages are the programs' own (names, counts, epochs): key bytes are never logged.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/common.h>
#include <spdlog/formatter.h>

#include "stek/result.h"

namespace stek::log {

enum class LogFormat { text, json };

// "text" or "json" (--log-format).
Result<LogFormat> parse_log_format(std::string_view name);

// One line without its newline. JSON escapes the message (invalid UTF-8 is replaced, never
// thrown on); text writes it as given.
std::string format_log_line(LogFormat format, std::string_view program, std::int64_t unix_ms,
                            spdlog::level::level_enum level, std::string_view message);

// An spdlog formatter that writes format_log_line's lines.
std::unique_ptr<spdlog::formatter> make_log_formatter(LogFormat format, std::string program);

struct LogOptions {
  std::string program;  // "stekd", "stek-agent"
  LogFormat format = LogFormat::text;
  std::string file;       // append to this file; empty: a standard stream
  bool to_stderr = true;  // without a file: stderr, else stdout
};

// Makes the default logger write such lines, each flushed at once, keeping the current level.
// Called again (SIGHUP), it opens the file by name anew, so a log logrotate moved away is let go.
Status use_log(const LogOptions& options);

}  // namespace stek::log

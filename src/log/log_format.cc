// Log lines: text or JSON, RFC 3339 UTC times.
#include "log_format.h"

#include <chrono>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "time_text.h"

namespace stek::log {

namespace {

class LineFormatter final : public spdlog::formatter {
 public:
  LineFormatter(LogFormat format, std::string program)
      : format_(format), program_(std::move(program)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count();
    const std::string line = format_log_line(
        format_, program_, ms, msg.level, std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(line.data(), line.data() + line.size());
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<LineFormatter>(format_, program_);
  }

 private:
  LogFormat format_;
  std::string program_;
};

}  // namespace

Result<LogFormat> parse_log_format(std::string_view name) {
  if (name == "text") return LogFormat::text;
  if (name == "json") return LogFormat::json;
  return make_error(Errc::invalid_argument,
                    "log format \"" + std::string(name) + "\": expected \"text\" or \"json\"");
}

std::string format_log_line(LogFormat format, std::string_view program, std::int64_t unix_ms,
                            spdlog::level::level_enum level, std::string_view message) {
  const spdlog::string_view_t level_name = spdlog::level::to_string_view(level);
  const std::string_view level_text(level_name.data(), level_name.size());
  if (format == LogFormat::json) {
    const nlohmann::json line = {{"time", rfc3339_utc_ms(unix_ms)},
                                 {"level", level_text},
                                 {"program", program},
                                 {"message", message}};
    // Names in messages come from certificates and files: replace invalid UTF-8, never throw.
    return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string line = rfc3339_utc_ms(unix_ms);
  line += ' ';
  line += program;
  line += ' ';
  line += level_text;
  line += ": ";
  line += message;
  return line;
}

std::unique_ptr<spdlog::formatter> make_log_formatter(LogFormat format, std::string program) {
  return std::make_unique<LineFormatter>(format, std::move(program));
}

Status use_log(const LogOptions& options) {
  spdlog::sink_ptr sink;
  try {
    if (!options.file.empty()) {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file);
    } else if (options.to_stderr) {
      sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    } else {
      sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    }
  } catch (const spdlog::spdlog_ex& e) {
    return make_error(Errc::io, "log file " + options.file + ": " + e.what());
  }
  auto logger = std::make_shared<spdlog::logger>(options.program, std::move(sink));
  logger->set_level(spdlog::default_logger()->level());
  logger->set_formatter(make_log_formatter(options.format, options.program));
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
  return {};
}

}  // namespace stek::log

// Log lines of stekd and stek-agent: text and JSON, escaped, through spdlog's formatter.
#include "log_format.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/details/log_msg.h>

namespace stek::log {
namespace {

constexpr std::int64_t kLineMs = 1'800'000'000'123;  // 2027-01-15T08:00:00.123Z

TEST(LogFormat, TextLineStartsWithRfc3339UtcTime) {
  EXPECT_EQ(format_log_line(LogFormat::text, "stekd", kLineMs, spdlog::level::info, "ready"),
            "2027-01-15T08:00:00.123Z stekd info: ready");
  EXPECT_EQ(format_log_line(LogFormat::text, "stek-agent", kLineMs, spdlog::level::warn, "w"),
            "2027-01-15T08:00:00.123Z stek-agent warning: w");
}

TEST(LogFormat, JsonLineHasTimeLevelProgramAndMessage) {
  const std::string line =
      format_log_line(LogFormat::json, "stekd", kLineMs, spdlog::level::err, "store failed");
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j.at("time"), "2027-01-15T08:00:00.123Z");
  EXPECT_EQ(j.at("level"), "error");
  EXPECT_EQ(j.at("program"), "stekd");
  EXPECT_EQ(j.at("message"), "store failed");
  EXPECT_EQ(j.size(), 4U);
}

TEST(LogFormat, JsonEscapesQuotesNewlinesAndControlBytes) {
  const std::string hostile = "host \"a\"\nforged {\"level\":\"info\"}\x01\\";
  const std::string line =
      format_log_line(LogFormat::json, "stekd", kLineMs, spdlog::level::warn, hostile);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(line).at("message"), hostile);
}

TEST(LogFormat, JsonReplacesInvalidUtf8InsteadOfThrowing) {
  const std::string line =
      format_log_line(LogFormat::json, "stekd", kLineMs, spdlog::level::info, "bad \xff byte");
  EXPECT_EQ(nlohmann::json::parse(line).at("message"), "bad \xEF\xBF\xBD byte");
}

TEST(LogFormat, ParsesOnlyTextAndJson) {
  EXPECT_EQ(*parse_log_format("text"), LogFormat::text);
  EXPECT_EQ(*parse_log_format("json"), LogFormat::json);
  EXPECT_FALSE(parse_log_format("JSON").ok());
  EXPECT_FALSE(parse_log_format("").ok());
}

TEST(LogFormat, SpdlogFormatterWritesOneLinePerMessage) {
  auto formatter = make_log_formatter(LogFormat::json, "stek-agent");
  const spdlog::log_clock::time_point at{std::chrono::milliseconds(kLineMs)};
  const spdlog::details::log_msg msg(at, spdlog::source_loc{}, "stek-agent", spdlog::level::info,
                                     "epoch 7");
  spdlog::memory_buf_t out;
  formatter->format(msg, out);
  EXPECT_EQ(std::string(out.data(), out.size()),
            "{\"level\":\"info\",\"message\":\"epoch 7\",\"program\":\"stek-agent\","
            "\"time\":\"2027-01-15T08:00:00.123Z\"}\n");
  spdlog::memory_buf_t cloned;
  formatter->clone()->format(msg, cloned);
  EXPECT_EQ(std::string(cloned.data(), cloned.size()), std::string(out.data(), out.size()));
}

}  // namespace
}  // namespace stek::log

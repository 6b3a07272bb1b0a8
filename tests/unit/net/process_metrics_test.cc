// stek_build_info and the process metrics: /proc parsing on fixture text, and the rendering.
#include "process_metrics.h"

#include <gtest/gtest.h>

namespace stek::net {
namespace {

// A /proc/self/stat line as Linux 6.1 writes it (proc(5)), with a command name that holds a
// space and a ')' to show that fields are counted from the last ')'. utime 250, stime 50,
// starttime 123456, vsize 104857600, rss 2560 pages.
constexpr std::string_view kProcSelfStat =
    "4242 (stek d) x) S 1 4242 4242 0 -1 4194560 1500 0 0 0 250 50 0 0 20 0 3 0 123456 "
    "104857600 2560 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 "
    "0 0\n";

constexpr std::string_view kProcStat =
    "cpu  10 0 10 100 0 0 0 0 0 0\n"
    "intr 12345 0 0\n"
    "ctxt 999\n"
    "btime 1800000000\n"
    "processes 4300\n";

constexpr std::string_view kLimits =
    "Limit                     Soft Limit           Hard Limit           Units     \n"
    "Max cpu time              unlimited            unlimited            seconds   \n"
    "Max open files            65536                524288               files     \n"
    "Max locked memory         8388608              8388608              bytes     \n";

TEST(ProcParse, StatFieldsAreCountedFromTheLastParenthesis) {
  const auto stat = parse_proc_stat(kProcSelfStat);
  ASSERT_TRUE(stat.ok()) << stat.error().message;
  EXPECT_EQ(stat->utime_ticks, 250u);
  EXPECT_EQ(stat->stime_ticks, 50u);
  EXPECT_EQ(stat->start_ticks, 123456u);
  EXPECT_EQ(stat->vsize_bytes, 104857600u);
  EXPECT_EQ(stat->rss_pages, 2560u);
}

TEST(ProcParse, RejectsTruncatedOrNamelessStat) {
  EXPECT_FALSE(parse_proc_stat("4242 stekd S 1 2 3").ok());
  EXPECT_FALSE(parse_proc_stat("4242 (stekd) S 1 4242 4242 0 -1 4194560 1500 0 0 0 250").ok());
  std::string bad_utime(kProcSelfStat);
  bad_utime.replace(bad_utime.find(" 250 "), 5, " 2x0 ");
  EXPECT_FALSE(parse_proc_stat(bad_utime).ok());
}

TEST(ProcParse, BootTimeFromBtimeLine) {
  EXPECT_EQ(*parse_boot_time(kProcStat), 1'800'000'000);
  EXPECT_FALSE(parse_boot_time("cpu 1 2 3\nctxt 5\n").ok());
  EXPECT_FALSE(parse_boot_time("btime soon\n").ok());
}

TEST(ProcParse, MaxOpenFilesIsTheSoftLimit) {
  EXPECT_EQ(parse_max_open_files(kLimits), 65536u);
  EXPECT_EQ(
      parse_max_open_files("Max open files            unlimited            unlimited  files\n"),
      std::nullopt);
  EXPECT_EQ(parse_max_open_files("Max cpu time  unlimited\n"), std::nullopt);
}

TEST(ProcessSample, TicksAndPagesBecomeSecondsAndBytes) {
  const ProcessSample s = make_process_sample(*parse_proc_stat(kProcSelfStat), 1'800'000'000,
                                              /*ticks_per_second=*/100, /*page_size=*/4096);
  EXPECT_DOUBLE_EQ(s.cpu_seconds, 3.0);
  EXPECT_EQ(s.resident_bytes, 2560u * 4096u);
  EXPECT_EQ(s.virtual_bytes, 104857600u);
  EXPECT_DOUBLE_EQ(s.start_time_seconds, 1'800'000'000 + 1234.56);
}

TEST(ProcessSample, ReadsThisProcess) {
  const auto s = read_process_sample();
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_GT(s->resident_bytes, 0u);
  EXPECT_GE(s->open_fds, 3u);  // stdin, stdout, stderr at least
  EXPECT_GT(s->start_time_seconds, 1'600'000'000);
}

TEST(ProcessMetricsText, BuildInfoAndProcessFamiliesAreRendered) {
  ProcessSample s;
  s.cpu_seconds = 1.25;
  s.resident_bytes = 1000;
  s.virtual_bytes = 2000;
  s.start_time_seconds = 1'800'000'000.5;
  s.open_fds = 12;
  s.max_fds = 1024;
  const std::string text = render_process_metrics({"stekd", "0.1.0", "3.0.17"}, s);
  EXPECT_EQ(text,
            "# HELP stek_build_info Always 1; the labels name the program, stek's version and the "
            "OpenSSL in use.\n"
            "# TYPE stek_build_info gauge\n"
            "stek_build_info{program=\"stekd\",version=\"0.1.0\",openssl=\"3.0.17\"} 1\n"
            "# HELP process_cpu_seconds_total User and system CPU time spent in seconds.\n"
            "# TYPE process_cpu_seconds_total counter\n"
            "process_cpu_seconds_total 1.25\n"
            "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
            "# TYPE process_resident_memory_bytes gauge\n"
            "process_resident_memory_bytes 1000\n"
            "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
            "# TYPE process_virtual_memory_bytes gauge\n"
            "process_virtual_memory_bytes 2000\n"
            "# HELP process_start_time_seconds Start time of the process since the Unix epoch in "
            "seconds.\n"
            "# TYPE process_start_time_seconds gauge\n"
            "process_start_time_seconds 1800000000.5\n"
            "# HELP process_open_fds Number of open file descriptors.\n"
            "# TYPE process_open_fds gauge\n"
            "process_open_fds 12\n"
            "# HELP process_max_fds Maximum number of open file descriptors.\n"
            "# TYPE process_max_fds gauge\n"
            "process_max_fds 1024\n");
}

TEST(ProcessMetricsText, WithoutASampleOnlyBuildInfo) {
  const std::string text = render_process_metrics(build_info("stek-agent"), std::nullopt);
  EXPECT_NE(text.find("stek_build_info{program=\"stek-agent\",version=\""), std::string::npos);
  EXPECT_EQ(text.find("process_"), std::string::npos);
}

TEST(ProcessMetricsText, BuildInfoNamesTheRunningOpenSsl) {
  const BuildInfo b = build_info("stekd");
  EXPECT_FALSE(b.version.empty());
  EXPECT_NE(b.version, "unknown");
  EXPECT_EQ(b.openssl.substr(0, 2), "3.");
}

}  // namespace
}  // namespace stek::net

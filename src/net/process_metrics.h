// What every stek program adds to its /metrics about itself: stek_build_info and the process
// figures Prometheus' conventions name (process_cpu_seconds_total, process_resident_memory_bytes,
// process_open_fds, process_start_time_seconds, ...), read from /proc/self. The parsers take the
// files' text, so tests feed them fixtures.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "stek/result.h"

namespace stek::net {

// The fields of /proc/self/stat that the metrics need (proc(5)), in the kernel's units.
struct ProcStat {
  std::uint64_t utime_ticks = 0;  // field 14
  std::uint64_t stime_ticks = 0;  // field 15
  std::uint64_t start_ticks = 0;  // field 22: after boot
  std::uint64_t vsize_bytes = 0;  // field 23
  std::uint64_t rss_pages = 0;    // field 24
};

// /proc/self/stat. The command name (field 2) may hold spaces and parentheses: fields are
// counted after its last ')'.
Result<ProcStat> parse_proc_stat(std::string_view text);
// /proc/stat's "btime" line: the boot time in Unix seconds.
Result<std::int64_t> parse_boot_time(std::string_view proc_stat);
// /proc/self/limits' "Max open files" soft limit; none when unlimited or absent.
std::optional<std::uint64_t> parse_max_open_files(std::string_view limits);

struct ProcessSample {
  double cpu_seconds = 0;  // user + system
  std::uint64_t resident_bytes = 0;
  std::uint64_t virtual_bytes = 0;
  double start_time_seconds = 0;  // Unix time
  std::uint64_t open_fds = 0;
  std::optional<std::uint64_t> max_fds;
};

ProcessSample make_process_sample(const ProcStat& stat, std::int64_t boot_time,
                                  std::int64_t ticks_per_second, std::int64_t page_size);
// Reads /proc/self/stat, /proc/stat, /proc/self/limits and counts /proc/self/fd.
Result<ProcessSample> read_process_sample();

struct BuildInfo {
  std::string program;  // "stekd", "stek-agent"
  std::string version;  // stek's version
  std::string openssl;  // the OpenSSL library in use, e.g. "3.0.17"
};

// This build of `program`, with the OpenSSL version the process runs with.
BuildInfo build_info(std::string_view program);

// stek_build_info 1, and the process families when a sample was read.
std::string render_process_metrics(const BuildInfo& build, const std::optional<ProcessSample>& p);

// What a program's /metrics appends: its build and a fresh sample of /proc/self.
std::string process_metrics_text(std::string_view program);

}  // namespace stek::net

// stek_build_info and process metrics from /proc/self (proc(5)).
#include "process_metrics.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include <openssl/crypto.h>
#include <unistd.h>

#include "prometheus.h"

#ifndef STEK_VERSION
#define STEK_VERSION "unknown"
#endif

namespace stek::net {

namespace {

std::vector<std::string_view> split_spaces(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n')) ++i;
    const std::size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t' && text[i] != '\n') ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

template <typename T>
std::optional<T> number(std::string_view text) {
  T value{};
  const auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (err != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

Result<std::string> read_text(const char* path) {
  std::ifstream in(path);
  if (!in) return make_error(Errc::io, std::string(path) + ": cannot be read");
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

Result<ProcStat> parse_proc_stat(std::string_view text) {
  const std::size_t close = text.rfind(')');
  if (close == std::string_view::npos)
    return make_error(Errc::bad_format, "/proc/self/stat: no command name in parentheses");
  // After the name: field 3 (state) is index 0, so field n is index n - 3.
  const auto fields = split_spaces(text.substr(close + 1));
  auto field = [&](std::size_t n) -> std::optional<std::uint64_t> {
    if (n - 3 >= fields.size()) return std::nullopt;
    return number<std::uint64_t>(fields[n - 3]);
  };
  const auto utime = field(14), stime = field(15), start = field(22), vsize = field(23),
             rss = field(24);
  if (!utime || !stime || !start || !vsize || !rss)
    return make_error(Errc::bad_format, "/proc/self/stat: fields 14, 15 or 22 to 24 missing");
  return ProcStat{*utime, *stime, *start, *vsize, *rss};
}

Result<std::int64_t> parse_boot_time(std::string_view proc_stat) {
  std::size_t pos = 0;
  while (pos < proc_stat.size()) {
    std::size_t end = proc_stat.find('\n', pos);
    if (end == std::string_view::npos) end = proc_stat.size();
    const auto words = split_spaces(proc_stat.substr(pos, end - pos));
    if (words.size() == 2 && words[0] == "btime") {
      if (auto t = number<std::int64_t>(words[1])) return *t;
      break;
    }
    pos = end + 1;
  }
  return make_error(Errc::bad_format, "/proc/stat: no btime line");
}

std::optional<std::uint64_t> parse_max_open_files(std::string_view limits) {
  constexpr std::string_view kName = "Max open files";
  const std::size_t at = limits.find(kName);
  if (at == std::string_view::npos) return std::nullopt;
  std::size_t end = limits.find('\n', at);
  if (end == std::string_view::npos) end = limits.size();
  const auto words = split_spaces(limits.substr(at + kName.size(), end - at - kName.size()));
  if (words.empty()) return std::nullopt;
  return number<std::uint64_t>(words[0]);  // "unlimited": none
}

ProcessSample make_process_sample(const ProcStat& stat, std::int64_t boot_time,
                                  std::int64_t ticks_per_second, std::int64_t page_size) {
  const double ticks = static_cast<double>(ticks_per_second > 0 ? ticks_per_second : 100);
  ProcessSample s;
  s.cpu_seconds = static_cast<double>(stat.utime_ticks + stat.stime_ticks) / ticks;
  s.resident_bytes = stat.rss_pages * static_cast<std::uint64_t>(page_size > 0 ? page_size : 4096);
  s.virtual_bytes = stat.vsize_bytes;
  s.start_time_seconds =
      static_cast<double>(boot_time) + static_cast<double>(stat.start_ticks) / ticks;
  return s;
}

Result<ProcessSample> read_process_sample() {
  STEK_ASSIGN_OR_RETURN(const std::string stat_text, read_text("/proc/self/stat"));
  STEK_ASSIGN_OR_RETURN(const ProcStat stat, parse_proc_stat(stat_text));
  STEK_ASSIGN_OR_RETURN(const std::string boot_text, read_text("/proc/stat"));
  STEK_ASSIGN_OR_RETURN(const std::int64_t boot_time, parse_boot_time(boot_text));
  ProcessSample s =
      make_process_sample(stat, boot_time, ::sysconf(_SC_CLK_TCK), ::sysconf(_SC_PAGESIZE));
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++s.open_fds;
  }
  if (auto limits = read_text("/proc/self/limits"); limits.ok())
    s.max_fds = parse_max_open_files(*limits);
  return s;
}

BuildInfo build_info(std::string_view program) {
  return {std::string(program), STEK_VERSION, OpenSSL_version(OPENSSL_VERSION_STRING)};
}

std::string render_process_metrics(const BuildInfo& build, const std::optional<ProcessSample>& p) {
  PrometheusText m;
  m.family("stek_build_info", MetricType::gauge,
           "Always 1; the labels name the program, stek's version and the OpenSSL in use.");
  m.sample("stek_build_info",
           {{"program", build.program}, {"version", build.version}, {"openssl", build.openssl}}, 1);
  if (!p) return m.text();
  m.family("process_cpu_seconds_total", MetricType::counter,
           "User and system CPU time spent in seconds.");
  m.sample("process_cpu_seconds_total", {}, p->cpu_seconds);
  m.single("process_resident_memory_bytes", MetricType::gauge, "Resident memory size in bytes.",
           p->resident_bytes);
  m.single("process_virtual_memory_bytes", MetricType::gauge, "Virtual memory size in bytes.",
           p->virtual_bytes);
  m.family("process_start_time_seconds", MetricType::gauge,
           "Start time of the process since the Unix epoch in seconds.");
  m.sample("process_start_time_seconds", {}, p->start_time_seconds);
  m.single("process_open_fds", MetricType::gauge, "Number of open file descriptors.", p->open_fds);
  if (p->max_fds) {
    m.single("process_max_fds", MetricType::gauge, "Maximum number of open file descriptors.",
             *p->max_fds);
  }
  return m.text();
}

std::string process_metrics_text(std::string_view program) {
  auto sample = read_process_sample();
  return render_process_metrics(build_info(program),
                                sample.ok() ? std::optional<ProcessSample>(*sample) : std::nullopt);
}

}  // namespace stek::net

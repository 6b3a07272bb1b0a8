// Audit sinks: failure accounting, the JSON-lines file, and the process log.
#include "audit.h"

#include <cerrno>
#include <cstring>
#include <ctime>

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

namespace stek::server {

std::string rfc3339_utc(std::int64_t unix_ms) {
  std::int64_t seconds = unix_ms / 1000;
  std::int64_t ms = unix_ms % 1000;
  if (ms < 0) {
    ms += 1000;
    --seconds;
  }
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[80];  // room for any int the compiler cannot rule out
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return text;
}

std::string audit_line(std::int64_t unix_ms, std::string_view event, const nlohmann::json& fields) {
  nlohmann::json line = {{"ts", rfc3339_utc(unix_ms)}, {"event", event}};
  for (const auto& [key, value] : fields.items()) {
    if (key != "ts" && key != "event") line[key] = value;
  }
  // Names and hosts come from certificates and requests: replace invalid UTF-8, never throw.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Status AuditSink::record(std::string_view event, nlohmann::json fields) {
  return counted(write(event, std::move(fields), true), event);
}

Status AuditSink::record_unsynced(std::string_view event, nlohmann::json fields) {
  return counted(write(event, std::move(fields), false), event);
}

Status AuditSink::counted(Status written, std::string_view event) {
  if (written.ok()) {
    if (failing_.exchange(false)) spdlog::warn("audit log writable again");
    return written;
  }
  ++failures_;
  failing_ = true;
  spdlog::error("audit event {} not recorded: {}", event, written.error().message);
  return written;
}

Result<std::unique_ptr<FileAuditLog>> FileAuditLog::open(const std::filesystem::path& path,
                                                         const Clock& clock) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return make_error(Errc::io, path.string() + ": cannot open audit log: " + std::strerror(errno));
  }
  return std::unique_ptr<FileAuditLog>(new FileAuditLog(path, fd, clock));
}

FileAuditLog::~FileAuditLog() {
  ::close(fd_);
}

Error FileAuditLog::failed(const std::string& what, int err) const {
  return make_error(Errc::io, path_.string() + ": audit log " + what + ": " + std::strerror(err));
}

Status FileAuditLog::reopen() {
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return failed("cannot be reopened", errno);
  std::lock_guard lock(mu_);
  ::close(fd_);
  fd_ = fd;
  return {};
}

Status FileAuditLog::write(std::string_view event, nlohmann::json fields, bool sync) {
  const std::string text = audit_line(clock_.now_ms(), event, fields) + "\n";
  std::lock_guard lock(mu_);
  // O_APPEND writes at the end; remember where that was, so a short write (a full disk) can be
  // cut back and no half line is ever left for the next line to be glued to.
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return failed("cannot be read", errno);
  const auto cut_back = [&] {
    if (::ftruncate(fd_, st.st_size) != 0) {
      spdlog::critical("{}: a partial audit line could not be removed: {}", path_.string(),
                       std::strerror(errno));
    }
  };
  const ssize_t n = ::write(fd_, text.data(), text.size());
  if (n != static_cast<ssize_t>(text.size())) {
    const int err = n < 0 ? errno : ENOSPC;
    if (n > 0) cut_back();
    return failed("write failed", err);
  }
  if (sync && ::fdatasync(fd_) != 0) {
    // A refused action leaves no line behind: take back what may not be on disk.
    const int err = errno;
    cut_back();
    return failed("flush failed", err);
  }
  return {};
}

Status LogAuditLog::write(std::string_view event, nlohmann::json fields, bool /*sync*/) {
  spdlog::info("audit {}", audit_line(clock_.now_ms(), event, fields));
  return {};
}

}  // namespace stek::server

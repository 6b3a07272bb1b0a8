// Audit sinks: failure accounting, the JSON-lines file, and the process log.
#include "audit.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include "time_text.h"

namespace stek::server {

std::string audit_line(std::int64_t unix_ms, std::string_view event, const nlohmann::json& fields) {
  nlohmann::json line = {{"ts", log::rfc3339_utc_ms(unix_ms)}, {"event", event}};
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

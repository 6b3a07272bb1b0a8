// File-backed audit log.
#include "audit.h"

#include <cstring>

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

namespace stek::server {

Result<std::unique_ptr<FileAuditLog>> FileAuditLog::open(const std::filesystem::path& path,
                                                         const Clock& clock) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return make_error(Errc::io, path.string() + ": cannot open audit log: " + std::strerror(errno));
  }
  return std::unique_ptr<FileAuditLog>(new FileAuditLog(fd, clock));
}

FileAuditLog::~FileAuditLog() {
  ::close(fd_);
}

void FileAuditLog::record(std::string_view event, nlohmann::json fields) {
  nlohmann::json line = {{"ts", clock_.now()}, {"event", event}};
  line.update(fields);
  const std::string text = line.dump() + "\n";
  std::lock_guard lock(mu_);
  if (::write(fd_, text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
      ::fsync(fd_) != 0) {
    spdlog::error("audit log write failed: {}", std::strerror(errno));
  }
}

}  // namespace stek::server

// Audit log: one JSON object per line for every admin request (granted or refused), key
// generation, erasure, key delivery, and stekd's start and stop. Never key bytes: events carry
// epochs, domains, versions, actors, peer addresses and certificate serials only.
//
// It fails closed: record() returns an error when the line is not durably written, and the
// caller then does not commit or perform what the line describes (docs/operating.md, "Audit").
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "stek/clock.h"
#include "stek/result.h"

namespace stek::server {

// The one line an event becomes: {"ts": RFC 3339 UTC with milliseconds (log::rfc3339_utc_ms),
// "event": name, ...fields}, no newline.
std::string audit_line(std::int64_t unix_ms, std::string_view event, const nlohmann::json& fields);

class AuditSink {
 public:
  virtual ~AuditSink() = default;

  // Writes one event durably. An error means the event is not in the audit: the caller must
  // not commit or perform what it describes. Failures are counted; the sink counts as failing
  // until a later write succeeds.
  Status record(std::string_view event, nlohmann::json fields);
  // Writes one event as a whole line without waiting for the disk (survives a crash of stekd,
  // not of the machine). For key deliveries: one per agent per ring, so a sync each would
  // stall an epoch boundary's fan-out to thousands of agents. Fails like record().
  Status record_unsynced(std::string_view event, nlohmann::json fields);

  // Reopens the file by its path (after logrotate moved it away); a no-op for sinks without one.
  virtual Status reopen() { return {}; }

  std::uint64_t failures_total() const { return failures_.load(); }
  // The last write failed (stekd's /healthz fails while this holds).
  bool failing() const { return failing_.load(); }

 protected:
  // sync: wait until the line is on disk.
  virtual Status write(std::string_view event, nlohmann::json fields, bool sync) = 0;

 private:
  Status counted(Status written, std::string_view event);
  std::atomic<std::uint64_t> failures_{0};
  std::atomic<bool> failing_{false};
};

// Appends lines to a file: each line in one write(), cut back to its old length if the write
// was short, then fdatasync. Audit lines are few and must survive a crash.
class FileAuditLog final : public AuditSink {
 public:
  static Result<std::unique_ptr<FileAuditLog>> open(const std::filesystem::path& path,
                                                    const Clock& clock);
  ~FileAuditLog() override;
  Status reopen() override;

 protected:
  Status write(std::string_view event, nlohmann::json fields, bool sync) override;

 private:
  FileAuditLog(std::filesystem::path path, int fd, const Clock& clock)
      : path_(std::move(path)), fd_(fd), clock_(clock) {}
  Error failed(const std::string& what, int err) const;

  std::filesystem::path path_;
  int fd_;
  const Clock& clock_;
  std::mutex mu_;
};

// stekd without audit.path: each event is one line of the process log ("audit {...}") at info
// level; nothing is kept in memory.
class LogAuditLog final : public AuditSink {
 public:
  explicit LogAuditLog(const Clock& clock) : clock_(clock) {}

 protected:
  Status write(std::string_view event, nlohmann::json fields, bool sync) override;

 private:
  const Clock& clock_;
};

}  // namespace stek::server

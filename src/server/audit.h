// Audit log: one JSON object per line for every admin action, key generation and erasure.
// Never key bytes: events carry epochs, domains, versions and actors only.
#pragma once

#include <filesystem>
#include <mutex>
#include <string_view>

#include <nlohmann/json.hpp>

#include "stek/clock.h"
#include "stek/result.h"

namespace stek::server {

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  virtual void record(std::string_view event, nlohmann::json fields) = 0;
};

// Appends lines to a file (O_APPEND, fsync per line: audit lines are rare and must survive).
class FileAuditLog final : public AuditSink {
 public:
  static Result<std::unique_ptr<FileAuditLog>> open(const std::filesystem::path& path,
                                                    const Clock& clock);
  ~FileAuditLog() override;
  void record(std::string_view event, nlohmann::json fields) override;

 private:
  FileAuditLog(int fd, const Clock& clock) : fd_(fd), clock_(clock) {}
  int fd_;
  const Clock& clock_;
  std::mutex mu_;
};

// Keeps events in memory (tests, and stekd without an audit path configured).
class MemoryAuditLog final : public AuditSink {
 public:
  void record(std::string_view event, nlohmann::json fields) override {
    fields["event"] = event;
    events.push_back(std::move(fields));
  }
  std::vector<nlohmann::json> events;
};

}  // namespace stek::server

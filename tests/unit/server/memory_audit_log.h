// An AuditSink for tests only: keeps events in memory, and fails on demand (a full disk).
// stekd itself never keeps audit events in memory (audit.h: a file, or the process log).
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "audit.h"

namespace stek::server {

class MemoryAuditLog final : public AuditSink {
 public:
  std::vector<nlohmann::json> events;
  bool fail = false;  // every write fails while set, and nothing is kept

 protected:
  Status write(std::string_view event, nlohmann::json fields, bool /*sync*/) override {
    if (fail) return make_error(Errc::io, "audit.jsonl: audit log write failed: disk full");
    fields["event"] = event;
    events.push_back(std::move(fields));
    return {};
  }
};

}  // namespace stek::server

// AppliedState: what each sink last CONFIRMED its server serves (ring version, secret
// versions, key names and roles), kept in a small file on tmpfs and rewritten only after a
// sink's apply() succeeded (for nginx: after the reload). A restarted agent compares it with
// what the sink should serve and re-applies with a forced reload when they differ or the
// record is missing: files already written by a killed agent do not prove nginx read them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "stek/ring.h"

namespace stek::agent {

// One sink's confirmed state. No key bytes: key names are public (every ticket carries one).
struct AppliedRecord {
  Epoch epoch = 0;                             // the epoch whose roles were applied
  std::uint64_t ring_version = 0;              // 0: no stek keys (keyless)
  std::vector<std::uint32_t> secret_versions;  // distinct domain secret versions, ascending
  std::vector<std::string> keys;               // "<name hex>:<role>", in the ring's order

  bool operator==(const AppliedRecord&) const = default;
};

// The record for serving `ring` (null: no stek keys) at `epoch`.
AppliedRecord applied_record(const KeyRing* ring, std::uint64_t ring_version, Epoch epoch);

class AppliedState {
 public:
  explicit AppliedState(std::filesystem::path path) : path_(std::move(path)) {}

  const std::filesystem::path& path() const { return path_; }
  // Reads the file. A missing file means nothing is confirmed; a damaged one is reported and
  // also means nothing is confirmed (every sink then re-applies and reloads).
  Status load();
  // The sink's confirmed record, if any.
  const AppliedRecord* confirmed(const std::string& sink) const;
  // Records that `sink` now serves `record` and rewrites the file (atomically, mode 0600)
  // when anything changed.
  Status confirm(const std::string& sink, const AppliedRecord& record);

 private:
  std::filesystem::path path_;
  std::map<std::string, AppliedRecord> records_;
};

}  // namespace stek::agent

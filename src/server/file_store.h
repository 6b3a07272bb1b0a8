// The embedded store: one JSON file of records, each sealed with AES-256-GCM under the KEK
// with its identity as associated data, plus a sealed manifest listing every record, so a
// record cannot be altered, swapped, relabelled or dropped unnoticed. Replaced atomically.
#pragma once

#include <chrono>
#include <filesystem>
#include <mutex>

#include "stek/random.h"
#include "stek/seal.h"

#include "store.h"

namespace stek::server {

// Errors: Errc::integrity for a damaged file or another KEK; Errc::rollback when the file is
// older than a generation this object has already read or written (an old copy restored
// under a running stekd; across restarts an old copy is not detected yet); Errc::conflict
// when another process holds the commit lock for longer than lock_wait.
class FileStore final : public Store {
 public:
  FileStore(std::filesystem::path path, Kek kek, Random& random,
            std::chrono::milliseconds lock_wait = std::chrono::seconds(10));

  Result<StoreState> load() override;
  Result<bool> commit(const StoreState& next, std::uint64_t expected) override;
  std::string describe() const override { return "file " + path_.string(); }

 private:
  Result<StoreState> read_locked();
  std::filesystem::path path_;
  Kek kek_;
  Random& random_;
  std::chrono::milliseconds lock_wait_;
  std::uint64_t seen_generation_ = 0;  // highest generation read or written here
  std::mutex mu_;  // commits from one process are serialised; other processes: see commit()
};

}  // namespace stek::server

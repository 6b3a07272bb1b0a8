// The embedded store: one JSON file of records, each sealed with AES-256-GCM under the KEK
// with its identity as associated data, plus a sealed manifest listing every record, so a
// record cannot be altered, swapped, relabelled or dropped unnoticed. Replaced atomically.
#pragma once

#include <filesystem>
#include <mutex>

#include "stek/random.h"
#include "stek/seal.h"
#include "store.h"

namespace stek::server {

class FileStore final : public Store {
 public:
  FileStore(std::filesystem::path path, Kek kek, Random& random);

  Result<StoreState> load() override;
  Result<bool> commit(const StoreState& next, std::uint64_t expected) override;
  std::string describe() const override { return "file " + path_.string(); }

 private:
  Result<StoreState> read_locked();
  std::filesystem::path path_;
  Kek kek_;
  Random& random_;
  std::mutex mu_;  // commits from one process are serialised; other processes: see commit()
};

}  // namespace stek::server

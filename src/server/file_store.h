// The embedded store: one JSON file of records, each sealed with AES-256-GCM under the KEK
// with its identity as associated data, plus a sealed manifest listing every record, so a
// record cannot be altered, swapped, relabelled or dropped unnoticed. Replaced atomically.
// A generation counter outside the file (generation_file.h) catches an old copy put back.
#pragma once

#include <chrono>
#include <filesystem>
#include <mutex>

#include "stek/random.h"
#include "stek/seal.h"

#include "generation_file.h"
#include "store.h"

namespace stek::server {

struct FileStoreOptions {
  // The high-water mark of the state, kept apart from it (stekd: store.generation_file).
  std::filesystem::path generation_file;
  // A missing state file starts a new state (stekd --init). Without it a missing state file
  // is an error; with it an existing one is (--init makes a state, it never replaces one).
  bool init = false;
  // Bounded: a process that holds the commit lock forever must not stall maintenance.
  std::chrono::milliseconds lock_wait = std::chrono::seconds(10);
};

// Errors: Errc::integrity for a damaged file or counter, or another KEK; Errc::rollback when
// the file is older than the counter or than a generation this object has read or written
// (an old copy restored), or is missing while the counter says it existed; Errc::not_found
// for a missing file on a first start without init; Errc::conflict when another process
// holds the commit lock for longer than lock_wait.
//
// A commit writes the state file first, then the counter. Killed between the two, the file
// is one generation ahead of the counter, which load() accepts (a file newer than the counter
// cannot be forged without the KEK) and the next commit catches the counter up. The other
// order would leave a good file behind the counter and refused for ever.
class FileStore final : public Store {
 public:
  FileStore(std::filesystem::path path, Kek kek, Random& random, FileStoreOptions options);

  Result<StoreState> load() override;
  Result<bool> commit(const StoreState& next, std::uint64_t expected) override;
  std::string describe() const override { return "file " + path_.string(); }

  // Erases the temp files of writes a crash interrupted (see leftovers.h), under the commit
  // lock. stekd calls it once at start. Returns how many it removed.
  Result<std::size_t> remove_leftovers();

 private:
  Result<StoreState> read_locked();
  Result<StoreState> read_file_locked();
  Result<int> lock();  // the commit lock's descriptor: close it to unlock
  Status write_locked(const StoreState& next);

  std::filesystem::path path_;
  Kek kek_;
  Random& random_;
  FileStoreOptions options_;
  GenerationFile counter_;
  std::uint64_t seen_generation_ = 0;  // highest generation read or written here
  std::mutex mu_;  // commits from one process are serialised; other processes: see commit()
};

}  // namespace stek::server

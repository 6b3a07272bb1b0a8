// The state file's high-water mark, kept outside it (by default beside the KEK): the newest
// generation committed and the highest domain secret version ever used. A state file older
// than the mark is a restored copy that could bring erased secrets back; a state made anew
// after the old one was lost numbers its secret versions above the mark.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

#include "stek/random.h"
#include "stek/result.h"
#include "stek/seal.h"

namespace stek::server {

struct HighWaterMark {
  std::uint64_t generation = 0;
  std::uint32_t secret_version = 0;
};

// A small JSON file whose values are sealed under the KEK, so they cannot be edited and a
// mark written under another KEK is refused. Written atomically and fsynced. It cannot tell a
// current mark from an old copy of itself: keep it out of the state file's backups.
class GenerationFile {
 public:
  GenerationFile(std::filesystem::path path, const Kek& kek, Random& random)
      : path_(std::move(path)), kek_(kek), random_(random) {}

  // nullopt when the file does not exist; Errc::integrity when it is damaged or was sealed
  // with another KEK.
  Result<std::optional<HighWaterMark>> read() const;
  Status write(const HighWaterMark& mark);
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  const Kek& kek_;
  Random& random_;
};

}  // namespace stek::server

// What the sealed state leaves on disk besides the live file: temporary files of atomic
// writes interrupted by a crash (kill -9 between create and rename), and the bytes of a state
// file that a commit replaced. Both hold sealed secrets that may have been erased since, and
// both still open with the KEK, so stekd erases them instead of leaving them to the disk.
#pragma once

#include <cstddef>
#include <filesystem>

#include "stek/result.h"

namespace stek::server {

// Erases every "<name>.tmp-<16 hex digits>" beside `path` (the names write_file_atomic
// gives): a regular file of ours with no other link is overwritten with zeros and fsynced,
// then every match is unlinked (a symbolic link or a file linked elsewhere is only unlinked,
// never written through). Returns how many were removed. The caller must hold the lock that
// writers of `path` hold, or a writer's live temp file could go.
Result<std::size_t> remove_temp_leftovers(const std::filesystem::path& path);

// Keeps the file that `path` names now open, so that after it has been replaced (renamed
// over) its old bytes can be overwritten: the replaced copy is then gone from the disk's
// free blocks too, not only from the directory.
class ReplacedFile {
 public:
  explicit ReplacedFile(const std::filesystem::path& path);
  ReplacedFile(const ReplacedFile&) = delete;
  ReplacedFile& operator=(const ReplacedFile&) = delete;
  ~ReplacedFile();
  // Zeros the old bytes if no name links to them any more (a hard link someone made keeps
  // them: that copy is theirs). Best effort: a copy-on-write file system or an SSD may still
  // keep the blocks, which stay sealed under the KEK.
  void wipe();

 private:
  int fd_ = -1;
};

}  // namespace stek::server

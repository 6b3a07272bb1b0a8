// Files that hold keys: read with a size bound into wiped memory; written atomically
// (temp file in the same directory, fsync, rename, fsync of the directory) so a server
// never reads a partial file and a crash never loses the old one.
#pragma once

#include <cstddef>
#include <filesystem>

#include <sys/types.h>

#include "stek/result.h"
#include "stek/secret.h"

namespace stek {

inline constexpr std::size_t kMaxKeyFileSize = 4 << 20;

Result<SecretBytes> read_file(const std::filesystem::path& path,
                              std::size_t max_size = kMaxKeyFileSize);

// Replaces path with contents; the file gets exactly `mode` (default 0600) whatever the umask.
Status write_file_atomic(const std::filesystem::path& path, ByteView contents, mode_t mode = 0600);

// Like write_file_atomic, but leaves the file alone (no rename, mtime kept) when it already
// holds exactly these bytes with this mode. Returns whether it wrote.
Result<bool> write_file_if_changed(const std::filesystem::path& path, ByteView contents,
                                   mode_t mode = 0600);

// Overwrites a key file's bytes with zeros, fsyncs, then unlinks it: erasure, not just unlink.
// A symbolic link or a file with other hard links is never written through: the name is
// unlinked and Errc::forbidden says why nothing was zeroed.
Status erase_file(const std::filesystem::path& path);

}  // namespace stek

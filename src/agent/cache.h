// Where the agent keeps keys outside its memory: directories that must be on tmpfs or
// ramfs (keys never reach persistent storage), and the ring cache <cache_dir>/<domain>.json
// that lets a restarted agent serve keys while stekd is unreachable.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "stek/ring.h"

namespace stek::agent {

// Whether path lives on tmpfs or ramfs (statfs f_type), i.e. in memory only.
Result<bool> is_memory_filesystem(const std::filesystem::path& path);

// Makes sure dir exists (creating it 0700 if missing) and is on tmpfs or ramfs; a directory
// on persistent storage is refused unless allow_persistent. `what` names it in errors.
Status prepare_key_dir(const std::filesystem::path& dir, bool allow_persistent,
                       std::string_view what);

// A file name for a domain id: ids are UTF-8 and may hold '/', so everything but
// [A-Za-z0-9._-] is percent-encoded; very long ids use a SHA-256 digest instead.
std::string domain_file_stem(std::string_view domain);

class RingCache {
 public:
  RingCache(std::filesystem::path dir, std::string_view domain);

  const std::filesystem::path& path() const { return path_; }
  // The cached ring, nullopt when there is none; a damaged file is an error.
  Result<std::optional<KeyRing>> load() const;
  // Replaces the cache with `ring` (mode 0600) when its content differs; returns whether
  // it wrote.
  Result<bool> store(const KeyRing& ring) const;
  // Overwrites and removes the cache file (no-op when absent).
  Status erase() const;

 private:
  std::filesystem::path path_;
};

}  // namespace stek::agent

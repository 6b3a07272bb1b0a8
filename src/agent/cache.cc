// tmpfs checks and the ring cache file.
#include "cache.h"

#include <cerrno>
#include <cstring>

#include <linux/magic.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "stek/bytes.h"
#include "stek/file.h"
#include "stek/formats.h"
#include "stek/hardening.h"

#include "api/percent.h"

namespace stek::agent {

namespace fs = std::filesystem;

Result<bool> is_memory_filesystem(const fs::path& path) {
  struct statfs st {};
  if (::statfs(path.c_str(), &st) != 0) {
    return make_error(Errc::io, path.string() + ": statfs: " + std::strerror(errno));
  }
  const auto type = static_cast<unsigned long>(st.f_type);
  return type == static_cast<unsigned long>(TMPFS_MAGIC) ||
         type == static_cast<unsigned long>(RAMFS_MAGIC);
}

Status prepare_key_dir(const fs::path& dir, bool allow_persistent, std::string_view what) {
  const std::string label = std::string(what) + " " + dir.string();
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    // Every directory made here (parents too) is 0700, whatever the umask.
    if (auto made = create_private_directories(dir); !made.ok())
      return made.error().with_context(std::string(what));
  }
  if (!fs::is_directory(dir, ec)) return make_error(Errc::io, label + ": not a directory");
  auto memory = is_memory_filesystem(dir);
  if (!memory.ok()) return memory.error().with_context(std::string(what));
  if (!*memory && !allow_persistent) {
    return make_error(Errc::invalid_argument,
                      label +
                          " is not on tmpfs or ramfs: keys would reach persistent storage and "
                          "outlive their erasure. Use a tmpfs directory (e.g. under /run or "
                          "/dev/shm), or set allow_persistent_cache = true if you accept that");
  }
  return {};
}

std::string domain_file_stem(std::string_view domain) {
  // '~' stays escaped as in the names earlier agents wrote; a leading '.' would hide the file.
  std::string out = api::percent_encode(domain, "~");
  if (out.starts_with('.')) out.replace(0, 1, "%2E");
  if (out.size() <= 200) return out;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(domain.data(), domain.size(), digest, &len, EVP_sha256(), nullptr);
  return "sha256-" + to_hex(ByteView(digest, len));
}

RingCache::RingCache(fs::path dir, std::string_view domain)
    : path_(dir / (domain_file_stem(domain) + ".json")) {}

Result<std::optional<KeyRing>> RingCache::load() const {
  std::error_code ec;
  if (!fs::exists(path_, ec)) return std::optional<KeyRing>{};
  STEK_ASSIGN_OR_RETURN(SecretBytes bytes, read_file(path_));
  auto ring = read_key_file(Format::json, bytes.view());
  if (!ring.ok()) return ring.error().with_context(path_.string());
  return std::optional<KeyRing>(std::move(ring).value());
}

Result<bool> RingCache::store(const KeyRing& ring) const {
  STEK_ASSIGN_OR_RETURN(SecretBytes bytes, write_key_file(Format::json, ring));
  return write_file_if_changed(path_, bytes.view(), 0600);
}

Status RingCache::erase() const {
  return erase_file(path_);
}

}  // namespace stek::agent

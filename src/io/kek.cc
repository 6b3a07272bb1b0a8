// Loading the key-encryption key from a file (or a systemd credential, which is a file).
#include <cerrno>
#include <cstring>

#include <sys/stat.h>

#include "stek/file.h"
#include "stek/seal.h"

namespace stek {

Result<Kek> load_kek(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return make_error(Errc::io,
                      path.string() + ": cannot read the KEK file: " + std::strerror(errno));
  }
  if ((st.st_mode & 077) != 0) {
    return make_error(Errc::config, path.string() +
                                        ": KEK file is accessible by group or others (mode " +
                                        std::to_string((st.st_mode >> 6) & 7) +
                                        std::to_string((st.st_mode >> 3) & 7) +
                                        std::to_string(st.st_mode & 7) + "); chmod 0400 it");
  }
  STEK_ASSIGN_OR_RETURN(SecretBytes raw, read_file(path, 1024));
  std::size_t n = raw.size();
  while (n > 0 && (raw.data()[n - 1] == '\n' || raw.data()[n - 1] == '\r')) --n;
  Result<Kek> kek = make_error(Errc::bad_size, "");
  if (n == 2 * kKekSize) {
    auto bytes = from_hex(as_chars(raw.view(0, n)));
    if (!bytes.ok()) return bytes.error().with_context(path.string());
    kek = make_kek(std::move(bytes).value());
  } else if (raw.size() == kKekSize) {
    kek = make_kek(std::move(raw));
  } else {
    return make_error(Errc::bad_size, path.string() + ": KEK file is " +
                                          std::to_string(raw.size()) +
                                          " bytes, expected 32 raw bytes or 64 hex digits");
  }
  if (!kek.ok()) return kek.error().with_context(path.string());
  return kek;
}

}  // namespace stek

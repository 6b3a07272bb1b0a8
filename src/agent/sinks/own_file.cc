// Checking that a sink's target is its own file.
#include "own_file.h"

#include <cerrno>
#include <cstring>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

#include "stek/file.h"

namespace stek::agent {

Status check_own_file(const std::filesystem::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return make_error(Errc::io, path.string() + ": stat: " + std::strerror(errno));
  }
  const std::string what = path.string() + ": ";
  if (S_ISLNK(st.st_mode)) {
    return make_error(Errc::forbidden,
                      what +
                          "is a symbolic link; stek-agent writes only files of its own: "
                          "remove the link and let the agent create the file");
  }
  if (!S_ISREG(st.st_mode)) return make_error(Errc::forbidden, what + "is not a regular file");
  if (st.st_nlink > 1) {
    return make_error(Errc::forbidden,
                      what + "has " + std::to_string(st.st_nlink) +
                          " hard links; writing or erasing it would change the other names too: "
                          "remove the other links");
  }
  if (st.st_uid != ::geteuid()) {
    return make_error(Errc::forbidden, what + "is owned by uid " + std::to_string(st.st_uid) +
                                           ", not by this agent's uid " +
                                           std::to_string(::geteuid()) + ": remove it");
  }
  return {};
}

Result<bool> erase_if_present(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return false;
  STEK_TRY(erase_file(path));
  return true;
}

}  // namespace stek::agent

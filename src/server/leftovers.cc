// Erasure of temp files left by interrupted atomic writes, and of replaced state files.
#include "leftovers.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace stek::server {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kSuffixDigits = 16;  // write_file_atomic: ".tmp-" + 8 random bytes in hex

bool is_temp_of(const std::string& name, const std::string& base) {
  const std::string prefix = base + ".tmp-";
  if (name.size() != prefix.size() + kSuffixDigits || name.compare(0, prefix.size(), prefix) != 0)
    return false;
  for (std::size_t i = prefix.size(); i < name.size(); ++i) {
    const char c = name[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Zeros the whole file behind fd, when it is a regular file of ours that no other name holds
// beyond `links_allowed`.
void zero(int fd, nlink_t links_allowed) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink > links_allowed ||
      st.st_uid != ::geteuid() || st.st_size <= 0)
    return;
  const std::vector<char> zeros(64 << 10, 0);
  off_t done = 0;
  while (done < st.st_size) {
    const std::size_t n = static_cast<std::size_t>(
        std::min<off_t>(st.st_size - done, static_cast<off_t>(zeros.size())));
    const ssize_t w = ::pwrite(fd, zeros.data(), n, done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    done += w;
  }
  ::fsync(fd);
}

}  // namespace

Result<std::size_t> remove_temp_leftovers(const fs::path& path) {
  const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  const std::string base = path.filename().string();
  std::error_code ec;
  std::vector<fs::path> found;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (is_temp_of(it->path().filename().string(), base)) found.push_back(it->path());
  }
  if (ec && ec != std::errc::no_such_file_or_directory)
    return make_error(Errc::io, dir.string() + ": cannot list: " + ec.message());
  for (const fs::path& p : found) {
    const int fd = ::open(p.c_str(), O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
      zero(fd, 1);
      ::close(fd);
    }
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) {
      return make_error(Errc::io, p.string() + ": cannot remove a leftover temporary file: " +
                                      std::strerror(errno));
    }
  }
  if (!found.empty()) {
    const int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d >= 0) {
      ::fsync(d);
      ::close(d);
    }
  }
  return found.size();
}

ReplacedFile::ReplacedFile(const fs::path& path)
    : fd_(::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) {}

ReplacedFile::~ReplacedFile() {
  if (fd_ >= 0) ::close(fd_);
}

void ReplacedFile::wipe() {
  if (fd_ >= 0) zero(fd_, 0);
}

}  // namespace stek::server

// Atomic, permission-exact key file I/O.
#include "stek/file.h"

#include <cerrno>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stek/bytes.h"
#include "stek/random.h"

namespace stek {

namespace fs = std::filesystem;

namespace {

Error io_error(const fs::path& path, const std::string& what, int err) {
  return make_error(Errc::io, path.string() + ": " + what + ": " + std::strerror(err));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

Status write_all(int fd, ByteView bytes, const fs::path& path) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error(path, "write", errno);
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

Status fsync_dir(const fs::path& dir) {
  Fd d(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.get() < 0) return io_error(dir, "open directory", errno);
  if (::fsync(d.get()) != 0) return io_error(dir, "fsync directory", errno);
  return {};
}

// erase_file's answer for a name that is not the file's only one: the name is removed, but
// nothing is written through it, and the caller hears why the bytes were not zeroed.
Status unlink_name_only(const fs::path& path, const std::string& why) {
  if (::unlink(path.c_str()) != 0) return io_error(path, "unlink", errno);
  return make_error(Errc::forbidden, path.string() + ": " + why +
                                         "; removed this name but did not zero the file it "
                                         "points to (that would change the other names too)");
}

}  // namespace

Result<SecretBytes> read_file(const fs::path& path, std::size_t max_size) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) return io_error(path, "open", errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return io_error(path, "stat", errno);
  if (!S_ISREG(st.st_mode)) return make_error(Errc::io, path.string() + ": not a regular file");
  if (static_cast<std::uint64_t>(st.st_size) > max_size) {
    return make_error(Errc::bad_size, path.string() + ": " + std::to_string(st.st_size) +
                                          " bytes, more than the " + std::to_string(max_size) +
                                          "-byte limit for key files");
  }
  SecretBytes buf(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = ::read(fd.get(), buf.data() + done, buf.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error(path, "read", errno);
    }
    if (n == 0) break;  // shrank while reading
    done += static_cast<std::size_t>(n);
  }
  if (done != buf.size()) return SecretBytes::copy_of(buf.view(0, done));
  return buf;
}

Status write_file_atomic(const fs::path& path, ByteView contents, mode_t mode) {
  const fs::path dir = path.parent_path();
  // Random suffix: no predictable temp name for others to pre-create or link.
  SystemRandom rng;
  std::uint8_t suffix[8];
  STEK_TRY(rng.fill(suffix));
  fs::path tmp = path;
  tmp += ".tmp-" + to_hex(suffix);
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 07777));
  if (fd.get() < 0) return io_error(tmp, "create", errno);
  auto fail = [&](Error e) {
    ::unlink(tmp.c_str());
    return e;
  };
  // The umask may have narrowed the mode; set it exactly.
  if (::fchmod(fd.get(), mode & 07777) != 0) return fail(io_error(tmp, "chmod", errno));
  if (auto s = write_all(fd.get(), contents, tmp); !s.ok()) return fail(s.error());
  if (::fsync(fd.get()) != 0) return fail(io_error(tmp, "fsync", errno));
  if (::close(fd.release()) != 0) return fail(io_error(tmp, "close", errno));
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(io_error(path, "rename", errno));
  return fsync_dir(dir);
}

Result<bool> write_file_if_changed(const fs::path& path, ByteView contents, mode_t mode) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == mode &&
      static_cast<std::size_t>(st.st_size) == contents.size()) {
    if (auto old = read_file(path); old.ok() && old->equals(contents)) return false;
  }
  STEK_TRY(write_file_atomic(path, contents, mode));
  return true;
}

Status erase_file(const fs::path& path) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return {};
    struct stat lst {};
    if (errno == ELOOP && ::lstat(path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode)) {
      return unlink_name_only(path, "is a symbolic link");
    }
    return io_error(path, "open for erasure", errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return io_error(path, "stat", errno);
  // Zeroes written through a name the inode shares with others would zero those too.
  if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
    return unlink_name_only(path, "has " + std::to_string(st.st_nlink) + " hard links");
  }
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    SecretBytes zeros(static_cast<std::size_t>(st.st_size));
    STEK_TRY(write_all(fd.get(), zeros.view(), path));
    if (::fsync(fd.get()) != 0) return io_error(path, "fsync", errno);
  }
  if (::unlink(path.c_str()) != 0) return io_error(path, "unlink", errno);
  return fsync_dir(path.parent_path());
}

}  // namespace stek

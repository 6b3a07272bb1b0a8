// RingFileWatcher: stek-agent's JSON ring file, watched with inotify on its directory.
//
// Why a file and inotify rather than a UNIX socket to the agent: the file is already the
// agent's output for every other server (one code path, one format, inspectable with
// stekctl), it survives an agent restart or crash (the server keeps the last good ring with
// no reconnect logic), a server restart needs no agent to be up, and the atomic rename gives
// whole-or-nothing updates for free. The directory is watched, not the file, because a rename
// replaces the file's inode and a watch on the old inode would never fire again.
#include "stek/openssl/ring_watcher.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "stek/file.h"
#include "stek/formats.h"

#include "keys_state.h"

namespace stek::openssl {

namespace fs = std::filesystem;

namespace {
constexpr std::uint32_t kDirEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE |
                                     IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF;
constexpr std::int64_t kMaxWaitMs = 1000;
// The clock has whole seconds: in the last second before a boundary, look often so the
// rotation lags the boundary by at most this much.
constexpr std::int64_t kNearBoundaryMs = 100;
}  // namespace

Result<KeyRing> read_ring_file(const fs::path& path) {
  STEK_ASSIGN_OR_RETURN(SecretBytes bytes, read_file(path));
  auto ring = read_key_file(Format::json, bytes.view());
  if (!ring.ok()) return ring.error().with_context(path.string());
  return ring;
}

RingFileWatcher::RingFileWatcher(fs::path path, std::shared_ptr<TicketKeys> keys, int inotify_fd,
                                 int stop_fd)
    : path_(std::move(path)), keys_(std::move(keys)), inotify_fd_(inotify_fd), stop_fd_(stop_fd) {}

Result<std::unique_ptr<RingFileWatcher>> RingFileWatcher::open(fs::path path,
                                                               std::shared_ptr<TicketKeys> keys) {
  if (!keys) return make_error(Errc::invalid_argument, "ring watcher: no TicketKeys");
  if (!path.has_filename()) {
    return make_error(Errc::invalid_argument, path.string() + ": not a file path");
  }
  const int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return make_error(Errc::io, std::string("inotify_init1: ") + std::strerror(errno));
  const int stop = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (stop < 0) {
    ::close(fd);
    return make_error(Errc::io, std::string("eventfd: ") + std::strerror(errno));
  }
  std::unique_ptr<RingFileWatcher> w(
      new RingFileWatcher(std::move(path), std::move(keys), fd, stop));
  w->try_add_watch();
  w->reload();
  return w;
}

RingFileWatcher::~RingFileWatcher() {
  stop();
  ::close(inotify_fd_);
  ::close(stop_fd_);
}

void RingFileWatcher::try_add_watch() {
  if (watch_ >= 0) return;
  fs::path dir = path_.parent_path();
  if (dir.empty()) dir = ".";
  watch_ = inotify_add_watch(inotify_fd_, dir.c_str(), kDirEvents);
  if (watch_ < 0) {
    detail::KeysAccess::report_source_error(
        *keys_,
        make_error(Errc::io, dir.string() + ": cannot watch directory: " + std::strerror(errno)),
        false);
  }
}

std::chrono::milliseconds RingFileWatcher::timeout() const {
  std::int64_t ms = kMaxWaitMs;
  if (auto t = keys_->until_next_tick()) {
    ms = t->count() <= 1000 ? std::min<std::int64_t>(t->count(), kNearBoundaryMs)
                            : std::min<std::int64_t>(ms, t->count());
  }
  return std::chrono::milliseconds(std::max<std::int64_t>(ms, 0));
}

void RingFileWatcher::process() {
  bool changed = false;
  alignas(inotify_event) char buf[4096];
  const std::string name = path_.filename().string();
  for (;;) {
    const ssize_t n = ::read(inotify_fd_, buf, sizeof buf);
    if (n <= 0) break;  // EAGAIN: drained
    for (ssize_t off = 0; off < n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
        watch_ = -1;  // the directory went away: watch again when it is back
        changed = true;
      } else if (ev->mask & IN_Q_OVERFLOW) {
        changed = true;
      } else if (ev->len > 0 && name == ev->name) {
        changed = true;
      }
    }
  }
  if (watch_ < 0) {
    try_add_watch();
    changed = changed || watch_ >= 0;
  }
  if (changed) reload();
  keys_->tick();
}

void RingFileWatcher::reload() {
  reloads_.fetch_add(1, std::memory_order_relaxed);
  auto ring = read_ring_file(path_);
  if (!ring.ok()) {
    std::error_code ec;
    const bool present = fs::exists(path_, ec);
    detail::KeysAccess::report_source_error(
        *keys_,
        present ? ring.error()
                : make_error(Errc::not_found, path_.string() +
                                                  ": ring file is gone; rotating through the " +
                                                  "keys held (see runway_seconds)"),
        present);
    return;
  }
  detail::KeysAccess::report_source_ok(*keys_);
  (void)keys_->update(std::move(ring).value());  // a refused ring is recorded in status()
}

Status RingFileWatcher::start() {
  if (thread_.joinable()) return {};
  try {
    thread_ = std::thread([this] { run(); });
  } catch (const std::system_error& e) {
    return make_error(Errc::io, std::string("cannot start the ring watcher thread: ") + e.what());
  }
  return {};
}

void RingFileWatcher::stop() {
  if (!thread_.joinable()) return;
  const std::uint64_t one = 1;
  (void)!::write(stop_fd_, &one, sizeof one);
  thread_.join();
}

void RingFileWatcher::run() {
  for (;;) {
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    const int n = ::poll(fds, 2, static_cast<int>(timeout().count()));
    if (n < 0 && errno != EINTR) break;
    if (fds[1].revents != 0) break;
    process();
  }
}

}  // namespace stek::openssl

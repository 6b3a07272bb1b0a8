// libstek's ring source: stek-agent's JSON ring file, watched with inotify, feeding TicketKeys.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <thread>

#include "stek/openssl/ticket_keys.h"
#include "stek/result.h"
#include "stek/ring.h"

namespace stek::openssl {

// Watches stek-agent's JSON ring file with inotify on its directory (the agent replaces the
// file by rename, which a watch on the file itself would lose) and feeds TicketKeys. Either run
// it on its own thread (start) or put fd() into your event loop and call process() when it is
// readable or timeout() has passed.
class RingFileWatcher {
 public:
  // Reads the file once now (a failure is reported in keys->status(), not here) and sets up
  // the watch. Fails only if inotify cannot be used.
  static Result<std::unique_ptr<RingFileWatcher>> open(std::filesystem::path path,
                                                       std::shared_ptr<TicketKeys> keys);
  ~RingFileWatcher();
  RingFileWatcher(const RingFileWatcher&) = delete;
  RingFileWatcher& operator=(const RingFileWatcher&) = delete;

  int fd() const { return inotify_fd_; }
  // How long an event loop may wait before calling process(): the next epoch boundary (0.1 s
  // steps in the last second before it, as the clock has whole seconds), or a retry while the
  // directory is missing. Never more than 1 s (clock jumps, missed events).
  std::chrono::milliseconds timeout() const;
  // Drains pending events, reloads the file if it changed, and rotates if an epoch ended.
  void process();
  // Reads the file now, whatever inotify said.
  void reload();

  // Runs process() on a background thread until stop() or destruction.
  Status start();
  void stop();

  std::uint64_t reloads() const { return reloads_.load(std::memory_order_relaxed); }

 private:
  RingFileWatcher(std::filesystem::path path, std::shared_ptr<TicketKeys> keys, int inotify_fd,
                  int stop_fd);
  void try_add_watch();
  void run();

  std::filesystem::path path_;
  std::shared_ptr<TicketKeys> keys_;
  int inotify_fd_ = -1;
  int stop_fd_ = -1;  // eventfd that wakes the thread for stop()
  int watch_ = -1;
  std::atomic<std::uint64_t> reloads_{0};
  std::thread thread_;
};

// Reads a JSON ring file (as stek-agent writes it) into a ring.
Result<KeyRing> read_ring_file(const std::filesystem::path& path);

}  // namespace stek::openssl

// stek-scan's TCP layer: every step bounded by a deadline (name resolution, non-blocking
// connect, writes), so one unresponsive endpoint never stalls a scan. The TLS client on top of
// it is probe.cc.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <variant>

#include <unistd.h>

#include "stek/bytes.h"

#include "args.h"
#include "observation.h"

namespace stek::scan {

using SteadyClock = std::chrono::steady_clock;
using Deadline = SteadyClock::time_point;

// An owned socket descriptor, closed when dropped.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    reset();
    fd_ = std::exchange(o.fd_, -1);
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

enum class Wait { ready, timeout, error };

// Waits until `fd` is ready for `events` (poll flags), the deadline passes, or poll fails.
Wait wait_fd(int fd, short events, Deadline deadline);

// Why a connection could not be made or used, as a scan reports it.
struct Failure {
  ProbeStatus status;
  std::string detail;
};

// Resolves the endpoint (a name on a helper thread, given up after `timeout`) and connects to
// its addresses in turn, non-blocking, within `timeout`.
std::variant<Fd, Failure> tcp_connect(const Endpoint& ep, std::chrono::milliseconds timeout);

// Sends all of `data` before the deadline; false on an error or a timeout.
bool write_all(int fd, ByteView data, Deadline deadline);

}  // namespace stek::scan

// stek-scan's TCP layer: deadlines, resolution with a timeout, non-blocking connect, writes.
#include "tcp.h"

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

namespace stek::scan {

namespace {

int remaining_ms(Deadline deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
  return static_cast<int>(std::clamp<std::int64_t>(left, 0, 24 * 3600 * 1000));
}

struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;
};

// getaddrinfo cannot be given a timeout, so a name is resolved on a helper thread that is
// left behind (detached) if it does not answer in time. Addresses skip the thread.
struct ResolveState {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  int rc = 0;
  std::vector<Address> addresses;
};

void resolve_into(ResolveState& state, const std::string& host, const std::string& port,
                  int flags) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = flags;
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
  std::vector<Address> out;
  for (addrinfo* a = res; a != nullptr && out.size() < 16; a = a->ai_next) {
    Address addr;
    std::memcpy(&addr.storage, a->ai_addr,
                std::min<std::size_t>(a->ai_addrlen, sizeof addr.storage));
    addr.length = a->ai_addrlen;
    out.push_back(addr);
  }
  if (res != nullptr) ::freeaddrinfo(res);
  std::lock_guard lock(state.mu);
  state.rc = rc;
  state.addresses = std::move(out);
  state.done = true;
  state.cv.notify_all();
}

std::variant<std::vector<Address>, Failure> resolve(const Endpoint& ep,
                                                    std::chrono::milliseconds timeout) {
  const std::string port = std::to_string(ep.port);
  auto state = std::make_shared<ResolveState>();
  if (is_ip_address(ep.host)) {
    resolve_into(*state, ep.host, port, AI_NUMERICHOST | AI_NUMERICSERV);
  } else {
    std::thread([state, host = ep.host, port] {
      resolve_into(*state, host, port, AI_NUMERICSERV);
    }).detach();
    std::unique_lock lock(state->mu);
    if (!state->cv.wait_for(lock, timeout, [&] { return state->done; })) {
      return Failure{
          ProbeStatus::resolve_failed,
          fmt::format("{}: no DNS answer within {}", ep.host, format_duration_ms(timeout.count()))};
    }
  }
  std::lock_guard lock(state->mu);
  if (state->rc != 0 || state->addresses.empty()) {
    return Failure{ProbeStatus::resolve_failed,
                   fmt::format("{}: {}", ep.host, ::gai_strerror(state->rc))};
  }
  return state->addresses;
}

}  // namespace

Wait wait_fd(int fd, short events, Deadline deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r > 0) return Wait::ready;
    if (r == 0) return Wait::timeout;
    if (errno != EINTR) return Wait::error;
    if (SteadyClock::now() >= deadline) return Wait::timeout;
  }
}

std::variant<Fd, Failure> tcp_connect(const Endpoint& ep, std::chrono::milliseconds timeout) {
  auto resolved = resolve(ep, timeout);
  if (auto* f = std::get_if<Failure>(&resolved)) return *f;
  const Deadline deadline = SteadyClock::now() + timeout;
  Failure last{ProbeStatus::connect_failed, "no address"};
  for (const Address& a : std::get<std::vector<Address>>(resolved)) {
    Fd fd(::socket(a.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) {
      last = {ProbeStatus::connect_failed, fmt::format("socket: {}", std::strerror(errno))};
      continue;
    }
    int err = 0;
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a.storage), a.length) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        const Wait w = wait_fd(fd.get(), POLLOUT, deadline);
        if (w == Wait::timeout) {
          return Failure{
              ProbeStatus::connect_timeout,
              fmt::format("no TCP connection within {}", format_duration_ms(timeout.count()))};
        }
        socklen_t len = sizeof err;
        if (w == Wait::error || ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
          err = errno;
        }
      }
    }
    if (err == 0) return fd;
    last = {err == ECONNREFUSED ? ProbeStatus::refused : ProbeStatus::connect_failed,
            fmt::format("connect: {}", std::strerror(err))};
  }
  return last;
}

bool write_all(int fd, ByteView data, Deadline deadline) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
    if (wait_fd(fd, POLLOUT, deadline) != Wait::ready) return false;
  }
  return true;
}

}  // namespace stek::scan

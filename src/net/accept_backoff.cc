// Accept-loop backoff decisions.
#include "accept_backoff.h"

#include <algorithm>
#include <cerrno>

namespace stek::net {

bool AcceptBackoff::is_transient(int error) {
  switch (error) {
    case ECONNABORTED:  // the client reset the connection before it was accepted
    case EPROTO:
    case EPERM:  // refused by a firewall rule
    case EINTR:
    case EAGAIN:
      return true;
    default:
      return false;
  }
}

AcceptBackoff::Pause AcceptBackoff::failed(int error) {
  if (is_transient(error)) return {};
  Pause p{next_, failures_ == 0};
  next_ = std::min(next_ * 2, kLongestPause);
  ++failures_;
  ++failures_total_;
  return p;
}

std::optional<std::uint64_t> AcceptBackoff::succeeded() {
  next_ = kFirstPause;
  if (failures_ == 0) return std::nullopt;
  const std::uint64_t n = failures_;
  failures_ = 0;
  return n;
}

}  // namespace stek::net

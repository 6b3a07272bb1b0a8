// AcceptBackoff: what an accept loop does after accept() failed. Out of file descriptors
// (EMFILE, ENFILE) or kernel memory (ENOBUFS, ENOMEM), the listening socket stays readable, so a
// loop that accepts again at once spins at full CPU and frees nothing. It pauses instead: 50 ms,
// doubling up to 1 s, until an accept succeeds; the first failure of such an episode is the one
// to log. Pure decisions: the caller owns the timer and the log.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace stek::net {

class AcceptBackoff {
 public:
  static constexpr std::chrono::milliseconds kFirstPause{50};
  static constexpr std::chrono::milliseconds kLongestPause{1000};

  struct Pause {
    std::chrono::milliseconds delay{0};  // accept again after this; 0: at once
    bool episode_started = false;        // the first pausing failure since a success: log it
  };

  // Whether an accept error (an errno value) concerns only the connection being accepted (the
  // client gave up, a firewall refused it): accepting again at once is right for those.
  static bool is_transient(int error);

  // An accept failed with `error` (an errno value).
  Pause failed(int error);
  // An accept succeeded: the number of pausing failures of the episode it ends, if one ended.
  std::optional<std::uint64_t> succeeded();

  bool paused() const { return failures_ > 0; }
  // Pausing failures since the start, every episode.
  std::uint64_t failures_total() const { return failures_total_; }

 private:
  std::chrono::milliseconds next_ = kFirstPause;
  std::uint64_t failures_ = 0;  // in the current episode
  std::uint64_t failures_total_ = 0;
};

}  // namespace stek::net

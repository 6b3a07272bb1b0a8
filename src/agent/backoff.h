// Reconnect delays for the agent: exponential growth per failed round, capped, with random
// jitter so a fleet that lost its key server does not reconnect in lock step.
#pragma once

#include <chrono>

#include "stek/random.h"

namespace stek::agent {

struct BackoffPolicy {
  std::chrono::milliseconds initial{1000};  // delay after the first failed round
  std::chrono::milliseconds max{60000};     // no delay is longer than this
  double jitter = 0.5;  // fraction of the delay that is random: d * (1 - jitter) .. d
};

class Backoff {
 public:
  Backoff(BackoffPolicy policy, Random& random) : policy_(policy), random_(random) {}

  // Delay before the next attempt after `round` consecutive failed rounds (round >= 1):
  // d = min(max, initial * 2^(round-1)), drawn uniformly from [d * (1 - jitter), d].
  std::chrono::milliseconds delay(int round);

  const BackoffPolicy& policy() const { return policy_; }

 private:
  BackoffPolicy policy_;
  Random& random_;
};

}  // namespace stek::agent

// Rings from stekd: one long-poll per next(), failover between the configured servers and
// backoff after a failed round (ServerRotation), each answer checked by check_answer().
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "stek/clock.h"
#include "stek/random.h"

#include "client.h"
#include "config.h"
#include "ring_source.h"
#include "sync.h"

namespace stek::agent {

class StekdSource final : public RingSource {
 public:
  StekdSource(std::unique_ptr<KeyringClient> client, std::vector<ServerUrl> servers,
              std::string domain, std::int64_t poll_timeout, Backoff backoff, const Clock& clock);

  // From the configuration: parses `servers`, loads the TLS files, builds the backoff.
  static Result<std::unique_ptr<StekdSource>> make(boost::asio::io_context& io,
                                                   const AgentConfig& config, std::string domain,
                                                   const Clock& clock, Random& random);

  RingUpdate next(const std::optional<HeldRing>& held) override;
  void cancel() override;
  std::string describe() const override;

 private:
  std::unique_ptr<KeyringClient> client_;
  std::vector<ServerUrl> servers_;
  std::string domain_;
  std::int64_t poll_timeout_;
  ServerRotation rotation_;
  const Clock& clock_;
  bool cancelled_ = false;
};

}  // namespace stek::agent

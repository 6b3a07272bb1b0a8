// Rings from stekd: one long-poll per next(), failover between the configured servers and
// backoff after a failed round (ServerRotation), each answer checked by check_answer() and
// compared with the held ring (ring_conflict.h): a server is long-polled only once it has
// answered keys that agree with the held ones; a conflicting answer is refused.
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
  // A server whose keys agree with the held ring of `version`: it may be long-polled.
  struct Agreement {
    std::size_t server = 0;
    std::uint64_t version = 0;
  };
  // A failed sync: logged, failover and backoff.
  RingUpdate failed(RingUpdate update, const std::string& why);

  std::unique_ptr<KeyringClient> client_;
  std::vector<ServerUrl> servers_;
  std::string domain_;
  std::int64_t poll_timeout_;
  ServerRotation rotation_;
  const Clock& clock_;
  bool cancelled_ = false;
  std::optional<Agreement> agreed_;
};

}  // namespace stek::agent

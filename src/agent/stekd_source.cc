// One long-poll per call, failover and backoff between stekd servers.
#include "stekd_source.h"

#include <spdlog/spdlog.h>

namespace stek::agent {

namespace {

std::vector<std::string> texts(const std::vector<ServerUrl>& servers) {
  std::vector<std::string> out;
  for (const ServerUrl& s : servers) out.push_back(s.text);
  return out;
}

}  // namespace

StekdSource::StekdSource(std::unique_ptr<KeyringClient> client, std::vector<ServerUrl> servers,
                         std::string domain, std::int64_t poll_timeout, Backoff backoff,
                         const Clock& clock)
    : client_(std::move(client)),
      servers_(std::move(servers)),
      domain_(std::move(domain)),
      poll_timeout_(poll_timeout),
      rotation_(texts(servers_), std::move(backoff)),
      clock_(clock) {}

Result<std::unique_ptr<StekdSource>> StekdSource::make(boost::asio::io_context& io,
                                                       const AgentConfig& config,
                                                       std::string domain, const Clock& clock,
                                                       Random& random) {
  std::vector<ServerUrl> servers;
  for (const std::string& s : config.servers) {
    STEK_ASSIGN_OR_RETURN(ServerUrl url, parse_server_url(s));
    servers.push_back(std::move(url));
  }
  ClientTimeouts timeouts;
  timeouts.connect = std::chrono::seconds(config.connect_timeout);
  timeouts.read_grace = std::chrono::seconds(config.read_grace);
  STEK_ASSIGN_OR_RETURN(auto client, make_keyring_client(io, config.tls, timeouts));
  BackoffPolicy policy;
  policy.initial =
      std::chrono::milliseconds(static_cast<std::int64_t>(config.backoff_initial * 1000));
  policy.max = std::chrono::milliseconds(static_cast<std::int64_t>(config.backoff_max * 1000));
  policy.jitter = config.backoff_jitter;
  return std::make_unique<StekdSource>(std::move(client), std::move(servers), std::move(domain),
                                       config.poll_timeout, Backoff(policy, random), clock);
}

RingUpdate StekdSource::next(const std::optional<HeldRing>& held) {
  const ServerUrl& server = servers_[rotation_.current_index()];
  PollRequest request;
  request.domain = domain_;
  if (held) request.wait = held->version();
  request.timeout = poll_timeout_;
  const std::int64_t sent_ms = clock_.now_ms();
  auto answer = client_->poll(server, request);
  const std::int64_t received_ms = clock_.now_ms();
  RingUpdate update;
  if (cancelled_) return update;  // shutting down: the aborted poll is no failure
  // Any answer that states stekd's time measures the skew, also one refused below (a host
  // whose clock is far off may refuse the ring for that very reason).
  if (answer.ok() && answer->server_time_ms) {
    update.clock = SkewSample{sent_ms, received_ms, *answer->server_time_ms, answer->held_ms};
  }
  Result<std::optional<HeldRing>> verdict = answer.ok()
                                                ? check_answer(*answer, held, domain_, clock_.now())
                                                : Result<std::optional<HeldRing>>(answer.error());
  if (!verdict.ok()) {
    update.sync = RingUpdate::Sync::failed;
    update.pause = rotation_.on_failure();
    spdlog::warn("sync with {} failed: {}; next attempt: {} in {} ms", server.text,
                 verdict.error().message, servers_[rotation_.current_index()].text,
                 update.pause.count());
    return update;
  }
  rotation_.on_success();
  update.sync = RingUpdate::Sync::answered;
  if (verdict->has_value()) {
    update.ring = std::move(*verdict);
    update.from = server.text;
  } else {
    spdlog::debug("{}: ring version {} is current", server.text, held->version());
  }
  return update;
}

void StekdSource::cancel() {
  cancelled_ = true;
  client_->cancel();
}

std::string StekdSource::describe() const {
  std::string out;
  for (const ServerUrl& s : servers_) out += "server: " + s.text + "\n";
  return out;
}

}  // namespace stek::agent

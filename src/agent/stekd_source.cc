// One long-poll per call, failover and backoff between stekd servers, and the comparison of
// each server's keys with the held ones.
#include "stekd_source.h"

#include <spdlog/spdlog.h>

#include "ring_conflict.h"

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
  const std::size_t index = rotation_.current_index();
  const ServerUrl& server = servers_[index];
  // Long-poll only a server that has shown it agrees with the held ring. Any other one (after
  // a failover, a failed poll or a restart from the cache) is asked for its ring at once,
  // without wait=, so its keys are compared before the agent relies on it (ring_conflict.h).
  const bool agreed =
      held && agreed_ && agreed_->server == index && agreed_->version == held->version();
  PollRequest request;
  request.domain = domain_;
  if (agreed) request.wait = held->version();
  request.timeout = poll_timeout_;
  const std::int64_t sent_ms = clock_.now_ms();
  auto answer = client_->poll(server, request);
  const std::int64_t received_ms = clock_.now_ms();
  RingUpdate update;
  if (cancelled_) return update;  // shutting down: the aborted poll is no failure
  update.server = server.text;
  // Any answer that states stekd's time measures the skew, also one refused below (a host
  // whose clock is far off may refuse the ring for that very reason).
  if (answer.ok() && answer->server_time_ms) {
    update.clock = SkewSample{sent_ms, received_ms, *answer->server_time_ms, answer->held_ms};
  }
  const std::optional<HeldRing> nothing;
  Result<std::optional<HeldRing>> verdict =
      answer.ok() ? check_answer(*answer, agreed ? held : nothing, domain_, clock_.now())
                  : Result<std::optional<HeldRing>>(answer.error());
  if (!verdict.ok()) return failed(std::move(update), verdict.error().message);
  std::optional<HeldRing> ring = std::move(verdict).value();
  if (ring && answer->ring_id && ring->id() && *answer->ring_id != *ring->id()) {
    return failed(std::move(update), "X-Stek-Ring-Id " + api::short_string(*answer->ring_id) +
                                         " differs from the identity of the ring's keys " +
                                         api::short_string(*ring->id()));
  }
  if (held) {
    if (ring) {
      update.conflict = find_conflict(*held, *ring);
    } else if (answer->ring_version && answer->ring_id) {
      update.conflict = find_conflict(*held, *answer->ring_version, *answer->ring_id);
    }
    if (update.conflict && (!ring || held->runway(clock_.now()) > 0)) {
      // The held keys still serve: keep them (RingKeeper raises the alarm and logs it).
      agreed_.reset();
      update.sync = RingUpdate::Sync::failed;
      update.pause = rotation_.on_failure();
      spdlog::debug("{} refused for a ring conflict; next attempt: {} in {} ms", server.text,
                    servers_[rotation_.current_index()].text, update.pause.count());
      return update;
    }
    if (!update.conflict && ring && ring->version() <= held->version()) {
      // An answer without wait= that agrees with the held ring: the held version, or an
      // older one from a server that is behind. Nothing to take; long-poll it from now on.
      spdlog::info("{} agrees with the held ring version {} (it has version {})", server.text,
                   held->version(), ring->version());
      ring.reset();
    }
  }
  rotation_.on_success();
  update.sync = RingUpdate::Sync::answered;
  if (ring) {
    agreed_ = Agreement{index, ring->version()};
    update.ring = std::move(ring);
    update.from = server.text;
  } else {
    agreed_ = Agreement{index, held->version()};  // an answer without a ring needs a held one
    spdlog::debug("{}: ring version {} is current", server.text, held->version());
  }
  return update;
}

RingUpdate StekdSource::failed(RingUpdate update, const std::string& why) {
  agreed_.reset();  // a failed poll may mean another server (or state) behind this address
  update.sync = RingUpdate::Sync::failed;
  update.pause = rotation_.on_failure();
  spdlog::warn("sync with {} failed: {}; next attempt: {} in {} ms", update.server, why,
               servers_[rotation_.current_index()].text, update.pause.count());
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

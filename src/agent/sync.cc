// Answers from stekd and server failover.
#include "sync.h"

#include "stek/formats.h"

namespace stek::agent {

Result<std::optional<HeldRing>> check_answer(const PollAnswer& answer,
                                             const std::optional<HeldRing>& held,
                                             std::string_view domain, UnixSeconds now) {
  // What stekd said on an error ({"error": "..."}); never a ring, so never key bytes.
  const std::string said =
      answer.status != 200 && !answer.body.empty()
          ? ": " +
                std::string(reinterpret_cast<const char*>(answer.body.data()), answer.body.size())
          : std::string();
  switch (answer.status) {
    case 200:
      break;
    case 304:
      if (!held) {
        return make_error(Errc::bad_format, "stekd answered 304 although this agent holds no ring");
      }
      return std::optional<HeldRing>{};
    case 403:
      return make_error(
          Errc::invalid_argument,
          "stekd refused this host (403): does the client certificate name domain \"" +
              std::string(domain) + "\" and is the domain configured on stekd?");
    case 429:
      return make_error(Errc::io,
                        "stekd limits connections per identity (429): is another agent "
                        "running with this certificate?");
    case 503:
      return make_error(Errc::io, "stekd is starting or its store is unavailable (503)");
    default:
      return make_error(Errc::bad_format, "unexpected HTTP status " +
                                              std::to_string(answer.status) + " from stekd" + said);
  }
  auto ring = read_key_file(Format::json, answer.body.view());
  if (!ring.ok()) return ring.error().with_context("ring from stekd");
  const std::uint64_t version = ring->info().version;
  if (answer.ring_version && *answer.ring_version != version) {
    return make_error(Errc::bad_format,
                      "X-Stek-Ring-Version " + std::to_string(*answer.ring_version) +
                          " differs from the ring's version " + std::to_string(version));
  }
  if (held && version <= held->version()) {
    // 200 promises a newer ring than `wait`; an older one is a server bug or a replay.
    return make_error(Errc::invalid_argument, "stekd sent ring version " + std::to_string(version) +
                                                  ", not newer than the held version " +
                                                  std::to_string(held->version()));
  }
  auto accepted = HeldRing::accept(*ring, domain, now);
  if (!accepted.ok()) return accepted.error().with_context("ring from stekd refused");
  return std::optional<HeldRing>(std::move(accepted).value());
}

ServerRotation::ServerRotation(std::vector<std::string> servers, Backoff backoff)
    : servers_(std::move(servers)), backoff_(std::move(backoff)) {
  if (servers_.empty()) servers_.emplace_back();  // config validation rejects this earlier
}

std::chrono::milliseconds ServerRotation::on_failure() {
  ++failures_;
  index_ = (index_ + 1) % servers_.size();
  const int n = static_cast<int>(servers_.size());
  if (failures_ % n != 0) return std::chrono::milliseconds(0);
  return backoff_.delay(failures_ / n);
}

}  // namespace stek::agent

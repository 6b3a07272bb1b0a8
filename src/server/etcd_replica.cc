// The replica's worker thread: election and manifest poll, posting to the io_context.
#include "etcd_replica.h"

#include <vector>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "etcd_deny_store.h"
#include "etcd_wire.h"

namespace stek::server {

EtcdReplica::EtcdReplica(boost::asio::io_context& io, etcd::Transport& transport, Random& random,
                         EtcdReplicaOptions options, EtcdReplicaActions actions)
    : io_(io),
      transport_(transport),
      options_(std::move(options)),
      actions_(std::move(actions)),
      leader_(transport, random, options_.prefix, options_.id, options_.lease_ttl) {}

EtcdReplica::~EtcdReplica() {
  stop();
}

void EtcdReplica::start() {
  worker_ = std::thread([this] { run(); });
}

void EtcdReplica::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) {
    worker_.join();
    if (leader_.leads()) spdlog::info("etcd: resigning leadership");
    leader_.resign();
    leads_ = false;
  }
}

void EtcdReplica::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    round();
    lock.lock();
    wake_.wait_for(lock, options_.poll, [this] { return stopping_; });
  }
}

void EtcdReplica::round() {
  std::optional<std::string> failure;
  // First the poll, the cheap part that carries other replicas' changes to agents: the
  // manifest's and the deny-list's revisions in one read, so a denial made before a rotation
  // is never seen after it. Serializable: answered by any member, also without quorum (then
  // possibly stale, which delays a reload but never makes one wrong: loads are linearizable).
  const std::vector<std::string> keys = {options_.prefix + "/manifest",
                                         etcd_deny_key(options_.prefix)};
  auto body = transport_.post("/v3/kv/txn", etcd::read_txn_request(keys).dump());
  std::optional<std::int64_t> revision;
  std::optional<std::int64_t> deny_revision;
  if (body.ok()) {
    auto ranges = etcd::parse_read_txn(*body, keys.size());
    if (ranges.ok()) {
      const auto mod = [](const etcd::RangeResult& r) {
        return r.kvs.empty() ? std::int64_t{0} : r.kvs.front().mod_revision;
      };
      revision = mod((*ranges)[0]);
      deny_revision = mod((*ranges)[1]);
    } else {
      failure = ranges.error().message;
    }
  } else {
    failure = body.error().message;
  }
  if (revision && deny_revision) {
    const bool retry = retry_reload_.exchange(false);
    const bool denied = retry || *deny_revision != seen_deny_revision_;
    const bool state = *revision != 0 && (retry || *revision != seen_revision_);
    seen_deny_revision_ = *deny_revision;
    seen_revision_ = *revision;
    if (denied || state) {
      boost::asio::post(io_, [this, denied, state] {
        if (denied && actions_.reload_denied && !actions_.reload_denied()) {
          retry_reload_ = true;
          return;
        }
        if (state) actions_.reload();
      });
    }
  }
  const bool led = leads_;
  auto step = leader_.step();
  if (!step.ok()) failure = step.error().message;
  leads_ = step.ok() && *step;
  if (leads_ != led) {
    spdlog::warn("etcd: this replica {} ({})",
                 leads_ ? "leads now: it makes and erases secrets" : "no longer leads",
                 options_.id);
  }
  if (leads_) boost::asio::post(io_, actions_.maintain);

  std::lock_guard lock(mu_);
  holder_ = leader_.holder();
  if (failure && !failure_) {
    failing_since_ = std::chrono::steady_clock::now();
    spdlog::error("etcd: {}; serving the keys held, nothing new is made until it answers",
                  *failure);
  } else if (!failure && failure_) {
    spdlog::warn("etcd: answering again");
  }
  failure_ = failure;
}

std::string EtcdReplica::role() const {
  if (leads_) return "leader";
  std::lock_guard lock(mu_);
  return "follower (leader: " + (holder_.empty() ? std::string("none") : holder_) + ")";
}

std::optional<std::string> EtcdReplica::problem() const {
  std::lock_guard lock(mu_);
  if (!failure_) return std::nullopt;
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::steady_clock::now() - failing_since_)
                           .count();
  return "etcd unusable for " + std::to_string(seconds) + " s (" + *failure_ +
         "): serving the keys held, nothing new is made";
}

}  // namespace stek::server

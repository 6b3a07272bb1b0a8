// Fakes for the tests of stekd's network parts (keyring API, admin API, router, status): the
// in-memory Store of memory_store.h, a Random that counts, and a small rig that wires the parts
// like KeyServer does, around a real KeyService, with a fixed clock and a wake recorder instead of
// sockets.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "stek/clock.h"
#include "stek/random.h"

#include "admin_api.h"
#include "agent_registry.h"
#include "api_router.h"
#include "audit.h"
#include "deny_list.h"
#include "key_service.h"
#include "keyring_api.h"
#include "memory_audit_log.h"
#include "memory_store.h"
#include "testing/fixed_clock.h"
#include "wait_list.h"

namespace stek::server::split_testing {

// Every byte it gives is one more than the last: secrets differ, runs are reproducible.
class NetPartsCountingRandom final : public Random {
 public:
  Status fill(std::span<std::uint8_t> out) override {
    for (auto& b : out) b = next_++;
    return {};
  }

 private:
  std::uint8_t next_ = 1;
};

inline constexpr UnixSeconds kStart = 1'800'000'000;  // a multiple of 60: epoch 30'000'000
inline constexpr Epoch kEpoch = kStart / 60;
inline constexpr ScheduleParams kRigParams{60, 2, 2};
inline constexpr std::int64_t kLongPollTimeout = 300;
inline constexpr std::int64_t kStaleAfter = 600;

inline Identity agent_identity(const std::string& host, std::vector<std::string> domains) {
  return {Identity::Kind::agent, host, std::move(domains)};
}
inline Identity admin_identity(const std::string& name) {
  return {Identity::Kind::admin, name, {}};
}

// The network parts of stekd without the transport, as KeyServer composes them.
struct NetPartsRig {
  explicit NetPartsRig(std::size_t connections_per_identity = 4)
      : keys(*Schedule::make(kRigParams), {"eu-west", "us-east"}, store, random, audit),
        agents(clock, connections_per_identity, kStaleAfter),
        waits([this](ConnectionId id) { woken.push_back(id); }),
        keyring(keys, agents, waits, clock, kLongPollTimeout, audit),
        denied(fresh_deny_file()),
        admin(keys, agents, waits, audit, clock, denied,
              [this](const std::string& host) { router.end_polls_of(host); }),
        router(keys, agents, waits, keyring, admin, denied, audit) {
    EXPECT_TRUE(keys.start(clock.now()).ok());
  }
  ~NetPartsRig() { std::filesystem::remove(denied_file); }

  // A deny-list file of this rig alone, in gtest's temporary directory.
  std::filesystem::path fresh_deny_file() {
    static int n = 0;
    denied_file = std::filesystem::path(::testing::TempDir()) /
                  ("stek-rig-" + std::to_string(::getpid()) + "-" + std::to_string(++n) + ".deny");
    std::filesystem::remove(denied_file);
    return denied_file;
  }

  // A connection that finished its handshake with this identity (none: no verified cert).
  Peer connect(std::optional<Identity> identity) {
    Peer p{++last_connection, std::move(identity), "192.0.2.7:40000", {}};
    router.opened(p);
    return p;
  }

  HttpReply request(const Peer& peer, const std::string& method, const std::string& target) {
    return router.handle(HttpRequest{peer, method, target, {}, {}});
  }

  FixedClock clock{kStart};
  testing::InMemoryStore store;
  NetPartsCountingRandom random;
  MemoryAuditLog audit;
  KeyService keys;
  AgentRegistry agents;
  std::vector<ConnectionId> woken;
  WaitList waits;
  KeyringApi keyring;
  std::filesystem::path denied_file;
  DenyList denied;
  AdminApi admin;
  ApiRouter router;
  ConnectionId last_connection = 0;
};

// The reply is an answer now (not a long poll); returns it.
inline HttpResponse answered(const HttpReply& reply) {
  EXPECT_TRUE(std::holds_alternative<HttpResponse>(reply)) << "expected an answer, got a long poll";
  if (const auto* r = std::get_if<HttpResponse>(&reply)) return *r;
  return {};
}

inline std::string header(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return {};
}

inline nlohmann::json body_json(const HttpResponse& r) {
  return nlohmann::json::parse(r.text);
}

}  // namespace stek::server::split_testing

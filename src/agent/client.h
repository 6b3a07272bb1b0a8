// The agent's side of stekd's long-poll (docs/api.md, GET /v1/keyring): the query it sends
// and the answer it keeps, over net::HttpsClient (mutual TLS: the agent proves its identity
// with its client certificate and accepts only a stekd certificate that chains to the
// configured CA and names the server's host or IP).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "stek/result.h"

#include "https_client.h"
#include "sync.h"

namespace stek::agent {

using ServerUrl = net::Url;
using ClientTls = net::ClientTls;

// A stekd base URL: "https://HOST[:PORT][/]" (net::parse_https_url without a path).
Result<ServerUrl> parse_server_url(std::string_view url);

struct ClientTimeouts {
  std::chrono::milliseconds connect{5000};      // resolve + connect + TLS handshake + request
  std::chrono::milliseconds read_grace{10000};  // beyond the long-poll timeout, for the answer
};

struct PollRequest {
  std::string domain;
  std::optional<std::uint64_t> wait;  // the held ring version; none when nothing is held
  std::int64_t timeout = 60;          // seconds stekd may hold the request
};

// The query string of a long-poll: /v1/keyring?domain=D[&wait=V]&timeout=T (D
// percent-encoded).
std::string keyring_target(const PollRequest& request);

// The most a ring file from stekd may weigh.
inline constexpr std::size_t kMaxRingBody = 1 << 20;

// One long-poll to one stekd: the seam between the stekd ring source and the network.
class KeyringClient {
 public:
  virtual ~KeyringClient() = default;
  // Asks `server` for the domain's ring and waits for the answer (any HTTP status is an
  // answer; an error is a transport or TLS failure, a timeout or cancel()).
  virtual Result<PollAnswer> poll(const ServerUrl& server, const PollRequest& request) = 0;
  // Ends the poll in flight, if any (from a signal handler running on the agent's io_context).
  virtual void cancel() = 0;
};

// The real one: net::HttpsClient on `io`; loads the TLS files, naming each in errors.
Result<std::unique_ptr<KeyringClient>> make_keyring_client(boost::asio::io_context& io,
                                                           const ClientTls& tls,
                                                           ClientTimeouts timeouts);

}  // namespace stek::agent

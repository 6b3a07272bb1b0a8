// The agent's HTTPS client for stekd's long-poll (docs/api.md, GET /v1/keyring), with
// mutual TLS: the agent proves its identity with its client certificate and accepts only a
// stekd certificate that chains to the configured CA and names the server's host or IP.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "stek/result.h"

#include "https_client.h"
#include "sync.h"

namespace boost::asio {
class io_context;
}

namespace stek::agent {

using ServerUrl = net::Url;

// A stekd base URL: "https://HOST[:PORT][/]" (net::parse_https_url without a path).
Result<ServerUrl> parse_server_url(std::string_view url);

struct ClientTls {
  std::filesystem::path cert;  // client certificate chain (PEM), leaf first
  std::filesystem::path key;   // its private key (PEM)
  std::filesystem::path ca;    // CA certificates that may sign stekd's certificate (PEM)
};

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

class HttpsClient {
 public:
  // Loads the certificates and key; every error names the file and what is wrong.
  static Result<std::unique_ptr<HttpsClient>> make(boost::asio::io_context& io,
                                                   const ClientTls& tls, ClientTimeouts timeouts);
  ~HttpsClient();

  // One long-poll. Runs `io` until the answer arrives, a deadline passes or cancel() is
  // called; other work on `io` (timers, the metrics listener) keeps running meanwhile.
  Result<PollAnswer> poll(const ServerUrl& server, const PollRequest& request);

  // Ends the request in flight, if any (from a signal handler running on `io`).
  void cancel();

 private:
  struct Impl;
  explicit HttpsClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace stek::agent

// The seam between stekd's HTTPS transport (mtls_transport.h) and its APIs: a request value
// in, a reply value out. Handlers never see a socket, so each API is testable without one.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "stek/secret.h"

#include "identity.h"

namespace stek::server {

using ConnectionId = std::uint64_t;

// Who is on the other end of a connection.
struct Peer {
  ConnectionId connection = 0;
  std::optional<Identity> identity;  // from a client certificate that verified; none otherwise
  std::string address;               // "ip:port"
  std::string serial;                // the client certificate's serial number, hex; "" if none
  std::string refusal;  // without an identity: why (no certificate, revoked, ...), for the log
};

struct HttpRequest {
  Peer peer;
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, as sent
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// An answer to send now. A ring document is sent from the shared secret buffer, never
// copied into a std::string.
struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string text;
  std::shared_ptr<const SecretBytes> secret;
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;  // close the connection after this response
};

// No answer yet: hold the request until the transport is told to wake the connection or
// `timeout` passes, then ask the handler's resume() for the answer.
struct LongPoll {
  std::chrono::seconds timeout;
};

using HttpReply = std::variant<HttpResponse, LongPoll>;

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  // A client finished its TLS handshake.
  virtual void opened(const Peer& peer) = 0;
  // One request: an answer now, or a long poll.
  virtual HttpReply handle(const HttpRequest& request) = 0;
  // A long poll was woken or timed out: the answer to send now.
  virtual HttpResponse resume(const Peer& peer) = 0;
  // The connection is gone (either side closed it, or the server stopped).
  virtual void closed(const Peer& peer) = 0;
};

// {"error": message} with `status`.
HttpResponse error_response(unsigned status, const std::string& message);
// `body` as one line of JSON with `status`.
HttpResponse json_response(unsigned status, const nlohmann::json& body);

}  // namespace stek::server

// stek's one HTTPS client, for stek-agent's long-poll and stekctl's admin commands, with one
// TLS policy: TLS 1.2 or newer, a client certificate, the server's certificate verified
// against the configured CA only and checked for the URL's host name or IP address; every
// request bounded in time and in response size, and cancellable.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "stek/result.h"
#include "stek/secret.h"

namespace boost::asio {
class io_context;
}

namespace stek::net {

struct ClientTls {
  std::filesystem::path cert;  // client certificate chain (PEM), leaf first
  std::filesystem::path key;   // its private key (PEM)
  std::filesystem::path ca;    // CA certificates that may sign the server's certificate (PEM)
};

struct Url {
  std::string host;  // a DNS name or an IP address (without brackets)
  std::string port = "443";
  std::string base_path;  // "" or "/path" without a trailing slash
  bool host_is_ip = false;
  std::string text;  // as given, for messages and logs
};
// Parses "https://HOST[:PORT][/PATH]"; HOST may be an [IPv6] address; the port defaults to
// 443. Refuses other schemes, user parts, queries and fragments, and ports outside 1..65535.
Result<Url> parse_https_url(std::string_view url);

struct RequestLimits {
  std::chrono::milliseconds connect{5000};  // resolve, connect, TLS handshake, send the request
  std::chrono::milliseconds read{10000};    // from the request sent to the whole answer read
  std::size_t max_body = 1 << 20;           // a longer answer is an error
};

struct HttpRequest {
  std::string method = "GET";
  std::string target;  // path and query, appended to the URL's base path
  std::string body;
  RequestLimits limits;
};

struct HttpResponse {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  SecretString body;                           // may hold key bytes (a ring): wiped when released

  // The value of header `name`, matched without regard to case; none when absent.
  const std::string* header(std::string_view name) const;
};

class HttpsClient {
 public:
  // Loads the client certificate, its key and the CA; every error names the file and what is
  // wrong with it. `user_agent` is sent with every request.
  static Result<std::unique_ptr<HttpsClient>> make(boost::asio::io_context& io,
                                                   const ClientTls& tls, std::string user_agent);
  ~HttpsClient();

  // One request on a new connection. Runs `io` until the answer arrives, a limit passes or
  // cancel() is called; other work on `io` (timers, listeners) keeps running meanwhile.
  // Transport and TLS failures are Errc::io; any HTTP status is an answer.
  Result<HttpResponse> request(const Url& server, const HttpRequest& request);

  // Ends the request in flight, if any (e.g. from a signal handler running on `io`).
  void cancel();

 private:
  struct Impl;
  explicit HttpsClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One request on a private io_context, for command-line tools: `timeout` bounds the
// connection phase and the read phase each; answers may be up to 16 MiB.
Result<HttpResponse> https_request(const ClientTls& tls, const Url& url, const std::string& method,
                                   const std::string& target, const std::string& body,
                                   std::chrono::seconds timeout);

}  // namespace stek::net

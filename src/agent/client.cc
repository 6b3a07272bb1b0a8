// The long-poll request and its answer, over the shared HTTPS client.
#include "client.h"

#include "stek/bytes.h"

#include "api/http.h"
#include "api/query.h"
#include "api/ring_version.h"

namespace stek::agent {

Result<ServerUrl> parse_server_url(std::string_view url) {
  auto parsed = net::parse_https_url(url);
  if (!parsed.ok()) return parsed.error().with_context("server");
  if (!parsed->base_path.empty()) {
    return make_error(Errc::invalid_argument, "server \"" + std::string(url) +
                                                  "\": no path (expected https://HOST[:PORT])");
  }
  return parsed;
}

std::string keyring_target(const PollRequest& request) {
  api::KeyringQuery query;
  query.domain = request.domain;
  if (request.wait) query.wait = api::RingVersion::from_wire(*request.wait);
  query.timeout = static_cast<std::uint64_t>(request.timeout);
  return api::keyring_target(query);
}

namespace {

// Printable text of a non-ring answer (stekd's {"error": ...}), shortened, for errors.
std::string short_text(const SecretString& body) {
  std::string out;
  for (const char c : body) {
    if (out.size() >= 200) {
      out += "...";
      break;
    }
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  return out;
}

PollAnswer to_answer(const net::HttpResponse& response) {
  PollAnswer answer;
  answer.status = static_cast<int>(response.status);
  if (const std::string* value = response.header(api::kRingVersionHeader)) {
    if (auto v = api::parse_ring_version(*value, api::kRingVersionHeader); v.ok())
      answer.ring_version = v->wire();
  }
  // The identity of that version's keys, for the split-brain guard; an older stekd sends none.
  if (const std::string* value = response.header(api::kRingIdHeader)) {
    if (auto id = api::parse_ring_id(*value, api::kRingIdHeader); id.ok()) answer.ring_id = *id;
  }
  // stekd's clock, for the skew estimate; an older stekd sends none, and then none is made.
  if (const std::string* value = response.header(api::kServerTimeHeader)) {
    if (auto t = api::parse_millis(*value, api::kServerTimeHeader); t.ok())
      answer.server_time_ms = *t;
  }
  if (const std::string* value = response.header(api::kHeldHeader)) {
    if (auto held = api::parse_millis(*value, api::kHeldHeader); held.ok()) answer.held_ms = *held;
  }
  if (answer.status == 200) {
    answer.body = SecretBytes::copy_of(as_bytes({response.body.data(), response.body.size()}));
  } else if (answer.status != 304 && !response.body.empty()) {
    // Non-ring answers carry stekd's {"error": "..."}: keep it for the error message.
    const std::string text = short_text(response.body);
    answer.body = SecretBytes::copy_of(as_bytes(text));
  }
  return answer;
}

class HttpsKeyringClient final : public KeyringClient {
 public:
  HttpsKeyringClient(std::unique_ptr<net::HttpsClient> client, ClientTimeouts timeouts)
      : client_(std::move(client)), timeouts_(timeouts) {}

  Result<PollAnswer> poll(const ServerUrl& server, const PollRequest& request) override {
    net::HttpRequest http;
    http.target = keyring_target(request);
    http.limits.connect = timeouts_.connect;
    http.limits.read = std::chrono::milliseconds(request.timeout * 1000) + timeouts_.read_grace;
    http.limits.max_body = kMaxRingBody;
    STEK_ASSIGN_OR_RETURN(net::HttpResponse response, client_->request(server, http));
    return to_answer(response);
  }

  void cancel() override { client_->cancel(); }

 private:
  std::unique_ptr<net::HttpsClient> client_;
  ClientTimeouts timeouts_;
};

}  // namespace

Result<std::unique_ptr<KeyringClient>> make_keyring_client(boost::asio::io_context& io,
                                                           const ClientTls& tls,
                                                           ClientTimeouts timeouts) {
  auto client = net::HttpsClient::make(io, tls, "stek-agent/0.1");
  if (!client.ok()) return client.error().with_context("tls");
  return std::unique_ptr<KeyringClient>(
      std::make_unique<HttpsKeyringClient>(std::move(client).value(), timeouts));
}

}  // namespace stek::agent

// The gateway over the HTTPS client: one request at a time, failing over between endpoints.
#include "etcd_transport.h"

#include <algorithm>

#include <boost/asio/io_context.hpp>

namespace stek::server::etcd {

struct HttpsEtcdTransport::Impl {
  HttpsTransportOptions options;
  boost::asio::io_context io;
  std::unique_ptr<net::HttpsClient> client;
  std::size_t current = 0;  // the endpoint that answered last
  std::mutex mu;            // one request at a time: the client runs `io` itself
};

HttpsEtcdTransport::HttpsEtcdTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpsEtcdTransport::~HttpsEtcdTransport() = default;

Result<std::unique_ptr<HttpsEtcdTransport>> HttpsEtcdTransport::make(
    HttpsTransportOptions options) {
  if (options.endpoints.empty())
    return make_error(Errc::config, "store.endpoints lists no etcd endpoint");
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  auto client = net::HttpsClient::make(impl->io, impl->options.tls, "stekd");
  if (!client.ok()) return client.error().with_context("etcd TLS");
  impl->client = std::move(client).value();
  return std::unique_ptr<HttpsEtcdTransport>(new HttpsEtcdTransport(std::move(impl)));
}

Result<SecretString> HttpsEtcdTransport::post(const std::string& path, const std::string& body) {
  std::lock_guard lock(impl_->mu);
  const auto& endpoints = impl_->options.endpoints;
  std::string failures;
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    const std::size_t at = (impl_->current + i) % endpoints.size();
    net::HttpRequest request;
    request.method = "POST";
    request.target = path;
    request.body = body;
    request.limits.connect = impl_->options.timeout;
    request.limits.read = impl_->options.timeout;
    request.limits.max_body = 16 << 20;
    impl_->io.restart();
    auto answer = impl_->client->request(endpoints[at], request);
    if (!answer.ok()) {
      failures += (failures.empty() ? "" : "; ") + answer.error().message;
      continue;
    }
    if (answer->status != 200) {
      // An HTTP error from a member that is up (no leader, request too large): the next
      // member may do better.
      const std::string text(answer->body.data(), std::min<std::size_t>(answer->body.size(), 200));
      failures += (failures.empty() ? "" : "; ") + endpoints[at].text + ": HTTP " +
                  std::to_string(answer->status) + " " + text;
      continue;
    }
    impl_->current = at;
    return std::move(answer->body);
  }
  return make_error(Errc::io, "etcd " + path + ": no endpoint answered (" + failures + ")");
}

std::string HttpsEtcdTransport::describe() const {
  return impl_->options.endpoints[impl_->current].text;
}

}  // namespace stek::server::etcd

// How stekd reaches etcd: POSTs of JSON bodies to the gateway's /v3/... paths. The seam lets
// unit tests play etcd (a fake transport); stekd uses HttpsEtcdTransport: the project's one
// HTTPS client (src/net), TLS 1.2+ with a client certificate, over a private io_context, so
// no gRPC stack is needed (docs/etcd.md, "Why the JSON gateway").
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "stek/result.h"
#include "stek/secret.h"

#include "https_client.h"

namespace stek::server::etcd {

class Transport {
 public:
  virtual ~Transport() = default;
  // POSTs `body` to `path` ("/v3/kv/range") and returns the answer's body. Transport
  // failures and HTTP errors are Errc::io.
  virtual Result<SecretString> post(const std::string& path, const std::string& body) = 0;
  // Which endpoint answered last, for messages.
  virtual std::string describe() const = 0;
};

struct HttpsTransportOptions {
  std::vector<net::Url> endpoints;  // tried in turn, starting at the last one that answered
  net::ClientTls tls;
  std::chrono::milliseconds timeout{2000};  // connect phase and read phase each
};

class HttpsEtcdTransport final : public Transport {
 public:
  // Loads the TLS files; every error names the file.
  static Result<std::unique_ptr<HttpsEtcdTransport>> make(HttpsTransportOptions options);
  ~HttpsEtcdTransport() override;

  Result<SecretString> post(const std::string& path, const std::string& body) override;
  std::string describe() const override;

 private:
  struct Impl;
  explicit HttpsEtcdTransport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace stek::server::etcd

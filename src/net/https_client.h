// A small blocking HTTPS client with client certificates, for stekctl's admin commands.
// Bounded in time: every call has a deadline.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <string>

#include "stek/result.h"

namespace stek::net {

struct ClientTls {
  std::filesystem::path cert;  // client certificate (PEM)
  std::filesystem::path key;   // its private key
  std::filesystem::path ca;    // CA that signed the server's certificate
};

struct Url {
  std::string host;
  std::string port = "443";
  std::string base_path;  // without a trailing slash
};
Result<Url> parse_https_url(const std::string& url);

struct HttpResponse {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

Result<HttpResponse> https_request(const ClientTls& tls, const Url& url, const std::string& method,
                                   const std::string& target, const std::string& body,
                                   std::chrono::seconds timeout);

}  // namespace stek::net

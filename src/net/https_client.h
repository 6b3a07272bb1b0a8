// HTTPS helpers shared by stek's programs: the https:// URL parser (stekctl, stek-agent) and a small
// blocking HTTPS client with client certificates for stekctl's admin commands, bounded in time.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "stek/result.h"

namespace stek::net {

struct ClientTls {
  std::filesystem::path cert;  // client certificate (PEM)
  std::filesystem::path key;   // its private key
  std::filesystem::path ca;    // CA that signed the server's certificate
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

struct HttpResponse {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

Result<HttpResponse> https_request(const ClientTls& tls, const Url& url, const std::string& method,
                                   const std::string& target, const std::string& body,
                                   std::chrono::seconds timeout);

}  // namespace stek::net

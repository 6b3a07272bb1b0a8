// Request targets, admin paths and milliseconds headers.
#include "api/http.h"

#include <charconv>

#include "api/percent.h"

namespace stek::api {

Target split_target(std::string_view target) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

std::string rotate_secret_path(std::string_view domain) {
  return std::string(kAdminDomainsPrefix) + percent_encode(domain) +
         std::string(kRotateSecretSuffix);
}

std::string deny_host_path(std::string_view host) {
  return std::string(kAdminDenyPath) + "/" + percent_encode(host);
}

Result<std::string> deny_path_host(std::string_view path) {
  const std::string prefix = std::string(kAdminDenyPath) + "/";
  if (!path.starts_with(prefix) || path.size() == prefix.size()) {
    return make_error(Errc::not_found, "not a deny path");
  }
  auto host = percent_decode(path.substr(prefix.size()));
  if (!host.ok()) return host.error().with_context("host in the path");
  return host;
}

Result<std::string> rotate_secret_domain(std::string_view path) {
  if (!path.starts_with(kAdminDomainsPrefix) || !path.ends_with(kRotateSecretSuffix) ||
      path.size() <= kAdminDomainsPrefix.size() + kRotateSecretSuffix.size()) {
    return make_error(Errc::not_found, "not a rotate-secret path");
  }
  const std::string_view segment =
      path.substr(kAdminDomainsPrefix.size(),
                  path.size() - kAdminDomainsPrefix.size() - kRotateSecretSuffix.size());
  auto domain = percent_decode(segment);
  if (!domain.ok()) return domain.error().with_context("domain in the path");
  return domain;
}

Result<std::int64_t> parse_millis(std::string_view text, std::string_view what) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) {
    return make_error(Errc::bad_format, std::string(what) + " must be a non-negative integer");
  }
  std::int64_t value = 0;
  const auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (err != std::errc() || end != text.data() + text.size()) {
    return make_error(Errc::bad_format, std::string(what) + " is out of range");
  }
  return value;
}

}  // namespace stek::api

// Query-string parsing and the keyring query.
#include "api/query.h"

#include <charconv>

#include "api/http.h"
#include "api/percent.h"

namespace stek::api {

Result<QueryParams> parse_query(std::string_view query) {
  QueryParams out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto name = percent_decode(pair.substr(0, eq), Plus::space);
    if (!name.ok()) return name.error().with_context("query parameter name");
    auto value =
        percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), Plus::space);
    if (!value.ok()) {
      return value.error().with_context("query parameter " + quote_for_message(*name));
    }
    if (!out.emplace(*name, std::move(value).value()).second) {
      return make_error(Errc::bad_format,
                        "query parameter " + quote_for_message(*name) + " given twice");
    }
  }
  return out;
}

std::string keyring_target(const KeyringQuery& query) {
  std::string target(kKeyringPath);
  char separator = '?';
  auto add = [&](std::string_view name, const std::string& value) {
    target.push_back(separator);
    target.append(name);
    target.push_back('=');
    target += value;
    separator = '&';
  };
  if (query.domain) add(kDomainParam, percent_encode(*query.domain));
  if (query.wait) add(kWaitParam, to_string(*query.wait));
  if (query.timeout) add(kTimeoutParam, std::to_string(*query.timeout));
  return target;
}

Result<KeyringQuery> keyring_query(const QueryParams& params) {
  KeyringQuery out;
  for (const auto& [name, value] : params) {
    if (name == kDomainParam) {
      if (!value.empty()) out.domain = value;
    } else if (name == kWaitParam) {
      STEK_ASSIGN_OR_RETURN(out.wait, parse_ring_version(value, kWaitParam));
    } else if (name == kTimeoutParam) {
      std::uint64_t seconds = 0;
      const auto [end, err] = std::from_chars(value.data(), value.data() + value.size(), seconds);
      if (value.empty() || err != std::errc() || end != value.data() + value.size() ||
          seconds < 1) {
        return make_error(Errc::bad_format, "timeout must be a positive integer");
      }
      out.timeout = seconds;
    } else {
      return make_error(Errc::bad_format, "unknown query parameter " + quote_for_message(name));
    }
  }
  return out;
}

Result<KeyringQuery> parse_keyring_query(std::string_view query) {
  STEK_ASSIGN_OR_RETURN(QueryParams params, parse_query(query));
  return keyring_query(params);
}

}  // namespace stek::api

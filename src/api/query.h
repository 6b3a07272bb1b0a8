// Query strings of the stekd API: the generic parser (stekd refuses a name given twice) and
// the keyring long-poll query, built by stek-agent and parsed by stekd, as one typed struct.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "stek/result.h"

#include "api/ring_version.h"

namespace stek::api {

using QueryParams = std::map<std::string, std::string>;

// "a=1&b=x%20y" -> {a: "1", b: "x y"}. Pairs split at '&', name and value at the first '=';
// both are percent-decoded with '+' as a space; empty pairs ("a=1&&b=2") are skipped and a
// pair without '=' has an empty value. A name given twice or a malformed escape is an error
// (Errc::bad_format).
Result<QueryParams> parse_query(std::string_view query);

// GET /v1/keyring?domain=D&wait=V&timeout=T (docs/api.md).
struct KeyringQuery {
  std::optional<std::string> domain;     // none (or empty): the certificate's only domain
  std::optional<RingVersion> wait;       // the version held; none: answer at once
  std::optional<std::uint64_t> timeout;  // seconds to hold the request, >= 1; none: stekd's max
  bool operator==(const KeyringQuery&) const = default;
};

// The request target: "/v1/keyring?domain=D[&wait=V][&timeout=T]", D percent-encoded, the
// parameters that are set in this order.
std::string keyring_target(const KeyringQuery& query);

// Reads the keyring parameters; unknown names, a non-numeric or overlong wait, and a timeout
// that is not a positive integer are errors (Errc::bad_format, answered with 400).
Result<KeyringQuery> keyring_query(const QueryParams& params);
// parse_query then keyring_query.
Result<KeyringQuery> parse_keyring_query(std::string_view query);

}  // namespace stek::api
